"""The base endpoint, repository names (valid and hostile), and errors of unknown endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from dockyard.config import Settings
from tests.support.oci import (
    OCI_MANIFEST,
    SPEC_ERROR_CODES,
    assert_error,
    digest_of,
    error_codes,
    push_blob,
    push_image,
    put_manifest,
    storage_entries,
)


def verbatim(client: TestClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Send a request whose path reaches the app exactly as given.

    httpx removes ``.`` and ``..`` segments from URLs, as browsers do; a hostile client need
    not, and a server such as uvicorn passes them on untouched. This goes around httpx.
    """
    app = client.app
    route, _, query = path.partition("?")

    async def rewrite(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {
                **scope,
                "path": route,
                "raw_path": route.encode(),
                "query_string": query.encode(),
            }
        await app(scope, receive, send)

    response: httpx.Response = TestClient(rewrite).request(method, "/placeholder", **kwargs)
    return response


# --- base ------------------------------------------------------------------------------------
def test_base_endpoint(client: TestClient) -> None:
    response = client.get("/v2/")
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    head = client.head("/v2/")
    assert head.status_code == 200
    assert head.headers["Docker-Distribution-API-Version"] == "registry/2.0"


# --- valid names -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "a/b/c",
        "one/two/three/four/five",
        "my-org/sub_group/app.v2",
        "a__b/c--d/e.f",
        "0/1",
        # Names whose components are the API's own keywords.
        "team/manifests/app",
        "x/blobs/uploads",
        "y/tags/list",
        "z/referrers/q",
    ],
)
def test_multi_component_names_work_everywhere(client: TestClient, name: str) -> None:
    blob = push_blob(client, name, b"payload of " + name.encode())
    assert client.get(f"/v2/{name}/blobs/{blob}").status_code == 200
    image = push_image(client, name, "v1")
    fetched = client.get(f"/v2/{name}/manifests/v1")
    assert fetched.status_code == 200
    assert fetched.content == image.payload
    assert client.get(f"/v2/{name}/manifests/{image.digest}").status_code == 200
    assert client.get(f"/v2/{name}/tags/list").json() == {"name": name, "tags": ["v1"]}
    referrers = client.get(f"/v2/{name}/referrers/{image.digest}")
    assert referrers.status_code == 200
    assert referrers.json()["manifests"] == []
    location = client.post(f"/v2/{name}/blobs/uploads/").headers["Location"]
    assert client.get(location).status_code == 204
    assert client.delete(location).status_code == 204
    assert name in client.get("/v2/_catalog").json()["repositories"]


def test_name_of_255_characters_is_accepted(client: TestClient) -> None:
    name = "a" * 127 + "/" + "b" * 127
    assert len(name) == 255
    push_blob(client, name, b"long name")
    push_image(client, name, "v1")
    assert client.get(f"/v2/{name}/tags/list").json()["tags"] == ["v1"]


