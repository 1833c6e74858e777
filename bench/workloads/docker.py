"""The real Docker engine pushing then pulling a 5-layer image of random data, wall time."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import RegistryClient
from bench.core import Bench, Measured, Metric, Workload, settle_disk
from bench.data import random_bytes
from bench.report import Target
from bench.servers import Server
from tests.support.docker_engine import DockerEngine, find_docker_tools

LOCAL_TAG = "dockyard-bench/image:built"
REPO = "dockyard-bench/image"


@dataclass
class DockerState:
    engine: DockerEngine
    #: The reference under which the image is present locally right now.
    local_ref: str = LOCAL_TAG
    build_seconds: float = 0.0
    layers: int = 0
    notes: list[str] = field(default_factory=list)


def write_context(directory: Path, layers: int, layer_size: int) -> Path:
    """``FROM scratch`` and one ``COPY`` (one layer) per file of random data."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["FROM scratch"]
    for number in range(layers):
        name = f"layer{number}.bin"
        (directory / name).write_bytes(random_bytes(layer_size, f"docker-layer-{number}"))
        lines.append(f"COPY {name} /{name}")
    (directory / "Dockerfile").write_text("\n".join(lines) + "\n")
    return directory


def _setup(bench: Bench) -> DockerState:
    dockerd, docker_cli = find_docker_tools()
    if dockerd is None or docker_cli is None:
        raise RuntimeError("dockerd and the docker CLI are needed (Debian package docker.io)")
    engine = DockerEngine(dockerd=dockerd, docker_cli=docker_cli)
    try:
        engine.start()
        state = DockerState(engine=engine, layers=bench.profile.docker_layers)
        context = write_context(
            bench.scratch("docker-context"),
            bench.profile.docker_layers,
            bench.profile.docker_layer_size,
        )
        started = time.perf_counter()
        engine.build(context, LOCAL_TAG)
        state.build_seconds = time.perf_counter() - started
    except BaseException:
        engine.stop()
        raise
    return state


def _teardown(state: DockerState) -> None:
    state.engine.stop()


def _measure(bench: Bench, server: Server, state: DockerState, number: int) -> Measured:
    """One round: push then pull; after the first round the image is deleted from the
    registry first (manifest and blobs), so every round uploads and downloads every layer.

    One round's wall time swings by 10-20% with whatever else the two cores do (the docker
    daemon's compression first of all): the figures are medians over ``docker_rounds`` rounds,
    the servers taking turns.
    """
    if number:
        _delete_image(server)
    push_seconds, pull_seconds, downloaded = _push_pull(server, state)
    return Measured(
        {"push_s": push_seconds, "pull_s": pull_seconds, "total_s": push_seconds + pull_seconds},
        {
            "layers": state.layers,
            "layer_mib": bench.profile.docker_layer_size / 1024 / 1024,
            "build_seconds": round(state.build_seconds, 2),
            "layers_pulled": downloaded,
            "push_pull_s": [round(push_seconds, 2), round(pull_seconds, 2)],
        },
    )


def _push_pull(server: Server, state: DockerState) -> tuple[float, float, int]:
    """One push then pull: their wall times and how many layers the pull downloaded."""
    engine = state.engine
    ref = f"{server.host}/{REPO}:1"
    engine.docker("tag", state.local_ref, ref)
    settle_disk()
    started = time.perf_counter()
    pushed = engine.docker("push", ref, timeout=600).stdout
    push_seconds = time.perf_counter() - started
    uploaded = len(re.findall(r": Pushed", pushed))
    if uploaded < state.layers:
        raise RuntimeError(f"docker push uploaded {uploaded} of {state.layers} layers:\n{pushed}")
    # Remove every local name of the image, so that the pull downloads all its layers.
    engine.remove_images(*dict.fromkeys((state.local_ref, ref)))
    settle_disk()
    started = time.perf_counter()
    out = engine.docker("pull", ref, timeout=600).stdout
    pull_seconds = time.perf_counter() - started
    state.local_ref = ref
    downloaded = len(re.findall(r"Pull complete", out))
    if downloaded < state.layers:
        raise RuntimeError(f"docker pull downloaded {downloaded} of {state.layers} layers")
    return push_seconds, pull_seconds, downloaded


def _delete_image(server: Server) -> None:
    """Delete the pushed image's manifest and the repository's links to its blobs."""
    with RegistryClient("127.0.0.1", server.port) as client:
        response = client.get_manifest(REPO, "1")
        digest = response.headers["docker-content-digest"]
        manifest = json.loads(response.body)
        client.request("DELETE", f"/v2/{REPO}/manifests/{digest}", expect=(202,))
        for blob in [manifest["config"], *manifest["layers"]]:
            client.request("DELETE", f"/v2/{REPO}/blobs/{blob['digest']}", expect=(202,))


WORKLOADS = (
    Workload(
        name="docker",
        help="real docker engine: push then pull a 5-layer ~200 MiB image, wall time",
        metrics=(
            Metric("push_s", "docker push ({layers} layers, {image})", "s"),
            Metric("pull_s", "docker pull ({layers} layers, {image})", "s"),
            Metric("total_s", "docker push + pull", "s", Target("<=", 1.0)),
        ),
        measure_round=_measure,
        rounds=lambda profile: profile.docker_rounds,
        setup=_setup,
        teardown=_teardown,
        note=(
            "docker: one private dockerd (vfs) for both servers; the image is built once; "
            "before each pull every local name of the image is removed; median of "
            "{rounds} rounds per server, the servers taking turns, the image deleted from the "
            "registry between rounds"
        ),
    ),
)
