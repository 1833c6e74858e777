"""podman (vfs storage, private root/runroot) pushing to and pulling from Dockyard."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.docker_engine import write_busybox_context
from tests.support.images import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    manifest_digest,
    push_busybox_image,
    tags,
)
from tests.support.servers import LiveServer
from tests.support.tools import remove_tree, run, short_temp_dir, which

pytestmark = pytest.mark.realclient


@dataclass
class Podman:
    """``podman`` with its own storage, run root and auth file."""

    path: str
    root: Path

    def __call__(
        self, *args: str | Path, timeout: float = 180.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            self.path,
            "--storage-driver=vfs",
            f"--root={self.root / 'root'}",
            f"--runroot={self.root / 'run'}",
            f"--tmpdir={self.root / 'tmp'}",
            "--events-backend=file",
            *map(str, args),
        ]
        env = {**os.environ, "REGISTRY_AUTH_FILE": str(self.root / "auth.json")}
        return run(cmd, env=env, timeout=timeout, check=check)

    def run_container(self, ref: str) -> str:
        """``podman run --rm --network=none``; low rlimits, which a container may not raise."""
        return self(
            "run", "--rm", "--network=none",
            "--ulimit=nofile=1024:1024", "--ulimit=nproc=1024:1024", ref,
        ).stdout  # fmt: skip


@pytest.fixture
def podman(busybox: None) -> Iterator[Podman]:
    """A podman with throwaway storage under a short /tmp directory."""
    path = which("podman")
    require_tool(path is not None, "podman (Debian package podman)")
    assert path is not None
    tool = Podman(path, short_temp_dir("pm-"))
    (tool.root / "auth.json").write_text('{"auths": {}}')
    yield tool
    tool("rm", "--all", "--force", check=False, timeout=60)
    remove_tree(tool.root)


def test_podman_pull_build_push_pull_run(
    podman: Podman, registry: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    base = push_busybox_image(
        http, "podman/base", "1", ["/bin/busybox", "echo", "hello from podman"]
    )
    base_ref = f"{registry.host}/podman/base:1"

    # pull what another client pushed, check its digest, run it
    podman("pull", "--tls-verify=false", base_ref)
    inspected = podman("image", "inspect", "--format", "{{.Digest}}", base_ref).stdout.strip()
    assert inspected == base.digest
    assert podman.run_container(base_ref).strip() == "hello from podman"

    # build on top of it and push in both manifest formats
    context = write_busybox_context(
        tmp_path / "ctx",
        base=base_ref,
        files={"note.txt": "built by podman\n"},
        cmd=["/bin/busybox", "cat", "/note.txt"],
    )
    built = f"{registry.host}/podman/built"
    podman("build", "--pull=never", "-t", f"{built}:oci", context, timeout=300)
    digests = {}
    for tag, fmt in (("oci", "oci"), ("v2s2", "v2s2")):
        digest_file = tmp_path / f"{tag}.digest"
        podman(
            "push", "--tls-verify=false", f"--format={fmt}", f"--digestfile={digest_file}",
            f"{built}:oci", f"docker://{built}:{tag}",
        )  # fmt: skip
        digests[tag] = digest_file.read_text().strip()
        assert manifest_digest(http, "podman/built", tag) == digests[tag]
    media_types = {
        tag: http.get(f"/v2/podman/built/manifests/{tag}").headers["Content-Type"]
        for tag in digests
    }
    assert media_types == {"oci": OCI_MANIFEST, "v2s2": DOCKER_MANIFEST}
    assert tags(http, "podman/built") == ["oci", "v2s2"]

    # forget everything locally, pull both back and run them
    podman("rmi", "--all", "--force")
    for tag, digest in digests.items():
        podman("pull", "--tls-verify=false", f"{built}:{tag}")
        # both tags hold one image (same config), so look at all its repo digests
        repo_digests = podman(
            "image", "inspect", "--format", "{{json .RepoDigests}}", built + ":" + tag
        )
        assert f"{built}@{digest}" in json.loads(repo_digests.stdout)
        assert podman.run_container(f"{built}:{tag}") == "built by podman\n"


def test_podman_manifest_push_all_and_pull_by_arch(
    podman: Podman, registry: LiveServer, http: httpx.Client
) -> None:
    amd = push_busybox_image(http, "podman/parts", "amd", ["/bin/busybox", "echo", "amd"])
    arm = push_busybox_image(http, "podman/parts", "arm", ["/bin/busybox", "echo", "arm"])
    parts, listed = f"{registry.host}/podman/parts", f"{registry.host}/podman/list:1"

    podman("manifest", "create", listed)
    podman("manifest", "add", "--tls-verify=false", listed, f"docker://{parts}:amd")
    podman("manifest", "add", "--tls-verify=false", "--arch=arm64", listed, f"docker://{parts}:arm")
    digest_file = podman.root / "list.digest"
    podman(
        "manifest", "push", "--all", "--tls-verify=false", f"--digestfile={digest_file}",
        listed, f"docker://{listed}",
    )  # fmt: skip
    index_digest = digest_file.read_text().strip()
    assert manifest_digest(http, "podman/list", "1") == index_digest
    index = http.get("/v2/podman/list/manifests/1", headers={"Accept": OCI_INDEX}).json()
    platforms = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}
    assert platforms == {"amd64": amd.digest, "arm64": arm.digest}

    # podman picks the entry for the architecture it is asked for
    podman("rmi", "--all", "--force")
    for arch, expected in (("amd64", "amd"), ("arm64", "arm")):
        ref = f"{registry.host}/podman/list:1"
        podman("pull", "--tls-verify=false", f"--arch={arch}", ref)
        digests = podman("image", "inspect", "--format", "{{json .RepoDigests}}", ref).stdout
        assert f"{registry.host}/podman/list@{platforms[arch]}" in json.loads(digests)
        if arch == "amd64":
            assert podman.run_container(ref).strip() == expected
        podman("rmi", "--force", ref)
