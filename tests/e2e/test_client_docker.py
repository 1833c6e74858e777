"""Archives between ``dockyard`` and a real Docker engine, and images that really run.

``dockyard save`` (both formats) -> ``docker load`` -> ``docker run --network=none``; and
``docker build`` (FROM scratch + busybox) -> ``docker save`` -> ``dockyard load`` ->
``dockyard push`` -> ``docker pull`` -> ``docker run``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.docker_engine import DockerEngine, write_busybox_context
from tests.support.dyclient import DockyardCLI, push_busybox
from tests.support.images import manifest_digest
from tests.support.servers import LiveServer
from tests.support.tools import run, which

pytestmark = pytest.mark.realclient


@pytest.fixture
def http(registry: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("archive_format", ["docker", "oci"])
def test_docker_loads_and_runs_what_dockyard_saved(
    archive_format: str,
    docker_engine: DockerEngine,
    registry: LiveServer,
    http: httpx.Client,
    tmp_path: Path,
) -> None:
    repo = f"saved/{archive_format}"
    push_busybox(http, repo, "1", ["/bin/busybox", "echo", f"saved as {archive_format}"])
    ref = f"{registry.host}/{repo}:1"
    dy = DockyardCLI(tmp_path / "client")
    dy("pull", ref)
    archive = tmp_path / "image.tar"
    dy("save", ref, "-o", archive, "--format", archive_format)

    loaded = docker_engine.docker("load", "-i", archive).stdout
    assert f"Loaded image: {ref}" in loaded
    image_id = json.loads(dy("images", "--json").stdout)[0]["image_id"]
    assert docker_engine.image_id(ref) == image_id, "docker sees the same config (image ID)"
    assert docker_engine.run_container(ref).strip() == f"saved as {archive_format}"
    docker_engine.remove_images(ref)


def test_docker_save_loads_pushes_and_runs(
    docker_engine: DockerEngine, registry: LiveServer, tmp_path: Path
) -> None:
    context = write_busybox_context(
        tmp_path / "ctx",
        files={"greeting.txt": "built by docker\n"},
        cmd=["/bin/busybox", "cat", "/greeting.txt"],
    )
    built = "dockyard-client-e2e:built"
    image_id = docker_engine.build(context, built)
    archive = tmp_path / "docker-save.tar"
    docker_engine.docker("save", "-o", archive, built)
    docker_engine.docker("rmi", "--force", built)

    dy = DockyardCLI(tmp_path / "client")
    out = dy("load", "-i", archive).stdout
    assert "Loaded image: dockyard-client-e2e:built" in out
    rows = json.loads(dy("images", "--json").stdout)
    assert rows[0]["image_id"] == image_id, "the config is kept byte for byte"

    target = f"{registry.host}/built/app:1"
    dy("tag", "dockyard-client-e2e:built", target)
    digest = dy("push", target).stdout.split("digest: ")[1].strip()
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        assert manifest_digest(client, "built/app", "1") == digest

    assert docker_engine.pull(target) == digest
    assert docker_engine.run_container(target).strip() == "built by docker"

    skopeo = which("skopeo")
    require_tool(skopeo is not None, "skopeo (Debian package skopeo)")
    info = json.loads(
        run([str(skopeo), "inspect", "--tls-verify=false", f"docker://{target}"]).stdout
    )
    assert info["Digest"] == digest
    docker_engine.remove_images(target)


def test_load_reads_a_piped_archive(
    registry: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    push_busybox(http, "piped/app", "1", ["/bin/busybox", "true"])
    ref = f"{registry.host}/piped/app:1"
    dy = DockyardCLI(tmp_path / "one")
    dy("pull", "-q", ref)
    archive = tmp_path / "piped.tar"
    dy("save", ref, "-o", archive, "--format", "oci")
    other = DockyardCLI(tmp_path / "two")
    with archive.open("rb") as piped:
        result = subprocess.run(
            [sys.executable, "-m", "dockyard", "load"],
            stdin=piped,
            env=other.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    assert f"Loaded image: {ref}" in result.stdout
    assert other("images", "-q").stdout.split() == dy("images", "-q").stdout.split()
