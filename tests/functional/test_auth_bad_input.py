"""Bad credentials, forged tokens and malformed requests: the right status, a clear message,
never a 500."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.testclient import TestClient

from tests.support.auth import (
    PASSWORD,
    SERVICE,
    access_of,
    auth_client,
    auth_settings,
    bearer,
    challenge,
    create_user,
    forge_token,
    get_token,
    hub_headers,
    hub_login,
    make_repository,
    post_token,
    push_small_image,
    registry_token,
    signing_key,
)
from tests.support.backends import AppBackend

ALICE = ("alice", PASSWORD)
PRIVATE = "/v2/alice/private/manifests/latest"
PULL_PRIVATE = "repository:alice/private:pull"


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, module_backend: AppBackend
) -> Iterator[TestClient]:
    settings = auth_settings(
        module_backend,
        tmp_path_factory.mktemp("bad"),
        max_failures_per_account=10_000,
        max_failures_per_address=10_000,
    )
    with auth_client(settings) as client:
        create_user(client, "alice")
        hub = hub_login(client, "alice")
        assert make_repository(client, hub, "alice/private", private=True).status_code == 201
        token = registry_token(client, ["repository:alice/private:push,pull"], ALICE)
        push_small_image(client, "alice/private", token)
        yield client


@pytest.fixture(scope="module")
def good_token(client: TestClient) -> str:
    """A valid registry token of alice's for pulling alice/private."""
    token = registry_token(client, [PULL_PRIVATE], ALICE)
    assert client.get(PRIVATE, headers=bearer(token)).status_code == 200
    return token


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def assert_oci_error(response: httpx.Response, status: int, code: str, message: str) -> None:
    """An OCI error envelope with ``status``, ``code`` and ``message`` in its message."""
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json()["errors"][0]
    assert error["code"] == code, response.text
    assert message in error["message"], response.text


def assert_refused_token(response: httpx.Response, message: str) -> None:
    """401 on a registry endpoint: a challenge saying the token is invalid."""
    assert_oci_error(response, 401, "UNAUTHORIZED", message)
    params = challenge(response)
    assert params["error"] == "invalid_token"
    assert params["scope"] == PULL_PRIVATE


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid registry token's claims for alice pulling alice/private, with ``overrides``."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": "dockyard",
        "sub": "alice",
        "aud": SERVICE,
        "iat": now,
        "nbf": now - 1,
        "exp": now + 300,
        "jti": "x",
        "access": [{"type": "repository", "name": "alice/private", "actions": ["pull"]}],
    }
    base.update(overrides)
    return base


# --- malformed Authorization headers -----------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Basic !!!not-base64!!!", "malformed Basic credentials"),
        ("Basic " + b64("no-colon-here"), "malformed Basic credentials"),
        ("Basic " + b64(":" + PASSWORD), "malformed Basic credentials"),
        ("Basic " + b64("alice:"), "malformed Basic credentials"),
        ("Basic " + b64(b"alice:\xff\xfe"), "malformed Basic credentials"),
        ("Basic ", "malformed Basic credentials"),
        ("Basic", "malformed Basic credentials"),
        ("Digest username=alice", "the token endpoint takes Basic credentials"),
        ("Bearer ", "the token endpoint takes Basic credentials"),
        ("Bearer something", "the token endpoint takes Basic credentials"),
        ("alice:password", "the token endpoint takes Basic credentials"),
    ],
)
def test_token_endpoint_refuses_malformed_authorization(
    client: TestClient, header: str, message: str
) -> None:
    response = client.get("/token", params={"service": SERVICE}, headers={"Authorization": header})
    assert_oci_error(response, 401, "UNAUTHORIZED", message)


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + b64("alice:" + PASSWORD),
        "Basic !!!",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Digest abc",
        "Token abc",
        "",
    ],
)
def test_registry_refuses_malformed_authorization_with_a_challenge(
    client: TestClient, header: str
) -> None:
    response = client.get(PRIVATE, headers={"Authorization": header})
    assert_oci_error(response, 401, "UNAUTHORIZED", "authentication required")
    assert challenge(response)["scope"] == PULL_PRIVATE


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer", "malformed Authorization header"),
        ("Bearer ", "malformed Authorization header"),
        ("Basic " + b64("alice:" + PASSWORD), "malformed Authorization header"),
        ("Digest abc", "malformed Authorization header"),
        ("Bearer not.a.jwt", "invalid token"),
        ("Bearer garbage", "invalid token"),
    ],
)
def test_hub_api_refuses_malformed_authorization(
    client: TestClient, header: str, message: str
) -> None:
    response = client.get("/v2/user/", headers={"Authorization": header})
    assert response.status_code == 401, response.text
    assert message in response.json()["message"]


