"""``deploy/Dockerfile`` really builds and runs: ``docker build``, ``docker run``, push, pull.

No registry is reachable from containers here, so the test makes what the build needs on the
host, the way docs/deploy.md's offline build does: a Debian bookworm base image with python3 and
python3-venv (``mmdebstrap`` from the machine's Debian mirror, then ``docker import``; cached in
``build/test-cache/``, see ``tests/support/debian_image.py``) and a wheelhouse (``pip wheel``
with the host's Python 3.11, bookworm's too). Then it builds the image with
``--build-arg PYTHON_IMAGE=<that base> --build-arg PIP_NO_INDEX=1`` and runs it on the host's
network, bound to 127.0.0.1: ``/readyz`` answers, every process runs as uid 10001, the
``HEALTHCHECK`` turns healthy, and the docker CLI logs in (a user made with ``docker exec ...
dockyard user create``), pushes a busybox image to it and pulls it back by digest.

``deploy/compose.yaml`` is checked by a real Compose implementation (``docker-compose config``,
Debian's 1.29); running the stack itself needs the postgres, minio and nginx images from Docker
Hub, which these machines cannot pull.

The module runs its own ``dockerd`` (overlay2 where the kernel allows it, else vfs like the
session engine): with vfs every build step copies the whole image, and this build's ~20 steps
on a 350 MB image take minutes longer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.debian_image import REPO_ROOT, rootfs_tarball
from tests.support.docker_engine import DockerEngine, find_docker_tools, write_busybox_context
from tests.support.servers import free_port
from tests.support.tools import mounts_under, remove_tree, run, which

pytestmark = pytest.mark.realclient

BASE_TAG = "dockyard-deploy-test/debian-python3:bookworm"
IMAGE_TAG = "dockyard-deploy-test/dockyard:test"
#: What the build context must hold (deploy/Dockerfile's COPY) and what .dockerignore keeps out.
CONTEXT_FILES = ("pyproject.toml", "README.md", "src", "deploy")
NOT_IN_CONTEXT = (".git", ".venv", "tests", "docs", "bench", "build", "data", "scripts")


@dataclass
class BuildEngine(DockerEngine):
    """A private ``dockerd`` like the session's, by default on ``overlay2`` (image builds)."""

    storage_driver: str = "overlay2"

    def stop(self) -> None:
        """Stop as the session engine does; then unmount what dockerd leaves mounted (the
        host network namespace it bind-mounts for ``--network=host`` containers, under
        ``exec/netns``) and delete the data root."""
        super().stop()
        if self.process is None and self.root.exists():
            for target in sorted(mounts_under(self.root), key=len, reverse=True):
                run(["umount", target], check=False)
            remove_tree(self.root)


@pytest.fixture(scope="module")
def engine() -> Iterator[BuildEngine]:
    """This module's ``dockerd``; stopping it deletes its data root (images, volumes)."""
    dockerd, docker_cli = find_docker_tools()
    require_tool(dockerd is not None, "dockerd (Debian package docker.io)")
    require_tool(docker_cli is not None, "the docker CLI (Debian package docker.io)")
    assert dockerd is not None
    assert docker_cli is not None
    errors = []
    for driver in ("overlay2", "vfs"):
        candidate = BuildEngine(dockerd=dockerd, docker_cli=docker_cli, storage_driver=driver)
        try:
            started = candidate.start()
            break
        except RuntimeError as exc:
            candidate.stop()
            errors.append(f"{driver}: {exc}")
    else:
        pytest.fail("could not start a Docker engine:\n" + "\n".join(errors))
    yield started
    started.stop()
    assert not started.root.exists(), f"the engine's data root was left: {started.root}"


@pytest.fixture(scope="module")
def base_image(engine: BuildEngine) -> Iterator[str]:
    """Debian bookworm + python3 + python3-venv, imported from a (cached) mmdebstrap tarball."""
    mmdebstrap = which("mmdebstrap")
    require_tool(mmdebstrap is not None, "mmdebstrap (Debian package mmdebstrap)")
    require_tool(os.geteuid() == 0, "root, for mmdebstrap --mode=root")
    assert mmdebstrap is not None
    tarball = rootfs_tarball(mmdebstrap)
    engine.docker("import", tarball, BASE_TAG, timeout=300)
    yield BASE_TAG
    engine.docker("rmi", "--force", BASE_TAG, check=False)


