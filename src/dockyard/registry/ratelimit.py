"""Pull rate limits like Docker Hub's: manifest GETs per client address or account per window.

Each node counts locally and, every ``sync_interval`` seconds, adds its counts to the shared
counters in the database and reads back the totals, so all nodes enforce one limit (a node may
overshoot by what the others counted in the last interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dockyard.background import BackgroundTask
from dockyard.metadata.ratelimit_store import RateLimitStore

log = logging.getLogger("dockyard.ratelimit")


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may proceed, with what the rate-limit headers say."""

    allowed: bool
    limit: int
    remaining: int
    window: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """``ratelimit-limit`` and ``ratelimit-remaining`` as Docker Hub sends them."""
        return {
            "ratelimit-limit": f"{self.limit};w={self.window}",
            "ratelimit-remaining": f"{max(self.remaining, 0)};w={self.window}",
        }


@dataclass
class _Counter:
    synced: int = 0
    pending: int = 0


@dataclass
class RateLimiter:
    """Fixed-window pull counters shared through the database."""

    store: RateLimitStore
    window: int
    anonymous_limit: int
    authenticated_limit: int
    sync_interval: float = 1.0
    _window_start: int = 0
    _counters: dict[str, _Counter] = field(default_factory=dict)
    _background: BackgroundTask | None = None

    def check(self, address: str, username: str | None, *, count: bool) -> Decision:
        """Decide for one manifest request; ``count`` is False for HEAD (shown, not counted)."""
        now = time.time()
        self._roll(now)
        key, limit = (
            (f"user:{username}", self.authenticated_limit)
            if username
            else (f"ip:{address}", self.anonymous_limit)
        )
        counter = self._counters.setdefault(key, _Counter())
        used = counter.synced + counter.pending
        retry_after = int(self._window_start + self.window - now) + 1
        if count:
            if used >= limit:
                return Decision(False, limit, 0, self.window, retry_after)
            counter.pending += 1
            used += 1
        return Decision(True, limit, limit - used, self.window, retry_after)

    def _roll(self, now: float) -> None:
        start = int(now // self.window * self.window)
        if start != self._window_start:
            self._window_start = start
            self._counters.clear()

    async def sync(self) -> None:
        """Push local counts to the shared counters and pull everyone's totals."""
        if not self._counters:
            return
        start = self._window_start
        deltas = {k: c.pending for k, c in self._counters.items() if c.pending}
        for key in deltas:
            self._counters[key].pending = 0
        try:
            totals = await self.store.add_and_read(
                datetime.fromtimestamp(start, UTC), deltas, set(self._counters)
            )
        except Exception:
            log.exception("could not sync rate-limit counters; keeping them locally")
            for key, delta in deltas.items():
                self._counters.setdefault(key, _Counter()).pending += delta
            return
        if start != self._window_start:
            return  # the window rolled while we were away; the new one starts from zero
        for key, total in totals.items():
            counter = self._counters.setdefault(key, _Counter())
            counter.synced = total

    def start(self) -> None:
        """Sync in the background every ``sync_interval`` seconds."""
        if self._background is None:
            self._background = BackgroundTask(self._run)
        self._background.start()

    async def stop(self) -> None:
        """Stop syncing, after one last sync."""
        if self._background is not None:
            await self._background.stop()
        await self.sync()

    async def _run(self) -> None:
        pruned = 0.0
        while True:
            await asyncio.sleep(self.sync_interval)
            await self.sync()
            if time.monotonic() - pruned > 600:
                pruned = time.monotonic()
                cutoff = datetime.fromtimestamp(self._window_start - self.window, UTC)
                with contextlib.suppress(Exception):
                    await self.store.prune(cutoff)
