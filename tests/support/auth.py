"""Helpers of the authentication tests: an app with auth on, users, tokens, and small pushes.

Every helper takes the in-process :class:`TestClient` (used as a context manager, so the app's
lifespan ran and ``client.portal`` can run coroutines on the app's event loop).
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt
from sqlalchemy import select
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.auth.keys import SigningKey
from dockyard.auth.passwords import hash_password
from dockyard.config import Settings
from dockyard.metadata.db import Database
from dockyard.metadata.hub_store import HubStore, UserRecord
from dockyard.metadata.hub_tables import access_tokens
from tests.support.backends import AppBackend
from tests.support.oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, descriptor, digest_of, encode

T = TypeVar("T")

SERVICE = "dockyard"
PASSWORD = "correct horse battery"


# --- the app -----------------------------------------------------------------------------------
def auth_settings(backend: AppBackend, tmp_path: Path, **auth: Any) -> Settings:
    """Settings with authentication on (the product's default), data in ``tmp_path``, on
    ``backend`` (the run's database and storage)."""
    return backend.settings(
        tmp_path / "data", storage={"fsync": False}, auth={"enabled": True, **auth}
    )


@contextmanager
def auth_client(settings: Settings) -> Iterator[TestClient]:
    """An in-process client of an app built from ``settings`` (lifespan run)."""
    with TestClient(create_app(settings)) as client:
        yield client


def run(client: TestClient, func: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``await func(*args)`` on the app's event loop."""
    portal = client.portal
    assert portal is not None, "use the TestClient as a context manager"
    return portal.call(func, *args)


def store(client: TestClient) -> HubStore:
    """The app's Hub store."""
    hub_store: HubStore = client.app.state.auth.store  # type: ignore[attr-defined]
    return hub_store


def signing_key(client: TestClient) -> SigningKey:
    """The app's token signing key."""
    key: SigningKey = client.app.state.auth.tokens.authority.key  # type: ignore[attr-defined]
    return key


def database(client: TestClient) -> Database:
    """The app's metadata database."""
    db: Database = client.app.state.db  # type: ignore[attr-defined]
    return db


# --- users -------------------------------------------------------------------------------------
@functools.cache
def _password_hash(password: str) -> str:
    """argon2 is slow by design: hash each test password once per session."""
    return hash_password(password)


def create_user(
    client: TestClient,
    username: str,
    password: str = PASSWORD,
    *,
    admin: bool = False,
    email: str | None = None,
) -> UserRecord:
    """Create a user straight in the store (sign-up through the API is tested on its own)."""
    return run(
        client,
        functools.partial(
            store(client).create_user,
            username,
            email or f"{username}@example.com",
            _password_hash(password),
            is_admin=admin,
        ),
    )


def signup(
    client: TestClient, username: str, password: str = PASSWORD, email: str | None = None
) -> httpx.Response:
    """``POST /v2/users/signup``."""
    return client.post(
        "/v2/users/signup",
        json={
            "username": username,
            "email": email or f"{username}@example.com",
            "password": password,
        },
    )


def hub_login(client: TestClient, username: str, secret: str = PASSWORD) -> str:
    """A Hub API token from ``POST /v2/users/login`` (a password or an access token)."""
    response = client.post("/v2/users/login", json={"username": username, "password": secret})
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert isinstance(token, str)
    return token


def hub_headers(token: str) -> dict[str, str]:
    """``Authorization: Bearer`` for the Hub API."""
    return {"Authorization": f"Bearer {token}"}


def create_pat(
    client: TestClient,
    hub_token: str,
    scopes: list[str],
    label: str = "ci",
    expires_at: str | None = None,
) -> tuple[str, str]:
    """Create a personal access token; returns ``(uuid, secret)``."""
    body: dict[str, Any] = {"token_label": label, "scopes": scopes}
    if expires_at is not None:
        body["expires_at"] = expires_at
    response = client.post("/v2/access-tokens", json=body, headers=hub_headers(hub_token))
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["token"].startswith("dy_pat_"), data
    return str(data["uuid"]), str(data["token"])


def stored_token_hashes(client: TestClient) -> list[str]:
    """Every ``access_tokens.token_hash`` value in the database."""

    async def read() -> list[str]:
        async with database(client).read() as conn:
            return [str(v) for v in (await conn.scalars(select(access_tokens.c.token_hash)))]

    return run(client, read)


def make_org(client: TestClient, owner_token: str, org: str) -> None:
    """``POST /v2/orgs/`` as the future owner."""
    response = client.post("/v2/orgs/", json={"orgname": org}, headers=hub_headers(owner_token))
    assert response.status_code == 201, response.text


def make_team(
    client: TestClient, owner_token: str, org: str, team: str, members: list[str]
) -> None:
    """Create team ``team`` in ``org`` holding ``members``."""
    headers = hub_headers(owner_token)
    response = client.post(f"/v2/orgs/{org}/groups", json={"name": team}, headers=headers)
    assert response.status_code == 201, response.text
    for member in members:
        response = client.post(
            f"/v2/orgs/{org}/groups/{team}/members", json={"member": member}, headers=headers
        )
        assert response.status_code == 201, response.text


def make_repository(client: TestClient, token: str, name: str, *, private: bool) -> httpx.Response:
    """``POST /v2/repositories/`` for ``namespace/name``."""
    namespace, _, repo = name.partition("/")
    return client.post(
        "/v2/repositories/",
        json={"namespace": namespace, "name": repo, "is_private": private},
        headers=hub_headers(token),
    )


def grant_team(
    client: TestClient, owner_token: str, repository: str, team: str, permission: str
) -> httpx.Response:
    """Give ``team`` ``permission`` (read, write, admin) on ``repository``."""
    return client.post(
        f"/v2/repositories/{repository}/groups",
        json={"group_name": team, "permission": permission},
        headers=hub_headers(owner_token),
    )


# --- registry tokens ---------------------------------------------------------------------------
def basic(username: str, secret: str) -> dict[str, str]:
    """``Authorization: Basic`` with ``username:secret``."""
    raw = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def bearer(token: str) -> dict[str, str]:
    """``Authorization: Bearer`` with a registry token."""
    return {"Authorization": f"Bearer {token}"}


def get_token(
    client: TestClient,
    scopes: list[str] | tuple[str, ...] = (),
    credentials: tuple[str, str] | None = None,
    **params: str,
) -> httpx.Response:
    """``GET /token?service=dockyard&scope=...`` (scope repeated), Basic auth when given."""
    query: list[tuple[str, str]] = [("service", SERVICE)]
    query += [("scope", s) for s in scopes]
    query += list(params.items())
    headers = basic(*credentials) if credentials else {}
    return client.get("/token", params=query, headers=headers)


def registry_token(
    client: TestClient,
    scopes: list[str] | tuple[str, ...] = (),
    credentials: tuple[str, str] | None = None,
) -> str:
    """A registry token for ``scopes`` (asserting the token endpoint said 200)."""
    response = get_token(client, scopes, credentials)
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert isinstance(token, str)
    return token


def post_token(client: TestClient, form: dict[str, str]) -> httpx.Response:
    """``POST /token`` with an urlencoded form."""
    return client.post("/token", data=form)


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a JWT, not verified."""
    payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return payload


def access_of(token: str) -> list[dict[str, Any]]:
    """The ``access`` claim of a JWT, sorted by resource."""
    access: list[dict[str, Any]] = claims_of(token)["access"]
    return sorted(access, key=lambda a: (a["type"], a["name"]))


_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


def challenge(response: httpx.Response) -> dict[str, str]:
    """The parameters of a ``WWW-Authenticate: Bearer ...`` challenge."""
    header = response.headers.get("www-authenticate", "")
    assert header.startswith("Bearer "), (response.status_code, header, response.text)
    return dict(_CHALLENGE_PARAM.findall(header))


def oci_error(response: httpx.Response) -> tuple[int, str]:
    """``(status, first error code)`` of an OCI error response."""
    body = response.json()
    return response.status_code, str(body["errors"][0]["code"])


# --- pushing a small image ---------------------------------------------------------------------
@dataclass(frozen=True)
class SmallImage:
    """An image manifest pushed to the registry, with the digests of its parts."""

    name: str
    tag: str
    digest: str
    config_digest: str
    layer_digest: str
    manifest: bytes


def image_parts(seed: str) -> tuple[bytes, bytes, bytes]:
    """``(config, layer, manifest)`` of a tiny OCI image that depends on ``seed``."""
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}},
        sort_keys=True,
    ).encode()
    config += seed.encode()
    layer = f"layer {seed}".encode()
    manifest = encode(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, config),
            "layers": [descriptor(OCI_LAYER, layer)],
        }
    )
    return config, layer, manifest


def upload_blob(client: TestClient, name: str, data: bytes, token: str | None) -> httpx.Response:
    """A monolithic ``POST /v2/<name>/blobs/uploads/?digest=`` with ``token``."""
    headers = {"Content-Type": "application/octet-stream", **(bearer(token) if token else {})}
    return client.post(
        f"/v2/{name}/blobs/uploads/",
        params={"digest": digest_of(data)},
        content=data,
        headers=headers,
    )


def put_manifest(
    client: TestClient, name: str, reference: str, manifest: bytes, token: str | None
) -> httpx.Response:
    """``PUT /v2/<name>/manifests/<reference>`` of an OCI image manifest with ``token``."""
    headers = {"Content-Type": OCI_MANIFEST, **(bearer(token) if token else {})}
    return client.put(f"/v2/{name}/manifests/{reference}", content=manifest, headers=headers)


def push_small_image(
    client: TestClient, name: str, token: str, tag: str = "latest", seed: str = ""
) -> SmallImage:
    """Push a config, a layer and a manifest tagged ``tag`` with a push token."""
    config, layer, manifest = image_parts(seed or f"{name}:{tag}")
    for blob in (config, layer):
        response = upload_blob(client, name, blob, token)
        assert response.status_code == 201, response.text
    response = put_manifest(client, name, tag, manifest, token)
    assert response.status_code == 201, response.text
    return SmallImage(name, tag, digest_of(manifest), digest_of(config), digest_of(layer), manifest)


def forge_token(
    key: Any, claims: dict[str, Any], *, kid: str | None = None, alg: str = "ES256"
) -> str:
    """A JWT with arbitrary ``claims`` signed by ``key`` (a private key object)."""
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims, key, algorithm=alg, headers=headers)
