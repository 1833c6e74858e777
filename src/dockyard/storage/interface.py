"""The storage driver contract.

Shaped for object stores: objects are written whole (``put``) or through an *upload*
(a multipart upload on S3, a temporary file on disk) that becomes an object only when
completed. There is no rename of objects and no append to an existing object.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


class StorageError(Exception):
    """Base class of storage driver errors."""


class StorageNotFound(StorageError):
    """The object or upload does not exist."""


class UploadOffsetMismatch(StorageError):
    """Data was offered at an offset other than the upload's current size."""

    def __init__(self, size: int) -> None:
        super().__init__(f"upload is at offset {size}")
        self.size = size


class InvalidKey(StorageError):
    """A key that could escape the storage root or is otherwise malformed."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What ``stat`` and ``list_objects`` know about a stored object."""

    key: str
    size: int
    #: When the object was last written or put in place (timezone-aware); None: unknown.
    #: Garbage collection never deletes an object of unknown age.
    modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """An upload found in storage: its id, when it last changed (timezone-aware), its bytes."""

    id: str
    modified: datetime
    size: int = 0


class StorageDriver(abc.ABC):
    """Stores objects under slash-separated keys built by :mod:`dockyard.storage.paths`."""

    # --- whole objects -------------------------------------------------------------
    @abc.abstractmethod
    async def stat(self, key: str) -> ObjectInfo | None:
        """Size of the object at ``key``, or None when it does not exist."""

    @abc.abstractmethod
    async def get(self, key: str) -> bytes:
        """The whole content of a (small) object; raises :class:`StorageNotFound`."""

    @abc.abstractmethod
    async def put(self, key: str, data: bytes) -> None:
        """Write a whole object atomically (readers see the old or the new content)."""

    @abc.abstractmethod
    def read(self, key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """Stream ``length`` bytes (all when None) of an object from ``offset``."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove an object; a missing object is not an error."""

    @abc.abstractmethod
    def list(self, prefix: str) -> AsyncIterator[str]:
        """Keys of all objects under ``prefix`` (recursively), in no particular order."""

    async def list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """Like :meth:`list`, with each object's size and modification time.

        Drivers answer from their listing (one request per page on S3); this default stats
        each key, for drivers that do not.
        """
        async for key in self.list(prefix):
            info = await self.stat(key)
            if info is not None:
                yield info

    def local_path(self, key: str) -> Path | None:
        """A filesystem path the web server may send directly, if the driver has one."""
        return None

    async def url_for(self, key: str, *, expires_in: int) -> str | None:
        """A presigned URL clients may fetch the object from, if the driver offers one."""
        return None

    # --- uploads ---------------------------------------------------------------------
    @abc.abstractmethod
    async def create_upload(self, upload_id: str) -> None:
        """Start an empty upload named ``upload_id``."""

    @abc.abstractmethod
    async def upload_size(self, upload_id: str) -> int:
        """Bytes received so far; raises :class:`StorageNotFound`."""

    @abc.abstractmethod
    async def write_upload(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        """Append ``chunks`` at ``offset`` (which must equal the current size).

        Returns the new size. Raises :class:`UploadOffsetMismatch` when ``offset`` is not
        the current size. Data of a failed write may be partly kept; the size then says
        how much.
        """

    @abc.abstractmethod
    def read_upload(self, upload_id: str) -> AsyncIterator[bytes]:
        """Stream the data received so far (to rebuild a hash another node started)."""

    @abc.abstractmethod
    async def place_upload(self, upload_id: str, key: str, size: int) -> None:
        """Make the object ``key`` from the upload's ``size`` bytes, keeping the upload.

        If ``key`` exists, the existing object is kept. The upload accepts no more writes
        (``write_upload`` may raise :class:`StorageNotFound`) but can be placed again, so a
        caller can put ``key`` back if it was deleted meanwhile (garbage collection, see
        docs/storage.md); :meth:`abort_upload` then discards it. Raises
        :class:`StorageNotFound` for a missing upload and :class:`StorageError` when the
        upload does not hold exactly ``size`` bytes.
        """

    async def complete_upload(self, upload_id: str, key: str) -> None:
        """Turn the upload into the object ``key``; if ``key`` exists, keep the existing one."""
        await self.place_upload(upload_id, key, await self.upload_size(upload_id))
        await self.abort_upload(upload_id)

    @abc.abstractmethod
    async def abort_upload(self, upload_id: str) -> None:
        """Discard an upload; a missing upload is not an error."""

    @abc.abstractmethod
    def list_uploads(self) -> AsyncIterator[UploadInfo]:
        """Every upload in storage (finished ones not yet discarded too), in no order."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""
