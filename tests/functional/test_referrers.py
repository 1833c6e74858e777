"""The referrers API: ``GET /v2/<name>/referrers/<digest>[?artifactType=]`` (spec v1.1)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.oci import (
    EMPTY_DIGEST,
    EMPTY_JSON,
    OCI_EMPTY,
    OCI_INDEX,
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

NAME = "lib/signed"
SBOM = "application/vnd.example.sbom.v1"
SIGNATURE = "application/vnd.example.signature.v1"
CUSTOM_CONFIG = "application/vnd.example.config.v1+json"
EMPTY_CONFIG = {"mediaType": OCI_EMPTY, "digest": EMPTY_DIGEST, "size": 2}


def push_artifact(
    client: TestClient,
    name: str,
    subject: dict[str, Any],
    artifact_type: str | None,
    annotations: dict[str, str] | None = None,
    *,
    config_media_type: str | None = None,
    seed: str = "",
) -> Pushed:
    """Push an image manifest referring to ``subject``; return it."""
    blob = f"artifact blob {artifact_type} {seed}".encode()
    push_blob(client, name, blob)
    if config_media_type is None:
        push_blob(client, name, EMPTY_JSON)
        config = EMPTY_CONFIG
    else:
        config_bytes = f'{{"seed":"{seed}"}}'.encode()
        push_blob(client, name, config_bytes)
        config = descriptor(config_media_type, config_bytes)
    doc = make_image_manifest(
        config,
        [descriptor("application/octet-stream", blob)],
        artifact_type=artifact_type,
        subject=subject,
        annotations=annotations,
    )
    pushed = push_manifest(client, name, digest_of(encode(doc)), doc, OCI_MANIFEST)
    response = client.head(f"/v2/{name}/manifests/{pushed.digest}")
    assert response.status_code == 200
    return pushed


def referrers(client: TestClient, name: str, digest: str, **params: str) -> Any:
    """GET the referrers index, asserting the parts every answer must have."""
    response = client.get(f"/v2/{name}/referrers/{digest}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == OCI_INDEX
    body = response.json()
    assert body["schemaVersion"] == 2
    assert body["mediaType"] == OCI_INDEX
    assert isinstance(body["manifests"], list)
    return response, body


def by_digest(body: Any) -> dict[str, dict[str, Any]]:
    entries = {entry["digest"]: entry for entry in body["manifests"]}
    assert len(entries) == len(body["manifests"]), "duplicate referrers"
    return entries


def test_no_referrers_gives_an_empty_index(client: TestClient) -> None:
    image = push_image(client, NAME, "v1")
    response, body = referrers(client, NAME, image.digest)
    assert body["manifests"] == []
    assert "OCI-Filters-Applied" not in response.headers
    # A digest nothing has, and a repository that does not exist: still 200, never 404.
    _, body = referrers(client, NAME, digest_of(b"unknown"))
    assert body["manifests"] == []
    _, body = referrers(client, "lib/nothing-here", digest_of(b"unknown"))
    assert body["manifests"] == []


def test_referrers_list_artifact_type_and_annotations(client: TestClient) -> None:
    image = push_image(client, NAME, "v1")
    subject = image.descriptor()
    sbom = push_artifact(client, NAME, subject, SBOM, {"org.example.sbom.format": "json"})
    sig = push_artifact(
        client,
        NAME,
        subject,
        SIGNATURE,
        {"org.opencontainers.image.created": "2024-01-01T00:00:00Z", "sig.fingerprint": "abcd"},
    )
    # No artifactType: the referrers entry carries the config's mediaType instead.
    plain = push_artifact(
        client, NAME, subject, None, {"note": "plain"}, config_media_type=CUSTOM_CONFIG
    )
    # An index with a subject and an artifactType, and one without an artifactType.
    index_doc = make_index(
        [image.descriptor({"os": "linux", "architecture": "amd64"})],
        artifact_type="application/vnd.example.bundle.v1",
        subject=subject,
        annotations={"bundle": "yes"},
    )
    index = push_manifest(client, NAME, "bundle", index_doc, OCI_INDEX)
    bare_doc = make_index([image.descriptor()], subject=subject)
    bare = push_manifest(client, NAME, "bare", bare_doc, OCI_INDEX)
    # A manifest without a subject is no referrer.
    push_image(client, NAME, "v2", seed="unrelated")

    _, body = referrers(client, NAME, image.digest)
    entries = by_digest(body)
    assert set(entries) == {sbom.digest, sig.digest, plain.digest, index.digest, bare.digest}

    assert entries[sbom.digest] == {
        "mediaType": OCI_MANIFEST,
        "digest": sbom.digest,
        "size": sbom.size,
        "artifactType": SBOM,
        "annotations": {"org.example.sbom.format": "json"},
    }
    assert entries[sig.digest]["artifactType"] == SIGNATURE
    assert entries[sig.digest]["annotations"] == {
        "org.opencontainers.image.created": "2024-01-01T00:00:00Z",
        "sig.fingerprint": "abcd",
    }
    assert entries[plain.digest]["artifactType"] == CUSTOM_CONFIG
    assert entries[plain.digest]["annotations"] == {"note": "plain"}
    assert entries[index.digest]["mediaType"] == OCI_INDEX
    assert entries[index.digest]["size"] == index.size
    assert entries[index.digest]["artifactType"] == "application/vnd.example.bundle.v1"
    assert entries[index.digest]["annotations"] == {"bundle": "yes"}
    # "If the artifactType is empty or missing in an index, the artifactType MUST be omitted."
    assert "artifactType" not in entries[bare.digest]
    # Each entry's size and digest describe the referrer's exact bytes.
    for entry in body["manifests"]:
        fetched = client.get(f"/v2/{NAME}/manifests/{entry['digest']}")
        assert fetched.status_code == 200
        assert len(fetched.content) == entry["size"]
        assert digest_of(fetched.content) == entry["digest"]


def test_artifact_type_filter(client: TestClient) -> None:
    image = push_image(client, NAME, "v1")
    subject = image.descriptor()
    sbom_a = push_artifact(client, NAME, subject, SBOM, seed="a")
    sbom_b = push_artifact(client, NAME, subject, SBOM, seed="b")
    push_artifact(client, NAME, subject, SIGNATURE)

    response, body = referrers(client, NAME, image.digest, artifactType=SBOM)
    assert response.headers["OCI-Filters-Applied"] == "artifactType"
    assert set(by_digest(body)) == {sbom_a.digest, sbom_b.digest}
    assert all(entry["artifactType"] == SBOM for entry in body["manifests"])

    response, body = referrers(client, NAME, image.digest, artifactType="application/none")
    assert response.headers["OCI-Filters-Applied"] == "artifactType"
    assert body["manifests"] == []

    response, body = referrers(client, NAME, image.digest)
    assert "OCI-Filters-Applied" not in response.headers
    assert len(body["manifests"]) == 3


def test_referrer_pushed_before_its_subject(client: TestClient) -> None:
    push_blob(client, NAME, EMPTY_JSON)
    later = digest_of(b"later")
    future = {"mediaType": OCI_MANIFEST, "digest": later, "size": 5}
    sig = push_artifact(client, NAME, future, SIGNATURE)
    _, body = referrers(client, NAME, later)
    assert set(by_digest(body)) == {sig.digest}


def test_referrers_are_scoped_to_the_repository(client: TestClient) -> None:
    image = push_image(client, NAME, "v1")
    push_image(client, "lib/other", "v1")
    sig = push_artifact(client, NAME, image.descriptor(), SIGNATURE)
    push_artifact(client, "lib/other", image.descriptor(), SBOM)
    _, body = referrers(client, NAME, image.digest)
    assert set(by_digest(body)) == {sig.digest}


def test_deleted_referrer_leaves_the_list(client: TestClient) -> None:
    image = push_image(client, NAME, "v1")
    keep = push_artifact(client, NAME, image.descriptor(), SBOM)
    gone = push_artifact(client, NAME, image.descriptor(), SIGNATURE)
    assert client.delete(f"/v2/{NAME}/manifests/{gone.digest}").status_code == 202
    _, body = referrers(client, NAME, image.digest)
    assert set(by_digest(body)) == {keep.digest}


@pytest.mark.parametrize(
    "digest",
    ["sha256:abc", "sha256:" + "Z" * 64, "notadigest", "md5:" + "0" * 32],
)
def test_invalid_digest_is_400(client: TestClient, digest: str) -> None:
    push_image(client, NAME, "v1")
    assert_error(client.get(f"/v2/{NAME}/referrers/{digest}"), 400, "DIGEST_INVALID")


@pytest.mark.parametrize(
    ("artifact_type", "config_media_type"),
    [
        ("application/vnd.example\x00.sbom", None),  # PostgreSQL cannot store a NUL: 500 once
        ("application/" + "x" * 250, None),  # longer than the column (PostgreSQL refuses)
        ("not a media type", None),
        (None, "application/vnd.example\x00.config"),  # the artifact type when it is unset
        (None, "application/" + "x" * 250),
    ],
)
def test_artifact_types_must_be_media_types(
    client: TestClient, artifact_type: str | None, config_media_type: str | None
) -> None:
    """artifactType (and the config's mediaType standing in for it) "MUST comply with RFC
    6838": anything else is MANIFEST_INVALID, on every database."""
    image = push_image(client, NAME, "v1")
    push_blob(client, NAME, EMPTY_JSON)
    config = dict(EMPTY_CONFIG)
    if config_media_type is not None:
        config["mediaType"] = config_media_type
    doc = make_image_manifest(
        config,
        [descriptor("application/octet-stream", b"layer")],
        artifact_type=artifact_type,
        subject=image.descriptor(),
    )
    response = put_manifest(client, NAME, digest_of(encode(doc)), encode(doc), OCI_MANIFEST)
    assert_error(response, 400, "MANIFEST_INVALID")
    assert "RFC 6838" in response.text
    _, body = referrers(client, NAME, image.digest)
    assert body["manifests"] == []
