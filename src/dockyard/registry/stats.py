"""Pull statistics, counted in memory and written in batches off the request path."""

from __future__ import annotations

import asyncio
import logging

from dockyard.background import BackgroundTask
from dockyard.metadata.store import PullTally, RegistryStore, utcnow

log = logging.getLogger("dockyard.stats")


class PullRecorder:
    """Counts manifest GETs per repository; :meth:`flush` writes them in one transaction."""

    def __init__(self, store: RegistryStore, interval: float = 2.0) -> None:
        self.store = store
        self.interval = interval
        self._pending: dict[str, PullTally] = {}
        self._background = BackgroundTask(self._run)

    def record(self, repository: str, tag: str | None, digest: str) -> None:
        """Count one pull (cheap: a dict update)."""
        tally = self._pending.get(repository)
        if tally is None:
            tally = self._pending[repository] = PullTally(repository)
        tally.count += 1
        tally.last_pulled_at = utcnow()
        if tag is not None:
            tally.tags.add(tag)
        tally.digests.add(digest)

    async def flush(self) -> None:
        """Write what was counted since the last flush."""
        if not self._pending:
            return
        pending, self._pending = list(self._pending.values()), {}
        try:
            await self.store.record_pulls(pending)
        except Exception:
            log.exception("could not record %d repositories' pulls; retrying", len(pending))
            for tally in pending:  # put them back, merged with what arrived meanwhile
                current = self._pending.setdefault(tally.repository, PullTally(tally.repository))
                current.count += tally.count
                current.tags |= tally.tags
                current.digests |= tally.digests
                current.last_pulled_at = max(current.last_pulled_at, tally.last_pulled_at)

    def start(self) -> None:
        """Flush every ``interval`` seconds in the background."""
        self._background.start()

    async def stop(self) -> None:
        """Stop the background task and flush what is left."""
        await self._background.stop()
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()
