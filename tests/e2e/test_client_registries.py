"""The ``dockyard`` client against Dockyard and against the reference registry, step by step.

Each test runs twice: once on a live ``dockyard serve``, once on CNCF Distribution 2.8.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.dyclient import DockyardCLI, push_busybox, push_index
from tests.support.images import host_architecture, manifest_digest, tags
from tests.support.reference_registry import ReferenceRegistry
from tests.support.tools import run, which

pytestmark = pytest.mark.realclient


class Server(Protocol):
    @property
    def host(self) -> str: ...

    @property
    def url(self) -> str: ...


@pytest.fixture(scope="module", params=["dockyard", "reference"])
def server(request: pytest.FixtureRequest) -> Server:
    """Dockyard, then the reference registry."""
    fixture = "registry" if request.param == "dockyard" else "reference_registry"
    found: Server = request.getfixturevalue(fixture)
    return found


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def dy(tmp_path: Path) -> DockyardCLI:
    return DockyardCLI(tmp_path / "client")


_counter = iter(range(1, 10_000))


def fresh(prefix: str) -> str:
    """A repository name no other test of the module uses."""
    return f"{prefix}{next(_counter)}"


def test_pull_tag_push_tags_inspect_delete(
    server: Server, http: httpx.Client, dy: DockyardCLI
) -> None:
    src, dst = fresh("client/src"), fresh("client/dst")
    pushed = push_busybox(http, src, "1.0", ["/bin/busybox", "echo", "hello"])
    source = f"{server.host}/{src}:1.0"

    pulled = dy("pull", source)
    assert pulled.stdout.strip() == source
    assert f"Digest: {pushed.digest}" in pulled.stderr
    listing = dy("images").stdout
    assert f"{server.host}/{src}" in listing
    assert "1.0" in listing

    target = f"{server.host}/{dst}:2.0"
    dy("tag", source, target)
    out = dy("push", target).stdout
    assert pushed.digest in out
    assert manifest_digest(http, dst, "2.0") == pushed.digest
    assert dy("push", target).stderr.count("Layer already exists") == 1, "nothing re-uploaded"

    push_busybox(http, src, "other", ["/bin/busybox", "echo", "other"])
    dy("pull", f"{server.host}/{src}:other")
    dy("tag", f"{server.host}/{src}:other", f"{server.host}/{dst}:2.1")
    dy("push", "-q", f"{server.host}/{dst}:2.1")
    assert dy("tags", f"{server.host}/{dst}").stdout.split() == ["2.0", "2.1"]
    assert dy("tags", "--page-size", "1", f"{server.host}/{dst}").stdout.split() == [
        "2.0",
        "2.1",
    ]

    summary = dy("inspect", target).stdout
    assert pushed.digest in summary
    assert f"linux/{host_architecture()}" in summary
    detail = json.loads(dy("inspect", "--json", target).stdout)
    assert detail["digest"] == pushed.digest
    assert detail["images"][0]["config"]["content"]["config"]["Cmd"] == [
        "/bin/busybox",
        "echo",
        "hello",
    ]
    assert detail["images"][0]["size"] > 100_000

    dy("delete", f"{server.host}/{dst}:2.1")
    assert tags(http, dst) == ["2.0"]
    message = dy.fails("pull", f"{server.host}/{dst}:2.1")
    assert "not found" in message


def test_skopeo_inspects_what_dockyard_pushed(
    server: Server, http: httpx.Client, dy: DockyardCLI
) -> None:
    skopeo = which("skopeo")
    require_tool(skopeo is not None, "skopeo (Debian package skopeo)")
    src, dst = fresh("skopeo/src"), fresh("skopeo/dst")
    pushed = push_busybox(http, src, "1", ["/bin/busybox", "true"])
    dy("pull", f"{server.host}/{src}:1")
    dy("tag", f"{server.host}/{src}:1", f"{server.host}/{dst}:1")
    dy("push", f"{server.host}/{dst}:1")
    out = run([str(skopeo), "inspect", "--tls-verify=false", f"docker://{server.host}/{dst}:1"])
    info = json.loads(out.stdout)
    assert info["Digest"] == pushed.digest
    assert info["Architecture"] == host_architecture()


def test_copy_within_a_registry_mounts(server: Server, http: httpx.Client, dy: DockyardCLI) -> None:
    src, dst = fresh("copy/src"), fresh("copy/dst")
    index = push_index(http, src, "multi", ["/bin/busybox", "echo", "copied"])
    out = dy("copy", f"{server.host}/{src}:multi", f"{server.host}/{dst}:multi")
    assert index.digest in out.stdout
    assert "Mounted from" in out.stderr, out.stderr
    assert "Copying" not in out.stderr.replace(f"Copying {server.host}", ""), "nothing streamed"
    assert manifest_digest(http, dst, "multi") == index.digest
    for entry in json.loads(index.manifest)["manifests"]:
        assert manifest_digest(http, dst, entry["digest"]) == entry["digest"]
    assert not dy.home.exists() or not list((dy.home / "blobs" / "sha256").iterdir())


def test_multi_platform_pulls_and_pushes(
    server: Server, http: httpx.Client, dy: DockyardCLI
) -> None:
    src, dst = fresh("multi/src"), fresh("multi/dst")
    index = push_index(http, src, "1", ["/bin/busybox", "echo", "multi"])
    entries = json.loads(index.manifest)["manifests"]
    other = entries[1]["platform"]["architecture"]

    dy("pull", f"{server.host}/{src}:1")
    rows = json.loads(dy("images", "--json").stdout)
    assert rows[0]["platform"] == f"linux/{host_architecture()}"
    assert rows[0]["digest"] == entries[0]["digest"]

    dy("pull", "--platform", f"linux/{other}", f"{server.host}/{src}:1")
    rows = json.loads(dy("images", "--json").stdout)
    assert rows[0]["digest"] == entries[1]["digest"]

    dy("pull", "--all-platforms", f"{server.host}/{src}:1")
    dy("tag", f"{server.host}/{src}:1", f"{server.host}/{dst}:all")
    dy("push", f"{server.host}/{dst}:all")
    assert manifest_digest(http, dst, "all") == index.digest

    message = dy.fails("pull", "--platform", "linux/mips64le", f"{server.host}/{src}:1")
    assert "no matching manifest for linux/mips64le" in message


def test_interrupted_pull_is_resumed(server: Server, http: httpx.Client, dy: DockyardCLI) -> None:
    repo = fresh("resume/app")
    pushed = push_busybox(http, repo, "1", ["/bin/busybox", "true"])
    layer = json.loads(pushed.manifest)["layers"][0]["digest"]
    data = http.get(f"/v2/{repo}/blobs/{layer}").content
    ingest = dy.home / "ingest"
    ingest.mkdir(parents=True)
    partial = ingest / layer.replace(":", "-")
    partial.write_bytes(data[: len(data) // 2])
    dy("pull", f"{server.host}/{repo}:1")
    assert (dy.home / "blobs" / "sha256" / layer.partition(":")[2]).read_bytes() == data
    assert not partial.exists()

    # A corrupt partial (wrong bytes) is detected by the digest check and fetched again.
    dy("rmi", f"{server.host}/{repo}:1")
    partial.write_bytes(b"\0" * (len(data) // 2))
    dy("pull", f"{server.host}/{repo}:1")
    assert (dy.home / "blobs" / "sha256" / layer.partition(":")[2]).read_bytes() == data


def test_clear_errors(server: Server, http: httpx.Client, dy: DockyardCLI) -> None:
    assert "not found" in dy.fails("pull", f"{server.host}/no/such:image")
    assert "not found" in dy.fails("inspect", f"{server.host}/no/such:image")
    assert "not in the local store" in dy.fails("push", f"{server.host}/never/pulled:1")
    assert "invalid reference format" in dy.fails("pull", f"{server.host}/UPPER:1")
    assert "cannot reach registry 127.0.0.1:9" in dy.fails("pull", "127.0.0.1:9/app:1")


def test_search(server: Server, http: httpx.Client, dy: DockyardCLI) -> None:
    repo = fresh("searchable/needle")
    push_busybox(http, repo, "1", ["/bin/busybox", "true"])
    if isinstance(server, ReferenceRegistry):
        assert "offers no search" in dy.fails("search", f"{server.host}/needle")
        return
    results = json.loads(dy("search", "--json", f"{server.host}/needle").stdout)
    assert repo in [r["name"] for r in results]
    assert set(results[0]) == {"name", "description", "star_count", "is_official", "is_automated"}
    table = dy("search", f"{server.host}/needle").stdout.splitlines()
    assert table[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL", "AUTOMATED"]
