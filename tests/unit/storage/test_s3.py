"""The shared driver suite against the S3 driver on a local ``moto_server``, plus S3 specifics:
segment (multipart part) boundaries, uploads continued by another node, presigned URLs.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from dockyard.storage import StorageError
from dockyard.storage.s3 import S3Driver
from dockyard.storage.s3_client import MIN_PART_SIZE
from dockyard.storage.s3_uploads import MAX_TAIL_SEGMENTS, upload_root
from tests.support.s3 import MotoServer
from tests.unit.storage.driver_suite import DriverSuite, chunks_of, collect, pattern

MiB = 1 << 20


@pytest.fixture
async def s3_driver(moto_server: MotoServer) -> AsyncIterator[S3Driver]:
    """A driver on a fresh, empty bucket (no key prefix)."""
    driver = S3Driver(moto_server.config(moto_server.new_bucket()))
    yield driver
    await driver.close()


class TestS3Driver(DriverSuite):
    @pytest.fixture(params=["", "tenant/dockyard/"], ids=["noprefix", "prefix"])
    async def driver(
        self, moto_server: MotoServer, request: pytest.FixtureRequest
    ) -> AsyncIterator[S3Driver]:
        driver = S3Driver(moto_server.config(moto_server.new_bucket(), prefix=request.param))
        yield driver
        await driver.close()


def bucket_keys(driver: S3Driver) -> list[str]:
    """Every key in the driver's bucket, prefix and uploads included (a raw listing)."""
    pages = driver._client.get_paginator("list_objects_v2").paginate(Bucket=driver.bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def segment_sizes(driver: S3Driver, upload_id: str) -> list[int]:
    """Sizes of an upload's data objects, in order."""
    root = upload_root(driver.prefix, upload_id) + "data/"
    page = driver._client.list_objects_v2(Bucket=driver.bucket, Prefix=root)
    return [item["Size"] for item in sorted(page.get("Contents", []), key=lambda i: i["Key"])]


def assert_layout(sizes: list[int]) -> None:
    """Large segments (valid multipart parts) first, then a short tail of small ones."""
    small = [i for i, size in enumerate(sizes) if size < MIN_PART_SIZE]
    assert small == list(range(len(sizes) - len(small), len(sizes))), sizes
    assert sum(sizes[i] for i in small) < MIN_PART_SIZE
    assert len(small) <= MAX_TAIL_SEGMENTS


class TestSegments:
    @pytest.mark.parametrize(
        "writes",
        [
            [MIN_PART_SIZE - 1, 1, MIN_PART_SIZE + 1, 3 * MiB, 12 * MiB + 7],
            [MIN_PART_SIZE, MIN_PART_SIZE, 1],
            [20 * MiB],
            [1, 2, 3, MIN_PART_SIZE],
        ],
        ids=["mixed", "exact-minimum", "one-large", "tiny-then-minimum"],
    )
    async def test_writes_below_and_above_the_part_minimum(
        self, s3_driver: S3Driver, writes: list[int]
    ) -> None:
        await s3_driver.create_upload("u-bounds")
        expected = bytearray()
        for i, size in enumerate(writes):
            data = pattern(size, seed=i)
            offset = await s3_driver.upload_size("u-bounds")
            # Each write arrives in odd-sized chunks, as an HTTP body does.
            chunks = [data[start : start + 700_001] for start in range(0, size, 700_001)]
            assert await s3_driver.write_upload("u-bounds", offset, chunks_of(chunks)) == len(
                expected
            ) + len(data)
            expected += data
            sizes = segment_sizes(s3_driver, "u-bounds")
            assert sum(sizes) == len(expected)
            assert_layout(sizes)
        assert await collect(s3_driver.read_upload("u-bounds")) == bytes(expected)
        await s3_driver.complete_upload("u-bounds", "bounds/blob")
        assert await s3_driver.get("bounds/blob") == bytes(expected)
        assert bucket_keys(s3_driver) == ["bounds/blob"]

    async def test_many_small_patches(self, s3_driver: S3Driver) -> None:
        await s3_driver.create_upload("u-small")
        hasher = hashlib.sha256()
        size = 0
        for i in range(120):
            data = pattern(64 * 1024 + i, seed=i)
            hasher.update(data)
            size = await s3_driver.write_upload("u-small", size, chunks_of([data]))
        sizes = segment_sizes(s3_driver, "u-small")
        assert sum(sizes) == size
        assert_layout(sizes)
        assert sizes[0] >= MIN_PART_SIZE  # the small pieces were merged once they reached 5 MiB
        rehash = hashlib.sha256()
        async for chunk in s3_driver.read_upload("u-small"):
            rehash.update(chunk)
        assert rehash.hexdigest() == hasher.hexdigest()
        await s3_driver.complete_upload("u-small", "small/blob")
        stored = hashlib.sha256(await s3_driver.get("small/blob")).hexdigest()
        assert stored == hasher.hexdigest()

    async def test_small_part_size_setting_makes_more_segments(
        self, moto_server: MotoServer
    ) -> None:
        driver = S3Driver(moto_server.config(moto_server.new_bucket(), part_size=MIN_PART_SIZE))
        data = pattern(17 * MiB, seed=8)
        await driver.create_upload("u-parts")
        blocks = [data[i : i + MiB] for i in range(0, len(data), MiB)]
        await driver.write_upload("u-parts", 0, chunks_of(blocks))
        assert segment_sizes(driver, "u-parts") == [5 * MiB, 5 * MiB, 5 * MiB, 2 * MiB]
        await driver.complete_upload("u-parts", "parts/blob")
        assert await driver.get("parts/blob") == data
        await driver.close()

    async def test_complete_keeps_an_existing_object_and_cleans_up(
        self, s3_driver: S3Driver
    ) -> None:
        await s3_driver.put("kept/blob", b"first")
        await s3_driver.create_upload("u-late")
        await s3_driver.write_upload("u-late", 0, chunks_of([pattern(11 * MiB)]))
        await s3_driver.complete_upload("u-late", "kept/blob")
        assert await s3_driver.get("kept/blob") == b"first"
        assert bucket_keys(s3_driver) == ["kept/blob"]
        uploads = s3_driver._client.list_multipart_uploads(Bucket=s3_driver.bucket)
        assert not uploads.get("Uploads")

    async def test_tiny_patches_are_merged_before_the_tail_grows_long(
        self, s3_driver: S3Driver
    ) -> None:
        await s3_driver.create_upload("u-tiny")
        size = 0
        for i in range(MAX_TAIL_SEGMENTS * 2 + 3):
            size = await s3_driver.write_upload("u-tiny", size, chunks_of([bytes([i]) * 10]))
            assert_layout(segment_sizes(s3_driver, "u-tiny"))
        expected = b"".join(bytes([i]) * 10 for i in range(MAX_TAIL_SEGMENTS * 2 + 3))
        assert await collect(s3_driver.read_upload("u-tiny")) == expected
        await s3_driver.complete_upload("u-tiny", "tiny/blob")
        assert await s3_driver.get("tiny/blob") == expected


class TestAnotherNode:
    async def test_an_upload_continued_and_completed_by_a_second_driver(
        self, moto_server: MotoServer
    ) -> None:
        config = moto_server.config(moto_server.new_bucket(), prefix="node/")
        first, second = S3Driver(config), S3Driver(config)
        part_one, part_two = pattern(6 * MiB + 3, seed=1), pattern(2 * MiB, seed=2)
        part_three = pattern(MiB, seed=3)
        await first.create_upload("u-shared")
        assert await first.write_upload("u-shared", 0, chunks_of([part_one])) == len(part_one)
        # Node two knows nothing but the upload id, as after a load balancer switch.
        assert await second.upload_size("u-shared") == len(part_one)
        size = await second.write_upload("u-shared", len(part_one), chunks_of([part_two]))
        # Back on node one: it sees node two's data and merges into its small last segment.
        size = await first.write_upload("u-shared", size, chunks_of([part_three]))
        whole = part_one + part_two + part_three
        assert size == len(whole)
        rehash = hashlib.sha256()
        async for chunk in second.read_upload("u-shared"):
            rehash.update(chunk)
        assert rehash.hexdigest() == hashlib.sha256(whole).hexdigest()
        await second.complete_upload("u-shared", "shared/blob")
        assert await first.get("shared/blob") == whole
        with pytest.raises(StorageError):
            await first.upload_size("u-shared")
        await first.close()
        await second.close()

    async def test_a_client_that_went_away_leaves_a_resumable_upload(
        self, moto_server: MotoServer
    ) -> None:
        config = moto_server.config(moto_server.new_bucket())
        first, second = S3Driver(config), S3Driver(config)
        sent = pattern(9 * MiB, seed=6)

        async def broken() -> AsyncIterator[bytes]:
            for start in range(0, len(sent), 256 * 1024):
                yield sent[start : start + 256 * 1024]
            raise ConnectionError("client went away")

        await first.create_upload("u-broken")
        with pytest.raises(ConnectionError):
            await first.write_upload("u-broken", 0, broken())
        size = await second.upload_size("u-broken")
        assert size == len(sent)
        await second.write_upload("u-broken", size, chunks_of([b"end"]))
        assert await collect(second.read_upload("u-broken")) == sent + b"end"
        await first.close()
        await second.close()


class TestPresignedUrls:
    async def test_presigned_get_over_plain_http(self, s3_driver: S3Driver) -> None:
        data = pattern(3 * MiB + 5, seed=4)
        await s3_driver.put("signed/blob", data)
        url = await s3_driver.url_for("signed/blob", expires_in=300)
        assert url is not None
        assert url.startswith("http://127.0.0.1:")
        assert "X-Amz-Signature=" in url
        async with httpx.AsyncClient() as http:
            whole = await http.get(url)
            assert whole.status_code == 200
            assert whole.content == data
            ranged = await http.get(url, headers={"Range": "bytes=10-19"})
            assert ranged.status_code == 206
            assert ranged.content == data[10:20]

    async def test_public_endpoint_is_used_in_presigned_urls(self, moto_server: MotoServer) -> None:
        config = moto_server.config(
            moto_server.new_bucket(), public_endpoint_url="http://s3.example.test:9000"
        )
        driver = S3Driver(config)
        url = await driver.url_for("some/blob", expires_in=60)
        assert url is not None
        assert url.startswith("http://s3.example.test:9000/")
        await driver.close()


class TestErrors:
    async def test_a_missing_bucket_is_a_storage_error(self, moto_server: MotoServer) -> None:
        driver = S3Driver(moto_server.config("dky-no-such-bucket"))
        with pytest.raises(StorageError):
            await collect(driver.list(""))
        with pytest.raises(StorageError):
            await driver.put("any/key", b"x")
        await driver.close()

    async def test_an_unreachable_endpoint_is_a_storage_error(
        self, moto_server: MotoServer
    ) -> None:
        from tests.support.servers import free_port

        config = moto_server.config(
            "dky-bucket", endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1
        )
        driver = S3Driver(config)
        with pytest.raises(StorageError):
            await driver.stat("any/key")
        await driver.close()