# --- wrong passwords ---------------------------------------------------------------------------
def test_wrong_passwords(client: TestClient) -> None:
    for username in ("alice", "nosuchuser"):
        response = get_token(client, [PULL_PRIVATE], (username, "wrong password"))
        assert_oci_error(response, 401, "UNAUTHORIZED", "incorrect username or password")
        form = {"grant_type": "password", "username": username, "password": "wrong password"}
        response = post_token(client, form)
        assert_oci_error(response, 401, "UNAUTHORIZED", "incorrect username or password")
        response = client.post(
            "/v2/users/login", json={"username": username, "password": "wrong password"}
        )
        assert response.status_code == 401
        assert response.json()["message"] == "incorrect username or password"
        response = client.post(
            "/v2/auth/token", json={"identifier": username, "secret": "wrong password"}
        )
        assert response.status_code == 401


def test_very_long_passwords_are_just_wrong(client: TestClient) -> None:
    response = get_token(client, [], ("alice", "x" * 100_000))
    assert_oci_error(response, 401, "UNAUTHORIZED", "incorrect username or password")
    response = get_token(client, [], ("a" * 10_000, PASSWORD))
    assert_oci_error(response, 401, "UNAUTHORIZED", "incorrect username or password")


# --- forged and tampered tokens ----------------------------------------------------------------
def test_flipped_signature_byte(client: TestClient, good_token: str) -> None:
    header, payload, signature = good_token.split(".")
    raw = bytearray(unb64url(signature))
    raw[10] ^= 0x01
    forged = f"{header}.{payload}.{b64url(bytes(raw))}"
    assert_refused_token(client.get(PRIVATE, headers=bearer(forged)), "invalid token")


def test_changed_payload(client: TestClient, good_token: str) -> None:
    header, payload, signature = good_token.split(".")
    data = json.loads(unb64url(payload))
    data["access"][0]["actions"] = ["pull", "push", "delete"]
    forged = f"{header}.{b64url(json.dumps(data).encode())}.{signature}"
    response = client.delete(PRIVATE, headers=bearer(forged))
    assert_oci_error(response, 401, "UNAUTHORIZED", "invalid token")
    data = json.loads(unb64url(payload))
    data["access"][0]["name"] = "alice/other"
    forged = f"{header}.{b64url(json.dumps(data).encode())}.{signature}"
    assert_refused_token(client.get(PRIVATE, headers=bearer(forged)), "invalid token")


def test_alg_none(client: TestClient) -> None:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims()).encode())
    for forged in (f"{header}.{payload}.", f"{header}.{payload}"):
        assert_refused_token(client.get(PRIVATE, headers=bearer(forged)), "invalid token")


def test_hs256_with_the_public_key_as_secret(client: TestClient) -> None:
    public_pem = signing_key(client).public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims()).encode())
    import hashlib
    import hmac

    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{b64url(mac)}"
    assert_refused_token(client.get(PRIVATE, headers=bearer(forged)), "invalid token")


@pytest.mark.parametrize("kid", ["same", "other", None])
def test_token_signed_by_another_key(client: TestClient, kid: str | None) -> None:
    other_key = ec.generate_private_key(ec.SECP256R1())
    real_kid = signing_key(client).kid
    kid_value = {"same": real_kid, "other": "someone-elses-key", None: None}[kid]
    forged = forge_token(other_key, claims(), kid=kid_value)
    response = client.get(PRIVATE, headers=bearer(forged))
    expected = "signed by an unknown key" if kid == "other" else "invalid token"
    assert_refused_token(response, expected)


def test_expired_token(client: TestClient) -> None:
    now = int(time.time())
    key = signing_key(client)
    expired = forge_token(
        key.private_key, claims(iat=now - 600, nbf=now - 600, exp=now - 1), kid=key.kid
    )
    assert_refused_token(client.get(PRIVATE, headers=bearer(expired)), "expired")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"iss": "someone-else"}, "invalid token"),
        ({"aud": "other-registry"}, "invalid token"),
        ({"nbf": int(time.time()) + 3600}, "invalid token"),
        ({"access": "everything"}, "access claim is malformed"),
        ({"access": ["repository:alice/private:pull"]}, "access claim is malformed"),
    ],
)
def test_well_signed_but_wrong_claims(
    client: TestClient, overrides: dict[str, Any], message: str
) -> None:
    key = signing_key(client)
    forged = forge_token(key.private_key, claims(**overrides), kid=key.kid)
    assert_refused_token(client.get(PRIVATE, headers=bearer(forged)), message)


def test_missing_claims(client: TestClient) -> None:
    key = signing_key(client)
    for name in ("exp", "sub", "aud", "iss", "iat"):
        data = claims()
        del data[name]
        forged = forge_token(key.private_key, data, kid=key.kid)
        assert_refused_token(client.get(PRIVATE, headers=bearer(forged)), "invalid token")


