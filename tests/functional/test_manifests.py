"""Manifest push, pull, existence checks, content negotiation, validation and deletion."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support.oci import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    EMPTY_DIGEST,
    EMPTY_JSON,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    Pushed,
    assert_error,
    descriptor,
    digest_of,
    encode,
    make_image_manifest,
    make_index,
    push_blob,
    push_image,
    push_manifest,
    put_manifest,
)

NAME = "lib/app"
AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64", "variant": "v8"}


@dataclass(frozen=True)
class Candidate:
    """A manifest ready to PUT: its bytes, media type and expected subject."""

    payload: bytes
    media_type: str
    subject: str | None = None

    @property
    def digest(self) -> str:
        return digest_of(self.payload)


def _docker_manifest(client: TestClient) -> Candidate:
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    layer = b"docker layer bytes"
    push_blob(client, NAME, config)
    push_blob(client, NAME, layer)
    doc = make_image_manifest(
        descriptor(DOCKER_CONFIG, config),
        [descriptor(DOCKER_LAYER, layer)],
        media_type=DOCKER_MANIFEST,
    )
    return Candidate(encode(doc), DOCKER_MANIFEST)


def _docker_manifest_list(client: TestClient) -> Candidate:
    amd = push_image(client, NAME, media_type=DOCKER_MANIFEST, seed="a", platform="linux/amd64")
    arm = push_image(client, NAME, media_type=DOCKER_MANIFEST, seed="b", platform="linux/arm64")
    doc = make_index(
        [amd.descriptor(AMD64), arm.descriptor(ARM64)], media_type=DOCKER_MANIFEST_LIST
    )
    return Candidate(encode(doc), DOCKER_MANIFEST_LIST)


def _oci_manifest(client: TestClient) -> Candidate:
    config = b'{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    layers = [b"first oci layer", b"second oci layer"]
    for blob in (config, *layers):
        push_blob(client, NAME, blob)
    doc = make_image_manifest(
        descriptor(OCI_CONFIG, config),
        [descriptor(OCI_LAYER, layer) for layer in layers],
        annotations={"org.opencontainers.image.title": "demo"},
    )
    return Candidate(encode(doc), OCI_MANIFEST)


def _oci_index(client: TestClient) -> Candidate:
    amd = push_image(client, NAME, seed="c", platform="linux/amd64")
    arm = push_image(client, NAME, seed="d", platform="linux/arm64")
    doc = make_index([amd.descriptor(AMD64), arm.descriptor(ARM64)])
    return Candidate(encode(doc), OCI_INDEX)


def _oci_artifact(client: TestClient) -> Candidate:
    """An OCI 1.1 artifact: image manifest with ``artifactType``, empty config and a subject."""
    subject = push_image(client, NAME, "subject", seed="e")
    push_blob(client, NAME, EMPTY_JSON)
    sbom = b'{"spdxVersion":"SPDX-2.3"}'
    push_blob(client, NAME, sbom)
    doc = make_image_manifest(
        {"mediaType": OCI_EMPTY, "digest": EMPTY_DIGEST, "size": 2},
        [descriptor("application/spdx+json", sbom)],
        artifact_type="application/vnd.example.sbom.v1",
        subject=subject.descriptor(),
        annotations={"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    )
    return Candidate(encode(doc), OCI_MANIFEST, subject=subject.digest)


KINDS: dict[str, Callable[[TestClient], Candidate]] = {
    "docker-v2-schema2": _docker_manifest,
    "docker-manifest-list": _docker_manifest_list,
    "oci-image-manifest": _oci_manifest,
    "oci-image-index": _oci_index,
    "oci-artifact": _oci_artifact,
}


@pytest.fixture(params=sorted(KINDS))
def candidate(request: pytest.FixtureRequest, client: TestClient) -> Candidate:
    """Each kind of manifest, with everything it references already pushed."""
    return KINDS[request.param](client)


def assert_manifest_response(response: httpx.Response, candidate: Candidate, *, head: bool) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["Docker-Content-Digest"] == candidate.digest
    assert response.headers["Content-Type"] == candidate.media_type
    assert response.headers["Content-Length"] == str(len(candidate.payload))
    assert response.content == (b"" if head else candidate.payload)


# --- round trips -----------------------------------------------------------------------------
def test_put_get_head_delete_by_tag(client: TestClient, candidate: Candidate) -> None:
    response = put_manifest(client, NAME, "v1", candidate.payload, candidate.media_type)
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == candidate.digest
    location = response.headers["Location"]
    assert location
    if candidate.subject:
        assert response.headers["OCI-Subject"] == candidate.subject
    else:
        assert "OCI-Subject" not in response.headers

    assert_manifest_response(client.get(location), candidate, head=False)
    assert_manifest_response(client.get(f"/v2/{NAME}/manifests/v1"), candidate, head=False)
    assert_manifest_response(client.head(f"/v2/{NAME}/manifests/v1"), candidate, head=True)
    by_digest = f"/v2/{NAME}/manifests/{candidate.digest}"
    assert_manifest_response(client.get(by_digest), candidate, head=False)
    assert_manifest_response(client.head(by_digest), candidate, head=True)

    # DELETE by tag removes only the tag.
    assert client.delete(f"/v2/{NAME}/manifests/v1").status_code == 202
    assert_error(client.get(f"/v2/{NAME}/manifests/v1"), 404, "MANIFEST_UNKNOWN")
    assert client.head(f"/v2/{NAME}/manifests/v1").status_code == 404
    assert_manifest_response(client.get(by_digest), candidate, head=False)


def test_put_get_head_delete_by_digest(client: TestClient, candidate: Candidate) -> None:
    by_digest = f"/v2/{NAME}/manifests/{candidate.digest}"
    response = put_manifest(client, NAME, candidate.digest, candidate.payload, candidate.media_type)
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == candidate.digest
    assert response.headers["Location"].endswith(by_digest)
    if candidate.subject:
        assert response.headers["OCI-Subject"] == candidate.subject

    assert_manifest_response(client.get(by_digest), candidate, head=False)
    assert_manifest_response(client.head(by_digest), candidate, head=True)

    assert client.delete(by_digest).status_code == 202
    assert_error(client.get(by_digest), 404, "MANIFEST_UNKNOWN")
    assert client.head(by_digest).status_code == 404
    assert_error(client.delete(by_digest), 404, "MANIFEST_UNKNOWN")


def test_delete_by_digest_removes_its_tags(client: TestClient) -> None:
    image = push_image(client, NAME, "one")
    push_manifest(client, NAME, "two", json.loads(image.payload), OCI_MANIFEST)
    other = push_image(client, NAME, "three", seed="other")

    assert client.delete(f"/v2/{NAME}/manifests/{image.digest}").status_code == 202
    for reference in ("one", "two", image.digest):
        assert_error(client.get(f"/v2/{NAME}/manifests/{reference}"), 404, "MANIFEST_UNKNOWN")
    assert client.get(f"/v2/{NAME}/tags/list").json()["tags"] == ["three"]
    assert client.get(f"/v2/{NAME}/manifests/three").content == other.payload


def test_manifest_bytes_are_stored_verbatim(client: TestClient) -> None:
    """The registry MUST store the manifest exactly as provided (whitespace, key order)."""
    config, layer = b'{"os":"linux"}', b"verbatim layer"
    push_blob(client, NAME, config)
    push_blob(client, NAME, layer)
    doc = make_image_manifest(descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER, layer)])
    payload = json.dumps(doc, indent=3).encode() + b"\n\n"
    response = put_manifest(client, NAME, "pretty", payload, OCI_MANIFEST)
    assert response.status_code == 201
    assert response.headers["Docker-Content-Digest"] == digest_of(payload)
    assert client.get(f"/v2/{NAME}/manifests/pretty").content == payload


def test_content_type_parameters_are_ignored(client: TestClient) -> None:
    image = push_image(client, NAME, "v1")
    response = put_manifest(client, NAME, "v2", image.payload, f"{OCI_MANIFEST}; charset=utf-8")
    assert response.status_code == 201, response.text
    assert client.get(f"/v2/{NAME}/manifests/v2").headers["Content-Type"] == OCI_MANIFEST


def test_retag_moves_the_tag(client: TestClient) -> None:
    first = push_image(client, NAME, "latest", seed="first")
    second = push_image(client, NAME, "latest", seed="second")
    assert first.digest != second.digest
    response = client.get(f"/v2/{NAME}/manifests/latest")
    assert response.headers["Docker-Content-Digest"] == second.digest
    # The old manifest still resolves by digest.
    assert client.get(f"/v2/{NAME}/manifests/{first.digest}").content == first.payload


def test_put_by_sha512_digest(client: TestClient) -> None:
    image = push_image(client, NAME, "v1")
    digest = digest_of(image.payload, "sha512")
    response = put_manifest(client, NAME, digest, image.payload, OCI_MANIFEST)
    assert response.status_code == 201, response.text
    # Docker-Content-Digest MUST equal the digest the client provided.
    assert response.headers["Docker-Content-Digest"] == digest
    fetched = client.get(f"/v2/{NAME}/manifests/{digest}")
    assert fetched.status_code == 200
    assert fetched.content == image.payload
    assert fetched.headers["Docker-Content-Digest"] == digest


# --- content negotiation ---------------------------------------------------------------------
@pytest.fixture
def oci_index(client: TestClient) -> tuple[Pushed, Pushed, Pushed]:
    amd = push_image(client, NAME, seed="amd", platform="linux/amd64")
    arm = push_image(client, NAME, seed="arm", platform="linux/arm64")
    # arm64 first, so that "the first entry" and "the linux/amd64 entry" differ.
    index = push_manifest(
        client, NAME, "multi", make_index([arm.descriptor(ARM64), amd.descriptor(AMD64)]), OCI_INDEX
    )
    return index, amd, arm


def test_index_served_to_clients_that_accept_it(
    client: TestClient, oci_index: tuple[Pushed, Pushed, Pushed]
) -> None:
    index, _, _ = oci_index
    for accept in (
        OCI_INDEX,
        f"{OCI_MANIFEST}, {OCI_INDEX}",
        f"{OCI_MANIFEST};q=0.9, {OCI_INDEX};q=0.5",
        "*/*",
    ):
        response = client.get(f"/v2/{NAME}/manifests/multi", headers={"Accept": accept})
        assert response.status_code == 200
        assert response.headers["Content-Type"] == OCI_INDEX, accept
        assert response.headers["Docker-Content-Digest"] == index.digest
        assert response.content == index.payload


def test_index_negotiated_to_linux_amd64_for_image_only_clients(
    client: TestClient, oci_index: tuple[Pushed, Pushed, Pushed]
) -> None:
    _, amd, _ = oci_index
    headers = {"Accept": OCI_MANIFEST}
    response = client.get(f"/v2/{NAME}/manifests/multi", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == OCI_MANIFEST
    assert response.headers["Docker-Content-Digest"] == amd.digest
    assert response.content == amd.payload
    head = client.head(f"/v2/{NAME}/manifests/multi", headers=headers)
    assert head.status_code == 200
    assert head.headers["Docker-Content-Digest"] == amd.digest
    assert head.headers["Content-Length"] == str(amd.size)


def test_docker_manifest_list_negotiated_for_schema2_only_clients(client: TestClient) -> None:
    amd = push_image(client, NAME, media_type=DOCKER_MANIFEST, seed="x", platform="linux/amd64")
    arm = push_image(client, NAME, media_type=DOCKER_MANIFEST, seed="y", platform="linux/arm64")
    listing = push_manifest(
        client,
        NAME,
        "multi",
        make_index([arm.descriptor(ARM64), amd.descriptor(AMD64)], media_type=DOCKER_MANIFEST_LIST),
        DOCKER_MANIFEST_LIST,
    )
    response = client.get(f"/v2/{NAME}/manifests/multi", headers={"Accept": DOCKER_MANIFEST})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == DOCKER_MANIFEST
    assert response.headers["Docker-Content-Digest"] == amd.digest
    assert response.content == amd.payload

    both = f"{DOCKER_MANIFEST}, {DOCKER_MANIFEST_LIST}"
    response = client.get(f"/v2/{NAME}/manifests/multi", headers={"Accept": both})
    assert response.headers["Docker-Content-Digest"] == listing.digest


# --- references that must exist --------------------------------------------------------------
def test_missing_config_or_layer_is_manifest_blob_unknown(client: TestClient) -> None:
    config, layer = b'{"os":"linux"}', b"a layer"
    push_blob(client, NAME, config)
    missing_layer = make_image_manifest(
        descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER, layer)]
    )
    response = put_manifest(client, NAME, "v1", encode(missing_layer), OCI_MANIFEST)
    assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")

    push_blob(client, NAME, layer)
    missing_config = make_image_manifest(
        descriptor(OCI_CONFIG, b"unpushed config"), [descriptor(OCI_LAYER, layer)]
    )
    response = put_manifest(client, NAME, "v1", encode(missing_config), OCI_MANIFEST)
    assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")
    assert_error(client.get(f"/v2/{NAME}/manifests/v1"), 404, "MANIFEST_UNKNOWN")


def test_blob_of_another_repository_is_manifest_blob_unknown(client: TestClient) -> None:
    config, layer = b'{"os":"linux"}', b"a layer"
    push_blob(client, "lib/elsewhere", config)
    push_blob(client, "lib/elsewhere", layer)
    doc = make_image_manifest(descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER, layer)])
    response = put_manifest(client, NAME, "v1", encode(doc), OCI_MANIFEST)
    assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")


def test_missing_child_manifest_is_rejected(client: TestClient) -> None:
    # The spec: a registry MAY reject a manifest whose descriptors (other than `subject`)
    # reference "a manifest or blob that does not exist"; "when a manifest is rejected for
    # this reason, it MUST result in one or more MANIFEST_BLOB_UNKNOWN errors". CNCF
    # Distribution's manifest list handler does the same (ErrManifestBlobUnknown).
    present = push_image(client, NAME, seed="present")
    absent = {
        "mediaType": OCI_MANIFEST,
        "digest": digest_of(b"never pushed manifest"),
        "size": 21,
        "platform": ARM64,
    }
    doc = make_index([present.descriptor(AMD64), absent])
    response = put_manifest(client, NAME, "multi", encode(doc), OCI_INDEX)
    assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")
    assert_error(client.get(f"/v2/{NAME}/manifests/multi"), 404, "MANIFEST_UNKNOWN")


def test_foreign_layers_need_not_be_pushed(client: TestClient) -> None:
    config = b'{"os":"windows"}'
    push_blob(client, NAME, config)
    foreign = {
        "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "digest": digest_of(b"windows base layer"),
        "size": 18,
        "urls": ["https://example.invalid/layer"],
    }
    doc = make_image_manifest(
        descriptor(DOCKER_CONFIG, config), [foreign], media_type=DOCKER_MANIFEST
    )
    response = put_manifest(client, NAME, "win", encode(doc), DOCKER_MANIFEST)
    assert response.status_code == 201, response.text


def test_subject_need_not_exist(client: TestClient) -> None:
    """A registry MUST accept a manifest whose `subject` does not exist (yet)."""
    push_blob(client, NAME, EMPTY_JSON)
    subject = {"mediaType": OCI_MANIFEST, "digest": digest_of(b"future image"), "size": 12}
    doc = make_image_manifest(
        {"mediaType": OCI_EMPTY, "digest": EMPTY_DIGEST, "size": 2},
        [],
        artifact_type="application/vnd.example.signature.v1",
        subject=subject,
    )
    response = put_manifest(client, NAME, digest_of(encode(doc)), encode(doc), OCI_MANIFEST)
    assert response.status_code == 201, response.text
    assert response.headers["OCI-Subject"] == subject["digest"]


# --- invalid manifests -----------------------------------------------------------------------
def _valid_doc(client: TestClient) -> dict[str, object]:
    config, layer = b'{"os":"linux"}', b"a layer"
    push_blob(client, NAME, config)
    push_blob(client, NAME, layer)
    return make_image_manifest(descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER, layer)])


@pytest.mark.parametrize(
    "payload",
    [b"", b"{not json", b"[]", b'"a string"', b"\xff\xfe binary"],
    ids=["empty", "broken", "array", "string", "binary"],
)
def test_invalid_json_is_manifest_invalid(client: TestClient, payload: bytes) -> None:
    response = put_manifest(client, NAME, "v1", payload, OCI_MANIFEST)
    assert_error(response, 400, "MANIFEST_INVALID")


@pytest.mark.parametrize(
    ("body_type", "content_type"),
    [
        (OCI_MANIFEST, OCI_INDEX),
        (OCI_MANIFEST, DOCKER_MANIFEST),
        (DOCKER_MANIFEST, OCI_MANIFEST),
    ],
)
def test_media_type_mismatch_is_manifest_invalid(
    client: TestClient, body_type: str, content_type: str
) -> None:
    doc = _valid_doc(client)
    doc["mediaType"] = body_type
    response = put_manifest(client, NAME, "v1", encode(doc), content_type)
    assert_error(response, 400, "MANIFEST_INVALID")


@pytest.mark.parametrize("version", [1, 3, "2", None])
def test_wrong_schema_version_is_manifest_invalid(client: TestClient, version: object) -> None:
    doc = _valid_doc(client)
    if version is None:
        del doc["schemaVersion"]
    else:
        doc["schemaVersion"] = version
    response = put_manifest(client, NAME, "v1", encode(doc), OCI_MANIFEST)
    assert_error(response, 400, "MANIFEST_INVALID")


def test_malformed_descriptor_is_manifest_invalid(client: TestClient) -> None:
    doc = _valid_doc(client)
    doc["config"] = {"mediaType": OCI_CONFIG, "digest": "sha256:nothex", "size": 3}
    response = put_manifest(client, NAME, "v1", encode(doc), OCI_MANIFEST)
    assert_error(response, 400, "MANIFEST_INVALID")


def test_put_by_digest_of_other_content_is_digest_invalid(client: TestClient) -> None:
    payload = encode(_valid_doc(client))
    wrong = digest_of(payload + b" ")
    response = put_manifest(client, NAME, wrong, payload, OCI_MANIFEST)
    assert_error(response, 400, "DIGEST_INVALID")
    assert_error(client.get(f"/v2/{NAME}/manifests/{wrong}"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get(f"/v2/{NAME}/manifests/{digest_of(payload)}"), 404, "MANIFEST_UNKNOWN")


# --- size limits -----------------------------------------------------------------------------
def _padded(client: TestClient, size: int) -> bytes:
    """A valid OCI manifest of exactly ``size`` bytes (padded with an annotation)."""
    doc = _valid_doc(client)
    doc["annotations"] = {"pad": ""}
    overhead = len(encode(doc))
    doc["annotations"] = {"pad": "x" * (size - overhead)}
    payload = encode(doc)
    assert len(payload) == size
    return payload


def test_four_mebibyte_manifest_is_accepted(client: TestClient) -> None:
    payload = _padded(client, 4 * 1024 * 1024)
    response = put_manifest(client, NAME, "big", payload, OCI_MANIFEST)
    assert response.status_code == 201, response.text[:500]
    fetched = client.get(f"/v2/{NAME}/manifests/big")
    assert fetched.status_code == 200
    assert fetched.content == payload


def test_manifest_over_the_limit_is_413(client: TestClient) -> None:
    payload = _padded(client, 4 * 1024 * 1024 + 1)
    response = put_manifest(client, NAME, "huge", payload, OCI_MANIFEST)
    assert response.status_code == 413
    # The spec names no code for this; SIZE_INVALID is the closest in its table.
    assert_error(response, 413, "SIZE_INVALID")
    assert_error(client.get(f"/v2/{NAME}/manifests/huge"), 404, "MANIFEST_UNKNOWN")


def test_streamed_manifest_over_the_limit_is_413(client: TestClient) -> None:
    """Without a Content-Length the limit still holds."""
    payload = _padded(client, 4 * 1024 * 1024 + 100)

    def body() -> Iterator[bytes]:
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    response = client.put(
        f"/v2/{NAME}/manifests/huge", content=body(), headers={"Content-Type": OCI_MANIFEST}
    )
    assert_error(response, 413, "SIZE_INVALID")


# --- unknown ---------------------------------------------------------------------------------
def test_unknown_manifest_is_404_manifest_unknown(client: TestClient) -> None:
    push_image(client, NAME, "v1")
    assert_error(client.get(f"/v2/{NAME}/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    missing = digest_of(b"no such manifest")
    assert_error(client.get(f"/v2/{NAME}/manifests/{missing}"), 404, "MANIFEST_UNKNOWN")
    head = client.head(f"/v2/{NAME}/manifests/nope")
    assert head.status_code == 404
    assert head.content == b""
    assert_error(client.delete(f"/v2/{NAME}/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.delete(f"/v2/{NAME}/manifests/{missing}"), 404, "MANIFEST_UNKNOWN")


def test_manifest_of_unknown_repository_is_404(client: TestClient) -> None:
    response = client.get("/v2/lib/never/manifests/latest")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN")


def test_manifest_is_scoped_to_its_repository(client: TestClient) -> None:
    image = push_image(client, NAME, "v1")
    assert_error(client.get(f"/v2/lib/other/manifests/{image.digest}"), 404, "MANIFEST_UNKNOWN")
