"""The upload path's writes: link a blob to a repository, record upload sessions.

Like the manifest PUT (:mod:`dockyard.metadata.manifest_put`), these run on every push, so
their statements are built once per dialect with bound parameters and each transaction runs
as one synchronous step (:meth:`Database.run_write`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dockyard.metadata.tables import blobs, repositories, repository_blobs, uploads


@dataclass(frozen=True, slots=True)
class _Statements:
    add_blob: Any
    lock_blob: Any
    repository_id: Any
    add_repository: Any
    upsert_link: Any
    delete_upload: Any
    add_upload: Any
    set_upload_size: Any


@cache
def _statements(dialect: str) -> _Statements:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    link = insert(repository_blobs)
    return _Statements(
        add_blob=insert(blobs).on_conflict_do_nothing(index_elements=["digest"]),
        # Share-locked (PostgreSQL) until the transaction ends: a sweep deleting this blob
        # (FOR UPDATE) finishes first, or starts later and sees the link.
        lock_blob=select(blobs.c.digest)
        .where(blobs.c.digest == bindparam("digest"))
        .with_for_update(read=True, key_share=True),
        repository_id=select(repositories.c.id).where(
            repositories.c.name == bindparam("repository")
        ),
        add_repository=insert(repositories).on_conflict_do_nothing(index_elements=["name"]),
        upsert_link=link.on_conflict_do_update(
            index_elements=["repository_id", "digest"],
            set_={"created_at": link.excluded.created_at},
        ),
        delete_upload=delete(uploads).where(uploads.c.id == bindparam("upload_id")),
        add_upload=uploads.insert(),
        set_upload_size=update(uploads)
        .where(uploads.c.id == bindparam("upload_id"))
        .values(size=bindparam("size"), updated_at=bindparam("now")),
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

    def run(self, conn: Connection) -> bool:
        """The whole transaction; False when ``existing_only`` and the blob has no row."""
        sql = _statements(self.dialect)
        if self.existing_only:
            if conn.scalar(sql.lock_blob, {"digest": self.digest}) is None:
                return False
        else:
            # Twice at most: a row a sweep deletes while we wait on its lock is gone when the
            # lock is granted, and the second insert records it again.
            for _attempt in range(3):
                conn.execute(
                    sql.add_blob,
                    {"digest": self.digest, "size": self.size, "created_at": self.now},
                )
                if conn.scalar(sql.lock_blob, {"digest": self.digest}) is not None:
                    break
            else:  # pragma: no cover - needs three sweeps of one blob in a row
                raise RuntimeError(f"blob {self.digest} deleted while being linked")
        repo_id = self._repository_id(conn, sql)
        conn.execute(
            sql.upsert_link,
            {"repository_id": repo_id, "digest": self.digest, "created_at": self.now},
        )
        if self.finished_upload is not None:
            conn.execute(sql.delete_upload, {"upload_id": self.finished_upload})
        return True

    def _repository_id(self, conn: Connection, sql: _Statements) -> int:
        repo_id = conn.scalar(sql.repository_id, {"repository": self.name})
        if repo_id is None:
            conn.execute(
                sql.add_repository,
                {
                    "name": self.name,
                    "namespace": self.name.split("/", 1)[0],
                    "is_private": self.default_private,
                    "created_at": self.now,
                },
            )
            repo_id = conn.scalar(sql.repository_id, {"repository": self.name})
        assert repo_id is not None
        return int(repo_id)


def add_upload(dialect: str, upload_id: str, name: str, now: datetime) -> Any:
    """A step recording a new upload session."""

    def run(conn: Connection) -> None:
        conn.execute(
            _statements(dialect).add_upload,
            {"id": upload_id, "repository": name, "size": 0, "created_at": now, "updated_at": now},
        )

    return run


def set_upload_size(dialect: str, upload_id: str, size: int, now: datetime) -> Any:
    """A step recording how much an upload has received."""

    def run(conn: Connection) -> None:
        conn.execute(
            _statements(dialect).set_upload_size,
            {"upload_id": upload_id, "size": size, "now": now},
        )

    return run
