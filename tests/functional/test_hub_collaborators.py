"""Collaborators of personal repositories through the Hub API (Docker Hub's shape), and what
they may then do: read private repositories, get registry tokens from ``/token``, push.

People and repositories of each test's world::

    alice     owns alice/app (public) and alice/secret, alice/diary (private)
    bobby     to be a collaborator; erin never is one
    dave      a collaborator with admin on alice/secret (from the start)
    olga      owns the organization acmeco and its repository acmeco/tool
    root      a site administrator
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support.auth import (
    PASSWORD,
    access_of,
    auth_client,
    auth_settings,
    create_pat,
    create_user,
    get_token,
    hub_headers,
    hub_login,
    make_org,
)
from tests.support.backends import AppBackend
from tests.support.hub import hub_call, mint_hub_token, push_image

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
#: The address Starlette's test client connects from.
IP = "testclient"
FIELDS = {"user", "permission", "created_at"}
SECRET = "/v2/repositories/alice/secret/collaborators"


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]

    def call(
        self, method: str, path: str, as_user: str | None, *, expect: int = 200, **kwargs: Any
    ) -> Any:
        token = self.tokens[as_user] if as_user else None
        return hub_call(self.client, method, path, token, expect=expect, **kwargs)

    def request(
        self, method: str, path: str, as_user: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = hub_headers(self.tokens[as_user]) if as_user else {}
        return self.client.request(method, path, headers=headers, **kwargs)

    def add(self, repository: str, user: str, permission: str, as_user: str = "alice") -> Any:
        body = {"user": user, "permission": permission}
        path = f"/v2/repositories/{repository}/collaborators"
        return self.call("POST", path, as_user, json=body, expect=201)

    def listed(self, repository: str = "alice/secret", as_user: str = "alice") -> list[Any]:
        body = self.call("GET", f"/v2/repositories/{repository}/collaborators", as_user)
        assert body["count"] == len(body["results"])
        return [(r["user"], r["permission"]) for r in body["results"]]


@pytest.fixture
def world(tmp_path: Path, backend: AppBackend) -> Iterator[World]:
    with auth_client(auth_settings(backend, tmp_path)) as client:
        for name in ("alice", "bobby", "dave", "erin", "olga"):
            create_user(client, name)
        create_user(client, "root", admin=True)
        tokens = {n: mint_hub_token(client, n) for n in ("alice", "bobby", "dave", "erin")}
        tokens |= {n: mint_hub_token(client, n) for n in ("olga", "root")}
        world = World(client, tokens)
        for name, private in (("app", False), ("secret", True), ("diary", True)):
            body = {"namespace": "alice", "name": name, "is_private": private}
            world.call("POST", "/v2/repositories/", "alice", json=body, expect=201)
        make_org(client, tokens["olga"], "acmeco")
        body = {"namespace": "acmeco", "name": "tool", "is_private": True}
        world.call("POST", "/v2/repositories/", "olga", json=body, expect=201)
        world.add("alice/secret", "dave", "admin")
        yield world


# --- the API, field by field -----------------------------------------------------------------
def test_add_list_change_and_remove(world: World) -> None:
    added = world.add("alice/secret", "bobby", "read")
    assert set(added) == FIELDS
    assert added["user"] == "bobby"
    assert added["permission"] == "read"
    assert ISO.match(added["created_at"])
    listing = world.call("GET", SECRET, "alice")
    assert listing["count"] == 2
    assert listing["next"] is None
    assert listing["previous"] is None
    assert [set(r) for r in listing["results"]] == [FIELDS, FIELDS]
    assert listing["results"][0] == added  # by username: bobby, dave
    assert world.listed() == [("bobby", "read"), ("dave", "admin")]

    changed = world.call("PUT", f"{SECRET}/bobby", "alice", json={"permission": "write"})
    assert changed == {**added, "permission": "write"}
    assert world.listed() == [("bobby", "write"), ("dave", "admin")]

    assert world.request("DELETE", f"{SECRET}/bobby", "alice").status_code == 204
    assert world.listed() == [("dave", "admin")]
    assert world.listed("alice/app") == []


def test_permission_defaults_to_write(world: World) -> None:
    body = world.call("POST", SECRET, "alice", json={"user": "bobby"}, expect=201)
    assert body["permission"] == "write"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "errinfo"),
    [
        ("POST", SECRET, {}, 400, {"field": "user"}),
        ("POST", SECRET, {"user": 7}, 400, {"field": "user"}),
        ("POST", SECRET, {"user": "bobby", "permission": 2}, 400, {"field": "permission"}),
        ("POST", SECRET, {"user": "bobby", "permission": "owner"}, 400,
         {"type": "ValidationFailed"}),
        ("POST", SECRET, {"user": "nobodyhere"}, 404, {"type": "NotFound"}),
        ("POST", SECRET, {"user": "alice"}, 400, {"type": "ValidationFailed"}),
        ("POST", SECRET, {"user": "dave", "permission": "read"}, 409, {"type": "Conflict"}),
        ("PUT", f"{SECRET}/dave", {}, 400, {"field": "permission"}),
        ("PUT", f"{SECRET}/dave", {"permission": "root"}, 400, {"type": "ValidationFailed"}),
        ("PUT", f"{SECRET}/bobby", {"permission": "read"}, 404, {"type": "NotFound"}),
        ("PUT", f"{SECRET}/nobodyhere", {"permission": "read"}, 404, {"type": "NotFound"}),
        ("DELETE", f"{SECRET}/bobby", None, 404, {"type": "NotFound"}),
        ("DELETE", f"{SECRET}/nobodyhere", None, 404, {"type": "NotFound"}),
        ("GET", "/v2/repositories/alice/nothing/collaborators", None, 404, {"type": "NotFound"}),
        # organizations share their repositories with teams
        ("GET", "/v2/repositories/acmeco/tool/collaborators", None, 400,
         {"type": "ValidationFailed"}),
    ],
    ids=[
        "no-user", "user-not-string", "permission-not-string", "unknown-permission",
        "unknown-user", "the-owner", "already", "put-no-permission", "put-unknown-permission",
        "put-not-collaborator", "put-unknown-user", "delete-not-collaborator",
        "delete-unknown-user", "missing-repository", "organization",
    ],
)  # fmt: skip
def test_refusals(
    world: World,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    errinfo: dict[str, str],
) -> None:
    as_user = "olga" if path.startswith("/v2/repositories/acmeco/") else "alice"
    response = world.request(method, path, as_user, json=body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"message", "errinfo"}
    assert response.json()["errinfo"] == errinfo
    assert world.listed() == [("dave", "admin")]  # nothing changed


def test_only_the_owner_or_a_site_admin_manages_collaborators(world: World) -> None:
    world.add("alice/secret", "bobby", "read")
    operations: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", SECRET, None),
        ("POST", SECRET, {"user": "erin", "permission": "read"}),
        ("PUT", f"{SECRET}/bobby", {"permission": "admin"}),
        ("DELETE", f"{SECRET}/bobby", None),
    ]
    for method, path, body in operations:
        assert world.request(method, path, json=body).status_code == 401, (method, path)
        # collaborators see the repository, but even an admin one manages no collaborators
        for who in ("dave", "bobby"):
            response = world.request(method, path, who, json=body)
            assert response.status_code == 403, (who, method, path, response.text)
        # to anyone else a private repository looks missing
        hidden = world.request(method, path, "erin", json=body)
        missing = world.request(method, path.replace("secret", "nothing"), "erin", json=body)
        assert hidden.status_code == missing.status_code == 404, (method, path)
        assert hidden.json()["errinfo"] == missing.json()["errinfo"]
        assert hidden.json()["message"].replace("secret", "X") == missing.json()["message"].replace(
            "nothing", "X"
        )
    # on a public repository another user is refused, not misled
    assert (
        world.request("GET", "/v2/repositories/alice/app/collaborators", "erin").status_code == 403
    )
    assert world.listed() == [("bobby", "read"), ("dave", "admin")]
    # a site administrator may
    world.add("alice/secret", "erin", "read", as_user="root")
    world.call("PUT", f"{SECRET}/erin", "root", json={"permission": "write"})
    assert world.listed(as_user="root") == [("bobby", "read"), ("dave", "admin"), ("erin", "write")]
    assert world.request("DELETE", f"{SECRET}/erin", "root").status_code == 204


def test_access_tokens_need_the_admin_scope(world: World) -> None:
    alice = hub_login(world.client, "alice")
    headers = {"Authorization": f"Bearer {alice}"}
    _, weak = create_pat(world.client, alice, ["repo:delete"], label="weak")
    _, strong = create_pat(world.client, alice, ["admin"], label="strong")
    world.tokens["weak"] = hub_login(world.client, "alice", weak)
    world.tokens["strong"] = hub_login(world.client, "alice", strong)
    assert world.request("GET", SECRET, "weak").status_code == 403
    body = {"user": "bobby", "permission": "read"}
    assert world.request("POST", SECRET, "weak", json=body).status_code == 403
    world.add("alice/secret", "bobby", "read", as_user="strong")
    assert world.client.get(SECRET, headers=headers).json()["count"] == 2


# --- what a collaborator may then do ---------------------------------------------------------
def test_private_repository_is_visible_to_its_collaborators(world: World) -> None:
    assert world.request("GET", "/v2/repositories/alice/secret/", "bobby").status_code == 404
    world.add("alice/secret", "bobby", "read")
    seen = world.call("GET", "/v2/repositories/alice/secret/", "bobby")
    assert seen["is_private"] is True
    assert seen["affiliation"] == "collaborator"
    assert seen["permissions"] == {"read": True, "write": False, "admin": False}
    world.call("PUT", f"{SECRET}/bobby", "alice", json={"permission": "write"})
    seen = world.call("GET", "/v2/repositories/alice/secret/", "bobby")
    assert seen["permissions"] == {"read": True, "write": True, "admin": False}
    admin = world.call("GET", "/v2/repositories/alice/secret/", "dave")
    assert admin["permissions"] == {"read": True, "write": True, "admin": True}
    assert admin["affiliation"] == "collaborator"
    # lists and search follow; alice/diary stays hidden
    listed = world.call("GET", "/v2/repositories/alice/", "bobby")["results"]
    assert [r["name"] for r in listed] == ["app", "secret"]
    assert [r["affiliation"] for r in listed] == ["", "collaborator"]
    assert [r["name"] for r in world.call("GET", "/v2/repositories/alice/", "erin")["results"]] == [
        "app"
    ]
    found = world.call("GET", "/v2/search/repositories", "bobby", params={"query": "secret"})
    assert [r["repo_name"] for r in found["results"]] == ["alice/secret"]
    found = world.call("GET", "/v2/search/repositories", "erin", params={"query": "secret"})
    assert found["count"] == 0
    # taken back: it looks missing again
    assert world.request("DELETE", f"{SECRET}/bobby", "alice").status_code == 204
    assert world.request("GET", "/v2/repositories/alice/secret/", "bobby").status_code == 404
    listed = world.call("GET", "/v2/repositories/alice/", "bobby")["results"]
    assert [r["name"] for r in listed] == ["app"]


def test_admin_collaborators_change_settings_but_not_collaborators(world: World) -> None:
    body = world.call(
        "PATCH", "/v2/repositories/alice/secret/", "dave", json={"description": "by dave"}
    )
    assert body["description"] == "by dave"
    world.add("alice/secret", "bobby", "write")
    response = world.request("PATCH", "/v2/repositories/alice/secret/", "bobby", json={})
    assert response.status_code == 403
    hook = {"name": "ci", "webhook_url": "http://127.0.0.1:9/hook"}
    path = "/v2/repositories/alice/secret/webhooks/"
    world.call("POST", path, "dave", json=hook, expect=201)
    assert world.request("POST", path, "bobby", json=hook).status_code == 403


def scope_token(world: World, user: str, name: str = "alice/secret") -> list[dict[str, Any]]:
    """The ``access`` claim ``/token`` grants ``user`` asking for everything on ``name``."""
    response = get_token(world.client, [f"repository:{name}:pull,push,delete"], (user, PASSWORD))
    assert response.status_code == 200, response.text
    return access_of(response.json()["token"])


def actions(world: World, user: str, name: str = "alice/secret") -> list[str]:
    access = scope_token(world, user, name)
    assert len(access) <= 1, access
    return sorted(access[0]["actions"]) if access else []


def test_registry_tokens_follow_the_permission(world: World) -> None:
    assert actions(world, "bobby") == []
    assert actions(world, "bobby", "alice/app") == ["pull"]
    world.add("alice/secret", "bobby", "read")
    assert actions(world, "bobby") == ["pull"]
    world.call("PUT", f"{SECRET}/bobby", "alice", json={"permission": "write"})
    assert actions(world, "bobby") == ["pull", "push"]
    world.call("PUT", f"{SECRET}/bobby", "alice", json={"permission": "admin"})
    assert actions(world, "bobby") == ["delete", "pull", "push"]
    assert actions(world, "bobby", "alice/diary") == []  # one repository, not the namespace
    assert actions(world, "bobby", "alice/newone") == []  # creating is the owner's
    assert actions(world, "dave") == ["delete", "pull", "push"]
    assert actions(world, "erin") == []
    assert world.request("DELETE", f"{SECRET}/bobby", "alice").status_code == 204
    assert actions(world, "bobby") == []


def test_write_collaborator_pushes_and_the_catalog_lists_the_repository(world: World) -> None:
    world.add("alice/secret", "bobby", "write")
    response = get_token(world.client, ["repository:alice/secret:pull,push"], ("bobby", PASSWORD))
    token = response.json()["token"]
    pushed = push_image(world.client, "alice/secret", "from-bobby", token)
    tags = world.call("GET", "/v2/repositories/alice/secret/tags/", "alice")["results"]
    assert [(t["name"], t["digest"], t["last_updater_username"]) for t in tags] == [
        ("from-bobby", pushed.digest, "bobby")
    ]
    response = get_token(world.client, ["registry:catalog:*"], ("bobby", PASSWORD))
    catalog = world.client.get(
        "/v2/_catalog", headers={"Authorization": f"Bearer {response.json()['token']}"}
    )
    assert catalog.json()["repositories"] == ["alice/app", "alice/secret"]


def test_deleting_the_repository_removes_its_collaborators(world: World) -> None:
    world.add("alice/secret", "bobby", "write")
    assert world.request("DELETE", "/v2/repositories/alice/secret/", "alice").status_code == 202
    body = {"namespace": "alice", "name": "secret", "is_private": True}
    world.call("POST", "/v2/repositories/", "alice", json=body, expect=201)
    assert world.listed() == []
    assert actions(world, "bobby") == []
    assert actions(world, "dave") == []


# --- the audit log ---------------------------------------------------------------------------
def test_changes_are_audited_in_the_owners_log(world: World) -> None:
    world.add("alice/secret", "bobby", "read")
    world.call("PUT", f"{SECRET}/bobby", "alice", json={"permission": "write"})
    assert world.request("DELETE", f"{SECRET}/bobby", "alice").status_code == 204
    world.add("alice/secret", "erin", "read", as_user="root")
    events = world.call("GET", "/v2/auditlogs/alice/", "alice", params={"page_size": 100})
    ours = [e for e in events["results"] if e["action"].startswith("repo.collaborator.")]
    assert [(e["action"], e["actor"], e["data"]) for e in ours] == [
        ("repo.collaborator.add", "root", {"user": "erin", "permission": "read"}),
        ("repo.collaborator.remove", "alice", {"user": "bobby"}),
        ("repo.collaborator.change", "alice",
         {"user": "bobby", "permission": "write", "previous": "read"}),
        ("repo.collaborator.add", "alice", {"user": "bobby", "permission": "read"}),
        ("repo.collaborator.add", "alice", {"user": "dave", "permission": "admin"}),
    ]  # fmt: skip
    for event in ours:
        assert event["account"] == "alice"
        assert event["name"] == "alice/secret"
        assert event["actor_ip"] == IP
        assert ISO.match(event["timestamp"])
    only = world.call(
        "GET", "/v2/auditlogs/alice/", "alice", params={"action": "repo.collaborator.remove"}
    )
    assert only["count"] == 1
    # refusals change nothing and leave no trace
    world.request("POST", SECRET, "erin", json={"user": "erin"})
    world.request("DELETE", f"{SECRET}/dave", "dave")
    again = world.call("GET", "/v2/auditlogs/alice/", "alice", params={"page_size": 100})
    assert again["count"] == events["count"]


# --- teams, listed ---------------------------------------------------------------------------
def test_teams_are_listed_in_code_point_order(world: World) -> None:
    """Team names mix cases and punctuation; listings order them by code point on every
    database (PostgreSQL's linguistic collation would put "alpha" before "Beta")."""
    teams = ["beta", "Zeta", "alpha-2", "alpha_1", "Alpha", "9lives", "alpha.3"]
    for team in teams:
        world.call("POST", "/v2/orgs/acmeco/groups", "olga", json={"name": team}, expect=201)
        body = {"group_name": team, "permission": "read"}
        world.call("POST", "/v2/repositories/acmeco/tool/groups", "olga", json=body, expect=201)
    listed = world.call("GET", "/v2/orgs/acmeco/groups", "olga")["results"]
    assert [team["name"] for team in listed] == sorted(teams)
    granted = world.call("GET", "/v2/repositories/acmeco/tool/groups", "olga")["results"]
    assert [grant["group_name"] for grant in granted] == sorted(teams)
