"""Many clients at once against a live server: the same blob, the same tag."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.backends import AppBackend
from tests.support.servers import LiveServer

CLIENTS = 20
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
#: These tests are about storage and metadata races, not access control.
NO_AUTH = {"DOCKYARD_AUTH__ENABLED": "false"}


@pytest.fixture
def server(tmp_path: Path, backend: AppBackend) -> Iterator[LiveServer]:
    """A live server with its data in ``tmp_path / "data"``, on the run's backend."""
    live = LiveServer(data_dir=tmp_path / "data", env={**backend.env(), **NO_AUTH}).start()
    try:
        yield live
    finally:
        live.stop()


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def push_chunked(
    client: httpx.AsyncClient,
    name: str,
    data: bytes,
    start: asyncio.Event,
    before_put: asyncio.Barrier,
) -> httpx.Response:
    """POST, two PATCHes, then PUT ?digest=.

    Every client waits for ``start``, then for all the others before its PUT, so that the
    completions (storage rename, metadata insert) really race.
    """
    await start.wait()
    response = await client.post(f"/v2/{name}/blobs/uploads/")
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    half = len(data) // 2
    for offset, chunk in ((0, data[:half]), (half, data[half:])):
        response = await client.patch(
            location,
            content=chunk,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
            },
        )
        assert response.status_code == 202, response.text
        location = response.headers["Location"]
    await asyncio.wait_for(before_put.wait(), timeout=60)
    return await client.put(location, params={"digest": digest_of(data)})


def http_client(server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url,
        timeout=60,
        limits=httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS),
    )


@pytest.mark.parametrize("spread", ["same-repository", "one-repository-each"])
async def test_twenty_clients_push_the_same_blob(
    server: LiveServer, backend: AppBackend, spread: str
) -> None:
    data = bytes(range(256)) * (3 * 4096 + 7)  # ~3 MiB: long enough for the requests to overlap
    digest = digest_of(data)
    names = [
        "race/blob" if spread == "same-repository" else f"race/blob{i}" for i in range(CLIENTS)
    ]
    start = asyncio.Event()
    before_put = asyncio.Barrier(CLIENTS)
    async with http_client(server) as client:
        pushes = [
            asyncio.create_task(push_chunked(client, n, data, start, before_put)) for n in names
        ]
        await asyncio.sleep(0.05)
        start.set()
        responses = await asyncio.wait_for(asyncio.gather(*pushes), timeout=120)
        for response in responses:
            assert response.status_code == 201, response.text
            assert response.headers["Docker-Content-Digest"] == digest
        for name in set(names):
            fetched = await client.get(f"/v2/{name}/blobs/{digest}")
            assert fetched.status_code == 200, fetched.text
            assert fetched.headers["Docker-Content-Digest"] == digest
            assert digest_of(fetched.content) == digest

    encoded = digest.split(":", 1)[1]
    key = f"blobs/sha256/{encoded[:2]}/{encoded}/data"
    storage = backend.storage_driver(server.data_dir)
    try:
        assert sorted([k async for k in storage.list("blobs")]) == [key]
        assert await storage.get(key) == data
        uploads = [k async for k in storage.list("uploads")]
        assert uploads == [], "finished uploads left data behind"
    finally:
        await storage.close()


async def test_twenty_concurrent_manifest_puts_on_one_tag(server: LiveServer) -> None:
    name = "race/tag"
    config = b'{"architecture":"amd64","os":"linux"}'
    layer = b"one layer shared by every manifest"
    async with http_client(server) as client:
        for blob in (config, layer):
            response = await client.post(
                f"/v2/{name}/blobs/uploads/", params={"digest": digest_of(blob)}, content=blob
            )
            assert response.status_code == 201, response.text
        payloads = []
        for i in range(CLIENTS):
            doc = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": 37},
                "layers": [{"mediaType": OCI_LAYER, "digest": digest_of(layer), "size": 34}],
                "annotations": {"writer": str(i)},
            }
            payloads.append(json.dumps(doc).encode())
        assert len(config) == 37
        assert len(layer) == 34
        start = asyncio.Event()

        async def put(payload: bytes) -> httpx.Response:
            await start.wait()
            return await client.put(
                f"/v2/{name}/manifests/latest",
                content=payload,
                headers={"Content-Type": OCI_MANIFEST},
            )

        puts = [asyncio.create_task(put(p)) for p in payloads]
        await asyncio.sleep(0.05)
        start.set()
        responses = await asyncio.wait_for(asyncio.gather(*puts), timeout=120)
        digests = {digest_of(p): p for p in payloads}
        for payload, response in zip(payloads, responses, strict=True):
            assert response.status_code == 201, response.text
            assert response.headers["Docker-Content-Digest"] == digest_of(payload)

        tagged = await client.get(f"/v2/{name}/manifests/latest", headers={"Accept": OCI_MANIFEST})
        assert tagged.status_code == 200, tagged.text
        assert tagged.headers["Docker-Content-Digest"] in digests
        assert digest_of(tagged.content) == tagged.headers["Docker-Content-Digest"]
        assert tagged.content == digests[tagged.headers["Docker-Content-Digest"]]
        assert json.loads(tagged.content)["mediaType"] == OCI_MANIFEST

        listed = await client.get(f"/v2/{name}/tags/list")
        assert listed.status_code == 200, listed.text
        assert listed.json() == {"name": name, "tags": ["latest"]}
        for digest, payload in digests.items():
            by_digest = await client.get(
                f"/v2/{name}/manifests/{digest}", headers={"Accept": OCI_MANIFEST}
            )
            assert by_digest.status_code == 200, by_digest.text
            assert by_digest.content == payload
