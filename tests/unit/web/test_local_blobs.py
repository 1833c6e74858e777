"""LocalBlobResponse: pieces read ahead by pread; pathsend when too many downloads read ahead."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from dockyard.registry.errors import BlobUnknown
from dockyard.web.v2 import local_blobs
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


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("extensions", [{}, {"http.response.pathsend": {}}])
async def test_a_whole_blob_goes_in_pieces_read_ahead(
    blob: tuple[Path, bytes], extensions: dict[str, Any]
) -> None:
    path, data = blob
    before = open_fds()
    response = LocalBlobResponse(path, offset=0, length=len(data), partial=False, headers={})
    sent = await run(response, extensions)
    assert sent[0]["status"] == 200
    assert dict(sent[0]["headers"])[b"content-length"] == str(len(data)).encode()
    assert body(sent) == data
    assert [len(m["body"]) for m in sent[1:]] == [READ_BYTES, READ_BYTES, 12345]
    assert [m["more_body"] for m in sent[1:]] == [True, True, False]
    assert local_blobs.READ_AHEAD.used == 0
    assert open_fds() == before


async def test_downloads_beyond_the_first_few_read_smaller_pieces(
    blob: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, data = blob
    slots = local_blobs._Slots(local_blobs.READ_AHEAD_SENDS)
    monkeypatch.setattr(local_blobs, "READ_AHEAD", slots)
    assert slots.take()  # another download already reads ahead
    response = LocalBlobResponse(path, offset=0, length=len(data), partial=False, headers={})
    sent = await run(response)
    shared = local_blobs.READ_BYTES_SHARED
    assert body(sent) == data
    assert {len(m["body"]) for m in sent[1:-1]} == {shared}
    assert len(sent[1:]) == -(-len(data) // shared)
    assert slots.used == 1


async def test_beyond_the_read_ahead_limit_a_whole_blob_goes_by_pathsend(
    blob: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, data = blob
    monkeypatch.setattr(local_blobs, "READ_AHEAD", local_blobs._Slots(0))
    response = LocalBlobResponse(path, offset=0, length=len(data), partial=False, headers={})
    sent = await run(response, {"http.response.pathsend": {}})
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    assert sent[1]["path"] == str(path)
    # Without pathsend the pieces are read one after the other instead.
    assert body(await run(response)) == data


async def test_a_client_gone_mid_blob_leaves_no_file_open(blob: tuple[Path, bytes]) -> None:
    path, data = blob
    before = open_fds()
    pieces: list[bytes] = []

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            pieces.append(message["body"])
            raise OSError("client went away")

    response = LocalBlobResponse(path, offset=0, length=len(data), partial=False, headers={})
    with pytest.raises(OSError, match="went away"):
        await response({"type": "http", "extensions": {}}, run_receive, send)
    assert pieces == [data[:READ_BYTES]]
    for _ in range(100):  # the abandoned read-ahead closes the file when it finishes
        if open_fds() == before:
            break
        await asyncio.sleep(0.01)
    assert open_fds() == before
    assert local_blobs.READ_AHEAD.used == 0


async def run_receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def test_a_blob_deleted_meanwhile_is_unknown_before_anything_is_sent(tmp_path: Path) -> None:
    response = LocalBlobResponse(tmp_path / "gone", offset=0, length=10, partial=True, headers={})
    with pytest.raises(BlobUnknown):
        await run(response)
