"""What a workload is, the sizes of a full and a quick run, the state shared by one run."""

from __future__ import annotations

import os
import statistics
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
    #: Rounds of the push workloads (one push per server each).
    push_rounds: int
    #: Rounds of the blob GET workload, and GETs per server in each.
    get_rounds: int
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
    push_rounds=3,
    get_rounds=5,
    get_repeats=3,
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
    push_rounds=1,
    get_rounds=2,
    get_repeats=1,
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
#: Measures round ``number`` (from 0) of a workload measured in rounds on one server.
RoundMeasure = Callable[[Bench, Server, Any, int], Measured]


@dataclass(frozen=True)
class Workload:
    name: str
    help: str
    metrics: tuple[Metric, ...]
    #: Measures the workload on one server at a time (all of it, then the next server) ...
    measure: Measure | None = None
    #: ... or in rounds, the servers taking turns (A B, B A, A B, ...), so that a slow spell of
    #: the machine (its disk above all) falls on both; each figure is the median over rounds.
    measure_round: RoundMeasure | None = None
    rounds: Callable[[Profile], int] = lambda _: 1
    servers: tuple[str, ...] = SERVERS
    #: Runs once before the servers are measured (its value is passed to ``measure``).
    setup: Callable[[Bench], Any] | None = None
    teardown: Callable[[Any], None] | None = None
    #: Notes printed under the table (e.g. how each server was driven).
    note: str = ""

    def __post_init__(self) -> None:
        if (self.measure is None) == (self.measure_round is None):
            raise ValueError(f"workload {self.name}: give exactly one of measure, measure_round")


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= 600 else text[:600] + "..."


def settle_disk() -> None:
    """Write out every dirty page now, so that a measurement does not pay for the writeback
    of data the previous one (the other server's, often) left in the page cache."""
    os.sync()


def run_workload(bench: Bench, workload: Workload) -> list[Row]:
    """Measure ``workload`` on each of its servers (in turn or in rounds); errors become row
    errors."""
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
        if workload.measure_round is not None:
            results = _measure_in_rounds(bench, workload, workload.measure_round, state)
        else:
            results = _measure_in_turn(bench, workload, state)
        for server_name, result in results.items():
            if isinstance(result, str):
                for row in rows:
                    row.errors[server_name] = result
                details[server_name] = {"error": result}
                continue
            bench.notes.extend(f"{workload.name} [{server_name}]: {note}" for note in result.notes)
            details[server_name] = result.details
            for metric, row in zip(workload.metrics, rows, strict=True):
                row.set(server_name, result.figures.get(metric.key))
                if metric.reference_key and server_name == "dockyard":
                    row.reference = result.figures.get(metric.reference_key)
    finally:
        if workload.teardown is not None and state is not None:
            try:
                workload.teardown(state)
            except Exception as exc:
                bench.log(f"{workload.name}: teardown failed: {_error_text(exc)}")
    return rows


def _measure_once(
    bench: Bench,
    workload: Workload,
    server_name: str,
    measure: RoundMeasure,
    state: Any,
    number: int,
) -> Measured | str:
    """One measurement on one server after the disk settled: its result or its error text."""
    server = bench.servers[server_name]
    settle_disk()
    started = time.monotonic()
    try:
        measured = measure(bench, server, state, number)
    except Exception as exc:
        bench.log(f"{workload.name}: {server_name} failed: {_error_text(exc)}")
        return _error_text(exc)
    measured.details["wall_seconds"] = round(time.monotonic() - started, 3)
    return measured


def _measure_in_turn(bench: Bench, workload: Workload, state: Any) -> dict[str, Measured | str]:
    measure = workload.measure
    assert measure is not None

    def whole(bench: Bench, server: Server, state: Any, _: int) -> Measured:
        return measure(bench, server, state)

    results: dict[str, Measured | str] = {}
    for server_name in workload.servers:
        bench.log(f"{workload.name}: {server_name}")
        results[server_name] = _measure_once(bench, workload, server_name, whole, state, 0)
    return results


def _measure_in_rounds(
    bench: Bench, workload: Workload, measure: RoundMeasure, state: Any
) -> dict[str, Measured | str]:
    """Every round on every server, the order of the servers reversed each round; per figure
    the median over the rounds. A server that fails a round is not measured further."""
    count = max(1, workload.rounds(bench.profile))
    done: dict[str, list[Measured]] = {name: [] for name in workload.servers}
    failed: dict[str, str] = {}
    for number in range(count):
        order = workload.servers if number % 2 == 0 else tuple(reversed(workload.servers))
        for server_name in order:
            if server_name in failed:
                continue
            bench.log(f"{workload.name}: {server_name}, round {number + 1} of {count}")
            result = _measure_once(bench, workload, server_name, measure, state, number)
            if isinstance(result, str):
                failed[server_name] = result
            else:
                done[server_name].append(result)
    results: dict[str, Measured | str] = dict(failed)
    for server_name, measured in done.items():
        if server_name not in failed:
            results[server_name] = combine_rounds(measured)
    return results


def combine_rounds(rounds: list[Measured]) -> Measured:
    """Per figure the median over ``rounds``; each round's details kept in order."""
    keys = [key for key in rounds[0].figures if all(key in r.figures for r in rounds)]
    return Measured(
        {key: statistics.median(r.figures[key] for r in rounds) for key in keys},
        {
            "rounds": len(rounds),
            "round_details": [r.details for r in rounds],
            "wall_seconds": round(sum(r.details.get("wall_seconds", 0.0) for r in rounds), 3),
        },
        [note for r in rounds for note in r.notes],
    )
