"""Blob pulls, existence checks, ranges and deletion (distribution spec: Pull, Content Management).

Every test runs on both storage drivers: the filesystem one sends files by path, the memory one
streams, so the two take different code paths for ranges and lengths.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from tests.support.oci import (
    DOCKER_MANIFEST,
    assert_error,
    blob_exists,
    digest_of,
    push_blob,
    push_image,
)

DATA = bytes(range(256)) * 4 + b"tail of the blob"


@pytest.fixture
def settings(settings: Settings, storage_driver: str) -> Settings:
    """The shared test settings, on each storage driver in turn (only the one ``--storage``
    names when it is given)."""
    if settings.storage.driver == storage_driver:
        return settings
    storage = settings.storage.model_copy(update={"driver": storage_driver})
    return settings.model_copy(update={"storage": storage})


@pytest.fixture
def no_delete_client(settings: Settings) -> Iterator[TestClient]:
    """A client of a registry whose configuration switches deletion off."""
    registry = settings.registry.model_copy(update={"delete_enabled": False})
    no_delete = settings.model_copy(update={"registry": registry})
    with TestClient(create_app(no_delete)) as test_client:
        yield test_client


def test_get_blob_returns_content_and_headers(client: TestClient) -> None:
    digest = push_blob(client, "lib/blobby", DATA)
    response = client.get(f"/v2/lib/blobby/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == DATA
    assert digest_of(response.content) == digest
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["Docker-Content-Digest"] == digest
    assert response.headers["Accept-Ranges"] == "bytes"


def test_head_blob_has_headers_and_no_body(client: TestClient) -> None:
    digest = push_blob(client, "lib/blobby", DATA)
    response = client.head(f"/v2/lib/blobby/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["Docker-Content-Digest"] == digest
    assert response.headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=10-99", 10, 99),
        ("bytes=1000-", 1000, len(DATA) - 1),
        ("bytes=-16", len(DATA) - 16, len(DATA) - 1),
        # RFC 9110 14.1.2: a last-pos past the end is clipped to the representation's end.
        (f"bytes=1030-{len(DATA) + 500}", 1030, len(DATA) - 1),
    ],
)
def test_range_request_answers_206_with_the_right_bytes(
    client: TestClient, range_header: str, start: int, end: int
) -> None:
    digest = push_blob(client, "lib/blobby", DATA)
    response = client.get(f"/v2/lib/blobby/blobs/{digest}", headers={"Range": range_header})
    assert response.status_code == 206
    assert response.content == DATA[start : end + 1]
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response.headers["Content-Length"] == str(end - start + 1)
    assert response.headers["Docker-Content-Digest"] == digest


def test_range_past_the_end_is_416(client: TestClient) -> None:
    digest = push_blob(client, "lib/blobby", DATA)
    response = client.get(
        f"/v2/lib/blobby/blobs/{digest}", headers={"Range": f"bytes={len(DATA)}-"}
    )
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(DATA)}"


def test_resumed_pull_reassembles_the_blob(client: TestClient) -> None:
    """The spec's "resumable pull" use case: fetch the rest after an interruption."""
    digest = push_blob(client, "lib/blobby", DATA)
    head = client.get(f"/v2/lib/blobby/blobs/{digest}", headers={"Range": "bytes=0-499"})
    rest = client.get(f"/v2/lib/blobby/blobs/{digest}", headers={"Range": "bytes=500-"})
    assert (head.status_code, rest.status_code) == (206, 206)
    assert head.content + rest.content == DATA


def test_unknown_blob_is_404_blob_unknown(client: TestClient) -> None:
    push_blob(client, "lib/blobby", DATA)
    missing = digest_of(b"never pushed")
    assert_error(client.get(f"/v2/lib/blobby/blobs/{missing}"), 404, "BLOB_UNKNOWN")
    head = client.head(f"/v2/lib/blobby/blobs/{missing}")
    assert head.status_code == 404
    assert head.content == b""
    # Unknown repository, same answer.
    assert_error(client.get(f"/v2/lib/nothing/blobs/{missing}"), 404, "BLOB_UNKNOWN")


