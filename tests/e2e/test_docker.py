"""The guide's walkthrough with the real Docker CLI and engine: build, tag, push, pull, run."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest

from tests.support.docker_engine import DockerEngine, write_busybox_context
from tests.support.images import DOCKER_MANIFEST, manifest_digest, tags
from tests.support.servers import LiveServer

pytestmark = pytest.mark.realclient


def test_build_push_pull_run_and_build_on_top(
    docker_engine: DockerEngine, registry: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    docker = docker_engine
    repository = "yourusername/my-docker-image"
    remote = f"{registry.host}/{repository}"

    # docker build + docker tag, as the guide says
    context = write_busybox_context(
        tmp_path / "v1", cmd=["/bin/busybox", "echo", "hello from dockyard"]
    )
    image_id = docker.build(context, "my-docker-image")
    docker.docker("tag", "my-docker-image", f"{remote}:v1")

    # docker push: the digest docker prints is the one the registry serves
    pushed_v1 = docker.push(f"{remote}:v1")
    assert manifest_digest(http, repository, "v1") == pushed_v1
    head = http.head(f"/v2/{repository}/manifests/v1", headers={"Accept": DOCKER_MANIFEST})
    assert head.status_code == 200
    assert head.headers["Docker-Content-Digest"] == pushed_v1
    assert head.headers["Content-Type"] == DOCKER_MANIFEST
    assert tags(http, repository) == ["v1"]

    # remove it locally, pull it back, run it
    docker.remove_images("my-docker-image", f"{remote}:v1")
    assert docker.pull(f"{remote}:v1") == pushed_v1
    assert docker.image_id(f"{remote}:v1") == image_id
    assert docker.run_container(f"{remote}:v1").strip() == "hello from dockyard"

    # by digest too, and `docker manifest inspect` reads the same manifest
    docker.remove_images(f"{remote}:v1")
    assert docker.pull(f"{remote}@{pushed_v1}") == pushed_v1
    assert docker.image_id(f"{remote}@{pushed_v1}") == image_id
    inspected = json.loads(
        docker.docker("manifest", "inspect", "--insecure", f"{remote}:v1").stdout
    )
    assert inspected["config"]["digest"] == image_id

    # a second image FROM the pushed one; the base is gone locally, so the build pulls it
    docker.remove_images(f"{remote}@{pushed_v1}")
    assert docker.docker("image", "inspect", f"{remote}:v1", check=False).returncode != 0
    context = write_busybox_context(
        tmp_path / "v2",
        base=f"{remote}:v1",
        files={"greeting.txt": "built on top of v1\n"},
        cmd=["/bin/busybox", "cat", "/greeting.txt"],
    )
    docker.build(context, f"{remote}:v2")
    push_v2 = docker.docker("push", f"{remote}:v2", timeout=300).stdout
    assert "Layer already exists" in push_v2, push_v2
    pushed_v2 = manifest_digest(http, repository, "v2")
    assert f"v2: digest: {pushed_v2}" in push_v2
    assert pushed_v2 != pushed_v1
    assert tags(http, repository) == ["v1", "v2"]

    docker.remove_images(f"{remote}:v1", f"{remote}:v2")
    assert docker.pull(f"{remote}:v2") == pushed_v2
    assert docker.run_container(f"{remote}:v2") == "built on top of v1\n"
    assert docker.run_container(f"{remote}:v2", "/bin/busybox", "echo", "ok").strip() == "ok"
    docker.remove_images(f"{remote}:v2")


def test_push_to_second_repository_mounts_the_layer(
    docker_engine: DockerEngine, registry: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    docker = docker_engine
    source, target = f"{registry.host}/mount/source", f"{registry.host}/mount/target"
    context = write_busybox_context(tmp_path / "ctx", cmd=["/bin/busybox", "echo", "mounted"])
    docker.build(context, f"{source}:1")
    digest = docker.push(f"{source}:1")

    docker.docker("tag", f"{source}:1", f"{target}:1")
    out = docker.docker("push", f"{target}:1", timeout=300).stdout
    assert "Mounted from mount/source" in out, out
    assert f"1: digest: {digest}" in out
    assert manifest_digest(http, "mount/target", "1") == digest

    docker.remove_images(f"{source}:1", f"{target}:1")
    assert docker.pull(f"{target}:1") == digest
    assert docker.run_container(f"{target}:1").strip() == "mounted"
    docker.remove_images(f"{target}:1")

    catalog = http.get("/v2/_catalog").json()["repositories"]
    assert {"mount/source", "mount/target"} <= set(catalog)


def test_retag_and_unknown_tag(
    docker_engine: DockerEngine, registry: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    docker = docker_engine
    remote = f"{registry.host}/retag/app"
    first = write_busybox_context(tmp_path / "a", cmd=["/bin/busybox", "echo", "first"])
    second = write_busybox_context(tmp_path / "b", cmd=["/bin/busybox", "echo", "second"])
    docker.build(first, f"{remote}:moving")
    first_digest = docker.push(f"{remote}:moving")
    docker.build(second, f"{remote}:moving")
    second_digest = docker.push(f"{remote}:moving")
    assert first_digest != second_digest
    assert manifest_digest(http, "retag/app", "moving") == second_digest
    assert tags(http, "retag/app") == ["moving"]

    # the tag moved; the first manifest is still there by digest
    docker.remove_images(f"{remote}:moving")
    docker.docker("image", "prune", "--force")
    assert docker.pull(f"{remote}:moving") == second_digest
    assert docker.run_container(f"{remote}:moving").strip() == "second"
    assert docker.pull(f"{remote}@{first_digest}") == first_digest
    assert docker.run_container(f"{remote}@{first_digest}").strip() == "first"
    docker.remove_images(f"{remote}:moving", f"{remote}@{first_digest}")

    missing = docker.docker("pull", f"{remote}:no-such-tag", check=False)
    assert missing.returncode != 0
    assert "manifest unknown" in missing.stderr, missing.stderr
    missing = docker.docker("pull", f"{registry.host}/retag/no-such-repo:1", check=False)
    assert missing.returncode != 0
    assert "not found" in missing.stderr, missing.stderr


def test_large_layer_round_trip(
    docker_engine: DockerEngine, registry: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    """A 12 MiB incompressible layer survives push and pull bit for bit."""
    docker = docker_engine
    remote = f"{registry.host}/large/app:1"
    payload = os.urandom(12 * 1024 * 1024)
    context = write_busybox_context(tmp_path / "ctx", cmd=["/bin/busybox", "true"])
    (context / "payload.bin").write_bytes(payload)
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "COPY payload.bin /payload.bin\n")
    docker.build(context, remote)
    digest = docker.push(remote)

    manifest = http.get("/v2/large/app/manifests/1", headers={"Accept": DOCKER_MANIFEST}).json()
    biggest = max(manifest["layers"], key=lambda layer: layer["size"])
    assert biggest["size"] > len(payload)
    blob = http.get(f"/v2/large/app/blobs/{biggest['digest']}")
    assert blob.status_code == 200
    assert len(blob.content) == biggest["size"]
    assert "sha256:" + hashlib.sha256(blob.content).hexdigest() == biggest["digest"]

    docker.remove_images(remote)
    assert docker.pull(remote) == digest
    out = docker.run_container(remote, "/bin/busybox", "sha256sum", "/payload.bin")
    assert out.split()[0] == hashlib.sha256(payload).hexdigest()
    docker.remove_images(remote)
