"""Queries of the signed-in web sessions (``web_sessions``).

A row is a session: the browser's cookie carries a random token, the row's id is its sha256
(computed by the web layer; this module sees ids only). A session is active while its row
exists and ``expires_at`` is in the future; ending it deletes the row. Expired rows are
deleted in bounded batches whenever a session starts, and a user keeps at most
:data:`MAX_PER_USER` sessions (the least recently seen go first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dockyard.metadata.db import Database
from dockyard.metadata.hub_tables import users, web_sessions
from dockyard.metadata.store import aware_utc, utcnow

#: ``last_seen_at`` is written at most this often per session (not on every page view).
TOUCH_INTERVAL = timedelta(minutes=1)
#: Expired rows deleted at most per sign-in.
PURGE_BATCH = 500
#: Active sessions a user may have; signing in once more ends the least recently seen.
MAX_PER_USER = 100
#: The columns' lengths: a longer user agent or address is cut.
USER_AGENT_LENGTH = 256
IP_LENGTH = 64


@dataclass(frozen=True, slots=True)
class WebSessionRecord:
    """One signed-in browser session."""

    id: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str
    ip: str


_COLUMNS = (
    web_sessions.c.id,
    web_sessions.c.user_id,
    web_sessions.c.created_at,
    web_sessions.c.last_seen_at,
    web_sessions.c.expires_at,
    web_sessions.c.user_agent,
    web_sessions.c.ip,
)


def _record(row: Sequence[Any]) -> WebSessionRecord:
    return WebSessionRecord(
        id=row[0],
        user_id=row[1],
        created_at=aware_utc(row[2]),
        last_seen_at=aware_utc(row[3]),
        expires_at=aware_utc(row[4]),
        user_agent=row[5],
        ip=row[6],
    )


def _text(value: str, length: int) -> str:
    """``value`` cut to the column's length, without NUL (which PostgreSQL cannot store)."""
    return value.replace("\x00", "\ufffd")[:length]


class WebSessionStore:
    """The ``web_sessions`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        session_id: str,
        user_id: int,
        *,
        lifetime: timedelta,
        user_agent: str = "",
        ip: str = "",
        now: datetime | None = None,
    ) -> WebSessionRecord:
        """Start a session of ``user_id`` lasting ``lifetime``; in the same transaction, end the
        user's least recently seen sessions beyond :data:`MAX_PER_USER` and delete a batch of
        expired rows."""
        now = now or utcnow()
        record = WebSessionRecord(
            id=session_id,
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            user_agent=_text(user_agent, USER_AGENT_LENGTH),
            ip=_text(ip, IP_LENGTH),
        )
        async with self.db.write() as conn:
            await conn.execute(
                web_sessions.insert().values(
                    id=record.id,
                    user_id=record.user_id,
                    created_at=record.created_at,
                    last_seen_at=record.last_seen_at,
                    expires_at=record.expires_at,
                    user_agent=record.user_agent,
                    ip=record.ip,
                )
            )
            surplus = (
                select(web_sessions.c.id)
                .where(web_sessions.c.user_id == user_id)
                .order_by(web_sessions.c.last_seen_at.desc(), web_sessions.c.id)
                .offset(MAX_PER_USER)
            )
            await conn.execute(delete(web_sessions).where(web_sessions.c.id.in_(surplus)))
            await _purge(conn, now, PURGE_BATCH)
        return record

    async def get(self, session_id: str, now: datetime | None = None) -> WebSessionRecord | None:
        """The session ``session_id`` if it exists and has not expired."""
        now = now or utcnow()
        stmt = select(*_COLUMNS).where(
            web_sessions.c.id == session_id, web_sessions.c.expires_at > now
        )
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _record(row)

    async def touch(self, session_id: str, ip: str, now: datetime | None = None) -> bool:
        """Note that the session was seen now from ``ip``, unless that was noted less than
        :data:`TOUCH_INTERVAL` ago (then nothing is written); True when written."""
        now = now or utcnow()
        stmt = (
            update(web_sessions)
            .where(
                web_sessions.c.id == session_id,
                web_sessions.c.last_seen_at <= now - TOUCH_INTERVAL,
            )
            .values(last_seen_at=now, ip=_text(ip, IP_LENGTH))
        )
        async with self.db.write() as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def list_for_user(
        self, user_id: int, now: datetime | None = None, limit: int = MAX_PER_USER
    ) -> list[WebSessionRecord]:
        """The user's active sessions, the most recently seen first."""
        now = now or utcnow()
        stmt = (
            select(*_COLUMNS)
            .where(web_sessions.c.user_id == user_id, web_sessions.c.expires_at > now)
            .order_by(web_sessions.c.last_seen_at.desc(), web_sessions.c.id)
            .limit(limit)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_record(row) for row in rows]

    async def delete(self, session_id: str, user_id: int | None = None) -> bool:
        """End a session (only if it is ``user_id``'s, when given); False when there was none."""
        stmt = delete(web_sessions).where(web_sessions.c.id == session_id)
        if user_id is not None:
            stmt = stmt.where(web_sessions.c.user_id == user_id)
        async with self.db.write() as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def delete_for_user(self, user_id: int, *, keep: str | None = None) -> int:
        """End every session of ``user_id`` but ``keep``; how many ended."""
        async with self.db.write() as conn:
            return await _delete_for_user(conn, user_id, keep)

    async def change_password(
        self, user_id: int, password_hash: str, *, keep: str | None = None
    ) -> int:
        """Replace the user's password hash and end every session of theirs but ``keep``, in
        one transaction; how many sessions ended."""
        async with self.db.write() as conn:
            await conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
            return await _delete_for_user(conn, user_id, keep)

    async def purge_expired(self, now: datetime | None = None, limit: int = PURGE_BATCH) -> int:
        """Delete at most ``limit`` expired sessions; how many went."""
        async with self.db.write() as conn:
            return await _purge(conn, now or utcnow(), limit)


async def _delete_for_user(conn: AsyncConnection, user_id: int, keep: str | None) -> int:
    stmt = delete(web_sessions).where(web_sessions.c.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(web_sessions.c.id != keep)
    return int((await conn.execute(stmt)).rowcount or 0)


async def _purge(conn: AsyncConnection, now: datetime, limit: int) -> int:
    expired = select(web_sessions.c.id).where(web_sessions.c.expires_at <= now).limit(limit)
    result = await conn.execute(delete(web_sessions).where(web_sessions.c.id.in_(expired)))
    return int(result.rowcount or 0)
