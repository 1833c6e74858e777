"""The manifest PUT transaction: statements built once, run synchronously in one step.

A PUT is the registry's busiest write. Building and executing SQLAlchemy statements per
request costs more than SQLite running them, so the statements here are built once per dialect
with bound parameters (:class:`~dockyard.metadata.prepared.Prepared`: on SQLite they run on the
DBAPI cursor) and the whole transaction runs as one synchronous function
(:meth:`Database.run_write`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dockyard.metadata.prepared import Prepared, Transaction
from dockyard.metadata.tables import (
    manifest_references,
    manifests,
    repositories,
    repository_blobs,
    tags,
)

#: Extra work a caller runs inside a store's write transaction.
TransactionStep = Callable[[Transaction], object]


@dataclass(frozen=True, slots=True)
class ReferenceRecord:
    """Something a manifest points at: a ``blob`` (config, layer) or a child ``manifest``."""

    digest: str
    kind: str


@dataclass(frozen=True, slots=True)
class ManifestDetails:
    """What the Hub shows of a manifest: its config, platform and compressed size."""

    config_digest: str | None = None
    os: str | None = None
    architecture: str | None = None
    variant: str | None = None
    total_size: int = 0


@dataclass(frozen=True, slots=True)
class MissingReferences:
    """Why a manifest was not stored: blobs or child manifests the repository lacks."""

    blobs: list[str]
    manifests: list[str]


@dataclass(frozen=True, slots=True)
class _Statements:
    lock_repository: Prepared
    present_blobs: Prepared
    present_manifests: Prepared
    touch_repository: Prepared
    create_repository: Prepared
    repository_id: Prepared
    upsert_manifest: Prepared
    add_references: Prepared
    upsert_tag: Prepared


def _present_in_repository(table: Table) -> Prepared:
    """Those of the ``digests`` that ``table`` (blob links, manifests) has for ``repository``."""
    return Prepared(
        select(table.c.digest)
        .join(repositories, repositories.c.id == table.c.repository_id)
        .where(
            repositories.c.name == bindparam("repository"),
            table.c.digest.in_(bindparam("digests", expanding=True)),
        )
    )


@cache
def _statements(dialect: str) -> _Statements:
    """The PUT's statements for ``dialect`` (``sqlite`` or ``postgresql``), built once."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    create_repository = insert(repositories)
    manifest = insert(manifests)
    tag = insert(tags)
    return _Statements(
        # PostgreSQL: the repository row is locked before the references are checked, so a
        # garbage collection (which locks it too before removing links) cannot take a blob away
        # between the check and the commit. SQLite serializes writers already.
        lock_repository=Prepared(
            select(repositories.c.id)
            .where(repositories.c.name == bindparam("repository"))
            .with_for_update(key_share=True)
        ),
        present_blobs=_present_in_repository(repository_blobs),
        present_manifests=_present_in_repository(manifests),
        # The UPDATE comes first so the repository row is locked (PostgreSQL) before any
        # manifest or tag row: writers of one repository queue instead of deadlocking.
        touch_repository=Prepared(
            update(repositories)
            .where(repositories.c.name == bindparam("repository"))
            .values(last_pushed_at=bindparam("now"))
            .returning(repositories.c.id)
        ),
        create_repository=Prepared(
            create_repository.on_conflict_do_update(
                index_elements=["name"],
                set_={"last_pushed_at": create_repository.excluded.last_pushed_at},
            )
        ),
        repository_id=Prepared(
            select(repositories.c.id).where(repositories.c.name == bindparam("repository"))
        ),
        # A no-op update rather than DO NOTHING: it locks an existing row, so on PostgreSQL no
        # other writer can delete it between here and the tag insert (a foreign key
        # violation), even one that does not lock the repository first.
        upsert_manifest=Prepared(
            manifest.on_conflict_do_update(
                index_elements=["repository_id", "digest"],
                set_={"digest": manifest.excluded.digest},
            ).returning(manifests.c.id)
        ),
        add_references=Prepared(insert(manifest_references).on_conflict_do_nothing()),
        upsert_tag=Prepared(
            tag.on_conflict_do_update(
                index_elements=["repository_id", "name"],
                set_={
                    "manifest_id": tag.excluded.manifest_id,
                    "updated_at": tag.excluded.updated_at,
                    "pushed_by": tag.excluded.pushed_by,
                },
            )
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ManifestPut:
    """One manifest PUT: ``run`` is the whole write transaction."""

    dialect: str
    name: str
    digest: str
    media_type: str
    payload: bytes
    artifact_type: str | None
    subject_digest: str | None
    references: Sequence[ReferenceRecord]
    tag: str | None
    details: ManifestDetails
    pushed_by: str
    default_private: bool
    now: datetime
    also: TransactionStep | None = None

    def run(self, tx: Transaction) -> MissingReferences | None:
        """Check the references, then store the manifest, its references and its tag.

        When references are missing nothing is written and they are returned.
        """
        sql = _statements(self.dialect)
        if self.dialect == "postgresql":
            tx.execute(sql.lock_repository, {"repository": self.name})
        missing = self._missing(tx, sql)
        if missing is not None:
            return missing
        repo_id = self._repository_id(tx, sql)
        d = self.details
        manifest_id = tx.scalar(
            sql.upsert_manifest,
            {
                "repository_id": repo_id,
                "digest": self.digest,
                "media_type": self.media_type,
                "artifact_type": self.artifact_type,
                "subject_digest": self.subject_digest,
                "size": len(self.payload),
                "payload": self.payload,
                "created_at": self.now,
                "config_digest": d.config_digest,
                "os": d.os,
                "architecture": d.architecture,
                "variant": d.variant,
                "total_size": d.total_size,
                "last_pulled_at": None,
            },
        )
        assert manifest_id is not None
        if self.references:
            tx.execute_many(
                sql.add_references,
                [
                    {"manifest_id": manifest_id, "digest": r.digest, "kind": r.kind}
                    for r in self.references
                ],
            )
        if self.tag is not None:
            tx.execute(
                sql.upsert_tag,
                {
                    "repository_id": repo_id,
                    "name": self.tag,
                    "manifest_id": manifest_id,
                    "created_at": self.now,
                    "updated_at": self.now,
                    "pushed_by": self.pushed_by,
                    "last_pulled_at": None,
                },
            )
        if self.also is not None:
            self.also(tx)
        return None

    def _missing(self, tx: Transaction, sql: _Statements) -> MissingReferences | None:
        blob_digests = {r.digest for r in self.references if r.kind == "blob"}
        child_digests = {r.digest for r in self.references if r.kind == "manifest"}
        present_blobs: set[str] = set()
        present_children: set[str] = set()
        if blob_digests:
            params = {"repository": self.name, "digests": sorted(blob_digests)}
            present_blobs = set(tx.scalars(sql.present_blobs, params))
        if child_digests:
            params = {"repository": self.name, "digests": sorted(child_digests)}
            present_children = set(tx.scalars(sql.present_manifests, params))
        missing = MissingReferences(
            sorted(blob_digests - present_blobs), sorted(child_digests - present_children)
        )
        return missing if missing.blobs or missing.manifests else None

    def _repository_id(self, tx: Transaction, sql: _Statements) -> int:
        """The repository's id (created if new), its row locked first and marked pushed."""
        repo_id = tx.scalar(sql.touch_repository, {"repository": self.name, "now": self.now})
        if repo_id is None:
            tx.execute(
                sql.create_repository,
                {
                    "name": self.name,
                    "namespace": self.name.split("/", 1)[0],
                    "is_private": self.default_private,
                    "created_at": self.now,
                    "last_pushed_at": self.now,
                },
            )
            repo_id = tx.scalar(sql.repository_id, {"repository": self.name})
        assert repo_id is not None
        return int(repo_id)
