"""Fixtures of the end-to-end tests: a private Docker engine and a live Dockyard per module."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.docker_engine import BUSYBOX, DockerEngine, find_docker_tools
from tests.support.reference_registry import ReferenceRegistry, reference_registry_binary
from tests.support.servers import LiveServer
from tests.support.tools import is_static_elf


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real ``dockyard serve`` on 127.0.0.1, shared by the tests of one module."""
    server = LiveServer(data_dir=tmp_path_factory.mktemp("registry") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def http(registry: LiveServer) -> Iterator[httpx.Client]:
    """A plain HTTP client for the live registry, to check what the real clients did."""
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def busybox() -> None:
    """Require a static busybox: it is the whole userland of the ``FROM scratch`` images."""
    require_tool(is_static_elf(BUSYBOX), f"a static {BUSYBOX} (Debian package busybox-static)")


@pytest.fixture(scope="session")
def docker_engine(busybox: None) -> Iterator[DockerEngine]:
    """A private ``dockerd`` (vfs, no iptables, no bridge) on its own socket under /tmp."""
    dockerd, docker_cli = find_docker_tools()
    require_tool(dockerd is not None, "dockerd (Debian package docker.io)")
    require_tool(docker_cli is not None, "the docker CLI (Debian package docker.io)")
    assert dockerd is not None
    assert docker_cli is not None
    engine = DockerEngine(dockerd=dockerd, docker_cli=docker_cli)
    try:
        engine.start()
    except RuntimeError as exc:
        engine.stop()
        pytest.fail(f"could not start a Docker engine: {exc}")
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def reference_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceRegistry]:
    """The reference registry (Distribution 2.8, ``docker-registry``) on 127.0.0.1."""
    binary = reference_registry_binary()
    require_tool(binary is not None, "docker-registry (Debian package docker-registry)")
    assert binary is not None
    server = ReferenceRegistry(binary, tmp_path_factory.mktemp("reference-registry")).start()
    yield server
    server.stop()
