"""Hub API repositories: one repository, a namespace's list, changes and deletion.

People and repositories of the module's world::

    alice     owns alice/app (public, tags v1 then v2), alice/secret (private), alice/zeta
    bob       no relation to anything
    olga      owns the organization acmeco: acmeco/tool (private), acmeco/open (public)
    carol     in acmeco's team readers (read on acmeco/tool)
    dave      in acmeco's team admins (admin on acmeco/tool)
    root      a site administrator; pushed `ubuntu` (so library/ubuntu)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.testclient import TestClient

from dockyard.metadata.hub_store import RepositoryStore
from tests.support.auth import (
    PASSWORD,
    auth_client,
    auth_settings,
    create_user,
    database,
    grant_team,
    hub_headers,
    make_org,
    make_team,
    run,
)
from tests.support.backends import AppBackend
from tests.support.hub import (
    REPOSITORY_FIELDS,
    Pushed,
    hub_call,
    mint_hub_token,
    mint_registry_token,
    push_image,
    registry_token,
)

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]
    pushed: dict[str, Pushed]

    def get(self, path: str, as_user: str | None = None, **params: Any) -> Any:
        token = self.tokens[as_user] if as_user else None
        return hub_call(self.client, "GET", path, token, params=params)

    def status(self, method: str, path: str, as_user: str | None = None, **kwargs: Any) -> int:
        headers = hub_headers(self.tokens[as_user]) if as_user else {}
        return self.client.request(method, path, headers=headers, **kwargs).status_code


def build_world(client: TestClient) -> World:
    for name in ("alice", "bob", "olga", "carol", "dave"):
        create_user(client, name)
    create_user(client, "root", admin=True)
    people = ("alice", "bob", "olga", "carol", "dave", "root")
    tokens = {name: mint_hub_token(client, name) for name in people}
    pushed: dict[str, Pushed] = {}

    alice = tokens["alice"]
    app = {
        "namespace": "alice",
        "name": "app",
        "is_private": False,
        "description": "The application",
        "full_description": "# App\n\nIt does things.",
    }
    hub_call(client, "POST", "/v2/repositories/", alice, json=app, expect=201)
    push = mint_registry_token(client, "alice", "alice/app")
    pushed["alice/app:v1"] = push_image(client, "alice/app", "v1", push)
    pushed["alice/app:v2"] = push_image(client, "alice/app", "v2", push, architecture="arm64")
    secret = {"namespace": "alice", "name": "secret", "is_private": True}
    hub_call(client, "POST", "/v2/repositories/", alice, json=secret, expect=201)
    zeta = {"namespace": "alice", "name": "zeta", "description": "Zeta tools"}
    hub_call(client, "POST", "/v2/repositories/", alice, json=zeta, expect=201)

    make_org(client, tokens["olga"], "acmeco")
    make_team(client, tokens["olga"], "acmeco", "readers", ["carol"])
    make_team(client, tokens["olga"], "acmeco", "admins", ["dave"])
    for name, private in (("tool", True), ("open", False)):
        body = {"namespace": "acmeco", "name": name, "is_private": private}
        hub_call(client, "POST", "/v2/repositories/", tokens["olga"], json=body, expect=201)
    assert grant_team(client, tokens["olga"], "acmeco/tool", "readers", "read").status_code == 201
    assert grant_team(client, tokens["olga"], "acmeco/tool", "admins", "admin").status_code == 201

    root_push = registry_token(client, "root", PASSWORD, "ubuntu")  # the real /token dance
    pushed["library/ubuntu:24.04"] = push_image(client, "ubuntu", "24.04", root_push)
    return World(client, tokens, pushed)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, module_backend: AppBackend) -> Iterator[World]:
    with auth_client(auth_settings(module_backend, tmp_path_factory.mktemp("hub-repos"))) as client:
        yield build_world(client)


@pytest.fixture
def fresh(tmp_path: Path, backend: AppBackend) -> Iterator[World]:
    """A world of its own, for tests that delete things."""
    with auth_client(auth_settings(backend, tmp_path)) as client:
        yield build_world(client)


def stored(world: World, name: str) -> Any:
    record = run(world.client, RepositoryStore(database(world.client)).get, name)
    assert record is not None
    return record


def iso(value: Any) -> str:
    from datetime import UTC

    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return str(aware.isoformat().replace("+00:00", "Z"))


# --- one repository --------------------------------------------------------------------------
def test_repository_fields_for_an_anonymous_caller(world: World) -> None:
    body = world.get("/v2/repositories/alice/app/")
    record = stored(world, "alice/app")
    tag = world.get("/v2/repositories/alice/app/tags/v2/")
    assert set(body) == REPOSITORY_FIELDS
    assert body == {
        "user": "alice",
        "name": "app",
        "namespace": "alice",
        "repository_type": "image",
        "status": 1,
        "status_description": "active",
        "description": "The application",
        "is_private": False,
        "is_automated": False,
        "is_official": False,
        "star_count": 0,
        "pull_count": 0,
        "last_updated": tag["tag_last_pushed"],
        "date_registered": iso(record.created_at),
        "affiliation": "",
        "has_starred": False,
        "full_description": "# App\n\nIt does things.",
        "permissions": {"read": True, "write": False, "admin": False},
    }
    assert ISO.match(body["last_updated"])
    assert ISO.match(body["date_registered"])
    assert body["date_registered"] < body["last_updated"]


def test_repository_as_seen_by_its_owner_and_others(world: World) -> None:
    own = world.get("/v2/repositories/alice/app/", "alice")
    assert own["affiliation"] == "owner"
    assert own["permissions"] == {"read": True, "write": True, "admin": True}
    bob = world.get("/v2/repositories/alice/app/", "bob")
    assert bob["affiliation"] == ""
    assert bob["permissions"] == {"read": True, "write": False, "admin": False}
    admin = world.get("/v2/repositories/alice/app/", "root")
    assert admin["permissions"] == {"read": True, "write": True, "admin": True}


def test_repository_never_pushed_was_last_updated_when_created(world: World) -> None:
    body = world.get("/v2/repositories/alice/zeta/", "alice")
    assert body["last_updated"] == body["date_registered"]
    assert body["description"] == "Zeta tools"
    assert body["full_description"] == ""


def test_private_repository_looks_missing_to_those_who_may_not_read_it(world: World) -> None:
    for who in (None, "bob", "carol", "olga"):
        headers = hub_headers(world.tokens[who]) if who else {}
        hidden = world.client.get("/v2/repositories/alice/secret/", headers=headers)
        missing = world.client.get("/v2/repositories/alice/nothing/", headers=headers)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["errinfo"] == missing.json()["errinfo"]
        assert hidden.json()["message"].replace("secret", "X") == missing.json()["message"].replace(
            "nothing", "X"
        )
    assert world.get("/v2/repositories/alice/secret/", "alice")["is_private"] is True
    assert world.get("/v2/repositories/alice/secret/", "root")["is_private"] is True


def test_team_members_see_the_private_repositories_granted_to_their_team(world: World) -> None:
    carol = world.get("/v2/repositories/acmeco/tool/", "carol")
    assert carol["permissions"] == {"read": True, "write": False, "admin": False}
    assert carol["affiliation"] == "member"
    dave = world.get("/v2/repositories/acmeco/tool/", "dave")
    assert dave["permissions"] == {"read": True, "write": True, "admin": True}
    olga = world.get("/v2/repositories/acmeco/tool/", "olga")
    assert olga["affiliation"] == "owner"
    assert world.status("GET", "/v2/repositories/acmeco/tool/", "bob") == 404


def test_official_image_pushed_with_a_one_component_name(world: World) -> None:
    body = world.get("/v2/repositories/library/ubuntu/")
    assert body["namespace"] == body["user"] == "library"
    assert body["name"] == "ubuntu"
    assert body["is_official"] is True
    tags = world.get("/v2/repositories/library/ubuntu/tags/")
    assert [t["name"] for t in tags["results"]] == ["24.04"]
    assert tags["results"][0]["digest"] == world.pushed["library/ubuntu:24.04"].digest
    listing = world.get("/v2/repositories/library/")
    assert [r["name"] for r in listing["results"]] == ["ubuntu"]


def test_create_answers_with_every_field(world: World) -> None:
    body = hub_call(
        world.client,
        "POST",
        "/v2/repositories/",
        world.tokens["bob"],
        json={"namespace": "bob", "name": "new", "description": "d", "is_private": True},
        expect=201,
    )
    assert set(body) == REPOSITORY_FIELDS
    assert body["namespace"] == "bob"
    assert body["name"] == "new"
    assert body["is_private"] is True
    assert body["affiliation"] == "owner"
    assert body["last_updated"] == body["date_registered"]
    assert body["star_count"] == body["pull_count"] == 0


def test_patch_answers_with_every_field(world: World) -> None:
    body = hub_call(
        world.client,
        "PATCH",
        "/v2/repositories/alice/zeta/",
        world.tokens["alice"],
        json={"full_description": "Longer text"},
    )
    assert set(body) == REPOSITORY_FIELDS
    assert body["full_description"] == "Longer text"
    assert body["description"] == "Zeta tools"


# --- a namespace's repositories --------------------------------------------------------------
def link(url: str) -> tuple[str, dict[str, str]]:
    """The path and query parameters of a ``next``/``previous`` link."""
    parts = urlsplit(url)
    assert parts.scheme == "http"
    return parts.path, dict(parse_qsl(parts.query))


def names(page: dict[str, Any]) -> list[str]:
    return [r["name"] for r in page["results"]]


def test_namespace_list_holds_only_readable_repositories(world: World) -> None:
    anonymous = world.get("/v2/repositories/alice/")
    assert anonymous["count"] == 2
    assert names(anonymous) == ["app", "zeta"]
    assert anonymous["next"] is None
    assert anonymous["previous"] is None
    assert names(world.get("/v2/repositories/alice/", "bob")) == ["app", "zeta"]
    assert names(world.get("/v2/repositories/alice/", "alice")) == ["app", "secret", "zeta"]
    assert names(world.get("/v2/repositories/alice/", "root")) == ["app", "secret", "zeta"]
    assert names(world.get("/v2/repositories/acmeco/")) == ["open"]
    assert names(world.get("/v2/repositories/acmeco/", "carol")) == ["open", "tool"]


def test_namespace_list_results_have_every_field(world: World) -> None:
    listed = world.get("/v2/repositories/alice/", "alice")["results"][0]
    one = world.get("/v2/repositories/alice/app/", "alice")
    assert set(listed) == REPOSITORY_FIELDS
    assert listed == one


def test_namespace_list_pages(world: World) -> None:
    first = world.get("/v2/repositories/alice/", "alice", page_size=2)
    assert first["count"] == 3
    assert names(first) == ["app", "secret"]
    assert first["previous"] is None
    assert link(first["next"]) == ("/v2/repositories/alice/", {"page": "2", "page_size": "2"})
    second = world.get("/v2/repositories/alice/", "alice", page=2, page_size=2)
    assert names(second) == ["zeta"]
    assert second["next"] is None
    assert link(second["previous"]) == ("/v2/repositories/alice/", {"page": "1", "page_size": "2"})
    beyond = world.get("/v2/repositories/alice/", "alice", page=3, page_size=2)
    assert beyond["count"] == 3
    assert beyond["results"] == []


def test_namespace_list_orderings_and_name_filter(world: World) -> None:
    def order(ordering: str) -> list[str]:
        return names(world.get("/v2/repositories/alice/", "alice", ordering=ordering))

    assert order("name") == ["app", "secret", "zeta"]
    assert order("-name") == ["zeta", "secret", "app"]
    # alice/app was pushed before secret, then zeta, were created (and never pushed)
    assert order("-last_updated") == ["zeta", "secret", "app"]
    assert order("last_updated") == ["app", "secret", "zeta"]
    assert order("-pull_count") == ["app", "secret", "zeta"]  # all 0: by name
    assert names(world.get("/v2/repositories/alice/", "alice", name="E")) == ["secret", "zeta"]
    assert names(world.get("/v2/repositories/alice/", name="e")) == ["zeta"]
    assert names(world.get("/v2/repositories/alice/", name="%")) == []
    assert names(world.get("/v2/repositories/alice/", name="_")) == []


def test_namespace_list_errors(world: World) -> None:
    assert world.status("GET", "/v2/repositories/nobodyhere/") == 404
    assert world.status("GET", "/v2/repositories/alice/", params={"ordering": "size"}) == 400
    assert world.status("GET", "/v2/repositories/alice/", params={"page": "0"}) == 400
    assert world.status("GET", "/v2/repositories/alice/", params={"page_size": "x"}) == 400
    # a namespace that exists but holds nothing visible: an empty page
    empty = world.get("/v2/repositories/dave/")
    assert empty == {"count": 0, "next": None, "previous": None, "results": []}


# --- deletion --------------------------------------------------------------------------------
def test_delete_needs_admin_rights(fresh: World) -> None:
    assert fresh.status("DELETE", "/v2/repositories/alice/app/") == 401
    assert fresh.status("DELETE", "/v2/repositories/alice/app/", "bob") == 403
    assert fresh.status("DELETE", "/v2/repositories/alice/secret/", "bob") == 404
    assert fresh.status("DELETE", "/v2/repositories/acmeco/tool/", "carol") == 403
    assert fresh.status("DELETE", "/v2/repositories/alice/nothing/", "alice") == 404
    assert fresh.status("GET", "/v2/repositories/alice/app/") == 200


def test_delete_removes_repository_tags_and_manifests(fresh: World) -> None:
    client = fresh.client
    image = fresh.pushed["alice/app:v1"]
    hub_call(client, "POST", "/v2/repositories/alice/app/stars/", fresh.tokens["bob"], expect=201)
    assert fresh.status("DELETE", "/v2/repositories/alice/app/", "alice") == 202
    assert fresh.status("GET", "/v2/repositories/alice/app/", "alice") == 404
    assert fresh.status("GET", "/v2/repositories/alice/app/tags/", "alice") == 404
    assert names(fresh.get("/v2/repositories/alice/", "alice")) == ["secret", "zeta"]
    assert fresh.get("/v2/users/bob/starred/", "bob")["count"] == 0
    token = registry_token(client, "alice", PASSWORD, "alice/app", "pull")
    for path in (
        "/v2/alice/app/manifests/v1",
        f"/v2/alice/app/manifests/{image.digest}",
        f"/v2/alice/app/blobs/{image.config_digest}",
    ):
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 404, path
    events = fresh.get("/v2/auditlogs/alice/", "alice", action="repo.delete")["results"]
    assert [(e["action"], e["name"], e["actor"]) for e in events] == [
        ("repo.delete", "alice/app", "alice")
    ]
    # The name is free again: a push creates a new, empty repository.
    push_image(client, "alice/app", "again", mint_registry_token(client, "alice", "alice/app"))
    tags = fresh.get("/v2/repositories/alice/app/tags/")
    assert [t["name"] for t in tags["results"]] == ["again"]


def test_team_admins_and_site_admins_may_delete(fresh: World) -> None:
    assert fresh.status("DELETE", "/v2/repositories/acmeco/tool/", "dave") == 202
    assert fresh.status("DELETE", "/v2/repositories/alice/zeta/", "root") == 202
    assert fresh.status("GET", "/v2/repositories/acmeco/tool/", "olga") == 404
    assert fresh.status("GET", "/v2/repositories/alice/zeta/", "alice") == 404
