"""A local S3 endpoint for tests: ``moto_server`` (PyPI ``moto[server]``) on 127.0.0.1.

Tests talk to it over real HTTP with boto3, exactly as to MinIO or AWS; each test gets its own
bucket so tests never see each other's objects.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from dockyard.storage.s3 import S3Config
from dockyard.storage.s3_client import make_client
from tests.support.servers import free_port

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

#: Credentials moto accepts (any non-empty pair); never real ones.
ACCESS_KEY = "dockyard-test"
SECRET_KEY = "dockyard-test-secret"
REGION = "us-east-1"


def moto_available() -> bool:
    """True when ``moto[server]`` is installed (its server needs flask)."""
    return all(importlib.util.find_spec(name) is not None for name in ("moto", "flask"))


@dataclass
class MotoServer:
    """One ``moto_server`` process; :meth:`new_bucket` hands out empty buckets."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="dky-moto-")) / "moto.log"
    )
    #: One client for making and removing buckets (building a boto3 client takes ~0.1 s).
    _admin: S3Client | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoServer:
        """Start the server and wait until it answers."""
        log = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{self.url}/moto-api/", timeout=1)
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        """Stop the server (its own process group) by PID."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def config(self, bucket: str, **overrides: object) -> S3Config:
        """Driver settings for ``bucket`` on this server."""
        values: dict[str, object] = {
            "bucket": bucket,
            "endpoint_url": self.url,
            "region": REGION,
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            "addressing_style": "path",
            **overrides,
        }
        return S3Config(**values)  # type: ignore[arg-type]

    def storage_settings(self, **s3: object) -> dict[str, object]:
        """``storage`` settings of an app on a fresh bucket here (``s3``: more S3 settings)."""
        config = self.config(self.new_bucket())
        return {
            "driver": "s3",
            "s3": {
                "bucket": config.bucket,
                "endpoint_url": config.endpoint_url,
                "region": config.region,
                "access_key_id": config.access_key_id,
                "secret_access_key": config.secret_access_key,
                "addressing_style": config.addressing_style,
                **s3,
            },
        }

    def admin(self) -> S3Client:
        """The client that makes and removes buckets (shared: boto3 clients are thread-safe)."""
        if self._admin is None:
            self._admin = make_client(self.config("dky-admin"))
        return self._admin

    def delete_bucket(self, name: str) -> None:
        """Delete ``name`` with every object and unfinished multipart upload in it.

        moto keeps objects for as long as it runs (small ones in memory): a session of many
        tests must not pile up every test's blobs.
        """
        client = self.admin()
        uploads = client.list_multipart_uploads(Bucket=name).get("Uploads", [])
        for upload in uploads:
            client.abort_multipart_upload(
                Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        client.delete_bucket(Bucket=name)

    def new_bucket(self) -> str:
        """Create an empty bucket with a fresh name."""
        name = f"dky-{uuid.uuid4().hex[:20]}"
        self.admin().create_bucket(Bucket=name)
        return name
