"""Queries of the Hub's metadata: users, organizations, teams, tokens, audit log, throttling."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.metadata.db import Database
from dockyard.metadata.hub_tables import (
    access_tokens,
    audit_events,
    login_throttle,
    namespaces,
    organization_members,
    organizations,
    refresh_tokens,
    repository_collaborators,
    team_members,
    team_permissions,
    teams,
    users,
)
from dockyard.metadata.prepared import Prepared
from dockyard.metadata.store import utcnow
from dockyard.metadata.tables import repositories


class NameTaken(Exception):
    """The username, organization name or email is already in use."""


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user account."""

    id: int
    username: str
    email: str
    full_name: str
    password_hash: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class AccessTokenRecord:
    """A personal access token (its secret is not stored, only a hash)."""

    id: str
    user_id: int
    label: str
    scopes: tuple[str, ...]
    is_active: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    username: str = ""


@dataclass(frozen=True, slots=True)
class RepositoryAccessRow:
    """The facts about a repository and a user that the permission policy reads."""

    exists: bool
    is_private: bool
    namespace_kind: str | None
    org_role: str | None
    team_permissions: list[str]
    #: The user's permission as a collaborator (personal repositories only).
    collaborator_permission: str | None = None


@dataclass(frozen=True, slots=True)
class TeamRecord:
    """A team of an organization."""

    id: int
    organization: str
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry of the audit log."""

    id: int
    created_at: datetime
    actor: str
    actor_ip: str
    action: str
    namespace: str
    target: str
    detail: dict[str, Any]


_USER_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.email,
    users.c.full_name,
    users.c.password_hash,
    users.c.is_admin,
    users.c.is_active,
    users.c.created_at,
    users.c.last_login_at,
)
_TOKEN_COLUMNS = (
    access_tokens.c.id,
    access_tokens.c.user_id,
    access_tokens.c.label,
    access_tokens.c.scopes,
    access_tokens.c.is_active,
    access_tokens.c.created_at,
    access_tokens.c.expires_at,
    access_tokens.c.last_used_at,
)


def _user(row: Sequence[Any]) -> UserRecord:
    return UserRecord(*row)


def _token(row: Sequence[Any], username: str = "") -> AccessTokenRecord:
    return AccessTokenRecord(
        id=row[0],
        user_id=row[1],
        label=row[2],
        scopes=tuple(str(row[3]).split()),
        is_active=bool(row[4]),
        created_at=row[5],
        expires_at=row[6],
        last_used_at=row[7],
        username=username,
    )


class HubStore:
    """The Hub's view of the metadata database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- users ---------------------------------------------------------------------------
    async def create_user(
        self, username: str, email: str, password_hash: str, *, is_admin: bool = False
    ) -> UserRecord:
        """Create a user and its namespace; raises :class:`NameTaken`."""
        now = utcnow()
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    namespaces.insert().values(name=username, kind="user", created_at=now)
                )
                await conn.execute(
                    users.insert().values(
                        username=username,
                        email=email,
                        password_hash=password_hash,
                        is_admin=is_admin,
                        is_active=True,
                        created_at=now,
                    )
                )
        except IntegrityError:
            raise NameTaken(f"username {username!r} or that email is already taken") from None
        user = await self.user_by_name(username)
        assert user is not None
        return user

    async def namespace_kind(self, name: str) -> str | None:
        """ "user", "organization", or None when the name is free."""
        async with self.db.read() as conn:
            kind = await conn.scalar(select(namespaces.c.kind).where(namespaces.c.name == name))
        return None if kind is None else str(kind)

    async def user_by_name(self, username: str) -> UserRecord | None:
        """The user called ``username``."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(select(*_USER_COLUMNS).where(users.c.username == username))
            ).first()
        return None if row is None else _user(row)

    async def user_by_id(self, user_id: int) -> UserRecord | None:
        """The user with ``user_id``."""
        async with self.db.read() as conn:
            row = (await conn.execute(select(*_USER_COLUMNS).where(users.c.id == user_id))).first()
        return None if row is None else _user(row)

    async def set_password(self, user_id: int, password_hash: str) -> None:
        """Replace a user's password hash."""
        async with self.db.write() as conn:
            await conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )

    async def record_login(self, user_id: int) -> None:
        """Note a successful login."""
        async with self.db.write() as conn:
            await conn.execute(
                update(users).where(users.c.id == user_id).values(last_login_at=utcnow())
            )

    async def count_users(self) -> int:
        """How many accounts exist."""
        async with self.db.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(users)) or 0)

    # --- organizations and teams ---------------------------------------------------------
    async def create_organization(self, name: str, owner_id: int) -> None:
        """Create an organization owned by ``owner_id``; raises :class:`NameTaken`."""
        now = utcnow()
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    namespaces.insert().values(name=name, kind="organization", created_at=now)
                )
                result = await conn.execute(
                    organizations.insert().values(name=name, created_at=now)
                )
                org_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
                if org_id is None:
                    org_id = await conn.scalar(
                        select(organizations.c.id).where(organizations.c.name == name)
                    )
                await conn.execute(
                    organization_members.insert().values(
                        organization_id=org_id, user_id=owner_id, role="owner", created_at=now
                    )
                )
        except IntegrityError:
            raise NameTaken(f"the name {name!r} is already taken") from None

    async def organization_id(self, name: str) -> int | None:
        """The id of organization ``name``."""
        async with self.db.read() as conn:
            value = await conn.scalar(
                select(organizations.c.id).where(organizations.c.name == name)
            )
        return None if value is None else int(value)

    async def organization_role(self, org: str, user_id: int) -> str | None:
        """``user_id``'s role in ``org`` ("owner", "member") or None."""
        stmt = (
            select(organization_members.c.role)
            .join(organizations, organizations.c.id == organization_members.c.organization_id)
            .where(organizations.c.name == org, organization_members.c.user_id == user_id)
        )
        async with self.db.read() as conn:
            role = await conn.scalar(stmt)
        return None if role is None else str(role)

    async def set_member(self, org_id: int, user_id: int, role: str) -> None:
        """Add a member to an organization, or change their role."""
        stmt = self.db.insert(organization_members).values(
            organization_id=org_id, user_id=user_id, role=role, created_at=utcnow()
        )
        async with self.db.write() as conn:
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["organization_id", "user_id"], set_={"role": role}
                )
            )

    async def remove_member(self, org_id: int, user_id: int) -> bool:
        """Remove a member from an organization and all its teams."""
        async with self.db.write() as conn:
            team_ids = select(teams.c.id).where(teams.c.organization_id == org_id)
            await conn.execute(
                delete(team_members).where(
                    team_members.c.user_id == user_id, team_members.c.team_id.in_(team_ids)
                )
            )
            result = await conn.execute(
                delete(organization_members).where(
                    organization_members.c.organization_id == org_id,
                    organization_members.c.user_id == user_id,
                )
            )
        return bool(result.rowcount)

    async def members(self, org_id: int) -> list[tuple[str, str]]:
        """``(username, role)`` of every member, by name."""
        stmt = (
            select(users.c.username, organization_members.c.role)
            .join(users, users.c.id == organization_members.c.user_id)
            .where(organization_members.c.organization_id == org_id)
            .order_by(users.c.username)
        )
        async with self.db.read() as conn:
            return [(str(u), str(r)) for u, r in (await conn.execute(stmt)).all()]

    async def create_team(self, org_id: int, name: str, description: str) -> TeamRecord:
        """Create a team; raises :class:`NameTaken`."""
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    teams.insert().values(
                        organization_id=org_id,
                        name=name,
                        description=description,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            raise NameTaken(f"team {name!r} already exists") from None
        team = await self.team(org_id, name)
        assert team is not None
        return team

    async def team(self, org_id: int, name: str) -> TeamRecord | None:
        """The team ``name`` of the organization."""
        stmt = (
            select(teams.c.id, organizations.c.name, teams.c.name, teams.c.description)
            .join(organizations, organizations.c.id == teams.c.organization_id)
            .where(teams.c.organization_id == org_id, teams.c.name == name)
        )
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else TeamRecord(*row)

    async def teams(self, org_id: int) -> list[TeamRecord]:
        """Every team of the organization, by name (code point order, on every database)."""
        stmt = (
            select(teams.c.id, organizations.c.name, teams.c.name, teams.c.description)
            .join(organizations, organizations.c.id == teams.c.organization_id)
            .where(teams.c.organization_id == org_id)
            .order_by(self.db.bytewise(teams.c.name))
        )
        async with self.db.read() as conn:
            return [TeamRecord(*row) for row in (await conn.execute(stmt)).all()]

    async def update_team(self, team_id: int, *, name: str | None, description: str | None) -> None:
        """Rename a team or change its description."""
        values: dict[str, str] = {}
        if name is not None:
            values["name"] = name
        if description is not None:
            values["description"] = description
        if not values:
            return
        try:
            async with self.db.write() as conn:
                await conn.execute(update(teams).where(teams.c.id == team_id).values(**values))
        except IntegrityError:
            raise NameTaken(f"team {name!r} already exists") from None

    async def delete_team(self, team_id: int) -> None:
        """Delete a team with its memberships and permissions."""
        async with self.db.write() as conn:
            await conn.execute(delete(team_members).where(team_members.c.team_id == team_id))
            await conn.execute(
                delete(team_permissions).where(team_permissions.c.team_id == team_id)
            )
            await conn.execute(delete(teams).where(teams.c.id == team_id))

    async def add_team_member(self, team_id: int, user_id: int) -> None:
        """Put a user in a team (idempotent)."""
        async with self.db.write() as conn:
            await conn.execute(
                self.db.insert(team_members)
                .values(team_id=team_id, user_id=user_id)
                .on_conflict_do_nothing(index_elements=["team_id", "user_id"])
            )

    async def remove_team_member(self, team_id: int, user_id: int) -> bool:
        """Take a user out of a team."""
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(team_members).where(
                    team_members.c.team_id == team_id, team_members.c.user_id == user_id
                )
            )
        return bool(result.rowcount)

    async def team_members(self, team_id: int) -> list[str]:
        """Usernames of a team's members."""
        stmt = (
            select(users.c.username)
            .join(team_members, team_members.c.user_id == users.c.id)
            .where(team_members.c.team_id == team_id)
            .order_by(users.c.username)
        )
        async with self.db.read() as conn:
            return [str(u) for u in (await conn.scalars(stmt)).all()]

    async def set_team_permission(self, team_id: int, repository_id: int, permission: str) -> None:
        """Grant a team read, write or admin on a repository."""
        stmt = self.db.insert(team_permissions).values(
            team_id=team_id, repository_id=repository_id, permission=permission
        )
        async with self.db.write() as conn:
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["team_id", "repository_id"], set_={"permission": permission}
                )
            )

    async def remove_team_permission(self, team_id: int, repository_id: int) -> bool:
        """Withdraw a team's permission on a repository."""
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(team_permissions).where(
                    team_permissions.c.team_id == team_id,
                    team_permissions.c.repository_id == repository_id,
                )
            )
        return bool(result.rowcount)

    async def repository_team_permissions(self, repository_id: int) -> list[tuple[str, str]]:
        """``(team name, permission)`` on a repository."""
        stmt = (
            select(teams.c.name, team_permissions.c.permission)
            .join(teams, teams.c.id == team_permissions.c.team_id)
            .where(team_permissions.c.repository_id == repository_id)
            .order_by(self.db.bytewise(teams.c.name))
        )
        async with self.db.read() as conn:
            return [(str(t), str(p)) for t, p in (await conn.execute(stmt)).all()]

    # --- what the policy needs -----------------------------------------------------------
    async def repository_access(self, name: str, user_id: int | None) -> RepositoryAccessRow:
        """Existence, visibility and the user's relations to repository ``name``."""
        namespace = name.split("/", 1)[0]
        async with self.db.read() as conn:
            repo = (
                await conn.execute(
                    select(repositories.c.id, repositories.c.is_private).where(
                        repositories.c.name == name
                    )
                )
            ).first()
            kind = await conn.scalar(
                select(namespaces.c.kind).where(namespaces.c.name == namespace)
            )
            role = None
            permissions: list[str] = []
            collaborator = None
            if user_id is not None and kind == "user" and repo is not None:
                collaborator = await conn.scalar(
                    select(repository_collaborators.c.permission).where(
                        repository_collaborators.c.repository_id == repo[0],
                        repository_collaborators.c.user_id == user_id,
                    )
                )
            if user_id is not None and kind == "organization":
                role = await conn.scalar(
                    select(organization_members.c.role)
                    .join(
                        organizations, organizations.c.id == organization_members.c.organization_id
                    )
                    .where(
                        organizations.c.name == namespace, organization_members.c.user_id == user_id
                    )
                )
                if repo is not None:
                    permissions = [
                        str(p)
                        for p in (
                            await conn.scalars(
                                select(team_permissions.c.permission)
                                .join(
                                    team_members,
                                    team_members.c.team_id == team_permissions.c.team_id,
                                )
                                .where(
                                    team_permissions.c.repository_id == repo[0],
                                    team_members.c.user_id == user_id,
                                )
                            )
                        ).all()
                    ]
        return RepositoryAccessRow(
            exists=repo is not None,
            is_private=bool(repo[1]) if repo is not None else False,
            namespace_kind=None if kind is None else str(kind),
            org_role=None if role is None else str(role),
            team_permissions=permissions,
            collaborator_permission=None if collaborator is None else str(collaborator),
        )

    def readable_repositories_condition(self, user_id: int | None, is_admin: bool) -> Any:
        """A WHERE clause on ``repositories`` selecting what the user may read.

        The same rules as ``auth.policy.allowed_actions`` grants ``pull`` by: public, the
        user's own namespace, organizations they own, their teams' and their collaborations'
        repositories (collaborator rows exist only for repositories in a user's namespace).
        """
        if is_admin:
            return True
        public = repositories.c.is_private.is_(False)
        if user_id is None:
            return public
        own = (
            repositories.c.namespace
            == select(users.c.username).where(users.c.id == user_id).scalar_subquery()
        )
        owned_orgs = (
            select(organizations.c.name)
            .join(
                organization_members, organization_members.c.organization_id == organizations.c.id
            )
            .where(
                organization_members.c.user_id == user_id, organization_members.c.role == "owner"
            )
        )
        team_granted = exists().where(
            and_(
                team_permissions.c.repository_id == repositories.c.id,
                team_members.c.team_id == team_permissions.c.team_id,
                team_members.c.user_id == user_id,
            )
        )
        collaborating = exists().where(
            and_(
                repository_collaborators.c.repository_id == repositories.c.id,
                repository_collaborators.c.user_id == user_id,
            )
        )
        return or_(
            public, own, repositories.c.namespace.in_(owned_orgs), team_granted, collaborating
        )

    # --- personal access tokens ----------------------------------------------------------
    async def create_access_token(
        self,
        token_id: str,
        user_id: int,
        label: str,
        token_hash: str,
        scopes: Sequence[str],
        expires_at: datetime | None,
    ) -> AccessTokenRecord:
        """Store a new personal access token."""
        async with self.db.write() as conn:
            await conn.execute(
                access_tokens.insert().values(
                    id=token_id,
                    user_id=user_id,
                    label=label,
                    token_hash=token_hash,
                    scopes=" ".join(scopes),
                    is_active=True,
                    created_at=utcnow(),
                    expires_at=expires_at,
                )
            )
        record = await self.access_token(token_id)
        assert record is not None
        return record

    async def access_token(self, token_id: str) -> AccessTokenRecord | None:
        """The token with that id."""
        stmt = (
            select(*_TOKEN_COLUMNS, users.c.username)
            .join(users, users.c.id == access_tokens.c.user_id)
            .where(access_tokens.c.id == token_id)
        )
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _token(row[:-1], str(row[-1]))

    async def access_token_by_hash(self, token_hash: str) -> AccessTokenRecord | None:
        """The token whose secret hashes to ``token_hash``."""
        stmt = (
            select(*_TOKEN_COLUMNS, users.c.username)
            .join(users, users.c.id == access_tokens.c.user_id)
            .where(access_tokens.c.token_hash == token_hash)
        )
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _token(row[:-1], str(row[-1]))

    async def access_tokens(
        self, user_id: int, *, offset: int, limit: int
    ) -> tuple[int, list[AccessTokenRecord]]:
        """A page of a user's tokens, newest first, with the total count."""
        async with self.db.read() as conn:
            total = await conn.scalar(
                select(func.count())
                .select_from(access_tokens)
                .where(access_tokens.c.user_id == user_id)
            )
            rows = (
                await conn.execute(
                    select(*_TOKEN_COLUMNS)
                    .where(access_tokens.c.user_id == user_id)
                    .order_by(access_tokens.c.created_at.desc(), access_tokens.c.id)
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
        return int(total or 0), [_token(r) for r in rows]

    async def update_access_token(
        self, token_id: str, *, label: str | None, is_active: bool | None
    ) -> None:
        """Rename, activate or deactivate a token."""
        values: dict[str, Any] = {}
        if label is not None:
            values["label"] = label
        if is_active is not None:
            values["is_active"] = is_active
        if values:
            async with self.db.write() as conn:
                await conn.execute(
                    update(access_tokens).where(access_tokens.c.id == token_id).values(**values)
                )

    async def delete_access_token(self, token_id: str) -> None:
        """Delete a token (and the refresh tokens obtained with it)."""
        async with self.db.write() as conn:
            await conn.execute(
                delete(refresh_tokens).where(refresh_tokens.c.access_token_id == token_id)
            )
            await conn.execute(delete(access_tokens).where(access_tokens.c.id == token_id))

    async def touch_access_token(self, token_id: str, address: str) -> None:
        """Record when and from where a token was last used."""
        async with self.db.write() as conn:
            await conn.execute(
                update(access_tokens)
                .where(access_tokens.c.id == token_id)
                .values(last_used_at=utcnow(), last_used_ip=address[:64])
            )

    # --- refresh tokens ------------------------------------------------------------------
    async def create_refresh_token(
        self,
        token_id: str,
        user_id: int,
        token_hash: str,
        expires_at: datetime,
        access_token_id: str | None,
    ) -> None:
        """Store a refresh token (offline token) by its hash."""
        async with self.db.write() as conn:
            await conn.execute(
                refresh_tokens.insert().values(
                    id=token_id,
                    user_id=user_id,
                    token_hash=token_hash,
                    access_token_id=access_token_id,
                    created_at=utcnow(),
                    expires_at=expires_at,
                    revoked=False,
                )
            )

    async def refresh_token(self, token_hash: str) -> tuple[int, str | None, datetime, bool] | None:
        """``(user_id, access_token_id, expires_at, revoked)`` of a refresh token."""
        stmt = select(
            refresh_tokens.c.user_id,
            refresh_tokens.c.access_token_id,
            refresh_tokens.c.expires_at,
            refresh_tokens.c.revoked,
        ).where(refresh_tokens.c.token_hash == token_hash)
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else (int(row[0]), row[1], row[2], bool(row[3]))

    # --- audit log -----------------------------------------------------------------------
    async def audit(
        self,
        action: str,
        *,
        actor: str = "",
        actor_ip: str = "",
        namespace: str = "",
        target: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append an event to the audit log."""
        async with self.db.write() as conn:
            await conn.execute(
                AUDIT_INSERT,
                audit_row(
                    action,
                    actor=actor,
                    actor_ip=actor_ip,
                    namespace=namespace,
                    target=target,
                    detail=detail,
                ),
            )

    async def audit_events(
        self, *, namespace: str | None, offset: int, limit: int, action: str | None = None
    ) -> tuple[int, list[AuditEvent]]:
        """A page of audit events, newest first, optionally of one namespace or action."""
        conditions = []
        if namespace is not None:
            conditions.append(audit_events.c.namespace == namespace)
        if action is not None:
            conditions.append(audit_events.c.action == action)
        where = and_(True, *conditions)
        async with self.db.read() as conn:
            total = await conn.scalar(select(func.count()).select_from(audit_events).where(where))
            rows = (
                await conn.execute(
                    select(
                        audit_events.c.id,
                        audit_events.c.created_at,
                        audit_events.c.actor,
                        audit_events.c.actor_ip,
                        audit_events.c.action,
                        audit_events.c.namespace,
                        audit_events.c.target,
                        audit_events.c.detail,
                    )
                    .where(where)
                    .order_by(audit_events.c.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
        events = [AuditEvent(*row[:7], detail=json.loads(row[7] or "{}")) for row in rows]
        return int(total or 0), events

    # --- login throttling ----------------------------------------------------------------
    async def failures(self, key: str, window: timedelta) -> tuple[int, datetime | None]:
        """Failed logins of ``key`` within the current window and when that window began."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(login_throttle.c.failures, login_throttle.c.window_start).where(
                        login_throttle.c.key == key
                    )
                )
            ).first()
        if row is None:
            return 0, None
        start = _aware(row[1])
        if start + window < utcnow():
            return 0, None
        return int(row[0]), start

    async def add_failure(self, key: str, window: timedelta) -> None:
        """Count one failed login of ``key`` (a new window starts when the old one ended)."""
        now = utcnow()
        async with self.db.write() as conn:
            row = (
                await conn.execute(
                    select(login_throttle.c.window_start).where(login_throttle.c.key == key)
                )
            ).first()
            if row is None or _aware(row[0]) + window < now:
                stmt = self.db.insert(login_throttle).values(key=key, failures=1, window_start=now)
                await conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["key"], set_={"failures": 1, "window_start": now}
                    )
                )
            else:
                await conn.execute(
                    update(login_throttle)
                    .where(login_throttle.c.key == key)
                    .values(failures=login_throttle.c.failures + 1)
                )

    async def clear_failures(self, key: str) -> None:
        """Forget failed logins of ``key`` (after a success)."""
        async with self.db.write() as conn:
            await conn.execute(delete(login_throttle).where(login_throttle.c.key == key))


