"""Giving memory the C allocator keeps after it was freed back to the operating system.

glibc's ``malloc`` keeps freed memory in its arenas (one per busy thread, up to eight per core)
and returns it only from the top of a heap: after a burst of uploads the request bodies it held
stay resident. In a worker that had taken 50 concurrent 10 MiB pushes, ``malloc_trim`` gave back
40-65 MiB of its 185-215 MiB (see docs/performance.md).

:class:`HeapTrimmer` looks at the free memory the allocator holds (``mallinfo2``) every second
and calls ``malloc_trim`` when it grew. Elsewhere than glibc 2.33+ it does nothing. Granian's own
buffers are in its jemalloc, which this does not reach.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import sys
from typing import Protocol

from dockyard.background import BackgroundTask

log = logging.getLogger("dockyard.memory")

MiB = 1 << 20

#: How often the allocator's free memory is looked at, in seconds.
TRIM_INTERVAL = 1.0
#: Growth of the allocator's free memory (above its lowest since the last trim) that triggers one.
TRIM_THRESHOLD = 8 * MiB


class Allocator(Protocol):
    """What :class:`HeapTrimmer` needs of the C allocator."""

    def free_bytes(self) -> int:
        """Bytes the allocator holds free (resident or not)."""
        ...

    def trim(self) -> None:
        """Return the whole free pages it holds to the operating system."""
        ...


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2``."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


class GlibcAllocator:
    """glibc's ``malloc``, through ``mallinfo2`` and ``malloc_trim``."""

    def __init__(self, libc: ctypes.CDLL) -> None:
        self._mallinfo2 = libc.mallinfo2
        self._mallinfo2.argtypes = []
        self._mallinfo2.restype = _MallInfo2
        self._malloc_trim = libc.malloc_trim
        self._malloc_trim.argtypes = [ctypes.c_size_t]
        self._malloc_trim.restype = ctypes.c_int

    @classmethod
    def load(cls) -> GlibcAllocator | None:
        """The allocator of this process, if it is glibc 2.33 or later; else None."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            return cls(ctypes.CDLL(None))
        except (OSError, AttributeError):  # not glibc (musl), or older than 2.33
            return None

    def free_bytes(self) -> int:
        """Free bytes in all arenas (``fordblks``)."""
        return int(self._mallinfo2().fordblks)

    def trim(self) -> None:
        """``malloc_trim(0)``: release the free pages of every arena."""
        self._malloc_trim(0)


class HeapTrimmer:
    """Calls :meth:`Allocator.trim` when the allocator's free memory grew by ``threshold``.

    The reference is the lowest free figure seen since the last trim: pages a trim released stay
    counted as free, and allocations that reuse them bring the figure (and the reference) down.
    """

    def __init__(
        self,
        allocator: Allocator,
        *,
        interval: float = TRIM_INTERVAL,
        threshold: int = TRIM_THRESHOLD,
    ) -> None:
        self.allocator = allocator
        self.interval = interval
        self.threshold = threshold
        self.trims = 0
        self._low = allocator.free_bytes()
        self._background = BackgroundTask(self._run)

    def check(self) -> bool:
        """Trim if the free memory grew enough since the low point; True if it trimmed."""
        free = self.allocator.free_bytes()
        if free - self._low < self.threshold:
            self._low = min(self._low, free)
            return False
        self.allocator.trim()
        self.trims += 1
        self._low = self.allocator.free_bytes()
        return True

    def start(self) -> None:
        """Check every ``interval`` seconds in the background."""
        self._background.start()

    async def stop(self) -> None:
        """Stop the background task."""
        await self._background.stop()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.interval)
            try:
                # In a thread: both calls lock each arena in turn and walk its free lists.
                await loop.run_in_executor(None, self.check)
            except Exception:
                log.exception("could not trim the heap; giving up")
                return
