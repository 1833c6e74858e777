"""Content discovery: ``/v2/<name>/tags/list`` and ``/v2/_catalog``, ``n``, ``last``, ``Link``."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from tests.support.oci import OCI_MANIFEST, assert_error, push_image, put_manifest

NAME = "lib/tagged"
TAGS = ["1.0", "1.0.1", "2", "alpha", "beta", "latest", "v1", "v1.1", "v10", "v2", "z_last"]
LINK_RE = re.compile(r'^<([^>]+)>;\s*rel="next"$')


def tag_all(client: TestClient, name: str, tags: list[str]) -> None:
    """Point every tag in ``tags`` at one image in ``name``."""
    image = push_image(client, name)
    for tag in tags:
        response = put_manifest(client, name, tag, image.payload, OCI_MANIFEST)
        assert response.status_code == 201, response.text


def next_link(response: httpx.Response) -> str | None:
    """The target of a ``Link: <...>; rel="next"`` header, or None."""
    link = response.headers.get("Link")
    if link is None:
        return None
    match = LINK_RE.match(link.strip())
    assert match, link
    return match.group(1)


def walk(client: TestClient, url: str, key: str) -> tuple[list[str], list[int]]:
    """Follow ``Link`` headers from ``url``; return all items and the size of each page."""
    items: list[str] = []
    sizes: list[int] = []
    next_url: str | None = url
    while next_url is not None:
        assert len(sizes) < 100, "pagination does not end"
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        page = response.json()[key]
        items += page
        sizes.append(len(page))
        next_url = next_link(response)
    return items, sizes


# --- tags ------------------------------------------------------------------------------------
def test_tags_are_listed_in_lexical_order(client: TestClient) -> None:
    shuffled = TAGS[5:] + TAGS[:5]
    tag_all(client, NAME, shuffled)
    response = client.get(f"/v2/{NAME}/tags/list")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"name": NAME, "tags": sorted(TAGS)}
    assert "Link" not in response.headers


def test_mixed_case_tags_are_in_lexical_or_asciibetical_order(client: TestClient) -> None:
    # v1.1 says "lexical (case-insensitive alphanumeric)"; later text also allows
    # "ASCIIbetical" (Go's sort.Strings), which is what CNCF Distribution returns.
    tags = ["b", "B2", "a", "A1", "_x"]
    tag_all(client, NAME, tags)
    listed = client.get(f"/v2/{NAME}/tags/list").json()["tags"]
    assert listed in (sorted(tags), sorted(tags, key=str.lower))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 11, 50])
def test_tags_n_limits_and_link_walks_them_all(client: TestClient, n: int) -> None:
    tag_all(client, NAME, TAGS)
    first = client.get(f"/v2/{NAME}/tags/list", params={"n": n})
    assert first.status_code == 200
    assert first.json()["tags"] == sorted(TAGS)[:n]
    if n >= len(TAGS):
        assert "Link" not in first.headers
    else:
        link = next_link(first)
        assert link is not None
        query = parse_qs(urlsplit(link).query)
        assert query["last"] == [sorted(TAGS)[n - 1]]

    items, sizes = walk(client, f"/v2/{NAME}/tags/list?n={n}", "tags")
    assert items == sorted(TAGS)
    # Every page but the last holds exactly n tags.
    assert all(size == n for size in sizes[:-1])
    assert 0 < sizes[-1] <= n


def test_tags_last_starts_after_the_given_tag(client: TestClient) -> None:
    tag_all(client, NAME, TAGS)
    ordered = sorted(TAGS)
    response = client.get(f"/v2/{NAME}/tags/list", params={"n": 3, "last": "beta"})
    after = ordered[ordered.index("beta") + 1 :]
    assert response.json()["tags"] == after[:3]
    # ``last`` alone (``n`` is optional with it).
    response = client.get(f"/v2/{NAME}/tags/list", params={"last": "v1"})
    assert response.json()["tags"] == [t for t in ordered if t > "v1"]
    # ``last`` need not be an existing tag.
    response = client.get(f"/v2/{NAME}/tags/list", params={"last": "c"})
    assert response.json()["tags"] == [t for t in ordered if t > "c"]
    # Past the end: an empty page, no Link.
    response = client.get(f"/v2/{NAME}/tags/list", params={"n": 2, "last": "zzz"})
    assert response.json()["tags"] == []
    assert "Link" not in response.headers


def test_tags_n_zero_is_empty_without_link(client: TestClient) -> None:
    tag_all(client, NAME, TAGS)
    response = client.get(f"/v2/{NAME}/tags/list", params={"n": 0})
    assert response.status_code == 200
    assert response.json() == {"name": NAME, "tags": []}
    assert "Link" not in response.headers


@pytest.mark.parametrize("n", ["-1", "abc", "1.5"])
def test_tags_invalid_n_is_400(client: TestClient, n: str) -> None:
    tag_all(client, NAME, ["v1"])
    # CNCF Distribution answers a malformed ``n`` with 400 PAGINATION_NUMBER_INVALID.
    assert_error(
        client.get(f"/v2/{NAME}/tags/list", params={"n": n}), 400, "PAGINATION_NUMBER_INVALID"
    )


def test_server_page_size_applies_without_n(client: TestClient, settings: Settings) -> None:
    registry = settings.registry.model_copy(update={"max_page_size": 4})
    with TestClient(create_app(settings.model_copy(update={"registry": registry}))) as small:
        tag_all(small, NAME, TAGS)
        first = small.get(f"/v2/{NAME}/tags/list")
        assert first.json()["tags"] == sorted(TAGS)[:4]
        assert next_link(first) is not None
        items, sizes = walk(small, f"/v2/{NAME}/tags/list", "tags")
        assert items == sorted(TAGS)
        assert sizes == [4, 4, 3]
        # A larger n is capped at the server's page size, with a Link to the rest.
        capped = small.get(f"/v2/{NAME}/tags/list", params={"n": 100})
        assert len(capped.json()["tags"]) == 4
        assert next_link(capped) is not None


def test_deleted_tag_leaves_the_list(client: TestClient) -> None:
    tag_all(client, NAME, ["a", "b", "c"])
    assert client.delete(f"/v2/{NAME}/manifests/b").status_code == 202
    assert client.get(f"/v2/{NAME}/tags/list").json()["tags"] == ["a", "c"]


def test_tags_of_unknown_repository_is_404_name_unknown(client: TestClient) -> None:
    assert_error(client.get("/v2/lib/never/tags/list"), 404, "NAME_UNKNOWN")
    assert_error(client.get("/v2/lib/never/tags/list", params={"n": 0}), 404, "NAME_UNKNOWN")


def test_tags_list_body_is_json(client: TestClient) -> None:
    tag_all(client, "a/b/c", ["x"])
    response = client.get("/v2/a/b/c/tags/list")
    assert json.loads(response.content) == {"name": "a/b/c", "tags": ["x"]}


# --- catalog ---------------------------------------------------------------------------------
REPOS = ["beta/one", "beta/two", "gamma/app", "library/alpha", "library/ubuntu", "x/y/z", "zeta/a"]


@pytest.fixture
def populated(client: TestClient) -> TestClient:
    for name in reversed(REPOS):
        push_image(client, name, "latest", seed=name)
    return client


def test_catalog_lists_repositories_in_order(populated: TestClient) -> None:
    response = populated.get("/v2/_catalog")
    assert response.status_code == 200
    assert response.json() == {"repositories": sorted(REPOS)}
    assert "Link" not in response.headers


@pytest.mark.parametrize("n", [1, 2, 3, 6, 7, 8])
def test_catalog_pagination(populated: TestClient, n: int) -> None:
    first = populated.get("/v2/_catalog", params={"n": n})
    assert first.json()["repositories"] == sorted(REPOS)[:n]
    assert (next_link(first) is None) == (n >= len(REPOS))
    items, sizes = walk(populated, f"/v2/_catalog?n={n}", "repositories")
    assert items == sorted(REPOS)
    assert all(size == n for size in sizes[:-1])


def test_catalog_last_and_n_zero(populated: TestClient) -> None:
    response = populated.get("/v2/_catalog", params={"n": 2, "last": "beta/two"})
    assert response.json()["repositories"] == ["gamma/app", "library/alpha"]
    response = populated.get("/v2/_catalog", params={"last": "library/ubuntu"})
    assert response.json()["repositories"] == ["x/y/z", "zeta/a"]
    response = populated.get("/v2/_catalog", params={"n": 0})
    assert response.json() == {"repositories": []}
    assert "Link" not in response.headers


def test_one_component_names_are_official_images(client: TestClient) -> None:
    """As on Docker Hub, ``HOST/ubuntu`` is ``HOST/library/ubuntu`` on every route."""
    push_image(client, "ubuntu", "22.04", seed="official")
    assert client.get("/v2/_catalog").json() == {"repositories": ["library/ubuntu"]}
    for name in ("ubuntu", "library/ubuntu"):
        tags = client.get(f"/v2/{name}/tags/list")
        assert tags.json() == {"name": "library/ubuntu", "tags": ["22.04"]}
        manifest = client.get(
            f"/v2/{name}/manifests/22.04",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert manifest.status_code == 200


def test_empty_catalog(client: TestClient) -> None:
    response = client.get("/v2/_catalog")
    assert response.status_code == 200
    assert response.json() == {"repositories": []}
