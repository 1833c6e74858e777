"""LocalBlobResponse: ranges by pread, whole blobs by pathsend when the server offers it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from dockyard.registry.errors import BlobUnknown
from dockyard.web.v2.local_blobs import READ_BYTES, LocalBlobResponse


async def run(response: LocalBlobResponse, extensions: dict[str, Any] | None = None) -> list[Any]:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "extensions": extensions or {}}
    await response(scope, receive, send)
    return sent


def body(messages: list[Any]) -> bytes:
    return b"".join(m["body"] for m in messages if m["type"] == "http.response.body")


@pytest.fixture
def blob(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(READ_BYTES * 2 + 12345)
    path = tmp_path / "data"
    path.write_bytes(data)
    return path, data


async def test_a_range_is_read_and_sent_with_its_headers(blob: tuple[Path, bytes]) -> None:
    path, data = blob
    response = LocalBlobResponse(
        path, offset=100, length=5000, partial=True, headers={"Content-Range": "bytes 100-5099/x"}
    )
    sent = await run(response, {"http.response.pathsend": {}})
    start = sent[0]
    assert start["status"] == 206
    headers = dict(start["headers"])
    assert headers[b"content-length"] == b"5000"
    assert headers[b"content-range"] == b"bytes 100-5099/x"
    assert body(sent) == data[100:5100]
    assert sent[-1]["more_body"] is False


async def test_a_whole_blob_without_pathsend_goes_in_pieces(blob: tuple[Path, bytes]) -> None:
    path, data = blob
    response = LocalBlobResponse(path, offset=0, length=len(data), partial=False, headers={})
    sent = await run(response)
    assert sent[0]["status"] == 200
    assert body(sent) == data
    assert len([m for m in sent if m["type"] == "http.response.body"]) == 3
    assert sent[-1]["more_body"] is False


async def test_a_whole_blob_goes_by_pathsend_when_offered(blob: tuple[Path, bytes]) -> None:
    path, data = blob
    response = LocalBlobResponse(path, offset=0, length=len(data), partial=False, headers={})
    sent = await run(response, {"http.response.pathsend": {}})
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    assert sent[1]["path"] == str(path)
    assert dict(sent[0]["headers"])[b"content-length"] == str(len(data)).encode()


async def test_a_blob_deleted_meanwhile_is_unknown_before_anything_is_sent(tmp_path: Path) -> None:
    response = LocalBlobResponse(tmp_path / "gone", offset=0, length=10, partial=True, headers={})
    with pytest.raises(BlobUnknown):
        await run(response)
