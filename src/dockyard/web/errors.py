"""The one table mapping domain errors to OCI error codes, and the JSON error envelope."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.oci.errors import ErrorCode
from dockyard.registry import errors as reg

log = logging.getLogger("dockyard.web")

REGISTRY_ERROR_CODES: dict[type[reg.RegistryError], ErrorCode] = {
    reg.NameInvalid: ErrorCode.NAME_INVALID,
    reg.NameUnknown: ErrorCode.NAME_UNKNOWN,
    reg.BlobUnknown: ErrorCode.BLOB_UNKNOWN,
    reg.UploadUnknown: ErrorCode.BLOB_UPLOAD_UNKNOWN,
    reg.UploadInvalid: ErrorCode.BLOB_UPLOAD_INVALID,
    reg.DigestInvalid: ErrorCode.DIGEST_INVALID,
    reg.SizeInvalid: ErrorCode.SIZE_INVALID,
    reg.RangeInvalid: ErrorCode.RANGE_INVALID,
    reg.ManifestInvalid: ErrorCode.MANIFEST_INVALID,
    reg.ManifestTooLarge: ErrorCode.MANIFEST_TOO_LARGE,
    reg.ManifestUnknown: ErrorCode.MANIFEST_UNKNOWN,
    reg.ManifestBlobUnknown: ErrorCode.MANIFEST_BLOB_UNKNOWN,
    reg.TagInvalid: ErrorCode.TAG_INVALID,
    reg.PaginationInvalid: ErrorCode.PAGINATION_NUMBER_INVALID,
    reg.Unsupported: ErrorCode.UNSUPPORTED,
}

API_VERSION_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}


def error_response(
    code: ErrorCode,
    message: str | None = None,
    detail: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The distribution spec's ``{"errors": [...]}`` envelope with ``code``'s status."""
    body = {
        "errors": [{"code": code.wire_code, "message": message or code.message, "detail": detail}]
    }
    return JSONResponse(
        body, status_code=code.status, headers={**API_VERSION_HEADER, **(headers or {})}
    )


async def registry_error_handler(request: Request, exc: Exception) -> Response:
    """Render a :class:`RegistryError` as its OCI error."""
    assert isinstance(exc, reg.RegistryError)
    code = REGISTRY_ERROR_CODES.get(type(exc), ErrorCode.UNKNOWN)
    headers: dict[str, str] = {}
    if isinstance(exc, reg.RangeInvalid):
        name = request.path_params.get("name", "")
        upload_id = request.path_params.get("upload_id", "")
        headers["Range"] = f"0-{max(exc.size - 1, 0)}"
        headers["Location"] = f"/v2/{name}/blobs/uploads/{upload_id}"
        headers["Docker-Upload-UUID"] = upload_id
    return error_response(code, exc.message or None, exc.detail, headers)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """404 and 405 from routing, as OCI errors on registry paths."""
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/v2"):
        if exc.status_code == 405:
            return error_response(
                ErrorCode.UNSUPPORTED,
                f"method {request.method} not allowed here",
                headers=dict(exc.headers or {}),
            )
        if exc.status_code == 404:
            return error_response(ErrorCode.NAME_UNKNOWN, "no such registry endpoint")
    return JSONResponse({"message": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    """Anything unforeseen: logged with its traceback, answered without one."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(ErrorCode.UNKNOWN, "internal server error")
