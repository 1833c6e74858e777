"""``python -m bench``: start both servers, run the workloads, print the table, write JSON."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from bench.core import FULL, QUICK, Bench, run_workload
from bench.report import Row, format_table, write_json
from bench.servers import (
    DistributionServer,
    DockyardServer,
    Server,
    ServerError,
    distribution_binary,
)
from bench.workloads import WORKLOADS
from bench.wrk import wrk_binary

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "latest.json"

FSYNC_NOTE = (
    "fsync: Dockyard DOCKYARD_STORAGE__FSYNC={fsync} (fsync of blob data and directories before "
    "a blob appears); Distribution 2.8's filesystem driver fsyncs every file it commits (blob "
    "data, link files, manifests; not configurable)"
)


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM stops the run like Ctrl-C: through every ``finally``, servers stopped."""
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark Dockyard against the reference registry (Distribution 2.8), "
        "side by side on 127.0.0.1, in one run.",
        epilog="workloads: "
        + "; ".join(f"{name} ({workload.help})" for name, workload in WORKLOADS.items()),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and durations (a smoke run of every workload path, under a minute)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="WORKLOAD",
        help="run only these workloads (repeat or comma-separate)",
    )
    parser.add_argument(
        "--dockyard-workers", type=int, default=1, metavar="N", help="dockyard serve --workers N"
    )
    parser.add_argument(
        "--fsync",
        choices=("true", "false"),
        default="true",
        help="Dockyard's DOCKYARD_STORAGE__FSYNC (default true: Distribution fsyncs too)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"JSON results file (default {DEFAULT_OUTPUT.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--tmp-dir",
        type=Path,
        default=None,
        help="where the servers' temp dirs go (default: the system temp dir; use local disk)",
    )
    parser.add_argument("--keep-tmp", action="store_true", help="keep data dirs and logs")
    parser.add_argument(
        "--fail-on-target",
        action="store_true",
        help="exit 3 when a target is missed (default: exit 0 unless a workload failed)",
    )
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = parser.parse_args(argv)
    names = [name.strip() for item in args.only for name in item.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    args.workloads = [name for name in WORKLOADS if not names or name in names]
    if args.dockyard_workers < 1:
        parser.error("--dockyard-workers must be at least 1")
    return args


def remove_tree(path: Path) -> None:
    """Delete a temp dir; ``rm -rf`` is much faster than shutil on 10^5 small files."""
    with suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(
            ["rm", "-rf", "--one-file-system", "--", str(path)],
            timeout=1800,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    shutil.rmtree(path, ignore_errors=True)


def _version(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else ""
    )


def _filesystem(path: Path) -> str:
    """``fstype on device`` of the mount that holds ``path``."""
    best = ("", "unknown", "unknown")
    resolved = str(path.resolve())
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                device, target, fstype = line.split()[:3]
                if (resolved == target or resolved.startswith(target.rstrip("/") + "/")) and len(
                    target
                ) > len(best[0]):
                    best = (target, fstype, device)
    except OSError:
        pass
    return f"{best[1]} on {best[2]} (mounted at {best[0]})"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _meta(
    args: argparse.Namespace, bench: Bench, registry: str, loadavg_start: str
) -> dict[str, Any]:
    import dockyard

    git = _version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "profile": dataclasses.asdict(bench.profile),
        "workloads": args.workloads,
        "dockyard": {
            "version": dockyard.__version__,
            "git": git,
            "workers": bench.dockyard_workers,
            "fsync": bench.fsync,
            "command": "dockyard serve --host 127.0.0.1 --workers N (auth off, delete on)",
        },
        "distribution": {
            "version": _version([registry, "--version"]),
            "config": "filesystem driver, delete enabled, inmemory blobdescriptor cache, "
            "log level info (the Debian package's defaults, no auth)",
        },
        "fsync_policy": FSYNC_NOTE.format(fsync=str(bench.fsync).lower()),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_at_start": loadavg_start,
            "filesystem": _filesystem(bench.workdir),
            "wrk": _version(["wrk", "--version"]),
        },
    }


@contextmanager
def _servers(
    bench_root: Path, args: argparse.Namespace, registry: str
) -> Iterator[dict[str, Server]]:
    dockyard = DockyardServer(
        name="dockyard",
        root=bench_root / "dockyard",
        workers=args.dockyard_workers,
        fsync=args.fsync == "true",
    )
    distribution = DistributionServer(
        name="distribution", root=bench_root / "distribution", binary=registry
    )
    started: list[Server] = []
    try:
        candidates: tuple[Server, ...] = (dockyard, distribution)
        for server in candidates:
            server.start()
            started.append(server)
        yield {"dockyard": dockyard, "distribution": distribution}
    finally:
        for server in reversed(started):
            began = time.monotonic()
            server.stop()
            print(
                f"[bench] stopped {server.name} in {time.monotonic() - began:.1f}s",
                file=sys.stderr,
                flush=True,
            )


def run(args: argparse.Namespace) -> int:
    registry = distribution_binary()
    if registry is None:
        print("the reference registry is needed: apt-get install docker-registry", file=sys.stderr)
        return 2
    if wrk_binary() is None:
        print(
            "warning: wrk is missing (apt-get install wrk): its workloads will fail",
            file=sys.stderr,
        )
    profile = QUICK if args.quick else FULL
    base = args.tmp_dir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="dockyard-bench-", dir=base))
    rows: list[Row] = []
    bench: Bench | None = None
    meta: dict[str, Any] = {}
    loadavg_start = _loadavg()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    started = time.monotonic()
    try:
        with _servers(workdir, args, registry) as servers:
            bench = Bench(
                profile=profile,
                servers=servers,
                workdir=workdir,
                fsync=args.fsync == "true",
                dockyard_workers=args.dockyard_workers,
            )
            meta = _meta(args, bench, registry, loadavg_start)
            bench.log(
                f"{profile.name} run of {len(args.workloads)} workload(s); "
                f"dockyard {servers['dockyard'].url} (workers {args.dockyard_workers}), "
                f"distribution {servers['distribution'].url}; "
                f"data under {workdir}"
            )
            for name in args.workloads:
                rows.extend(run_workload(bench, WORKLOADS[name]))
                meta["details"] = bench.details
                meta["machine"]["loadavg_now"] = _loadavg()
                write_json(args.output, meta, rows)
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, partial results below", file=sys.stderr)
        meta["interrupted"] = True
    except ServerError as exc:
        print(f"could not start the servers: {exc}", file=sys.stderr)
        meta["error"] = str(exc)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if args.keep_tmp:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            print(f"[bench] removing {workdir}", file=sys.stderr, flush=True)
            remove_tree(workdir)
    meta.setdefault("machine", {})["loadavg_at_end"] = _loadavg()
    meta["seconds"] = round(time.monotonic() - started, 1)
    if bench is not None:
        meta["details"] = bench.details
        meta["notes"] = bench.notes
    write_json(args.output, meta, rows)
    print(_report(args, meta, rows, bench))
    if meta.get("error"):
        return 2
    if any(row.errors for row in rows) or meta.get("interrupted"):
        return 1
    if args.fail_on_target and any(row.passed is False for row in rows):
        return 3
    return 0


