"""Hub API tags: listings with images, one tag, ordering, filters, pulls, platforms, deletion.

alice/app (public) holds, pushed in this order::

    v1      an image, linux/amd64
    multi   an OCI index: linux/amd64, linux/arm64/v8, and a BuildKit attestation
    list    a Docker manifest list: linux/arm/v7
    art     an OCI artifact (empty config, no platform)
    Beta_1  an image, linux/s390x
    beta-2  an image, windows/amd64

acmeco/tool (private) holds ``stable``; carol's team may read it, dave's may write.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from dockyard.metadata.tables import manifests
from dockyard.oci.digest import Digest
from dockyard.storage import paths
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
    Pushed,
    hub_call,
    mint_hub_token,
    mint_registry_token,
    push_artifact,
    push_attestation,
    push_image,
    push_index,
    registry_token,
)
from tests.support.oci import DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
TAG_FIELDS = {
    "id",
    "repository",
    "name",
    "digest",
    "media_type",
    "content_type",
    "full_size",
    "v2",
    "last_updated",
    "last_updater_username",
    "tag_status",
    "tag_last_pulled",
    "tag_last_pushed",
    "images",
}
IMAGE_FIELDS = {
    "architecture",
    "os",
    "variant",
    "digest",
    "size",
    "status",
    "last_pulled",
    "last_pushed",
}
PUSH_ORDER = ["v1", "multi", "list", "art", "Beta_1", "beta-2"]


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
    people = ("alice", "bob", "olga", "carol", "dave")
    for name in people:
        create_user(client, name)
    tokens = {name: mint_hub_token(client, name) for name in people}
    token = mint_registry_token(client, "alice", "alice/app")
    pushed: dict[str, Pushed] = {}
    pushed["v1"] = push_image(client, "alice/app", "v1", token, layer_size=1000)
    amd64 = push_image(client, "alice/app", None, token, seed="multi-amd64", layer_size=300)
    arm64 = push_image(
        client, "alice/app", None, token, architecture="arm64", variant="v8", seed="multi-arm64"
    )
    attestation = push_attestation(client, "alice/app", token, amd64.digest)
    pushed["multi/amd64"], pushed["multi/arm64"] = amd64, arm64
    pushed["multi"] = push_index(
        client,
        "alice/app",
        "multi",
        token,
        [
            (amd64, {"os": "linux", "architecture": "amd64"}),
            (arm64, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
        ],
        attestations=[(attestation, amd64.digest)],
    )
    arm = push_image(client, "alice/app", None, token, architecture="arm", variant="v7")
    pushed["list/arm"] = arm
    pushed["list"] = push_index(
        client,
        "alice/app",
        "list",
        token,
        [(arm, {"os": "linux", "architecture": "arm", "variant": "v7"})],
        docker=True,
    )
    pushed["art"] = push_artifact(client, "alice/app", "art", token)
    pushed["Beta_1"] = push_image(client, "alice/app", "Beta_1", token, architecture="s390x")
    pushed["beta-2"] = push_image(client, "alice/app", "beta-2", token, os="windows")

    make_org(client, tokens["olga"], "acmeco")
    make_team(client, tokens["olga"], "acmeco", "readers", ["carol"])
    make_team(client, tokens["olga"], "acmeco", "writers", ["dave"])
    body = {"namespace": "acmeco", "name": "tool", "is_private": True}
    hub_call(client, "POST", "/v2/repositories/", tokens["olga"], json=body, expect=201)
    assert grant_team(client, tokens["olga"], "acmeco/tool", "readers", "read").status_code == 201
    assert grant_team(client, tokens["olga"], "acmeco/tool", "writers", "write").status_code == 201
    olga = mint_registry_token(client, "olga", "acmeco/tool")
    pushed["stable"] = push_image(client, "acmeco/tool", "stable", olga)
    return World(client, tokens, pushed)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, module_backend: AppBackend) -> Iterator[World]:
    with auth_client(auth_settings(module_backend, tmp_path_factory.mktemp("hub-tags"))) as client:
        yield build_world(client)


@pytest.fixture
def fresh(tmp_path: Path, backend: AppBackend) -> Iterator[World]:
    with auth_client(auth_settings(backend, tmp_path)) as client:
        yield build_world(client)


def names(page: dict[str, Any]) -> list[str]:
    return [t["name"] for t in page["results"]]


def every_tag(world: World) -> dict[str, dict[str, Any]]:
    page = world.get("/v2/namespaces/alice/repositories/app/tags", page_size=100)
    return {t["name"]: t for t in page["results"]}


# --- one tag, field by field -----------------------------------------------------------------
def test_image_tag_fields(world: World) -> None:
    image = world.pushed["v1"]
    tag = world.get("/v2/namespaces/alice/repositories/app/tags/v1")
    assert set(tag) == TAG_FIELDS
    assert ISO.match(tag["last_updated"])
    assert tag == {
        "id": tag["id"],
        "repository": tag["repository"],
        "name": "v1",
        "digest": image.digest,
        "media_type": OCI_MANIFEST,
        "content_type": "image",
        "full_size": image.total_size,
        "v2": True,
        "last_updated": tag["last_updated"],
        "last_updater_username": "alice",
        "tag_status": "active",
        "tag_last_pulled": None,
        "tag_last_pushed": tag["last_updated"],
        "images": [
            {
                "architecture": "amd64",
                "os": "linux",
                "variant": None,
                "digest": image.digest,
                "size": image.total_size,
                "status": "active",
                "last_pulled": None,
                "last_pushed": tag["last_updated"],
            }
        ],
    }
    assert isinstance(tag["id"], int)
    assert isinstance(tag["repository"], int)
    assert image.total_size > 1000


def test_index_tag_has_one_image_per_child(world: World) -> None:
    tag = world.get("/v2/namespaces/alice/repositories/app/tags/multi")
    amd64, arm64 = world.pushed["multi/amd64"], world.pushed["multi/arm64"]
    assert tag["digest"] == world.pushed["multi"].digest
    assert tag["media_type"] == OCI_INDEX
    assert tag["content_type"] == "image"
    assert tag["full_size"] == amd64.total_size  # the linux/amd64 image's
    assert [set(i) for i in tag["images"]] == [IMAGE_FIELDS, IMAGE_FIELDS]
    first, second = tag["images"]
    assert (first["os"], first["architecture"], first["variant"]) == ("linux", "amd64", None)
    assert (first["digest"], first["size"]) == (amd64.digest, amd64.total_size)
    assert (second["os"], second["architecture"], second["variant"]) == ("linux", "arm64", "v8")
    assert (second["digest"], second["size"]) == (arm64.digest, arm64.total_size)
    for image in tag["images"]:
        assert image["status"] == "active"
        assert image["last_pulled"] is None
        assert ISO.match(image["last_pushed"])
        assert image["last_pushed"] <= tag["tag_last_pushed"]


def test_manifest_list_tag(world: World) -> None:
    tag = world.get("/v2/repositories/alice/app/tags/list/")
    arm = world.pushed["list/arm"]
    assert tag["media_type"] == DOCKER_MANIFEST_LIST
    assert tag["full_size"] == arm.total_size  # no linux/amd64 image: the first one's
    assert [(i["os"], i["architecture"], i["variant"], i["digest"]) for i in tag["images"]] == [
        ("linux", "arm", "v7", arm.digest)
    ]


def test_artifact_tag_has_an_image_without_platform(world: World) -> None:
    tag = world.get("/v2/repositories/alice/app/tags/art/")
    artifact = world.pushed["art"]
    assert tag["digest"] == artifact.digest
    assert tag["full_size"] == artifact.total_size
    assert tag["images"] == [
        {
            "architecture": None,
            "os": None,
            "variant": None,
            "digest": artifact.digest,
            "size": artifact.total_size,
            "status": "active",
            "last_pulled": None,
            "last_pushed": tag["tag_last_pushed"],
        }
    ]


def test_both_paths_and_the_list_show_the_same_tag(world: World) -> None:
    listed = every_tag(world)
    for name in PUSH_ORDER:
        one = world.get(f"/v2/namespaces/alice/repositories/app/tags/{name}")
        assert world.get(f"/v2/repositories/alice/app/tags/{name}/") == one
        assert listed[name] == one
    assert world.get("/v2/repositories/alice/app/tags/", page_size=100) == world.get(
        "/v2/namespaces/alice/repositories/app/tags", page_size=100
    )


# --- listing ---------------------------------------------------------------------------------
def test_default_order_is_newest_push_first(world: World) -> None:
    page = world.get("/v2/namespaces/alice/repositories/app/tags")
    assert page["count"] == 6
    assert names(page) == list(reversed(PUSH_ORDER))
    assert page["next"] is None
    assert page["previous"] is None


def test_orderings(world: World) -> None:
    def order(ordering: str) -> list[str]:
        path = "/v2/namespaces/alice/repositories/app/tags"
        return names(world.get(path, ordering=ordering))

    assert order("last_updated") == PUSH_ORDER
    assert order("-last_updated") == list(reversed(PUSH_ORDER))
    # code point order on every database: upper case before lower case, "-" before "_"
    assert order("name") == ["Beta_1", "art", "beta-2", "list", "multi", "v1"]
    assert order("-name") == ["v1", "multi", "list", "beta-2", "art", "Beta_1"]


def test_name_filter_is_a_case_insensitive_substring(world: World) -> None:
    def matching(text: str) -> list[str]:
        path = "/v2/namespaces/alice/repositories/app/tags"
        return names(world.get(path, name=text, ordering="name"))

    assert matching("beta") == ["Beta_1", "beta-2"]
    assert matching("T") == ["Beta_1", "art", "beta-2", "list", "multi"]
    assert matching("_") == ["Beta_1"]
    assert matching("%") == []
    assert matching("nothing") == []
    page = world.get("/v2/namespaces/alice/repositories/app/tags", name="beta")
    assert page["count"] == 2


def test_pages(world: World) -> None:
    path = "/v2/namespaces/alice/repositories/app/tags"
    first = world.get(path, page_size=4, ordering="last_updated")
    assert first["count"] == 6
    assert names(first) == PUSH_ORDER[:4]
    assert first["previous"] is None
    parts = urlsplit(first["next"])
    assert parts.path == path
    assert dict(parse_qsl(parts.query)) == {
        "page": "2",
        "page_size": "4",
        "ordering": "last_updated",
    }
    second = world.get(path, page=2, page_size=4, ordering="last_updated")
    assert names(second) == PUSH_ORDER[4:]
    assert second["next"] is None
    assert dict(parse_qsl(urlsplit(second["previous"]).query))["page"] == "1"


def test_listing_errors(world: World) -> None:
    path = "/v2/namespaces/alice/repositories/app/tags"
    assert world.status("GET", path, params={"ordering": "size"}) == 400
    assert world.status("GET", path, params={"page": "-1"}) == 400
    assert world.status("GET", "/v2/namespaces/alice/repositories/nothing/tags") == 404
    assert world.status("GET", f"{path}/nothing") == 404
    assert world.status("GET", f"{path}/-invalid") == 404
    assert world.status("GET", "/v2/repositories/alice/app/tags/nothing/") == 404


def test_private_repository_tags_are_hidden(world: World) -> None:
    for who in (None, "bob", "alice"):
        assert world.status("GET", "/v2/repositories/acmeco/tool/tags/", who) == 404
        assert world.status("GET", "/v2/repositories/acmeco/tool/tags/stable/", who) == 404
    for who in ("carol", "dave", "olga"):
        page = world.get("/v2/repositories/acmeco/tool/tags/", who)
        assert names(page) == ["stable"]
        assert page["results"][0]["last_updater_username"] == "olga"


# --- pulls and platforms ---------------------------------------------------------------------
def test_pulls_show_in_tag_image_and_repository(fresh: World) -> None:
    client = fresh.client
    token = registry_token(client, "bob", PASSWORD, "alice/app", "pull")
    response = client.get(
        "/v2/alice/app/manifests/v1",
        headers={"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST},
    )
    assert response.status_code == 200
    run(client, client.app.state.registry.pulls.flush)  # type: ignore[attr-defined]
    tag = fresh.get("/v2/repositories/alice/app/tags/v1/")
    assert ISO.match(tag["tag_last_pulled"])
    assert tag["images"][0]["last_pulled"] == tag["tag_last_pulled"]
    assert (
        fresh.get("/v2/repositories/alice/app/tags/v1/")["tag_last_pushed"] < tag["tag_last_pulled"]
    )
    assert fresh.get("/v2/repositories/alice/app/")["pull_count"] == 1
    assert fresh.get("/v2/repositories/alice/app/tags/multi/")["tag_last_pulled"] is None


async def _platform(client: TestClient, digest: str) -> tuple[Any, Any, Any]:
    async with database(client).read() as conn:
        row = (
            await conn.execute(
                select(manifests.c.os, manifests.c.architecture, manifests.c.variant).where(
                    manifests.c.digest == digest
                )
            )
        ).one()
    return row[0], row[1], row[2]


async def _forget_platform(client: TestClient, digest: str) -> None:
    async with database(client).write() as conn:
        await conn.execute(
            update(manifests)
            .where(manifests.c.digest == digest)
            .values(os=None, architecture=None, variant=None)
        )


def test_platform_of_older_rows_is_read_from_the_config_and_kept(fresh: World) -> None:
    client = fresh.client
    image = fresh.pushed["Beta_1"]
    run(client, _forget_platform, client, image.digest)
    assert run(client, _platform, client, image.digest) == (None, None, None)
    tag = fresh.get("/v2/repositories/alice/app/tags/Beta_1/")
    assert (tag["images"][0]["os"], tag["images"][0]["architecture"]) == ("linux", "s390x")
    assert run(client, _platform, client, image.digest) == ("linux", "s390x", None)


def test_artifact_config_without_platform_is_read_once(fresh: World) -> None:
    client = fresh.client
    artifact = fresh.pushed["art"]
    assert run(client, _platform, client, artifact.digest) == (None, None, None)
    fresh.get("/v2/repositories/alice/app/tags/art/")
    # "" records "looked: the config declares no platform" (shown as null)
    assert run(client, _platform, client, artifact.digest) == ("", "", None)
    assert fresh.get("/v2/repositories/alice/app/tags/art/")["images"][0]["os"] is None


def test_a_platform_value_holding_nul_counts_as_undeclared(fresh: World) -> None:
    """A config may declare anything, but PostgreSQL cannot store a NUL (SQLite can): such a
    value is not recorded, at the push nor when read from the config later, on every database."""
    client = fresh.client
    token = mint_registry_token(client, "alice", "alice/app")
    image = push_image(client, "alice/app", "nul", token, os="li\x00nux", architecture="arm")
    assert run(client, _platform, client, image.digest) == (None, "arm", None)
    tag = fresh.get("/v2/repositories/alice/app/tags/nul/")
    assert (tag["images"][0]["os"], tag["images"][0]["architecture"]) == (None, "arm")
    assert run(client, _platform, client, image.digest) == ("", "arm", None)
    assert client.get("/r/alice/app/tags/nul").status_code == 200


def test_missing_config_blob_does_not_fail_the_request(fresh: World) -> None:
    client = fresh.client
    image = fresh.pushed["beta-2"]
    run(client, _forget_platform, client, image.digest)
    assert image.config_digest is not None
    key = paths.blob_key(Digest.parse(image.config_digest))
    run(client, client.app.state.storage.delete, key)  # type: ignore[attr-defined]
    for path in ("/v2/repositories/alice/app/tags/beta-2/", "/v2/repositories/alice/app/tags/"):
        response = client.get(path)
        assert response.status_code == 200, response.text
    tag = fresh.get("/v2/repositories/alice/app/tags/beta-2/")
    assert (tag["images"][0]["os"], tag["images"][0]["architecture"]) == (None, None)
    assert tag["images"][0]["size"] == image.total_size
    # nothing was recorded: the next look tries again
    assert run(client, _platform, client, image.digest) == (None, None, None)


# --- deletion --------------------------------------------------------------------------------
def test_delete_tag_needs_write_access(fresh: World) -> None:
    app, tool = "/v2/repositories/alice/app/tags/v1/", "/v2/repositories/acmeco/tool/tags/stable/"
    assert fresh.status("DELETE", app) == 401
    assert fresh.status("DELETE", app, "bob") == 403
    assert fresh.status("DELETE", tool, "bob") == 404
    assert fresh.status("DELETE", tool, "carol") == 403
    assert fresh.status("DELETE", "/v2/repositories/alice/app/tags/nothing/", "alice") == 404
    assert fresh.status("GET", app) == 200
    assert fresh.status("DELETE", tool, "dave") == 204
    assert fresh.get("/v2/repositories/acmeco/tool/tags/", "dave")["count"] == 0


def test_delete_tag_removes_only_the_tag_and_is_audited(fresh: World) -> None:
    client = fresh.client
    hook = {"name": "ci", "webhook_url": "http://127.0.0.1:9/hook", "events": ["tag_delete"]}
    created = hub_call(
        client,
        "POST",
        "/v2/repositories/alice/app/webhooks/",
        fresh.tokens["alice"],
        json=hook,
        expect=201,
    )
    path = "/v2/namespaces/alice/repositories/app/tags/v1"
    assert fresh.status("DELETE", path, "alice") == 204
    assert fresh.status("DELETE", path, "alice") == 404
    assert fresh.status("GET", path) == 404
    assert "v1" not in names(fresh.get("/v2/repositories/alice/app/tags/", page_size=100))
    token = registry_token(client, "alice", PASSWORD, "alice/app", "pull")
    auth = {"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST}
    assert client.get("/v2/alice/app/manifests/v1", headers=auth).status_code == 404
    digest = fresh.pushed["v1"].digest
    assert client.get(f"/v2/alice/app/manifests/{digest}", headers=auth).status_code == 200
    events = fresh.get("/v2/auditlogs/alice/", "alice", action="tag.delete")["results"]
    assert [(e["name"], e["actor"], e["data"]) for e in events] == [
        ("alice/app", "alice", {"tag": "v1", "digest": digest})
    ]
    deliveries = fresh.get(
        f"/v2/repositories/alice/app/webhooks/{created['id']}/deliveries/", "alice"
    )
    assert [d["event"] for d in deliveries["results"]] == ["tag_delete"]
