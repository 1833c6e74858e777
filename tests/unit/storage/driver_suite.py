"""The one test suite every storage driver must pass.

Like CNCF Distribution's ``registry/storage/driver/testsuites``: a driver's test module
subclasses :class:`DriverSuite` and provides a ``driver`` fixture (a fresh, empty driver per
test), nothing else. Driver-specific behaviour (path safety, local paths) is tested beside it.

Keys are treated as slash-separated paths: a *prefix* given to ``list`` names a directory
(``"a/b"`` and ``"a/b/"`` are the same and neither lists ``"a/bc/x"``), and a key that is only
a prefix of other keys is not itself an object.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

import pytest

from dockyard.storage import (
    StorageDriver,
    StorageError,
    StorageNotFound,
    UploadOffsetMismatch,
)

MiB = 1 << 20
#: Largest chunk a streaming read may hand out (drivers must not load a large object whole).
MAX_STREAM_CHUNK = 8 * MiB


async def chunks_of(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    """``parts`` as an async iterable, yielding to the event loop between parts."""
    for part in parts:
        await asyncio.sleep(0)
        yield part


async def collect(stream: AsyncIterator[bytes]) -> bytes:
    """Everything an async byte stream yields."""
    data = bytearray()
    async for chunk in stream:
        data += chunk
    return bytes(data)


async def keys_under(driver: StorageDriver, prefix: str) -> list[str]:
    """Sorted keys ``list(prefix)`` returns."""
    return sorted([key async for key in driver.list(prefix)])


#: How far a driver's clock (an S3 server's, in whole seconds) may be from ours.
CLOCK_SLACK = timedelta(minutes=2)


def assert_recent(moment: datetime | None, since: datetime) -> None:
    """``moment`` is an aware time no earlier than ``since`` and no later than now (with slack)."""
    assert moment is not None
    assert moment.tzinfo is not None
    assert since - CLOCK_SLACK <= moment <= datetime.now(UTC) + CLOCK_SLACK


def pattern(size: int, seed: int = 0) -> bytes:
    """``size`` deterministic bytes with every byte value in them."""
    block = bytes((i * 7 + seed) % 256 for i in range(4096))
    return (block * (size // len(block) + 1))[:size]


def generated_blocks(total: int, block_size: int = MiB) -> Iterable[bytes]:
    """``total`` deterministic bytes as blocks, without ever holding them all."""
    sent = 0
    index = 0
    while sent < total:
        size = min(block_size, total - sent)
        yield (index.to_bytes(8, "big") * (size // 8 + 1))[:size]
        sent += size
        index += 1


class DriverSuite:
    """Behaviour every :class:`StorageDriver` must have. Subclasses provide ``driver``."""

    # --- put / get / stat ----------------------------------------------------------------
    async def test_put_then_get_returns_the_bytes(self, driver: StorageDriver) -> None:
        data = pattern(10_000)
        await driver.put("a/b/object", data)
        assert await driver.get("a/b/object") == data

    async def test_empty_object(self, driver: StorageDriver) -> None:
        await driver.put("empty/object", b"")
        assert await driver.get("empty/object") == b""
        info = await driver.stat("empty/object")
        assert info is not None
        assert info.size == 0
        assert await collect(driver.read("empty/object")) == b""

    async def test_stat_reports_key_and_size(self, driver: StorageDriver) -> None:
        await driver.put("stat/me", b"12345")
        info = await driver.stat("stat/me")
        assert info is not None
        assert info.key == "stat/me"
        assert info.size == 5

    async def test_keys_are_independent(self, driver: StorageDriver) -> None:
        await driver.put("x/one", b"1")
        await driver.put("x/two", b"22")
        await driver.put("y/one", b"333")
        assert await driver.get("x/one") == b"1"
        assert await driver.get("x/two") == b"22"
        assert await driver.get("y/one") == b"333"

    async def test_typical_blob_key(self, driver: StorageDriver) -> None:
        key = "blobs/sha256/ab/" + "ab" * 32 + "/data"
        await driver.put(key, b"layer")
        assert await driver.get(key) == b"layer"

    # --- missing keys --------------------------------------------------------------------
    async def test_stat_of_missing_key_is_none(self, driver: StorageDriver) -> None:
        assert await driver.stat("missing/key") is None

    async def test_get_of_missing_key_raises(self, driver: StorageDriver) -> None:
        with pytest.raises(StorageNotFound):
            await driver.get("missing/key")

    async def test_read_of_missing_key_raises(self, driver: StorageDriver) -> None:
        with pytest.raises(StorageNotFound):
            await collect(driver.read("missing/key"))

    async def test_delete_of_missing_key_is_not_an_error(self, driver: StorageDriver) -> None:
        await driver.delete("missing/key")
        assert await driver.stat("missing/key") is None

    async def test_list_of_missing_prefix_is_empty(self, driver: StorageDriver) -> None:
        await driver.put("present/key", b"x")
        assert await keys_under(driver, "missing") == []
        assert await keys_under(driver, "missing/") == []

    async def test_a_prefix_is_not_an_object(self, driver: StorageDriver) -> None:
        await driver.put("dir/sub/leaf", b"leaf")
        for prefix in ("dir", "dir/sub"):
            assert await driver.stat(prefix) is None
            with pytest.raises(StorageNotFound):
                await driver.get(prefix)
            with pytest.raises(StorageNotFound):
                await collect(driver.read(prefix))

    async def test_a_key_below_an_object_is_missing(self, driver: StorageDriver) -> None:
        await driver.put("parent/object", b"object")
        assert await driver.stat("parent/object/child") is None
        with pytest.raises(StorageNotFound):
            await driver.get("parent/object/child")
        with pytest.raises(StorageNotFound):
            await collect(driver.read("parent/object/child"))
        await driver.delete("parent/object/child")
        assert await keys_under(driver, "parent/object") == []
        assert await driver.get("parent/object") == b"object"

    # --- read with offset and length -----------------------------------------------------
    @pytest.mark.parametrize(
        ("offset", "length"),
        [
            (0, None),
            (1, None),
            (0, 1),
            (100, 50),
            (4095, 2),
            (9_999, None),
            (9_999, 10),
            (10_000, None),
            (10_000, 5),
            (12_345, None),
            (0, 0),
            (500, 0),
            (0, 10_000),
            (0, 20_000),
            (9_000, 5_000),
        ],
    )
    async def test_read_range(self, driver: StorageDriver, offset: int, length: int | None) -> None:
        data = pattern(10_000, seed=3)
        await driver.put("ranged/object", data)
        expected = data[offset:] if length is None else data[offset : offset + length]
        assert await collect(driver.read("ranged/object", offset, length)) == expected

    async def test_read_streams_a_large_object_in_bounded_chunks(
        self, driver: StorageDriver
    ) -> None:
        data = pattern(20 * MiB + 17, seed=5)
        await driver.put("large/object", data)
        sizes: list[int] = []
        hasher = hashlib.sha256()
        async for chunk in driver.read("large/object"):
            sizes.append(len(chunk))
            hasher.update(chunk)
        assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()
        assert len(sizes) > 1
        assert max(sizes) <= MAX_STREAM_CHUNK
        tail = await collect(driver.read("large/object", 20 * MiB - 3, 10))
        assert tail == data[20 * MiB - 3 : 20 * MiB + 7]

    # --- overwrite -----------------------------------------------------------------------
    async def test_overwrite_replaces_the_whole_content(self, driver: StorageDriver) -> None:
        await driver.put("over/write", pattern(5000))
        await driver.put("over/write", b"short")
        assert await driver.get("over/write") == b"short"
        info = await driver.stat("over/write")
        assert info is not None
        assert info.size == 5
        await driver.put("over/write", pattern(7000, seed=1))
        assert await driver.get("over/write") == pattern(7000, seed=1)
        assert await keys_under(driver, "over") == ["over/write"]

    async def test_overwrite_is_atomic_for_concurrent_readers(self, driver: StorageDriver) -> None:
        old, new = b"o" * (2 * MiB), b"n" * (3 * MiB + 1)
        await driver.put("atomic/key", old)
        seen: list[bytes] = []

        async def writer() -> None:
            for i in range(20):
                await driver.put("atomic/key", new if i % 2 == 0 else old)

        async def reader() -> None:
            for _ in range(40):
                seen.append(await driver.get("atomic/key"))
                seen.append(await collect(driver.read("atomic/key")))

        await asyncio.gather(writer(), reader(), reader())
        assert len(seen) == 160
        for content in seen:
            assert content in (old, new), f"torn read of {len(content)} bytes"
        assert await keys_under(driver, "atomic") == ["atomic/key"]

    # --- delete --------------------------------------------------------------------------
    async def test_delete_removes_the_object_only(self, driver: StorageDriver) -> None:
        await driver.put("del/a/x", b"x")
        await driver.put("del/a/y", b"y")
        await driver.put("del/b", b"b")
        await driver.delete("del/a/x")
        assert await driver.stat("del/a/x") is None
        with pytest.raises(StorageNotFound):
            await driver.get("del/a/x")
        assert await driver.get("del/a/y") == b"y"
        assert await driver.get("del/b") == b"b"
        assert await keys_under(driver, "del") == ["del/a/y", "del/b"]

    async def test_delete_then_put_again(self, driver: StorageDriver) -> None:
        await driver.put("again/key", b"first")
        await driver.delete("again/key")
        await driver.delete("again/key")
        assert await keys_under(driver, "") == []
        await driver.put("again/key", b"second")
        assert await driver.get("again/key") == b"second"

    async def test_delete_of_a_prefix_deletes_nothing(self, driver: StorageDriver) -> None:
        await driver.put("tree/branch/leaf", b"leaf")
        await driver.delete("tree/branch")
        await driver.delete("tree")
        assert await driver.get("tree/branch/leaf") == b"leaf"

    # --- list ----------------------------------------------------------------------------
    async def test_list_is_recursive_under_a_directory_prefix(self, driver: StorageDriver) -> None:
        keys = ["l/a", "l/b/c", "l/b/d/e", "l/bc/x", "m/z"]
        for key in keys:
            await driver.put(key, key.encode())
        assert await keys_under(driver, "") == sorted(keys)
        assert await keys_under(driver, "l") == ["l/a", "l/b/c", "l/b/d/e", "l/bc/x"]
        assert await keys_under(driver, "l/") == ["l/a", "l/b/c", "l/b/d/e", "l/bc/x"]
        assert await keys_under(driver, "l/b") == ["l/b/c", "l/b/d/e"]
        assert await keys_under(driver, "l/b/") == ["l/b/c", "l/b/d/e"]
        assert await keys_under(driver, "l/b/d") == ["l/b/d/e"]
        assert await keys_under(driver, "m/") == ["m/z"]

    async def test_list_of_an_empty_driver(self, driver: StorageDriver) -> None:
        assert await keys_under(driver, "") == []

    # --- uploads -------------------------------------------------------------------------
    async def test_new_upload_is_empty(self, driver: StorageDriver) -> None:
        await driver.create_upload("u-new")
        assert await driver.upload_size("u-new") == 0
        assert await collect(driver.read_upload("u-new")) == b""

    async def test_write_upload_appends_at_the_current_size(self, driver: StorageDriver) -> None:
        await driver.create_upload("u-append")
        assert await driver.write_upload("u-append", 0, chunks_of([b"hello ", b"wor"])) == 9
        assert await driver.upload_size("u-append") == 9
        assert await driver.write_upload("u-append", 9, chunks_of([b"ld"])) == 11
        assert await driver.upload_size("u-append") == 11
        assert await collect(driver.read_upload("u-append")) == b"hello world"

    @pytest.mark.parametrize("offset", [0, 3, 5, 6, 1000])
    async def test_write_at_a_wrong_offset_is_refused(
        self, driver: StorageDriver, offset: int
    ) -> None:
        await driver.create_upload("u-offset")
        await driver.write_upload("u-offset", 0, chunks_of([b"abcd"]))
        with pytest.raises(UploadOffsetMismatch) as caught:
            await driver.write_upload("u-offset", offset, chunks_of([b"zzzz"]))
        assert caught.value.size == 4
        assert await driver.upload_size("u-offset") == 4
        assert await collect(driver.read_upload("u-offset")) == b"abcd"
        assert await driver.write_upload("u-offset", 4, chunks_of([b"e"])) == 5

    async def test_write_at_nonzero_offset_of_a_new_upload_is_refused(
        self, driver: StorageDriver
    ) -> None:
        await driver.create_upload("u-fresh")
        with pytest.raises(UploadOffsetMismatch) as caught:
            await driver.write_upload("u-fresh", 1, chunks_of([b"x"]))
        assert caught.value.size == 0
        assert await driver.upload_size("u-fresh") == 0

    async def test_many_chunks_including_empty_ones(self, driver: StorageDriver) -> None:
        await driver.create_upload("u-many")
        expected = bytearray()
        size = 0
        for i in range(40):
            parts = [b"", pattern(i * 37, seed=i), b"", b"", pattern(i % 5, seed=i + 1)]
            size = await driver.write_upload("u-many", size, chunks_of(parts))
            expected += b"".join(parts)
            assert size == len(expected)
        assert await driver.write_upload("u-many", size, chunks_of([])) == size
        assert await driver.write_upload("u-many", size, chunks_of([b"", b""])) == size
        assert await driver.upload_size("u-many") == len(expected)
        assert await collect(driver.read_upload("u-many")) == bytes(expected)
        await driver.complete_upload("u-many", "many/object")
        assert await driver.get("many/object") == bytes(expected)

    async def test_a_failed_write_keeps_a_consistent_prefix(self, driver: StorageDriver) -> None:
        await driver.create_upload("u-fail")
        await driver.write_upload("u-fail", 0, chunks_of([b"start-"]))
        sent = pattern(3 * MiB, seed=9)

        async def broken() -> AsyncIterator[bytes]:
            for start in range(0, len(sent), 64 * 1024):
                yield sent[start : start + 64 * 1024]
            raise ConnectionError("client went away")

        with pytest.raises(ConnectionError):
            await driver.write_upload("u-fail", 6, broken())
        size = await driver.upload_size("u-fail")
        assert 6 <= size <= 6 + len(sent)
        kept = await collect(driver.read_upload("u-fail"))
        assert kept == (b"start-" + sent)[:size]
        assert await driver.write_upload("u-fail", size, chunks_of([b"-end"])) == size + 4

    async def test_upload_is_not_an_object_until_completed(self, driver: StorageDriver) -> None:
        await driver.create_upload("u-hidden")
        await driver.write_upload("u-hidden", 0, chunks_of([b"secret"]))
        assert await driver.stat("hidden/key") is None
        assert await keys_under(driver, "") == []
        await driver.complete_upload("u-hidden", "hidden/key")
        assert await keys_under(driver, "") == ["hidden/key"]

    async def test_complete_upload_makes_the_object(self, driver: StorageDriver) -> None:
        data = pattern(100_000, seed=2)
        await driver.create_upload("u-complete")
        await driver.write_upload("u-complete", 0, chunks_of([data[:40_000], data[40_000:]]))
        await driver.complete_upload("u-complete", "done/object")
        assert await driver.get("done/object") == data
        info = await driver.stat("done/object")
        assert info is not None
        assert info.size == len(data)
        with pytest.raises(StorageNotFound):
            await driver.upload_size("u-complete")

    async def test_complete_an_empty_upload(self, driver: StorageDriver) -> None:
        await driver.create_upload("u-empty")
        await driver.complete_upload("u-empty", "empty/blob")
        assert await driver.get("empty/blob") == b""

    async def test_complete_when_the_key_exists_keeps_one_copy(self, driver: StorageDriver) -> None:
        await driver.put("dup/object", b"existing")
        await driver.create_upload("u-dup")
        await driver.write_upload("u-dup", 0, chunks_of([b"incoming"]))
        await driver.complete_upload("u-dup", "dup/object")
        assert await driver.get("dup/object") == b"existing"
        assert await keys_under(driver, "") == ["dup/object"]
        with pytest.raises(StorageNotFound):
            await driver.upload_size("u-dup")

    async def test_same_content_completed_twice_is_stored_once(self, driver: StorageDriver) -> None:
        data = pattern(50_000, seed=4)
        for upload_id in ("u-first", "u-second"):
            await driver.create_upload(upload_id)
            await driver.write_upload(upload_id, 0, chunks_of([data]))
        await asyncio.gather(
            driver.complete_upload("u-first", "same/object"),
            driver.complete_upload("u-second", "same/object"),
        )
        assert await driver.get("same/object") == data
        assert await keys_under(driver, "") == ["same/object"]

    async def test_complete_of_a_missing_upload_raises(self, driver: StorageDriver) -> None:
        with pytest.raises(StorageNotFound):
            await driver.complete_upload("u-missing", "never/object")
        assert await driver.stat("never/object") is None

    async def test_complete_twice_raises(self, driver: StorageDriver) -> None:
        await driver.create_upload("u-twice")
        await driver.write_upload("u-twice", 0, chunks_of([b"x"]))
        await driver.complete_upload("u-twice", "twice/object")
        with pytest.raises(StorageNotFound):
            await driver.complete_upload("u-twice", "twice/other")
        assert await driver.stat("twice/other") is None

    async def test_operations_on_a_missing_upload_raise(self, driver: StorageDriver) -> None:
        with pytest.raises(StorageNotFound):
            await driver.upload_size("u-nope")
        with pytest.raises(StorageNotFound):
            await driver.write_upload("u-nope", 0, chunks_of([b"x"]))
        with pytest.raises(StorageNotFound):
            await collect(driver.read_upload("u-nope"))

    async def test_abort_discards_the_upload(self, driver: StorageDriver) -> None:
        await driver.create_upload("u-abort")
        await driver.create_upload("u-keep")
        await driver.write_upload("u-abort", 0, chunks_of([b"gone"]))
        await driver.write_upload("u-keep", 0, chunks_of([b"kept"]))
        await driver.abort_upload("u-abort")
        with pytest.raises(StorageNotFound):
            await driver.upload_size("u-abort")
        with pytest.raises(StorageNotFound):
            await driver.complete_upload("u-abort", "aborted/object")
        assert await collect(driver.read_upload("u-keep")) == b"kept"
        assert await keys_under(driver, "") == []

    async def test_abort_of_a_missing_upload_is_not_an_error(self, driver: StorageDriver) -> None:
        await driver.abort_upload("u-never")
        await driver.create_upload("u-aborted-twice")
        await driver.abort_upload("u-aborted-twice")
        await driver.abort_upload("u-aborted-twice")

    async def test_uploads_are_independent(self, driver: StorageDriver) -> None:
        await driver.create_upload("u-one")
        await driver.create_upload("u-two")
        await driver.write_upload("u-one", 0, chunks_of([b"111"]))
        await driver.write_upload("u-two", 0, chunks_of([b"22"]))
        await driver.write_upload("u-one", 3, chunks_of([b"1"]))
        assert await collect(driver.read_upload("u-one")) == b"1111"
        assert await collect(driver.read_upload("u-two")) == b"22"
        await driver.complete_upload("u-two", "ind/two")
        assert await driver.upload_size("u-one") == 4

    async def test_large_upload_is_streamed_in_chunks(self, driver: StorageDriver) -> None:
        total = 48 * MiB + 5
        expected = hashlib.sha256()

        async def hashed(share: int, block_size: int) -> AsyncIterator[bytes]:
            for block in generated_blocks(share, block_size):
                expected.update(block)
                await asyncio.sleep(0)
                yield block

        await driver.create_upload("u-large")
        size = 0
        for part in range(3):
            share = total // 3 if part < 2 else total - 2 * (total // 3)
            size = await driver.write_upload("u-large", size, hashed(share, MiB - 1 + part))
        assert size == total
        assert await driver.upload_size("u-large") == total
        rehash = hashlib.sha256()
        chunk_sizes: list[int] = []
        async for chunk in driver.read_upload("u-large"):
            rehash.update(chunk)
            chunk_sizes.append(len(chunk))
        assert rehash.hexdigest() == expected.hexdigest()
        assert max(chunk_sizes) <= MAX_STREAM_CHUNK
        await driver.complete_upload("u-large", "large/blob")
        info = await driver.stat("large/blob")
        assert info is not None
        assert info.size == total
        stored = hashlib.sha256()
        async for chunk in driver.read("large/blob"):
            assert len(chunk) <= MAX_STREAM_CHUNK
            stored.update(chunk)
        assert stored.hexdigest() == expected.hexdigest()

    # --- modification times and listings with details (garbage collection) ---------------
    async def test_stat_reports_when_the_object_was_written(self, driver: StorageDriver) -> None:
        since = datetime.now(UTC)
        await driver.put("dated/object", b"dated")
        info = await driver.stat("dated/object")
        assert info is not None
        assert_recent(info.modified, since)

    async def test_list_objects_gives_sizes_and_times(self, driver: StorageDriver) -> None:
        since = datetime.now(UTC)
        await driver.put("lo/a", b"1")
        await driver.put("lo/b/c", b"22")
        await driver.put("other/d", b"333")
        await driver.create_upload("u-not-an-object")
        await driver.write_upload("u-not-an-object", 0, chunks_of([b"pending"]))
        found = {info.key: info async for info in driver.list_objects("lo")}
        assert sorted(found) == ["lo/a", "lo/b/c"]
        assert found["lo/a"].size == 1
        assert found["lo/b/c"].size == 2
        for info in found.values():
            assert_recent(info.modified, since)
        everything = sorted([info.key async for info in driver.list_objects("")])
        assert everything == await keys_under(driver, "") == ["lo/a", "lo/b/c", "other/d"]
        assert [info async for info in driver.list_objects("missing")] == []

    async def test_list_uploads_finds_every_upload_until_discarded(
        self, driver: StorageDriver
    ) -> None:
        since = datetime.now(UTC)
        assert [upload async for upload in driver.list_uploads()] == []
        await driver.create_upload("u-listed-empty")
        await driver.create_upload("u-listed-data")
        await driver.write_upload("u-listed-data", 0, chunks_of([b"some data"]))
        await driver.create_upload("u-listed-placed")
        await driver.write_upload("u-listed-placed", 0, chunks_of([b"placed"]))
        await driver.place_upload("u-listed-placed", "listed/placed", 6)
        await driver.put("listed/object", b"not an upload")
        uploads = {upload.id: upload async for upload in driver.list_uploads()}
        assert sorted(uploads) == ["u-listed-data", "u-listed-empty", "u-listed-placed"]
        for upload in uploads.values():
            assert_recent(upload.modified, since)
        await driver.abort_upload("u-listed-data")
        await driver.abort_upload("u-listed-placed")
        remaining = [upload.id async for upload in driver.list_uploads()]
        assert remaining == ["u-listed-empty"]

    # --- placing an upload (kept until discarded) ------------------------------------------
    async def test_place_upload_makes_the_object_and_keeps_the_upload(
        self, driver: StorageDriver
    ) -> None:
        data = pattern(70_000, seed=6)
        await driver.create_upload("u-place")
        await driver.write_upload("u-place", 0, chunks_of([data[:30_000], data[30_000:]]))
        since = datetime.now(UTC)
        await driver.place_upload("u-place", "placed/object", len(data))
        assert await driver.get("placed/object") == data
        info = await driver.stat("placed/object")
        assert info is not None
        assert info.size == len(data)
        assert_recent(info.modified, since)
        assert await driver.upload_size("u-place") == len(data)
        assert await collect(driver.read_upload("u-place")) == data
        assert await keys_under(driver, "") == ["placed/object"]
        await driver.abort_upload("u-place")
        assert await driver.get("placed/object") == data
        with pytest.raises(StorageNotFound):
            await driver.upload_size("u-place")

    async def test_place_again_restores_a_deleted_object(self, driver: StorageDriver) -> None:
        data = pattern(6_000, seed=7)
        await driver.create_upload("u-replace")
        await driver.write_upload("u-replace", 0, chunks_of([data]))
        await driver.place_upload("u-replace", "replaced/object", len(data))
        await driver.delete("replaced/object")
        assert await driver.stat("replaced/object") is None
        await driver.place_upload("u-replace", "replaced/object", len(data))
        assert await driver.get("replaced/object") == data
        await driver.place_upload("u-replace", "replaced/object", len(data))
        assert await driver.get("replaced/object") == data
        await driver.abort_upload("u-replace")
        assert await driver.get("replaced/object") == data
        assert await keys_under(driver, "") == ["replaced/object"]

    async def test_place_when_the_key_exists_keeps_the_existing_object(
        self, driver: StorageDriver
    ) -> None:
        await driver.put("kept/object", b"existing")
        await driver.create_upload("u-exists")
        await driver.write_upload("u-exists", 0, chunks_of([b"incoming"]))
        await driver.place_upload("u-exists", "kept/object", 8)
        assert await driver.get("kept/object") == b"existing"
        await driver.abort_upload("u-exists")
        assert await driver.get("kept/object") == b"existing"
        assert await keys_under(driver, "") == ["kept/object"]

    async def test_place_of_the_wrong_size_is_refused(self, driver: StorageDriver) -> None:
        await driver.create_upload("u-size")
        await driver.write_upload("u-size", 0, chunks_of([b"four"]))
        with pytest.raises(StorageError):
            await driver.place_upload("u-size", "sized/object", 5)
        assert await driver.stat("sized/object") is None

    async def test_place_of_a_missing_upload_raises(self, driver: StorageDriver) -> None:
        with pytest.raises(StorageNotFound):
            await driver.place_upload("u-absent", "absent/object", 0)
        await driver.create_upload("u-gone")
        await driver.abort_upload("u-gone")
        with pytest.raises(StorageNotFound):
            await driver.place_upload("u-gone", "absent/object", 0)
        assert await driver.stat("absent/object") is None

    async def test_concurrent_places_of_the_same_content_store_one_object(
        self, driver: StorageDriver
    ) -> None:
        data = pattern(40_000, seed=8)
        for upload_id in ("u-race-1", "u-race-2"):
            await driver.create_upload(upload_id)
            await driver.write_upload(upload_id, 0, chunks_of([data]))
        await asyncio.gather(
            driver.place_upload("u-race-1", "race/object", len(data)),
            driver.place_upload("u-race-2", "race/object", len(data)),
        )
        await driver.abort_upload("u-race-1")
        await driver.abort_upload("u-race-2")
        assert await driver.get("race/object") == data
        assert await keys_under(driver, "") == ["race/object"]
