"""What a workload is, the sizes of a full and a quick run, the state shared by one run."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data import MIB
from bench.report import SERVERS, Row, Target
from bench.servers import Server


@dataclass(frozen=True)
class Profile:
    """Sizes, counts and durations of one run."""

    name: str
    blob_size: int
    chunk_size: int
    push_repeats: int
    get_repeats: int
    range_size: int
    range_connections: int
    range_seconds: float
    manifest_puts: int
    manifest_put_seconds: float
    wrk_connections: int
    wrk_seconds: float
    list_tags: int
    list_repos: int
    list_repeats: int
    page_size: int
    ui_tags: int
    ui_requests: int
    populate_concurrency: int
    populate_seconds: float
    concurrent_clients: int
    concurrent_blob_size: int
    docker_layers: int
    docker_layer_size: int
    docker_rounds: int
    rss_upload_size: int


FULL = Profile(
    name="full",
    blob_size=256 * MIB,
    chunk_size=8 * MIB,
    push_repeats=3,
    get_repeats=15,
    range_size=1 * MIB,
    range_connections=8,
    range_seconds=10,
    manifest_puts=1000,
    manifest_put_seconds=20,
    wrk_connections=64,
    wrk_seconds=10,
    list_tags=10_000,
    list_repos=10_000,
    list_repeats=20,
    page_size=100,
    ui_tags=1000,
    ui_requests=50,
    populate_concurrency=16,
    populate_seconds=1200,
    concurrent_clients=50,
    concurrent_blob_size=10 * MIB,
    docker_layers=5,
    docker_layer_size=40 * MIB,
    docker_rounds=3,
    rss_upload_size=2048 * MIB,
)

QUICK = Profile(
    name="quick",
    blob_size=16 * MIB,
    chunk_size=4 * MIB,
    push_repeats=1,
    get_repeats=2,
    range_size=256 * 1024,
    range_connections=4,
    range_seconds=1,
    manifest_puts=30,
    manifest_put_seconds=10,
    wrk_connections=64,
    wrk_seconds=1,
    list_tags=120,
    list_repos=60,
    list_repeats=3,
    page_size=50,
    ui_tags=60,
    ui_requests=5,
    populate_concurrency=8,
    populate_seconds=60,
    concurrent_clients=50,
    concurrent_blob_size=256 * 1024,
    docker_layers=5,
    docker_layer_size=256 * 1024,
    docker_rounds=2,
    rss_upload_size=64 * MIB,
)


@dataclass
class Measured:
    """One server's figures for a workload (by metric key) and whatever else is worth keeping."""

    figures: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)
    #: Remarks worth printing under the table.
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    unit: str
    target: Target | None = None
    #: Compare Dockyard with its own figure under this key instead of Distribution's.
    reference_key: str | None = None
    reference_label: str = ""
    #: False where a ratio means nothing (e.g. error counts).
    ratio: bool = True


def size_label(size: int) -> str:
    """``256 MiB``, ``2 GiB``, ``256 KiB``."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


@dataclass
class Bench:
    """The state of one run: profile, servers, where temp files go, what was measured."""

    profile: Profile
    servers: dict[str, Server]
    workdir: Path
    fsync: bool
    dockyard_workers: int
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Test data shared by workloads (made once per run).
    cache: dict[str, Any] = field(default_factory=dict)
    #: Remarks printed under the table (e.g. a server that ignored a page size).
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def log(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[bench {elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)

    def labels(self) -> dict[str, str]:
        """Sizes of this run, for metric names (``"blob push {blob}"``)."""
        profile = self.profile
        return {
            "blob": size_label(profile.blob_size),
            "chunk": size_label(profile.chunk_size),
            "range": size_label(profile.range_size),
            "rss": size_label(profile.rss_upload_size),
            "cblob": size_label(profile.concurrent_blob_size),
            "clients": str(profile.concurrent_clients),
            "conns": str(profile.wrk_connections),
            "tags": f"{profile.list_tags:,}",
            "repos": f"{profile.list_repos:,}",
            "page": str(profile.page_size),
            "uitags": f"{profile.ui_tags:,}",
            "uireqs": str(profile.ui_requests),
            "populate": str(profile.populate_concurrency),
            "layers": str(profile.docker_layers),
            "rounds": str(profile.docker_rounds),
            "image": size_label(profile.docker_layers * profile.docker_layer_size),
        }

    def scratch(self, name: str) -> Path:
        path = self.workdir / "scratch" / name
        path.mkdir(parents=True, exist_ok=True)
        return path


Measure = Callable[[Bench, Server, Any], Measured]


@dataclass(frozen=True)
class Workload:
    name: str
    help: str
    metrics: tuple[Metric, ...]
    measure: Measure
    servers: tuple[str, ...] = SERVERS
    #: Runs once before the servers are measured (its value is passed to ``measure``).
    setup: Callable[[Bench], Any] | None = None
    teardown: Callable[[Any], None] | None = None
    #: Notes printed under the table (e.g. how each server was driven).
    note: str = ""


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= 600 else text[:600] + "..."


def settle_disk() -> None:
    """Write out every dirty page now, so that a measurement does not pay for the writeback
    of data the previous one (the other server's, often) left in the page cache."""
    os.sync()


def run_workload(bench: Bench, workload: Workload) -> list[Row]:
    """Measure ``workload`` on each of its servers in turn; errors become row errors."""
    labels = bench.labels()
    rows = [
        Row(
            workload=workload.name,
            name=metric.name.format(**labels),
            unit=metric.unit,
            target=metric.target,
            reference_label=metric.reference_label,
            show_ratio=metric.ratio,
            note=workload.note,
        )
        for metric in workload.metrics
    ]
    details: dict[str, Any] = {}
    bench.details[workload.name] = details
    state: Any = None
    try:
        if workload.setup is not None:
            bench.log(f"{workload.name}: setup")
            state = workload.setup(bench)
    except Exception as exc:
        bench.log(f"{workload.name}: setup failed: {_error_text(exc)}")
        for row in rows:
            for server_name in workload.servers:
                row.errors[server_name] = f"setup: {_error_text(exc)}"
        details["setup_error"] = _error_text(exc)
        return rows
    try:
        for server_name in workload.servers:
            server = bench.servers[server_name]
            bench.log(f"{workload.name}: {server_name}")
            settle_disk()
            started = time.monotonic()
            try:
                measured = workload.measure(bench, server, state)
            except Exception as exc:
                bench.log(f"{workload.name}: {server_name} failed: {_error_text(exc)}")
                for row in rows:
                    row.errors[server_name] = _error_text(exc)
                details[server_name] = {"error": _error_text(exc)}
                continue
            measured.details["wall_seconds"] = round(time.monotonic() - started, 3)
            bench.notes.extend(
                f"{workload.name} [{server_name}]: {note}" for note in measured.notes
            )
            details[server_name] = measured.details
            for metric, row in zip(workload.metrics, rows, strict=True):
                row.set(server_name, measured.figures.get(metric.key))
                if metric.reference_key and server_name == "dockyard":
                    row.reference = measured.figures.get(metric.reference_key)
    finally:
        if workload.teardown is not None and state is not None:
            try:
                workload.teardown(state)
            except Exception as exc:
                bench.log(f"{workload.name}: teardown failed: {_error_text(exc)}")
    return rows