@pytest.fixture(scope="module")
def build_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the repository's build inputs plus a wheelhouse in deploy/wheelhouse/.

    A copy, so that ``pip wheel`` builds in a temporary tree and not in the shared checkout;
    deleted afterwards (~50 MB of wheels).
    """
    require_tool(
        sys.version_info[:2] == (3, 11),
        "Python 3.11 on the host (Debian bookworm's) to build the image's wheelhouse",
    )
    context = tmp_path_factory.mktemp("deploy-context")
    shutil.copy2(REPO_ROOT / ".dockerignore", context)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "wheelhouse", "*.pem")
    for name in CONTEXT_FILES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, context / name, ignore=ignore)
        else:
            shutil.copy2(source, context / name)
    # The offline recipe of docs/deploy.md: Dockyard, its dependencies and its build backend.
    wheelhouse = context / "deploy" / "wheelhouse"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", wheelhouse]
    run([*pip_wheel, context, "setuptools>=77", "wheel"], timeout=600)
    yield context
    shutil.rmtree(context, ignore_errors=True)


@pytest.fixture(scope="module")
def dockyard_image(engine: BuildEngine, base_image: str, build_context: Path) -> Iterator[str]:
    """``docker build -f deploy/Dockerfile`` (legacy builder) from the base and wheelhouse only."""
    engine.docker(
        "build",
        "--quiet",
        "--file",
        build_context / "deploy" / "Dockerfile",
        "--build-arg",
        f"PYTHON_IMAGE={base_image}",
        "--build-arg",
        "PIP_NO_INDEX=1",
        "--tag",
        IMAGE_TAG,
        build_context,
        timeout=900,
    )
    yield IMAGE_TAG
    engine.docker("rmi", "--force", IMAGE_TAG, check=False)
    engine.docker("image", "prune", "--force", check=False)


def test_dockerignore_sends_only_the_build_inputs(engine: BuildEngine, tmp_path: Path) -> None:
    # The repository root as the context, as docs/deploy.md builds it; a throwaway Dockerfile
    # that copies the whole context into an image, which is then exported and listed.
    image = "dockyard-deploy-test/context:probe"
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\nCOPY . /context/\n")
    engine.docker("build", "--quiet", "--file", dockerfile, "--tag", image, REPO_ROOT)
    container = engine.docker("create", image, "/none").stdout.strip()
    try:
        exported = tmp_path / "context.tar"
        engine.docker("export", "--output", exported, container)
        with tarfile.open(exported) as archive:
            names = [name.removeprefix("context/") for name in archive.getnames()]
    finally:
        engine.docker("rm", "--force", container, check=False)
        engine.docker("rmi", "--force", image, check=False)
    top = {name.split("/", 1)[0] for name in names if name and name != "context"}
    for required in (*CONTEXT_FILES, "src/dockyard/__init__.py", "deploy/healthcheck.py"):
        assert required in top or required in names, f"{required} not in the context: {top}"
    assert not top & set(NOT_IN_CONTEXT), f"sent to the daemon: {sorted(top & set(NOT_IN_CONTEXT))}"
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pem")]


def test_image_config(engine: BuildEngine, dockyard_image: str) -> None:
    config = engine.docker("image", "inspect", "--format", "{{json .Config}}", dockyard_image)
    settings = json.loads(config.stdout)
    assert settings["User"] == "dockyard"
    assert settings["Entrypoint"] == ["dockyard"]
    assert settings["Cmd"] == ["serve"]
    assert set(settings["Volumes"]) == {"/data"}
    assert "5000/tcp" in settings["ExposedPorts"]
    env = dict(item.split("=", 1) for item in settings["Env"])
    assert env["DOCKYARD_DATA_DIR"] == "/data"
    assert (env["DOCKYARD_HOST"], env["DOCKYARD_PORT"]) == ("0.0.0.0", "5000")
    assert settings["Healthcheck"]["Test"] == ["CMD", "python3", "/opt/dockyard/healthcheck.py"]
    version = engine.docker("run", "--rm", "--network=none", dockyard_image, "--version")
    assert "dockyard, version" in version.stdout
    ids = engine.docker("run", "--rm", "--network=none", "--entrypoint", "id", dockyard_image)
    assert ids.stdout.startswith("uid=10001(dockyard) gid=10001(dockyard)"), ids.stdout


def test_image_serves_docker_push_and_pull(
    engine: BuildEngine, dockyard_image: str, tmp_path: Path
) -> None:
    port = free_port()
    host = f"127.0.0.1:{port}"
    # The image's own CMD (`serve`); the address comes from the variables the HEALTHCHECK reads
    # too. On the host's network, so bound to 127.0.0.1 only.
    container = engine.docker(
        "run",
        "--detach",
        "--network=host",
        "--env",
        "DOCKYARD_HOST=127.0.0.1",
        "--env",
        f"DOCKYARD_PORT={port}",
        dockyard_image,
    ).stdout.strip()
    try:
        _wait_ready(engine, container, f"http://{host}/readyz")
        assert _container_uids(engine, container) == {10001}

        health = _wait_healthy(engine, container)
        assert health["Status"] == "healthy"
        assert f"http://127.0.0.1:{port}/readyz: 200" in health["Log"][-1]["Output"]

        # Authentication is on (the product's default): an account made inside the container.
        password = "deploy-image-password"
        _docker_with_input(
            engine,
            password + "\n",
            "exec",
            "--interactive",
            container,
            "dockyard",
            "user",
            "create",
            "deployer",
            "--email",
            "deployer@example.com",
            "--password-stdin",
        )
        login = _docker_with_input(
            engine, password, "login", "--username", "deployer", "--password-stdin", host
        )
        assert "Login Succeeded" in login.stdout

        remote = f"{host}/deployer/busybox"
        context = write_busybox_context(
            tmp_path / "busybox", cmd=["/bin/busybox", "echo", "pulled from the deploy image"]
        )
        engine.build(context, f"{remote}:v1")
        digest = engine.push(f"{remote}:v1")
        engine.remove_images(f"{remote}:v1")
        assert engine.pull(f"{remote}@{digest}") == digest
        assert engine.run_container(f"{remote}@{digest}").strip() == "pulled from the deploy image"
        engine.remove_images(f"{remote}@{digest}")
        engine.docker("logout", host)
    finally:
        engine.docker("rm", "--force", "--volumes", container, check=False)
    gone = engine.docker("container", "inspect", container, check=False)
    assert gone.returncode != 0


def test_compose_file_is_valid() -> None:
    compose = which("docker-compose")
    require_tool(compose is not None, "docker-compose (Debian package docker-compose)")
    assert compose is not None
    compose_file = REPO_ROOT / "deploy" / "compose.yaml"
    run([compose, "--file", compose_file, "config", "--quiet"], timeout=60)
    services = run([compose, "--file", compose_file, "config", "--services"], timeout=60)
    assert set(services.stdout.split()) == {
        "postgres",
        "minio",
        "minio-init",
        "dockyard-1",
        "dockyard-2",
        "nginx",
    }


def _wait_ready(engine: BuildEngine, container: str, url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        state = engine.docker("inspect", "--format", "{{.State.Status}}", container).stdout
        if state.strip() != "running":
            break
        time.sleep(0.5)
    logs = engine.docker("logs", container, check=False)
    pytest.fail(f"{url} did not answer 200:\n{logs.stdout[-3000:]}\n{logs.stderr[-3000:]}")


def _container_uids(engine: BuildEngine, container: str) -> set[int]:
    """Real and effective uids of the container's main process and all its descendants."""
    pid = int(engine.docker("inspect", "--format", "{{.State.Pid}}", container).stdout)
    uids: set[int] = set()
    pending = [pid]
    while pending:
        current = pending.pop()
        status = Path(f"/proc/{current}/status").read_text()
        line = next(row for row in status.splitlines() if row.startswith("Uid:"))
        uids.update(int(value) for value in line.split()[1:3])
        for task in Path(f"/proc/{current}/task").iterdir():
            children = (task / "children").read_text().split()
            pending.extend(int(child) for child in children)
    return uids


def _wait_healthy(engine: BuildEngine, container: str, timeout: float = 90.0) -> dict[str, Any]:
    """The container's health once ``healthy``; fails on ``unhealthy`` or after ``timeout``."""
    deadline = time.monotonic() + timeout
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        out = engine.docker("inspect", "--format", "{{json .State.Health}}", container).stdout
        health = json.loads(out) or {}
        if health.get("Status") in ("healthy", "unhealthy"):
            break
        time.sleep(1)
    assert health.get("Status") == "healthy", f"health check: {health}"
    return health


def _docker_with_input(
    engine: BuildEngine, stdin: str, *args: str
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [engine.docker_cli, *args],
        input=stdin,
        env=engine.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"docker {args[0]}: {result.stdout}\n{result.stderr}"
    return result