# --- tokens for another audience ---------------------------------------------------------------
def test_hub_token_is_refused_by_the_registry(client: TestClient) -> None:
    hub = hub_login(client, "alice")
    assert_refused_token(client.get(PRIVATE, headers=bearer(hub)), "invalid token")
    response = client.get("/v2/", headers=bearer(hub))
    assert response.status_code == 401
    assert challenge(response)["error"] == "invalid_token"


def test_registry_token_is_refused_by_the_hub_api(client: TestClient, good_token: str) -> None:
    response = client.get("/v2/user/", headers=hub_headers(good_token))
    assert response.status_code == 401, response.text
    assert "audience" in response.json()["message"].lower()


def test_audience_check_survives_the_verification_cache(
    client: TestClient, good_token: str
) -> None:
    assert client.get(PRIVATE, headers=bearer(good_token)).status_code == 200  # cached now
    response = client.get("/v2/access-tokens", headers=hub_headers(good_token))
    assert response.status_code == 401
    hub = hub_login(client, "alice")
    assert client.get("/v2/user/", headers=hub_headers(hub)).status_code == 200  # cached now
    assert client.get(PRIVATE, headers=bearer(hub)).status_code == 401


# --- malformed token requests ------------------------------------------------------------------
@pytest.mark.parametrize(
    "scope",
    [
        "repository",
        "repository:alice/private",
        "repository::pull",
        "repository:alice/private:",
        ":alice/private:pull",
        "repository:alice/private:,",
    ],
)
def test_malformed_scopes(client: TestClient, scope: str) -> None:
    response = get_token(client, [scope], ALICE)
    assert_oci_error(response, 400, "UNSUPPORTED", "invalid scope")
    response = post_token(
        client,
        {"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": scope},
    )
    assert_oci_error(response, 400, "UNSUPPORTED", "invalid scope")


@pytest.mark.parametrize(
    "scope",
    [
        "frobnicator:alice/private:pull",
        "registry:everything:*",
        "repository:Alice/Private:pull",
        "repository:alice/private:frobnicate",
        "repository:" + "a" * 300 + ":pull",
    ],
)
def test_unknown_scopes_are_granted_nothing(client: TestClient, scope: str) -> None:
    response = get_token(client, [scope, PULL_PRIVATE], ALICE)
    assert response.status_code == 200, response.text
    assert access_of(response.json()["token"]) == [
        {"type": "repository", "name": "alice/private", "actions": ["pull"]}
    ]


def test_plugin_repository_scopes_are_repository_scopes(client: TestClient) -> None:
    token = registry_token(client, ["repository(plugin):alice/private:pull"], ALICE)
    assert access_of(token) == [
        {"type": "repository", "name": "alice/private", "actions": ["pull"]}
    ]


def test_wrong_service(client: TestClient) -> None:
    response = client.get("/token", params={"service": "other-registry"})
    assert_oci_error(response, 400, "UNSUPPORTED", "unknown service 'other-registry'")
    response = post_token(
        client,
        {
            "grant_type": "password",
            "username": "alice",
            "password": PASSWORD,
            "service": "other-registry",
        },
    )
    assert_oci_error(response, 400, "UNSUPPORTED", "unknown service")


@pytest.mark.parametrize("grant_type", ["client_credentials", "authorization_code", ""])
def test_unknown_grant_type(client: TestClient, grant_type: str) -> None:
    response = post_token(client, {"grant_type": grant_type, "service": SERVICE})
    assert_oci_error(response, 400, "UNSUPPORTED", "unsupported grant_type")


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "password", "username": "alice"},
        {"grant_type": "password", "password": PASSWORD},
        {"grant_type": "password", "username": "", "password": ""},
    ],
)
def test_password_grant_needs_both_fields(client: TestClient, form: dict[str, str]) -> None:
    response = post_token(client, form)
    assert_oci_error(response, 400, "UNSUPPORTED", "username and password are required")


