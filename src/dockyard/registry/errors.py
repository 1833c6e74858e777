"""Domain errors of the registry services. The web layer maps each to an OCI error code."""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    """Base class: a request the registry refuses, with an optional machine-readable detail."""

    def __init__(self, message: str = "", detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NameInvalid(RegistryError):
    """The repository name does not match the spec's grammar."""


class NameUnknown(RegistryError):
    """No repository of that name."""


class BlobUnknown(RegistryError):
    """The repository cannot serve that blob."""


class UploadUnknown(RegistryError):
    """No upload session of that id in that repository."""


class UploadInvalid(RegistryError):
    """The upload request is malformed."""


class DigestInvalid(RegistryError):
    """The digest is malformed, unsupported, or does not match the content."""


class SizeInvalid(RegistryError):
    """A declared length does not match the content."""


class RangeInvalid(RegistryError):
    """A chunk does not start where the upload stands; ``size`` says where it does."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message, {"size": size})
        self.size = size


class ManifestInvalid(RegistryError):
    """The manifest cannot be parsed or breaks a rule."""


class ManifestTooLarge(RegistryError):
    """The manifest exceeds the configured maximum size."""


class ManifestUnknown(RegistryError):
    """No manifest by that tag or digest (or a child manifest of an index is missing)."""


class ManifestBlobUnknown(RegistryError):
    """A manifest references a blob the repository cannot serve."""


class TagInvalid(RegistryError):
    """The tag does not match the spec's grammar."""


class PaginationInvalid(RegistryError):
    """The ``n`` or ``last`` parameter is malformed."""


class Unsupported(RegistryError):
    """The operation is switched off by configuration."""
