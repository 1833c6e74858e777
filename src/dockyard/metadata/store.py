"""Queries of the registry's metadata: repositories, blobs, uploads, manifests, tags.

Every statement here is portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dockyard.metadata.blob_writes import BlobLink, add_upload, set_upload_size
from dockyard.metadata.db import Database
from dockyard.metadata.manifest_put import (
    ManifestDetails,
    ManifestPut,
    MissingReferences,
    ReferenceRecord,
    TransactionStep,
)
from dockyard.metadata.prepared import Prepared
from dockyard.metadata.tables import (
    blobs,
    manifest_references,
    manifests,
    repositories,
    repository_blobs,
    tags,
    uploads,
)


def utcnow() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def aware_utc(value: datetime) -> datetime:
    """A datetime read back from the database, timezone-aware on every backend.

    PostgreSQL returns ``timestamptz`` aware; SQLite stores the UTC wall time and returns it
    naive. Everything is stored in UTC, so a naive value is UTC.
    """
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    """A stored manifest."""

    id: int
    digest: str
    media_type: str
    size: int
    payload: bytes
    artifact_type: str | None
    subject_digest: str | None


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """A blob upload in progress."""

    id: str
    repository: str
    size: int
    created_at: datetime


_MANIFEST_COLUMNS = (
    manifests.c.id,
    manifests.c.digest,
    manifests.c.media_type,
    manifests.c.size,
    manifests.c.payload,
    manifests.c.artifact_type,
    manifests.c.subject_digest,
)


#: The hot lookups, built once with bound parameters (see ``manifest_put``).
_BLOB_SIZE = Prepared(
    select(blobs.c.size)
    .select_from(
        repository_blobs.join(blobs, blobs.c.digest == repository_blobs.c.digest).join(
            repositories, repositories.c.id == repository_blobs.c.repository_id
        )
    )
    .where(
        repositories.c.name == bindparam("repository"),
        repository_blobs.c.digest == bindparam("digest"),
    )
)
_BY_DIGEST = Prepared(
    select(*_MANIFEST_COLUMNS)
    .join(repositories, repositories.c.id == manifests.c.repository_id)
    .where(
        repositories.c.name == bindparam("repository"), manifests.c.digest == bindparam("digest")
    )
)
_BY_TAG = Prepared(
    select(*_MANIFEST_COLUMNS)
    .select_from(
        tags.join(manifests, manifests.c.id == tags.c.manifest_id).join(
            repositories, repositories.c.id == tags.c.repository_id
        )
    )
    .where(repositories.c.name == bindparam("repository"), tags.c.name == bindparam("tag"))
)


def _manifest(row: Sequence[object]) -> ManifestRecord:
    return ManifestRecord(*row)  # type: ignore[arg-type]


class RegistryStore:
    """The registry's view of the metadata database."""

    def __init__(self, db: Database, *, default_private: bool = False) -> None:
        self.db = db
        self.default_private = default_private

    # --- repositories ------------------------------------------------------------------
    async def _lock_repository(self, conn: AsyncConnection, name: str) -> int | None:
        """The id of repository ``name``, its row locked until the transaction ends.

        Lock order on PostgreSQL (SQLite serializes writers): a write that changes several
        manifest or tag rows of a repository locks the repository row first (``put_manifest``
        and ``record_pulls`` by updating it), so such writes queue instead of deadlocking.
        """
        stmt = (
            select(repositories.c.id)
            .where(repositories.c.name == name)
            .with_for_update(key_share=True)
        )
        repo_id = await conn.scalar(stmt)
        return None if repo_id is None else int(repo_id)

    async def repository_exists(self, name: str) -> bool:
        """True when a repository of that name exists."""
        async with self.db.read() as conn:
            found = await conn.scalar(select(repositories.c.id).where(repositories.c.name == name))
        return found is not None

    async def list_repositories(
        self, *, after: str | None, limit: int, visible: Any = None
    ) -> list[str]:
        """Repository names in lexical order after ``after``, filtered by ``visible``.

        ``visible`` is a WHERE clause on ``repositories`` (see HubStore), None for all.
        """
        key = self.db.bytewise(repositories.c.name)
        stmt = select(repositories.c.name).order_by(key).limit(limit)
        if visible is not None:
            stmt = stmt.where(visible)
        if after:
            stmt = stmt.where(key > after)
        async with self.db.read() as conn:
            return list((await conn.scalars(stmt)).all())

    # --- blobs ---------------------------------------------------------------------------
    async def blob_size_in_repository(self, name: str, digest: str) -> int | None:
        """Size of ``digest`` if the repository may serve it."""
        params = {"repository": name, "digest": digest}
        size = await self.db.run_read(lambda tx: tx.scalar(_BLOB_SIZE, params))
        return None if size is None else int(size)

    async def link_blob(
        self,
        name: str,
        digest: str,
        size: int,
        *,
        finished_upload: str | None = None,
        existing_only: bool = False,
    ) -> bool:
        """Record the blob and let repository ``name`` serve it (idempotent); True if linked.

        The link's ``created_at`` is set to now even when it existed: garbage collection
        spares links younger than its grace period. The blob row is share-locked until the
        transaction ends, so a sweep deleting that blob (which locks it ``FOR UPDATE``)
        finishes first, and the row is recorded again, or starts later and sees the link
        (docs/storage.md, "Garbage collection"). ``existing_only`` (a cross-repository
        mount) links only a blob whose row exists, and answers False otherwise.
        """
        link = BlobLink(
            dialect=self.db.dialect,
            name=name,
            digest=digest,
            size=size,
            now=utcnow(),
            default_private=self.default_private,
            finished_upload=finished_upload,
            existing_only=existing_only,
        )
        return await self.db.run_write(link.run)

    async def unlink_blob(self, name: str, digest: str) -> bool:
        """Stop repository ``name`` from serving ``digest``; False if it did not."""
        repo = select(repositories.c.id).where(repositories.c.name == name).scalar_subquery()
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(repository_blobs).where(
                    repository_blobs.c.repository_id == repo, repository_blobs.c.digest == digest
                )
            )
        return bool(result.rowcount)

    async def missing_blobs(self, name: str, digests: Iterable[str]) -> list[str]:
        """Those of ``digests`` that repository ``name`` cannot serve."""
        wanted = set(digests)
        if not wanted:
            return []
        stmt = (
            select(repository_blobs.c.digest)
            .join(repositories, repositories.c.id == repository_blobs.c.repository_id)
            .where(repositories.c.name == name, repository_blobs.c.digest.in_(wanted))
        )
        async with self.db.read() as conn:
            present = set((await conn.scalars(stmt)).all())
        return sorted(wanted - present)

    # --- uploads -------------------------------------------------------------------------
    async def create_upload(self, upload_id: str, name: str) -> None:
        """Record a new upload session."""
        await self.db.run_write(add_upload(self.db.dialect, upload_id, name, utcnow()))

    async def get_upload(self, upload_id: str) -> UploadRecord | None:
        """The upload session, if it exists."""
        stmt = select(
            uploads.c.id, uploads.c.repository, uploads.c.size, uploads.c.created_at
        ).where(uploads.c.id == upload_id)
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return UploadRecord(row.id, row.repository, row.size, aware_utc(row.created_at))

    async def set_upload_size(self, upload_id: str, size: int) -> None:
        """Record how much an upload has received."""
        await self.db.run_write(set_upload_size(self.db.dialect, upload_id, size, utcnow()))

    async def delete_upload(self, upload_id: str) -> None:
        """Forget an upload session."""
        async with self.db.write() as conn:
            await conn.execute(delete(uploads).where(uploads.c.id == upload_id))

    # --- manifests -----------------------------------------------------------------------
    async def put_manifest(
        self,
        name: str,
        *,
        digest: str,
        media_type: str,
        payload: bytes,
        artifact_type: str | None,
        subject_digest: str | None,
        references: Sequence[ReferenceRecord],
        tag: str | None,
        details: ManifestDetails | None = None,
        pushed_by: str = "",
        also: TransactionStep | None = None,
    ) -> MissingReferences | None:
        """Store a manifest (idempotent by digest) and point ``tag`` at it.

        One transaction, run as one step (:meth:`Database.run_write`): the references are
        checked first, and when some are missing nothing is written and they are returned.
        ``also`` runs in the same transaction after the manifest is stored (the audit event,
        the webhook outbox), so the push and what it records commit or fail together.
        """
        put = ManifestPut(
            dialect=self.db.dialect,
            name=name,
            digest=digest,
            media_type=media_type,
            payload=payload,
            artifact_type=artifact_type,
            subject_digest=subject_digest,
            references=references,
            tag=tag,
            details=details or ManifestDetails(total_size=len(payload)),
            pushed_by=pushed_by,
            default_private=self.default_private,
            now=utcnow(),
            also=also,
        )
        return await self.db.run_write(put.run)

    async def missing_manifests(self, name: str, digests: Iterable[str]) -> list[str]:
        """Those of ``digests`` that are not manifests of repository ``name``."""
        wanted = set(digests)
        if not wanted:
            return []
        stmt = (
            select(manifests.c.digest)
            .join(repositories, repositories.c.id == manifests.c.repository_id)
            .where(repositories.c.name == name, manifests.c.digest.in_(wanted))
        )
        async with self.db.read() as conn:
            present = set((await conn.scalars(stmt)).all())
        return sorted(wanted - present)

    async def manifest_by_digest(self, name: str, digest: str) -> ManifestRecord | None:
        """The manifest ``digest`` of repository ``name``."""
        params = {"repository": name, "digest": digest}
        row = await self.db.run_read(lambda tx: tx.first(_BY_DIGEST, params))
        return None if row is None else _manifest(row)

    async def manifest_by_tag(self, name: str, tag: str) -> ManifestRecord | None:
        """The manifest tag ``tag`` of repository ``name`` points at."""
        params = {"repository": name, "tag": tag}
        row = await self.db.run_read(lambda tx: tx.first(_BY_TAG, params))
        return None if row is None else _manifest(row)

    async def delete_tag(self, name: str, tag: str) -> bool:
        """Remove one tag; False if it did not exist."""
        repo = select(repositories.c.id).where(repositories.c.name == name).scalar_subquery()
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(tags).where(tags.c.repository_id == repo, tags.c.name == tag)
            )
        return bool(result.rowcount)

    async def delete_manifest(self, name: str, digest: str) -> bool:
        """Remove a manifest with its tags and references; False if it did not exist."""
        async with self.db.write() as conn:
            repo_id = await self._lock_repository(conn, name)
            if repo_id is None:
                return False
            manifest_id = await conn.scalar(
                select(manifests.c.id).where(
                    manifests.c.repository_id == repo_id, manifests.c.digest == digest
                )
            )
            if manifest_id is None:
                return False
            await conn.execute(delete(tags).where(tags.c.manifest_id == manifest_id))
            await conn.execute(
                delete(manifest_references).where(manifest_references.c.manifest_id == manifest_id)
            )
            await conn.execute(delete(manifests).where(manifests.c.id == manifest_id))
        return True

    async def list_tags(self, name: str, *, after: str | None, limit: int) -> list[str] | None:
        """Tag names in lexical order after ``after``; None when the repository is unknown."""
        async with self.db.read() as conn:
            repo_id = await conn.scalar(
                select(repositories.c.id).where(repositories.c.name == name)
            )
            if repo_id is None:
                return None
            key = self.db.bytewise(tags.c.name)
            stmt = (
                select(tags.c.name)
                .where(tags.c.repository_id == repo_id)
                .order_by(key)
                .limit(limit)
            )
            if after:
                stmt = stmt.where(key > after)
            return list((await conn.scalars(stmt)).all())

    async def referrers(
        self, name: str, subject_digest: str, artifact_type: str | None = None
    ) -> list[ManifestRecord]:
        """Manifests of repository ``name`` whose subject is ``subject_digest``."""
        conditions = [repositories.c.name == name, manifests.c.subject_digest == subject_digest]
        if artifact_type is not None:
            conditions.append(manifests.c.artifact_type == artifact_type)
        stmt = (
            select(*_MANIFEST_COLUMNS)
            .join(repositories, repositories.c.id == manifests.c.repository_id)
            .where(and_(*conditions))
            .order_by(manifests.c.created_at, manifests.c.id)
        )
        async with self.db.read() as conn:
            return [_manifest(row) for row in (await conn.execute(stmt)).all()]

    async def count_blobs(self) -> int:
        """How many distinct blobs are recorded (for diagnostics and tests)."""
        async with self.db.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(blobs)) or 0)

    async def record_pulls(self, pulls: Sequence[PullTally]) -> None:
        """Add batched pull counts and last-pulled times (one transaction)."""
        if not pulls:
            return
        async with self.db.write() as conn:
            # Name order: two nodes flushing the same repositories lock them in the same order.
            for tally in sorted(pulls, key=lambda t: t.repository):
                repo_id = await conn.scalar(
                    select(repositories.c.id).where(repositories.c.name == tally.repository)
                )
                if repo_id is None:
                    continue
                await conn.execute(
                    update(repositories)
                    .where(repositories.c.id == repo_id)
                    .values(
                        pull_count=repositories.c.pull_count + tally.count,
                        last_pulled_at=tally.last_pulled_at,
                    )
                )
                for tag in tally.tags:
                    await conn.execute(
                        update(tags)
                        .where(tags.c.repository_id == repo_id, tags.c.name == tag)
                        .values(last_pulled_at=tally.last_pulled_at)
                    )
                if tally.digests:
                    await conn.execute(
                        update(manifests)
                        .where(
                            manifests.c.repository_id == repo_id,
                            manifests.c.digest.in_(sorted(tally.digests)),
                        )
                        .values(last_pulled_at=tally.last_pulled_at)
                    )


@dataclass
class PullTally:
    """Pulls of one repository since the last flush."""

    repository: str
    count: int = 0
    last_pulled_at: datetime = field(default_factory=utcnow)
    tags: set[str] = field(default_factory=set)
    digests: set[str] = field(default_factory=set)
