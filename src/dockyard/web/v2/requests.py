"""Parsing of registry request details: bodies, ranges, Accept headers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator

from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from dockyard.oci.names import official_name
from dockyard.registry.errors import SizeInvalid, UploadInvalid
from dockyard.registry.service import RegistryServices
from dockyard.registry.uploads import ChunkRange

_CONTENT_RANGE_RE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?$")


def repository_name(request: Request) -> str:
    """The repository the path names; a one-component name means ``library/<name>``."""
    return official_name(request.path_params["name"])


def services(request: Request) -> RegistryServices:
    """The registry services of the running app."""
    registry: RegistryServices = request.app.state.registry
    return registry


async def body_chunks(request: Request) -> AsyncGenerator[bytes, None]:
    """The request body as it arrives, without empty chunks.

    The next message is asked for before a chunk is handed on, so the server fetches it while
    the chunk is hashed and written: a chunked upload (docker sends ~32 KiB chunks) costs one
    hand-over between the server's threads and the event loop per chunk, and overlapping that
    wait with the work made receiving such a body about 25% faster (docs/performance.md).
    """
    receive = request.receive
    pending: asyncio.Future[Message] = asyncio.ensure_future(receive())
    try:
        while True:
            message = await pending
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            more = bool(message.get("more_body", False))
            if more:
                pending = asyncio.ensure_future(receive())
            chunk: bytes = message.get("body", b"")
            if chunk:
                yield chunk
            if not more:
                return
    finally:
        if not pending.done():
            # The consumer stopped early (an error, a size limit): nobody wants that message.
            pending.cancel()


def content_length(request: Request) -> int | None:
    """The declared ``Content-Length``, or None for a chunked body."""
    value = request.headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        raise SizeInvalid(f"invalid Content-Length {value[:40]!r}") from None
    if length < 0:
        raise SizeInvalid("negative Content-Length")
    return length


def has_body(request: Request) -> bool:
    """True when the request carries a body (a positive length, or chunked)."""
    length = content_length(request)
    if length is None:
        return "chunked" in request.headers.get("transfer-encoding", "").lower()
    return length > 0


def chunk_range(request: Request) -> ChunkRange | None:
    """The ``Content-Range`` of an upload chunk, if given."""
    value = request.headers.get("content-range")
    if value is None:
        return None
    match = _CONTENT_RANGE_RE.match(value.strip())
    if not match:
        raise UploadInvalid(f"invalid Content-Range {value[:60]!r}", {"range": value[:60]})
    start, end = int(match.group(1)), int(match.group(2))
    if end < start:
        raise UploadInvalid(f"invalid Content-Range {value[:60]!r}", {"range": value[:60]})
    return ChunkRange(start, end)


def accepted_types(request: Request) -> frozenset[str]:
    """The media types of every ``Accept`` header, without parameters."""
    types: set[str] = set()
    for header in request.headers.getlist("accept"):
        for item in header.split(","):
            media_type = item.split(";", 1)[0].strip().lower()
            if media_type:
                types.add(media_type)
    return frozenset(types)