def test_refresh_grant_without_or_with_a_bad_token(client: TestClient) -> None:
    for token in ("", "dy_rt_nonsense", "x" * 5000):
        response = post_token(client, {"grant_type": "refresh_token", "refresh_token": token})
        assert_oci_error(response, 401, "UNAUTHORIZED", "invalid refresh token")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"grant_type": "password"}', "application/json"),
        (b"grant_type=password", "text/plain"),
        (b"grant_type=password", None),
        (b"grant_type=\xff\xfe", "application/x-www-form-urlencoded"),
    ],
)
def test_non_form_post_body(client: TestClient, content: bytes, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/token", content=content, headers=headers)
    assert_oci_error(response, 400, "UNSUPPORTED", "the body must be a urlencoded form")


def test_form_with_a_charset_is_a_form(client: TestClient) -> None:
    response = client.post(
        "/token",
        content=f"grant_type=password&username=alice&password={PASSWORD}".replace(" ", "+"),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


def test_huge_bodies(client: TestClient) -> None:
    huge = b"grant_type=password&username=alice&password=" + b"x" * (2 * 1024 * 1024)
    response = client.post(
        "/token", content=huge, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_oci_error(response, 413, "SIZE_INVALID", "too large")
    streamed = client.post(  # no Content-Length: the limit holds while reading
        "/token",
        content=iter([b"grant_type=password&password=", *[b"x" * 40_000] * 3]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "content-length" not in streamed.request.headers
    assert_oci_error(streamed, 413, "SIZE_INVALID", "too large")
    big_json = json.dumps({"username": "alice", "password": "x" * (2 * 1024 * 1024)})
    for path in ("/v2/users/login", "/v2/users/signup", "/v2/auth/token"):
        response = client.post(path, content=big_json, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, (path, response.text)
        assert response.json()["message"] == "request body too large"


def test_too_many_scopes_are_refused_clearly(client: TestClient) -> None:
    scopes = [f"repository:alice/r{i}:pull" for i in range(200)]
    response = get_token(client, [" ".join(scopes)], ALICE)
    assert response.status_code == 400, response.text
    assert "at most 64 scopes" in response.text


def test_the_most_scopes_allowed_are_all_granted(client: TestClient) -> None:
    scopes = [f"repository:alice/r{i}:pull" for i in range(64)]
    response = get_token(client, [" ".join(scopes)], ALICE)
    assert response.status_code == 200, response.text
    assert len(access_of(response.json()["token"])) == 64


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "the body must be a JSON object"),
        (b"[1, 2]", "the body must be a JSON object"),
        (b'"alice"', "the body must be a JSON object"),
        (b"{}", "username is required"),
        (b'{"username": "alice"}', "password is required"),
        (b'{"username": ["alice"], "password": "x"}', "username must be of type str"),
    ],
)
def test_hub_login_bad_bodies(client: TestClient, content: bytes, message: str) -> None:
    response = client.post(
        "/v2/users/login", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"] == message


# --- NUL characters ----------------------------------------------------------------------------
# PostgreSQL can neither store nor compare text holding a NUL (U+0000); SQLite can. Nothing in
# Dockyard may hold one, so every database gives these answers, and never a 500.
NUL = "a\x00b"


def test_nul_in_hub_api_bodies_queries_and_paths(client: TestClient) -> None:
    hub = hub_headers(hub_login(client, "alice"))
    patch = client.patch(
        "/v2/repositories/alice/private/", json={"full_description": NUL}, headers=hub
    )
    assert patch.status_code == 400, patch.text
    assert "NUL" in patch.json()["message"]
    login = client.post("/v2/users/login", json={"username": NUL, "password": PASSWORD})
    assert login.status_code == 400, login.text
    queries = [
        ("/v2/search/repositories/", {"query": NUL}),
        ("/v1/search", {"q": NUL}),
        ("/v2/repositories/alice/private/tags/", {"name": NUL}),
        ("/v2/auditlogs/alice/", {"action": NUL}),
    ]
    for path, params in queries:
        response = client.get(path, params=params, headers=hub)
        assert response.status_code == 400, (path, response.text)
        assert set(response.json()) == {"message", "errinfo"}, path
    for path in ("/v2/repositories/a%00b/app/", "/v2/users/a%00b/", "/v2/orgs/a%00b/"):
        response = client.get(path, headers=hub)
        assert response.status_code == 404, (path, response.text)
        assert set(response.json()) == {"message", "errinfo"}, path


def test_nul_in_credentials_and_registry_queries(client: TestClient, good_token: str) -> None:
    assert get_token(client, [PULL_PRIVATE], (NUL, PASSWORD)).status_code == 401
    assert get_token(client, [PULL_PRIVATE], ("alice", NUL)).status_code == 401
    form = {"grant_type": "password", "username": NUL, "password": PASSWORD, "service": SERVICE}
    assert post_token(client, form).status_code == 401
    referrers = "/v2/alice/private/referrers/sha256:" + "0" * 64
    for path, params in (
        ("/v2/_catalog", {"last": NUL}),
        ("/v2/alice/private/tags/list", {"last": NUL}),
        (referrers, {"artifactType": NUL}),
        ("/token", {"service": SERVICE, "scope": f"repository:{NUL}:pull"}),
    ):
        response = client.get(path, params=params, headers=bearer(good_token))
        assert response.status_code == 400, (path, response.text)
        assert response.json()["errors"][0]["code"] == "UNSUPPORTED", path
    # A NUL in a repository name is an invalid name, as any other bad character.
    response = client.get("/v2/a%00b/tags/list", headers=bearer(good_token))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "NAME_INVALID"