def _aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RepositoryRecord:
    """A repository as the Hub shows it."""

    id: int
    name: str
    namespace: str
    is_private: bool
    description: str
    full_description: str
    created_at: datetime
    pull_count: int = 0
    star_count: int = 0
    last_pulled_at: datetime | None = None
    last_pushed_at: datetime | None = None


_REPO_COLUMNS = (
    repositories.c.id,
    repositories.c.name,
    repositories.c.namespace,
    repositories.c.is_private,
    repositories.c.description,
    repositories.c.full_description,
    repositories.c.created_at,
    repositories.c.pull_count,
    repositories.c.star_count,
    repositories.c.last_pulled_at,
    repositories.c.last_pushed_at,
)
#: The columns of a :class:`RepositoryRecord`, in field order (for queries elsewhere).
REPOSITORY_COLUMNS = _REPO_COLUMNS


class RepositoryStore:
    """Hub-side queries of repositories (the registry creates them on first push)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, name: str) -> RepositoryRecord | None:
        """The repository called ``name``."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(select(*_REPO_COLUMNS).where(repositories.c.name == name))
            ).first()
        return None if row is None else RepositoryRecord(*row)

    async def create(
        self, name: str, *, is_private: bool, description: str, full_description: str
    ) -> RepositoryRecord:
        """Create a repository explicitly; raises :class:`NameTaken` when it exists."""
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    repositories.insert().values(
                        name=name,
                        namespace=name.split("/", 1)[0],
                        is_private=is_private,
                        description=description,
                        full_description=full_description,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            raise NameTaken(f"repository {name!r} already exists") from None
        record = await self.get(name)
        assert record is not None
        return record

    async def update(self, repository_id: int, **values: Any) -> None:
        """Change visibility or descriptions."""
        if values:
            async with self.db.write() as conn:
                await conn.execute(
                    update(repositories).where(repositories.c.id == repository_id).values(**values)
                )


#: Appends one audit event; execute it with :func:`audit_row`'s parameters.
AUDIT_INSERT = audit_events.insert()
#: :data:`AUDIT_INSERT` for a synchronous step's transaction (see ``web.audit.record_in``).
AUDIT_INSERT_PREPARED = Prepared(AUDIT_INSERT)


def audit_row(
    action: str,
    *,
    actor: str = "",
    actor_ip: str = "",
    namespace: str = "",
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The parameters of :data:`AUDIT_INSERT` for one event (run alone or in a transaction)."""
    return {
        "created_at": utcnow(),
        "actor": actor[:255],
        "actor_ip": actor_ip[:64],
        "action": action[:64],
        "namespace": namespace[:255],
        "target": target[:512],
        "detail": json.dumps(detail or {}, sort_keys=True),
    }
