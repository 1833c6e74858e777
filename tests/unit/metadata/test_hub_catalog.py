"""CatalogStore and TagStore queries, on SQLite and on PostgreSQL (``database_url``: both).

The PostgreSQL test cluster sorts with an ICU collation, so orderings and ``LIKE`` filters
that depend on the backend fail here rather than in production.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dockyard.metadata.db import Database
from dockyard.metadata.hub_catalog import CatalogStore, Viewer
from dockyard.metadata.hub_store import HubStore, RepositoryStore
from dockyard.metadata.hub_tables import stars, team_permissions
from dockyard.metadata.manifest_put import ManifestDetails, ReferenceRecord
from dockyard.metadata.store import RegistryStore, utcnow
from dockyard.metadata.tables import (
    blobs,
    manifest_references,
    manifests,
    repository_blobs,
    tags,
)
from dockyard.metadata.tag_store import TagStore

IMAGE = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
ANYONE = Viewer(None)


def digest(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@pytest.fixture
def catalog(db: Database, hub: HubStore) -> CatalogStore:
    return CatalogStore(db, hub)


async def make_repo(
    db: Database, name: str, *, private: bool = False, description: str = "", **values: object
) -> int:
    record = await RepositoryStore(db).create(
        name, is_private=private, description=description, full_description=""
    )
    if values:
        await RepositoryStore(db).update(record.id, **values)
    return record.id


async def count(db: Database, table: object, *where: object) -> int:
    stmt = select(func.count()).select_from(table)  # type: ignore[arg-type]
    for condition in where:
        stmt = stmt.where(condition)  # type: ignore[arg-type]
    async with db.read() as conn:
        return int(await conn.scalar(stmt) or 0)


# --- listings --------------------------------------------------------------------------------
async def test_list_namespace_visibility_order_and_filter(
    db: Database, hub: HubStore, catalog: CatalogStore
) -> None:
    alice = await hub.create_user("alice", "a@example.com", "x")
    for name in ("alice/ab", "alice/a_b", "alice/a-c", "alice/a.b", "other/ab"):
        await make_repo(db, name)
    await make_repo(db, "alice/zz", private=True)

    async def listed(viewer: Viewer, **kwargs: object) -> list[str]:
        total, records = await catalog.list_namespace("alice", viewer, **kwargs)  # type: ignore[arg-type]
        assert total == len(records)
        return [r.name for r in records]

    # code point order: "-" < "." < "_" < "b"
    assert await listed(ANYONE) == ["alice/a-c", "alice/a.b", "alice/a_b", "alice/ab"]
    assert await listed(ANYONE, ordering="-name") == [
        "alice/ab",
        "alice/a_b",
        "alice/a.b",
        "alice/a-c",
    ]
    assert (await listed(Viewer(alice.id)))[-1] == "alice/zz"
    assert (await listed(Viewer(None, is_admin=True)))[-1] == "alice/zz"
    assert await listed(ANYONE, contains="_") == ["alice/a_b"]
    assert await listed(ANYONE, contains="%") == []
    assert await listed(ANYONE, contains="A") == ["alice/a-c", "alice/a.b", "alice/a_b", "alice/ab"]
    assert await listed(ANYONE, contains="lic") == []  # the namespace is not searched
    total, page = await catalog.list_namespace("alice", ANYONE, offset=1, limit=2)
    assert total == 4
    assert [r.name for r in page] == ["alice/a.b", "alice/a_b"]


async def test_list_namespace_by_last_update_and_pulls(db: Database, catalog: CatalogStore) -> None:
    now = utcnow()
    await make_repo(db, "n/old", last_pushed_at=now - timedelta(days=2), pull_count=5)
    await make_repo(db, "n/new", last_pushed_at=now, pull_count=1)
    await make_repo(db, "n/never")  # created just now, never pushed: created_at counts
    ordered = {
        o: [r.name for r in (await catalog.list_namespace("n", ANYONE, ordering=o))[1]]
        for o in ("last_updated", "-last_updated", "pull_count", "-pull_count")
    }
    assert ordered["last_updated"] == ["n/old", "n/new", "n/never"]
    assert ordered["-last_updated"] == ["n/never", "n/new", "n/old"]
    assert ordered["pull_count"] == ["n/never", "n/new", "n/old"]
    assert ordered["-pull_count"] == ["n/old", "n/new", "n/never"]


async def test_namespace_known(db: Database, hub: HubStore, catalog: CatalogStore) -> None:
    await hub.create_user("alice", "a@example.com", "x")
    await make_repo(db, "pushed/only")
    assert await catalog.namespace_known("alice")
    assert await catalog.namespace_known("pushed")
    assert not await catalog.namespace_known("nobody")


async def test_search_ranks_and_escapes(db: Database, hub: HubStore, catalog: CatalogStore) -> None:
    owner = await hub.create_user("owner", "o@example.com", "x")
    await make_repo(db, "library/web", description="Official WEB server")
    await make_repo(db, "a/webapp", star_count=2)
    await make_repo(db, "b/web-tools", pull_count=3)
    await make_repo(db, "c/website")
    await make_repo(db, "d/notes", description="web notes")
    await make_repo(db, "owner/web", private=True)
    await make_repo(db, "e/a_b")
    await make_repo(db, "e/axb", description="100% sure")

    async def found(*terms: str, viewer: Viewer = ANYONE) -> list[str]:
        total, records = await catalog.search(list(terms), viewer)
        assert total == len(records)
        return [r.name for r in records]

    assert await found("web") == ["library/web", "a/webapp", "b/web-tools", "c/website", "d/notes"]
    assert await found("WEB", viewer=Viewer(owner.id)) == [
        "library/web",
        "a/webapp",
        "b/web-tools",
        "c/website",
        "d/notes",
        "owner/web",
    ]
    assert await found("web", "server") == ["library/web"]
    assert await found("_") == ["e/a_b"]
    assert await found("%") == ["e/axb"]
    assert await found("a_b") == ["e/a_b"]
    total, page = await catalog.search(["web"], ANYONE, offset=4, limit=10)
    assert (total, [r.name for r in page]) == (5, ["d/notes"])


# --- stars -----------------------------------------------------------------------------------
async def test_stars_keep_the_count(db: Database, hub: HubStore, catalog: CatalogStore) -> None:
    alice = await hub.create_user("alice", "a@example.com", "x")
    bob = await hub.create_user("bob", "b@example.com", "x")
    app = await make_repo(db, "alice/app")
    other = await make_repo(db, "alice/other", private=True)
    assert await catalog.star(bob.id, app)
    assert not await catalog.star(bob.id, app)
    assert await catalog.star(alice.id, app)
    assert await catalog.star(bob.id, other)
    record = await RepositoryStore(db).get("alice/app")
    assert record is not None
    assert record.star_count == 2
    assert await catalog.starred_among(bob.id, [app, other, 999]) == {app, other}
    total, records = await catalog.starred(bob.id, Viewer(bob.id))
    assert (total, [r.name for r in records]) == (1, ["alice/app"])  # other is private
    total, records = await catalog.starred(bob.id, Viewer(alice.id))
    assert (total, [r.name for r in records]) == (2, ["alice/other", "alice/app"])
    assert await catalog.unstar(bob.id, app)
    assert not await catalog.unstar(bob.id, app)
    record = await RepositoryStore(db).get("alice/app")
    assert record is not None
    assert record.star_count == 1


async def test_concurrent_stars_count_once_each(
    db: Database, hub: HubStore, catalog: CatalogStore
) -> None:
    import asyncio

    users = [await hub.create_user(f"user{i}", f"u{i}@example.com", "x") for i in range(6)]
    app = await make_repo(db, "alice/app")
    results = await asyncio.gather(
        *(catalog.star(u.id, app) for u in users for _ in range(2)), return_exceptions=True
    )
    assert sorted(map(str, results)).count("True") == 6
    record = await RepositoryStore(db).get("alice/app")
    assert record is not None
    assert record.star_count == 6
    assert await count(db, stars) == 6


# --- deletion and access ---------------------------------------------------------------------
async def test_delete_repository_takes_everything_but_blob_bytes(
    db: Database, hub: HubStore, catalog: CatalogStore
) -> None:
    registry = RegistryStore(db)
    bob = await hub.create_user("bob", "b@example.com", "x")
    await registry.link_blob("alice/app", digest("layer"), 5)
    await registry.link_blob("alice/keep", digest("layer"), 5)
    child = json.dumps({"child": 1}).encode()
    await registry.put_manifest(
        "alice/app",
        digest=digest(child),
        media_type=IMAGE,
        payload=child,
        artifact_type=None,
        subject_digest=None,
        references=[ReferenceRecord(digest("layer"), "blob")],
        tag="v1",
    )
    index = json.dumps({"manifests": [digest(child)]}).encode()
    await registry.put_manifest(
        "alice/app",
        digest=digest(index),
        media_type=INDEX,
        payload=index,
        artifact_type=None,
        subject_digest=None,
        references=[ReferenceRecord(digest(child), "manifest")],
        tag="multi",
    )
    record = await RepositoryStore(db).get("alice/app")
    assert record is not None
    await catalog.star(bob.id, record.id)
    await catalog.delete_repository(record.id)
    assert await RepositoryStore(db).get("alice/app") is None
    assert await count(db, tags) == 0
    assert await count(db, manifests) == 0
    assert await count(db, manifest_references) == 0
    assert await count(db, stars) == 0
    assert await count(db, team_permissions) == 0
    assert await count(db, repository_blobs) == 1  # alice/keep's
    assert await count(db, blobs) == 1
    assert await registry.repository_exists("alice/keep")


async def test_access_rows_in_bulk(db: Database, hub: HubStore, catalog: CatalogStore) -> None:
    olga = await hub.create_user("olga", "o@example.com", "x")
    carol = await hub.create_user("carol", "c@example.com", "x")
    await hub.create_organization("acme", olga.id)
    org_id = await hub.organization_id("acme")
    assert org_id is not None
    await hub.set_member(org_id, carol.id, "member")
    team = await hub.create_team(org_id, "readers", "")
    await hub.add_team_member(team.id, carol.id)
    tool = await make_repo(db, "acme/tool", private=True)
    await make_repo(db, "acme/open")
    await hub.set_team_permission(team.id, tool, "read")
    rows = await catalog.access_rows(["acme/tool", "acme/open", "acme/none", "olga/x"], carol.id)
    assert rows["acme/tool"].exists
    assert rows["acme/tool"].is_private
    assert rows["acme/tool"].namespace_kind == "organization"
    assert rows["acme/tool"].org_role == "member"
    assert rows["acme/tool"].team_permissions == ["read"]
    assert rows["acme/open"].team_permissions == []
    assert not rows["acme/none"].exists
    assert rows["olga/x"].namespace_kind == "user"
    assert rows["olga/x"].org_role is None
    # each row is what the one-repository query says
    for name, row in rows.items():
        assert row == await hub.repository_access(name, carol.id), name
    anonymous = await catalog.access_rows(["acme/tool"], None)
    assert anonymous["acme/tool"] == await hub.repository_access("acme/tool", None)


# --- tags ------------------------------------------------------------------------------------
async def put(
    registry: RegistryStore, name: str, payload: bytes, tag: str | None, media_type: str = IMAGE
) -> str:
    manifest_digest = digest(payload)
    await registry.put_manifest(
        name,
        digest=manifest_digest,
        media_type=media_type,
        payload=payload,
        artifact_type=None,
        subject_digest=None,
        references=[],
        tag=tag,
        details=ManifestDetails(
            config_digest=digest("config") if media_type == IMAGE else None,
            os="linux" if media_type == IMAGE else None,
            architecture="amd64" if media_type == IMAGE else None,
            total_size=len(payload) * 10,
        ),
        pushed_by="alice",
    )
    return manifest_digest


async def test_tag_listing(db: Database) -> None:
    registry, store = RegistryStore(db), TagStore(db)
    for name in ("b", "a_b", "a-c", "V1", "v1"):
        await put(registry, "alice/app", name.encode(), name)
    index = json.dumps({"manifests": []}).encode()
    await put(registry, "alice/app", index, "idx", INDEX)
    repo = await RepositoryStore(db).get("alice/app")
    assert repo is not None

    async def names(**kwargs: object) -> list[str]:
        total, rows = await store.list_tags(repo.id, limit=100, **kwargs)  # type: ignore[arg-type]
        assert total == len(rows)
        return [r.name for r in rows]

    assert await names(ordering="name") == ["V1", "a-c", "a_b", "b", "idx", "v1"]
    assert await names(ordering="-name") == ["v1", "idx", "b", "a_b", "a-c", "V1"]
    assert await names(ordering="last_updated") == ["b", "a_b", "a-c", "V1", "v1", "idx"]
    assert await names(ordering="-last_updated") == ["idx", "v1", "V1", "a-c", "a_b", "b"]
    assert await names(ordering="name", contains="V") == ["V1", "v1"]
    assert await names(ordering="name", contains="_") == ["a_b"]
    assert await names(ordering="name", contains="%") == []
    total, rows = await store.list_tags(repo.id, ordering="name", offset=2, limit=2)
    assert (total, [r.name for r in rows]) == (6, ["a_b", "b"])

    row = await store.get_tag(repo.id, "b")
    assert row is not None
    assert (row.pushed_by, row.manifest.os, row.manifest.architecture) == (
        "alice",
        "linux",
        "amd64",
    )
    assert row.manifest.index_payload is None  # only indexes carry their payload
    assert row.manifest.total_size == 10
    idx = await store.get_tag(repo.id, "idx")
    assert idx is not None
    assert idx.manifest.index_payload == index
    assert await store.get_tag(repo.id, "nothing") is None


async def test_tag_store_children_platform_and_delete(db: Database) -> None:
    registry, store = RegistryStore(db), TagStore(db)
    child = await put(registry, "alice/app", b"child", None)
    await put(registry, "alice/other", b"elsewhere", None)
    tagged = await put(registry, "alice/app", b"tagged", "v1")
    repo = await RepositoryStore(db).get("alice/app")
    assert repo is not None
    found = await store.manifests_by_digest(repo.id, [child, digest(b"elsewhere"), "sha256:00"])
    assert list(found) == [child]
    row = found[child]
    await store.set_platform(row.id, "", "", None)
    again = await store.manifests_by_digest(repo.id, [child])
    assert (again[child].os, again[child].architecture, again[child].variant) == ("", "", None)
    await store.set_platform(row.id, "linux", "arm", "v7")
    again = await store.manifests_by_digest(repo.id, [child])
    assert (again[child].os, again[child].architecture, again[child].variant) == (
        "linux",
        "arm",
        "v7",
    )
    assert await store.delete_tag(repo.id, "v1") == tagged
    assert await store.delete_tag(repo.id, "v1") is None
    assert await registry.manifest_by_digest("alice/app", tagged) is not None
