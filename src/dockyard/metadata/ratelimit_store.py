"""Shared pull rate-limit counters: one row per client key and fixed window."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, select

from dockyard.metadata.db import Database
from dockyard.metadata.hub_tables import rate_limit_counters


class RateLimitStore:
    """Adds to and reads the counters every node shares."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_and_read(
        self, window_start: datetime, deltas: Mapping[str, int], keys: set[str]
    ) -> dict[str, int]:
        """Add ``deltas`` to this window's counters; return the totals of ``keys``."""
        table = rate_limit_counters
        async with self.db.write() as conn:
            for key, delta in deltas.items():
                insert = self.db.insert(table).values(
                    key=key, window_start=window_start, count=delta
                )
                await conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=["key", "window_start"],
                        set_={"count": table.c.count + delta},
                    )
                )
            totals: dict[str, int] = {}
            wanted = sorted(keys | set(deltas))
            for start in range(0, len(wanted), 500):
                rows = await conn.execute(
                    select(table.c.key, table.c.count).where(
                        table.c.window_start == window_start,
                        table.c.key.in_(wanted[start : start + 500]),
                    )
                )
                totals.update({str(k): int(c) for k, c in rows.all()})
        return totals

    async def prune(self, before: datetime) -> None:
        """Forget windows that started before ``before``."""
        async with self.db.write() as conn:
            await conn.execute(
                delete(rate_limit_counters).where(rate_limit_counters.c.window_start < before)
            )
