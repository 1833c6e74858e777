"""Database engines: SQLite (default) or PostgreSQL, with explicit read and write transactions.

On SQLite, writes use ``BEGIN IMMEDIATE`` on their own engine so concurrent writers queue on
the busy timeout instead of failing, while reads (WAL mode) never block.

Hot paths run a whole transaction as one synchronous function (:meth:`Database.run_write`,
:meth:`Database.run_read`) of prebuilt statements (:mod:`dockyard.metadata.prepared`): on
SQLite that is one hop to a database thread and the statements run on the ``sqlite3`` cursor,
on PostgreSQL the function runs on the pooled async connection (``run_sync``). See
docs/performance.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.elements import ColumnElement

from dockyard.metadata.prepared import ConnectionTransaction, CursorTransaction, Transaction

#: Run on every new connection. The busy timeout comes first: a connection opened while
#: another one writes must wait on ``journal_mode`` rather than fail "database is locked".
SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=30000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)

#: How long opening a connection retries a pragma that found the database locked.
SQLITE_OPEN_RETRY_SECONDS = 10.0

#: Threads that run synchronous SQLite write transactions (writers are serialized anyway).
SQLITE_WRITE_THREADS = 4
#: Threads (and connections) that run synchronous SQLite reads (WAL: they never block).
SQLITE_READ_THREADS = 4

T = TypeVar("T")

__all__ = ["Database", "Transaction", "async_url", "sync_url"]


def async_url(url: str) -> URL:
    """The async-driver form of a database URL (aiosqlite or psycopg)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}")


def sync_url(url: str) -> URL:
    """The sync-driver form of a database URL, used by migrations."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}")


def _configure_sqlite(dbapi_connection: Any) -> None:
    """Apply :data:`SQLITE_PRAGMAS` to a new connection.

    Opening a WAL database can answer "database is locked" at once, without waiting on the
    busy handler, while another connection resets the WAL (SQLite's recovery and checkpoint
    locks): such a pragma is retried for up to :data:`SQLITE_OPEN_RETRY_SECONDS`.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            deadline = time.monotonic() + SQLITE_OPEN_RETRY_SECONDS
            while True:
                try:
                    cursor.execute(pragma)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
    finally:
        cursor.close()


def _sqlite_engine(url: URL, begin: str, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=60)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _configure_sqlite(dbapi_connection)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def _sqlite_sync_engine(url: URL, begin: str, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _configure_sqlite(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """Owns the engines; hands out connections inside a transaction."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        parsed = async_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self._read = _sqlite_engine(parsed, "BEGIN", pool_size)
            self._write = _sqlite_engine(parsed, "BEGIN IMMEDIATE", 4)
            self._sync_write: Engine | None = _sqlite_sync_engine(
                sync_url(url), "BEGIN IMMEDIATE", SQLITE_WRITE_THREADS
            )
            self._sync_read: Engine | None = _sqlite_sync_engine(
                sync_url(url), "BEGIN", SQLITE_READ_THREADS
            )
            self._threads: ThreadPoolExecutor | None = ThreadPoolExecutor(
                SQLITE_WRITE_THREADS, thread_name_prefix="dockyard-db"
            )
            self._read_threads: ThreadPoolExecutor | None = ThreadPoolExecutor(
                SQLITE_READ_THREADS, thread_name_prefix="dockyard-db-read"
            )
        else:
            self._sync_write = None
            self._sync_read = None
            self._threads = None
            self._read_threads = None
            engine = create_async_engine(
                parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self._read = self._write = engine

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a read transaction."""
        async with self._read.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction, committed on success."""
        async with self._write.begin() as conn:
            yield conn

    async def run_write(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in one write transaction, committed when it returns, in a single step.

        ``work`` must not block on anything but the database. On SQLite it runs in a database
        thread on the ``sqlite3`` cursor (``BEGIN IMMEDIATE``); on PostgreSQL on the async
        connection's greenlet, so no thread is involved.
        """
        if self._sync_write is None or self._threads is None:
            async with self.write() as conn:
                return await conn.run_sync(lambda sync: work(ConnectionTransaction(sync)))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._threads, self._run_sqlite, self._sync_write, "BEGIN IMMEDIATE", work
        )

    async def run_read(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in one read transaction in a single step (see :meth:`run_write`).

        For the hot paths' lookups (a blob of a repository, a manifest by tag).
        """
        if self._sync_read is None or self._read_threads is None:
            async with self.read() as conn:
                return await conn.run_sync(lambda sync: work(ConnectionTransaction(sync)))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._read_threads, self._run_sqlite, self._sync_read, "BEGIN", work
        )

    def _run_sqlite(self, engine: Engine, begin: str, work: Callable[[Transaction], T]) -> T:
        """``work`` in a transaction on a pooled connection's cursor (a database thread)."""
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(begin)
                result = work(CursorTransaction(cursor, engine.dialect))
                cursor.execute("COMMIT")
                return result
            except BaseException:
                # SQLite may have rolled back already (disk full, I/O error).
                if raw.driver_connection is not None and raw.driver_connection.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
        finally:
            raw.close()

    def bytewise(self, expr: ColumnElement[str]) -> ColumnElement[str]:
        """``expr`` compared and ordered by code point (the spec's "lexical" order).

        SQLite compares text bytewise already; PostgreSQL uses the database's collation, which
        on an ``en_US.UTF-8`` server puts ``a_b`` before ``a-c`` and ``v1`` before ``V1``.
        """
        if self.dialect == "postgresql":
            return expr.collate("C")
        return expr

    def insert(self, table: Table) -> Any:
        """A dialect insert that supports ``on_conflict_do_nothing``/``_update``."""
        if self.dialect == "sqlite":
            return sqlite.insert(table)
        return postgresql.insert(table)

    async def close(self) -> None:
        """Dispose of every pooled connection."""
        await self._read.dispose()
        if self._write is not self._read:
            await self._write.dispose()
        for engine in (self._sync_write, self._sync_read):
            if engine is not None:
                engine.dispose()
        for threads in (self._threads, self._read_threads):
            if threads is not None:
                threads.shutdown(wait=False)
