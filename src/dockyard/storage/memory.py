"""In-memory storage driver, for tests and throwaway servers."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime

from dockyard.storage.interface import (
    ObjectInfo,
    StorageDriver,
    StorageError,
    StorageNotFound,
    UploadInfo,
    UploadOffsetMismatch,
)

_CHUNK = 1 << 20


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryDriver(StorageDriver):
    """Keeps every object and upload in a dict; nothing survives the process."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.uploads: dict[str, bytearray] = {}
        #: When each object was written and each upload last changed.
        self.modified: dict[str, datetime] = {}
        self.upload_modified: dict[str, datetime] = {}
        #: Uploads placed (they take no more writes).
        self.placed: set[str] = set()

    def _info(self, key: str, data: bytes) -> ObjectInfo:
        return ObjectInfo(key=key, size=len(data), modified=self.modified.get(key))

    async def stat(self, key: str) -> ObjectInfo | None:
        data = self.objects.get(key)
        return None if data is None else self._info(key, data)

    async def get(self, key: str) -> bytes:
        try:
            return self.objects[key]
        except KeyError:
            raise StorageNotFound(key) from None

    async def put(self, key: str, data: bytes) -> None:
        self.objects[key] = bytes(data)
        self.modified[key] = _now()

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        data = await self.get(key)
        end = len(data) if length is None else min(len(data), offset + length)
        for start in range(offset, end, _CHUNK):
            yield data[start : min(end, start + _CHUNK)]

    async def delete(self, key: str) -> None:
        self.objects.pop(key, None)
        self.modified.pop(key, None)

    async def list(self, prefix: str) -> AsyncIterator[str]:
        prefix = prefix.strip("/")
        if prefix:
            prefix += "/"  # a prefix names a directory: "a/b" does not list "a/bc/x"
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield key

    async def list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        async for key in self.list(prefix):
            data = self.objects.get(key)
            if data is not None:
                yield self._info(key, data)

    async def create_upload(self, upload_id: str) -> None:
        self.uploads[upload_id] = bytearray()
        self.upload_modified[upload_id] = _now()

    async def upload_size(self, upload_id: str) -> int:
        try:
            return len(self.uploads[upload_id])
        except KeyError:
            raise StorageNotFound(upload_id) from None

    async def write_upload(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        data = self.uploads.get(upload_id)
        if data is None or upload_id in self.placed:
            raise StorageNotFound(upload_id)
        if len(data) != offset:
            raise UploadOffsetMismatch(len(data))
        try:
            async for chunk in chunks:
                data += chunk
        finally:
            self.upload_modified[upload_id] = _now()
        return len(data)

    async def read_upload(self, upload_id: str) -> AsyncIterator[bytes]:
        try:
            data = bytes(self.uploads[upload_id])
        except KeyError:
            raise StorageNotFound(upload_id) from None
        for start in range(0, len(data), _CHUNK):
            yield data[start : start + _CHUNK]

    async def place_upload(self, upload_id: str, key: str, size: int) -> None:
        try:
            data = self.uploads[upload_id]
        except KeyError:
            raise StorageNotFound(upload_id) from None
        self.placed.add(upload_id)
        if len(data) != size:
            raise StorageError(f"upload {upload_id} has {len(data)} bytes, not {size}")
        self.upload_modified[upload_id] = _now()
        if key not in self.objects:
            await self.put(key, bytes(data))

    async def abort_upload(self, upload_id: str) -> None:
        self.uploads.pop(upload_id, None)
        self.upload_modified.pop(upload_id, None)
        self.placed.discard(upload_id)

    async def list_uploads(self) -> AsyncIterator[UploadInfo]:
        for upload_id, modified in sorted(self.upload_modified.items()):
            size = len(self.uploads.get(upload_id, b""))
            yield UploadInfo(id=upload_id, modified=modified, size=size)
