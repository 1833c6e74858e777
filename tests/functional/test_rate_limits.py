"""Pull rate limits: manifest GETs count, HEADs show the headers, over the limit 429."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from dockyard.metadata.db import Database
from dockyard.metadata.migrate import upgrade
from dockyard.metadata.ratelimit_store import RateLimitStore
from dockyard.registry.ratelimit import RateLimiter
from tests.support.auth import create_user, push_small_image, registry_token
from tests.support.backends import AppBackend

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _settings(
    backend: AppBackend, tmp_path: Path, anonymous: int = 3, authenticated: int = 5
) -> Settings:
    return backend.settings(
        tmp_path / "data",
        storage={"fsync": False},
        auth={"enabled": True},
        rate_limit={
            "enabled": True,
            "window_seconds": 3600,
            "anonymous_pulls": anonymous,
            "authenticated_pulls": authenticated,
        },
    )


@pytest.fixture
def client(tmp_path: Path, backend: AppBackend) -> TestClient:
    with TestClient(create_app(_settings(backend, tmp_path))) as test_client:
        create_user(test_client, "alice")
        token = registry_token(
            test_client, ["repository:alice/app:pull,push"], ("alice", "correct horse battery")
        )
        push_small_image(test_client, "alice/app", token)
        yield test_client


def _anonymous(client: TestClient) -> dict[str, str]:
    token = registry_token(client, ["repository:alice/app:pull"])
    return {"Authorization": f"Bearer {token}", "Accept": MANIFEST}


def test_get_counts_and_head_only_shows_the_headers(client: TestClient) -> None:
    headers = _anonymous(client)
    head = client.head("/v2/alice/app/manifests/latest", headers=headers)
    assert head.status_code == 200
    assert head.headers["ratelimit-limit"] == "3;w=3600"
    assert head.headers["ratelimit-remaining"] == "3;w=3600"
    remaining = []
    for _ in range(3):
        response = client.get("/v2/alice/app/manifests/latest", headers=headers)
        assert response.status_code == 200
        remaining.append(response.headers["ratelimit-remaining"])
    assert remaining == ["2;w=3600", "1;w=3600", "0;w=3600"]
    head = client.head("/v2/alice/app/manifests/latest", headers=headers)
    assert head.status_code == 200
    assert head.headers["ratelimit-remaining"] == "0;w=3600"


def test_over_the_limit_is_429_with_retry_after(client: TestClient) -> None:
    headers = _anonymous(client)
    for _ in range(3):
        assert client.get("/v2/alice/app/manifests/latest", headers=headers).status_code == 200
    refused = client.get("/v2/alice/app/manifests/latest", headers=headers)
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["ratelimit-remaining"] == "0;w=3600"
    # Blobs are not rate limited, and neither is a signed-in account's separate allowance.
    token = registry_token(
        client, ["repository:alice/app:pull"], ("alice", "correct horse battery")
    )
    signed_in = client.get(
        "/v2/alice/app/manifests/latest",
        headers={"Authorization": f"Bearer {token}", "Accept": MANIFEST},
    )
    assert signed_in.status_code == 200
    assert signed_in.headers["ratelimit-limit"] == "5;w=3600"
    assert signed_in.headers["ratelimit-remaining"] == "4;w=3600"


def test_no_headers_when_rate_limits_are_off(settings: Settings) -> None:
    assert settings.rate_limit.enabled is False
    with TestClient(create_app(settings)) as client:
        response = client.get("/v2/")
        assert "ratelimit-limit" not in response.headers


async def test_two_nodes_share_one_limit(tmp_path: Path, backend: AppBackend) -> None:
    url = backend.database_url or f"sqlite:///{tmp_path / 'shared.db'}"
    upgrade(url)
    db = Database(url)
    try:
        nodes = [RateLimiter(RateLimitStore(db), 3600, 4, 10) for _ in range(2)]
        assert nodes[0].check("10.0.0.1", None, count=True).allowed
        assert nodes[0].check("10.0.0.1", None, count=True).allowed
        assert nodes[1].check("10.0.0.1", None, count=True).allowed
        for node in nodes:
            await node.sync()
        await nodes[0].sync()  # node 0 now also sees node 1's pull
        assert nodes[0].check("10.0.0.1", None, count=True).remaining == 0
        await nodes[0].sync()
        await nodes[1].sync()
        refused = nodes[1].check("10.0.0.1", None, count=True)
        assert not refused.allowed
        assert refused.remaining == 0
    finally:
        await db.close()
