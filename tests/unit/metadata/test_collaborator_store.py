"""Collaborators of personal repositories in the database, on SQLite and on PostgreSQL: the rows,
what the permission policy reads, what lists show, and what goes with a repository."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from dockyard.metadata.collaborator_store import CollaboratorStore
from dockyard.metadata.db import Database
from dockyard.metadata.hub_catalog import CatalogStore, Viewer
from dockyard.metadata.hub_store import HubStore, RepositoryStore, UserRecord
from dockyard.metadata.hub_tables import repository_collaborators, users
from dockyard.metadata.tables import repositories


@pytest.fixture
def store(db: Database) -> CollaboratorStore:
    return CollaboratorStore(db)


@pytest.fixture
def catalog(db: Database, hub: HubStore) -> CatalogStore:
    return CatalogStore(db, hub)


async def user(hub: HubStore, name: str) -> UserRecord:
    return await hub.create_user(name, f"{name}@example.com", "x")


async def repo(db: Database, name: str, *, private: bool = True) -> int:
    record = await RepositoryStore(db).create(
        name, is_private=private, description="", full_description=""
    )
    return record.id


async def rows(db: Database) -> int:
    async with db.read() as conn:
        stmt = select(func.count()).select_from(repository_collaborators)
        return int(await conn.scalar(stmt) or 0)


async def test_add_change_list_and_remove(
    db: Database, hub: HubStore, store: CollaboratorStore
) -> None:
    await user(hub, "alice")
    bob, zed, carl = await user(hub, "bob1"), await user(hub, "zed1"), await user(hub, "carl")
    app = await repo(db, "alice/app")
    assert await store.of_repository(app) == []
    assert await store.add(app, zed.id, "read")
    assert await store.add(app, bob.id, "write")
    assert not await store.add(app, bob.id, "admin")  # once only; the permission stays
    listed = await store.of_repository(app)
    assert [(c.username, c.permission) for c in listed] == [("bob1", "write"), ("zed1", "read")]
    assert all(c.created_at is not None for c in listed)
    one = await store.get(app, bob.id)
    assert one is not None
    assert (one.username, one.permission) == ("bob1", "write")
    assert await store.get(app, carl.id) is None
    assert await store.set_permission(app, bob.id, "admin")
    assert not await store.set_permission(app, carl.id, "admin")
    assert (await store.get(app, bob.id)).permission == "admin"  # type: ignore[union-attr]
    assert await store.remove(app, zed.id)
    assert not await store.remove(app, zed.id)
    assert [c.username for c in await store.of_repository(app)] == ["bob1"]


async def test_what_the_policy_reads(
    db: Database, hub: HubStore, store: CollaboratorStore, catalog: CatalogStore
) -> None:
    alice, bob, carl = await user(hub, "alice"), await user(hub, "bob1"), await user(hub, "carl")
    app = await repo(db, "alice/app")
    await repo(db, "alice/other")
    await store.add(app, bob.id, "write")
    access = await hub.repository_access("alice/app", bob.id)
    assert access.collaborator_permission == "write"
    assert access.namespace_kind == "user"
    assert (await hub.repository_access("alice/other", bob.id)).collaborator_permission is None
    assert (await hub.repository_access("alice/app", carl.id)).collaborator_permission is None
    assert (await hub.repository_access("alice/app", None)).collaborator_permission is None
    assert (await hub.repository_access("alice/app", alice.id)).collaborator_permission is None
    # the bulk query of listings says the same as the one-repository query
    names = ["alice/app", "alice/other", "alice/none"]
    for viewer in (bob.id, carl.id, alice.id, None):
        bulk = await catalog.access_rows(names, viewer)
        for name in names:
            assert bulk[name] == await hub.repository_access(name, viewer), (viewer, name)


async def test_collaborator_rows_count_only_in_user_namespaces(
    db: Database, hub: HubStore, store: CollaboratorStore, catalog: CatalogStore
) -> None:
    olga, bob = await user(hub, "olga"), await user(hub, "bob1")
    await hub.create_organization("acme", olga.id)
    tool = await repo(db, "acme/tool")
    await store.add(tool, bob.id, "admin")  # the Hub service never does this
    assert (await hub.repository_access("acme/tool", bob.id)).collaborator_permission is None
    bulk = await catalog.access_rows(["acme/tool"], bob.id)
    assert bulk["acme/tool"].collaborator_permission is None


async def test_private_repositories_are_readable_by_their_collaborators(
    db: Database, hub: HubStore, store: CollaboratorStore, catalog: CatalogStore
) -> None:
    alice, bob, carl = await user(hub, "alice"), await user(hub, "bob1"), await user(hub, "carl")
    app = await repo(db, "alice/app")
    await repo(db, "alice/diary")
    await repo(db, "alice/open", private=False)
    await store.add(app, bob.id, "read")

    async def listed(viewer: Viewer) -> list[str]:
        total, records = await catalog.list_namespace("alice", viewer)
        assert total == len(records)
        return [r.name for r in records]

    assert await listed(Viewer(bob.id)) == ["alice/app", "alice/open"]
    assert await listed(Viewer(carl.id)) == ["alice/open"]
    assert await listed(Viewer(alice.id)) == ["alice/app", "alice/diary", "alice/open"]
    total, found = await catalog.search(["app"], Viewer(bob.id))
    assert (total, [r.name for r in found]) == (1, ["alice/app"])
    assert (await catalog.search(["app"], Viewer(carl.id)))[0] == 0
    await catalog.star(bob.id, app)
    assert (await catalog.starred(bob.id, Viewer(bob.id)))[0] == 1
    assert (await catalog.starred(bob.id, Viewer(carl.id)))[0] == 0
    await store.remove(app, bob.id)
    assert await listed(Viewer(bob.id)) == ["alice/open"]


async def test_collaborators_go_with_their_repository_or_user(
    db: Database, hub: HubStore, store: CollaboratorStore, catalog: CatalogStore
) -> None:
    await user(hub, "alice")
    bob, carl = await user(hub, "bob1"), await user(hub, "carl")
    app, keep = await repo(db, "alice/app"), await repo(db, "alice/keep")
    for repository_id in (app, keep):
        await store.add(repository_id, bob.id, "write")
        await store.add(repository_id, carl.id, "read")
    await catalog.delete_repository(app)
    assert await rows(db) == 2
    # ON DELETE CASCADE, for deletions that do not go through the Hub
    async with db.write() as conn:
        await conn.execute(delete(users).where(users.c.id == carl.id))
    assert [c.username for c in await store.of_repository(keep)] == ["bob1"]
    async with db.write() as conn:
        await conn.execute(delete(repositories).where(repositories.c.id == keep))
    assert await rows(db) == 0
