"""Small helpers for HTTP-level registry tests: digests, blob pushes, manifests and indexes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.testclient import TestClient

from dockyard.config import Settings
from dockyard.storage import StorageDriver
from dockyard.storage.paths import UPLOADS_DIR

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

#: The OCI empty descriptor's content (``{}``) and digest.
EMPTY_JSON = b"{}"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

#: Every error code the distribution spec defines (``code-1`` ... ``code-15``).
SPEC_ERROR_CODES = frozenset(
    {
        "BLOB_UNKNOWN",
        "BLOB_UPLOAD_INVALID",
        "BLOB_UPLOAD_UNKNOWN",
        "DIGEST_INVALID",
        "MANIFEST_BLOB_UNKNOWN",
        "MANIFEST_INVALID",
        "MANIFEST_UNKNOWN",
        "NAME_INVALID",
        "NAME_UNKNOWN",
        "SIZE_INVALID",
        "UNAUTHORIZED",
        "DENIED",
        "UNSUPPORTED",
        "TOOMANYREQUESTS",
    }
)


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    """``algorithm:hex`` of ``data``."""
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def error_codes(response: httpx.Response) -> list[str]:
    """The ``code`` of every error in an OCI error envelope (asserting its shape)."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("errors"), list), body
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) >= {"code", "message"}, error
        assert isinstance(error["code"], str), error
        assert error["code"].isupper(), error
        assert isinstance(error["message"], str), error
    return [error["code"] for error in body["errors"]]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The response is ``status`` with an OCI error envelope whose first code is ``code``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert error_codes(response)[0] == code, response.text


# --- blobs ---------------------------------------------------------------------------------
def push_blob(client: TestClient, name: str, data: bytes, algorithm: str = "sha256") -> str:
    """Upload ``data`` monolithically (single POST) into ``name``; return its digest."""
    digest = digest_of(data, algorithm)
    response = client.post(
        f"/v2/{name}/blobs/uploads/",
        params={"digest": digest},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == digest
    return digest


def start_upload(client: TestClient, name: str) -> str:
    """Open an upload session; return its ``Location`` (a path, maybe with a query)."""
    response = client.post(f"/v2/{name}/blobs/uploads/", headers={"Content-Length": "0"})
    assert response.status_code == 202, response.text
    location: str = response.headers["Location"]
    assert location
    return location


def blob_exists(client: TestClient, name: str, digest: str) -> bool:
    """True when ``HEAD /v2/<name>/blobs/<digest>`` answers 200 (False on 404)."""
    response: httpx.Response = client.head(f"/v2/{name}/blobs/{digest}")
    assert response.status_code in (200, 404), response.status_code
    return response.status_code == 200


# --- manifests -------------------------------------------------------------------------------
def descriptor(
    media_type: str,
    data: bytes,
    *,
    platform: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    artifact_type: str | None = None,
) -> dict[str, Any]:
    """A content descriptor of ``data``."""
    result: dict[str, Any] = {
        "mediaType": media_type,
        "digest": digest_of(data),
        "size": len(data),
    }
    if artifact_type is not None:
        result["artifactType"] = artifact_type
    if platform is not None:
        result["platform"] = platform
    if annotations is not None:
        result["annotations"] = annotations
    return result


def make_image_manifest(
    config: dict[str, Any],
    layers: list[dict[str, Any]],
    *,
    media_type: str = OCI_MANIFEST,
    artifact_type: str | None = None,
    subject: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An image manifest document (OCI or Docker schema 2, after ``media_type``)."""
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type}
    if artifact_type is not None:
        doc["artifactType"] = artifact_type
    doc["config"] = config
    doc["layers"] = layers
    if subject is not None:
        doc["subject"] = subject
    if annotations is not None:
        doc["annotations"] = annotations
    return doc


def make_index(
    manifests: list[dict[str, Any]],
    *,
    media_type: str = OCI_INDEX,
    artifact_type: str | None = None,
    subject: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An OCI image index or Docker manifest list of ``manifests`` descriptors."""
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type}
    if artifact_type is not None:
        doc["artifactType"] = artifact_type
    doc["manifests"] = manifests
    if subject is not None:
        doc["subject"] = subject
    if annotations is not None:
        doc["annotations"] = annotations
    return doc


def encode(doc: dict[str, Any]) -> bytes:
    """Canonical-enough JSON bytes of a manifest document."""
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def put_manifest(
    client: TestClient,
    name: str,
    reference: str,
    payload: bytes,
    media_type: str | None,
) -> httpx.Response:
    """``PUT /v2/<name>/manifests/<reference>`` with ``Content-Type: media_type``."""
    headers = {"Content-Type": media_type} if media_type else {}
    response: httpx.Response = client.put(
        f"/v2/{name}/manifests/{reference}", content=payload, headers=headers
    )
    return response


@dataclass(frozen=True)
class Pushed:
    """A manifest stored in the registry: its bytes, digest and media type."""

    payload: bytes
    digest: str
    media_type: str

    @property
    def size(self) -> int:
        return len(self.payload)

    def descriptor(self, platform: dict[str, str] | None = None) -> dict[str, Any]:
        """A descriptor pointing at this manifest."""
        return descriptor(self.media_type, self.payload, platform=platform)


def push_manifest(
    client: TestClient, name: str, reference: str, doc: dict[str, Any], media_type: str
) -> Pushed:
    """Store ``doc`` under ``reference``, asserting 201; return what was stored."""
    payload = encode(doc)
    response = put_manifest(client, name, reference, payload, media_type)
    assert response.status_code == 201, response.text
    digest = digest_of(payload)
    assert response.headers["Docker-Content-Digest"] == digest
    return Pushed(payload, digest, media_type)


def push_image(
    client: TestClient,
    name: str,
    reference: str | None = None,
    *,
    media_type: str = OCI_MANIFEST,
    seed: str = "image",
    platform: str = "linux/amd64",
) -> Pushed:
    """Push a config and one layer, then an image manifest (by ``reference`` or its digest)."""
    docker = media_type == DOCKER_MANIFEST
    os_name, _, arch = platform.partition("/")
    config_bytes = (
        json.dumps(
            {"architecture": arch, "os": os_name, "rootfs": {"type": "layers", "diff_ids": []}},
            sort_keys=True,
        ).encode()
        + seed.encode()
    )
    layer_bytes = f"layer of {seed} for {platform}".encode()
    push_blob(client, name, config_bytes)
    push_blob(client, name, layer_bytes)
    doc = make_image_manifest(
        descriptor(DOCKER_CONFIG if docker else OCI_CONFIG, config_bytes),
        [descriptor(DOCKER_LAYER if docker else OCI_LAYER, layer_bytes)],
        media_type=media_type,
    )
    payload = encode(doc)
    return push_manifest(client, name, reference or digest_of(payload), doc, media_type)


def storage_entries(client: TestClient, settings: Settings) -> list[str]:
    """What the storage of the in-process app holds, sorted.

    On the filesystem driver every file and directory under its root, relative (a path
    traversal could leave an empty directory); on the others, every object key, uploads'
    included.
    """
    if settings.storage.driver == "filesystem":
        root = settings.storage_root
        if not root.exists():
            return []
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    storage: StorageDriver = client.app.state.storage  # type: ignore[attr-defined]

    async def keys() -> list[str]:
        found = [key async for key in storage.list("")]
        found += [key async for key in storage.list(UPLOADS_DIR)]
        return sorted(found)

    portal = client.portal
    assert portal is not None, "use the TestClient as a context manager"
    return portal.call(keys)
