"""The audit log: who did what from where, readable by site admins and organization owners."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.auth import (
    PASSWORD,
    auth_client,
    auth_settings,
    bearer,
    create_pat,
    create_user,
    get_token,
    grant_team,
    hub_headers,
    hub_login,
    make_org,
    make_repository,
    make_team,
    push_small_image,
    registry_token,
)
from tests.support.backends import AppBackend

#: The address Starlette's test client connects from.
IP = "testclient"


@dataclass
class Logged:
    """The app after a round of audited actions, with Hub tokens of the people involved."""

    client: TestClient
    tokens: dict[str, str]
    pat_id: str

    def events(self, account: str, as_user: str) -> list[dict[str, Any]]:
        response = self.client.get(
            f"/v2/auditlogs/{account}/",
            params={"page_size": 100},
            headers=hub_headers(self.tokens[as_user]),
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results


def find(events: list[dict[str, Any]], action: str, **fields: Any) -> dict[str, Any]:
    """The newest event with ``action`` whose fields match."""
    for event in events:
        if event["action"] == action and all(event.get(k) == v for k, v in fields.items()):
            return event
    raise AssertionError(f"no {action} {fields} in {[e['action'] for e in events]}")


@pytest.fixture(scope="module")
def logged(
    tmp_path_factory: pytest.TempPathFactory, module_backend: AppBackend
) -> Iterator[Logged]:
    with auth_client(auth_settings(module_backend, tmp_path_factory.mktemp("audit"))) as client:
        for name in ("alice", "orgboss", "member", "bob"):
            create_user(client, name)
        create_user(client, "siteadmin", admin=True)
        tokens = {name: hub_login(client, name) for name in ("alice", "orgboss", "member", "bob")}
        tokens["siteadmin"] = hub_login(client, "siteadmin")

        # a failed login, a login and a push and delete by alice
        assert get_token(client, [], ("alice", "wrong password")).status_code == 401
        token = registry_token(
            client, ["repository:alice/app:pull,push,delete"], ("alice", PASSWORD)
        )
        image = push_small_image(client, "alice/app", token, tag="v1")
        deleted = client.delete(f"/v2/alice/app/manifests/{image.digest}", headers=bearer(token))
        assert deleted.status_code == 202
        # token use: a registry token from a personal access token
        pat_id, secret = create_pat(client, tokens["alice"], ["repo:read"], label="audited")
        assert (
            get_token(client, ["repository:alice/app:pull"], ("alice", secret)).status_code == 200
        )

        # an organization, a repository, a team and a permission change
        make_org(client, tokens["orgboss"], "acme")
        make_team(client, tokens["orgboss"], "acme", "devs", ["member"])
        assert (
            make_repository(client, tokens["orgboss"], "acme/app", private=True).status_code == 201
        )
        assert grant_team(client, tokens["orgboss"], "acme/app", "devs", "write").status_code == 201
        removed = client.delete(
            "/v2/repositories/acme/app/groups/devs", headers=hub_headers(tokens["orgboss"])
        )
        assert removed.status_code == 204
        boss = hub_headers(tokens["orgboss"])
        for private in (False, True):
            response = client.patch(
                "/v2/repositories/acme/app/", json={"is_private": private}, headers=boss
            )
            assert response.status_code == 200, response.text
        response = client.post(
            "/v2/orgs/acme/members", json={"member": "bob", "role": "member"}, headers=boss
        )
        assert response.status_code == 201, response.text
        org_token = registry_token(client, ["repository:acme/app:push,pull"], ("orgboss", PASSWORD))
        push_small_image(client, "acme/app", org_token, tag="v1")
        yield Logged(client, tokens, pat_id)


def test_logins_are_logged(logged: Logged) -> None:
    events = logged.events("alice", "alice")
    failed = find(events, "login.failed")
    assert failed["actor"] == "alice"
    assert failed["actor_ip"] == IP
    login = find(events, "login")
    assert login["actor"] == "alice"
    assert login["actor_ip"] == IP
    assert login["data"]["scope"] == ["repository:alice/app:delete,pull,push"]
    assert login["timestamp"].endswith("Z")


def test_token_use_is_logged(logged: Logged) -> None:
    used = find(logged.events("alice", "alice"), "token.use")
    assert used["actor"] == "alice"
    assert used["actor_ip"] == IP
    assert used["data"]["access_token"] == logged.pat_id


def test_pushes_and_deletes_are_logged(logged: Logged) -> None:
    events = logged.events("alice", "alice")
    push = find(events, "push", name="alice/app")
    assert push["actor"] == "alice"
    assert push["actor_ip"] == IP
    assert push["data"]["reference"] == "v1"
    delete = find(events, "manifest.delete", name="alice/app")
    assert delete["actor"] == "alice"
    assert delete["actor_ip"] == IP
    assert delete["data"]["reference"].startswith("sha256:")


def test_permission_changes_are_logged(logged: Logged) -> None:
    events = logged.events("acme", "orgboss")
    granted = find(events, "repo.permission.set", name="acme/app")
    assert granted["actor"] == "orgboss"
    assert granted["actor_ip"] == IP
    assert granted["data"] == {"team": "devs", "permission": "write"}
    removed = find(events, "repo.permission.remove", name="acme/app")
    assert removed["actor"] == "orgboss"
    assert removed["actor_ip"] == IP
    for action in (
        "org.create",
        "team.create",
        "team.member.add",
        "org.member.set",
        "repo.create",
        "repo.visibility",
    ):
        event = find(events, action)
        assert event["actor"] == "orgboss", event
        assert event["actor_ip"] == IP, event
    visibility = [e["data"] for e in events if e["action"] == "repo.visibility"]
    assert visibility == [{"is_private": True}, {"is_private": False}]


def test_org_owners_read_their_organizations_log(logged: Logged) -> None:
    events = logged.events("acme", "orgboss")
    assert {e["account"] for e in events} == {"acme"}
    push = find(events, "push", name="acme/app")
    assert push["actor"] == "orgboss"
    assert push["actor_ip"] == IP


def test_site_admins_read_everything(logged: Logged) -> None:
    events = logged.events("_all", "siteadmin")
    accounts = {e["account"] for e in events}
    assert {"alice", "acme"} <= accounts
    find(events, "login.failed", actor="alice")
    find(events, "repo.permission.set", actor="orgboss")
    assert logged.events("acme", "siteadmin")
    assert logged.events("alice", "siteadmin")


def test_filter_by_action(logged: Logged) -> None:
    response = logged.client.get(
        "/v2/auditlogs/_all/",
        params={"action": "push"},
        headers=hub_headers(logged.tokens["siteadmin"]),
    )
    assert response.status_code == 200
    assert {e["action"] for e in response.json()["results"]} == {"push"}


@pytest.mark.parametrize(
    ("account", "user"),
    [
        ("_all", "alice"),
        ("_all", "orgboss"),
        ("acme", "member"),
        ("acme", "bob"),
        ("alice", "bob"),
        ("alice", "orgboss"),
    ],
)
def test_others_are_refused(logged: Logged, account: str, user: str) -> None:
    response = logged.client.get(
        f"/v2/auditlogs/{account}/", headers=hub_headers(logged.tokens[user])
    )
    assert response.status_code == 403, response.text
    assert response.json()["message"]


def test_anonymous_is_refused(logged: Logged) -> None:
    response = logged.client.get("/v2/auditlogs/_all/")
    assert response.status_code == 401
