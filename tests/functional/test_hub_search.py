"""Search: ``/v2/search/repositories`` and the legacy ``/v1/search`` of ``docker search``.

Repositories (all public but alice/hidden-web)::

    library/web     official, "Official web server"
    alice/webapp    starred twice, "A web app"
    alice/hidden-web  private, "web"
    bob/web-tools   pulled three times, "Tools"
    carol/website   nothing special
    dave/notes      "WEB notes" (a match by description, any case)
    olga/a_b, olga/ab   for wildcard escaping
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.testclient import TestClient

from dockyard.config import Settings
from tests.support.auth import (
    PASSWORD,
    auth_client,
    auth_settings,
    basic,
    create_pat,
    create_user,
    hub_login,
    run,
)
from tests.support.backends import AppBackend
from tests.support.hub import hub_call, mint_hub_token, mint_registry_token, push_image
from tests.support.oci import OCI_MANIFEST

RANKED_FOR_ANYONE = ["web", "alice/webapp", "bob/web-tools", "carol/website", "dave/notes"]
RANKED_FOR_ALICE = [
    "web",
    "alice/webapp",
    "bob/web-tools",
    "alice/hidden-web",
    "carol/website",
    "dave/notes",
]


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]

    def search(self, headers: dict[str, str] | None = None, **params: Any) -> Any:
        response = self.client.get("/v2/search/repositories", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def v1(self, headers: dict[str, str] | None = None, **params: Any) -> Any:
        response = self.client.get("/v1/search", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()


def create(client: TestClient, token: str, name: str, description: str, private: bool) -> None:
    namespace, _, repo = name.partition("/")
    body = {"namespace": namespace, "name": repo, "description": description}
    body["is_private"] = private  # type: ignore[assignment]
    hub_call(client, "POST", "/v2/repositories/", token, json=body, expect=201)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, module_backend: AppBackend) -> Iterator[World]:
    with auth_client(
        auth_settings(module_backend, tmp_path_factory.mktemp("hub-search"))
    ) as client:
        people = ("alice", "bob", "carol", "dave", "olga")
        for name in people:
            create_user(client, name)
        create_user(client, "root", admin=True)
        tokens = {name: mint_hub_token(client, name) for name in (*people, "root")}
        create(client, tokens["root"], "library/web", "Official web server", False)
        create(client, tokens["alice"], "alice/webapp", "A web app", False)
        create(client, tokens["alice"], "alice/hidden-web", "web", True)
        create(client, tokens["bob"], "bob/web-tools", "Tools", False)
        create(client, tokens["carol"], "carol/website", "", False)
        create(client, tokens["dave"], "dave/notes", "WEB notes", False)
        create(client, tokens["olga"], "olga/a_b", "", False)
        create(client, tokens["olga"], "olga/ab", "", False)
        for fan in ("bob", "carol"):
            path = "/v2/repositories/alice/webapp/stars/"
            hub_call(client, "POST", path, tokens[fan], expect=201)
        push_image(
            client, "bob/web-tools", "v1", mint_registry_token(client, "bob", "bob/web-tools")
        )
        pull = mint_registry_token(client, "carol", "bob/web-tools", "pull")
        for _ in range(3):
            response = client.get(
                "/v2/bob/web-tools/manifests/v1",
                headers={"Authorization": f"Bearer {pull}", "Accept": OCI_MANIFEST},
            )
            assert response.status_code == 200
        run(client, client.app.state.registry.pulls.flush)  # type: ignore[attr-defined]
        yield World(client, tokens)


def names(results: list[dict[str, Any]], key: str = "repo_name") -> list[str]:
    return [r[key] for r in results]


# --- /v2/search/repositories -----------------------------------------------------------------
def test_ranking_official_then_stars_then_pulls(world: World) -> None:
    page = world.search(query="web")
    assert page["count"] == 5
    assert names(page["results"]) == RANKED_FOR_ANYONE
    assert page["next"] is None
    assert page["previous"] is None


def test_result_fields(world: World) -> None:
    results = {r["repo_name"]: r for r in world.search(query="web")["results"]}
    assert results["web"] == {
        "repo_name": "web",
        "short_description": "Official web server",
        "star_count": 0,
        "pull_count": 0,
        "repo_owner": "library",
        "is_official": True,
        "is_automated": False,
    }
    assert results["alice/webapp"] == {
        "repo_name": "alice/webapp",
        "short_description": "A web app",
        "star_count": 2,
        "pull_count": 0,
        "repo_owner": "alice",
        "is_official": False,
        "is_automated": False,
    }
    assert results["bob/web-tools"]["pull_count"] == 3


def test_private_repositories_only_for_those_who_may_read_them(world: World) -> None:
    assert names(world.search(query="web")["results"]) == RANKED_FOR_ANYONE
    bob = {"Authorization": f"Bearer {world.tokens['bob']}"}
    assert names(world.search(bob, query="web")["results"]) == RANKED_FOR_ANYONE
    alice = {"Authorization": f"Bearer {world.tokens['alice']}"}
    assert names(world.search(alice, query="web")["results"]) == RANKED_FOR_ALICE
    root = {"Authorization": f"Bearer {world.tokens['root']}"}
    assert names(world.search(root, query="web")["results"]) == RANKED_FOR_ALICE
    assert world.search(query="hidden")["count"] == 0


def test_words_must_all_match_name_or_description(world: World) -> None:
    assert names(world.search(query="web tools")["results"]) == ["bob/web-tools"]
    assert names(world.search(query="OFFICIAL server")["results"]) == ["web"]
    assert names(world.search(query="notes web")["results"]) == ["dave/notes"]
    assert names(world.search(query="alice")["results"]) == ["alice/webapp"]
    assert world.search(query="web nothing")["count"] == 0


def test_wildcards_are_literal(world: World) -> None:
    assert names(world.search(query="_")["results"]) == ["olga/a_b"]
    assert world.search(query="%")["count"] == 0
    assert names(world.search(query="a_b")["results"]) == ["olga/a_b"]


def test_empty_query_lists_everything_visible(world: World) -> None:
    page = world.search(page_size=100)
    assert page["count"] == 7
    assert names(page["results"])[:2] == ["web", "alice/webapp"]


def test_pages(world: World) -> None:
    first = world.search(query="web", page_size=2)
    assert first["count"] == 5
    assert names(first["results"]) == RANKED_FOR_ANYONE[:2]
    parts = urlsplit(first["next"])
    assert parts.path == "/v2/search/repositories"
    assert dict(parse_qsl(parts.query)) == {"query": "web", "page": "2", "page_size": "2"}
    third = world.search(query="web", page=3, page_size=2)
    assert names(third["results"]) == RANKED_FOR_ANYONE[4:]
    assert third["next"] is None


def test_bad_parameters(world: World) -> None:
    for params in ({"page": "0"}, {"page_size": "x"}, {"query": "w" * 300}, {"page": "10000001"}):
        response = world.client.get("/v2/search/repositories", params=params)
        assert response.status_code == 400, params
        assert set(response.json()) == {"message", "errinfo"}


# --- /v1/search: what docker search calls ----------------------------------------------------
def test_v1_search_fields(world: World) -> None:
    body = world.v1(q="web")
    assert body == {
        "num_results": 5,
        "query": "web",
        "page": 1,
        "page_size": 25,
        "num_pages": 1,
        "results": body["results"],
    }
    assert names(body["results"], "name") == RANKED_FOR_ANYONE
    assert body["results"][0] == {
        "name": "web",
        "description": "Official web server",
        "star_count": 0,
        "pull_count": 0,
        "is_official": True,
        "is_automated": False,
        "is_trusted": False,
    }
    assert body["results"][1]["star_count"] == 2


def test_v1_search_pages(world: World) -> None:
    body = world.v1(q="web", n=2)
    assert (body["num_results"], body["page_size"], body["num_pages"]) == (5, 2, 3)
    last = world.v1(q="web", n=2, page=3)
    assert last["page"] == 3
    assert names(last["results"], "name") == ["dave/notes"]
    assert world.v1(q="web", n=1000)["page_size"] == 100
    assert world.v1(q="nothing")["num_pages"] == 0


def test_v1_search_accepts_what_the_docker_daemon_sends(world: World) -> None:
    client = world.client
    # after docker login: a registry token for registry:catalog:search, from the token dance
    response = client.get(
        "/token",
        params={"service": "dockyard", "scope": "registry:catalog:search"},
        headers=basic("alice", PASSWORD),
    )
    registry = response.json()["token"]
    alice_ways = [
        {"Authorization": f"Bearer {registry}"},
        basic("alice", PASSWORD),
        {"Authorization": f"Bearer {world.tokens['alice']}"},
    ]
    for headers in alice_ways:
        assert names(world.v1(headers, q="web")["results"], "name") == RANKED_FOR_ALICE
    # an access token works as the password too
    _, secret = create_pat(client, hub_login(client, "alice"), ["repo:read"])
    pat = world.v1(basic("alice", secret), q="web")
    assert names(pat["results"], "name") == RANKED_FOR_ALICE
    # an anonymous registry token is anonymous
    anonymous = client.get("/token", params={"service": "dockyard"}).json()["token"]
    body = world.v1({"Authorization": f"Bearer {anonymous}"}, q="web")
    assert names(body["results"], "name") == RANKED_FOR_ANYONE


def test_v1_search_refuses_bad_credentials(world: World) -> None:
    for headers in (
        basic("alice", "wrong password"),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer not-a-token"},
    ):
        response = world.client.get("/v1/search", params={"q": "web"}, headers=headers)
        assert response.status_code == 401, headers
        assert set(response.json()) == {"message", "errinfo"}


def test_v1_search_bad_parameters(world: World) -> None:
    for params in ({"n": "0"}, {"n": "many"}, {"page": "0"}, {"q": "x" * 256}):
        assert world.client.get("/v1/search", params=params).status_code == 400, params


def test_v1_ping(world: World) -> None:
    response = world.client.get("/v1/_ping")
    assert response.status_code == 200
    assert response.json() == {"standalone": True}
    assert response.headers["X-Docker-Registry-Standalone"] == "true"


def test_search_on_an_open_registry(settings: Settings) -> None:
    """With authentication off, pushed repositories are found by anyone."""
    assert settings.auth.enabled is False
    with auth_client(settings) as client:
        push_image(client, "someone/thing", "v1")
        body = client.get("/v1/search", params={"q": "thing"}).json()
        assert names(body["results"], "name") == ["someone/thing"]
