"""S3 storage driver (AWS S3, MinIO, Ceph RGW, any S3 API) on boto3, calls in worker threads.

Objects are S3 objects under an optional key prefix. Uploads are plain objects too (a marker
and data segments, :mod:`dockyard.storage.s3_uploads`), so any node can continue, re-hash or
complete an upload another node began; completing is a server-side multipart copy.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from dockyard.storage import paths
from dockyard.storage.interface import (
    InvalidKey,
    ObjectInfo,
    StorageDriver,
    StorageError,
    StorageNotFound,
    UploadInfo,
    UploadOffsetMismatch,
)
from dockyard.storage.s3_client import (
    MAX_PARTS,
    S3Config,
    call,
    in_thread,
    is_range_error,
    make_client,
)
from dockyard.storage.s3_multipart import FAN_OUT, Multipart, bounded
from dockyard.storage.s3_uploads import (
    MARKER,
    Segment,
    SegmentWriter,
    UploadState,
    deletion_order,
    parse_state,
    upload_root,
)

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

__all__ = ["S3Config", "S3Driver"]

_READ_CHUNK = 1 << 20
_CONTENT_TYPE = "application/octet-stream"


class S3Driver(StorageDriver):
    """Stores each object at ``<prefix><key>`` in one bucket."""

    def __init__(self, config: S3Config, client: S3Client | None = None) -> None:
        self.config = config
        self.bucket = config.bucket
        self.prefix = config.prefix
        self._client = client or make_client(config)
        self._presigner = self._client
        if config.public_endpoint_url:
            self._presigner = make_client(config, public=True)

    # --- helpers ---------------------------------------------------------------------
    def _key(self, key: str) -> str:
        if not paths.is_valid_key(key):
            raise InvalidKey(f"invalid storage key {key!r}")
        return self.prefix + key

    async def _put(self, full_key: str, data: bytes) -> None:
        await call(
            self._client.put_object,
            Bucket=self.bucket,
            Key=full_key,
            Body=data,
            ContentType=_CONTENT_TYPE,
        )

    async def _get(self, full_key: str) -> bytes:
        response = await call(self._client.get_object, Bucket=self.bucket, Key=full_key)
        body = response["Body"]
        try:
            return await in_thread(body.read)
        finally:
            body.close()

    async def _list(self, prefix: str) -> AsyncIterator[tuple[str, int]]:
        """``(full key, size)`` of every object whose key starts with ``prefix``."""
        async for full_key, size, _modified in self._list_dated(prefix):
            yield full_key, size

    async def _list_dated(self, prefix: str) -> AsyncIterator[tuple[str, int, datetime | None]]:
        """``(full key, size, last modified)`` of every object whose key starts with ``prefix``."""
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = await call(
                self._client.list_objects_v2, Bucket=self.bucket, Prefix=prefix, **extra
            )
            for item in page.get("Contents", []):
                yield item["Key"], item.get("Size", 0), _aware(item.get("LastModified"))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    async def _delete_all(self, full_keys: tuple[str, ...]) -> None:
        """Delete objects one request each (DeleteObjects' checksum rules vary by store)."""
        if not full_keys:
            return
        *first, last = full_keys  # the marker: deleted last, so nothing is left unnamed
        await bounded([partial(self._delete_key, k) for k in first], limit=FAN_OUT)
        await self._delete_key(last)

    async def _delete_key(self, full_key: str) -> None:
        with contextlib.suppress(StorageNotFound):
            await call(self._client.delete_object, Bucket=self.bucket, Key=full_key)

    # --- whole objects -------------------------------------------------------------
    async def stat(self, key: str) -> ObjectInfo | None:
        try:
            head = await call(self._client.head_object, Bucket=self.bucket, Key=self._key(key))
        except StorageNotFound:
            return None
        return ObjectInfo(
            key=key, size=head["ContentLength"], modified=_aware(head.get("LastModified"))
        )

    async def get(self, key: str) -> bytes:
        return await self._get(self._key(key))

    async def put(self, key: str, data: bytes) -> None:
        await self._put(self._key(key), bytes(data))

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        full_key = self._key(key)
        if length == 0:
            if await self.stat(key) is None:
                raise StorageNotFound(key)
            return
        extra: dict[str, str] = {}
        if offset or length is not None:
            last = "" if length is None else str(offset + length - 1)
            extra["Range"] = f"bytes={offset}-{last}"
        try:
            response = await call(
                self._client.get_object, Bucket=self.bucket, Key=full_key, **extra
            )
        except StorageError as exc:
            if is_range_error(exc):
                return  # the object exists; nothing of it lies in the range
            raise
        # A store that ignored the Range answers 200 with the whole object: cut it here.
        skip = offset if extra and "ContentRange" not in response else 0
        remaining = length if extra and "ContentRange" not in response else None
        body = response["Body"]
        try:
            while remaining is None or remaining > 0:
                chunk = await in_thread(lambda: body.read(_READ_CHUNK))
                if not chunk:
                    break
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                if remaining is not None:
                    chunk = chunk[:remaining]
                    remaining -= len(chunk)
                if chunk:
                    yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await self._delete_key(self._key(key))

    async def list(self, prefix: str) -> AsyncIterator[str]:
        async for info in self.list_objects(prefix):
            yield info.key

    async def list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        folder = prefix.strip("/")
        if folder and not paths.is_valid_key(folder):
            raise InvalidKey(f"invalid storage prefix {prefix!r}")
        start = self.prefix + (folder + "/" if folder else "")
        hidden = paths.UPLOADS_DIR + "/"
        async for full_key, size, modified in self._list_dated(start):
            key = full_key[len(self.prefix) :]
            if not folder and key.startswith(hidden):
                continue  # uploads are not objects until completed
            yield ObjectInfo(key=key, size=size, modified=modified)

    async def url_for(self, key: str, *, expires_in: int) -> str | None:
        full_key = self._key(key)
        return await in_thread(
            lambda: self._presigner.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": full_key},
                ExpiresIn=expires_in,
            )
        )

    async def close(self) -> None:
        self._client.close()
        if self._presigner is not self._client:
            self._presigner.close()

    # --- uploads ---------------------------------------------------------------------
    async def _state(self, upload_id: str) -> tuple[str, UploadState]:
        root = upload_root(self.prefix, upload_id)
        state = parse_state(root, [item async for item in self._list(root)])
        if state is None:
            raise StorageNotFound(upload_id)
        return root, state

    async def create_upload(self, upload_id: str) -> None:
        await self._put(upload_root(self.prefix, upload_id) + MARKER, b"")

    async def upload_size(self, upload_id: str) -> int:
        _root, state = await self._state(upload_id)
        return state.size

    async def write_upload(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        root, state = await self._state(upload_id)
        if state.size != offset:
            raise UploadOffsetMismatch(state.size)
        objects = (self._put, self._get, self._delete_key)
        writer = SegmentWriter(root, state, self.config.part_size, objects)
        try:
            async for chunk in chunks:
                await writer.add(chunk)
        except Exception as exc:
            if isinstance(exc, StorageError):
                await writer.abandon()
            else:  # the client went away: keep what arrived (upload_size tells how much)
                with contextlib.suppress(StorageError):
                    await writer.finish()
            raise
        except BaseException:
            await writer.abandon()
            raise
        return await writer.finish()

    async def read_upload(self, upload_id: str) -> AsyncIterator[bytes]:
        _root, state = await self._state(upload_id)
        for segment in state.segments:
            async for chunk in self._read_full_key(segment.key):
                yield chunk

    async def _read_full_key(self, full_key: str) -> AsyncIterator[bytes]:
        response = await call(self._client.get_object, Bucket=self.bucket, Key=full_key)
        body = response["Body"]
        try:
            while chunk := await in_thread(lambda: body.read(_READ_CHUNK)):
                yield chunk
        finally:
            body.close()

    async def place_upload(self, upload_id: str, key: str, size: int) -> None:
        target = self._key(key)
        _root, state = await self._state(upload_id)
        if state.size != size:
            raise StorageError(f"upload {upload_id} has {state.size} bytes, not {size}")
        if await self.stat(key) is None:
            await self._assemble(state, target)

    async def _assemble(self, state: UploadState, target: str) -> None:
        """Make ``target`` from the segments: one copy, one PUT, or a multipart copy."""
        segments, tail = state.segments, state.tail
        if len(segments) == 1:
            await call(
                self._client.copy_object,
                Bucket=self.bucket,
                Key=target,
                CopySource={"Bucket": self.bucket, "Key": segments[0].key},
                ContentType=_CONTENT_TYPE,
                MetadataDirective="REPLACE",
            )
        elif len(tail) == len(segments):  # nothing or only small pieces: < 5 MiB in all
            await self._put(target, await self._join(tail))
        else:
            await self._multipart_copy(state, target)

    async def _join(self, segments: tuple[Segment, ...]) -> bytes:
        return b"".join([await self._get(segment.key) for segment in segments])

    async def _multipart_copy(self, state: UploadState, target: str) -> None:
        """Sealed segments copied server-side as parts; the small tail sent as the last part."""
        sealed = state.segments[: len(state.segments) - len(state.tail)]
        if len(sealed) + 1 > MAX_PARTS:
            raise StorageError(f"upload has {len(sealed)} segments, S3 allows {MAX_PARTS}")
        if not all(segment.sealed for segment in sealed):
            raise StorageError("upload has a small segment before a large one")
        created = await call(
            self._client.create_multipart_upload,
            Bucket=self.bucket,
            Key=target,
            ContentType=_CONTENT_TYPE,
        )
        multipart = Multipart(self._client, self.bucket, target, created["UploadId"])
        try:
            jobs = [
                partial(multipart.copy_part, number, segment.key)
                for number, segment in enumerate(sealed, start=1)
            ]
            parts = await bounded(jobs, limit=FAN_OUT)
            if state.tail:
                parts.append(
                    await multipart.upload_part(len(parts) + 1, await self._join(state.tail))
                )
            await multipart.complete(parts)
        except BaseException:
            with contextlib.suppress(StorageError):
                await multipart.abort()
            raise

    async def abort_upload(self, upload_id: str) -> None:
        root = upload_root(self.prefix, upload_id)
        keys = [full_key async for full_key, _size in self._list(root)]
        if keys:
            await self._delete_all(deletion_order(root, keys))

    async def _list_uploads(self) -> AsyncIterator[UploadInfo]:
        root = self.prefix + paths.UPLOADS_DIR + "/"
        current: str | None = None
        latest: datetime | None = None
        listing: list[tuple[str, int]] = []
        # Keys come in order, so the objects of one upload are consecutive.
        async for full_key, size, modified in self._list_dated(root):
            upload_id = full_key[len(root) :].split("/", 1)[0]
            if upload_id != current:
                if current is not None and latest is not None:
                    yield _upload_info(root, current, latest, listing)
                current, latest, listing = upload_id, None, []
            listing.append((full_key, size))
            if modified is not None and (latest is None or modified > latest):
                latest = modified
        if current is not None and latest is not None:
            yield _upload_info(root, current, latest, listing)

    async def list_uploads(self) -> AsyncIterator[UploadInfo]:
        async for upload in self._list_uploads():
            if paths.is_valid_upload_id(upload.id):
                yield upload


def _upload_info(
    root: str, upload_id: str, modified: datetime, listing: list[tuple[str, int]]
) -> UploadInfo:
    """An upload from the listing of its objects: its size is that of its data segments."""
    state = parse_state(f"{root}{upload_id}/", listing)
    size = state.size if state is not None else sum(size for _key, size in listing)
    return UploadInfo(id=upload_id, modified=modified, size=size)


def _aware(value: object) -> datetime | None:
    """An S3 ``LastModified`` as an aware datetime (boto3 parses it with a timezone)."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
