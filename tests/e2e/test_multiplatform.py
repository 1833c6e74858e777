"""A multi-platform index made with ``docker manifest``, pulled back with docker and skopeo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.docker_engine import DockerEngine, docker_clis, write_busybox_context
from tests.support.images import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    host_architecture,
    manifest_digest,
    sha256,
)
from tests.support.servers import LiveServer
from tests.support.tools import run, which

pytestmark = [
    pytest.mark.realclient,
    pytest.mark.skipif(
        host_architecture() != "amd64", reason="docker pulls the amd64 entry of these indexes"
    ),
]


def _platforms(index: dict[str, object]) -> set[tuple[str, str]]:
    manifests = index["manifests"]
    assert isinstance(manifests, list)
    return {(m["platform"]["os"], m["platform"]["architecture"]) for m in manifests}


@pytest.mark.parametrize("cli", docker_clis() or ["docker"])
def test_docker_manifest_list_push_pull_and_inspect(
    cli: str,
    docker_engine: DockerEngine,
    registry: LiveServer,
    http: httpx.Client,
    tmp_path: Path,
) -> None:
    """``docker manifest`` runs in the CLI, so each docker CLI on the machine gets a turn."""
    skopeo = which("skopeo")
    require_tool(skopeo is not None, "skopeo (Debian package skopeo)")
    docker = docker_engine
    repository = "multi/" + re.sub(r"[^a-z0-9]+", "-", cli.lower()).strip("-")
    remote = f"{registry.host}/{repository}"

    # two single-platform images; the second one is annotated as linux/arm64 in the list
    amd = write_busybox_context(tmp_path / "amd", cmd=["/bin/busybox", "echo", "amd64 image"])
    arm = write_busybox_context(tmp_path / "arm", cmd=["/bin/busybox", "echo", "arm64 image"])
    docker.build(amd, f"{remote}:amd64")
    docker.build(arm, f"{remote}:arm64")
    amd_digest = docker.push(f"{remote}:amd64")
    arm_digest = docker.push(f"{remote}:arm64")

    # docker manifest create/annotate/push (plain HTTP needs --insecure for the CLI)
    docker.docker(
        "manifest", "create", "--insecure",
        f"{remote}:latest", f"{remote}:amd64", f"{remote}:arm64", cli=cli,
    )  # fmt: skip
    docker.docker(
        "manifest", "annotate", "--arch", "arm64", "--variant", "v8",
        f"{remote}:latest", f"{remote}:arm64", cli=cli,
    )  # fmt: skip
    out = docker.docker(
        "manifest", "push", "--purge", "--insecure", f"{remote}:latest", cli=cli
    ).stdout
    index_digest = manifest_digest(http, repository, "latest")
    assert index_digest in out

    got = http.get(f"/v2/{repository}/manifests/latest", headers={"Accept": DOCKER_MANIFEST_LIST})
    assert got.headers["Content-Type"] == DOCKER_MANIFEST_LIST
    index = got.json()
    assert _platforms(index) == {("linux", "amd64"), ("linux", "arm64")}
    assert {m["digest"] for m in index["manifests"]} == {amd_digest, arm_digest}

    # docker manifest inspect reads the list from the registry
    inspected = json.loads(
        docker.docker("manifest", "inspect", "--insecure", f"{remote}:latest", cli=cli).stdout
    )
    assert inspected["mediaType"] == DOCKER_MANIFEST_LIST
    assert _platforms(inspected) == {("linux", "amd64"), ("linux", "arm64")}

    # skopeo sees the same raw bytes
    raw = run(
        [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{remote}:latest"]
    ).stdout
    assert sha256(raw.encode()) == index_digest

    # docker pull by the index tag picks this machine's (amd64) entry and runs it
    docker.remove_images(f"{remote}:amd64", f"{remote}:arm64")
    assert docker.pull(f"{remote}:latest") == index_digest
    assert docker.run_container(f"{remote}:latest").strip() == "amd64 image"
    docker.remove_images(f"{remote}:latest")

    # a client that does not accept lists gets the linux/amd64 manifest
    fallback = http.get(f"/v2/{repository}/manifests/latest", headers={"Accept": DOCKER_MANIFEST})
    assert fallback.headers["Docker-Content-Digest"] == amd_digest


def test_oci_index_through_skopeo_copy_all(
    docker_engine: DockerEngine, registry: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    skopeo = which("skopeo")
    require_tool(skopeo is not None, "skopeo (Debian package skopeo)")
    docker = docker_engine
    remote = f"{registry.host}/multi/source"

    # a Docker manifest list in the registry, as in the test above
    for arch in ("amd64", "arm64"):
        context = write_busybox_context(tmp_path / arch, cmd=["/bin/busybox", "echo", arch])
        docker.build(context, f"{remote}:{arch}")
        docker.push(f"{remote}:{arch}")
    docker.docker(
        "manifest", "create", "--insecure", f"{remote}:list", f"{remote}:amd64", f"{remote}:arm64"
    )
    docker.docker(
        "manifest", "annotate", "--arch", "arm64", f"{remote}:list", f"{remote}:arm64"
    )  # fmt: skip
    docker.docker("manifest", "push", "--purge", "--insecure", f"{remote}:list")
    docker.remove_images(f"{remote}:amd64", f"{remote}:arm64")

    # skopeo copy --all converts it to an OCI index in an oci layout, then pushes that index
    layout = tmp_path / "layout"
    skopeo_copy = [skopeo, "--insecure-policy", "copy", "--all", "--quiet"]
    run([*skopeo_copy, "--src-tls-verify=false", f"docker://{remote}:list", f"oci:{layout}:idx"])
    layout_index = json.loads((layout / "index.json").read_text())["manifests"][0]
    assert layout_index["mediaType"] == OCI_INDEX
    oci_remote = f"{registry.host}/multi/oci"
    run(
        [*skopeo_copy, "--dest-tls-verify=false", f"oci:{layout}:idx", f"docker://{oci_remote}:idx"]
    )

    got = http.get("/v2/multi/oci/manifests/idx", headers={"Accept": OCI_INDEX})
    assert got.headers["Content-Type"] == OCI_INDEX
    assert got.headers["Docker-Content-Digest"] == layout_index["digest"]
    index = got.json()
    assert _platforms(index) == {("linux", "amd64"), ("linux", "arm64")}
    for child in index["manifests"]:
        assert child["mediaType"] == OCI_MANIFEST
        assert manifest_digest(http, "multi/oci", child["digest"]) == child["digest"]

    raw = run(
        [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{oci_remote}:idx"]
    ).stdout
    assert sha256(raw.encode()) == layout_index["digest"]

    # docker pulls the OCI index and runs the amd64 image
    assert docker.pull(f"{oci_remote}:idx") == layout_index["digest"]
    assert docker.run_container(f"{oci_remote}:idx").strip() == "amd64"
    docker.remove_images(f"{oci_remote}:idx")
