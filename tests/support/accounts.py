"""Accounts on a live Dockyard with authentication on, made through the Hub REST API.

For end-to-end tests of real clients logging in: sign-up, Hub login, personal access tokens,
organizations, teams, repository grants, and a registry HTTP client holding a bearer token.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import LiveServer

#: ``LiveServer.env`` that turns authentication on (the test suite defaults it off).
AUTH_ON = {"DOCKYARD_AUTH__ENABLED": "true"}

_counter = itertools.count(1)


def unique_name(prefix: str) -> str:
    """A fresh account name (lowercase letters and digits, 4-30 characters)."""
    return f"{prefix}{os.getpid() % 10000}{next(_counter)}"


def start_auth_server(data_dir: Path) -> LiveServer:
    """A ``dockyard serve`` on 127.0.0.1 with Docker token authentication on."""
    return LiveServer(data_dir=data_dir, env=dict(AUTH_ON)).start()


@dataclass
class Account:
    """A user of a live Dockyard: its password and a Hub API client logged in as it."""

    server: LiveServer
    username: str
    password: str
    hub_token: str

    def hub(self) -> httpx.Client:
        """A Hub API client sending this user's Hub token."""
        return httpx.Client(
            base_url=self.server.url,
            headers={"Authorization": f"Bearer {self.hub_token}"},
            timeout=30,
        )

    def call(self, method: str, path: str, json: Any = None, expect: int = 200) -> Any:
        """One Hub API call as this user; its JSON body (None when empty)."""
        with self.hub() as client:
            response = client.request(method, path, json=json)
        assert response.status_code == expect, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    def create_pat(self, label: str, scopes: list[str]) -> tuple[str, str]:
        """A new personal access token: ``(secret, uuid)``."""
        body = self.call(
            "POST", "/v2/access-tokens", {"token_label": label, "scopes": scopes}, expect=201
        )
        secret, uuid = str(body["token"]), str(body["uuid"])
        assert secret.startswith("dy_pat_"), secret
        return secret, uuid

    def revoke_pat(self, uuid: str) -> None:
        """``DELETE /v2/access-tokens/{uuid}``."""
        self.call("DELETE", f"/v2/access-tokens/{uuid}", expect=204)

    def create_repository(self, namespace: str, name: str, *, private: bool) -> None:
        """``POST /v2/repositories/`` (before any push)."""
        self.call(
            "POST",
            "/v2/repositories/",
            {"namespace": namespace, "name": name, "is_private": private},
            expect=201,
        )

    def set_private(self, repository: str, private: bool) -> None:
        """``PATCH /v2/repositories/{namespace}/{name}/`` ``{is_private}``."""
        body = self.call("PATCH", f"/v2/repositories/{repository}/", {"is_private": private})
        assert body["is_private"] is private, body

    def create_org(self, org: str) -> None:
        """``POST /v2/orgs/``; this user owns it."""
        self.call("POST", "/v2/orgs/", {"orgname": org}, expect=201)

    def create_team(self, org: str, team: str, members: list[str]) -> None:
        """A team of ``org`` with ``members``."""
        self.call("POST", f"/v2/orgs/{org}/groups", {"name": team}, expect=201)
        for member in members:
            self.call(
                "POST", f"/v2/orgs/{org}/groups/{team}/members", {"member": member}, expect=201
            )

    def grant_team(self, repository: str, team: str, permission: str) -> None:
        """Give ``team`` ``permission`` (read, write, admin) on ``namespace/name``."""
        self.call(
            "POST",
            f"/v2/repositories/{repository}/groups",
            {"group_name": team, "permission": permission},
            expect=201,
        )

    def registry_client(self, repository: str, actions: str = "push,pull") -> httpx.Client:
        """A registry HTTP client with a bearer token for ``repository`` (asked with Basic)."""
        token = registry_token(self.server, (self.username, self.password), repository, actions)
        return httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )


def registry_token(
    server: LiveServer, credentials: tuple[str, str] | None, repository: str, actions: str
) -> str:
    """``GET /token`` for ``repository:NAME:ACTIONS`` (anonymous when ``credentials`` is None)."""
    response = httpx.get(
        f"{server.url}/token",
        params={"service": "dockyard", "scope": f"repository:{repository}:{actions}"},
        auth=credentials,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def sign_up(server: LiveServer, prefix: str) -> Account:
    """A new user (``POST /v2/users/signup``), logged in (``POST /v2/users/login``)."""
    username = unique_name(prefix)
    password = f"pw-{username}-Secret9"
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post(
            "/v2/users/signup",
            json={"username": username, "email": f"{username}@example.test", "password": password},
        )
        assert response.status_code == 201, response.text
        response = client.post("/v2/users/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
    return Account(server, username, password, str(response.json()["token"]))
