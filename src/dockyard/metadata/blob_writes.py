"""The upload path's writes: link a blob to a repository, record upload sessions.

Like the manifest PUT (:mod:`dockyard.metadata.manifest_put`), these run on every push, so
their statements are built once per dialect with bound parameters
(:class:`~dockyard.metadata.prepared.Prepared`) and each transaction runs as one synchronous
step (:meth:`Database.run_write`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dockyard.metadata.prepared import Prepared, Transaction
from dockyard.metadata.tables import blobs, repositories, repository_blobs, uploads


@dataclass(frozen=True, slots=True)
class _Statements:
    add_blob: Prepared
    lock_blob: Prepared
    repository_id: Prepared
    add_repository: Prepared
    upsert_link: Prepared
    delete_upload: Prepared
    add_upload: Prepared
    set_upload_size: Prepared


@cache
def _statements(dialect: str) -> _Statements:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    link = insert(repository_blobs)
    return _Statements(
        add_blob=Prepared(insert(blobs).on_conflict_do_nothing(index_elements=["digest"])),
        # Share-locked (PostgreSQL) until the transaction ends: a sweep deleting this blob
        # (FOR UPDATE) finishes first, or starts later and sees the link.
        lock_blob=Prepared(
            select(blobs.c.digest)
            .where(blobs.c.digest == bindparam("digest"))
            .with_for_update(read=True, key_share=True)
        ),
        repository_id=Prepared(
            select(repositories.c.id).where(repositories.c.name == bindparam("repository"))
        ),
        add_repository=Prepared(
            insert(repositories).on_conflict_do_nothing(index_elements=["name"])
        ),
        upsert_link=Prepared(
            link.on_conflict_do_update(
                index_elements=["repository_id", "digest"],
                set_={"created_at": link.excluded.created_at},
            )
        ),
        delete_upload=Prepared(delete(uploads).where(uploads.c.id == bindparam("upload_id"))),
        add_upload=Prepared(uploads.insert()),
        set_upload_size=Prepared(
            update(uploads)
            .where(uploads.c.id == bindparam("upload_id"))
            .values(size=bindparam("size"), updated_at=bindparam("now"))
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobLink:
    """Record a blob and let a repository serve it (see ``RegistryStore.link_blob``)."""

    dialect: str
    name: str
    digest: str
    size: int
    now: datetime
    default_private: bool
    finished_upload: str | None = None
    existing_only: bool = False

    def run(self, tx: Transaction) -> bool:
        """The whole transaction; False when ``existing_only`` and the blob has no row."""
        sql = _statements(self.dialect)
        if self.existing_only:
            if tx.scalar(sql.lock_blob, {"digest": self.digest}) is None:
                return False
        else:
            # Twice at most: a row a sweep deletes while we wait on its lock is gone when the
            # lock is granted, and the second insert records it again.
            for _attempt in range(3):
                tx.execute(
                    sql.add_blob,
                    {"digest": self.digest, "size": self.size, "created_at": self.now},
                )
                if tx.scalar(sql.lock_blob, {"digest": self.digest}) is not None:
                    break
            else:  # pragma: no cover - needs three sweeps of one blob in a row
                raise RuntimeError(f"blob {self.digest} deleted while being linked")
        repo_id = self._repository_id(tx, sql)
        tx.execute(
            sql.upsert_link,
            {"repository_id": repo_id, "digest": self.digest, "created_at": self.now},
        )
        if self.finished_upload is not None:
            tx.execute(sql.delete_upload, {"upload_id": self.finished_upload})
        return True

    def _repository_id(self, tx: Transaction, sql: _Statements) -> int:
        repo_id = tx.scalar(sql.repository_id, {"repository": self.name})
        if repo_id is None:
            tx.execute(
                sql.add_repository,
                {
                    "name": self.name,
                    "namespace": self.name.split("/", 1)[0],
                    "is_private": self.default_private,
                    "created_at": self.now,
                },
            )
            repo_id = tx.scalar(sql.repository_id, {"repository": self.name})
        assert repo_id is not None
        return int(repo_id)


def add_upload(dialect: str, upload_id: str, name: str, now: datetime) -> Any:
    """A step recording a new upload session."""

    def run(tx: Transaction) -> None:
        tx.execute(
            _statements(dialect).add_upload,
            {"id": upload_id, "repository": name, "size": 0, "created_at": now, "updated_at": now},
        )

    return run


def set_upload_size(dialect: str, upload_id: str, size: int, now: datetime) -> Any:
    """A step recording how much an upload has received."""

    def run(tx: Transaction) -> None:
        tx.execute(
            _statements(dialect).set_upload_size,
            {"upload_id": upload_id, "size": size, "now": now},
        )

    return run
