"""Building registry responses: blob bodies (with ranges), upload and manifest headers."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from dockyard.registry.blobs import BlobLocation
from dockyard.registry.uploads import UploadStatus
from dockyard.storage import StorageDriver
from dockyard.web.v2.local_blobs import LocalBlobResponse

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def upload_headers(status: UploadStatus) -> dict[str, str]:
    """``Location``, ``Range`` and ``Docker-Upload-UUID`` of an upload session."""
    return {
        "Location": f"/v2/{status.repository}/blobs/uploads/{status.id}",
        "Range": f"0-{max(status.size - 1, 0)}",
        "Docker-Upload-UUID": status.id,
        "Content-Length": "0",
    }


def blob_headers(location: BlobLocation) -> dict[str, str]:
    """Headers every blob GET and HEAD carries."""
    return {
        "Docker-Content-Digest": str(location.digest),
        "ETag": f'"{location.digest}"',
        "Accept-Ranges": "bytes",
        "Cache-Control": "max-age=31536000",
    }


def blob_response(
    request: Request,
    location: BlobLocation,
    storage: StorageDriver,
    *,
    head: bool,
    redirect: str | None = None,
) -> Response:
    """The blob's bytes (or headers only), honouring a single ``Range``.

    With ``redirect`` (a presigned URL) a GET is answered 307 to it: the client fetches the
    bytes (and its ``Range``) from object storage.
    """
    headers = blob_headers(location)
    if redirect is not None and not head:
        # The URL expires: the redirect itself must not be cached like the blob is.
        headers.update({"Location": redirect, "Cache-Control": "no-store", "Content-Length": "0"})
        return Response(status_code=307, headers=headers)
    if head:
        headers["Content-Length"] = str(location.size)
        return Response(status_code=200, headers=headers, media_type="application/octet-stream")
    # RFC 9110 14.2: a Range the server does not understand (another unit, several ranges,
    # bad syntax) is ignored and the whole blob sent; only a single bytes range is honoured.
    requested = _single_range(request.headers.get("range"))
    if location.local_path is not None:
        window = _window(location.size, requested)
        if window is None:
            return _unsatisfiable(location.size)
        offset, length = window
        if requested:
            headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{location.size}"
        return LocalBlobResponse(
            location.local_path,
            offset=offset,
            length=length,
            partial=requested is not None,
            headers=headers,
        )
    return _streamed(location, storage, headers, requested)


def _window(size: int, requested: tuple[str, str] | None) -> tuple[int, int] | None:
    """``(offset, length)`` of the bytes to send; None when the range is unsatisfiable."""
    if not requested:
        return 0, size
    first, last = requested
    if first:
        offset = int(first)
        end = min(int(last), size - 1) if last else size - 1
    else:
        offset = max(size - int(last), 0)
        end = size - 1
    if offset >= size or end < offset:
        return None
    return offset, end - offset + 1


def _unsatisfiable(size: int) -> Response:
    return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})


def _single_range(value: str | None) -> tuple[str, str] | None:
    """``(first, last)`` of a single ``bytes=first-last`` range (either may be empty)."""
    match = _RANGE_RE.match(value.strip()) if value else None
    if not match or not (match.group(1) or match.group(2)):
        return None
    return match.group(1), match.group(2)


def _streamed(
    location: BlobLocation,
    storage: StorageDriver,
    headers: dict[str, str],
    requested: tuple[str, str] | None,
) -> Response:
    window = _window(location.size, requested)
    if window is None:
        return _unsatisfiable(location.size)
    offset, length = window
    status = 200
    if requested:
        status = 206
        headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{location.size}"
    headers["Content-Length"] = str(length)
    return StreamingResponse(
        storage.read(location.key, offset, length),
        status_code=status,
        headers=headers,
        media_type="application/octet-stream",
    )
