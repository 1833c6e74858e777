"""Every RegistryStore query, on SQLite and on PostgreSQL (``database_url`` runs each on both)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from dockyard.metadata.db import Database
from dockyard.metadata.manifest_put import ReferenceRecord
from dockyard.metadata.prepared import Prepared, Transaction
from dockyard.metadata.store import PullTally, RegistryStore
from dockyard.metadata.tables import (
    blobs,
    manifest_references,
    manifests,
    repositories,
    repository_blobs,
    tags,
)

IMAGE = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def digest(data: bytes | str) -> str:
    """``sha256:hex`` of ``data``."""
    raw = data.encode() if isinstance(data, str) else data
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@pytest.fixture
def store(db: Database) -> RegistryStore:
    """The store under test."""
    return RegistryStore(db)


async def count(db: Database, table: object, *where: object) -> int:
    """Rows of ``table`` matching ``where``."""
    stmt = select(func.count()).select_from(table)  # type: ignore[arg-type]
    for condition in where:
        stmt = stmt.where(condition)  # type: ignore[arg-type]
    async with db.read() as conn:
        return int(await conn.scalar(stmt) or 0)


async def put(
    store: RegistryStore,
    name: str,
    payload: bytes,
    *,
    tag: str | None = None,
    media_type: str = IMAGE,
    subject: str | None = None,
    artifact_type: str | None = None,
    references: tuple[ReferenceRecord, ...] = (),
) -> str:
    """Store ``payload`` as a manifest of ``name`` (its blobs linked first); return its digest."""
    manifest_digest = digest(payload)
    for reference in references:
        if reference.kind == "blob":
            await store.link_blob(name, reference.digest, 1)
    missing = await store.put_manifest(
        name,
        digest=manifest_digest,
        media_type=media_type,
        payload=payload,
        artifact_type=artifact_type,
        subject_digest=subject,
        references=references,
        tag=tag,
    )
    assert missing is None
    return manifest_digest


# --- repositories --------------------------------------------------------------------------
async def test_repository_exists_after_first_blob(store: RegistryStore) -> None:
    assert not await store.repository_exists("demo/app")
    await store.link_blob("demo/app", digest("a"), 1)
    assert await store.repository_exists("demo/app")
    assert not await store.repository_exists("demo")


async def test_repository_created_by_manifest_push(store: RegistryStore) -> None:
    await put(store, "only/manifest", b"{}", tag="latest")
    assert await store.repository_exists("only/manifest")


async def test_list_repositories_is_ordered_and_paginated(store: RegistryStore) -> None:
    names = ["b/x", "a/z", "a/b", "c", "a-b/c", "a/b/c"]
    for name in names:
        await store.link_blob(name, digest(name), 1)
    everything = await store.list_repositories(after=None, limit=100)
    assert everything == sorted(names)
    assert await store.list_repositories(after=None, limit=2) == sorted(names)[:2]
    assert await store.list_repositories(after="a/b", limit=100) == ["a/b/c", "a/z", "b/x", "c"]
    assert await store.list_repositories(after="zzz", limit=100) == []
    # Walking page by page visits every name once, in order.
    seen: list[str] = []
    last: str | None = None
    while page := await store.list_repositories(after=last, limit=2):
        seen += page
        last = page[-1]
    assert seen == sorted(names)


async def test_list_repositories_orders_bytewise(store: RegistryStore) -> None:
    """Lexical order as the distribution spec means it: by code point, on every backend."""
    names = ["ab", "a-c", "a.b", "a_b", "a0", "a/b", "b", "a9z"]
    for name in names:
        await store.link_blob(name, digest(name), 1)
    expected = sorted(names)
    assert await store.list_repositories(after=None, limit=100) == expected
    assert await store.list_repositories(after="a/b", limit=100) == [
        n for n in expected if n > "a/b"
    ]


# --- blobs ---------------------------------------------------------------------------------
async def test_link_blob_then_size(store: RegistryStore, db: Database) -> None:
    blob = digest("layer")
    assert await store.blob_size_in_repository("demo/app", blob) is None
    await store.link_blob("demo/app", blob, 5 * 1024**3)  # beyond 32 bits: BigInteger
    assert await store.blob_size_in_repository("demo/app", blob) == 5 * 1024**3
    assert await store.blob_size_in_repository("demo/other", blob) is None
    assert await count(db, blobs) == 1


async def test_link_blob_is_idempotent(store: RegistryStore, db: Database) -> None:
    blob = digest("layer")
    for _ in range(3):
        await store.link_blob("demo/app", blob, 5)
    await store.link_blob("demo/two", blob, 5)
    assert await store.count_blobs() == 1
    assert await count(db, repository_blobs) == 2
    assert await count(db, repositories) == 2


async def test_link_blob_finishes_upload(store: RegistryStore) -> None:
    await store.create_upload("u1", "demo/app")
    await store.create_upload("u2", "demo/app")
    await store.link_blob("demo/app", digest("x"), 1, finished_upload="u1")
    assert await store.get_upload("u1") is None
    assert await store.get_upload("u2") is not None


async def test_unlink_blob(store: RegistryStore) -> None:
    blob = digest("layer")
    await store.link_blob("demo/app", blob, 5)
    await store.link_blob("demo/two", blob, 5)
    assert await store.unlink_blob("demo/app", blob) is True
    assert await store.unlink_blob("demo/app", blob) is False
    assert await store.unlink_blob("no/such", blob) is False
    assert await store.blob_size_in_repository("demo/app", blob) is None
    assert await store.blob_size_in_repository("demo/two", blob) == 5
    assert await store.count_blobs() == 1  # the blob row stays for garbage collection


async def test_missing_blobs(store: RegistryStore) -> None:
    present, absent, elsewhere = digest("p"), digest("a"), digest("e")
    await store.link_blob("demo/app", present, 1)
    await store.link_blob("demo/other", elsewhere, 1)
    assert await store.missing_blobs("demo/app", []) == []
    assert await store.missing_blobs("demo/app", iter([present])) == []
    assert await store.missing_blobs("demo/app", [present, absent, elsewhere, absent]) == sorted(
        [absent, elsewhere]
    )
    assert await store.missing_blobs("no/such", [present]) == [present]


async def test_count_blobs(store: RegistryStore) -> None:
    assert await store.count_blobs() == 0
    for i in range(4):
        await store.link_blob("demo/app", digest(str(i)), i)
    assert await store.count_blobs() == 4


# --- uploads -------------------------------------------------------------------------------
async def test_upload_lifecycle(store: RegistryStore) -> None:
    await store.create_upload("up-1", "demo/app")
    record = await store.get_upload("up-1")
    assert record is not None
    assert (record.id, record.repository, record.size) == ("up-1", "demo/app", 0)
    await store.set_upload_size("up-1", 6 * 1024**3)
    record = await store.get_upload("up-1")
    assert record is not None
    assert record.size == 6 * 1024**3
    await store.delete_upload("up-1")
    assert await store.get_upload("up-1") is None
    await store.delete_upload("up-1")  # deleting twice is harmless


async def test_upload_timestamps_are_aware_utc(store: RegistryStore) -> None:
    """Both backends hand back timezone-aware UTC datetimes (SQLite stores them naive)."""
    before = datetime.now(UTC)
    await store.create_upload("up-1", "demo/app")
    record = await store.get_upload("up-1")
    assert record is not None
    assert record.created_at.tzinfo is not None
    assert record.created_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=5) <= record.created_at <= datetime.now(UTC)


async def test_duplicate_upload_id_is_rejected(store: RegistryStore) -> None:
    await store.create_upload("same", "demo/app")
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await store.create_upload("same", "demo/app")


async def test_get_unknown_upload(store: RegistryStore) -> None:
    assert await store.get_upload("nope") is None
    await store.set_upload_size("nope", 3)  # no row, no error


# --- manifests and tags --------------------------------------------------------------------
async def test_put_manifest_and_get_by_digest_and_tag(store: RegistryStore, db: Database) -> None:
    payload = bytes(range(256)) * 4  # every byte value, NULs included: a true binary column
    config, layer = digest("config"), digest("layer")
    refs = (ReferenceRecord(config, "blob"), ReferenceRecord(layer, "blob"))
    manifest_digest = await put(store, "demo/app", payload, tag="latest", references=refs)
    by_digest = await store.manifest_by_digest("demo/app", manifest_digest)
    by_tag = await store.manifest_by_tag("demo/app", "latest")
    assert by_digest is not None
    assert by_tag == by_digest
    assert type(by_digest.payload) is bytes
    assert by_digest.payload == payload
    assert by_digest.size == len(payload)
    assert by_digest.media_type == IMAGE
    assert by_digest.digest == manifest_digest
    assert (by_digest.artifact_type, by_digest.subject_digest) == (None, None)
    assert await store.manifest_by_digest("demo/other", manifest_digest) is None
    assert await store.manifest_by_tag("demo/app", "nope") is None
    assert await count(db, manifest_references) == 2


async def test_put_manifest_is_idempotent(store: RegistryStore, db: Database) -> None:
    refs = (ReferenceRecord(digest("l"), "blob"),)
    first = await put(store, "demo/app", b'{"a":1}', tag="v1", references=refs)
    again = await put(store, "demo/app", b'{"a":1}', tag="v1", references=refs)
    assert first == again
    assert await count(db, manifests) == 1
    assert await count(db, manifest_references) == 1
    assert await count(db, tags) == 1
    # The same manifest by digest only keeps the tag.
    await put(store, "demo/app", b'{"a":1}', references=refs)
    assert await store.list_tags("demo/app", after=None, limit=10) == ["v1"]


async def test_same_manifest_in_two_repositories(store: RegistryStore, db: Database) -> None:
    one = await put(store, "demo/one", b"{}", tag="latest")
    two = await put(store, "demo/two", b"{}", tag="latest")
    assert one == two
    assert await count(db, manifests) == 2
    assert await store.delete_manifest("demo/one", one)
    assert await store.manifest_by_tag("demo/two", "latest") is not None


async def test_put_manifest_moves_tag(store: RegistryStore, db: Database) -> None:
    old = await put(store, "demo/app", b'{"v":1}', tag="latest")
    new = await put(store, "demo/app", b'{"v":2}', tag="latest")
    found = await store.manifest_by_tag("demo/app", "latest")
    assert found is not None
    assert found.digest == new
    assert await store.manifest_by_digest("demo/app", old) is not None  # untagged, kept
    assert await count(db, tags) == 1


async def test_missing_manifests(store: RegistryStore) -> None:
    child = await put(store, "demo/app", b'{"child":1}')
    await put(store, "demo/other", b'{"child":2}')
    other = digest(b'{"child":2}')
    assert await store.missing_manifests("demo/app", []) == []
    assert await store.missing_manifests("demo/app", [child]) == []
    assert await store.missing_manifests("demo/app", (d for d in [child, other])) == [other]


async def test_index_references_children(store: RegistryStore, db: Database) -> None:
    child = await put(store, "demo/app", b'{"child":1}')
    refs = (ReferenceRecord(child, "manifest"), ReferenceRecord(child, "blob"))
    await put(store, "demo/app", b'{"index":1}', media_type=INDEX, tag="multi", references=refs)
    assert await count(db, manifest_references, manifest_references.c.digest == child) == 2


async def test_delete_tag(store: RegistryStore) -> None:
    manifest_digest = await put(store, "demo/app", b"{}", tag="latest")
    await put(store, "demo/app", b"{}", tag="stable")
    assert await store.delete_tag("demo/app", "latest") is True
    assert await store.delete_tag("demo/app", "latest") is False
    assert await store.delete_tag("no/such", "stable") is False
    assert await store.manifest_by_tag("demo/app", "latest") is None
    assert await store.manifest_by_digest("demo/app", manifest_digest) is not None
    assert await store.list_tags("demo/app", after=None, limit=10) == ["stable"]


async def test_delete_manifest_removes_tags_and_references(
    store: RegistryStore, db: Database
) -> None:
    refs = (ReferenceRecord(digest("l"), "blob"),)
    doomed = await put(store, "demo/app", b'{"d":1}', tag="a", references=refs)
    await put(store, "demo/app", b'{"d":1}', tag="b")
    kept = await put(store, "demo/app", b'{"k":1}', tag="c", references=refs)
    assert await store.delete_manifest("demo/app", doomed) is True
    assert await store.delete_manifest("demo/app", doomed) is False
    assert await store.delete_manifest("no/such", kept) is False
    assert await store.manifest_by_digest("demo/app", doomed) is None
    assert await store.list_tags("demo/app", after=None, limit=10) == ["c"]
    assert await count(db, manifest_references) == 1
    assert await store.manifest_by_digest("demo/app", kept) is not None


async def test_list_tags(store: RegistryStore) -> None:
    assert await store.list_tags("no/such", after=None, limit=10) is None
    await store.link_blob("demo/empty", digest("x"), 1)
    assert await store.list_tags("demo/empty", after=None, limit=10) == []
    names = ["v2", "latest", "v1.0", "V1", "1.0", "v1-rc", "v1_rc", "v10"]
    for i, tag in enumerate(names):
        await put(store, "demo/app", f'{{"n":{i}}}'.encode(), tag=tag)
    await put(store, "demo/other", b"{}", tag="zzz")
    expected = sorted(names)  # code point order: digits < upper case < "_" < lower case
    assert await store.list_tags("demo/app", after=None, limit=100) == expected
    assert await store.list_tags("demo/app", after=None, limit=3) == expected[:3]
    assert await store.list_tags("demo/app", after="V1", limit=100) == [
        t for t in expected if t > "V1"
    ]
    assert await store.list_tags("demo/app", after="v9", limit=100) == []


async def test_referrers(store: RegistryStore) -> None:
    subject = await put(store, "demo/app", b'{"image":1}', tag="latest")
    sig = await put(
        store, "demo/app", b'{"sig":1}', subject=subject, artifact_type="application/sig"
    )
    sbom = await put(
        store, "demo/app", b'{"sbom":1}', subject=subject, artifact_type="application/sbom"
    )
    await put(store, "demo/other", b'{"sig":1}', subject=subject, artifact_type="application/sig")
    found = await store.referrers("demo/app", subject)
    assert [r.digest for r in found] == [sig, sbom]  # oldest first
    assert found[0].subject_digest == subject
    assert found[0].artifact_type == "application/sig"
    only = await store.referrers("demo/app", subject, "application/sbom")
    assert [r.digest for r in only] == [sbom]
    assert await store.referrers("demo/app", subject, "application/none") == []
    assert await store.referrers("demo/app", digest("nothing")) == []
    assert await store.referrers("no/such", subject) == []


async def test_deleting_a_repository_cascades(store: RegistryStore, db: Database) -> None:
    """Foreign keys with ON DELETE CASCADE are enforced on both backends."""
    await store.link_blob("demo/app", digest("l"), 1)
    refs = (ReferenceRecord(digest("l"), "blob"),)
    await put(store, "demo/app", b"{}", tag="latest", references=refs)
    async with db.write() as conn:
        await conn.execute(repositories.delete().where(repositories.c.name == "demo/app"))
    for table in (repository_blobs, manifests, manifest_references, tags):
        assert await count(db, table) == 0, table.name
    assert await store.count_blobs() == 1


async def test_put_manifest_with_missing_references_writes_nothing(
    store: RegistryStore, db: Database
) -> None:
    """Missing blobs or child manifests are reported, and no row is written at all."""
    present, absent, child = digest("present"), digest("absent"), digest("child")
    await store.link_blob("demo/app", present, 1)
    missing = await store.put_manifest(
        "demo/app",
        digest=digest(b"index"),
        media_type=IMAGE,
        payload=b"index",
        artifact_type=None,
        subject_digest=None,
        references=(
            ReferenceRecord(present, "blob"),
            ReferenceRecord(absent, "blob"),
            ReferenceRecord(child, "manifest"),
        ),
        tag="latest",
    )
    assert missing is not None
    assert (missing.blobs, missing.manifests) == ([absent], [child])
    for table in (manifests, manifest_references, tags):
        assert await count(db, table) == 0, table.name
    missing = await store.put_manifest(
        "new/repo",
        digest=digest(b"m"),
        media_type=IMAGE,
        payload=b"m",
        artifact_type=None,
        subject_digest=None,
        references=(ReferenceRecord(absent, "blob"),),
        tag="v1",
    )
    assert missing is not None
    assert missing.blobs == [absent]
    assert not await store.repository_exists("new/repo")


async def test_put_manifest_runs_the_callers_step_in_its_transaction(
    store: RegistryStore, db: Database
) -> None:
    """``also`` sees the new rows, and when it fails the manifest is not stored either."""
    seen: list[int] = []

    count_all_tags = Prepared(select(func.count()).select_from(tags))

    def count_tags(tx: Transaction) -> None:
        seen.append(int(tx.scalar(count_all_tags)))

    await put_with(store, "demo/app", b"one", "v1", count_tags)
    assert seen == [1]

    def fail(tx: Transaction) -> None:
        raise RuntimeError("the audit insert failed")

    with pytest.raises(RuntimeError):
        await put_with(store, "demo/app", b"two", "v2", fail)
    assert await store.manifest_by_tag("demo/app", "v2") is None
    assert await count(db, manifests) == 1


async def put_with(store: RegistryStore, name: str, payload: bytes, tag: str, also: Any) -> None:
    await store.put_manifest(
        name,
        digest=digest(payload),
        media_type=IMAGE,
        payload=payload,
        artifact_type=None,
        subject_digest=None,
        references=(),
        tag=tag,
        also=also,
    )


# --- concurrency ---------------------------------------------------------------------------
CONCURRENCY = 24


async def test_concurrent_link_blob_into_new_repository(store: RegistryStore, db: Database) -> None:
    blob = digest("shared layer")
    await asyncio.gather(
        *(store.link_blob("race/new", blob, 42) for _ in range(CONCURRENCY)),
    )
    assert await count(db, repositories) == 1
    assert await count(db, blobs) == 1
    assert await count(db, repository_blobs) == 1
    assert await store.blob_size_in_repository("race/new", blob) == 42


async def test_concurrent_link_blob_many_repositories(store: RegistryStore, db: Database) -> None:
    """Mounting one blob into many new repositories at once: one blob row, one link each."""
    blob = digest("base layer")
    names = [f"race/r{i % 6}" for i in range(CONCURRENCY)]
    await asyncio.gather(*(store.link_blob(name, blob, 7) for name in names))
    assert await count(db, repositories) == 6
    assert await count(db, blobs) == 1
    assert await count(db, repository_blobs) == 6


async def test_concurrent_put_manifest_moving_one_tag(store: RegistryStore, db: Database) -> None:
    payloads = [f'{{"n":{i}}}'.encode() for i in range(CONCURRENCY)]
    refs = (ReferenceRecord(digest("layer"), "blob"),)
    await asyncio.gather(
        *(put(store, "race/tagged", p, tag="latest", references=refs) for p in payloads)
    )
    assert await count(db, repositories) == 1
    assert await count(db, manifests) == CONCURRENCY
    assert await count(db, tags) == 1
    assert await count(db, manifest_references) == CONCURRENCY
    found = await store.manifest_by_tag("race/tagged", "latest")
    assert found is not None
    assert found.digest in {digest(p) for p in payloads}


async def test_concurrent_put_same_manifest(store: RegistryStore, db: Database) -> None:
    refs = (ReferenceRecord(digest("layer"), "blob"), ReferenceRecord(digest("cfg"), "blob"))
    await asyncio.gather(
        *(
            put(store, "race/same", b'{"same":1}', tag=f"t{i % 3}", references=refs)
            for i in range(CONCURRENCY)
        )
    )
    assert await count(db, manifests) == 1
    assert await count(db, manifest_references) == 2
    assert await count(db, tags) == 3


async def test_put_manifest_racing_delete_of_same_manifest(
    store: RegistryStore, db: Database
) -> None:
    """A push and a delete of the same manifest at once: either may win, neither may fail."""
    payload = b'{"contested":1}'
    await put(store, "race/delete", payload, tag="seed")
    for round_ in range(12):
        await asyncio.gather(
            *(put(store, "race/delete", payload, tag=f"t{round_}-{i}") for i in range(3)),
            store.delete_manifest("race/delete", digest(payload)),
            store.delete_manifest("race/delete", digest(payload)),
        )
    # Every surviving tag points at a manifest that exists.
    async with db.read() as conn:
        dangling = await conn.scalar(
            select(func.count())
            .select_from(tags.outerjoin(manifests, manifests.c.id == tags.c.manifest_id))
            .where(manifests.c.id.is_(None))
        )
    assert dangling == 0


# PostgreSQL runs writers at once and aborts one of two transactions that wait for each other
# ("deadlock detected"); SQLite serializes writers. Every multi-row write of a repository takes
# the repository row first, so these races queue instead of failing.
ROUNDS = 15


async def test_put_manifest_racing_record_pulls(store: RegistryStore) -> None:
    name = "race/pulls"
    first = await put(store, name, b'{"r":-1}', tag="latest")
    for round_ in range(ROUNDS):
        payload = f'{{"r":{round_}}}'.encode()
        tally = PullTally(name, count=1, tags={"latest", "other"}, digests={first, digest(payload)})
        await asyncio.gather(
            put(store, name, payload, tag="latest"),
            put(store, name, payload, tag="other"),
            store.record_pulls([tally]),
        )
    found = await store.manifest_by_tag(name, "latest")
    assert found is not None
    assert found.digest == digest(f'{{"r":{ROUNDS - 1}}}'.encode())


async def test_record_pulls_of_many_repositories_at_once(store: RegistryStore) -> None:
    """Two nodes flushing pull counts of the same repositories, listed in different orders."""
    names = [f"race/many{i}" for i in range(6)]
    for name in names:
        await put(store, name, b"{}", tag="latest")

    def tallies(order: list[str]) -> list[PullTally]:
        return [PullTally(n, count=1, tags={"latest"}, digests={digest(b"{}")}) for n in order]

    for _ in range(ROUNDS):
        await asyncio.gather(
            store.record_pulls(tallies(names)),
            store.record_pulls(tallies(names[::-1])),
            store.record_pulls(tallies(names[2:] + names[:2])),
        )


async def test_repush_of_tag_racing_delete_of_its_manifest(store: RegistryStore) -> None:
    name = "race/repush"
    payload = b'{"repush":1}'
    for _ in range(ROUNDS):
        await put(store, name, payload, tag="latest")
        await asyncio.gather(
            put(store, name, payload, tag="latest"),
            store.delete_manifest(name, digest(payload)),
            store.record_pulls([PullTally(name, 1, tags={"latest"}, digests={digest(payload)})]),
        )
        found = await store.manifest_by_tag(name, "latest")
        assert found is None or found.digest == digest(payload)
