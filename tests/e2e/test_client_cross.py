"""``dockyard copy`` between two registries (Dockyard and the reference registry), both ways."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.dyclient import DockyardCLI, push_index
from tests.support.images import manifest_digest
from tests.support.reference_registry import ReferenceRegistry
from tests.support.servers import LiveServer
from tests.support.tools import run, which

pytestmark = pytest.mark.realclient


@pytest.fixture
def dockyard_http(registry: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        yield client


@pytest.fixture
def reference_http(reference_registry: ReferenceRegistry) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=reference_registry.url, timeout=30) as client:
        yield client


def test_copy_an_index_across_registries_and_back(
    registry: LiveServer,
    reference_registry: ReferenceRegistry,
    dockyard_http: httpx.Client,
    reference_http: httpx.Client,
    tmp_path: Path,
) -> None:
    dy = DockyardCLI(tmp_path / "client")
    index = push_index(dockyard_http, "cross/src", "1", ["/bin/busybox", "echo", "crossed"])
    children = [m["digest"] for m in json.loads(index.manifest)["manifests"]]

    there = dy("copy", f"{registry.host}/cross/src:1", f"{reference_registry.host}/cross/dst:1")
    assert index.digest in there.stdout
    assert "Copied" in there.stderr, "blobs are streamed between registries"
    assert "Mounted" not in there.stderr
    assert manifest_digest(reference_http, "cross/dst", "1") == index.digest
    for child in children:
        assert manifest_digest(reference_http, "cross/dst", child) == child

    back = dy("copy", f"{reference_registry.host}/cross/dst:1", f"{registry.host}/cross/back:1")
    assert index.digest in back.stdout
    assert manifest_digest(dockyard_http, "cross/back", "1") == index.digest
    assert not (dy.home / "blobs").exists() or not any((dy.home / "blobs").rglob("*")), (
        "a copy never lands on local disk"
    )

    again = dy("copy", f"{registry.host}/cross/src:1", f"{reference_registry.host}/cross/dst:2")
    assert "Copied" not in again.stderr, "blobs already there are skipped"

    skopeo = which("skopeo")
    require_tool(skopeo is not None, "skopeo (Debian package skopeo)")
    raw = run(
        [
            str(skopeo),
            "inspect",
            "--raw",
            "--tls-verify=false",
            f"docker://{registry.host}/cross/back:1",
        ]
    ).stdout
    assert json.loads(raw) == json.loads(index.manifest)
