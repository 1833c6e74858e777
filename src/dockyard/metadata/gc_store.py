"""Queries of garbage collection: what is in use, and deleting what is not, safely online.

Every deletion re-checks, in its own short write transaction, the condition it was planned
on, so a push, tag or mount that happened since the plan wins. A blob row is deleted only in
:meth:`GcStore.delete_blob`, which holds the row locked ``FOR UPDATE`` (PostgreSQL; SQLite
serializes writers) while it re-checks that nothing uses the blob, deletes the row and calls
back to delete the data. ``RegistryStore.link_blob`` share-locks the same row, so a link and
a sweep of one blob never overlap. See docs/storage.md, "Garbage collection".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dockyard.metadata.db import Database
from dockyard.metadata.store import aware_utc, utcnow
from dockyard.metadata.tables import (
    blobs,
    manifest_references,
    manifests,
    repositories,
    repository_blobs,
    tags,
    uploads,
)

BLOB = "blob"
MANIFEST = "manifest"


@dataclass(frozen=True, slots=True)
class ManifestNode:
    """A manifest of a repository as garbage collection sees it."""

    id: int
    digest: str
    subject_digest: str | None
    created_at: datetime
    tagged: bool
    #: Digests of the manifests an index lists.
    children: tuple[str, ...] = ()
    #: Digests of the blobs (config, layers) it references.
    blobs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RepositoryGraph:
    """A repository's manifests and blob links, read in one transaction."""

    id: int
    name: str
    manifests: tuple[ManifestNode, ...]
    #: ``(digest, linked at)`` of every blob the repository may serve.
    links: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True, slots=True)
class BlobUsage:
    """A blob row with how many links and manifest references it has."""

    digest: str
    size: int
    links: int
    references: int


@dataclass(frozen=True, slots=True)
class StaleUpload:
    """An upload row not updated since the cut-off."""

    id: str
    size: int
    updated_at: datetime


class _Kept(Exception):
    """Raised inside a transaction to roll it back: the blob turned out to be in use."""


