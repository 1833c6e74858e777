"""Real clients follow the registry's ``Link`` headers when tag lists span several pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.images import OCI_MANIFEST, push_busybox_image
from tests.support.orasclient import make_oras_client, oras_available
from tests.support.servers import LiveServer
from tests.support.tools import run, which

pytestmark = pytest.mark.realclient

TAGS = sorted(["1.0", "1.1", "2.0", "latest", "stable"])


@pytest.fixture
def paged_registry(tmp_path: Path, busybox: None) -> Iterator[tuple[LiveServer, httpx.Client]]:
    """A live registry that returns at most two tags per page, holding one image under TAGS."""
    server = LiveServer(
        data_dir=tmp_path / "data", env={"DOCKYARD_REGISTRY__MAX_PAGE_SIZE": "2"}
    ).start()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        image = push_busybox_image(http, "paged/app", TAGS[0], ["/bin/busybox", "true"])
        for tag in TAGS[1:]:
            response = http.put(
                f"/v2/paged/app/manifests/{tag}",
                content=image.manifest,
                headers={"Content-Type": OCI_MANIFEST},
            )
            assert response.status_code == 201
        first = http.get("/v2/paged/app/tags/list")
        assert first.json()["tags"] == TAGS[:2]
        assert 'rel="next"' in first.headers["Link"]
        yield server, http
    server.stop()


def test_skopeo_list_tags_follows_pages(paged_registry: tuple[LiveServer, httpx.Client]) -> None:
    server, _ = paged_registry
    skopeo = which("skopeo")
    require_tool(skopeo is not None, "skopeo (Debian package skopeo)")
    out = run([skopeo, "list-tags", "--tls-verify=false", f"docker://{server.host}/paged/app"])
    assert sorted(json.loads(out.stdout)["Tags"]) == TAGS


def test_oras_get_tags_follows_pages(paged_registry: tuple[LiveServer, httpx.Client]) -> None:
    server, _ = paged_registry
    require_tool(oras_available(), "the oras Python package (pip install oras)")
    client = make_oras_client(server.host)
    assert sorted(client.get_tags(f"{server.host}/paged/app")) == TAGS
    assert client.get_tags(f"{server.host}/paged/app", N=3) == TAGS[:3]
