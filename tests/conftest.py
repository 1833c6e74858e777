"""Fixtures shared by every test: settings in a temp dir, an in-process app, a live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from tests.support.servers import LiveServer

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(available: bool, reason: str) -> None:
    """Skip on a laptop when a real client is missing; fail under CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a registry whose data lives in a fresh temp dir."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=os.environ.get("DOCKYARD_TEST_DATABASE_URL") or None,
        storage={"fsync": False},
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An HTTP client talking to an in-process app (lifespan run)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real ``dockyard serve`` on a free 127.0.0.1 port."""
    server = LiveServer(data_dir=tmp_path / "live-data").start()
    yield server
    server.stop()
