"""Sending a blob that lies on local disk: read ahead in large pieces, or by ``pathsend``.

Starlette's ``FileResponse`` stats, opens, seeks, reads and closes the file in separate thread
hops for every request and re-derives what the registry already knows (the size, an ETag).
Here the size comes from the metadata and the file is read with ``pread`` in
:data:`READ_BYTES` pieces (:data:`READ_BYTES_SHARED` while other downloads read ahead), the
next piece read in a thread while the current one is sent.
Measured against Granian's ``http.response.pathsend`` (which reads 128 KiB at a time through
its blocking-thread pool), this sends a whole blob faster at about the same CPU per byte; it
holds a few pieces in memory per download, so at most :data:`READ_AHEAD_SENDS` downloads at a
time read ahead and further whole-blob downloads go by ``pathsend`` when the server offers it.
See docs/performance.md.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from dockyard.registry.errors import BlobUnknown

#: Bytes read per thread hop by a download that reads ahead alone: 4 MiB measured
#: fastest (2 MiB pays more hops per byte; 8 MiB pieces are allocated by fresh page faults
#: every time; docs/performance.md).
READ_BYTES = 4 << 20
#: Bytes read per thread hop while other downloads read ahead too: the server queues up to
#: about eight pieces of a download to a slower client, and memory that a burst of downloads
#: touched mostly stays with the process.
READ_BYTES_SHARED = 1 << 20
#: Downloads of one process that read ahead at once (about 56 MiB of queued pieces at most);
#: further whole-blob downloads go by pathsend.
READ_AHEAD_SENDS = 4


class _Slots:
    """A count of read-ahead sends in progress, bounded (the event loop's thread only)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self) -> bool:
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def give(self) -> None:
        self.used -= 1


READ_AHEAD = _Slots(READ_AHEAD_SENDS)


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
        read_ahead = self.length > READ_BYTES_SHARED and READ_AHEAD.take()
        try:
            pathsend = "http.response.pathsend" in scope.get("extensions", {})
            if not self.partial and not read_ahead and pathsend and self.length > READ_BYTES:
                await send(self._start())
                await send({"type": "http.response.pathsend", "path": str(self.path)})
                return
            alone = READ_AHEAD.used <= 1
            piece_size = READ_BYTES if alone or not read_ahead else READ_BYTES_SHARED
            await self._send_pieces(send, read_ahead=read_ahead, piece_size=piece_size)
        finally:
            if read_ahead:
                READ_AHEAD.give()

    async def _send_pieces(self, send: Send, *, read_ahead: bool, piece_size: int) -> None:
        loop = asyncio.get_running_loop()
        size = min(self.length, piece_size)
        try:
            fd, piece = await loop.run_in_executor(
                None, _open_and_read, self.path, self.offset, size
            )
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            # Deleted (garbage collection) since its metadata was read; nothing sent yet.
            raise BlobUnknown("blob unknown to registry") from None
        pending: asyncio.Future[bytes] | None = None
        try:
            await send(self._start())
            sent = 0
            while True:
                sent += len(piece)
                more = sent < self.length and len(piece) == size
                if more:
                    size = min(self.length - sent, piece_size)
                    if read_ahead:
                        pending = loop.run_in_executor(None, os.pread, fd, size, self.offset + sent)
                await send({"type": "http.response.body", "body": piece, "more_body": more})
                if not more:
                    return
                if pending is None:
                    piece = await loop.run_in_executor(None, os.pread, fd, size, self.offset + sent)
                else:
                    piece, pending = await pending, None
        finally:
            if pending is None:
                os.close(fd)
            else:  # the client went away while the next piece was being read
                pending.add_done_callback(lambda done: _close_after(done, fd))


def _close_after(read: asyncio.Future[bytes], fd: int) -> None:
    """Close ``fd`` once an abandoned read of it has finished (its outcome is not needed)."""
    if not read.cancelled():
        read.exception()
    os.close(fd)