def _report(
    args: argparse.Namespace, meta: dict[str, Any], rows: list[Row], bench: Bench | None
) -> str:
    machine = meta.get("machine", {})
    lines = [
        f"Dockyard vs Distribution 2.8 — {'quick' if args.quick else 'full'} run, "
        f"{meta.get('seconds')} s, {machine.get('cpus')} CPUs, load average "
        f"{machine.get('loadavg_at_start')} at start, {machine.get('loadavg_at_end')} at end",
        f"dockyard workers: {args.dockyard_workers}; " + FSYNC_NOTE.format(fsync=args.fsync),
        f"disk: {machine.get('filesystem', 'unknown')}",
        "ratio = Dockyard / Distribution (times: lower is better; rates: higher is better)",
        "",
        format_table(rows),
    ]
    if bench is not None:
        labels = bench.labels()
        notes = dict.fromkeys(
            WORKLOADS[name].note.format(**labels) for name in args.workloads if WORKLOADS[name].note
        )
        if notes:
            lines.append("")
            lines.extend(f"- {note}" for note in notes)
        if bench.notes:
            lines.append("")
            lines.extend(f"! {note}" for note in bench.notes)
    lines.append("")
    lines.append(f"results: {args.output}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, workload in WORKLOADS.items():
            print(f"{name:20} {workload.help}")
        return 0
    return run(args)
