"""skopeo against Dockyard: copy in and out of archives and layouts, inspect, list, delete."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.docker_engine import DockerEngine, write_busybox_context
from tests.support.images import (
    OCI_MANIFEST,
    manifest_digest,
    push_busybox_image,
    sha256,
    tags,
)
from tests.support.servers import LiveServer
from tests.support.tools import run, which

pytestmark = pytest.mark.realclient

Skopeo = Callable[..., str]


@pytest.fixture
def skopeo() -> Skopeo:
    """Run ``skopeo --insecure-policy ARGS`` (bounded); its standard output."""
    path = which("skopeo")
    require_tool(path is not None, "skopeo (Debian package skopeo)")

    def call(*args: str | Path) -> str:
        return run([str(path), "--insecure-policy", *map(str, args)], timeout=180).stdout

    return call


def _layout_digest(layout: Path, tag: str) -> str:
    """The manifest digest an OCI layout's ``index.json`` names for ``tag``."""
    index = json.loads((layout / "index.json").read_text())
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return str(entry["digest"])
    raise AssertionError(f"{tag} not in {layout}/index.json: {index}")


def test_copy_in_and_out_inspect_list_delete(
    skopeo: Skopeo,
    docker_engine: DockerEngine,
    registry: LiveServer,
    http: httpx.Client,
    tmp_path: Path,
) -> None:
    repository = "skopeo/app"
    remote = f"docker://{registry.host}/{repository}"
    push, pull = "--dest-tls-verify=false", "--src-tls-verify=false"

    # a docker-archive made by `docker save`
    context = write_busybox_context(tmp_path / "ctx", cmd=["/bin/busybox", "echo", "via skopeo"])
    image_id = docker_engine.build(context, "skopeo-source:1")
    archive = tmp_path / "saved.tar"
    docker_engine.docker("save", "-o", archive, "skopeo-source:1")
    docker_engine.remove_images("skopeo-source:1")

    # copy in from the docker-archive
    skopeo("copy", "--quiet", push, f"docker-archive:{archive}", f"{remote}:archive")
    archive_digest = manifest_digest(http, repository, "archive")
    archive_manifest = http.get(f"/v2/{repository}/manifests/archive").json()
    assert archive_manifest["config"]["digest"] == image_id

    # copy in from an OCI layout (made locally from the same archive)
    layout = tmp_path / "layout-in"
    skopeo("copy", "--quiet", f"docker-archive:{archive}", f"oci:{layout}:app")
    layout_digest = _layout_digest(layout, "app")
    skopeo("copy", "--quiet", push, f"oci:{layout}:app", f"{remote}:oci")
    assert manifest_digest(http, repository, "oci") == layout_digest
    layout_manifest = (layout / "blobs" / "sha256" / layout_digest.split(":")[1]).read_bytes()
    assert http.get(f"/v2/{repository}/manifests/oci").content == layout_manifest
    oci_manifest = json.loads(layout_manifest)
    assert oci_manifest["mediaType"] == OCI_MANIFEST
    oci_config = oci_manifest["config"]["digest"]  # skopeo converted the config to OCI

    # copy out to an OCI layout: same manifest digest, same blobs
    out_layout = tmp_path / "layout-out"
    skopeo("copy", "--quiet", pull, f"{remote}:oci", f"oci:{out_layout}:app")
    assert _layout_digest(out_layout, "app") == layout_digest
    blobs_in = {p.name for p in (layout / "blobs" / "sha256").iterdir()}
    assert {p.name for p in (out_layout / "blobs" / "sha256").iterdir()} == blobs_in

    # copy out to a dir: the manifest bytes are the registry's, byte for byte
    directory = tmp_path / "dir-out"
    skopeo("copy", "--quiet", pull, f"{remote}:archive", f"dir:{directory}")
    assert sha256((directory / "manifest.json").read_bytes()) == archive_digest

    # copy out to a docker-archive; docker loads and runs it
    out_archive = tmp_path / "out.tar"
    skopeo(
        "copy", "--quiet", pull, f"{remote}:oci",
        f"docker-archive:{out_archive}:skopeo-roundtrip:1",
    )  # fmt: skip
    with tarfile.open(out_archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        (entry,) = json.load(member)
        config = tar.extractfile(entry["Config"])
        assert config is not None
        assert sha256(config.read()) == oci_config
    docker_engine.docker("load", "-i", out_archive)
    assert docker_engine.image_id("skopeo-roundtrip:1") == oci_config
    assert docker_engine.run_container("skopeo-roundtrip:1").strip() == "via skopeo"
    docker_engine.remove_images("skopeo-roundtrip:1")

    # skopeo inspect and list-tags
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", f"{remote}:archive"))
    assert inspected["Name"] == f"{registry.host}/{repository}"
    assert inspected["Digest"] == archive_digest
    assert sorted(inspected["RepoTags"]) == ["archive", "oci"]
    assert inspected["Os"] == "linux"
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"{remote}:oci")
    assert sha256(raw.encode()) == layout_digest
    listed = json.loads(skopeo("list-tags", "--tls-verify=false", remote))
    assert sorted(listed["Tags"]) == ["archive", "oci"]

    # skopeo delete removes the manifest (by digest) and so its tag
    skopeo("delete", "--tls-verify=false", f"{remote}:oci")
    assert http.get(f"/v2/{repository}/manifests/oci").status_code == 404
    assert http.get(f"/v2/{repository}/manifests/{layout_digest}").status_code == 404
    assert tags(http, repository) == ["archive"]
    listed = json.loads(skopeo("list-tags", "--tls-verify=false", remote))
    assert listed["Tags"] == ["archive"]
    assert manifest_digest(http, repository, "archive") == archive_digest

    # what is left still pulls with docker
    assert docker_engine.pull(f"{registry.host}/{repository}:archive") == archive_digest
    assert docker_engine.run_container(f"{registry.host}/{repository}:archive").strip() == (
        "via skopeo"
    )
    docker_engine.remove_images(f"{registry.host}/{repository}:archive")


def test_copy_between_repositories_and_by_digest(
    skopeo: Skopeo, busybox: None, registry: LiveServer, http: httpx.Client
) -> None:
    """Registry to registry, and images named by digest."""
    source = push_busybox_image(http, "skopeo/source", "1", ["/bin/busybox", "true"])
    src = f"docker://{registry.host}/skopeo/source@{source.digest}"
    dest = f"docker://{registry.host}/skopeo/copy:2"
    skopeo("copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false", src, dest)
    assert manifest_digest(http, "skopeo/copy", "2") == source.digest
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", src))
    assert inspected["Digest"] == source.digest
    assert inspected["RepoTags"] == ["1"]
