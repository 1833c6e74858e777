"""Personal access tokens: shown once, stored hashed, scoped, revocable at once, expiring."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from dockyard.metadata.hub_tables import access_tokens
from tests.support.auth import (
    SERVICE,
    access_of,
    auth_client,
    auth_settings,
    claims_of,
    create_pat,
    create_user,
    database,
    get_token,
    hub_headers,
    hub_login,
    post_token,
    run,
    stored_token_hashes,
)
from tests.support.backends import AppBackend

SCOPE = "repository:alice/app:pull,push,delete"


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, module_backend: AppBackend
) -> Iterator[TestClient]:
    settings = auth_settings(
        module_backend, tmp_path_factory.mktemp("pats"), max_failures_per_account=1000
    )
    with auth_client(settings) as client:
        create_user(client, "alice")
        create_user(client, "bob")
        yield client


@pytest.fixture(scope="module")
def hub(client: TestClient) -> str:
    """alice's Hub API token (from her password)."""
    return hub_login(client, "alice")


def test_secret_is_shown_once(client: TestClient, hub: str) -> None:
    response = client.post(
        "/v2/access-tokens",
        json={"token_label": "laptop", "scopes": ["repo:read", "repo:write"]},
        headers=hub_headers(hub),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["token"]
    assert secret.startswith("dy_pat_")
    assert len(secret) > 40
    assert created["token_label"] == "laptop"
    assert created["scopes"] == ["repo:read", "repo:write"]
    assert created["is_active"] is True
    assert created["last_used"] is None
    assert created["expires_at"] is None

    one = client.get(f"/v2/access-tokens/{created['uuid']}", headers=hub_headers(hub))
    assert one.status_code == 200
    assert one.json()["token"] == ""
    assert one.json()["uuid"] == created["uuid"]
    listed = client.get("/v2/access-tokens", headers=hub_headers(hub))
    assert listed.status_code == 200
    page = listed.json()
    assert page["count"] >= 1
    mine = [t for t in page["results"] if t["uuid"] == created["uuid"]]
    assert len(mine) == 1
    assert all(t["token"] == "" for t in page["results"])
    assert secret not in listed.text


def test_tokens_are_stored_hashed(client: TestClient, hub: str) -> None:
    _uuid, secret = create_pat(client, hub, ["repo:read"], label="hashed")
    hashes = stored_token_hashes(client)
    assert secret not in hashes
    assert not any(secret in h or h in secret for h in hashes)
    assert hashlib.sha256(secret.encode()).hexdigest() in hashes


def test_list_shows_only_the_callers_tokens(client: TestClient, hub: str) -> None:
    create_pat(client, hub, ["repo:read"], label="alice only")
    bob = hub_login(client, "bob")
    listed = client.get("/v2/access-tokens", headers=hub_headers(bob))
    assert listed.status_code == 200
    assert listed.json()["results"] == []
    alices = client.get("/v2/access-tokens", headers=hub_headers(hub)).json()["results"]
    other = client.get(f"/v2/access-tokens/{alices[0]['uuid']}", headers=hub_headers(bob))
    assert other.status_code == 404
    gone = client.delete(f"/v2/access-tokens/{alices[0]['uuid']}", headers=hub_headers(bob))
    assert gone.status_code == 404


def test_token_is_a_password_at_the_token_endpoint_and_records_last_use(
    client: TestClient, hub: str
) -> None:
    token_id, secret = create_pat(client, hub, ["repo:write"], label="ci")
    response = get_token(client, [SCOPE], ("alice", secret))
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert claims_of(token)["sub"] == "alice"
    assert access_of(token) == [
        {"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}
    ]
    record = client.get(f"/v2/access-tokens/{token_id}", headers=hub_headers(hub)).json()
    assert record["last_used"] is not None
    used = datetime.fromisoformat(record["last_used"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - used).total_seconds()) < 60
    form = {"grant_type": "password", "username": "alice", "password": secret}
    assert post_token(client, {**form, "service": SERVICE}).status_code == 200


def test_token_is_a_password_at_the_hub_login(client: TestClient, hub: str) -> None:
    _id, admin_secret = create_pat(client, hub, ["admin"], label="hub admin")
    _id, read_secret = create_pat(client, hub, ["repo:read"], label="hub read")
    admin_hub = hub_login(client, "alice", admin_secret)
    assert client.get("/v2/user/", headers=hub_headers(admin_hub)).json()["username"] == "alice"
    assert client.get("/v2/access-tokens", headers=hub_headers(admin_hub)).status_code == 200
    read_hub = hub_login(client, "alice", read_secret)
    assert client.get("/v2/user/", headers=hub_headers(read_hub)).status_code == 200
    refused = client.get("/v2/access-tokens", headers=hub_headers(read_hub))
    assert refused.status_code == 403
    assert "admin scope" in refused.json()["message"]
    response = client.post("/v2/auth/token", json={"identifier": "alice", "secret": read_secret})
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


def test_token_is_bound_to_its_user(client: TestClient, hub: str) -> None:
    _id, secret = create_pat(client, hub, ["repo:read"], label="bound")
    response = get_token(client, [], ("bob", secret))
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_a_raw_access_token_is_no_hub_bearer_token(client: TestClient, hub: str) -> None:
    _id, secret = create_pat(client, hub, ["admin"], label="raw")
    response = client.get("/v2/user/", headers=hub_headers(secret))
    assert response.status_code == 401
    assert "/v2/auth/token" in response.json()["message"]


@pytest.mark.parametrize("revoke", ["deactivate", "delete"])
def test_revoked_token_gets_no_new_tokens_at_once(
    client: TestClient, hub: str, revoke: str
) -> None:
    token_id, secret = create_pat(client, hub, ["repo:delete"], label=f"revoke {revoke}")
    assert get_token(client, [SCOPE], ("alice", secret)).status_code == 200
    hub_via_pat = hub_login(client, "alice", secret)
    assert client.get("/v2/user/", headers=hub_headers(hub_via_pat)).status_code == 200
    if revoke == "delete":
        done = client.delete(f"/v2/access-tokens/{token_id}", headers=hub_headers(hub))
        assert done.status_code == 204
        missing = client.get(f"/v2/access-tokens/{token_id}", headers=hub_headers(hub))
        assert missing.status_code == 404
    else:
        done = client.patch(
            f"/v2/access-tokens/{token_id}", json={"is_active": False}, headers=hub_headers(hub)
        )
        assert done.status_code == 200
        assert done.json()["is_active"] is False
    refused = get_token(client, [SCOPE], ("alice", secret))
    assert refused.status_code == 401, refused.text
    assert refused.json()["errors"][0]["code"] == "UNAUTHORIZED"
    form = {"grant_type": "password", "username": "alice", "password": secret}
    assert post_token(client, form).status_code == 401
    login = client.post("/v2/users/login", json={"username": "alice", "password": secret})
    assert login.status_code == 401
    # a Hub session opened with the token ends with it too
    assert client.get("/v2/user/", headers=hub_headers(hub_via_pat)).status_code == 401


def test_deactivated_token_can_be_reactivated(client: TestClient, hub: str) -> None:
    token_id, secret = create_pat(client, hub, ["repo:read"], label="toggle")
    url = f"/v2/access-tokens/{token_id}"
    client.patch(url, json={"is_active": False}, headers=hub_headers(hub))
    assert get_token(client, [], ("alice", secret)).status_code == 401
    client.patch(url, json={"is_active": True}, headers=hub_headers(hub))
    assert get_token(client, [], ("alice", secret)).status_code == 200


def test_rename(client: TestClient, hub: str) -> None:
    token_id, _secret = create_pat(client, hub, ["repo:read"], label="old")
    response = client.patch(
        f"/v2/access-tokens/{token_id}", json={"token_label": "new"}, headers=hub_headers(hub)
    )
    assert response.status_code == 200
    assert response.json()["token_label"] == "new"
    assert response.json()["token"] == ""


def test_optional_expiry(client: TestClient, hub: str) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    token_id, secret = create_pat(client, hub, ["repo:read"], label="expiring", expires_at=tomorrow)
    record = client.get(f"/v2/access-tokens/{token_id}", headers=hub_headers(hub)).json()
    assert record["expires_at"] is not None
    assert get_token(client, [], ("alice", secret)).status_code == 200

    async def expire() -> None:
        async with database(client).write() as conn:
            await conn.execute(
                update(access_tokens)
                .where(access_tokens.c.id == token_id)
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )

    run(client, expire)
    refused = get_token(client, [], ("alice", secret))
    assert refused.status_code == 401, refused.text
    login = client.post("/v2/users/login", json={"username": "alice", "password": secret})
    assert login.status_code == 401


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"token_label": "x", "scopes": ["repo:everything"]}, "unknown: repo:everything"),
        ({"token_label": "x", "scopes": []}, "scopes must be"),
        ({"token_label": "x", "scopes": "repo:read"}, "scopes"),
        ({"token_label": "x", "scopes": [1]}, "scopes"),
        ({"token_label": "", "scopes": ["repo:read"]}, "token_label"),
        ({"token_label": "x" * 101, "scopes": ["repo:read"]}, "token_label"),
        ({"scopes": ["repo:read"]}, "token_label is required"),
        (
            {"token_label": "x", "scopes": ["repo:read"], "expires_at": "2001-01-01T00:00:00Z"},
            "future",
        ),
        ({"token_label": "x", "scopes": ["repo:read"], "expires_at": "soon"}, "expires_at"),
    ],
)
def test_create_refuses_bad_input(
    client: TestClient, hub: str, body: dict[str, object], fragment: str
) -> None:
    response = client.post("/v2/access-tokens", json=body, headers=hub_headers(hub))
    assert response.status_code == 400, response.text
    assert fragment in response.json()["message"]


def test_unknown_or_malformed_token_ids(client: TestClient, hub: str) -> None:
    for token_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = client.get(f"/v2/access-tokens/{token_id}", headers=hub_headers(hub))
        assert response.status_code == 404
        assert response.json()["message"] == "no such access token"


def test_access_tokens_need_a_login(client: TestClient) -> None:
    response = client.get("/v2/access-tokens")
    assert response.status_code == 401
    assert response.json()["message"] == "authentication required"
