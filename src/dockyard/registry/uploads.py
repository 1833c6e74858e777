"""Upload service: monolithic, POST-then-PUT and chunked uploads, verified while streaming.

A node keeps the running sha256 of uploads it has been receiving as a fast path; when it
lacks it (another node took the chunks, or the server restarted) it re-reads the data.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterable
from dataclasses import dataclass

from dockyard.metadata.store import RegistryStore, UploadRecord
from dockyard.oci.digest import Digest
from dockyard.registry.errors import DigestInvalid, RangeInvalid, SizeInvalid, UploadUnknown
from dockyard.registry.hashing import HashingStream
from dockyard.registry.validation import check_name, parse_digest
from dockyard.storage import StorageDriver, StorageNotFound, UploadOffsetMismatch, paths

_MAX_HASH_STATES = 4096


@dataclass(slots=True)
class _HashState:
    offset: int
    hasher: hashlib._Hash


@dataclass(frozen=True, slots=True)
class UploadStatus:
    """Where an upload stands: its id, repository and bytes received."""

    id: str
    repository: str
    size: int


@dataclass(frozen=True, slots=True)
class ChunkRange:
    """A ``Content-Range`` of a PATCH: inclusive start and end offsets."""

    start: int
    end: int

    @property
    def length(self) -> int:
        """How many bytes the range covers."""
        return self.end - self.start + 1


class UploadService:
    """Runs blob upload sessions against the storage driver and the metadata store."""

    def __init__(self, store: RegistryStore, storage: StorageDriver) -> None:
        self.store = store
        self.storage = storage
        self._hashes: OrderedDict[str, _HashState] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    # --- sessions --------------------------------------------------------------------
    async def start(self, name: str) -> UploadStatus:
        """Open a new upload session in repository ``name``."""
        check_name(name)
        upload_id = str(uuid.uuid4())
        await self.storage.create_upload(upload_id)
        await self.store.create_upload(upload_id, name)
        self._remember(upload_id, _HashState(0, hashlib.sha256()))
        return UploadStatus(upload_id, name, 0)

    async def status(self, name: str, upload_id: str) -> UploadStatus:
        """Where the upload stands."""
        record = await self._record(name, upload_id)
        return UploadStatus(record.id, name, await self._size(upload_id))

    async def cancel(self, name: str, upload_id: str) -> None:
        """Abandon an upload and discard its data."""
        await self._record(name, upload_id)
        self._hashes.pop(upload_id, None)
        await self.storage.abort_upload(upload_id)
        await self.store.delete_upload(upload_id)

    async def append(
        self,
        name: str,
        upload_id: str,
        body: AsyncIterable[bytes],
        *,
        chunk_range: ChunkRange | None = None,
        content_length: int | None = None,
    ) -> UploadStatus:
        """Append a chunk (PATCH). A range must start where the upload stands (else 416)."""
        await self._record(name, upload_id)
        if (
            chunk_range is not None
            and content_length is not None
            and chunk_range.length != content_length
        ):
            raise SizeInvalid(
                "Content-Range and Content-Length disagree",
                {"range": f"{chunk_range.start}-{chunk_range.end}", "length": content_length},
            )
        async with self._lock(upload_id):
            size = await self._write(upload_id, body, chunk_range, content_length)
        await self.store.set_upload_size(upload_id, size)
        return UploadStatus(upload_id, name, size)

    async def finish(
        self,
        name: str,
        upload_id: str,
        digest_text: str,
        body: AsyncIterable[bytes] | None,
        *,
        chunk_range: ChunkRange | None = None,
        content_length: int | None = None,
    ) -> Digest:
        """Complete an upload (PUT ?digest=), with an optional last chunk."""
        await self._record(name, upload_id)
        digest = parse_digest(digest_text)
        async with self._lock(upload_id):
            size = await self._size(upload_id)
            if body is not None:
                size = await self._write(upload_id, body, chunk_range, content_length)
            actual = await self._digest_of(upload_id, digest.algorithm, size)
            if actual != digest.encoded:
                self._hashes.pop(upload_id, None)
                await self.storage.abort_upload(upload_id)
                await self.store.delete_upload(upload_id)
                raise DigestInvalid(
                    f"content digest is {digest.algorithm}:{actual}, not {digest}",
                    {"expected": str(digest), "actual": f"{digest.algorithm}:{actual}"},
                )
            await self._commit(name, upload_id, digest, size, finished=True)
            self._hashes.pop(upload_id, None)
        self._locks.pop(upload_id, None)
        return digest

    async def monolithic(
        self, name: str, digest_text: str, body: AsyncIterable[bytes], content_length: int | None
    ) -> Digest:
        """Store a whole blob sent in one request (POST ?digest=)."""
        check_name(name)
        digest = parse_digest(digest_text)
        upload_id = str(uuid.uuid4())
        await self.storage.create_upload(upload_id)
        hasher = digest.hasher()
        try:
            size = await self.storage.write_upload(upload_id, 0, HashingStream(body, hasher))
            if content_length is not None and size != content_length:
                raise SizeInvalid(
                    f"received {size} bytes, Content-Length said {content_length}",
                    {"received": size, "declared": content_length},
                )
            if hasher.hexdigest() != digest.encoded:
                raise DigestInvalid(
                    f"content digest is {digest.algorithm}:{hasher.hexdigest()}, not {digest}",
                    {"expected": str(digest), "actual": f"{digest.algorithm}:{hasher.hexdigest()}"},
                )
            await self._commit(name, upload_id, digest, size, finished=False)
        except BaseException:
            await self.storage.abort_upload(upload_id)
            raise
        return digest

    async def _commit(
        self, name: str, upload_id: str, digest: Digest, size: int, *, finished: bool
    ) -> None:
        """Put a verified upload in place as blob ``digest`` and link it to ``name``.

        Safe against a garbage collection sweeping the same blob at the same time (see
        docs/storage.md, "Garbage collection"): the upload's data is kept until the blob is
        linked and seen in storage. A sweep deletes a blob's data and row in one transaction
        that holds the row locked; ``link_blob`` waits for that lock, so once it returns a
        sweep either finished before (the data may be gone: placed again from the upload)
        or will find the link and keep the blob.
        """
        key = paths.blob_key(digest)
        await self.storage.place_upload(upload_id, key, size)
        await self.store.link_blob(
            name, str(digest), size, finished_upload=upload_id if finished else None
        )
        if await self.storage.stat(key) is None:
            await self.storage.place_upload(upload_id, key, size)
        await self.storage.abort_upload(upload_id)

    # --- internals -------------------------------------------------------------------
    async def _record(self, name: str, upload_id: str) -> UploadRecord:
        check_name(name)
        try:
            paths.upload_prefix(upload_id)
        except ValueError:
            raise UploadUnknown("upload unknown", {"uuid": upload_id[:100]}) from None
        record = await self.store.get_upload(upload_id)
        if record is None or record.repository != name:
            raise UploadUnknown(f"upload {upload_id} unknown", {"uuid": upload_id})
        return record

    async def _size(self, upload_id: str) -> int:
        try:
            return await self.storage.upload_size(upload_id)
        except StorageNotFound:
            raise UploadUnknown(f"upload {upload_id} unknown", {"uuid": upload_id}) from None

    async def _write(
        self,
        upload_id: str,
        body: AsyncIterable[bytes],
        chunk_range: ChunkRange | None,
        content_length: int | None,
    ) -> int:
        size = await self._size(upload_id)
        if chunk_range is not None and chunk_range.start != size:
            raise RangeInvalid(f"chunk starts at {chunk_range.start}, upload is at {size}", size)
        state = self._hashes.pop(upload_id, None)
        if state is not None and state.offset != size:
            state = None
        stream = HashingStream(body, state.hasher if state is not None else None)
        try:
            new_size = await self.storage.write_upload(upload_id, size, stream)
        except UploadOffsetMismatch as exc:
            raise RangeInvalid(str(exc), exc.size) from None
        except StorageNotFound:
            raise UploadUnknown(f"upload {upload_id} unknown", {"uuid": upload_id}) from None
        expected = chunk_range.length if chunk_range is not None else content_length
        received = stream.received
        if expected is not None and received != expected:
            # What arrived is kept (the Range header tells the client), the hash state is not.
            raise SizeInvalid(
                f"received {received} bytes, expected {expected}",
                {"received": received, "declared": expected},
            )
        if state is not None:
            state.offset = new_size
            self._remember(upload_id, state)
        return new_size

    async def _digest_of(self, upload_id: str, algorithm: str, size: int) -> str:
        state = self._hashes.get(upload_id)
        if algorithm == "sha256" and state is not None and state.offset == size:
            return state.hasher.copy().hexdigest()
        hasher = hashlib.new(algorithm)
        async for chunk in self.storage.read_upload(upload_id):
            hasher.update(chunk)
        return hasher.hexdigest()

    def _remember(self, upload_id: str, state: _HashState) -> None:
        self._hashes[upload_id] = state
        self._hashes.move_to_end(upload_id)
        while len(self._hashes) > _MAX_HASH_STATES:
            self._hashes.popitem(last=False)

    def _lock(self, upload_id: str) -> asyncio.Lock:
        lock = self._locks.get(upload_id)
        if lock is None:
            if len(self._locks) > _MAX_HASH_STATES:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[upload_id] = asyncio.Lock()
        return lock
