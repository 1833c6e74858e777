"""Fixtures shared by every test: settings in a temp dir, an in-process app, a live server.

Backends: every app under test gets its database and storage from ``backend`` (per test) or
``module_backend`` (per module; see ``tests/support/backends.py``): SQLite in its data directory
and the filesystem driver by default; a fresh database on a throwaway PostgreSQL cluster (one
per session, each database a copy of a migrated template) with ``--postgres`` or
``DOCKYARD_TEST_BACKEND=postgresql``; a fresh bucket on a local ``moto_server`` (one per session)
with ``--storage s3`` or ``DOCKYARD_TEST_STORAGE=s3`` (``memory``: the in-process driver).
``settings`` (so ``client``) and ``live_server`` are built on ``backend``; tests that build
their own apps take ``backend.settings(...)``, and their live servers ``backend.env()``.

``database_url`` runs a test on SQLite and on PostgreSQL in turn, whatever the options.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from dockyard.metadata import migrate
from tests.support.backends import AppBackend, Backends
from tests.support.postgres import PostgresCluster, postgres_available
from tests.support.servers import LiveServer

#: Fixtures shared across test directories: the private Docker engine (one per session).
if TYPE_CHECKING:
    from tests.support.s3 import MotoServer

pytest_plugins = ["tests.support.docker_fixtures"]

# Registry-protocol tests run against an open registry; tests of authentication pass
# ``auth={"enabled": True}`` (the product's default) explicitly, which wins over this.
os.environ.setdefault("DOCKYARD_AUTH__ENABLED", "false")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


STORAGE_DRIVERS = ("filesystem", "memory", "s3")


def require_tool(available: bool, reason: str) -> None:
    """Skip on a laptop when a real client is missing; fail under CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--postgres``: run app-level tests on PostgreSQL."""
    parser.addoption(
        "--postgres",
        action="store_true",
        default=False,
        help="run tests using `settings`/`client`/`live_server` on a throwaway PostgreSQL "
        "(same as DOCKYARD_TEST_BACKEND=postgresql)",
    )
    parser.addoption(
        "--storage",
        choices=STORAGE_DRIVERS,
        default=None,
        help="storage driver of tests using `settings`/`client`: filesystem (default), memory, "
        "or s3 on a local moto_server (same as DOCKYARD_TEST_STORAGE=s3)",
    )


def app_backend(config: pytest.Config) -> str:
    """The backend of the app under test: ``sqlite`` (default) or ``postgresql``."""
    if config.getoption("--postgres"):
        return "postgresql"
    backend = os.environ.get("DOCKYARD_TEST_BACKEND", "sqlite").strip().lower() or "sqlite"
    if backend in ("postgresql", "postgres", "pg"):
        return "postgresql"
    if backend != "sqlite":
        raise pytest.UsageError(f"DOCKYARD_TEST_BACKEND={backend!r}: use sqlite or postgresql")
    return "sqlite"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``storage_driver``: filesystem and memory in turn, or only the driver ``--storage`` names."""
    if "storage_driver" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--storage") or os.environ.get("DOCKYARD_TEST_STORAGE")
        drivers = [app_storage(metafunc.config)] if chosen else ["filesystem", "memory"]
        metafunc.parametrize("storage_driver", drivers)


def app_storage(config: pytest.Config) -> str:
    """The storage driver of the app under test: ``filesystem`` (default), ``memory``, ``s3``."""
    chosen = config.getoption("--storage")
    driver = str(chosen or os.environ.get("DOCKYARD_TEST_STORAGE", "").strip().lower())
    driver = driver or "filesystem"
    if driver not in STORAGE_DRIVERS:
        raise pytest.UsageError(f"DOCKYARD_TEST_STORAGE={driver!r}: use one of {STORAGE_DRIVERS}")
    return driver


@pytest.fixture(scope="session")
def backends(request: pytest.FixtureRequest) -> Backends:
    """What the run's options ask apps to run on (starting PostgreSQL or moto if asked)."""
    explicit = os.environ.get("DOCKYARD_TEST_DATABASE_URL") or None
    postgres = None
    if explicit is None and app_backend(request.config) == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        postgres = (cluster, str(request.getfixturevalue("postgres_template")))
    driver = app_storage(request.config)
    moto: MotoServer | None = request.getfixturevalue("moto_server") if driver == "s3" else None
    return Backends(explicit_url=explicit, postgres=postgres, driver=driver, moto=moto)


@pytest.fixture
def backend(backends: Backends, request: pytest.FixtureRequest) -> AppBackend:
    """A fresh database and storage for the apps of one test (removed after it)."""
    return backends.new(request.addfinalizer)


@pytest.fixture(scope="module")
def module_backend(backends: Backends, request: pytest.FixtureRequest) -> AppBackend:
    """A fresh database and storage for an app shared by the tests of one module."""
    return backends.new(request.addfinalizer)


@pytest.fixture
def settings(tmp_path: Path, backend: AppBackend) -> Settings:
    """Settings for an open registry (no auth) whose data lives in a fresh temp dir.

    Registry-protocol tests run without authentication; the auth tests build their own
    settings with ``auth.enabled`` (the product's default).
    """
    return backend.settings(tmp_path / "data", storage={"fsync": False}, auth={"enabled": False})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An HTTP client talking to an in-process app (lifespan run)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def live_server(tmp_path: Path, backend: AppBackend) -> Iterator[LiveServer]:
    """A real ``dockyard serve`` on a free 127.0.0.1 port, on the run's backend."""
    server = LiveServer(data_dir=tmp_path / "live-data", env=backend.env()).start()
    yield server
    server.stop()


# --- object storage: a local S3 endpoint ------------------------------------------------------
@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """A ``moto_server`` on 127.0.0.1 for the whole session (skipped on a laptop without it)."""
    from tests.support.s3 import MotoServer, moto_available  # boto3 is imported only when used

    require_tool(moto_available(), "moto[server] (pip install 'moto[server]')")
    server = MotoServer().start()
    yield server
    server.stop()


# --- databases: fresh, migrated, on SQLite and on a throwaway PostgreSQL ---------------------
@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster for the whole session (skipped on a laptop without one)."""
    require_tool(postgres_available(), "PostgreSQL server (apt-get install postgresql)")
    cluster = PostgresCluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_cluster: PostgresCluster) -> str:
    """A database built once by running the migrations; test databases are copies of it."""
    return postgres_cluster.create_template("dockyard_template", migrate.upgrade)


@pytest.fixture
def postgres_database_url(
    postgres_cluster: PostgresCluster, postgres_template: str
) -> Iterator[str]:
    """A fresh PostgreSQL database at the head revision, dropped after the test."""
    name = postgres_cluster.create_database(template=postgres_template)
    yield postgres_cluster.url(name)
    postgres_cluster.drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file built once by running the migrations; test databases are copies of it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "dockyard.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh SQLite database at the head revision."""
    path = tmp_path / "metadata.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database migrated to head: the test runs once per backend."""
    fixture = {"sqlite": "sqlite_database_url", "postgresql": "postgres_database_url"}
    return str(request.getfixturevalue(fixture[request.param]))
