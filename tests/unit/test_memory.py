"""Freed heap memory goes back to the system when the allocator's free memory grew."""

from __future__ import annotations

import asyncio
import sys

import pytest

from dockyard.memory import GlibcAllocator, HeapTrimmer, MiB


class FakeAllocator:
    """Free bytes set by the test; a trim releases ``released`` of them from the count."""

    def __init__(self, free: int = 0) -> None:
        self.free = free
        self.released = 0
        self.trims = 0

    def free_bytes(self) -> int:
        return self.free

    def trim(self) -> None:
        self.trims += 1
        self.free -= self.released


def test_no_trim_until_free_memory_grew_by_the_threshold() -> None:
    allocator = FakeAllocator(free=2 * MiB)
    trimmer = HeapTrimmer(allocator, threshold=8 * MiB)
    allocator.free += 8 * MiB - 1
    assert not trimmer.check()
    allocator.free += 1
    assert trimmer.check()
    assert allocator.trims == trimmer.trims == 1


def test_growth_counts_from_the_lowest_free_figure_since_the_last_trim() -> None:
    allocator = FakeAllocator(free=20 * MiB)
    trimmer = HeapTrimmer(allocator, threshold=8 * MiB)
    allocator.free = 4 * MiB  # released pages reused by allocations
    assert not trimmer.check()
    allocator.free = 12 * MiB  # and freed again: resident free memory
    assert trimmer.check()


def test_after_a_trim_the_reference_is_what_it_left() -> None:
    allocator = FakeAllocator(free=0)
    allocator.released = 2 * MiB
    trimmer = HeapTrimmer(allocator, threshold=8 * MiB)
    allocator.free = 10 * MiB
    assert trimmer.check()  # leaves 8 MiB counted as free (released pages stay in the bins)
    allocator.free = 15 * MiB
    assert not trimmer.check()
    allocator.free = 16 * MiB
    assert trimmer.check()
    assert allocator.trims == 2


async def test_background_task_checks_until_stopped() -> None:
    allocator = FakeAllocator(free=0)
    trimmer = HeapTrimmer(allocator, interval=0.01, threshold=MiB)
    trimmer.start()
    allocator.free = 2 * MiB
    for _ in range(200):
        if allocator.trims:
            break
        await asyncio.sleep(0.01)
    await trimmer.stop()
    assert allocator.trims == 1
    allocator.free = 10 * MiB
    await asyncio.sleep(0.05)
    assert allocator.trims == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_glibc_allocator_reports_and_trims() -> None:
    allocator = GlibcAllocator.load()
    if allocator is None:
        pytest.skip("not glibc 2.33 or later")
    blocks = [bytearray(256 * 1024) for _ in range(64)]  # 16 MiB, then freed
    del blocks
    assert allocator.free_bytes() >= 0
    allocator.trim()
