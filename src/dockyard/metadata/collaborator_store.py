"""Queries of the collaborators of personal repositories: who may do what, besides the owner.

What a collaborator may do is the permission policy's business (``auth.policy``), fed by
``HubStore.repository_access``; this module adds, changes, removes and lists the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from dockyard.metadata.db import Database
from dockyard.metadata.hub_tables import repository_collaborators, users
from dockyard.metadata.store import utcnow


@dataclass(frozen=True, slots=True)
class CollaboratorRecord:
    """A user's permission on a personal repository."""

    username: str
    permission: str
    created_at: datetime


_COLUMNS = (
    users.c.username,
    repository_collaborators.c.permission,
    repository_collaborators.c.created_at,
)


class CollaboratorStore:
    """The ``repository_collaborators`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, repository_id: int, user_id: int, permission: str) -> bool:
        """Make a user a collaborator; False (and nothing changed) when they already are."""
        insert = (
            self.db.insert(repository_collaborators)
            .values(
                repository_id=repository_id,
                user_id=user_id,
                permission=permission,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["repository_id", "user_id"])
            .returning(repository_collaborators.c.user_id)
        )
        async with self.db.write() as conn:
            # RETURNING says whether a row went in (rowcount of an upsert varies by driver)
            return (await conn.execute(insert)).first() is not None

    async def set_permission(self, repository_id: int, user_id: int, permission: str) -> bool:
        """Change a collaborator's permission; False when the user is no collaborator."""
        async with self.db.write() as conn:
            result = await conn.execute(
                update(repository_collaborators)
                .where(
                    repository_collaborators.c.repository_id == repository_id,
                    repository_collaborators.c.user_id == user_id,
                )
                .values(permission=permission)
            )
        return bool(result.rowcount)

    async def remove(self, repository_id: int, user_id: int) -> bool:
        """Remove a collaborator; False when the user was none."""
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(repository_collaborators).where(
                    repository_collaborators.c.repository_id == repository_id,
                    repository_collaborators.c.user_id == user_id,
                )
            )
        return bool(result.rowcount)

    async def get(self, repository_id: int, user_id: int) -> CollaboratorRecord | None:
        """One collaborator of the repository."""
        stmt = (
            select(*_COLUMNS)
            .join(users, users.c.id == repository_collaborators.c.user_id)
            .where(
                repository_collaborators.c.repository_id == repository_id,
                repository_collaborators.c.user_id == user_id,
            )
        )
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else CollaboratorRecord(str(row[0]), str(row[1]), row[2])

    async def of_repository(self, repository_id: int) -> list[CollaboratorRecord]:
        """Every collaborator of the repository, by username."""
        stmt = (
            select(*_COLUMNS)
            .join(users, users.c.id == repository_collaborators.c.user_id)
            .where(repository_collaborators.c.repository_id == repository_id)
            .order_by(self.db.bytewise(users.c.username))
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [CollaboratorRecord(str(u), str(p), created) for u, p, created in rows]
