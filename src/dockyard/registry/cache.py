"""A small in-process cache of manifest lookups, bounded in size and in staleness.

Entries live for ``ttl`` seconds, so a tag moved on another node is seen here within that
time; writes made through this process drop the repository's entries at once. A lookup that
was already running when such a write happened does not store its (possibly older) answer:
``put`` takes the :attr:`ManifestCache.epoch` read before the lookup began.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from dockyard.metadata.store import ManifestRecord


@dataclass(frozen=True, slots=True)
class _Entry:
    record: ManifestRecord
    expires: float


class ManifestCache:
    """``(repository, reference) -> ManifestRecord`` with a TTL and a byte budget."""

    def __init__(self, ttl: float, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._bytes = 0
        #: Moves on every invalidation; a lookup begun in an older epoch is not cached.
        self.epoch = 0

    def get(self, name: str, reference: str) -> ManifestRecord | None:
        """The cached record, if fresh."""
        if self.ttl <= 0:
            return None
        entry = self._entries.get((name, reference))
        if entry is None:
            return None
        if entry.expires < time.monotonic():
            self._drop((name, reference))
            return None
        return entry.record

    def put(
        self, name: str, reference: str, record: ManifestRecord, *, epoch: int | None = None
    ) -> None:
        """Remember a lookup (begun in ``epoch``, when given)."""
        if self.ttl <= 0 or record.size > self.max_bytes // 16:
            return
        if epoch is not None and epoch != self.epoch:
            return
        key = (name, reference)
        self._drop(key)
        self._entries[key] = _Entry(record, time.monotonic() + self.ttl)
        self._bytes += record.size
        while self._bytes > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    def invalidate(self, name: str) -> None:
        """Forget every entry of repository ``name`` (after a write to it)."""
        self.epoch += 1
        for key in [k for k in self._entries if k[0] == name]:
            self._drop(key)

    def _drop(self, key: tuple[str, str]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.record.size
