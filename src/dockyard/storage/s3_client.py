"""Building the boto3 S3 client the S3 driver uses, and reading its errors.

boto3 is synchronous: the driver runs every call in a worker thread (:func:`call`), so the
event loop never waits on the network. Clients are thread-safe; one is shared by all threads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

import anyio.to_thread
import boto3.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dockyard.storage.interface import StorageError, StorageNotFound

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

T = TypeVar("T")

MiB = 1 << 20
#: S3's smallest part of a multipart upload (all but the last part).
MIN_PART_SIZE = 5 * MiB
#: S3's most parts in one multipart upload.
MAX_PARTS = 10_000

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_NO_RANGE_CODES = frozenset({"416", "InvalidRange"})


@dataclass(frozen=True, slots=True)
class S3Config:
    """Where and how the S3 driver stores objects (built from the ``storage.s3`` settings)."""

    bucket: str
    #: Endpoint of an S3-compatible service (MinIO, Ceph RGW); None for AWS itself.
    endpoint_url: str | None = None
    #: Region to sign requests for; None: from the AWS configuration, else ``us-east-1``.
    region: str | None = None
    #: Static credentials; None: the standard AWS chain (environment, files, instance role).
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    #: Prepended to every key (``""`` or ending in ``/``).
    prefix: str = ""
    #: ``auto``: path-style with ``endpoint_url``, virtual-hosted on AWS.
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    #: Endpoint written into presigned URLs when clients reach S3 by another address.
    public_endpoint_url: str | None = None
    #: Size of the data objects an upload is cut into (see docs/storage.md).
    part_size: int = 8 * MiB
    #: Connections kept open to S3 (and S3 calls running at once).
    max_connections: int = 32
    #: Tries of one request (throttling, 5xx and connection errors are retried).
    max_attempts: int = 5


def make_client(config: S3Config, *, public: bool = False) -> S3Client:
    """A boto3 S3 client for ``config`` (``public``: for presigning with the public endpoint)."""
    session = _session()
    endpoint = config.endpoint_url
    if public and config.public_endpoint_url:
        endpoint = config.public_endpoint_url
    style = config.addressing_style
    if style == "auto":
        style = "path" if config.endpoint_url else "virtual"
    client_config = Config(
        signature_version="s3v4",
        s3={"addressing_style": style},
        max_pool_connections=config.max_connections,
        retries={"max_attempts": config.max_attempts, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        # Only the checksums S3 requires: newer botocore otherwise adds CRC32 trailers
        # (aws-chunked bodies) that several S3-compatible stores refuse.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return session.client(
        "s3",
        endpoint_url=endpoint,
        region_name=config.region or session.region_name or "us-east-1",
        aws_access_key_id=config.access_key_id,
        aws_secret_access_key=config.secret_access_key,
        aws_session_token=config.session_token,
        config=client_config,
    )


@functools.cache
def _session() -> boto3.session.Session:
    """One boto3 session per process: clients share its parsed service models.

    Credentials given in the settings go to each client; without them clients use the
    session's standard chain (environment, ~/.aws files, container or instance role).
    """
    return boto3.session.Session()


async def call(function: Callable[..., T], /, **kwargs: object) -> T:
    """Run one boto3 call in a worker thread; errors become :class:`StorageError`.

    A missing object raises :class:`StorageNotFound`.
    """
    try:
        return await anyio.to_thread.run_sync(lambda: function(**kwargs))
    except ClientError as exc:
        if error_code(exc) in _NOT_FOUND_CODES:
            raise StorageNotFound(str(kwargs.get("Key", ""))) from exc
        raise StorageError(f"S3 {error_code(exc)}: {exc}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"S3 unreachable: {exc}") from exc


async def in_thread(function: Callable[[], T]) -> T:
    """Run ``function`` (one that reads a response body) in a worker thread."""
    try:
        return await anyio.to_thread.run_sync(function)
    except BotoCoreError as exc:
        raise StorageError(f"S3 read failed: {exc}") from exc


def error_code(exc: ClientError) -> str:
    """The S3 error code (``NoSuchKey``, ``InvalidRange``, ...) or the HTTP status."""
    code = exc.response.get("Error", {}).get("Code")
    if code:
        return str(code)
    return str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def is_range_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or its cause) says a requested range lies beyond the object."""
    cause = exc.__cause__ if isinstance(exc, StorageError) else exc
    return isinstance(cause, ClientError) and error_code(cause) in _NO_RANGE_CODES
