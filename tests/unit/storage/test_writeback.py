"""Starting writeback of upload data early: a hint that never fails a write."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dockyard.storage import writeback
from dockyard.storage.filesystem import FilesystemDriver


def test_it_is_there_exactly_on_linux() -> None:
    assert writeback.available() == sys.platform.startswith("linux")


def test_a_file_range_is_handed_to_the_kernel(tmp_path: Path) -> None:
    path = tmp_path / "data"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        os.write(fd, os.urandom(1 << 20))
        writeback.start_writeback(fd, 0, 1 << 20)
        writeback.start_writeback(fd, 0, 0)  # nothing to do
    finally:
        os.close(fd)
    assert path.stat().st_size == 1 << 20


def test_an_unsupported_descriptor_is_ignored() -> None:
    read_end, write_end = os.pipe()
    try:
        writeback.start_writeback(write_end, 0, 4096)  # a pipe: EINVAL/ESPIPE, not raised
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize("fsync", [True, False])
async def test_uploads_write_the_same_bytes_either_way(
    tmp_path: Path, fsync: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int]] = []
    real = writeback.start_writeback

    def recording(fd: int, offset: int, length: int) -> None:
        calls.append((offset, length))
        real(fd, offset, length)

    monkeypatch.setattr("dockyard.storage.filesystem.start_writeback", recording)
    driver = FilesystemDriver(tmp_path, fsync=fsync)
    await driver.create_upload("u1")
    data = os.urandom(3 * (1 << 20) + 77)

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    assert await driver.write_upload("u1", 0, body()) == len(data)
    assert b"".join([c async for c in driver.read_upload("u1")]) == data
    if fsync:
        assert calls[0][0] == 0
        assert sum(length for _, length in calls) == len(data)
        assert all(a + la == b for (a, la), (b, _) in itertools.pairwise(calls))
    else:
        assert calls == []
