"""The smallest round trip: API version check and a monolithic blob upload."""

from __future__ import annotations

import hashlib

from starlette.testclient import TestClient


def test_base_endpoint_reports_api_version(client: TestClient) -> None:
    response = client.get("/v2/")
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert response.json() == {}


def test_monolithic_upload_then_get(client: TestClient) -> None:
    data = b"hello registry"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    response = client.post(f"/v2/demo/app/blobs/uploads/?digest={digest}", content=data)
    assert response.status_code == 201
    assert response.headers["Location"] == f"/v2/demo/app/blobs/{digest}"
    assert response.headers["Docker-Content-Digest"] == digest
    fetched = client.get(f"/v2/demo/app/blobs/{digest}")
    assert fetched.status_code == 200
    assert fetched.content == data
    assert fetched.headers["Docker-Content-Digest"] == digest
