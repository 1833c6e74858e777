"""Migrations on an empty database of each backend, and no drift from the table definitions."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from dockyard.metadata import migrate
from dockyard.metadata.db import sync_url
from dockyard.metadata.schema import metadata
from tests.support.postgres import PostgresCluster


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = cluster.create_database()
    yield cluster.url(name)
    cluster.drop_database(name)


def head_revision() -> str:
    """The newest revision in the migrations directory (there must be exactly one head)."""
    heads = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    return heads[0]


def current_revision(url: str) -> str | None:
    """The revision the database is at."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def schema_diff(url: str) -> list[Any]:
    """What autogenerate would change to make the database match the table definitions."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_upgrade_empty_database_to_head(empty_database_url: str) -> None:
    assert migrate.current_tables(empty_database_url) == []
    migrate.upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()
    expected = sorted([*metadata.tables, "alembic_version"])
    assert migrate.current_tables(empty_database_url) == expected


def test_migrated_schema_matches_tables(empty_database_url: str) -> None:
    """``alembic check``: no pending autogenerate diff after upgrading to head."""
    migrate.upgrade(empty_database_url)
    assert schema_diff(empty_database_url) == []
    command.check(migrate.alembic_config(empty_database_url))


def test_upgrade_twice_is_a_no_op(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    migrate.upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()


def test_downgrade_to_base_and_back(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    command.downgrade(migrate.alembic_config(empty_database_url), "base")
    assert migrate.current_tables(empty_database_url) == ["alembic_version"]
    assert current_revision(empty_database_url) is None
    migrate.upgrade(empty_database_url)
    assert schema_diff(empty_database_url) == []


def test_every_revision_upgrades_one_step_at_a_time(empty_database_url: str) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(empty_database_url))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        migrate.upgrade(empty_database_url, revision)
        assert current_revision(empty_database_url) == revision
    assert revisions[-1] == head_revision()


@pytest.mark.postgres
def test_concurrent_upgrades_on_postgres(postgres_cluster: PostgresCluster) -> None:
    """Nodes starting together: the advisory lock lets one migrate, the others find it done."""
    name = postgres_cluster.create_database()
    url = postgres_cluster.url(name)
    code = "import sys; from dockyard.metadata import migrate; migrate.upgrade(sys.argv[1])"
    try:
        nodes = [
            subprocess.Popen(
                [sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            for _ in range(3)
        ]
        outputs = [node.communicate(timeout=120)[0].decode() for node in nodes]
        assert [node.returncode for node in nodes] == [0, 0, 0], outputs
        assert current_revision(url) == head_revision()
        assert schema_diff(url) == []
    finally:
        postgres_cluster.drop_database(name)
