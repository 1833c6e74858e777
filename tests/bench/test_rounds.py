"""Workloads measured in rounds: the servers take turns and each figure is the median."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from bench.core import QUICK, Bench, Measured, Metric, RoundMeasure, Workload, run_workload
from bench.servers import Server


class _FakeServer:
    def __init__(self, name: str) -> None:
        self.name = name


def _bench(tmp_path: Path) -> Bench:
    servers = {name: cast(Server, _FakeServer(name)) for name in ("dockyard", "distribution")}
    return Bench(profile=QUICK, servers=servers, workdir=tmp_path, fsync=True, dockyard_workers=1)


def _three_rounds(measure: RoundMeasure) -> Workload:
    """A workload of one metric, ``rate``, measured in three rounds (setup gives "state")."""
    return Workload(
        name="w",
        help="",
        metrics=(Metric("rate", "rate", "x"),),
        measure_round=measure,
        rounds=lambda _: 3,
        setup=lambda _: "state",
    )


def test_servers_take_turns_and_figures_are_medians(tmp_path: Path) -> None:
    calls: list[tuple[str, int]] = []
    rates = {"dockyard": [30.0, 10.0, 20.0], "distribution": [1.0, 5.0, 3.0]}

    def measure(bench: Bench, server: Server, state: Any, number: int) -> Measured:
        calls.append((server.name, number))
        assert state == "state"
        return Measured({"rate": rates[server.name][number]}, {"n": number}, [f"r{number}"])

    bench = _bench(tmp_path)
    (row,) = run_workload(bench, _three_rounds(measure))
    assert calls == [
        ("dockyard", 0),
        ("distribution", 0),
        ("distribution", 1),
        ("dockyard", 1),
        ("dockyard", 2),
        ("distribution", 2),
    ]
    assert (row.dockyard, row.distribution) == (20.0, 3.0)
    details = bench.details["w"]["dockyard"]
    assert details["rounds"] == 3
    assert [d["n"] for d in details["round_details"]] == [0, 1, 2]
    assert bench.notes.count("w [dockyard]: r1") == 1


def test_a_failed_round_stops_that_server_only(tmp_path: Path) -> None:
    calls: list[tuple[str, int]] = []

    def measure(bench: Bench, server: Server, state: Any, number: int) -> Measured:
        calls.append((server.name, number))
        if server.name == "distribution" and number == 1:
            raise RuntimeError("boom")
        return Measured({"rate": 1.0 + number})

    bench = _bench(tmp_path)
    (row,) = run_workload(bench, _three_rounds(measure))
    assert ("distribution", 2) not in calls
    assert ("dockyard", 2) in calls
    assert row.dockyard == 2.0
    assert "boom" in row.errors["distribution"]
    assert row.distribution is None


def test_a_workload_takes_one_way_of_measuring() -> None:
    def whole(bench: Bench, server: Server, state: Any) -> Measured:
        return Measured({})

    with pytest.raises(ValueError, match="exactly one"):
        Workload(name="w", help="", metrics=())
    with pytest.raises(ValueError, match="exactly one"):
        Workload(
            name="w",
            help="",
            metrics=(),
            measure=whole,
            measure_round=lambda bench, server, state, number: Measured({}),
        )
