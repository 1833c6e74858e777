"""One background task of the event loop, owned by a service: started once, cancelled on stop.

The pull-count flusher, the rate-limit syncer, the webhook delivery loop and the heap trimmer
each run one such task for the life of the app (started and stopped in its lifespan).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any


class BackgroundTask:
    """Runs the coroutine function ``work`` as one task of the running event loop."""

    def __init__(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._work = work
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._task is not None

    def start(self) -> None:
        """Start the task (once; later calls do nothing while it runs)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Cancel the task and wait until it has ended."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
