"""Sending a blob that lies on local disk: whole by ``pathsend``, a range by ``pread``.

Starlette's ``FileResponse`` stats, opens, seeks, reads and closes the file in separate thread
hops for every request (five for a 1 MiB range) and re-derives what the registry already knows
(the size, an ETag). Here the size comes from the metadata: a whole blob goes out with the
server's ``http.response.pathsend`` (no byte through Python) when it offers it, and a range is
read with one ``pread`` per MiB, the first together with the ``open`` in one hop.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from dockyard.registry.errors import BlobUnknown

#: Bytes read per thread hop when the body goes through Python.
READ_BYTES = 1 << 20


def _open_and_read(path: Path, offset: int, length: int) -> tuple[int, bytes]:
    fd = os.open(path, os.O_RDONLY)
    try:
        return fd, os.pread(fd, length, offset)
    except BaseException:
        os.close(fd)
        raise


class LocalBlobResponse(Response):
    """``length`` bytes of the file at ``path`` from ``offset`` (all of it: ``partial`` false).

    ``headers`` already carry the blob's headers and, for a range, its ``Content-Range``.
    (A ``Response`` only by type: nothing of Starlette's body handling is used.)
    """

    def __init__(
        self,
        path: Path,
        *,
        offset: int,
        length: int,
        partial: bool,
        headers: dict[str, str],
    ) -> None:
        self.background = None
        self.path = path
        self.offset = offset
        self.length = length
        self.status_code = 206 if partial else 200
        self.partial = partial
        self.init_headers(
            {**headers, "Content-Length": str(length), "Content-Type": "application/octet-stream"}
        )

    def _start(self) -> dict[str, object]:
        return {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.raw_headers,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.partial and "http.response.pathsend" in scope.get("extensions", {}):
            await send(self._start())
            await send({"type": "http.response.pathsend", "path": str(self.path)})
            return
        loop = asyncio.get_running_loop()
        first = min(self.length, READ_BYTES)
        try:
            fd, chunk = await loop.run_in_executor(
                None, _open_and_read, self.path, self.offset, first
            )
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            # Deleted (garbage collection) since its metadata was read; nothing sent yet.
            raise BlobUnknown("blob unknown to registry") from None
        try:
            await send(self._start())
            sent = len(chunk)
            more = sent < self.length and len(chunk) == first
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
            while more:
                size = min(self.length - sent, READ_BYTES)
                chunk = await loop.run_in_executor(None, os.pread, fd, size, self.offset + sent)
                sent += len(chunk)
                more = sent < self.length and len(chunk) == size
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
        finally:
            os.close(fd)
