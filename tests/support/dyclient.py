"""Running the ``dockyard`` client commands from tests, with a private store and docker config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.images import (
    CREATED,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    PushedImage,
    busybox_layer,
    host_architecture,
    sha256,
)


@dataclass
class DockyardCLI:
    """``python -m dockyard`` with ``DOCKYARD_HOME`` and ``DOCKER_CONFIG`` of its own."""

    root: Path
    extra_env: dict[str, str] | None = None

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def docker_config(self) -> Path:
        return self.root / "docker-config"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DOCKYARD_HOME": str(self.home),
            "DOCKER_CONFIG": str(self.docker_config),
            **(self.extra_env or {}),
        }

    def __call__(
        self,
        *args: str | Path,
        check: bool = True,
        stdin: str | None = None,
        timeout: float = 180.0,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "dockyard", *map(str, args)]
        result = subprocess.run(
            cmd,
            env=self.env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd[2:])} exited {result.returncode}\n"
                f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
            )
        return result

    def fails(self, *args: str | Path, stdin: str | None = None) -> str:
        """Run a command that must fail cleanly: exit 1, one ``Error:`` line, no traceback."""
        result = self(*args, check=False, stdin=stdin)
        assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines, result.stderr
        assert lines[-1].startswith("Error: "), result.stderr
        return lines[-1]

    def config(self) -> dict[str, object]:
        path = self.docker_config / "config.json"
        return json.loads(path.read_text()) if path.exists() else {}


def upload(client: httpx.Client, repository: str, data: bytes) -> str:
    """POST a session, then PUT the bytes with ``?digest=`` (any registry takes this)."""
    digest = sha256(data)
    started = client.post(f"/v2/{repository}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    separator = "&" if "?" in location else "?"
    done = client.put(
        f"{location}{separator}digest={digest}",
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201, done.text
    return digest


def put_manifest(
    client: httpx.Client, repository: str, reference: str, doc: object, media_type: str
) -> bytes:
    data = json.dumps(doc).encode()
    response = client.put(
        f"/v2/{repository}/manifests/{reference}",
        content=data,
        headers={"Content-Type": media_type},
    )
    assert response.status_code == 201, response.text
    return data


def push_busybox(client: httpx.Client, repository: str, tag: str, cmd: list[str]) -> PushedImage:
    """A runnable busybox image for this machine, pushed to any registry."""
    layer, diff_id = busybox_layer()
    config = json.dumps(
        {
            "architecture": host_architecture(),
            "os": "linux",
            "created": CREATED,
            "config": {"Cmd": cmd, "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": upload(client, repository, config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": OCI_LAYER,
                "digest": upload(client, repository, layer),
                "size": len(layer),
            }
        ],
    }
    data = put_manifest(client, repository, tag, doc, OCI_MANIFEST)
    return PushedImage(repository, tag, sha256(data), OCI_MANIFEST, data)


def push_index(client: httpx.Client, repository: str, tag: str, cmd: list[str]) -> PushedImage:
    """A two-platform index: a runnable image for this machine plus a small arm64/s390x one."""
    native = push_busybox(client, repository, f"{tag}-native", cmd)
    other_arch = "s390x" if host_architecture() != "s390x" else "arm64"
    layer = b"not really a layer for " + other_arch.encode()
    config = json.dumps(
        {
            "architecture": other_arch,
            "os": "linux",
            "created": CREATED,
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        }
    ).encode()
    other = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": upload(client, repository, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": OCI_LAYER,
                    "digest": upload(client, repository, layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    response = client.put(
        f"/v2/{repository}/manifests/{sha256(other)}",
        content=other,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert response.status_code == 201, response.text
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    **native.descriptor,
                    "platform": {"os": "linux", "architecture": host_architecture()},
                },
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": sha256(other),
                    "size": len(other),
                    "platform": {"os": "linux", "architecture": other_arch},
                },
            ],
        }
    ).encode()
    response = client.put(
        f"/v2/{repository}/manifests/{tag}", content=index, headers={"Content-Type": OCI_INDEX}
    )
    assert response.status_code == 201, response.text
    return PushedImage(repository, tag, sha256(index), OCI_INDEX, index)
