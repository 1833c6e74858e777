"""WebhookStore queries and the outbox claim, on SQLite and PostgreSQL (``database_url``)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from dockyard.metadata.db import Database
from dockyard.metadata.hub_store import RepositoryStore
from dockyard.metadata.hub_tables import webhook_deliveries
from dockyard.metadata.store import aware_utc, utcnow
from dockyard.metadata.webhook_store import NewDelivery, WebhookRecord, WebhookStore

LEASE = timedelta(seconds=60)


@pytest.fixture
def store(db: Database) -> WebhookStore:
    """The store under test."""
    return WebhookStore(db)


async def make_hook(
    db: Database, store: WebhookStore, repo: str = "alice/app", events: tuple[str, ...] = ("push",)
) -> WebhookRecord:
    """A repository (created if missing) with one webhook."""
    repositories = RepositoryStore(db)
    record = await repositories.get(repo)
    if record is None:
        record = await repositories.create(
            repo, is_private=False, description="d", full_description="f"
        )
    return await store.create(
        record.id,
        name=f"hook-{uuid.uuid4().hex[:6]}",
        url="http://127.0.0.1:9/hook",
        secret="s" * 32,
        events=events,
        created_by="alice",
    )


async def enqueue(store: WebhookStore, hook_id: int, count: int = 1) -> list[str]:
    """``count`` pending deliveries to ``hook_id``; their ids."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    await store.add_deliveries([NewDelivery(i, hook_id, "push", '{"n":1}') for i in ids])
    return ids


async def test_webhook_crud(db: Database, store: WebhookStore) -> None:
    hook = await make_hook(db, store, events=("push", "tag_delete"))
    assert hook.repository == "alice/app"
    assert hook.events == ("push", "tag_delete")
    assert hook.is_active
    assert (await store.get(hook.id)) == hook
    await store.update(hook.id, name="renamed", events=["tag_delete"], url="https://example.test/")
    changed = await store.get(hook.id)
    assert changed is not None
    assert (changed.name, changed.events, changed.url) == (
        "renamed",
        ("tag_delete",),
        "https://example.test/",
    )
    assert [h.id for h in await store.of_repository(hook.repository_id)] == [hook.id]
    await enqueue(store, hook.id)
    assert await store.delete(hook.id)
    assert await store.get(hook.id) is None
    assert await store.deliveries(hook.id, offset=0, limit=10) == (0, [])
    assert not await store.delete(hook.id)


async def test_targets_filter_by_event_and_activity(db: Database, store: WebhookStore) -> None:
    push = await make_hook(db, store, events=("push",))
    both = await make_hook(db, store, events=("push", "tag_delete"))
    inactive = await make_hook(db, store, events=("push",))
    await store.update(inactive.id, is_active=False)
    await make_hook(db, store, repo="bob/other", events=("push",))
    repo, ids = await store.targets("alice/app", "push")
    assert repo is not None
    assert repo.name == "alice/app"
    assert (repo.namespace, repo.description, repo.full_description) == ("alice", "d", "f")
    assert ids == [push.id, both.id]
    assert (await store.targets("alice/app", "tag_delete"))[1] == [both.id]
    assert await store.targets("carol/none", "push") == (None, [])


async def test_history_is_paged_newest_first(db: Database, store: WebhookStore) -> None:
    hook = await make_hook(db, store)
    ids = []
    for _ in range(3):
        ids += await enqueue(store, hook.id)
        await asyncio.sleep(0.01)
    total, page = await store.deliveries(hook.id, offset=0, limit=2)
    assert total == 3
    assert [d.id for d in page] == [ids[2], ids[1]]
    assert [d.id for d in (await store.deliveries(hook.id, offset=2, limit=2))[1]] == [ids[0]]
    one = await store.delivery(hook.id, ids[0])
    assert one is not None
    assert (one.status, one.attempts, one.payload) == ("pending", 0, '{"n":1}')


async def test_claim_takes_due_rows_once_and_leases_them(db: Database, store: WebhookStore) -> None:
    hook = await make_hook(db, store)
    ids = await enqueue(store, hook.id, 3)
    claimed = await store.claim(limit=2, lease=LEASE)
    assert len(claimed) == 2
    assert all(c.attempts == 1 and c.secret == "s" * 32 for c in claimed)
    assert claimed[0].url == "http://127.0.0.1:9/hook"
    rest = await store.claim(limit=10, lease=LEASE)
    assert len(rest) == 1
    assert {c.id for c in claimed + rest} == set(ids)
    # Leased: nothing is due until the lease runs out.
    assert await store.claim(limit=10, lease=LEASE) == []
    row = await store.delivery(hook.id, rest[0].id)
    assert row is not None
    assert row.status == "pending"
    assert row.next_attempt_at > utcnow() + timedelta(seconds=50)


