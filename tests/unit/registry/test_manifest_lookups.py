"""Manifest lookups: the cache, and concurrent misses sharing one database query."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dockyard.metadata.store import ManifestRecord
from dockyard.registry.cache import ManifestCache
from dockyard.registry.errors import ManifestUnknown
from dockyard.registry.manifests import ManifestService

DIGEST = "sha256:" + "a" * 64


def record(size: int = 2) -> ManifestRecord:
    return ManifestRecord(
        1, DIGEST, "application/vnd.oci.image.manifest.v1+json", size, b"{}", None, None
    )


class SlowStore:
    """Answers tag lookups after the test releases them, counting the queries."""

    def __init__(self, answer: ManifestRecord | None) -> None:
        self.answer = answer
        self.queries = 0
        self.release = asyncio.Event()
        self.asked = asyncio.Event()

    async def manifest_by_tag(self, name: str, tag: str) -> ManifestRecord | None:
        self.queries += 1
        self.asked.set()
        await self.release.wait()
        return self.answer

    async def manifest_by_digest(self, name: str, digest: str) -> ManifestRecord | None:
        return await self.manifest_by_tag(name, digest)


def service(store: Any, ttl: float = 60.0) -> ManifestService:
    return ManifestService(
        store, delete_enabled=True, max_manifest_bytes=4 << 20, max_page_size=100, cache_ttl=ttl
    )


async def test_concurrent_misses_share_one_query() -> None:
    store = SlowStore(record())
    manifests = service(store)
    waiting = [asyncio.create_task(manifests.get("a/b", "latest")) for _ in range(50)]
    await asyncio.sleep(0)
    store.release.set()
    found = await asyncio.gather(*waiting)
    assert store.queries == 1
    assert {f.digest for f in found} == {DIGEST}
    await manifests.get("a/b", "latest")  # now cached
    assert store.queries == 1


async def test_a_missing_manifest_fails_every_waiter_and_is_not_cached() -> None:
    store = SlowStore(None)
    manifests = service(store)
    waiting = [asyncio.create_task(manifests.get("a/b", "gone")) for _ in range(5)]
    await asyncio.sleep(0)
    store.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ManifestUnknown) for r in results)
    with pytest.raises(ManifestUnknown):
        await manifests.get("a/b", "gone")
    assert store.queries == 2


async def test_a_cancelled_waiter_does_not_cancel_the_shared_lookup() -> None:
    store = SlowStore(record())
    manifests = service(store)
    first = asyncio.create_task(manifests.get("a/b", "latest"))
    second = asyncio.create_task(manifests.get("a/b", "latest"))
    await asyncio.sleep(0)
    first.cancel()
    store.release.set()
    assert (await second).digest == DIGEST
    assert first.cancelled()
    assert store.queries == 1


async def test_a_lookup_overtaken_by_a_write_is_not_cached() -> None:
    store = SlowStore(record())
    manifests = service(store)
    lookup = asyncio.create_task(manifests.get("a/b", "latest"))
    await store.asked.wait()  # the query has begun
    manifests.cache.invalidate("a/b")  # a PUT to the repository committed meanwhile
    store.release.set()
    await lookup
    assert manifests.cache.get("a/b", "latest") is None


def test_cache_entries_expire_and_writes_invalidate() -> None:
    cache = ManifestCache(ttl=60.0)
    cache.put("a/b", "v1", record())
    cache.put("c/d", "v1", record())
    assert cache.get("a/b", "v1") is not None
    cache.invalidate("a/b")
    assert cache.get("a/b", "v1") is None
    assert cache.get("c/d", "v1") is not None
    expired = ManifestCache(ttl=-1.0)
    expired.put("a/b", "v1", record())
    assert expired.get("a/b", "v1") is None


def test_cache_keeps_to_its_byte_budget() -> None:
    cache = ManifestCache(ttl=60.0, max_bytes=1600)
    for number in range(20):
        cache.put("a/b", f"t{number}", record(size=100))
    kept = [n for n in range(20) if cache.get("a/b", f"t{n}") is not None]
    assert kept == list(range(4, 20))
