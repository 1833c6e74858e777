"""Processes: a free port, stopping by PID, the memory of a process tree from ``/proc``."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1024 * 1024


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (all threads' children)."""
    found: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        tasks = list(task_dir.iterdir())
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError, ValueError):
            found.extend(int(part) for part in (task / "children").read_text().split())
    return found


def process_tree(pid: int, limit: int = 256) -> list[int]:
    """``pid`` and its descendants (bounded)."""
    tree = [pid]
    index = 0
    while index < len(tree) and len(tree) < limit:
        tree.extend(child for child in children(tree[index]) if child not in tree)
        index += 1
    return tree


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def reset_peak(pid: int) -> None:
    """Reset VmHWM of ``pid``'s tree to the current RSS (``clear_refs`` 5), where allowed."""
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            Path(f"/proc/{member}/clear_refs").write_text("5")


def tree_memory(pid: int) -> tuple[float, float, dict[int, float]]:
    """(sum of VmRSS, sum of VmHWM, VmHWM of each member) of ``pid``'s tree, in MiB."""
    rss = 0
    peaks: dict[int, float] = {}
    for member in process_tree(pid):
        rss += _status_kib(member, "VmRSS")
        peaks[member] = _status_kib(member, "VmHWM") / 1024
    return rss / 1024, sum(peaks.values()), peaks


@dataclass
class RssSampler:
    """Samples the summed RSS of a process tree in a thread while a workload runs.

    ``peak_mib`` is the larger of the highest sampled sum of VmRSS and the sum of the members'
    VmHWM (reset when sampling starts), so a spike between two samples still counts.
    """

    pid: int
    interval: float = 0.05
    max_seconds: float = 900.0
    peak_rss_mib: float = 0.0
    peak_hwm_mib: float = 0.0
    #: VmHWM of each process of the tree when the peak of the sum was seen.
    members: dict[int, float] = field(default_factory=dict)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def peak_mib(self) -> float:
        return max(self.peak_rss_mib, self.peak_hwm_mib)

    def __enter__(self) -> RssSampler:
        reset_peak(self.pid)
        self._thread = threading.Thread(target=self._run, name=f"rss-{self.pid}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._sample()

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            self._sample()
            self._stop.wait(self.interval)

    def _sample(self) -> None:
        rss, hwm, members = tree_memory(self.pid)
        self.samples += 1
        self.peak_rss_mib = max(self.peak_rss_mib, rss)
        if hwm >= self.peak_hwm_mib:
            self.peak_hwm_mib = hwm
            self.members = members

    def summary(self) -> dict[str, object]:
        return {
            "peak_sampled_rss_mib": round(self.peak_rss_mib, 1),
            "peak_vmhwm_sum_mib": round(self.peak_hwm_mib, 1),
            "vmhwm_per_process_mib": {
                str(pid): round(value, 1) for pid, value in self.members.items()
            },
            "processes": len(self.members),
            "samples": self.samples,
        }


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM ``process`` (by its PID), wait, then SIGKILL it and any children it left."""
    if process.poll() is not None:
        return
    leftovers = [(pid, start_time(pid)) for pid in process_tree(process.pid)[1:]]
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    for pid, started in leftovers:
        # Only the very process we saw (same start time), never a reused PID.
        if started is not None and start_time(pid) == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def start_time(pid: int) -> int | None:
    """The start time of ``pid`` (clock ticks since boot), None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
