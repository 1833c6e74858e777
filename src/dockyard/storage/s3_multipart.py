"""One S3 multipart upload built from parts, and running a few S3 requests at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from dockyard.storage.s3_client import call

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client
    from types_boto3_s3.type_defs import CompletedPartTypeDef

T = TypeVar("T")

#: Requests one driver call runs at once (part copies, deletes).
FAN_OUT = 8


class Multipart:
    """One S3 multipart upload into ``key``."""

    def __init__(self, client: S3Client, bucket: str, key: str, upload_id: str) -> None:
        self._client = client
        self._where = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
        self._bucket = bucket

    async def copy_part(self, number: int, source: str) -> CompletedPartTypeDef:
        """Part ``number`` copied server-side from the object ``source`` (at most 5 GiB)."""
        copied = await call(
            self._client.upload_part_copy,
            **self._where,
            PartNumber=number,
            CopySource={"Bucket": self._bucket, "Key": source},
        )
        return {"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]}

    async def upload_part(self, number: int, data: bytes) -> CompletedPartTypeDef:
        """Part ``number`` sent from memory."""
        sent = await call(self._client.upload_part, **self._where, PartNumber=number, Body=data)
        return {"PartNumber": number, "ETag": sent["ETag"]}

    async def complete(self, parts: list[CompletedPartTypeDef]) -> None:
        """Make the object from ``parts`` (in order); it appears whole, at once."""
        await call(
            self._client.complete_multipart_upload, **self._where, MultipartUpload={"Parts": parts}
        )

    async def abort(self) -> None:
        """Discard the parts sent so far."""
        await call(self._client.abort_multipart_upload, **self._where)


async def bounded(jobs: Sequence[Callable[[], Awaitable[T]]], *, limit: int) -> list[T]:
    """Run ``jobs`` with at most ``limit`` at once; their results in order."""
    semaphore = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await job()

    return list(await asyncio.gather(*(run(job) for job in jobs)))
