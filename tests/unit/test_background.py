"""BackgroundTask: started once, cancelled and awaited on stop, restartable."""

from __future__ import annotations

import asyncio

from dockyard.background import BackgroundTask


async def test_starts_once_and_stops() -> None:
    runs: list[str] = []
    stopped = asyncio.Event()

    async def work() -> None:
        runs.append("run")
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    task = BackgroundTask(work)
    assert not task.running
    task.start()
    task.start()  # already running: nothing more
    await asyncio.sleep(0)
    assert task.running
    assert runs == ["run"]
    await task.stop()
    assert stopped.is_set()
    assert not task.running
    await task.stop()  # stopping twice is harmless
    task.start()
    await asyncio.sleep(0)
    assert runs == ["run", "run"]
    await task.stop()


async def test_a_task_that_ended_by_itself_stops_quietly() -> None:
    async def work() -> None:
        return None

    task = BackgroundTask(work)
    task.start()
    await asyncio.sleep(0.01)
    await task.stop()
    assert not task.running
