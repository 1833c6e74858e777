"""In-memory storage driver, for tests and throwaway servers."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from dockyard.storage.interface import (
    ObjectInfo,
    StorageDriver,
    StorageNotFound,
    UploadOffsetMismatch,
)

_CHUNK = 1 << 20


class MemoryDriver(StorageDriver):
    """Keeps every object and upload in a dict; nothing survives the process."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.uploads: dict[str, bytearray] = {}

    async def stat(self, key: str) -> ObjectInfo | None:
        data = self.objects.get(key)
        return None if data is None else ObjectInfo(key=key, size=len(data))

    async def get(self, key: str) -> bytes:
        try:
            return self.objects[key]
        except KeyError:
            raise StorageNotFound(key) from None

    async def put(self, key: str, data: bytes) -> None:
        self.objects[key] = bytes(data)

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        data = await self.get(key)
        end = len(data) if length is None else min(len(data), offset + length)
        for start in range(offset, end, _CHUNK):
            yield data[start : min(end, start + _CHUNK)]

    async def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    async def list(self, prefix: str) -> AsyncIterator[str]:
        prefix = prefix.strip("/")
        if prefix:
            prefix += "/"  # a prefix names a directory: "a/b" does not list "a/bc/x"
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield key

    async def create_upload(self, upload_id: str) -> None:
        self.uploads[upload_id] = bytearray()

    async def upload_size(self, upload_id: str) -> int:
        try:
            return len(self.uploads[upload_id])
        except KeyError:
            raise StorageNotFound(upload_id) from None

    async def write_upload(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        try:
            data = self.uploads[upload_id]
        except KeyError:
            raise StorageNotFound(upload_id) from None
        if len(data) != offset:
            raise UploadOffsetMismatch(len(data))
        async for chunk in chunks:
            data += chunk
        return len(data)

    async def read_upload(self, upload_id: str) -> AsyncIterator[bytes]:
        try:
            data = bytes(self.uploads[upload_id])
        except KeyError:
            raise StorageNotFound(upload_id) from None
        for start in range(0, len(data), _CHUNK):
            yield data[start : start + _CHUNK]

    async def complete_upload(self, upload_id: str, key: str) -> None:
        try:
            data = self.uploads.pop(upload_id)
        except KeyError:
            raise StorageNotFound(upload_id) from None
        self.objects.setdefault(key, bytes(data))

    async def abort_upload(self, upload_id: str) -> None:
        self.uploads.pop(upload_id, None)
