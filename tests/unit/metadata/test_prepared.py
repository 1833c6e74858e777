"""Prepared statements: the same rows and effects through the DBAPI cursor and SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import InvalidRequestError

from dockyard.metadata.db import Database
from dockyard.metadata.prepared import MAX_FORMS, Prepared, Transaction
from dockyard.metadata.tables import repositories

pytestmark = pytest.mark.anyio

WHEN = datetime(2026, 11, 29, 6, 30, 15, 123456, tzinfo=UTC)

ADD = Prepared(repositories.insert())
BY_NAME = Prepared(
    select(repositories.c.id, repositories.c.is_private, repositories.c.created_at).where(
        repositories.c.name == bindparam("name")
    )
)
NAMES_IN = Prepared(
    select(repositories.c.name)
    .where(repositories.c.name.in_(bindparam("names", expanding=True)))
    .order_by(repositories.c.name)
)
MAKE_PRIVATE = Prepared(
    update(repositories)
    .where(repositories.c.namespace == bindparam("owner"))
    .values(is_private=True)
)
COUNT = Prepared(select(func.count()).select_from(repositories))


def row(name: str, *, private: bool = False) -> dict[str, object]:
    return {
        "name": name,
        "namespace": name.split("/", 1)[0],
        "is_private": private,
        "created_at": WHEN,
    }


async def test_rows_come_back_typed_on_every_backend(db: Database) -> None:
    def work(tx: Transaction) -> object:
        tx.execute(ADD, row("demo/one", private=True))
        tx.execute_many(ADD, [row("demo/two"), row("other/three")])
        return tx.first(BY_NAME, {"name": "demo/one"})

    found = await db.run_write(work)
    assert found is not None
    repo_id, private, created = found
    assert isinstance(repo_id, int)
    assert private is True
    assert created.replace(tzinfo=UTC) == WHEN
    assert await db.run_read(lambda tx: tx.scalar(COUNT)) == 3
    assert await db.run_read(lambda tx: tx.first(BY_NAME, {"name": "missing/x"})) is None


async def test_in_lists_of_any_length_share_one_statement(db: Database) -> None:
    names = [f"ns/repo{i:02d}" for i in range(12)]
    await db.run_write(lambda tx: tx.execute_many(ADD, [row(n) for n in names]))
    for length in (1, 2, 5, 12, 2):
        wanted = [*names[:length], "ns/absent"]
        found = await db.run_read(lambda tx, w=wanted: tx.scalars(NAMES_IN, {"names": w}))
        assert found == names[:length]


async def test_execute_answers_the_rows_changed(db: Database) -> None:
    await db.run_write(lambda tx: tx.execute_many(ADD, [row("a/x"), row("a/y"), row("b/z")]))
    changed = await db.run_write(lambda tx: tx.execute(MAKE_PRIVATE, {"owner": "a"}))
    assert changed == 2
    rows = await db.run_read(lambda tx: tx.all(Prepared(select(repositories.c.is_private))))
    assert sorted(private for (private,) in rows) == [False, True, True]


async def test_a_failing_step_leaves_nothing_behind(db: Database) -> None:
    def work(tx: Transaction) -> None:
        tx.execute(ADD, row("demo/kept-out"))
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        await db.run_write(work)
    assert await db.run_read(lambda tx: tx.scalar(COUNT)) == 0
    # The pooled connection is usable again (no transaction left open on it).
    await db.run_write(lambda tx: tx.execute(ADD, row("demo/next")))
    assert await db.run_read(lambda tx: tx.scalar(COUNT)) == 1


async def test_a_database_error_rolls_back_and_surfaces(db: Database) -> None:
    def work(tx: Transaction) -> None:
        tx.execute(ADD, row("demo/twice"))
        tx.execute(ADD, row("demo/twice"))  # unique name

    with pytest.raises(Exception, match=r"(?i)unique"):
        await db.run_write(work)
    assert await db.run_read(lambda tx: tx.scalar(COUNT)) == 0


def test_a_missing_parameter_is_named() -> None:
    with pytest.raises(InvalidRequestError, match="'name'"):
        BY_NAME.form(sqlite.dialect(), {})


def test_forms_are_cached_and_bounded() -> None:
    statement = Prepared(
        select(repositories.c.id).where(repositories.c.name.in_(bindparam("n", expanding=True)))
    )
    dialect = sqlite.dialect()
    first = statement.form(dialect, {"n": ["a"]})
    assert statement.form(dialect, {"n": ["b"]}) is first
    assert statement.form(dialect, {"n": ["a", "b"]}) is not first
    for length in range(1, MAX_FORMS * 2):
        statement.form(dialect, {"n": ["x"] * length})
        assert len(statement._forms) <= MAX_FORMS
