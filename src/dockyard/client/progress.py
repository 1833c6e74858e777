"""Progress reporting: bars per layer on a terminal, log lines otherwise, nothing when quiet."""

from __future__ import annotations

import sys
import threading
import time
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


def short(digest: str) -> str:
    """``sha256:0123456789ab...`` -> ``0123456789ab`` (as docker shows layers)."""
    return digest.partition(":")[2][:12] or digest[:12]


def human_size(size: float) -> str:
    """``1536`` -> ``1.5kB`` (decimal units, as docker prints sizes)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1000
    return f"{size:.1f}TB"


class Task(Protocol):
    """One transfer (a layer) being reported."""

    def advance(self, amount: int) -> None: ...

    def reset(self, completed: int = 0) -> None: ...

    def finish(self, status: str) -> None: ...


class Reporter(Protocol):
    """Where transfer progress and messages go."""

    def task(self, label: str, action: str, total: int | None) -> Task: ...

    def message(self, text: str) -> None: ...

    def close(self) -> None: ...


class _NullTask:
    def advance(self, amount: int) -> None:
        pass

    def reset(self, completed: int = 0) -> None:
        pass

    def finish(self, status: str) -> None:
        pass


class QuietReporter:
    """Reports nothing (``--quiet``)."""

    def task(self, label: str, action: str, total: int | None) -> Task:
        return _NullTask()

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class _LineTask:
    def __init__(self, reporter: LineReporter, label: str, total: int | None) -> None:
        self.reporter, self.label, self.total = reporter, label, total
        self.done = 0
        self.started = time.monotonic()

    def advance(self, amount: int) -> None:
        self.done += amount

    def reset(self, completed: int = 0) -> None:
        self.done = completed

    def finish(self, status: str) -> None:
        elapsed = time.monotonic() - self.started
        detail = ""
        if self.done:
            rate = self.done / elapsed if elapsed > 0 else 0
            detail = f" ({human_size(self.done)} in {elapsed:.1f}s, {human_size(rate)}/s)"
        self.reporter.message(f"{self.label}: {status}{detail}")


class LineReporter:
    """Plain log lines (for logs and pipes): one when a layer starts, one when it ends."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()

    def task(self, label: str, action: str, total: int | None) -> Task:
        size = f" {human_size(total)}" if total is not None else ""
        self.message(f"{label}: {action}{size}")
        return _LineTask(self, label, total)

    def message(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        pass


class _BarTask:
    def __init__(self, progress: Progress, task_id: TaskID, label: str) -> None:
        self.progress, self.task_id, self.label = progress, task_id, label

    def advance(self, amount: int) -> None:
        self.progress.advance(self.task_id, amount)

    def reset(self, completed: int = 0) -> None:
        self.progress.update(self.task_id, completed=completed)

    def finish(self, status: str) -> None:
        task = self.progress.tasks[self.task_id]
        total = task.total if task.total is not None else task.completed
        self.progress.update(
            self.task_id, total=total, completed=total, description=f"{self.label}: {status}"
        )


class BarReporter:
    """A rich progress bar per layer: bytes, speed and time left."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._started = False

    def task(self, label: str, action: str, total: int | None) -> Task:
        if not self._started:
            self.progress.start()
            self._started = True
        task_id = self.progress.add_task(f"{label}: {action}", total=total)
        return _BarTask(self.progress, task_id, label)

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False)

    def close(self) -> None:
        if self._started:
            self.progress.stop()
            self._started = False


def reporter_for(quiet: bool = False, stream: TextIO | None = None) -> Reporter:
    """Bars on a terminal, lines when not, nothing when ``quiet``."""
    if quiet:
        return QuietReporter()
    stream = stream or sys.stderr
    if stream.isatty():
        return BarReporter(Console(file=stream))
    return LineReporter(stream)
