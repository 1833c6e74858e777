"""Queries the web pages need about namespaces: who a name belongs to, a user's organizations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from dockyard.metadata.db import Database
from dockyard.metadata.hub_tables import namespaces, organization_members, organizations, users


@dataclass(frozen=True, slots=True)
class NamespaceRecord:
    """A user's or an organization's name, with its kind and when it was taken."""

    name: str
    kind: str
    full_name: str
    created_at: datetime
    #: Members of an organization (0 for a user).
    members: int


class ProfileStore:
    """Namespaces and memberships."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def namespace(self, name: str) -> NamespaceRecord | None:
        """The user or organization called ``name`` (inactive users are left out)."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(namespaces.c.kind, namespaces.c.created_at).where(
                        namespaces.c.name == name
                    )
                )
            ).first()
            if row is None:
                return None
            kind = str(row[0])
            if kind == "user":
                user = (
                    await conn.execute(
                        select(users.c.full_name, users.c.is_active).where(users.c.username == name)
                    )
                ).first()
                if user is None or not user[1]:
                    return None
                return NamespaceRecord(name, kind, str(user[0] or ""), row[1], 0)
            org = (
                await conn.execute(
                    select(organizations.c.id, organizations.c.full_name).where(
                        organizations.c.name == name
                    )
                )
            ).first()
            if org is None:
                return None
            members = await conn.scalar(
                select(func.count())
                .select_from(organization_members)
                .where(organization_members.c.organization_id == org[0])
            )
        return NamespaceRecord(name, kind, str(org[1] or ""), row[1], int(members or 0))

    async def memberships(self, user_id: int) -> list[tuple[str, str]]:
        """``(organization, role)`` of every organization the user belongs to, by name."""
        stmt = (
            select(organizations.c.name, organization_members.c.role)
            .join(
                organization_members, organization_members.c.organization_id == organizations.c.id
            )
            .where(organization_members.c.user_id == user_id)
            .order_by(organizations.c.name)
        )
        async with self.db.read() as conn:
            return [(str(o), str(r)) for o, r in (await conn.execute(stmt)).all()]
