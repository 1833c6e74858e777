"""Small OCI images built in memory and pushed over plain HTTP (no client tool needed)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import platform
import tarfile
from dataclasses import dataclass
from pathlib import Path

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
CREATED = "2024-01-01T00:00:00Z"
MANIFEST_ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST])


def sha256(data: bytes) -> str:
    """The ``sha256:<hex>`` digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def host_architecture() -> str:
    """This machine's architecture as OCI names it."""
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


@dataclass(frozen=True)
class PushedImage:
    """An image manifest as the registry stored it."""

    repository: str
    tag: str
    digest: str
    media_type: str
    manifest: bytes

    @property
    def descriptor(self) -> dict[str, object]:
        """An OCI descriptor of this manifest (for ``subject`` fields)."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest)}


@functools.cache
def busybox_layer(busybox: Path = Path("/bin/busybox")) -> tuple[bytes, str]:
    """A gzipped tar layer holding ``bin/busybox``, and its uncompressed digest (diff ID)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directory = tarfile.TarInfo("bin")
        directory.type, directory.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(directory)
        data = busybox.read_bytes()
        member = tarfile.TarInfo("bin/busybox")
        member.size, member.mode = len(data), 0o755
        tar.addfile(member, io.BytesIO(data))
    uncompressed = raw.getvalue()
    return gzip.compress(uncompressed, compresslevel=1, mtime=0), sha256(uncompressed)


def upload_blob(client: httpx.Client, repository: str, data: bytes) -> str:
    """Monolithic upload of ``data`` into ``repository``; its digest."""
    digest = sha256(data)
    response = client.post(
        f"/v2/{repository}/blobs/uploads/", params={"digest": digest}, content=data
    )
    assert response.status_code == 201, response.text
    return digest


def push_busybox_image(
    client: httpx.Client, repository: str, tag: str, cmd: list[str]
) -> PushedImage:
    """Push a runnable OCI image (busybox + ``cmd``) for this machine's architecture."""
    layer, diff_id = busybox_layer()
    config = json.dumps(
        {
            "architecture": host_architecture(),
            "os": "linux",
            "created": CREATED,
            "config": {"Cmd": cmd, "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [
                {"created": CREATED, "created_by": "COPY busybox /bin/busybox"},
                {"created": CREATED, "created_by": f"CMD {json.dumps(cmd)}", "empty_layer": True},
            ],
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": upload_blob(client, repository, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": OCI_LAYER,
                    "digest": upload_blob(client, repository, layer),
                    "size": len(layer),
                }
            ],
        },
        indent=2,
    ).encode()
    response = client.put(
        f"/v2/{repository}/manifests/{tag}",
        content=manifest,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert response.status_code == 201, response.text
    digest = response.headers["Docker-Content-Digest"]
    assert digest == sha256(manifest)
    return PushedImage(repository, tag, digest, OCI_MANIFEST, manifest)


def manifest_digest(client: httpx.Client, repository: str, reference: str) -> str:
    """The registry's ``Docker-Content-Digest`` for a manifest (checked against its body)."""
    response = client.get(
        f"/v2/{repository}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}
    )
    assert response.status_code == 200, response.text
    digest = response.headers["Docker-Content-Digest"]
    assert digest == sha256(response.content), "Docker-Content-Digest is not the body's digest"
    return digest


def tags(client: httpx.Client, repository: str) -> list[str]:
    """``GET /v2/<repository>/tags/list``; the tags."""
    response = client.get(f"/v2/{repository}/tags/list")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == repository
    return list(body["tags"])