# --- invalid names ---------------------------------------------------------------------------
INVALID_NAMES = [
    pytest.param("Upper/case", id="uppercase"),
    pytest.param("lib/App", id="uppercase-component"),
    pytest.param("a/../b", id="dot-dot"),
    pytest.param("../etc", id="leading-dot-dot"),
    pytest.param("a/./b", id="dot"),
    pytest.param("a/..", id="trailing-dot-dot"),
    pytest.param("/a", id="leading-slash"),
    pytest.param("a//b", id="double-slash"),
    pytest.param("a/", id="trailing-slash"),
    pytest.param("a" * 128 + "/" + "b" * 127, id="256-chars"),
    pytest.param("a" * 300, id="300-chars"),
    pytest.param("-a", id="leading-dash"),
    pytest.param("a.", id="trailing-dot"),
    pytest.param("a..b", id="double-dot-inside"),
    pytest.param("a___b", id="triple-underscore"),
    pytest.param("a b", id="space"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("a/b\x00c", id="nul"),
]


def _requests(name: str) -> list[tuple[str, str, dict[str, object]]]:
    blob = b"do not store me"
    digest = digest_of(blob)
    manifest = b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'"}'
    return [
        ("POST", f"/v2/{name}/blobs/uploads/", {}),
        ("POST", f"/v2/{name}/blobs/uploads/?digest={digest}", {"content": blob}),
        ("POST", f"/v2/{name}/blobs/uploads/?mount={digest}&from=lib/src", {}),
        ("GET", f"/v2/{name}/blobs/{digest}", {}),
        ("HEAD", f"/v2/{name}/blobs/{digest}", {}),
        ("DELETE", f"/v2/{name}/blobs/{digest}", {}),
        ("GET", f"/v2/{name}/blobs/uploads/8a6a3c5c-0c4b-4d3a-9a5e-3d1b2a4f5e6d", {}),
        ("PATCH", f"/v2/{name}/blobs/uploads/8a6a3c5c-0c4b-4d3a-9a5e-3d1b2a4f5e6d", {}),
        (
            "PUT",
            f"/v2/{name}/manifests/latest",
            {"content": manifest, "headers": {"Content-Type": OCI_MANIFEST}},
        ),
        ("GET", f"/v2/{name}/manifests/latest", {}),
        ("DELETE", f"/v2/{name}/manifests/latest", {}),
        ("GET", f"/v2/{name}/tags/list", {}),
        ("GET", f"/v2/{name}/referrers/{digest}", {}),
    ]


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_names_are_rejected_and_create_nothing(
    client: TestClient, settings: Settings, name: str
) -> None:
    push_blob(client, "lib/src", b"do not store me")
    before = storage_entries(client, settings)

    for method, path, kwargs in _requests(name):
        response = verbatim(client, method, path, **kwargs)
        assert response.status_code == 400, (method, path, response.status_code, response.text)
        if method != "HEAD":
            assert error_codes(response)[0] == "NAME_INVALID", (method, path, response.text)

    assert storage_entries(client, settings) == before
    assert _no_stray_files(settings.data_dir)
    assert client.get("/v2/_catalog").json()["repositories"] == ["lib/src"]


@pytest.mark.parametrize(
    "path",
    [
        "/v2/a/%2e%2e/b/blobs/uploads/",
        "/v2/%2e%2e/%2e%2e/etc/blobs/uploads/",
        "/v2/a/%2E%2E/%2E%2E/%2E%2E/tmp/blobs/uploads/",
        "/v2/a/..%2fb/blobs/uploads/",
        "/v2/a%2f%2e%2e%2fb/blobs/uploads/",
        "/v2/%2fetc/blobs/uploads/",
    ],
)
def test_encoded_path_traversal_is_name_invalid(
    client: TestClient, settings: Settings, path: str
) -> None:
    """Through httpx, percent-encoded dot segments survive to the server, which decodes them."""
    before = storage_entries(client, settings)
    digest = digest_of(b"evil")
    assert_error(client.post(path), 400, "NAME_INVALID")
    assert_error(client.post(path, params={"digest": digest}, content=b"evil"), 400, "NAME_INVALID")
    manifest_path = path.replace("/blobs/uploads/", "/manifests/latest")
    assert_error(
        client.put(manifest_path, content=b"{}", headers={"Content-Type": OCI_MANIFEST}),
        400,
        "NAME_INVALID",
    )
    assert_error(client.get(path.replace("/blobs/uploads/", "/tags/list")), 400, "NAME_INVALID")
    assert storage_entries(client, settings) == before
    assert _no_stray_files(settings.data_dir)
    assert client.get("/v2/_catalog").json()["repositories"] == []


def test_hostile_upload_ids_are_unknown(client: TestClient, settings: Settings) -> None:
    before = storage_entries(client, settings)
    for upload_id in ("%2e%2e", "%2E", "a" * 300, "a.b", "a_b"):
        response = client.patch(f"/v2/lib/app/blobs/uploads/{upload_id}", content=b"x")
        assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")
    for upload_id in ("..", "."):
        response = verbatim(client, "PATCH", f"/v2/lib/app/blobs/uploads/{upload_id}", content=b"x")
        assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")
    # A decoded slash leaves the upload route; whatever answers must be a JSON 404.
    response = client.patch("/v2/lib/app/blobs/uploads/..%2f..%2fetc", content=b"x")
    assert response.status_code == 404
    error_codes(response)
    assert storage_entries(client, settings) == before


def _no_stray_files(data_dir: Path) -> bool:
    """Nothing was written outside the data directory's known layout."""
    outside = data_dir.parent
    expected = {data_dir.name}
    return {p.name for p in outside.iterdir()} <= expected | {"metadata.db"}


# --- unknown endpoints -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/nothing/here"),
        ("GET", "/v2/lib/app/blobs/"),
        ("GET", "/v2/lib/app/manifests/"),
        ("GET", "/v2/lib/app/tags/list/extra"),
        ("GET", "/v2/lib/app/referrers/"),
        ("GET", "/v2/_catalog/extra"),
        ("GET", "/v2/lib/app/unknown/sha256:" + "0" * 64),
        ("POST", "/v2/"),
        ("DELETE", "/v2/"),
        ("OPTIONS", "/v2/"),
        ("POST", "/v2/_catalog"),
        ("DELETE", "/v2/_catalog"),
        ("POST", "/v2/lib/app/tags/list"),
        ("PATCH", "/v2/lib/app/manifests/latest"),
        ("POST", "/v2/lib/app/manifests/latest"),
        ("PUT", "/v2/lib/app/blobs/sha256:" + "0" * 64),
        ("PATCH", "/v2/lib/app/blobs/sha256:" + "0" * 64),
        ("PUT", "/v2/lib/app/blobs/uploads/"),
        ("GET", "/v2/lib/app/blobs/uploads/"),
        ("POST", "/v2/lib/app/blobs/uploads/8a6a3c5c-0c4b-4d3a-9a5e-3d1b2a4f5e6d"),
        ("PUT", "/v2/lib/app/referrers/sha256:" + "0" * 64),
        ("GET", "/v2/lib/app/manifests/not a tag"),
        ("GET", "/v2/lib/app/manifests/" + "t" * 200),
        ("GET", "/v2/lib/app/manifests/sha256:" + "0" * 10),
    ],
)
def test_unknown_endpoints_give_json_oci_errors(client: TestClient, method: str, path: str) -> None:
    push_image(client, "lib/app", "latest")
    response = client.request(method, path)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    codes = error_codes(response)  # asserts a JSON error envelope
    assert set(codes) <= SPEC_ERROR_CODES | {"TAG_INVALID", "PAGINATION_NUMBER_INVALID"}, codes
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    if response.status_code == 405:
        assert codes == ["UNSUPPORTED"]
        assert "Allow" in response.headers


def test_errors_carry_the_api_version_header(client: TestClient) -> None:
    response = client.get(f"/v2/lib/app/blobs/{digest_of(b'x')}")
    assert response.status_code == 404
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_manifest_put_with_invalid_tag_is_400(client: TestClient) -> None:
    image = push_image(client, "lib/app", "v1")
    for tag in ("-leading-dash", ".dot", "t" * 129, "has:colon"):
        response = put_manifest(client, "lib/app", tag, image.payload, OCI_MANIFEST)
        assert response.status_code == 400, (tag, response.text)
        assert error_codes(response)[0] in ("TAG_INVALID", "MANIFEST_INVALID", "DIGEST_INVALID")
