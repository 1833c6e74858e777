"""Blob pushes: monolithic, POST-then-PUT, chunked, streamed, status, cancel and mounts.

Runs on both storage drivers (filesystem and memory), whose upload code differs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from dockyard.config import Settings
from tests.support.oci import (
    assert_error,
    blob_exists,
    digest_of,
    push_blob,
    start_upload,
)

BLOB = b"0123456789abcdefghijklmnopqrstuvwxyz" * 10  # 360 bytes
UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)


@pytest.fixture
def settings(settings: Settings, storage_driver: str) -> Settings:
    """The shared test settings, on each storage driver in turn (only the one ``--storage``
    names when it is given)."""
    if settings.storage.driver == storage_driver:
        return settings
    storage = settings.storage.model_copy(update={"driver": storage_driver})
    return settings.model_copy(update={"storage": storage})


def patch_chunk(
    client: TestClient, location: str, data: bytes, start: int | None
) -> tuple[int, dict[str, str]]:
    """PATCH ``data`` to ``location``; with ``Content-Range`` unless ``start`` is None."""
    headers = {"Content-Type": "application/octet-stream"}
    if start is not None:
        headers["Content-Range"] = f"{start}-{start + len(data) - 1}"
    response = client.patch(location, content=data, headers=headers)
    return response.status_code, dict(response.headers)


def assert_pullable(client: TestClient, name: str, digest: str, data: bytes) -> None:
    response = client.get(f"/v2/{name}/blobs/{digest}")
    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["Docker-Content-Digest"] == digest


# --- monolithic ------------------------------------------------------------------------------
def test_single_post_monolithic_upload(client: TestClient) -> None:
    digest = digest_of(BLOB)
    response = client.post(
        "/v2/lib/up/blobs/uploads/",
        params={"digest": digest},
        content=BLOB,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201
    assert response.headers["Docker-Content-Digest"] == digest
    location = response.headers["Location"]
    assert location.endswith(f"/v2/lib/up/blobs/{digest}")
    # The Location is a pullable blob URL.
    pulled = client.get(location)
    assert pulled.status_code == 200
    assert pulled.content == BLOB


def test_post_then_put_with_body(client: TestClient) -> None:
    response = client.post("/v2/lib/up/blobs/uploads/")
    assert response.status_code == 202
    location = response.headers["Location"]
    assert UUID_RE.search(location), location
    assert response.headers["Docker-Upload-UUID"] in location
    digest = digest_of(BLOB)
    done = client.put(
        location,
        params={"digest": digest},
        content=BLOB,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201, done.text
    assert done.headers["Docker-Content-Digest"] == digest
    assert client.get(done.headers["Location"]).content == BLOB
    assert_pullable(client, "lib/up", digest, BLOB)


def test_pushing_an_existing_blob_again_is_fine(client: TestClient) -> None:
    digest = push_blob(client, "lib/up", BLOB)
    assert push_blob(client, "lib/up", BLOB) == digest
    assert_pullable(client, "lib/up", digest, BLOB)


# --- chunked ---------------------------------------------------------------------------------
def test_chunked_upload_with_content_range(client: TestClient) -> None:
    location = start_upload(client, "lib/up")
    chunks = [BLOB[:100], BLOB[100:250], BLOB[250:]]
    offset = 0
    for chunk in chunks:
        status, headers = patch_chunk(client, location, chunk, offset)
        offset += len(chunk)
        assert status == 202
        assert headers["range"] == f"0-{offset - 1}"
        assert headers["location"]
        assert headers["docker-upload-uuid"]
        location = headers["location"]
    digest = digest_of(BLOB)
    done = client.put(location, params={"digest": digest})
    assert done.status_code == 201, done.text
    assert done.headers["Docker-Content-Digest"] == digest
    assert done.headers["Location"].endswith(f"/v2/lib/up/blobs/{digest}")
    assert_pullable(client, "lib/up", digest, BLOB)


def test_chunked_upload_with_last_chunk_in_put(client: TestClient) -> None:
    location = start_upload(client, "lib/up")
    status, headers = patch_chunk(client, location, BLOB[:200], 0)
    assert status == 202
    digest = digest_of(BLOB)
    done = client.put(
        headers["location"],
        params={"digest": digest},
        content=BLOB[200:],
        headers={
            "Content-Range": f"200-{len(BLOB) - 1}",
            "Content-Type": "application/octet-stream",
        },
    )
    assert done.status_code == 201, done.text
    assert_pullable(client, "lib/up", digest, BLOB)


@pytest.mark.parametrize(
    "bad_start",
    [
        150,  # a gap: starts after the current end
        50,  # overlaps what was already received
        0,  # resends the first chunk
    ],
)
def test_out_of_order_or_overlapping_chunk_is_416(client: TestClient, bad_start: int) -> None:
    location = start_upload(client, "lib/up")
    status, headers = patch_chunk(client, location, BLOB[:100], 0)
    assert status == 202
    location = headers["location"]

    response = client.patch(
        location,
        content=BLOB[bad_start : bad_start + 50],
        headers={
            "Content-Range": f"{bad_start}-{bad_start + 49}",
            "Content-Type": "application/octet-stream",
        },
    )
    assert response.status_code == 416
    # The spec has no RANGE_INVALID code: its table lists BLOB_UPLOAD_INVALID for this.
    assert_error(response, 416, "BLOB_UPLOAD_INVALID")
    assert response.headers["Range"] == "0-99"
    assert response.headers["Location"]

    # The session survives: status still says 0-99, and the right chunk continues it.
    assert client.get(location).headers["Range"] == "0-99"
    status, headers = patch_chunk(client, location, BLOB[100:], 100)
    assert status == 202
    assert headers["range"] == f"0-{len(BLOB) - 1}"
    digest = digest_of(BLOB)
    assert client.put(headers["location"], params={"digest": digest}).status_code == 201
    assert_pullable(client, "lib/up", digest, BLOB)


def test_first_chunk_not_at_zero_is_416(client: TestClient) -> None:
    location = start_upload(client, "lib/up")
    response = client.patch(location, content=BLOB[10:20], headers={"Content-Range": "10-19"})
    assert response.status_code == 416
    # CNCF Distribution reports an empty upload as ``Range: 0-0``.
    assert response.headers["Range"] == "0-0"


def test_put_whose_final_chunk_is_out_of_order_is_416(client: TestClient) -> None:
    location = start_upload(client, "lib/up")
    _, headers = patch_chunk(client, location, BLOB[:100], 0)
    location = headers["location"]
    digest = digest_of(BLOB)
    response = client.put(
        location,
        params={"digest": digest},
        content=BLOB[150:],
        headers={"Content-Range": f"150-{len(BLOB) - 1}"},
    )
    assert_error(response, 416, "BLOB_UPLOAD_INVALID")
    assert response.headers["Range"] == "0-99"
    assert not blob_exists(client, "lib/up", digest)
    # The session is intact and can still be finished properly.
    assert client.get(location).headers["Range"] == "0-99"
    response = client.put(
        location,
        params={"digest": digest},
        content=BLOB[100:],
        headers={"Content-Range": f"100-{len(BLOB) - 1}"},
    )
    assert response.status_code == 201, response.text
    assert_pullable(client, "lib/up", digest, BLOB)


def test_content_range_and_length_disagreeing_is_size_invalid(client: TestClient) -> None:
    # CNCF Distribution answers 400 SIZE_INVALID when Content-Length is not the range's length.
    location = start_upload(client, "lib/up")
    response = client.patch(location, content=BLOB[:40], headers={"Content-Range": "0-49"})
    assert_error(response, 400, "SIZE_INVALID")


def test_streamed_patch_without_content_range(client: TestClient) -> None:
    location = start_upload(client, "lib/up")
    status, headers = patch_chunk(client, location, BLOB[:123], None)
    assert status == 202
    assert headers["range"] == "0-122"
    status, headers = patch_chunk(client, headers["location"], BLOB[123:], None)
    assert status == 202
    assert headers["range"] == f"0-{len(BLOB) - 1}"
    digest = digest_of(BLOB)
    done = client.put(headers["location"], params={"digest": digest})
    assert done.status_code == 201, done.text
    assert_pullable(client, "lib/up", digest, BLOB)


def test_streamed_patch_with_chunked_transfer_encoding(client: TestClient) -> None:
    """A PATCH body sent without Content-Length (``Transfer-Encoding: chunked``)."""

    def body() -> Iterator[bytes]:
        for i in range(0, len(BLOB), 64):
            yield BLOB[i : i + 64]

    location = start_upload(client, "lib/up")
    response = client.patch(location, content=body())
    assert response.status_code == 202, response.text
    assert response.headers["Range"] == f"0-{len(BLOB) - 1}"
    digest = digest_of(BLOB)
    done = client.put(response.headers["Location"], params={"digest": digest})
    assert done.status_code == 201
    assert_pullable(client, "lib/up", digest, BLOB)


# --- status and cancel -----------------------------------------------------------------------
def test_upload_status(client: TestClient) -> None:
    response = client.post("/v2/lib/up/blobs/uploads/")
    location = response.headers["Location"]
    upload_id = response.headers["Docker-Upload-UUID"]

    status = client.get(location)
    assert status.status_code == 204
    assert status.content == b""
    # CNCF Distribution reports an empty upload as ``Range: 0-0``.
    assert status.headers["Range"] == "0-0"
    assert status.headers["Location"] == location
    assert status.headers["Docker-Upload-UUID"] == upload_id

    patch_chunk(client, location, BLOB[:42], 0)
    status = client.get(location)
    assert status.status_code == 204
    assert status.headers["Range"] == "0-41"
    assert status.headers["Location"]
    assert status.headers["Docker-Upload-UUID"] == upload_id


def test_cancel_upload_then_status_is_404(client: TestClient) -> None:
    location = start_upload(client, "lib/up")
    patch_chunk(client, location, BLOB[:42], 0)
    response = client.delete(location)
    assert response.status_code == 204
    assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(
        client.patch(location, content=b"more", headers={"Content-Range": "42-45"}),
        404,
        "BLOB_UPLOAD_UNKNOWN",
    )
    assert_error(
        client.put(location, params={"digest": digest_of(BLOB[:42])}),
        404,
        "BLOB_UPLOAD_UNKNOWN",
    )
    assert_error(client.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")


def test_unknown_upload_is_404_blob_upload_unknown(client: TestClient) -> None:
    unknown = "/v2/lib/up/blobs/uploads/8a6a3c5c-0c4b-4d3a-9a5e-3d1b2a4f5e6d"
    assert_error(client.get(unknown), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.patch(unknown, content=b"x"), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(
        client.put(unknown, params={"digest": digest_of(b"x")}, content=b"x"),
        404,
        "BLOB_UPLOAD_UNKNOWN",
    )
    assert_error(client.delete(unknown), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.get("/v2/lib/up/blobs/uploads/not..an..id"), 404, "BLOB_UPLOAD_UNKNOWN")


def test_upload_belongs_to_its_repository(client: TestClient) -> None:
    location = start_upload(client, "lib/one")
    upload_id = location.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    other = f"/v2/lib/two/blobs/uploads/{upload_id}"
    assert_error(client.get(other), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(
        client.put(other, params={"digest": digest_of(BLOB)}, content=BLOB),
        404,
        "BLOB_UPLOAD_UNKNOWN",
    )
    assert client.get(location).status_code == 204


# --- mounts ----------------------------------------------------------------------------------
def test_cross_repository_mount(client: TestClient) -> None:
    digest = push_blob(client, "lib/source", BLOB)
    response = client.post(
        "/v2/lib/target/blobs/uploads/", params={"mount": digest, "from": "lib/source"}
    )
    assert response.status_code == 201, response.text
    assert response.headers["Location"].endswith(f"/v2/lib/target/blobs/{digest}")
    assert response.headers["Docker-Content-Digest"] == digest
    assert_pullable(client, "lib/target", digest, BLOB)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"from": "lib/source"}, id="source-lacks-blob"),
        pytest.param({"from": "lib/nowhere"}, id="source-unknown"),
        pytest.param({}, id="from-missing"),
        pytest.param({"from": "Not/A/Valid/Name"}, id="from-invalid"),
    ],
)
def test_mount_that_cannot_happen_starts_an_upload(
    client: TestClient, params: dict[str, str]
) -> None:
    push_blob(client, "lib/source", b"some other blob")
    digest = digest_of(BLOB)
    response = client.post("/v2/lib/target/blobs/uploads/", params={"mount": digest, **params})
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    assert UUID_RE.search(location), location
    assert not blob_exists(client, "lib/target", digest)

    # The Location is a usable upload session.
    done = client.put(location, params={"digest": digest}, content=BLOB)
    assert done.status_code == 201, done.text
    assert_pullable(client, "lib/target", digest, BLOB)


# --- digests ---------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_digest_algorithms(client: TestClient, algorithm: str) -> None:
    # Single POST.
    digest = push_blob(client, "lib/up", BLOB, algorithm)
    assert digest.startswith(f"{algorithm}:")
    assert_pullable(client, "lib/up", digest, BLOB)

    # Chunked, closed with a PUT naming the whole blob's digest.
    other = BLOB[::-1]
    location = start_upload(client, "lib/up")
    _, headers = patch_chunk(client, location, other[:100], 0)
    _, headers = patch_chunk(client, headers["location"], other[100:], 100)
    other_digest = digest_of(other, algorithm)
    done = client.put(headers["location"], params={"digest": other_digest})
    assert done.status_code == 201, done.text
    assert done.headers["Docker-Content-Digest"] == other_digest
    assert_pullable(client, "lib/up", other_digest, other)


def test_wrong_digest_on_single_post(client: TestClient) -> None:
    wrong = digest_of(b"something else")
    response = client.post("/v2/lib/up/blobs/uploads/", params={"digest": wrong}, content=BLOB)
    assert_error(response, 400, "DIGEST_INVALID")
    assert not blob_exists(client, "lib/up", wrong)
    assert not blob_exists(client, "lib/up", digest_of(BLOB))


def test_wrong_digest_on_put(client: TestClient) -> None:
    wrong = digest_of(b"something else")
    location = start_upload(client, "lib/up")
    response = client.put(location, params={"digest": wrong}, content=BLOB)
    assert_error(response, 400, "DIGEST_INVALID")
    assert not blob_exists(client, "lib/up", wrong)
    assert not blob_exists(client, "lib/up", digest_of(BLOB))


def test_wrong_digest_after_chunks(client: TestClient) -> None:
    location = start_upload(client, "lib/up")
    _, headers = patch_chunk(client, location, BLOB[:100], 0)
    _, headers = patch_chunk(client, headers["location"], BLOB[100:], 100)
    wrong = digest_of(BLOB[:100])  # the digest of one chunk, not of the whole blob
    response = client.put(headers["location"], params={"digest": wrong})
    assert_error(response, 400, "DIGEST_INVALID")
    assert not blob_exists(client, "lib/up", wrong)
    assert not blob_exists(client, "lib/up", digest_of(BLOB))


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:" + "0" * 63,  # too short
        "sha256:" + "G" * 64,  # not hex
        "sha256:" + "A" * 64,  # upper-case hex is not canonical
        "sha512:" + "0" * 64,  # a sha256-sized sha512
        "md5:" + "0" * 32,  # unsupported algorithm
        "notadigest",
        "sha256",
        ":" + "0" * 64,
    ],
)
def test_malformed_or_unsupported_digest_is_digest_invalid(client: TestClient, digest: str) -> None:
    response = client.post("/v2/lib/up/blobs/uploads/", params={"digest": digest}, content=BLOB)
    assert_error(response, 400, "DIGEST_INVALID")
    location = start_upload(client, "lib/up")
    response = client.put(location, params={"digest": digest}, content=BLOB)
    assert_error(response, 400, "DIGEST_INVALID")
    assert not blob_exists(client, "lib/up", digest_of(BLOB))


def test_put_without_digest_is_digest_invalid(client: TestClient) -> None:
    location = start_upload(client, "lib/up")
    assert_error(client.put(location, content=BLOB), 400, "DIGEST_INVALID")
    assert not blob_exists(client, "lib/up", digest_of(BLOB))


# --- the empty blob --------------------------------------------------------------------------
def test_empty_blob_single_post(client: TestClient) -> None:
    digest = digest_of(b"")
    response = client.post("/v2/lib/up/blobs/uploads/", params={"digest": digest}, content=b"")
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == digest
    fetched = client.get(f"/v2/lib/up/blobs/{digest}")
    assert fetched.status_code == 200
    assert fetched.content == b""
    assert fetched.headers["Content-Length"] == "0"
    assert fetched.headers["Docker-Content-Digest"] == digest
    head = client.head(f"/v2/lib/up/blobs/{digest}")
    assert head.status_code == 200
    assert head.headers["Content-Length"] == "0"


def test_empty_blob_post_then_put(client: TestClient) -> None:
    digest = digest_of(b"")
    location = start_upload(client, "lib/up")
    done = client.put(location, params={"digest": digest})
    assert done.status_code == 201, done.text
    assert_pullable(client, "lib/up", digest, b"")


def test_completed_upload_session_is_gone(client: TestClient) -> None:
    location = start_upload(client, "lib/up")
    digest = digest_of(BLOB)
    assert client.put(location, params={"digest": digest}, content=BLOB).status_code == 201
    assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(
        client.patch(
            location, content=b"more", headers={"Content-Range": f"{len(BLOB)}-{len(BLOB) + 3}"}
        ),
        404,
        "BLOB_UPLOAD_UNKNOWN",
    )
    assert_error(client.put(location, params={"digest": digest}), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_pullable(client, "lib/up", digest, BLOB)
