"""Docker token authentication: the 401 challenge, ``GET /token``, ``POST /token``, the JWT."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from pydantic import ValidationError
from sqlalchemy import update
from starlette.testclient import TestClient

from dockyard.config import Settings
from dockyard.metadata.hub_tables import refresh_tokens
from tests.support.auth import (
    PASSWORD,
    SERVICE,
    access_of,
    auth_client,
    auth_settings,
    bearer,
    claims_of,
    create_pat,
    create_user,
    database,
    get_token,
    hub_headers,
    hub_login,
    make_repository,
    post_token,
    push_small_image,
    registry_token,
    run,
    signing_key,
)
from tests.support.backends import AppBackend

ALICE = ("alice", PASSWORD)
BOB = ("bob", PASSWORD)
UNAUTHORIZED_BODY = {
    "errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": None}]
}


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, module_backend: AppBackend
) -> Iterator[TestClient]:
    """alice owns alice/public (public) and alice/private (private), each with ``latest``."""
    with auth_client(auth_settings(module_backend, tmp_path_factory.mktemp("token"))) as client:
        create_user(client, "alice")
        create_user(client, "bob")
        alice = hub_login(client, "alice")
        for name, private in (("alice/public", False), ("alice/private", True)):
            assert make_repository(client, alice, name, private=private).status_code == 201
            token = registry_token(client, [f"repository:{name}:push,pull"], ALICE)
            push_small_image(client, name, token)
        yield client


# --- the challenge -----------------------------------------------------------------------------
def test_base_endpoint_challenges_without_a_scope(client: TestClient) -> None:
    response = client.get("/v2/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="http://testserver/token",service="dockyard"'
    )
    assert response.json() == UNAUTHORIZED_BODY
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_realm_follows_the_host_the_client_used(client: TestClient) -> None:
    response = client.get("/v2/", headers={"Host": "registry.example.com:5443"})
    assert response.headers["WWW-Authenticate"].startswith(
        'Bearer realm="http://registry.example.com:5443/token",'
    )


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/v2/alice/app/manifests/latest", "repository:alice/app:pull"),
        ("HEAD", "/v2/alice/app/manifests/latest", "repository:alice/app:pull"),
        ("GET", "/v2/alice/app/blobs/sha256:" + "a" * 64, "repository:alice/app:pull"),
        ("GET", "/v2/alice/app/tags/list", "repository:alice/app:pull"),
        ("GET", "/v2/alice/app/referrers/sha256:" + "a" * 64, "repository:alice/app:pull"),
        ("POST", "/v2/alice/app/blobs/uploads/", "repository:alice/app:pull,push"),
        ("PUT", "/v2/alice/app/manifests/latest", "repository:alice/app:pull,push"),
        ("PATCH", "/v2/alice/app/blobs/uploads/some-id", "repository:alice/app:pull,push"),
        ("DELETE", "/v2/alice/app/manifests/latest", "repository:alice/app:delete"),
        ("DELETE", "/v2/alice/app/blobs/sha256:" + "a" * 64, "repository:alice/app:delete"),
        ("GET", "/v2/_catalog", "registry:catalog:*"),
    ],
)
def test_registry_endpoints_challenge_with_their_scope(
    client: TestClient, method: str, path: str, scope: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="http://testserver/token",service="dockyard",scope="{scope}"'
    )
    if method != "HEAD":
        assert response.json() == UNAUTHORIZED_BODY


def test_base_endpoint_accepts_anonymous_and_user_tokens(client: TestClient) -> None:
    for credentials in (None, ALICE):
        token = registry_token(client, [], credentials)
        response = client.get("/v2/", headers=bearer(token))
        assert response.status_code == 200, response.text
        assert response.json() == {}


# --- GET /token --------------------------------------------------------------------------------
def test_token_response_fields(client: TestClient) -> None:
    before = int(time.time())
    response = get_token(client, ["repository:alice/public:pull"], ALICE)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token"] == body["access_token"]
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] >= 60
    assert "refresh_token" not in body
    issued = datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00"))
    assert issued.tzinfo is not None
    assert before - 1 <= issued.timestamp() <= time.time() + 1

    token = body["token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == signing_key(client).kid
    claims = jwt.decode(
        token,
        signing_key(client).public_key,
        algorithms=["ES256"],
        audience=SERVICE,
        issuer="dockyard",
    )
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert claims["iat"] == int(issued.timestamp())
    assert claims["access"] == [{"type": "repository", "name": "alice/public", "actions": ["pull"]}]


def test_anonymous_token_grants_pull_of_public_repositories_only(client: TestClient) -> None:
    response = get_token(
        client,
        [
            "repository:alice/public:pull,push",
            "repository:alice/private:pull",
            "repository:alice/nothere:pull",
        ],
    )
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert claims_of(token)["sub"] == ""
    assert access_of(token) == [{"type": "repository", "name": "alice/public", "actions": ["pull"]}]
    assert "refresh_token" not in response.json()


def test_scope_may_repeat_and_hold_several_scopes(client: TestClient) -> None:
    token = registry_token(
        client,
        [
            "repository:alice/public:pull",
            "repository:alice/private:pull repository:alice/private:push",
            "registry:catalog:*",
        ],
        ALICE,
    )
    assert access_of(token) == [
        {"type": "registry", "name": "catalog", "actions": ["*"]},
        {"type": "repository", "name": "alice/private", "actions": ["pull", "push"]},
        {"type": "repository", "name": "alice/public", "actions": ["pull"]},
    ]


def test_grant_is_the_intersection_of_asked_and_allowed(client: TestClient) -> None:
    response = get_token(
        client,
        [
            "repository:alice/public:pull,push,delete",
            "repository:alice/private:pull,push",
            "repository:bob/new:push,pull",
        ],
        BOB,
    )
    assert response.status_code == 200, response.text  # asking for more is not an error
    assert access_of(response.json()["token"]) == [
        {"type": "repository", "name": "alice/public", "actions": ["pull"]},
        {"type": "repository", "name": "bob/new", "actions": ["pull", "push"]},
    ]
    assert response.json()["scope"] == "repository:alice/public:pull repository:bob/new:pull,push"


def test_star_asks_for_every_action(client: TestClient) -> None:
    token = registry_token(client, ["repository:alice/private:*"], ALICE)
    assert access_of(token) == [
        {"type": "repository", "name": "alice/private", "actions": ["delete", "pull", "push"]}
    ]


def test_unknown_actions_are_not_granted(client: TestClient) -> None:
    token = registry_token(client, ["repository:alice/public:pull,frobnicate"], ALICE)
    assert access_of(token) == [{"type": "repository", "name": "alice/public", "actions": ["pull"]}]


def test_catalog_needs_the_catalog_scope(client: TestClient) -> None:
    token = registry_token(client, ["repository:alice/public:pull"], ALICE)
    response = client.get("/v2/_catalog", headers=bearer(token))
    assert response.status_code == 401
    assert 'scope="registry:catalog:*"' in response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    token = registry_token(client, ["registry:catalog:*"], ALICE)
    assert access_of(token) == [{"type": "registry", "name": "catalog", "actions": ["*"]}]
    response = client.get("/v2/_catalog", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["repositories"] == ["alice/private", "alice/public"]


def test_push_implies_pull(client: TestClient) -> None:
    token = registry_token(client, ["repository:alice/private:push"], ALICE)
    assert access_of(token) == [
        {"type": "repository", "name": "alice/private", "actions": ["push"]}
    ]
    response = client.get("/v2/alice/private/manifests/latest", headers=bearer(token))
    assert response.status_code == 200, response.text


def test_a_token_with_too_little_scope_for_its_owner_gets_a_new_challenge(
    client: TestClient,
) -> None:
    token = registry_token(client, ["repository:alice/private:pull"], ALICE)
    response = client.delete("/v2/alice/private/manifests/latest", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="http://testserver/token",service="dockyard",'
        'scope="repository:alice/private:delete",error="insufficient_scope"'
    )


def test_offline_token_adds_a_refresh_token(client: TestClient) -> None:
    response = get_token(client, [], ALICE, offline_token="true", client_id="docker")
    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"].startswith("dy_rt_")
    anonymous = get_token(client, [], None, offline_token="true")
    assert anonymous.status_code == 200
    assert "refresh_token" not in anonymous.json()


def test_expires_in_is_never_under_a_minute(tmp_path: Path, backend: AppBackend) -> None:
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, auth={"enabled": True, "token_ttl": 59})
    with auth_client(auth_settings(backend, tmp_path, token_ttl=60)) as client:
        response = get_token(client)
        assert response.json()["expires_in"] == 60
        claims = claims_of(response.json()["token"])
        assert claims["exp"] - claims["iat"] == 60


# --- POST /token (OAuth2) ----------------------------------------------------------------------
def test_post_password_grant(client: TestClient) -> None:
    response = post_token(
        client,
        {
            "grant_type": "password",
            "username": "alice",
            "password": PASSWORD,
            "client_id": "docker",
            "service": SERVICE,
            "scope": "repository:alice/private:pull,push",
            "access_type": "offline",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["expires_in"] >= 60
    assert body["issued_at"].endswith("Z")
    assert body["refresh_token"].startswith("dy_rt_")
    assert access_of(body["access_token"]) == [
        {"type": "repository", "name": "alice/private", "actions": ["pull", "push"]}
    ]
    assert claims_of(body["access_token"])["sub"] == "alice"
    assert jwt.get_unverified_header(body["access_token"])["kid"] == signing_key(client).kid

    online = post_token(
        client,
        {"grant_type": "password", "username": "alice", "password": PASSWORD, "client_id": "x"},
    )
    assert online.status_code == 200, online.text
    assert "refresh_token" not in online.json()
    assert access_of(online.json()["access_token"]) == []


def test_post_refresh_token_grant(client: TestClient) -> None:
    refresh = get_token(client, [], ALICE, offline_token="true").json()["refresh_token"]
    for _ in range(2):  # a refresh token is used again and again
        response = post_token(
            client,
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "service": SERVICE,
                "client_id": "docker",
                "scope": "repository:alice/private:pull",
            },
        )
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        assert access_of(token) == [
            {"type": "repository", "name": "alice/private", "actions": ["pull"]}
        ]
        pulled = client.get("/v2/alice/private/manifests/latest", headers=bearer(token))
        assert pulled.status_code == 200
    bad = post_token(
        client,
        {"grant_type": "refresh_token", "refresh_token": refresh + "x", "service": SERVICE},
    )
    assert bad.status_code == 401
    assert bad.json()["errors"][0]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("revoke", ["deactivate", "delete"])
def test_refresh_token_dies_with_the_access_token_it_came_from(
    client: TestClient, revoke: str
) -> None:
    hub = hub_login(client, "alice")
    token_id, secret = create_pat(client, hub, ["repo:write"], label=f"refresh-{revoke}")
    response = post_token(
        client,
        {
            "grant_type": "password",
            "username": "alice",
            "password": secret,
            "service": SERVICE,
            "access_type": "offline",
            "scope": "repository:alice/private:pull,push,delete",
        },
    )
    assert response.status_code == 200, response.text
    assert access_of(response.json()["access_token"]) == [
        {"type": "repository", "name": "alice/private", "actions": ["pull", "push"]}
    ]
    refresh = response.json()["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "service": SERVICE}
    assert post_token(client, form).status_code == 200
    if revoke == "delete":
        done = client.delete(f"/v2/access-tokens/{token_id}", headers=hub_headers(hub))
        assert done.status_code == 204
    else:
        done = client.patch(
            f"/v2/access-tokens/{token_id}", json={"is_active": False}, headers=hub_headers(hub)
        )
        assert done.status_code == 200
    refused = post_token(client, form)
    assert refused.status_code == 401, refused.text
    assert refused.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_refresh_token_from_a_password_login_stays_valid_after_unrelated_revocations(
    client: TestClient,
) -> None:
    refresh = get_token(client, [], ALICE, offline_token="true").json()["refresh_token"]
    hub = hub_login(client, "alice")
    token_id, _secret = create_pat(client, hub, ["repo:read"], label="unrelated")
    client.delete(f"/v2/access-tokens/{token_id}", headers=hub_headers(hub))
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "service": SERVICE}
    assert post_token(client, form).status_code == 200


def test_issued_at_is_utc(client: TestClient) -> None:
    body = get_token(client).json()
    issued = datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00"))
    assert issued.utcoffset() == UTC.utcoffset(None)


def test_token_responses_do_not_tell_private_from_missing(client: TestClient) -> None:
    bodies = []
    for name in ("alice/private", "alice/nothere"):
        response = get_token(client, [f"repository:{name}:pull,push,delete"], BOB)
        assert response.status_code == 200, response.text
        body = response.json()
        assert access_of(body["token"]) == []
        bodies.append(sorted(body))
    assert bodies[0] == bodies[1]
    assert "scope" not in bodies[0]


def test_expired_refresh_token(client: TestClient) -> None:
    refresh = get_token(client, [], ALICE, offline_token="true").json()["refresh_token"]

    async def expire() -> None:
        async with database(client).write() as conn:
            await conn.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.token_hash == hashlib.sha256(refresh.encode()).hexdigest())
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )

    run(client, expire)
    response = post_token(client, {"grant_type": "refresh_token", "refresh_token": refresh})
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["message"] == "invalid refresh token"


def test_cross_repository_mount_needs_pull_on_the_source(client: TestClient) -> None:
    alice = registry_token(client, ["repository:alice/private:push,pull"], ALICE)
    image = push_small_image(client, "alice/private", alice, tag="mountable", seed="mount me")
    bob = registry_token(
        client, ["repository:bob/stolen:push,pull", "repository:alice/private:pull"], BOB
    )
    response = client.post(
        "/v2/bob/stolen/blobs/uploads/",
        params={"mount": image.layer_digest, "from": "alice/private"},
        headers=bearer(bob),
    )
    assert response.status_code == 202, response.text  # a plain upload, not a mount
    blob = client.get(f"/v2/bob/stolen/blobs/{image.layer_digest}", headers=bearer(bob))
    assert blob.status_code == 404
    # alice may mount her own blob into another repository of hers
    both = registry_token(
        client, ["repository:alice/copy:push,pull", "repository:alice/private:pull"], ALICE
    )
    response = client.post(
        "/v2/alice/copy/blobs/uploads/",
        params={"mount": image.layer_digest, "from": "alice/private"},
        headers=bearer(both),
    )
    assert response.status_code == 201, response.text
