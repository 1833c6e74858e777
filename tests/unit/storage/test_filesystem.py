"""The shared driver suite against the filesystem driver, plus its path safety."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.storage import StorageError
from dockyard.storage.filesystem import FilesystemDriver
from dockyard.storage.interface import InvalidKey
from tests.unit.storage.driver_suite import DriverSuite, chunks_of, collect, keys_under

INVALID_KEYS = [
    "",
    "/",
    "/etc/passwd",
    "/absolute/key",
    "..",
    ".",
    "../escape",
    "../../escape",
    "a/../../escape",
    "a/..",
    "a/../b",
    "./a",
    "a/./b",
    "a//b",
    "a/",
    "//a",
    "a\\..\\..\\escape",
    "a/\x00b",
    "a/.hidden",
    "a/b\n",
    "a\n/b",
]


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with the content of its files (None for directories)."""
    found: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            found[os.path.relpath(os.path.join(dirpath, name), root)] = None
        for name in filenames:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, root)] = Path(path).read_bytes()
    return found


class TestFilesystemDriver(DriverSuite):
    @pytest.fixture(params=[False, True], ids=["nofsync", "fsync"])
    def driver(self, tmp_path: Path, request: pytest.FixtureRequest) -> FilesystemDriver:
        return FilesystemDriver(tmp_path / "root", fsync=request.param)


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[FilesystemDriver, Path]:
    """A driver rooted in ``<tmp>/box/root`` with bait files beside and above the root."""
    box = tmp_path / "box"
    root = box / "root"
    driver = FilesystemDriver(root, fsync=False)
    (box / "escape").write_bytes(b"bait")
    (box / "passwd").write_bytes(b"bait")
    (box / "b").mkdir()
    (box / "b" / "bait").write_bytes(b"bait")
    return driver, box


class TestFilesystemPathSafety:
    @pytest.mark.parametrize("key", INVALID_KEYS)
    async def test_invalid_keys_are_rejected_and_touch_nothing(
        self, sandbox: tuple[FilesystemDriver, Path], key: str
    ) -> None:
        driver, box = sandbox
        await driver.put("inside/object", b"inside")
        await driver.create_upload("u-safe")
        before = tree(box)
        with pytest.raises(InvalidKey):
            await driver.put(key, b"overwritten")
        with pytest.raises(InvalidKey):
            await driver.get(key)
        with pytest.raises(InvalidKey):
            await driver.stat(key)
        with pytest.raises(InvalidKey):
            await collect(driver.read(key))
        with pytest.raises(InvalidKey):
            await driver.delete(key)
        with pytest.raises(InvalidKey):
            driver.local_path(key)
        with pytest.raises(InvalidKey):
            await driver.complete_upload("u-safe", key)
        assert tree(box) == before

    @pytest.mark.parametrize("prefix", ["..", "../", "../..", "a/../..", "/etc", "a//b", "./"])
    async def test_invalid_list_prefixes_are_rejected(
        self, sandbox: tuple[FilesystemDriver, Path], prefix: str
    ) -> None:
        driver, _box = sandbox
        with pytest.raises(InvalidKey):
            await keys_under(driver, prefix)

    @pytest.mark.parametrize(
        "upload_id", ["../escape", "../../box", "a/b", "", ".", "x" * 65, "abc\n"]
    )
    async def test_invalid_upload_ids_are_rejected_and_touch_nothing(
        self, sandbox: tuple[FilesystemDriver, Path], upload_id: str
    ) -> None:
        driver, box = sandbox
        before = tree(box)
        with pytest.raises((ValueError, StorageError)):
            await driver.create_upload(upload_id)
        with pytest.raises((ValueError, StorageError)):
            await driver.write_upload(upload_id, 0, chunks_of([b"x"]))
        with pytest.raises((ValueError, StorageError)):
            await driver.abort_upload(upload_id)
        assert tree(box) == before

    async def test_a_symlink_to_outside_the_root_is_not_followed_by_list(
        self, sandbox: tuple[FilesystemDriver, Path]
    ) -> None:
        driver, box = sandbox
        await driver.put("links/real", b"real")
        (driver.root / "links" / "outside").symlink_to(box / "b", target_is_directory=True)
        assert await keys_under(driver, "") == ["links/real"]


