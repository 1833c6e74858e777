"""ORAS (the Python client) against Dockyard: artifacts, subjects and the referrers API."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.images import OCI_INDEX, OCI_MANIFEST, push_busybox_image, sha256
from tests.support.orasclient import make_oras_client, oras, oras_available
from tests.support.servers import LiveServer

pytestmark = pytest.mark.realclient

SBOM_CONFIG_TYPE = "application/vnd.example.sbom.config.v1+json"
SBOM_LAYER_TYPE = "application/spdx+json"
SIGNATURE_TYPE = "application/vnd.example.signature.v1"
SIGNATURE_LAYER_TYPE = "application/vnd.example.signature.v1+octet-stream"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"


@pytest.fixture
def oras_client(registry: LiveServer) -> oras.client.OrasClient:
    """An ORAS client speaking plain HTTP to the live registry."""
    require_tool(oras_available(), "the oras Python package (pip install oras)")
    return make_oras_client(registry.host)


def _referrers(
    http: httpx.Client, repository: str, digest: str, artifact_type: str | None = None
) -> httpx.Response:
    params = {"artifactType": artifact_type} if artifact_type else None
    response = http.get(f"/v2/{repository}/referrers/{digest}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == OCI_INDEX
    return response


def test_artifacts_with_subject_and_referrers(
    oras_client: oras.client.OrasClient,
    busybox: None,
    registry: LiveServer,
    http: httpx.Client,
    tmp_path: Path,
) -> None:
    repository = "oras/app"
    target = f"{registry.host}/{repository}"
    image = push_busybox_image(http, repository, "v1", ["/bin/busybox", "true"])
    subject = oras.oci.Subject(
        mediaType=image.media_type, digest=image.digest, size=len(image.manifest)
    )

    # 1. oras push: an SBOM whose subject is the image (config media type = its artifact type);
    #    chunked upload in small pieces, so PATCH ranges and Location headers are exercised
    sbom = tmp_path / "sbom.spdx.json"
    sbom.write_text(json.dumps({"spdxVersion": "SPDX-2.3", "name": "app"}))
    sbom_config = tmp_path / "sbom-config.json"
    sbom_config.write_text('{"generator": "e2e"}')
    pushed = oras_client.push(
        target=f"{target}:sbom",
        files=[f"{sbom}:{SBOM_LAYER_TYPE}"],
        manifest_config=f"{sbom_config}:{SBOM_CONFIG_TYPE}",
        manifest_annotations={"org.example.kind": "sbom"},
        subject=subject,
        disable_path_validation=True,
        do_chunked=True,
        chunk_size=16,
    )
    assert pushed.status_code == 201
    assert pushed.headers["OCI-Subject"] == image.digest
    sbom_digest = pushed.headers["Docker-Content-Digest"]

    # 2. an artifact manifest with an explicit artifactType and the empty config, pushed with
    #    the oras client's blob and manifest calls (its push() cannot set artifactType)
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    signature = tmp_path / "signature.bin"
    signature.write_bytes(b"not really a signature\n")
    empty_desc = {"mediaType": OCI_EMPTY, "digest": sha256(b"{}"), "size": 2}
    sig_desc = {
        "mediaType": SIGNATURE_LAYER_TYPE,
        "digest": sha256(signature.read_bytes()),
        "size": signature.stat().st_size,
        "annotations": {"org.opencontainers.image.title": "signature.bin"},
    }
    container = oras_client.get_container(f"{target}:signature")
    for path, desc in ((empty, empty_desc), (signature, sig_desc)):
        assert oras_client.upload_blob(str(path), container, desc).status_code in (200, 201)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SIGNATURE_TYPE,
        "config": empty_desc,
        "layers": [sig_desc],
        "subject": image.descriptor,
        "annotations": {"org.example.kind": "signature"},
    }
    pushed = oras_client.upload_manifest(manifest, container)
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["OCI-Subject"] == image.digest
    sig_digest = pushed.headers["Docker-Content-Digest"]

    # oras pull both back (the signature by digest) and compare the files
    out = tmp_path / "pulled"
    files = oras_client.pull(target=f"{target}:sbom", outdir=str(out / "sbom"))
    assert [Path(f).read_bytes() for f in files] == [sbom.read_bytes()]
    files = oras_client.pull(target=f"{target}@{sig_digest}", outdir=str(out / "sig"))
    assert [Path(f).read_bytes() for f in files] == [signature.read_bytes()]
    assert sorted(oras_client.get_tags(target)) == ["sbom", "signature", "v1"]

    # the referrers API lists both, with their artifact types and annotations
    response = _referrers(http, repository, image.digest)
    assert "OCI-Filters-Applied" not in response.headers
    index = response.json()
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == OCI_INDEX
    found = {m["digest"]: m for m in index["manifests"]}
    assert set(found) == {sbom_digest, sig_digest}
    assert found[sbom_digest]["artifactType"] == SBOM_CONFIG_TYPE
    assert found[sbom_digest]["mediaType"] == OCI_MANIFEST
    assert found[sbom_digest]["annotations"] == {"org.example.kind": "sbom"}
    assert found[sig_digest]["artifactType"] == SIGNATURE_TYPE
    assert found[sig_digest]["annotations"] == {"org.example.kind": "signature"}
    for digest, descriptor in found.items():
        body = http.get(
            f"/v2/{repository}/manifests/{digest}", headers={"Accept": OCI_MANIFEST}
        ).content
        assert descriptor["size"] == len(body)
        assert "sha256:" + hashlib.sha256(body).hexdigest() == digest

    # ?artifactType= filters, and says so
    response = _referrers(http, repository, image.digest, SIGNATURE_TYPE)
    assert response.headers["OCI-Filters-Applied"] == "artifactType"
    assert [m["digest"] for m in response.json()["manifests"]] == [sig_digest]
    response = _referrers(http, repository, image.digest, "application/vnd.example.none")
    assert response.headers["OCI-Filters-Applied"] == "artifactType"
    assert response.json()["manifests"] == []

    # a manifest nobody refers to has an empty (not missing) referrers list
    assert _referrers(http, repository, sbom_digest).json()["manifests"] == []

    # deleting an artifact (oras deletes by digest) drops it from the referrers
    assert oras_client.delete_tag(target, "sbom") is True
    assert http.get(f"/v2/{repository}/manifests/{sbom_digest}").status_code == 404
    manifests = _referrers(http, repository, image.digest).json()["manifests"]
    assert [m["digest"] for m in manifests] == [sig_digest]
