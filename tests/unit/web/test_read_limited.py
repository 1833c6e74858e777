"""Reading a manifest body: bounded, and done once the declared length has arrived."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request

from dockyard.web.v2.handlers import _read_limited


def request(chunks: list[bytes], *, length: int | None, then_wait: bool) -> Request:
    """A request whose body arrives in ``chunks``; ``then_wait``: the end never comes."""
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        if then_wait:
            await asyncio.Event().wait()
        return {"type": "http.request", "body": b"", "more_body": False}

    headers = [] if length is None else [(b"content-length", str(length).encode())]
    scope = {"type": "http", "method": "PUT", "headers": headers, "path": "/", "query_string": b""}
    return Request(scope, receive)


async def test_the_declared_length_ends_the_read() -> None:
    body = await asyncio.wait_for(
        _read_limited(request([b"{}", b"[1]"], length=5, then_wait=True), 100), 5
    )
    assert body == b"{}[1]"


async def test_a_chunked_body_is_read_to_its_end() -> None:
    assert (
        await _read_limited(request([b"ab", b"cd"], length=None, then_wait=False), 100) == b"abcd"
    )


async def test_a_body_over_the_limit_stops_the_read_early() -> None:
    body = await asyncio.wait_for(
        _read_limited(request([b"x" * 60, b"y" * 60], length=None, then_wait=True), 100), 5
    )
    assert len(body) == 120


async def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    assert len(await _read_limited(request([], length=1000, then_wait=True), 100)) == 101
