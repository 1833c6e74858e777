"""Layer files: tar streams listed once (gzip or plain), whiteouts, opaque dirs, caching."""

from __future__ import annotations

import gzip
import io
import tarfile

import anyio
import pytest

from dockyard.hub import layers
from dockyard.hub.layers import LayerIndex, LayerListing, TarEntry, browse, changes, summarize
from dockyard.oci.digest import Digest
from dockyard.storage import paths
from dockyard.storage.memory import MemoryDriver
from tests.support.web import APP_LAYER, BASE_LAYER, tar_gz


def listing_of(files: dict[str, bytes | str | None]) -> LayerListing:
    entries, compression, truncated = layers.list_tar(io.BytesIO(tar_gz(files)))  # type: ignore[arg-type]
    assert compression == "gzip"
    assert not truncated
    return LayerListing("sha256:" + "0" * 64, tuple(entries))


def test_list_tar_reads_kinds_sizes_and_links() -> None:
    listing = listing_of(BASE_LAYER)
    by_path = {e.path: e for e in listing.entries}
    assert by_path["bin/busybox"] == TarEntry("bin/busybox", "f", 5004, 0o644, "")
    assert by_path["bin/sh"].kind == "l"
    assert by_path["bin/sh"].target == "busybox"
    assert by_path["etc"].kind == "d"


def test_plain_tar_and_dot_slash_names() -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name in ("./", "./usr/", "./usr/hello"):
            info = tarfile.TarInfo(name)
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = 3
                archive.addfile(info, io.BytesIO(b"abc"))
    entries, compression, _ = layers.list_tar(io.BytesIO(raw.getvalue()))  # type: ignore[arg-type]
    assert compression == ""
    assert [e.path for e in entries] == ["usr", "usr/hello"]


def test_entries_are_capped() -> None:
    files: dict[str, bytes | str | None] = {f"f{i}": b"x" for i in range(50)}
    entries, _, truncated = layers.list_tar(io.BytesIO(tar_gz(files)), max_entries=10)  # type: ignore[arg-type]
    assert truncated
    assert len(entries) == 10


@pytest.mark.parametrize("data", [b"not a tar at all" * 100, gzip.compress(b"\x00garbage" * 10)])
def test_not_a_tar(data: bytes) -> None:
    with pytest.raises(ValueError, match="tar"):
        layers.list_tar(io.BytesIO(data))  # type: ignore[arg-type]


def test_changes_classify_whiteouts_and_opaque_directories() -> None:
    base, app = listing_of(BASE_LAYER), listing_of(APP_LAYER)
    found = {c.path: c.change for c in changes([base], app)}
    assert found["app/server.py"] == "added"
    assert found["etc/os-release"] == "changed"
    assert found["etc/motd"] == "deleted"
    assert found["tmp/cache"] == "opaque"
    assert "etc" not in found  # directories already there are not changes
    summary = summarize(changes([base], app))
    assert (summary.added, summary.changed, summary.deleted, summary.opaque) == (2, 1, 1, 1)


def test_whiteouts_hide_lower_files_from_later_layers() -> None:
    base, app = listing_of(BASE_LAYER), listing_of(APP_LAYER)
    again = listing_of({"etc/motd": b"back\n", "tmp/cache/a.bin": b"new"})
    found = {c.path: c.change for c in changes([base, app], again)}
    assert found["etc/motd"] == "added"  # deleted by the layer below, so new again
    assert found["tmp/cache/a.bin"] == "added"  # hidden by the opaque directory


def test_browse_groups_by_directory() -> None:
    found = changes([listing_of(BASE_LAYER)], listing_of(APP_LAYER))
    top = {e.name: e for e in browse(found, "")}
    assert set(top) == {"app", "etc", "tmp"}
    assert top["app"].kind == "d"
    assert top["app"].change == "added"
    assert top["app"].count == 3
    inside = {e.name: e for e in browse(found, "etc/")}
    assert inside["os-release"].change == "changed"
    assert inside["motd"].change == "deleted"


async def test_index_computes_once_and_caches_in_storage() -> None:
    storage = MemoryDriver()
    blob = tar_gz(BASE_LAYER)
    digest = Digest.of(blob)
    await storage.put(paths.blob_key(digest), blob)
    index = LayerIndex(storage)
    async with anyio.create_task_group() as group:  # concurrent first views share one computation
        for _ in range(3):
            group.start_soon(index.listing, str(digest))
    listing = await index.listing(str(digest))
    assert "bin/busybox" in {e.path for e in listing.entries}
    cached = await storage.get(paths.layer_listing_key(digest))
    assert b"bin/busybox" in cached
    await storage.delete(paths.blob_key(digest))  # the listing no longer needs the blob
    fresh = await LayerIndex(storage).listing(str(digest))
    assert fresh == listing


async def test_unreadable_layers_are_reported_not_raised() -> None:
    storage = MemoryDriver()
    blob = b"definitely not a tar archive" * 40
    digest = Digest.of(blob)
    await storage.put(paths.blob_key(digest), blob)
    listing = await LayerIndex(storage).listing(str(digest))
    assert listing.error
    assert listing.entries == ()


async def test_zstd_layers_need_the_optional_package() -> None:
    storage = MemoryDriver()
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        zstandard = None
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo("hello")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    if zstandard is not None:
        blob = zstandard.ZstdCompressor().compress(raw.getvalue())
    else:
        blob = b"\x28\xb5\x2f\xfd" + b"\x00" * 64  # zstd magic; cannot be read without the package
    digest = Digest.of(blob)
    await storage.put(paths.blob_key(digest), blob)
    listing = await LayerIndex(storage).listing(str(digest))
    if zstandard is not None:
        assert [e.path for e in listing.entries] == ["hello"]
        assert listing.compression == "zstd"
    else:
        assert "zstandard" in listing.error
