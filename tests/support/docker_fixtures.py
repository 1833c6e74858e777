"""Session fixtures of a private Docker engine, shared by every test directory that needs one
(``tests/e2e``, ``tests/browser``): registered once from ``tests/conftest.py``, so one session
starts at most one ``dockerd``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require_tool
from tests.support.docker_engine import BUSYBOX, DockerEngine, find_docker_tools
from tests.support.tools import is_static_elf


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