class GcStore:
    """Garbage collection's view of the registry's metadata."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- repositories and manifests ------------------------------------------------------
    async def repositories(self, *, after: int, limit: int) -> list[tuple[int, str]]:
        """``(id, name)`` of repositories in id order after ``after``."""
        stmt = (
            select(repositories.c.id, repositories.c.name)
            .where(repositories.c.id > after)
            .order_by(repositories.c.id)
            .limit(limit)
        )
        async with self.db.read() as conn:
            return [(int(row.id), str(row.name)) for row in (await conn.execute(stmt)).all()]

    async def repository_graph(self, repository_id: int, name: str) -> RepositoryGraph:
        """The repository's manifests (tagged or not, children, blobs) and blob links."""
        of_repository = manifests.c.repository_id == repository_id
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(
                        manifests.c.id,
                        manifests.c.digest,
                        manifests.c.subject_digest,
                        manifests.c.created_at,
                    ).where(of_repository)
                )
            ).all()
            tagged = set(
                (
                    await conn.scalars(
                        select(tags.c.manifest_id).where(tags.c.repository_id == repository_id)
                    )
                ).all()
            )
            references = (
                await conn.execute(
                    select(
                        manifest_references.c.manifest_id,
                        manifest_references.c.digest,
                        manifest_references.c.kind,
                    )
                    .join(manifests, manifests.c.id == manifest_references.c.manifest_id)
                    .where(of_repository)
                )
            ).all()
            links = (
                await conn.execute(
                    select(repository_blobs.c.digest, repository_blobs.c.created_at).where(
                        repository_blobs.c.repository_id == repository_id
                    )
                )
            ).all()
        children: dict[int, list[str]] = {}
        blob_refs: dict[int, list[str]] = {}
        for ref in references:
            target = children if ref.kind == MANIFEST else blob_refs
            target.setdefault(int(ref.manifest_id), []).append(str(ref.digest))
        nodes = tuple(
            ManifestNode(
                id=int(row.id),
                digest=str(row.digest),
                subject_digest=row.subject_digest,
                created_at=aware_utc(row.created_at),
                tagged=int(row.id) in tagged,
                children=tuple(sorted(children.get(int(row.id), ()))),
                blobs=tuple(sorted(blob_refs.get(int(row.id), ()))),
            )
            for row in rows
        )
        return RepositoryGraph(
            id=repository_id,
            name=name,
            manifests=nodes,
            links=tuple((str(row.digest), aware_utc(row.created_at)) for row in links),
        )

    async def _lock_repository(self, conn: AsyncConnection, repository_id: int) -> bool:
        """Lock the repository row as ``put_manifest``/``delete_manifest`` do (PostgreSQL)."""
        stmt = (
            select(repositories.c.id)
            .where(repositories.c.id == repository_id)
            .with_for_update(key_share=True)
        )
        return await conn.scalar(stmt) is not None

    async def delete_untagged(
        self, repository_id: int, manifest_ids: Sequence[int], cutoff: datetime
    ) -> list[int]:
        """Delete those of ``manifest_ids`` (parents and subjects first) that are still unused.

        Each is re-checked in the transaction: older than ``cutoff``, no tag, no index of the
        repository lists it, and its subject (if any) is not in the repository. Returns the
        ids deleted.
        """
        deleted: list[int] = []
        async with self.db.write() as conn:
            if not await self._lock_repository(conn, repository_id):
                return deleted
            for manifest_id in manifest_ids:
                if await self._deletable(conn, repository_id, manifest_id, cutoff):
                    await conn.execute(
                        delete(manifest_references).where(
                            manifest_references.c.manifest_id == manifest_id
                        )
                    )
                    await conn.execute(delete(manifests).where(manifests.c.id == manifest_id))
                    deleted.append(manifest_id)
        return deleted

    async def _deletable(
        self, conn: AsyncConnection, repository_id: int, manifest_id: int, cutoff: datetime
    ) -> bool:
        # Locked first (after the repository, the order of put_manifest and delete_manifest),
        # then re-checked by statements that see everything committed before the lock.
        row = (
            await conn.execute(
                select(manifests.c.digest, manifests.c.subject_digest, manifests.c.created_at)
                .where(manifests.c.id == manifest_id, manifests.c.repository_id == repository_id)
                .with_for_update()
            )
        ).first()
        if row is None or aware_utc(row.created_at) >= cutoff:
            return False
        tagged = exists().where(tags.c.manifest_id == manifest_id)
        listed = exists(
            select(manifest_references.c.manifest_id)
            .join(manifests, manifests.c.id == manifest_references.c.manifest_id)
            .where(
                manifests.c.repository_id == repository_id,
                manifest_references.c.digest == row.digest,
                manifest_references.c.kind == MANIFEST,
            )
        )
        conditions = [tagged, listed]
        if row.subject_digest is not None:
            conditions.append(
                exists().where(
                    manifests.c.repository_id == repository_id,
                    manifests.c.digest == row.subject_digest,
                )
            )
        for condition in conditions:
            if await conn.scalar(select(condition)):
                return False
        return True

    # --- repository links ----------------------------------------------------------------
    async def remove_stale_links(
        self, repository_id: int, digests: Iterable[str], cutoff: datetime
    ) -> int:
        """Remove links of ``digests`` older than ``cutoff`` no manifest of the repository uses.

        In one transaction: the repository row is locked (``put_manifest`` locks it first
        too), then the links still older than ``cutoff`` (``FOR UPDATE``: a ``link_blob``
        refreshing one finishes first), and only then, in a statement that sees what those
        committed, the links no manifest references are deleted. Returns how many.
        """
        wanted = sorted(set(digests))
        if not wanted:
            return 0
        referenced = exists(
            select(manifest_references.c.manifest_id)
            .join(manifests, manifests.c.id == manifest_references.c.manifest_id)
            .where(
                manifests.c.repository_id == repository_id,
                manifest_references.c.digest == repository_blobs.c.digest,
                manifest_references.c.kind == BLOB,
            )
        )
        old = (
            repository_blobs.c.repository_id == repository_id,
            repository_blobs.c.created_at < cutoff,
        )
        async with self.db.write() as conn:
            if not await self._lock_repository(conn, repository_id):
                return 0
            locked = await conn.scalars(
                select(repository_blobs.c.digest)
                .where(*old, repository_blobs.c.digest.in_(wanted))
                .with_for_update()
            )
            candidates = sorted(locked.all())
            if not candidates:
                return 0
            result = await conn.execute(
                delete(repository_blobs).where(
                    *old, repository_blobs.c.digest.in_(candidates), ~referenced
                )
            )
        return int(result.rowcount or 0)

    # --- blobs ---------------------------------------------------------------------------
    @staticmethod
    def _linked(digest: str | ColumnElement[str]) -> ColumnElement[bool]:
        return exists().where(repository_blobs.c.digest == digest)

    @staticmethod
    def _referenced(digest: str | ColumnElement[str]) -> ColumnElement[bool]:
        return exists().where(
            manifest_references.c.digest == digest, manifest_references.c.kind == BLOB
        )

    async def unused_blobs(self, *, after: str, limit: int) -> list[tuple[str, int]]:
        """``(digest, size)`` of blob rows with no link and no manifest reference, in order."""
        stmt = (
            select(blobs.c.digest, blobs.c.size)
            .where(
                blobs.c.digest > after,
                ~self._linked(blobs.c.digest),
                ~self._referenced(blobs.c.digest),
            )
            .order_by(blobs.c.digest)
            .limit(limit)
        )
        async with self.db.read() as conn:
            return [(str(row.digest), int(row.size)) for row in (await conn.execute(stmt)).all()]

    async def blob_usage(self, *, after: str, limit: int) -> list[BlobUsage]:
        """Every blob row after ``after`` (in order) with its counts of links and references."""
        links = (
            select(func.count())
            .select_from(repository_blobs)
            .where(repository_blobs.c.digest == blobs.c.digest)
            .scalar_subquery()
        )
        refs = (
            select(func.count())
            .select_from(manifest_references)
            .where(
                manifest_references.c.digest == blobs.c.digest,
                manifest_references.c.kind == BLOB,
            )
            .scalar_subquery()
        )
        stmt = (
            select(blobs.c.digest, blobs.c.size, links.label("links"), refs.label("refs"))
            .where(blobs.c.digest > after)
            .order_by(blobs.c.digest)
            .limit(limit)
        )
        async with self.db.read() as conn:
            return [
                BlobUsage(str(row.digest), int(row.size), int(row.links), int(row.refs))
                for row in (await conn.execute(stmt)).all()
            ]

    async def recorded_blobs(self, digests: Iterable[str]) -> set[str]:
        """Those of ``digests`` that have a blob row."""
        wanted = sorted(set(digests))
        if not wanted:
            return set()
        async with self.db.read() as conn:
            found = await conn.scalars(select(blobs.c.digest).where(blobs.c.digest.in_(wanted)))
            return set(found.all())

    async def delete_blob(
        self, digest: str, size: int, delete_data: Callable[[], Awaitable[None]]
    ) -> int | None:
        """Delete blob ``digest`` (row and data) if nothing uses it; the bytes freed, or None.

        In one write transaction: record the row if it is missing (data found in storage
        without a row: the row is a placeholder a concurrent ``link_blob`` waits on), lock it
        ``FOR UPDATE``, re-check that no repository links it and no manifest references it,
        delete the row, then ``delete_data()``; the commit follows. If deleting the data
        fails, the transaction rolls back and the row stays.
        """
        locked = select(blobs.c.size).where(blobs.c.digest == digest).with_for_update()
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    self.db.insert(blobs)
                    .values(digest=digest, size=size, created_at=utcnow())
                    .on_conflict_do_nothing(index_elements=["digest"])
                )
                recorded = await conn.scalar(locked)
                if recorded is None:  # deleted by another collector meanwhile
                    return None
                in_use = self._linked(digest) | self._referenced(digest)
                if await conn.scalar(select(in_use)):
                    raise _Kept
                await conn.execute(delete(blobs).where(blobs.c.digest == digest))
                await delete_data()
        except _Kept:
            return None
        return int(recorded)

    # --- uploads -------------------------------------------------------------------------
    async def stale_uploads(self, cutoff: datetime, *, after: str, limit: int) -> list[StaleUpload]:
        """Upload rows not updated since ``cutoff``, in id order after ``after``."""
        stmt = (
            select(uploads.c.id, uploads.c.size, uploads.c.updated_at)
            .where(uploads.c.updated_at < cutoff, uploads.c.id > after)
            .order_by(uploads.c.id)
            .limit(limit)
        )
        async with self.db.read() as conn:
            return [
                StaleUpload(str(row.id), int(row.size), aware_utc(row.updated_at))
                for row in (await conn.execute(stmt)).all()
            ]

    async def delete_stale_upload(self, upload_id: str, cutoff: datetime) -> bool:
        """Delete the upload row if it is still not updated since ``cutoff``."""
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(uploads).where(uploads.c.id == upload_id, uploads.c.updated_at < cutoff)
            )
        return bool(result.rowcount)

    async def recorded_uploads(self, upload_ids: Iterable[str]) -> set[str]:
        """Those of ``upload_ids`` that have an upload row."""
        wanted = sorted(set(upload_ids))
        if not wanted:
            return set()
        async with self.db.read() as conn:
            found = await conn.scalars(select(uploads.c.id).where(uploads.c.id.in_(wanted)))
            return set(found.all())
