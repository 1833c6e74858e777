"""Hashing a request body while it streams, off the event loop and overlapped with writing.

Chunks pass straight through to the storage driver; every ~1 MiB batch is hashed in a worker
thread (hashlib releases the GIL) while the next batch arrives. Batches are hashed strictly in
order: a new one starts only when the previous one is done.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable, AsyncIterator

BATCH_BYTES = 1 << 20


def _update(hasher: hashlib._Hash, parts: list[bytes]) -> None:
    for part in parts:
        hasher.update(part)


class HashingStream:
    """An async iterable over ``body`` that feeds ``hasher`` and counts what passed."""

    def __init__(self, body: AsyncIterable[bytes], hasher: hashlib._Hash | None) -> None:
        self.body = body
        self.hasher = hasher
        self.received = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        pending: asyncio.Future[None] | None = None
        batch: list[bytes] = []
        batch_bytes = 0
        async for chunk in self.body:
            self.received += len(chunk)
            yield chunk
            if self.hasher is None:
                continue
            batch.append(chunk)
            batch_bytes += len(chunk)
            if batch_bytes >= BATCH_BYTES:
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(None, _update, self.hasher, batch)
                batch, batch_bytes = [], 0
        if pending is not None:
            await pending
        if self.hasher is not None and batch:
            _update(self.hasher, batch)
