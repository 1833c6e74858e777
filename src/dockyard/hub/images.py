"""Images as the web pages show them: a tag's platforms, an image's layers and config, its
referrers (signatures, SBOMs, attestations) and the files each layer adds, changes or deletes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.auth.policy import Principal
from dockyard.hub.errors import NotFound
from dockyard.hub.layers import LayerIndex, LayerListing
from dockyard.hub.tags import ATTESTATION, ImageView, TagService, TagView
from dockyard.metadata.store import ManifestRecord, RegistryStore
from dockyard.oci import mediatypes as mt
from dockyard.oci.digest import Digest, InvalidDigest
from dockyard.oci.manifest import InvalidManifest, Manifest, parse_manifest
from dockyard.registry.manifests import MAX_CONFIG_BYTES
from dockyard.storage import StorageDriver, StorageError, paths

#: Group name of BuildKit's attestation manifests, which sit in the index, not in referrers.
BUILDKIT_ATTESTATION = "application/vnd.in-toto+json (BuildKit attestation)"


@dataclass(frozen=True, slots=True)
class Layer:
    """A layer of an image (``index`` from 0, bottom first)."""

    index: int
    digest: str
    size: int
    media_type: str

    @property
    def is_filesystem(self) -> bool:
        """True for tar layers (whose files can be listed)."""
        return "tar" in self.media_type or self.media_type.endswith(".layer.v1")


@dataclass(frozen=True, slots=True)
class HistoryStep:
    """One step of the image's history; ``layer`` is the layer it made, if any."""

    created_by: str
    created: str
    comment: str
    empty_layer: bool
    layer: Layer | None


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How a container of the image runs."""

    env: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: list[str] = field(default_factory=list)
    working_dir: str = ""
    user: str = ""
    volumes: list[str] = field(default_factory=list)
    created: str = ""


@dataclass(frozen=True, slots=True)
class Referrer:
    """A manifest attached to the image (its ``subject``) or an attestation in its index."""

    digest: str
    artifact_type: str
    media_type: str
    size: int
    annotations: dict[str, str]


@dataclass(frozen=True, slots=True)
class ImageDetails:
    """Everything the tag page shows about one platform image of a tag."""

    tag: TagView
    image: ImageView | None
    digest: str
    media_type: str
    config_digest: str | None
    layers: list[Layer]
    history: list[HistoryStep]
    config: RunConfig | None
    #: Referrers grouped by artifact type.
    referrers: dict[str, list[Referrer]]
    annotations: dict[str, str]

    @property
    def platforms(self) -> list[ImageView]:
        """Every platform image of the tag."""
        return self.tag.images

    @property
    def size(self) -> int:
        """Compressed size: config and layers (layers alone when the image is not known)."""
        if self.image is not None:
            return self.image.size
        return sum(layer.size for layer in self.layers)


@dataclass(frozen=True, slots=True)
class LayerFiles:
    """A layer of an image with its listing and the listings of the layers below it."""

    details: ImageDetails
    layer: Layer
    listing: LayerListing
    lower: list[LayerListing]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def run_config(document: dict[str, Any]) -> RunConfig:
    """The run configuration of an image config document."""
    config = document.get("config")
    if not isinstance(config, dict):
        config = {}
    labels = config.get("Labels")
    ports = config.get("ExposedPorts")
    volumes = config.get("Volumes")
    return RunConfig(
        env=_strings(config.get("Env")),
        entrypoint=_strings(config.get("Entrypoint")),
        cmd=_strings(config.get("Cmd")),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        exposed_ports=sorted(str(p) for p in ports) if isinstance(ports, dict) else [],
        working_dir=str(config.get("WorkingDir") or ""),
        user=str(config.get("User") or ""),
        volumes=sorted(str(v) for v in volumes) if isinstance(volumes, dict) else [],
        created=str(document.get("created") or ""),
    )


def history_steps(document: dict[str, Any], layers: Sequence[Layer]) -> list[HistoryStep]:
    """The config's history with each non-empty step matched to the next layer.

    Without a history, one step per layer (with no instruction) is made up.
    """
    history = document.get("history")
    if not isinstance(history, list) or not history:
        return [HistoryStep("", "", "", False, layer) for layer in layers]
    steps: list[HistoryStep] = []
    remaining = list(layers)
    for item in history:
        if not isinstance(item, dict):
            continue
        empty = bool(item.get("empty_layer"))
        layer = None if empty or not remaining else remaining.pop(0)
        steps.append(
            HistoryStep(
                created_by=str(item.get("created_by") or ""),
                created=str(item.get("created") or ""),
                comment=str(item.get("comment") or ""),
                empty_layer=empty,
                layer=layer,
            )
        )
    steps.extend(HistoryStep("", "", "", False, layer) for layer in remaining)
    return steps


def _document(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class ImageService:
    """Reads images of repositories the caller may see."""

    def __init__(
        self, tags: TagService, registry: RegistryStore, storage: StorageDriver, index: LayerIndex
    ) -> None:
        self.tags = tags
        self.registry = registry
        self.storage = storage
        self.index = index

    async def details(
        self, principal: Principal | None, name: str, tag: str, platform: str | None = None
    ) -> ImageDetails:
        """A tag's image for ``platform`` (a child digest; default linux/amd64 or the first)."""
        view = await self.tags.get(principal, name, tag)
        image = _choose(view.images, platform)
        digest = image.digest if image is not None else view.tag.manifest.digest
        record = await self.registry.manifest_by_digest(name, digest)
        if record is None:
            raise NotFound(f"manifest {digest} not found in {name}")
        manifest = _parse(record)
        layers = [
            Layer(i, d.digest, d.size, d.media_type)
            for i, d in enumerate(manifest.layers if manifest else ())
        ]
        config_doc: dict[str, Any] = {}
        config_digest = manifest.config.digest if manifest and manifest.config else None
        is_image_config = (
            manifest is not None
            and manifest.config is not None
            and (manifest.config.media_type in (mt.OCI_CONFIG, mt.DOCKER_CONFIG))
        )
        if is_image_config and manifest is not None and manifest.config is not None:
            config_doc = await self._config(manifest.config.digest, manifest.config.size)
        referrers = await self._referrers(name, view, digest)
        return ImageDetails(
            tag=view,
            image=image,
            digest=digest,
            media_type=record.media_type,
            config_digest=config_digest,
            layers=layers,
            history=history_steps(config_doc, layers) if is_image_config else [],
            config=run_config(config_doc) if config_doc else None,
            referrers=referrers,
            annotations=dict(manifest.annotations) if manifest else {},
        )

    async def layer_files(
        self,
        principal: Principal | None,
        name: str,
        tag: str,
        platform: str | None,
        layer_digest: str,
    ) -> LayerFiles:
        """A layer of the tag's image with what it and the layers below it hold."""
        details = await self.details(principal, name, tag, platform)
        position = next((x for x in details.layers if x.digest == layer_digest), None)
        if position is None:
            raise NotFound(f"layer {layer_digest} is not part of {name}:{tag}")
        listing = await self._listing(position)
        lower = [await self._listing(x) for x in details.layers[: position.index]]
        return LayerFiles(details, position, listing, lower)

    async def _listing(self, layer: Layer) -> LayerListing:
        if not layer.is_filesystem:
            return LayerListing(
                layer.digest, (), error=f"not a filesystem layer ({layer.media_type})"
            )
        try:
            return await self.index.listing(layer.digest)
        except (StorageError, InvalidDigest) as exc:
            return LayerListing(layer.digest, (), error=f"the layer cannot be read now: {exc}")

    async def _config(self, digest_text: str, size: int) -> dict[str, Any]:
        if size > MAX_CONFIG_BYTES:
            return {}
        try:
            data = await self.storage.get(paths.blob_key(Digest.parse(digest_text)))
        except (StorageError, InvalidDigest):
            return {}
        return _document(data)

    async def _referrers(self, name: str, view: TagView, digest: str) -> dict[str, list[Referrer]]:
        grouped: dict[str, list[Referrer]] = {}
        subjects = [digest]
        if view.tag.manifest.digest != digest:
            subjects.append(view.tag.manifest.digest)
        for subject in subjects:
            for record in await self.registry.referrers(name, subject):
                doc = _document(record.payload)
                annotations = doc.get("annotations")
                kind = record.artifact_type or "unknown"
                grouped.setdefault(kind, []).append(
                    Referrer(
                        record.digest,
                        kind,
                        record.media_type,
                        record.size,
                        {str(k): str(v) for k, v in annotations.items()}
                        if isinstance(annotations, dict)
                        else {},
                    )
                )
        for item in _index_attestations(view.tag.manifest.index_payload, digest):
            grouped.setdefault(BUILDKIT_ATTESTATION, []).append(item)
        return grouped


def _choose(images: list[ImageView], platform: str | None) -> ImageView | None:
    for image in images:
        if platform and image.digest == platform:
            return image
    for image in images:
        if image.os == "linux" and image.architecture == "amd64":
            return image
    return images[0] if images else None


def _parse(record: ManifestRecord) -> Manifest | None:
    try:
        return parse_manifest(record.payload, record.media_type)
    except InvalidManifest:
        return None


def _index_attestations(payload: bytes | None, digest: str) -> list[Referrer]:
    """Attestation manifests BuildKit lists in an index for the image ``digest``."""
    if payload is None:
        return []
    listed = _document(payload).get("manifests")
    found: list[Referrer] = []
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict):
            continue
        annotations = item.get("annotations")
        if not isinstance(annotations, dict):
            continue
        if (
            annotations.get("vnd.docker.reference.type") == ATTESTATION
            and annotations.get("vnd.docker.reference.digest") == digest
        ):
            found.append(
                Referrer(
                    str(item.get("digest", "")),
                    BUILDKIT_ATTESTATION,
                    str(item.get("mediaType", "")),
                    int(item.get("size") or 0),
                    {str(k): str(v) for k, v in annotations.items()},
                )
            )
    return found
