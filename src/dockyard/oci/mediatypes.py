"""Media types of manifests, indexes and layers that the registry understands."""

from __future__ import annotations

import re

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

IMAGE_MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEXES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_TYPES = IMAGE_MANIFESTS | INDEXES

#: Layers that live outside the registry (``urls``) and need not be uploaded.
FOREIGN_LAYERS = frozenset(
    {
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)


def base_media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` header value, without parameters."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


#: RFC 6838's ``type-name "/" subtype-name`` (restricted names of 1-127 characters).
_RESTRICTED_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MEDIA_TYPE_RE = re.compile(rf"^{_RESTRICTED_NAME}/{_RESTRICTED_NAME}$")


def is_media_type(value: str) -> bool:
    """Whether ``value`` is a media type as RFC 6838 names them (no parameters), which the
    OCI image spec requires of ``mediaType`` and ``artifactType``: at most 255 characters."""
    return bool(_MEDIA_TYPE_RE.fullmatch(value))
