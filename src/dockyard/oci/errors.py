"""The distribution spec's error codes: one table of code, HTTP status and message."""

from __future__ import annotations

from enum import Enum


class ErrorCode(Enum):
    """An OCI error code with its HTTP status and default message."""

    BLOB_UNKNOWN = (404, "blob unknown to registry")
    BLOB_UPLOAD_INVALID = (400, "blob upload invalid")
    BLOB_UPLOAD_UNKNOWN = (404, "blob upload unknown to registry")
    DIGEST_INVALID = (400, "provided digest did not match uploaded content")
    MANIFEST_BLOB_UNKNOWN = (400, "manifest references a manifest or blob unknown to registry")
    MANIFEST_INVALID = (400, "manifest invalid")
    MANIFEST_UNKNOWN = (404, "manifest unknown to registry")
    NAME_INVALID = (400, "invalid repository name")
    NAME_UNKNOWN = (404, "repository name not known to registry")
    SIZE_INVALID = (400, "provided length did not match content length")
    RANGE_INVALID = (416, "requested range not satisfiable")
    TAG_INVALID = (400, "manifest tag did not match URI")
    PAGINATION_NUMBER_INVALID = (400, "invalid number of results requested")
    MANIFEST_TOO_LARGE = (413, "manifest too large")
    UNAUTHORIZED = (401, "authentication required")
    DENIED = (403, "requested access to the resource is denied")
    UNSUPPORTED = (405, "the operation is unsupported")
    TOOMANYREQUESTS = (429, "too many requests")
    UNKNOWN = (500, "unknown error")

    @property
    def status(self) -> int:
        """The HTTP status this code is sent with."""
        return self.value[0]

    @property
    def message(self) -> str:
        """The default human-readable message."""
        return self.value[1]

    @property
    def wire_code(self) -> str:
        """The code as it appears in the JSON error body."""
        if self is ErrorCode.MANIFEST_TOO_LARGE:
            return "SIZE_INVALID"
        if self is ErrorCode.RANGE_INVALID:
            return "BLOB_UPLOAD_INVALID"
        return self.name
