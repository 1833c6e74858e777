"""A large blob streams through the server: its memory does not grow with the blob's size."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.backends import AppBackend
from tests.support.servers import LiveServer

MiB = 1 << 20
BLOB_SIZE = 512 * MiB
PATCHES = 8
#: Growth of the server's peak RSS allowed while it receives the blob (well under its size).
MAX_GROWTH = 150 * MiB
NO_AUTH = {"DOCKYARD_AUTH__ENABLED": "false"}

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc/<pid>/status"
)


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak RSS) of process ``pid``, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def blocks(count: int, first: int, hasher: hashlib._Hash) -> Iterator[bytes]:
    """``count`` distinct 1 MiB blocks, hashed as they are sent (never held together)."""
    base = bytes(range(256)) * (MiB // 256)
    for i in range(first, first + count):
        block = i.to_bytes(8, "big") + base[8:]
        hasher.update(block)
        yield block


def peak_growth(pid: int, before: dict[str, int]) -> int:
    """Bytes the peak RSS of ``pid`` rose above its RSS in ``before``."""
    return (memory_kib(pid)["VmHWM"] - before["VmRSS"]) * 1024


def warm_up(client: httpx.Client) -> None:
    """Exercise the request path (imports, pools, first upload) before a baseline."""
    warm = b"warm-up"
    response = client.post(
        "/v2/big/blob/blobs/uploads/",
        params={"digest": "sha256:" + hashlib.sha256(warm).hexdigest()},
        content=warm,
    )
    assert response.status_code == 201, response.text
    assert client.get("/v2/big/blob/blobs/sha256:" + hashlib.sha256(warm).hexdigest()).content


def test_large_chunked_upload_keeps_server_memory_bounded(
    tmp_path: Path, backend: AppBackend
) -> None:
    """512 MiB in chunked PATCHes; then, after a restart (no hash state), the PUT re-hashes
    the data from storage; then the blob is downloaded. None of it may buffer the blob."""
    data_dir = tmp_path / "data"
    env = {**backend.env(), **NO_AUTH}
    hasher = hashlib.sha256()
    per_patch = BLOB_SIZE // MiB // PATCHES
    growth: dict[str, int] = {}

    first = LiveServer(data_dir=data_dir, env=env).start()
    try:
        assert first.process is not None
        with httpx.Client(base_url=first.url, timeout=60) as client:
            warm_up(client)
            before = memory_kib(first.process.pid)
            response = client.post("/v2/big/blob/blobs/uploads/")
            assert response.status_code == 202, response.text
            location = response.headers["Location"]
            for i in range(PATCHES):
                response = client.patch(
                    location,
                    content=blocks(per_patch, i * per_patch, hasher),
                    headers={"Content-Type": "application/octet-stream"},
                )
                assert response.status_code == 202, response.text
                assert response.headers["Range"] == f"0-{(i + 1) * per_patch * MiB - 1}"
                location = response.headers["Location"]
            growth["receiving PATCHes"] = peak_growth(first.process.pid, before)
    finally:
        first.stop()

    digest = "sha256:" + hasher.hexdigest()
    second = LiveServer(data_dir=data_dir, env=env).start()
    try:
        assert second.process is not None
        with httpx.Client(base_url=second.url, timeout=60) as client:
            warm_up(client)
            before = memory_kib(second.process.pid)
            response = client.put(location, params={"digest": digest})
            assert response.status_code == 201, response.text
            growth["re-hashing at PUT"] = peak_growth(second.process.pid, before)

            head = client.head(f"/v2/big/blob/blobs/{digest}")
            assert head.status_code == 200, head.text
            assert int(head.headers["Content-Length"]) == BLOB_SIZE
            downloaded = hashlib.sha256()
            with client.stream("GET", f"/v2/big/blob/blobs/{digest}") as stream:
                assert stream.status_code == 200
                for chunk in stream.iter_bytes(MiB):
                    downloaded.update(chunk)
            assert "sha256:" + downloaded.hexdigest() == digest
            growth["sending the blob"] = peak_growth(second.process.pid, before)
    finally:
        second.stop()

    for stage, grown in growth.items():
        assert grown < MAX_GROWTH, (
            f"server peak RSS grew by {grown / MiB:.0f} MiB while {stage} "
            f"a {BLOB_SIZE / MiB:.0f} MiB blob"
        )
