"""Stars: star and unstar (idempotent, counted), ``has_starred``, a user's starred list."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.testclient import TestClient

from tests.support.auth import auth_client, auth_settings, create_user, hub_headers
from tests.support.backends import AppBackend
from tests.support.hub import REPOSITORY_FIELDS, hub_call, mint_hub_token


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]

    def call(self, method: str, path: str, who: str | None, expect: int = 200) -> Any:
        token = self.tokens[who] if who else None
        return hub_call(self.client, method, path, token, expect=expect)

    def star(self, name: str, who: str, expect: int = 201) -> Any:
        return self.call("POST", f"/v2/repositories/{name}/stars/", who, expect)

    def unstar(self, name: str, who: str, expect: int = 204) -> Any:
        return self.call("DELETE", f"/v2/repositories/{name}/stars/", who, expect)

    def repo(self, name: str, who: str | None = None) -> Any:
        return self.call("GET", f"/v2/repositories/{name}/", who)

    def starred(self, user: str, who: str | None = None, **params: Any) -> Any:
        token = self.tokens[who] if who else None
        path = f"/v2/users/{user}/starred/"
        return hub_call(self.client, "GET", path, token, params=params)


@pytest.fixture
def world(tmp_path: Path, backend: AppBackend) -> Iterator[World]:
    with auth_client(auth_settings(backend, tmp_path)) as client:
        people = ("alice", "bob", "carol")
        for name in people:
            create_user(client, name)
        tokens = {name: mint_hub_token(client, name) for name in people}
        for name, private in (("app", False), ("zeta", False), ("secret", True)):
            body = {"namespace": "alice", "name": name, "is_private": private}
            hub_call(client, "POST", "/v2/repositories/", tokens["alice"], json=body, expect=201)
        yield World(client, tokens)


def test_star_answers_with_the_repository(world: World) -> None:
    body = world.star("alice/app", "bob")
    assert set(body) == REPOSITORY_FIELDS
    assert (body["namespace"], body["name"]) == ("alice", "app")
    assert body["star_count"] == 1
    assert body["has_starred"] is True


def test_star_is_idempotent_and_counted(world: World) -> None:
    world.star("alice/app", "bob")
    again = world.star("alice/app", "bob", expect=200)
    assert again["star_count"] == 1
    assert world.star("alice/app", "carol")["star_count"] == 2
    assert world.repo("alice/app")["star_count"] == 2
    world.unstar("alice/app", "bob")
    world.unstar("alice/app", "bob")  # not starred any more: still 204
    assert world.repo("alice/app")["star_count"] == 1
    world.unstar("alice/zeta", "bob")  # never starred
    assert world.repo("alice/zeta")["star_count"] == 0


def test_has_starred_is_the_callers(world: World) -> None:
    world.star("alice/app", "bob")
    assert world.repo("alice/app", "bob")["has_starred"] is True
    assert world.repo("alice/app", "carol")["has_starred"] is False
    assert world.repo("alice/app")["has_starred"] is False
    listed = world.call("GET", "/v2/repositories/alice/", "bob")["results"]
    assert {r["name"]: r["has_starred"] for r in listed} == {"app": True, "zeta": False}


def test_starring_needs_a_caller_who_may_read_the_repository(world: World) -> None:
    assert world.client.post("/v2/repositories/alice/app/stars/").status_code == 401
    assert world.client.delete("/v2/repositories/alice/app/stars/").status_code == 401
    for method in ("POST", "DELETE"):
        hidden = world.client.request(
            method, "/v2/repositories/alice/secret/stars/", headers=hub_headers(world.tokens["bob"])
        )
        missing = world.client.request(
            method, "/v2/repositories/alice/none/stars/", headers=hub_headers(world.tokens["bob"])
        )
        assert hidden.status_code == missing.status_code == 404
    assert world.star("alice/secret", "alice")["star_count"] == 1


def test_starred_list_newest_first_with_pages(world: World) -> None:
    world.star("alice/zeta", "bob")
    world.star("alice/app", "bob")
    page = world.starred("bob")
    assert page["count"] == 2
    assert [r["name"] for r in page["results"]] == ["app", "zeta"]
    assert all(set(r) == REPOSITORY_FIELDS for r in page["results"])
    first = world.starred("bob", page_size=1)
    assert [r["name"] for r in first["results"]] == ["app"]
    parts = urlsplit(first["next"])
    assert parts.path == "/v2/users/bob/starred/"
    assert dict(parse_qsl(parts.query)) == {"page": "2", "page_size": "1"}
    second = world.starred("bob", page=2, page_size=1)
    assert [r["name"] for r in second["results"]] == ["zeta"]
    assert second["next"] is None
    world.unstar("alice/zeta", "bob")
    assert [r["name"] for r in world.starred("bob")["results"]] == ["app"]
    # As seen by someone else: has_starred is the viewer's, not bob's.
    assert world.starred("bob", "carol")["results"][0]["has_starred"] is False
    assert world.starred("bob", "bob")["results"][0]["has_starred"] is True


def test_starred_list_hides_what_the_viewer_may_not_read(world: World) -> None:
    world.star("alice/secret", "alice")
    world.star("alice/app", "alice")
    assert [r["name"] for r in world.starred("alice", "alice")["results"]] == ["app", "secret"]
    assert [r["name"] for r in world.starred("alice")["results"]] == ["app"]
    assert world.starred("alice", "bob")["count"] == 1


def test_starred_list_of_unknown_user(world: World) -> None:
    assert world.client.get("/v2/users/nobody/starred/").status_code == 404
    assert world.starred("carol") == {"count": 0, "next": None, "previous": None, "results": []}
