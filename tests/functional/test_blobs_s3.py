"""Blob downloads on the S3 driver: streamed through Dockyard, or a 307 to a presigned URL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from tests.support.oci import push_blob
from tests.support.s3 import MotoServer

DATA = bytes(range(256)) * 64 + b"end of the blob"


def _client(settings: Settings, moto_server: MotoServer, **s3: object) -> TestClient:
    storage = Settings(storage=moto_server.storage_settings(**s3)).storage
    return TestClient(create_app(settings.model_copy(update={"storage": storage})))


@pytest.fixture
def streaming(settings: Settings, moto_server: MotoServer) -> Iterator[TestClient]:
    with _client(settings, moto_server) as test_client:
        yield test_client


@pytest.fixture
def redirecting(settings: Settings, moto_server: MotoServer) -> Iterator[TestClient]:
    with _client(settings, moto_server, redirect=True, presign_expiry=120) as test_client:
        yield test_client


def test_blob_is_streamed_with_ranges(streaming: TestClient) -> None:
    digest = push_blob(streaming, "lib/s3blob", DATA)
    whole = streaming.get(f"/v2/lib/s3blob/blobs/{digest}")
    assert whole.status_code == 200
    assert whole.content == DATA
    assert whole.headers["docker-content-digest"] == digest
    part = streaming.get(f"/v2/lib/s3blob/blobs/{digest}", headers={"Range": "bytes=100-4099"})
    assert part.status_code == 206
    assert part.content == DATA[100:4100]
    assert part.headers["content-range"] == f"bytes 100-4099/{len(DATA)}"


def test_get_redirects_to_a_presigned_url(redirecting: TestClient) -> None:
    digest = push_blob(redirecting, "lib/s3blob", DATA)
    response = redirecting.get(f"/v2/lib/s3blob/blobs/{digest}", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["etag"] == f'"{digest}"'
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-length"] == "0"
    location = response.headers["location"]
    assert location.startswith("http://127.0.0.1:")
    assert "X-Amz-Expires=120" in location
    fetched = httpx.get(location)
    assert fetched.status_code == 200
    assert fetched.content == DATA
    ranged = httpx.get(location, headers={"Range": "bytes=-15"})
    assert ranged.status_code == 206
    assert ranged.content == b"end of the blob"


def test_head_is_answered_without_a_redirect(redirecting: TestClient) -> None:
    digest = push_blob(redirecting, "lib/s3blob", DATA)
    response = redirecting.head(f"/v2/lib/s3blob/blobs/{digest}")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["docker-content-digest"] == digest


def test_unknown_blob_is_not_redirected(redirecting: TestClient) -> None:
    missing = "sha256:" + "0" * 64
    response = redirecting.get(f"/v2/lib/s3blob/blobs/{missing}", follow_redirects=False)
    assert response.status_code == 404