async def test_expired_lease_is_claimed_again(db: Database, store: WebhookStore) -> None:
    hook = await make_hook(db, store)
    [delivery_id] = await enqueue(store, hook.id)
    [first] = await store.claim(limit=1, lease=timedelta(seconds=-1))  # a node that died
    [second] = await store.claim(limit=1, lease=LEASE)
    assert (first.id, second.id) == (delivery_id, delivery_id)
    assert second.attempts == 2
    # The first node's late answer must not overwrite the newer claim's result.
    assert not await store.finish(delivery_id, first.attempts, delivered=True, response_code=200)
    assert await store.finish(delivery_id, second.attempts, delivered=True, response_code=204)
    row = await store.delivery(hook.id, delivery_id)
    assert row is not None
    assert (row.status, row.response_code, row.attempts) == ("delivered", 204, 2)
    assert row.delivered_at is not None


async def test_finish_retry_and_give_up(db: Database, store: WebhookStore) -> None:
    hook = await make_hook(db, store)
    [delivery_id] = await enqueue(store, hook.id)
    [claim] = await store.claim(limit=1, lease=LEASE)
    retry_at = utcnow() - timedelta(seconds=1)
    assert await store.finish(
        delivery_id,
        claim.attempts,
        delivered=False,
        response_code=500,
        error="HTTP 500",
        retry_at=retry_at,
    )
    row = await store.delivery(hook.id, delivery_id)
    assert row is not None
    assert (row.status, row.response_code, row.error) == ("pending", 500, "HTTP 500")
    [again] = await store.claim(limit=1, lease=LEASE)
    assert again.attempts == 2
    assert await store.finish(
        delivery_id, again.attempts, delivered=False, response_code=None, error="refused"
    )
    row = await store.delivery(hook.id, delivery_id)
    assert row is not None
    assert (row.status, row.attempts, row.response_code, row.error) == (
        "failed",
        2,
        None,
        "refused",
    )
    assert await store.claim(limit=1, lease=LEASE) == []


async def test_deactivation_gives_up_pending(db: Database, store: WebhookStore) -> None:
    hook = await make_hook(db, store)
    [delivery_id] = await enqueue(store, hook.id)
    await store.update(hook.id, is_active=False)
    assert await store.claim(limit=5, lease=LEASE) == []
    row = await store.delivery(hook.id, delivery_id)
    assert row is not None
    assert row.status == "failed"


async def test_prune_keeps_pending(db: Database, store: WebhookStore) -> None:
    hook = await make_hook(db, store)
    done, pending = await enqueue(store, hook.id, 2)
    [claim] = [c for c in await store.claim(limit=5, lease=LEASE) if c.id == done]
    await store.finish(done, claim.attempts, delivered=True, response_code=200)
    assert await store.prune(utcnow() + timedelta(seconds=1)) == 1
    total, rows = await store.deliveries(hook.id, offset=0, limit=10)
    assert [r.id for r in rows] == [pending]
    assert total == 1


async def test_concurrent_claims_never_share_a_delivery(
    database_url: str, db: Database, store: WebhookStore
) -> None:
    """Several "nodes" (own engines) claiming at once get disjoint sets covering every row."""
    hook = await make_hook(db, store)
    ids = await enqueue(store, hook.id, 40)
    nodes = [Database(database_url) for _ in range(4)]
    try:

        async def drain(node: Database) -> list[str]:
            got: list[str] = []
            node_store = WebhookStore(node)
            while batch := await node_store.claim(limit=3, lease=LEASE):
                got += [c.id for c in batch]
            return got

        results = await asyncio.gather(*(drain(node) for node in nodes))
    finally:
        for node in nodes:
            await node.close()
    claimed = [i for result in results for i in result]
    assert sorted(claimed) == sorted(ids)  # each exactly once


@pytest.mark.postgres
async def test_postgres_claim_skips_rows_locked_by_another_node(
    postgres_database_url: str,
) -> None:
    db, other = Database(postgres_database_url), Database(postgres_database_url)
    store = WebhookStore(db)
    try:
        hook = await make_hook(db, store)
        locked, free = await enqueue(store, hook.id, 2)
        async with other.write() as conn:
            # Another node is in the middle of claiming ``locked``: its row is locked.
            await conn.execute(
                select(webhook_deliveries.c.id)
                .where(webhook_deliveries.c.id == locked)
                .with_for_update()
            )
            claimed = await asyncio.wait_for(store.claim(limit=5, lease=LEASE), 10)
            assert [c.id for c in claimed] == [free]
            await conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == locked)
                .values(next_attempt_at=utcnow() + LEASE, attempts=1)
            )
        assert await store.claim(limit=5, lease=LEASE) == []
        row = await store.delivery(hook.id, locked)
        assert row is not None
        assert aware_utc(row.next_attempt_at) > utcnow()
    finally:
        await other.close()
        await db.close()
