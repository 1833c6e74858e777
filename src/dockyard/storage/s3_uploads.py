"""Uploads on S3 as plain objects: a marker plus the data as segments named by their offset.

An upload ``<id>`` is, under ``uploads/<id>/``::

    started                    marker: the upload exists (empty)
    data/<start offset>        bytes from that offset on (20 decimal digits)

A segment of at least 5 MiB (S3's smallest multipart part) is *sealed*. Small segments only
trail the sealed ones (the *tail*): a PATCH smaller than 5 MiB is stored as one more small
segment, and once the tail and new data reach 5 MiB (or the tail has many pieces) they are
merged into one segment written under the key of the tail's first segment (an atomic
overwrite); the old pieces, now inside the merged range, are deleted. Each byte is thus written
about twice at most, whatever the PATCH sizes. The upload's size is the end of the contiguous
run of segments from offset 0, so any node can continue, re-read (to re-hash) or complete an
upload: there is no state outside the bucket. See docs/storage.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dockyard.storage import paths
from dockyard.storage.s3_client import MIN_PART_SIZE

MARKER = "started"
DATA_DIR = "data/"
#: Small segments the tail may have before a PATCH merges them (keeps listings short).
MAX_TAIL_SEGMENTS = 32
_OFFSET_DIGITS = 20


@dataclass(frozen=True, slots=True)
class Segment:
    """One data object of an upload: where it starts, its size and its full S3 key."""

    offset: int
    size: int
    key: str

    @property
    def sealed(self) -> bool:
        """Whether it can be a part of a multipart upload that is not the last one."""
        return self.size >= MIN_PART_SIZE


@dataclass(frozen=True, slots=True)
class UploadState:
    """What one listing of ``uploads/<id>/`` shows."""

    #: Contiguous data from offset 0, in order.
    segments: tuple[Segment, ...]
    #: Every object under the upload's prefix (marker last), to delete it all.
    keys: tuple[str, ...]

    @property
    def size(self) -> int:
        """Bytes received so far."""
        return sum(segment.size for segment in self.segments)

    @property
    def tail(self) -> tuple[Segment, ...]:
        """The trailing small segments (merged into the next sealed one)."""
        count = 0
        for segment in reversed(self.segments):
            if segment.sealed:
                break
            count += 1
        return self.segments[len(self.segments) - count :]


def upload_root(prefix: str, upload_id: str) -> str:
    """Full S3 prefix of one upload (``prefix`` is the driver's key prefix)."""
    return prefix + paths.upload_prefix(upload_id)


def segment_key(root: str, offset: int) -> str:
    """Full S3 key of the segment starting at ``offset``."""
    return f"{root}{DATA_DIR}{offset:0{_OFFSET_DIGITS}d}"


def parse_state(root: str, listing: list[tuple[str, int]]) -> UploadState | None:
    """The upload from ``(key, size)`` pairs under ``root``; None without a marker.

    Only the run of segments from offset 0 counts: pieces a merge left behind (inside the
    merged range) and anything after a gap (two writers racing on one upload) do not.
    """
    keys = [key for key, _size in listing]
    if root + MARKER not in keys:
        return None
    found: dict[int, Segment] = {}
    for key, size in listing:
        name = key[len(root) :]
        if name.startswith(DATA_DIR) and name[len(DATA_DIR) :].isdigit() and size > 0:
            offset = int(name[len(DATA_DIR) :])
            found[offset] = Segment(offset, size, key)
    segments: list[Segment] = []
    end = 0
    while end in found:
        segments.append(found[end])
        end += found[end].size
    return UploadState(tuple(segments), deletion_order(root, keys))


def deletion_order(root: str, keys: list[str]) -> tuple[str, ...]:
    """``keys`` with the marker last: an upload half deleted stays findable by its marker."""
    marker = root + MARKER
    return (*sorted(k for k in keys if k != marker), marker)


PutObject = Callable[[str, bytes], Awaitable[None]]
GetObject = Callable[[str], Awaitable[bytes]]
DeleteObject = Callable[[str], Awaitable[None]]


class SegmentWriter:
    """Cuts a stream into segments of about ``part_size`` bytes, one PUT in flight.

    Memory stays near two segments: the one being filled and the one being sent.
    """

    def __init__(
        self,
        root: str,
        state: UploadState,
        part_size: int,
        objects: tuple[PutObject, GetObject, DeleteObject],
    ) -> None:
        self._root = root
        self._part_size = part_size
        self._put, self._get, self._delete = objects
        self._tail = list(state.tail)
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._end = state.size
        self._sending: asyncio.Task[None] | None = None
        #: End of the data stored so far (the upload's size once :meth:`finish` returns).
        self.size = state.size

    @property
    def _tail_size(self) -> int:
        return sum(segment.size for segment in self._tail)

    async def add(self, chunk: bytes) -> None:
        """Take one chunk; sends a segment when enough has gathered."""
        if not chunk:
            return
        self._buffer.append(chunk)
        self._buffered += len(chunk)
        if self._tail_size + self._buffered >= self._part_size:
            await self._send_merged()

    async def finish(self) -> int:
        """Send what is left (merged with the tail when it reaches 5 MiB); the new size."""
        if self._buffered:
            merge = self._tail_size + self._buffered >= MIN_PART_SIZE
            if merge or len(self._tail) >= MAX_TAIL_SEGMENTS:
                await self._send_merged()
            else:
                await self._send_small()
        await self._wait()
        return self.size

    async def abandon(self) -> None:
        """Wait for the segment in flight, if any, without sending more."""
        with contextlib.suppress(Exception):  # the caller re-raises the original error
            await self._wait()

    async def _send_merged(self) -> None:
        """The tail and the buffer as one segment at the tail's start."""
        tail, self._tail = self._tail, []
        parts = [await self._get(segment.key) for segment in tail]
        parts += self._buffer
        start = tail[0].offset if tail else self._end
        await self._start(start, b"".join(parts), [segment.key for segment in tail[1:]])

    async def _send_small(self) -> None:
        """The buffer as one more small segment of the tail."""
        data = b"".join(self._buffer)
        self._tail.append(Segment(self._end, len(data), segment_key(self._root, self._end)))
        await self._start(self._end, data, [])

    async def _start(self, start: int, data: bytes, replaced: list[str]) -> None:
        self._buffer, self._buffered = [], 0
        await self._wait()
        end = start + len(data)
        self._end = end
        self._sending = asyncio.ensure_future(self._store(start, data, end, replaced))

    async def _store(self, start: int, data: bytes, end: int, replaced: list[str]) -> None:
        await self._put(segment_key(self._root, start), data)
        self.size = end
        for key in replaced:  # inside the new segment's range: ignored even if left behind
            await self._delete(key)

    async def _wait(self) -> None:
        if self._sending is not None:
            sending, self._sending = self._sending, None
            await sending
