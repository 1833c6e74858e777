"""The benchmark harness (``bench/``) in quick mode: it runs and reports both servers.

No timing is asserted: figures on a shared machine are noise. What is checked is that the harness
starts Dockyard and the reference registry, drives the same workloads against both, prints its
table and writes JSON with a figure for each server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import Row, Target, format_table
from bench.servers import distribution_binary
from bench.wrk import parse_wrk, wrk_binary
from tests.conftest import require_tool

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ("push-chunked", "manifest-get", "tags-list")


def test_quick_run_reports_both_servers(tmp_path: Path) -> None:
    require_tool(distribution_binary() is not None, "docker-registry (Debian package)")
    require_tool(wrk_binary() is not None, "wrk (Debian package)")
    output = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--only",
            ",".join(WORKLOADS),
            "--output",
            str(output),
            "--tmp-dir",
            str(tmp_path / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    document = json.loads(output.read_text())
    rows = document["rows"]
    assert {row["workload"] for row in rows} == set(WORKLOADS)
    for row in rows:
        assert row["errors"] == {}, row
        assert row["dockyard"] is not None, row
        assert row["dockyard"] > 0, row
        assert row["distribution"] is not None, row
        assert row["distribution"] > 0, row
    assert document["meta"]["fsync_policy"]
    details = document["meta"]["details"]
    for workload in WORKLOADS:
        assert set(details[workload]) == {"dockyard", "distribution"}
    assert "Dockyard" in done.stdout
    assert "Distribution" in done.stdout
    for row in rows:
        assert row["name"] in done.stdout
    # Every temp dir and server is gone: only the two result files remain.
    assert not any((tmp_path / "work").iterdir())


WRK_OUTPUT = "\n".join(
    [
        "Running 2s test @ http://127.0.0.1:15102/v2/t/r/manifests/a",
        "  2 threads and 64 connections",
        "  Thread Stats   Avg      Stdev     Max   +/- Stdev",
        "    Latency    78.20ms  152.05ms 940.82ms   88.05%",
        "    Req/Sec     1.27k     0.92k    2.80k    53.85%",
        "  Latency Distribution",
        "     50%  850.00us",
        "     75%   49.54ms",
        "     90%  282.11ms",
        "     99%    1.20s ",  # wrk pads seconds with a trailing space
        "  4988 requests in 2.01s, 2.88MB read",
        "  Socket errors: connect 0, read 1, write 0, timeout 3",
        "Requests/sec:   2476.41",
        "Transfer/sec:      1.43MB",
        "",
    ]
)


def test_wrk_report_is_parsed() -> None:
    result = parse_wrk(WRK_OUTPUT)
    assert result.requests == 4988
    assert result.requests_per_sec == pytest.approx(2476.41)
    assert result.p50_ms == pytest.approx(0.85)
    assert result.p99_ms == pytest.approx(1200.0)
    assert result.latency_ms["75%"] == pytest.approx(49.54)
    assert result.socket_errors == {"connect": 0, "read": 1, "write": 0, "timeout": 3}
    assert result.transfer_per_sec == pytest.approx(1.43 * 1024 * 1024)


def test_table_shows_ratio_target_and_result() -> None:
    rows = [
        Row("w", "rate", "req/s", dockyard=300.0, distribution=100.0, target=Target(">=", 2.0)),
        Row("w", "time", "ms", dockyard=30.0, distribution=10.0, target=Target("<=", 1.0)),
        Row("w", "auth", "req/s", dockyard=90.0, reference=100.0, target=Target(">=", 0.8)),
        Row("w", "broken", "MiB/s", dockyard=5.0, errors={"distribution": "boom"}),
    ]
    assert [row.passed for row in rows] == [True, False, True, None]
    table = format_table(rows)
    assert "3.00x" in table
    assert "pass" in table
    assert "FAIL" in table
    assert "0.90x*" in table
    assert "n/a" in table
    assert "ERROR" in table
    assert "boom" in table
