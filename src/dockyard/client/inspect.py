"""Remote inspection: an image's manifest, platforms, configs and sizes, without pulling it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockyard.client.platforms import Platform
from dockyard.client.progress import human_size
from dockyard.client.reference import Reference
from dockyard.client.registry import FetchedManifest, Registry
from dockyard.oci import mediatypes as mt


@dataclass
class ImageDetails:
    """One image manifest: its platform, config and layers."""

    digest: str
    media_type: str
    platform: str | None
    config_digest: str | None
    config: dict[str, Any]
    layers: list[dict[str, Any]]
    manifest_size: int
    config_size: int = 0

    @property
    def size(self) -> int:
        """Bytes of the config and the layers (what a pull downloads)."""
        return sum(int(layer.get("size", 0)) for layer in self.layers) + self.config_size


@dataclass
class RemoteImage:
    """What ``dockyard inspect`` shows: the top manifest and every image under it."""

    reference: str
    digest: str
    media_type: str
    manifest: dict[str, Any]
    manifest_size: int
    images: list[ImageDetails] = field(default_factory=list)

    @property
    def platforms(self) -> list[str]:
        return [image.platform for image in self.images if image.platform]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "name": self.reference,
            "digest": self.digest,
            "mediaType": self.media_type,
            "size": self.manifest_size,
            "platforms": self.platforms,
            "manifest": self.manifest,
            "images": [
                {
                    "digest": image.digest,
                    "mediaType": image.media_type,
                    "platform": image.platform,
                    "size": image.size,
                    "config": {"digest": image.config_digest, "content": image.config},
                    "layers": image.layers,
                }
                for image in self.images
            ],
        }

    def summary(self) -> str:
        """A readable summary."""
        lines = [
            f"Name:        {self.reference}",
            f"Digest:      {self.digest}",
            f"Media type:  {self.media_type}",
        ]
        if self.media_type in mt.INDEXES:
            lines.append(f"Platforms:   {', '.join(self.platforms) or '(none named)'}")
        for image in self.images:
            config = image.config.get("config") or {}
            lines += ["", f"Image {image.platform or ''}".rstrip() + f"  {image.digest}"]
            if created := image.config.get("created"):
                lines.append(f"  Created:     {created}")
            command = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
            if command:
                lines.append(f"  Command:     {json.dumps(command)}")
            lines.append(f"  Config:      {image.config_digest}")
            lines.append(f"  Size:        {human_size(image.size)} in {len(image.layers)} layer(s)")
            for layer in image.layers:
                size = human_size(int(layer.get("size", 0)))
                lines.append(f"    {layer.get('digest')}  {size:>9}")
        return "\n".join(lines)


def _details(
    registry: Registry, name: str, fetched: FetchedManifest, platform: str | None
) -> ImageDetails:
    doc = fetched.json()
    config_desc = doc.get("config") if isinstance(doc.get("config"), dict) else None
    config: dict[str, Any] = {}
    if config_desc and str(config_desc.get("mediaType")) in (mt.OCI_CONFIG, mt.DOCKER_CONFIG):
        loaded = json.loads(registry.get_blob(name, str(config_desc["digest"])))
        config = loaded if isinstance(loaded, dict) else {}
        if platform is None:
            found = Platform.from_descriptor(config)
            platform = str(found) if found else None
    return ImageDetails(
        digest=fetched.digest,
        media_type=fetched.media_type,
        platform=platform,
        config_digest=str(config_desc["digest"]) if config_desc else None,
        config=config,
        layers=[dict(layer) for layer in doc.get("layers") or []],
        manifest_size=len(fetched.data),
        config_size=int(config_desc.get("size", 0)) if config_desc else 0,
    )


def inspect_remote(registry: Registry, ref: Reference) -> RemoteImage:
    """Fetch and summarize ``ref`` and, for an index, every image it lists."""
    ref = ref.tagged_or_latest()
    top = registry.get_manifest(ref.path, ref.reference, what=f"image {ref.familiar()}")
    result = RemoteImage(str(ref), top.digest, top.media_type, top.json(), len(top.data))
    if top.media_type in mt.INDEXES:
        for entry in result.manifest.get("manifests") or []:
            if entry.get("mediaType") in mt.INDEXES:
                continue
            found = Platform.from_descriptor(entry.get("platform"))
            child = registry.get_manifest(ref.path, str(entry["digest"]))
            result.images.append(_details(registry, ref.path, child, str(found) if found else None))
    else:
        result.images.append(_details(registry, ref.path, top, None))
    return result
