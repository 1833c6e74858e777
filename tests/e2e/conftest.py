"""Fixtures of the end-to-end tests: a live Dockyard per module, the reference registry.

The private Docker engine (``docker_engine``) comes from ``tests/support/docker_fixtures.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.reference_registry import ReferenceRegistry, reference_registry_binary
from tests.support.servers import LiveServer


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


@pytest.fixture(scope="module")
def reference_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceRegistry]:
    """The reference registry (Distribution 2.8, ``docker-registry``) on 127.0.0.1."""
    binary = reference_registry_binary()
    require_tool(binary is not None, "docker-registry (Debian package docker-registry)")
    assert binary is not None
    server = ReferenceRegistry(binary, tmp_path_factory.mktemp("reference-registry")).start()
    yield server
    server.stop()
