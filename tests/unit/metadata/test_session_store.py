"""Signed-in web sessions in the database, on SQLite and on PostgreSQL: starting, finding,
touching at most once a minute, listing, ending one or all others, the password change that
ends them, expiry and the bounded purge, the per-user cap, and what goes with the user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from dockyard.metadata import session_store
from dockyard.metadata.db import Database
from dockyard.metadata.hub_store import HubStore, UserRecord
from dockyard.metadata.hub_tables import users, web_sessions
from dockyard.metadata.session_store import WebSessionStore
from dockyard.metadata.store import utcnow

DAY = timedelta(days=1)


@pytest.fixture
def store(db: Database) -> WebSessionStore:
    return WebSessionStore(db)


async def user(hub: HubStore, name: str) -> UserRecord:
    return await hub.create_user(name, f"{name}@example.com", "x")


async def count(db: Database) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(web_sessions)) or 0)


def sid(n: int) -> str:
    return f"{n:064x}"


async def test_create_get_and_list(hub: HubStore, store: WebSessionStore) -> None:
    alice, bob = await user(hub, "alice"), await user(hub, "bob1")
    now = utcnow()
    made = await store.create(
        sid(1), alice.id, lifetime=14 * DAY, user_agent="Firefox/1", ip="10.0.0.1", now=now
    )
    assert made.expires_at == now + 14 * DAY
    found = await store.get(sid(1))
    assert found is not None
    assert (found.user_id, found.user_agent, found.ip) == (alice.id, "Firefox/1", "10.0.0.1")
    assert abs(found.created_at - now) < timedelta(seconds=1)
    assert found.last_seen_at == found.created_at
    assert abs(found.expires_at - (now + 14 * DAY)) < timedelta(seconds=1)
    assert await store.get(sid(2)) is None
    await store.create(sid(2), alice.id, lifetime=DAY, now=now + timedelta(minutes=5))
    await store.create(sid(3), bob.id, lifetime=DAY)
    listed = await store.list_for_user(alice.id, now=now + timedelta(minutes=6))
    assert [s.id for s in listed] == [sid(2), sid(1)]  # most recently seen first
    assert [s.id for s in await store.list_for_user(bob.id)] == [sid(3)]


async def test_long_user_agents_are_cut_and_nul_replaced(
    hub: HubStore, store: WebSessionStore
) -> None:
    alice = await user(hub, "alice")
    await store.create(sid(1), alice.id, lifetime=DAY, user_agent="a\x00" + "x" * 1000, ip="::1")
    found = await store.get(sid(1))
    assert found is not None
    assert len(found.user_agent) == session_store.USER_AGENT_LENGTH
    assert found.user_agent.startswith("a\ufffdxx")


async def test_touch_writes_at_most_once_a_minute(hub: HubStore, store: WebSessionStore) -> None:
    alice = await user(hub, "alice")
    start = utcnow()
    await store.create(sid(1), alice.id, lifetime=DAY, ip="10.0.0.1", now=start)
    assert not await store.touch(sid(1), "10.0.0.2", now=start + timedelta(seconds=30))
    found = await store.get(sid(1))
    assert found is not None
    assert found.ip == "10.0.0.1"
    later = start + timedelta(seconds=61)
    assert await store.touch(sid(1), "10.0.0.2", now=later)
    found = await store.get(sid(1))
    assert found is not None
    assert (found.ip, abs(found.last_seen_at - later) < timedelta(seconds=1)) == ("10.0.0.2", True)
    assert not await store.touch(sid(1), "10.0.0.3", now=later + timedelta(seconds=10))
    assert not await store.touch(sid(9), "10.0.0.3", now=later + timedelta(hours=1))


async def test_expired_sessions_are_not_found(hub: HubStore, store: WebSessionStore) -> None:
    alice = await user(hub, "alice")
    start = utcnow()
    await store.create(sid(1), alice.id, lifetime=timedelta(hours=1), now=start)
    assert await store.get(sid(1), now=start + timedelta(minutes=59)) is not None
    assert await store.get(sid(1), now=start + timedelta(hours=1)) is None
    assert await store.list_for_user(alice.id, now=start + timedelta(hours=2)) == []


async def test_delete_only_the_owners_session(hub: HubStore, store: WebSessionStore) -> None:
    alice, bob = await user(hub, "alice"), await user(hub, "bob1")
    await store.create(sid(1), alice.id, lifetime=DAY)
    assert not await store.delete(sid(1), bob.id)
    assert await store.get(sid(1)) is not None
    assert await store.delete(sid(1), alice.id)
    assert not await store.delete(sid(1), alice.id)
    await store.create(sid(2), alice.id, lifetime=DAY)
    assert await store.delete(sid(2))
    assert await store.get(sid(2)) is None


async def test_delete_every_other_session(hub: HubStore, store: WebSessionStore) -> None:
    alice, bob = await user(hub, "alice"), await user(hub, "bob1")
    for n in (1, 2, 3):
        await store.create(sid(n), alice.id, lifetime=DAY)
    await store.create(sid(4), bob.id, lifetime=DAY)
    assert await store.delete_for_user(alice.id, keep=sid(2)) == 2
    assert [s.id for s in await store.list_for_user(alice.id)] == [sid(2)]
    assert await store.delete_for_user(alice.id) == 1
    assert await store.list_for_user(alice.id) == []
    assert [s.id for s in await store.list_for_user(bob.id)] == [sid(4)]


async def test_password_change_ends_the_other_sessions_with_it(
    hub: HubStore, store: WebSessionStore
) -> None:
    alice, bob = await user(hub, "alice"), await user(hub, "bob1")
    for n in (1, 2):
        await store.create(sid(n), alice.id, lifetime=DAY)
    await store.create(sid(3), bob.id, lifetime=DAY)
    assert await store.change_password(alice.id, "new hash", keep=sid(1)) == 1
    changed = await hub.user_by_id(alice.id)
    assert changed is not None
    assert changed.password_hash == "new hash"
    assert [s.id for s in await store.list_for_user(alice.id)] == [sid(1)]
    assert await store.change_password(alice.id, "newer hash") == 1
    assert await store.list_for_user(alice.id) == []
    assert [s.id for s in await store.list_for_user(bob.id)] == [sid(3)]


async def test_purge_is_bounded_and_runs_on_sign_in(
    db: Database, hub: HubStore, store: WebSessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await user(hub, "alice")
    past = utcnow() - 3 * DAY
    monkeypatch.setattr(session_store, "PURGE_BATCH", 0)
    for n in range(5):
        await store.create(sid(n), alice.id, lifetime=DAY, now=past)
    await store.create(sid(10), alice.id, lifetime=DAY)
    assert await count(db) == 6
    assert await store.purge_expired(limit=2) == 2
    assert await count(db) == 4
    monkeypatch.setattr(session_store, "PURGE_BATCH", 2)
    await store.create(sid(11), alice.id, lifetime=DAY)  # signing in deletes a batch
    assert await count(db) == 3
    assert await store.purge_expired() == 1
    assert {s.id for s in await store.list_for_user(alice.id)} == {sid(10), sid(11)}
    assert await store.purge_expired() == 0


async def test_a_user_keeps_at_most_the_cap(
    hub: HubStore, store: WebSessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_store, "MAX_PER_USER", 3)
    alice, bob = await user(hub, "alice"), await user(hub, "bob1")
    start = utcnow()
    await store.create(sid(99), bob.id, lifetime=DAY, now=start)
    for n in range(5):
        await store.create(sid(n), alice.id, lifetime=DAY, now=start + timedelta(minutes=n))
    assert {s.id for s in await store.list_for_user(alice.id, now=start)} == {
        sid(2),
        sid(3),
        sid(4),
    }
    assert [s.id for s in await store.list_for_user(bob.id, now=start)] == [sid(99)]


async def test_sessions_go_with_their_user(
    db: Database, hub: HubStore, store: WebSessionStore
) -> None:
    alice, bob = await user(hub, "alice"), await user(hub, "bob1")
    await store.create(sid(1), alice.id, lifetime=DAY)
    await store.create(sid(2), bob.id, lifetime=DAY)
    async with db.write() as conn:
        await conn.execute(delete(users).where(users.c.id == alice.id))
    assert await store.get(sid(1)) is None
    assert await count(db) == 1
