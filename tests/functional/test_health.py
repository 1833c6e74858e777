"""``GET /healthz`` (liveness) and ``GET /readyz`` (database and storage answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from dockyard.storage import StorageError
from tests.support.backends import AppBackend
from tests.support.s3 import MotoServer


@pytest.fixture
def guarded_client(tmp_path: Path, backend: AppBackend) -> Iterator[TestClient]:
    """A registry as deployed: authentication on, pull rate limits of one per window."""
    settings = backend.settings(
        tmp_path / "data",
        storage={"fsync": False},
        auth={"enabled": True},
        rate_limit={"enabled": True, "anonymous_pulls": 1, "authenticated_pulls": 1},
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_healthz_is_ok_without_credentials_or_limits(guarded_client: TestClient) -> None:
    for _ in range(5):
        response = guarded_client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert "www-authenticate" not in response.headers
        assert "ratelimit-limit" not in response.headers


def test_readyz_checks_database_and_storage(guarded_client: TestClient) -> None:
    for _ in range(3):
        response = guarded_client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ok",
            "checks": {"database": "ok", "storage": "ok"},
        }
        assert response.headers["cache-control"] == "no-store"


def test_head_of_healthz(client: TestClient) -> None:
    assert client.head("/healthz").status_code == 200


def test_readyz_names_a_failing_storage_without_a_trace(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_list(prefix: str) -> AsyncIterator[str]:
        raise StorageError("bucket gone: secret detail")
        yield ""

    monkeypatch.setattr(client.app.state.storage, "list", broken_list)  # type: ignore[attr-defined]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "storage": "failed"},
    }
    assert "Traceback" not in response.text
    assert "secret detail" not in response.text
    assert client.get("/healthz").status_code == 200


def test_readyz_names_a_failing_database(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    @asynccontextmanager
    async def broken_read() -> AsyncIterator[None]:
        raise OSError("connection refused")
        yield

    monkeypatch.setattr(client.app.state.db, "read", broken_read)  # type: ignore[attr-defined]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "failed", "storage": "ok"}


def test_readyz_on_s3_with_a_missing_bucket(
    settings: Settings, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = moto_server.storage_settings(max_connections=2)
    storage["s3"]["bucket"] = "dky-missing-bucket"  # type: ignore[index]
    broken = settings.model_copy(update={"storage": Settings(storage=storage).storage})
    with TestClient(create_app(broken)) as test_client:
        response = test_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "storage": "failed"}


def test_readyz_on_s3(settings: Settings, moto_server: MotoServer) -> None:
    on_s3 = settings.model_copy(
        update={"storage": Settings(storage=moto_server.storage_settings()).storage}
    )
    with TestClient(create_app(on_s3)) as test_client:
        response = test_client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "storage": "ok"}