class TestFilesystemLayout:
    async def test_local_path_points_at_the_object(self, tmp_path: Path) -> None:
        driver = FilesystemDriver(tmp_path / "root", fsync=False)
        key = "blobs/sha256/ab/" + "ab" * 32 + "/data"
        await driver.put(key, b"layer bytes")
        path = driver.local_path(key)
        assert path is not None
        assert path.is_file()
        assert path.read_bytes() == b"layer bytes"
        assert path == (tmp_path / "root").resolve().joinpath(*key.split("/"))
        assert path.is_relative_to(driver.root)

    async def test_put_leaves_no_temporary_files(self, tmp_path: Path) -> None:
        driver = FilesystemDriver(tmp_path / "root", fsync=False)
        for i in range(5):
            await driver.put("dir/object", b"x" * i)
        assert sorted(p.name for p in (driver.root / "dir").iterdir()) == ["object"]

    async def test_put_survives_short_writes(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real_write = os.write

        def short_write(fd: int, data: bytes) -> int:
            return real_write(fd, memoryview(data)[:1000])

        # POSIX lets write(2) write less than asked; the driver must loop.
        monkeypatch.setattr("dockyard.storage.filesystem.os.write", short_write)
        driver = FilesystemDriver(tmp_path / "root", fsync=False)
        data = bytes(range(256)) * 40
        await driver.put("short/write", data)
        assert await driver.get("short/write") == data
        await driver.create_upload("u-short")
        await driver.write_upload("u-short", 0, chunks_of([data]))
        assert await collect(driver.read_upload("u-short")) == data

    async def test_state_survives_a_new_driver_on_the_same_root(self, tmp_path: Path) -> None:
        first = FilesystemDriver(tmp_path / "root", fsync=True)
        await first.put("kept/object", b"kept")
        await first.create_upload("u-resume")
        await first.write_upload("u-resume", 0, chunks_of([b"part one, "]))
        second = FilesystemDriver(tmp_path / "root", fsync=True)
        assert await second.get("kept/object") == b"kept"
        assert await second.upload_size("u-resume") == 10
        await second.write_upload("u-resume", 10, chunks_of([b"part two"]))
        assert await collect(second.read_upload("u-resume")) == b"part one, part two"
        await second.complete_upload("u-resume", "resumed/object")
        assert await first.get("resumed/object") == b"part one, part two"

    async def test_delete_prunes_empty_directories_but_not_the_root(self, tmp_path: Path) -> None:
        driver = FilesystemDriver(tmp_path / "root", fsync=False)
        await driver.put("a/b/c/object", b"x")
        await driver.put("a/other", b"y")
        await driver.delete("a/b/c/object")
        assert not (driver.root / "a" / "b").exists()
        assert (driver.root / "a" / "other").is_file()
        await driver.delete("a/other")
        assert driver.root.is_dir()
        assert list(driver.root.iterdir()) == []


class TestFilesystemPlacing:
    async def test_a_placed_upload_shares_the_blob_file_and_takes_no_writes(
        self, tmp_path: Path
    ) -> None:
        driver = FilesystemDriver(tmp_path / "root", fsync=True)
        await driver.create_upload("u-linked")
        await driver.write_upload("u-linked", 0, chunks_of([b"layer bytes"]))
        await driver.place_upload("u-linked", "blobs/x/object", 11)
        blob = driver.root / "blobs" / "x" / "object"
        placed = driver.root / "uploads" / "u-linked" / "placed"
        assert os.stat(blob).st_ino == os.stat(placed).st_ino  # one copy on disk
        with pytest.raises(StorageError):  # StorageNotFound: nothing to append to
            await driver.write_upload("u-linked", 11, chunks_of([b"more"]))
        assert blob.read_bytes() == b"layer bytes"
        await driver.abort_upload("u-linked")
        assert blob.read_bytes() == b"layer bytes"
        assert not (driver.root / "uploads" / "u-linked").exists()

    async def test_placing_copies_where_hard_links_are_refused(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def no_links(source: object, target: object) -> None:
            raise PermissionError(1, "Operation not permitted")

        monkeypatch.setattr("dockyard.storage.filesystem.os.link", no_links)
        driver = FilesystemDriver(tmp_path / "root", fsync=True)
        await driver.create_upload("u-copied")
        await driver.write_upload("u-copied", 0, chunks_of([b"copied bytes"]))
        await driver.place_upload("u-copied", "copied/object", 12)
        await driver.abort_upload("u-copied")
        assert await driver.get("copied/object") == b"copied bytes"
        assert sorted(p.name for p in (driver.root / "copied").iterdir()) == ["object"]
