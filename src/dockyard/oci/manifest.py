"""Parsing and validation of image manifests and indexes (OCI and Docker schema 2)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockyard.oci import mediatypes as mt
from dockyard.oci.digest import Digest, InvalidDigest


class InvalidManifest(ValueError):
    """The payload is not a valid manifest of a supported media type."""


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A content descriptor: what a manifest points at."""

    media_type: str
    digest: str
    size: int
    artifact_type: str | None = None
    platform: dict[str, Any] | None = None
    annotations: dict[str, str] | None = None
    urls: tuple[str, ...] = ()

    @property
    def is_foreign(self) -> bool:
        """True for non-distributable layers that the registry does not hold."""
        return self.media_type in mt.FOREIGN_LAYERS


@dataclass(frozen=True, slots=True)
class Manifest:
    """What the registry needs to know about a manifest or index."""

    media_type: str
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        """True for OCI image indexes and Docker manifest lists."""
        return self.media_type in mt.INDEXES

    @property
    def blob_references(self) -> tuple[Descriptor, ...]:
        """The config and layers that must be present in the repository."""
        refs = (self.config,) if self.config is not None else ()
        return refs + tuple(d for d in self.layers if not d.is_foreign)

    @property
    def referrer_artifact_type(self) -> str | None:
        """The artifact type a referrers listing shows for this manifest."""
        if self.artifact_type:
            return self.artifact_type
        if self.config is not None:
            return self.config.media_type
        return None


def parse_manifest(payload: bytes, content_type: str | None) -> Manifest:
    """Parse ``payload`` sent with ``content_type``; raise :class:`InvalidManifest`."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidManifest(f"manifest is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidManifest("manifest must be a JSON object")
    media_type = _media_type(doc, mt.base_media_type(content_type))
    if doc.get("schemaVersion") != 2:
        raise InvalidManifest("schemaVersion must be 2")
    subject = _optional_descriptor(doc, "subject")
    artifact_type = _optional_str(doc, "artifactType")
    if artifact_type is not None and not mt.is_media_type(artifact_type):
        raise InvalidManifest("artifactType must be a media type (RFC 6838)")
    annotations = _annotations(doc.get("annotations"), "annotations")
    if media_type in mt.INDEXES:
        manifests = _descriptor_list(doc, "manifests")
        return Manifest(
            media_type=media_type,
            manifests=manifests,
            subject=subject,
            artifact_type=artifact_type,
            annotations=annotations,
        )
    config = _descriptor(doc.get("config"), "config")
    if not mt.is_media_type(config.media_type):  # the artifact type when artifactType is unset
        raise InvalidManifest("config.mediaType must be a media type (RFC 6838)")
    layers = _descriptor_list(doc, "layers", required=media_type == mt.DOCKER_MANIFEST)
    if media_type == mt.DOCKER_MANIFEST and (subject or artifact_type):
        raise InvalidManifest("Docker schema 2 manifests carry no subject or artifactType")
    if artifact_type is None and config.media_type == mt.OCI_EMPTY:
        raise InvalidManifest("artifactType is required when config is the empty descriptor")
    return Manifest(
        media_type=media_type,
        config=config,
        layers=layers,
        subject=subject,
        artifact_type=artifact_type,
        annotations=annotations,
    )


def _media_type(doc: dict[str, Any], header_type: str) -> str:
    body_type = doc.get("mediaType")
    if body_type is not None and not isinstance(body_type, str):
        raise InvalidManifest("mediaType must be a string")
    if header_type in mt.MANIFEST_TYPES:
        if body_type and body_type != header_type:
            raise InvalidManifest(
                f"mediaType {body_type!r} does not match Content-Type {header_type!r}"
            )
        return header_type
    if header_type in (mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED):
        raise InvalidManifest("Docker schema 1 manifests are not supported")
    if body_type in mt.MANIFEST_TYPES:
        return str(body_type)
    if body_type:
        raise InvalidManifest(f"unsupported manifest media type {body_type!r}")
    if "manifests" in doc:
        return mt.OCI_INDEX
    if "config" in doc:
        return mt.OCI_MANIFEST
    raise InvalidManifest("cannot tell the manifest's media type")


def _optional_str(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidManifest(f"{key} must be a non-empty string")
    return value


def _annotations(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidManifest(f"{where} must map strings to strings")
    return dict(value)


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise InvalidManifest(f"{where} must be a descriptor object")
    media_type = value.get("mediaType")
    digest = value.get("digest")
    size = value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise InvalidManifest(f"{where}.mediaType must be a non-empty string")
    if not isinstance(digest, str):
        raise InvalidManifest(f"{where}.digest must be a string")
    try:
        Digest.parse(digest)
    except InvalidDigest as exc:
        raise InvalidManifest(f"{where}.digest: {exc}") from None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidManifest(f"{where}.size must be a non-negative integer")
    platform = value.get("platform")
    if platform is not None and not isinstance(platform, dict):
        raise InvalidManifest(f"{where}.platform must be an object")
    urls = value.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise InvalidManifest(f"{where}.urls must be a list of strings")
    artifact_type = value.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise InvalidManifest(f"{where}.artifactType must be a string")
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        artifact_type=artifact_type,
        platform=platform,
        annotations=_annotations(value.get("annotations"), f"{where}.annotations") or None,
        urls=tuple(urls),
    )


def _optional_descriptor(doc: dict[str, Any], key: str) -> Descriptor | None:
    if doc.get(key) is None:
        return None
    return _descriptor(doc[key], key)


def _descriptor_list(
    doc: dict[str, Any], key: str, *, required: bool = True
) -> tuple[Descriptor, ...]:
    value = doc.get(key)
    if value is None and not required:
        return ()
    if not isinstance(value, list):
        raise InvalidManifest(f"{key} must be a list of descriptors")
    return tuple(_descriptor(item, f"{key}[{i}]") for i, item in enumerate(value))
