"""containerd's own client (``ctr``, the resolver Kubernetes nodes use) against Dockyard."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.docker_engine import DockerEngine
from tests.support.images import manifest_digest, push_busybox_image, tags
from tests.support.servers import LiveServer
from tests.support.tools import run, which

pytestmark = pytest.mark.realclient

Ctr = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def ctr(docker_engine: DockerEngine) -> Iterator[Ctr]:
    """``ctr`` on the engine's containerd, in a namespace of its own (native snapshotter)."""
    path = which("ctr")
    require_tool(path is not None, "ctr (Debian package containerd, a docker.io dependency)")
    assert path is not None
    namespace = f"dockyard-e2e-{secrets.token_hex(4)}"
    base = [path, "--address", str(docker_engine.containerd_socket), "--namespace", namespace]

    def call(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([*base, *args], timeout=180, check=check)

    yield call
    refs = call("images", "ls", "--quiet", check=False).stdout.split()
    if refs:
        call("images", "rm", "--sync", *refs, check=False)
    call("content", "prune", "references", check=False)
    run([path, "--address", str(docker_engine.containerd_socket), "namespaces", "rm", namespace],
        check=False, timeout=60)  # fmt: skip


def _image_digest(ctr: Ctr, ref: str) -> str:
    for line in ctr("images", "ls").stdout.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == ref:
            return fields[2]
    raise AssertionError(f"{ref} not in ctr images ls")


def test_ctr_pull_run_push(ctr: Ctr, registry: LiveServer, http: httpx.Client) -> None:
    image = push_busybox_image(
        http, "containerd/src", "1", ["/bin/busybox", "echo", "hello from containerd"]
    )
    source, target = f"{registry.host}/containerd/src:1", f"{registry.host}/containerd/dst:2"

    ctr("images", "pull", "--plain-http", "--snapshotter", "native", source)
    assert _image_digest(ctr, source) == image.digest
    container = f"e2e-{secrets.token_hex(4)}"
    out = ctr("run", "--rm", "--snapshotter", "native", source, container).stdout
    assert out.strip() == "hello from containerd"

    ctr("images", "tag", source, target)
    ctr("images", "push", "--plain-http", target)
    assert manifest_digest(http, "containerd/dst", "2") == image.digest
    assert tags(http, "containerd/dst") == ["2"]

    # pull by digest from the pushed repository
    by_digest = f"{registry.host}/containerd/dst@{image.digest}"
    ctr("images", "rm", "--sync", source, target)
    ctr("images", "pull", "--plain-http", "--snapshotter", "native", by_digest)
    assert _image_digest(ctr, by_digest) == image.digest