def test_blob_is_scoped_to_its_repository(client: TestClient) -> None:
    digest = push_blob(client, "lib/one", DATA)
    assert_error(client.get(f"/v2/lib/two/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert client.head(f"/v2/lib/two/blobs/{digest}").status_code == 404


def test_malformed_digest_in_blob_url_is_400_digest_invalid(client: TestClient) -> None:
    for bad in ("sha256:abc", "sha256:" + "g" * 64, "md5:" + "0" * 32, "notadigest"):
        assert_error(client.get(f"/v2/lib/blobby/blobs/{bad}"), 400, "DIGEST_INVALID")


def test_delete_blob_then_404(client: TestClient) -> None:
    digest = push_blob(client, "lib/blobby", DATA)
    response = client.delete(f"/v2/lib/blobby/blobs/{digest}")
    assert response.status_code == 202
    assert_error(client.get(f"/v2/lib/blobby/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert not blob_exists(client, "lib/blobby", digest)
    assert_error(client.delete(f"/v2/lib/blobby/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def test_delete_blob_in_one_repository_leaves_the_other(client: TestClient) -> None:
    digest = push_blob(client, "lib/one", DATA)
    push_blob(client, "lib/two", DATA)
    assert client.delete(f"/v2/lib/one/blobs/{digest}").status_code == 202
    assert not blob_exists(client, "lib/one", digest)
    fetched = client.get(f"/v2/lib/two/blobs/{digest}")
    assert fetched.status_code == 200
    assert fetched.content == DATA


def test_delete_unknown_blob_is_404(client: TestClient) -> None:
    missing = digest_of(b"never pushed")
    assert_error(client.delete(f"/v2/lib/blobby/blobs/{missing}"), 404, "BLOB_UNKNOWN")


def test_deletion_disabled_gives_405_unsupported(no_delete_client: TestClient) -> None:
    client = no_delete_client
    digest = push_blob(client, "lib/blobby", DATA)
    image = push_image(client, "lib/blobby", "v1", media_type=DOCKER_MANIFEST)

    assert_error(client.delete(f"/v2/lib/blobby/blobs/{digest}"), 405, "UNSUPPORTED")
    assert_error(client.delete("/v2/lib/blobby/manifests/v1"), 405, "UNSUPPORTED")
    assert_error(client.delete(f"/v2/lib/blobby/manifests/{image.digest}"), 405, "UNSUPPORTED")

    # Nothing was removed.
    assert client.get(f"/v2/lib/blobby/blobs/{digest}").content == DATA
    assert client.get("/v2/lib/blobby/manifests/v1").content == image.payload
    assert client.get(f"/v2/lib/blobby/manifests/{image.digest}").status_code == 200


def test_range_of_an_unknown_unit_is_ignored(client: TestClient) -> None:
    """RFC 9110 14.2: "An origin server MUST ignore a Range header field that contains a range
    unit it does not understand" -- the whole blob comes back, 200."""
    digest = push_blob(client, "lib/blobby", DATA)
    response = client.get(f"/v2/lib/blobby/blobs/{digest}", headers={"Range": "items=0-5"})
    assert response.status_code == 200
    assert response.content == DATA
    assert "Content-Range" not in response.headers


def test_several_ranges_are_served_whole_or_as_multipart(client: TestClient) -> None:
    """RFC 9110 lets a server ignore a multi-range request (200, whole) or answer it with
    ``multipart/byteranges`` (206), as CNCF Distribution's Go ``http.ServeContent`` does."""
    digest = push_blob(client, "lib/blobby", DATA)
    response = client.get(f"/v2/lib/blobby/blobs/{digest}", headers={"Range": "bytes=0-1,5-6"})
    if response.status_code == 200:
        assert response.content == DATA
    else:
        assert response.status_code == 206
        assert response.headers["Content-Type"].startswith("multipart/byteranges")
        assert DATA[0:2] in response.content
        assert DATA[5:7] in response.content
