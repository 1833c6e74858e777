"""Opening a SQLite connection: pragmas in order, retried while the database is locked."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from dockyard.metadata import db
from dockyard.metadata.db import SQLITE_PRAGMAS, _configure_sqlite


class FlakyCursor:
    def __init__(self, failures: int, message: str = "database is locked") -> None:
        self.failures = failures
        self.message = message
        self.executed: list[str] = []

    def execute(self, statement: str) -> None:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError(self.message)
        self.executed.append(statement)

    def close(self) -> None:
        pass


class FakeConnection:
    def __init__(self, cursor: FlakyCursor) -> None:
        self._cursor = cursor
        self.isolation_level: Any = "DEFERRED"

    def cursor(self) -> FlakyCursor:
        return self._cursor


def test_the_busy_timeout_is_set_before_anything_that_locks() -> None:
    assert SQLITE_PRAGMAS[0].startswith("PRAGMA busy_timeout")


def test_a_locked_database_is_retried_until_the_pragmas_apply() -> None:
    cursor = FlakyCursor(failures=3)
    connection = FakeConnection(cursor)
    _configure_sqlite(connection)
    assert cursor.executed == list(SQLITE_PRAGMAS)
    assert connection.isolation_level is None


def test_other_errors_and_a_lock_that_lasts_are_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _configure_sqlite(FakeConnection(FlakyCursor(failures=1, message="disk I/O error")))
    monkeypatch.setattr(db, "SQLITE_OPEN_RETRY_SECONDS", 0.05)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _configure_sqlite(FakeConnection(FlakyCursor(failures=10_000)))
