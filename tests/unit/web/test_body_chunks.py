"""Streaming a request body: in order, the next message asked for before a chunk is handed on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import ClientDisconnect, Request

from dockyard.web.v2.requests import body_chunks

SCOPE = {"type": "http", "method": "PATCH", "headers": [], "path": "/", "query_string": b""}


class Receiver:
    """Hands out ``messages`` one per call and records how many calls were made."""

    def __init__(self, messages: list[dict[str, Any]], *, then_wait: bool = False) -> None:
        self.messages = messages
        self.then_wait = then_wait
        self.calls = 0
        self.cancelled = False

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.messages:
            return self.messages.pop(0)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("unreachable")


def body(*chunks: bytes) -> list[dict[str, Any]]:
    last = len(chunks) - 1
    return [
        {"type": "http.request", "body": chunk, "more_body": index < last}
        for index, chunk in enumerate(chunks)
    ]


async def test_chunks_arrive_in_order_without_empty_ones() -> None:
    receiver = Receiver(body(b"a", b"", b"bc", b"d", b""))
    got = [chunk async for chunk in body_chunks(Request(SCOPE, receiver))]
    assert got == [b"a", b"bc", b"d"]
    assert receiver.calls == 5


async def test_the_next_message_is_asked_for_before_a_chunk_is_handed_on() -> None:
    receiver = Receiver(body(b"a", b"b", b"c"))
    chunks = body_chunks(Request(SCOPE, receiver))
    assert await anext(chunks) == b"a"
    await asyncio.sleep(0)  # the prefetch task runs
    assert receiver.calls == 2
    assert await anext(chunks) == b"b"
    assert [chunk async for chunk in chunks] == [b"c"]
    assert receiver.calls == 3  # nothing asked for after the last message


async def test_a_disconnect_raises() -> None:
    receiver = Receiver([*body(b"a", b"b")[:1], {"type": "http.disconnect"}])
    chunks = body_chunks(Request(SCOPE, receiver))
    assert await anext(chunks) == b"a"
    with pytest.raises(ClientDisconnect):
        await anext(chunks)


async def test_stopping_early_cancels_the_message_asked_for() -> None:
    receiver = Receiver([{"type": "http.request", "body": b"a", "more_body": True}])
    chunks = body_chunks(Request(SCOPE, receiver))
    assert await anext(chunks) == b"a"
    await asyncio.sleep(0)
    await chunks.aclose()
    await asyncio.sleep(0)
    assert receiver.cancelled
