"""What a layer holds: the files of a layer blob, listed once and cached, and what they change.

A listing is computed lazily, the first time someone looks, by streaming the blob through a
decompressor (gzip, zstd when the ``zstandard`` package is installed, or none) into
:mod:`tarfile`'s stream mode in a worker thread: memory stays flat whatever the layer's size,
and at most :data:`MAX_ENTRIES` entries are kept. The listing is stored as JSON next to the
blob (``storage.paths.layer_listing_key``), so every node computes it at most once.

Whiteouts follow the OCI image spec: ``dir/.wh.name`` deletes ``dir/name`` from the layers
below, ``dir/.wh..wh..opq`` hides everything below ``dir`` (an *opaque* directory).
"""

from __future__ import annotations

import asyncio
import gzip
import importlib
import io
import json
import logging
import tarfile
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

import anyio.from_thread
import anyio.to_thread

from dockyard.oci.digest import Digest
from dockyard.storage import StorageDriver, StorageError, paths

log = logging.getLogger("dockyard.layers")

#: Most entries kept of one layer (the rest is counted as "truncated").
MAX_ENTRIES = 100_000
#: Listings kept parsed in memory by one process.
MEMORY_CACHE = 16
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
_LISTING_VERSION = 1
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

#: Entry kinds: file, directory, symlink, hard link, whiteout, opaque marker, other (devices).
FILE, DIRECTORY, SYMLINK, HARDLINK, WHITEOUT, OPAQUE, OTHER = "f", "d", "l", "h", "w", "o", "x"


@dataclass(frozen=True, slots=True)
class TarEntry:
    """One member of a layer's tar stream (``path`` without ``./`` or a trailing slash)."""

    path: str
    kind: str
    size: int
    mode: int = 0
    target: str = ""


@dataclass(frozen=True, slots=True)
class LayerListing:
    """Every entry of a layer (up to :data:`MAX_ENTRIES`), or why it could not be read."""

    digest: str
    entries: tuple[TarEntry, ...]
    compression: str = ""
    truncated: bool = False
    error: str = ""


@dataclass(frozen=True, slots=True)
class FileChange:
    """What a layer does to one path: ``added``, ``changed``, ``deleted`` or ``opaque``."""

    path: str
    change: str
    kind: str
    size: int
    target: str = ""


@dataclass(frozen=True, slots=True)
class BrowseEntry:
    """A child of the directory being browsed: a change, or a directory holding some."""

    name: str
    path: str
    kind: str
    change: str
    size: int
    #: Changes beneath (for directories).
    count: int
    #: Where a symbolic or hard link points.
    target: str = ""


# --- reading a tar stream ----------------------------------------------------------------------
def _normalize(name: str) -> str:
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name.strip("/")


def entry_of(info: tarfile.TarInfo) -> TarEntry | None:
    """The entry a tar member stands for (None for the root directory itself)."""
    path = _normalize(info.name)
    if not path or path == ".":
        return None
    base = path.rsplit("/", 1)[-1]
    if base == OPAQUE_MARKER:
        return TarEntry(path, OPAQUE, 0)
    if base.startswith(WHITEOUT_PREFIX):
        return TarEntry(path, WHITEOUT, 0)
    if info.isdir():
        kind = DIRECTORY
    elif info.issym():
        kind = SYMLINK
    elif info.islnk():
        kind = HARDLINK
    elif info.isfile():
        kind = FILE
    else:
        kind = OTHER
    target = _normalize(info.linkname) if kind == HARDLINK else info.linkname
    return TarEntry(path, kind, info.size if kind == FILE else 0, info.mode & 0o7777, target)


def _open_decompressed(raw: io.RawIOBase) -> tuple[BinaryIO, str]:
    """``raw`` decompressed according to its magic bytes, and the compression's name."""
    buffered = io.BufferedReader(raw, 256 * 1024)
    magic = buffered.peek(4)[:4]
    if magic.startswith(_GZIP_MAGIC):
        return cast(BinaryIO, gzip.GzipFile(fileobj=buffered, mode="rb")), "gzip"
    if magic == _ZSTD_MAGIC:
        try:
            zstandard: Any = importlib.import_module("zstandard")
        except ImportError:
            raise ValueError("zstd layer, and the zstandard package is not installed") from None
        reader = zstandard.ZstdDecompressor().stream_reader(buffered, read_size=256 * 1024)
        return reader, "zstd"
    return cast(BinaryIO, buffered), ""


def list_tar(raw: io.RawIOBase, max_entries: int = MAX_ENTRIES) -> tuple[list[TarEntry], str, bool]:
    """Entries of a (possibly compressed) tar stream, read once front to back.

    Returns ``(entries, compression, truncated)``; raises ValueError when it is not a tar
    stream or is corrupt.
    """
    compression = ""
    entries: list[TarEntry] = []
    try:
        stream, compression = _open_decompressed(raw)
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for info in archive:
                if len(entries) >= max_entries:
                    return entries, compression, True
                entry = entry_of(info)
                if entry is not None:
                    entries.append(entry)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        if not entries:
            raise ValueError(f"not a readable tar archive: {exc}") from None
        raise ValueError(f"the archive is corrupt after {len(entries)} entries: {exc}") from None
    except Exception as exc:  # zstandard raises its own error class
        if type(exc).__module__.startswith("zstandard"):
            raise ValueError(f"corrupt zstd data: {exc}") from None
        raise
    return entries, compression, False


class _ChunkReader(io.RawIOBase):
    """A blocking file object over an async byte iterator, for a worker thread of anyio."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    async def _next(self) -> bytes:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return b""

    def readinto(self, buffer: Any) -> int:
        while not self._buffer and not self._eof:
            chunk = anyio.from_thread.run(self._next)
            if chunk:
                self._buffer = chunk
            else:
                self._eof = True
        size = min(len(buffer), len(self._buffer))
        buffer[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


# --- listings, cached ------------------------------------------------------------------------
def _encode(listing: LayerListing) -> bytes:
    return json.dumps(
        {
            "version": _LISTING_VERSION,
            "digest": listing.digest,
            "compression": listing.compression,
            "truncated": listing.truncated,
            "error": listing.error,
            "entries": [[e.path, e.kind, e.size, e.mode, e.target] for e in listing.entries],
        },
        separators=(",", ":"),
    ).encode()


def _decode(data: bytes) -> LayerListing | None:
    try:
        doc = json.loads(data)
        if doc.get("version") != _LISTING_VERSION:
            return None
        entries = tuple(
            TarEntry(str(p), str(k), int(s), int(m), str(t)) for p, k, s, m, t in doc["entries"]
        )
        return LayerListing(
            str(doc["digest"]),
            entries,
            str(doc.get("compression", "")),
            bool(doc.get("truncated")),
            str(doc.get("error", "")),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class LayerIndex:
    """Lists the files of layer blobs on demand, caching listings in storage and memory."""

    def __init__(self, storage: StorageDriver, *, max_entries: int = MAX_ENTRIES) -> None:
        self.storage = storage
        self.max_entries = max_entries
        self._memory: OrderedDict[str, LayerListing] = OrderedDict()
        self._running: dict[str, asyncio.Future[LayerListing]] = {}

    async def listing(self, digest_text: str) -> LayerListing:
        """The listing of the layer blob ``digest_text`` (computed once, then cached)."""
        digest = Digest.parse(digest_text)
        key = str(digest)
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        running = self._running.get(key)
        if running is not None:  # someone is computing it now: wait for their result
            return await asyncio.shield(running)
        future: asyncio.Future[LayerListing] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            listing = await self._load_or_compute(digest)
            future.set_result(listing)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            del self._running[key]
        self._memory[key] = listing
        while len(self._memory) > MEMORY_CACHE:
            self._memory.popitem(last=False)
        return listing

    async def _load_or_compute(self, digest: Digest) -> LayerListing:
        cache_key = paths.layer_listing_key(digest)
        try:
            cached = await self.storage.get(cache_key)
        except StorageError:
            cached = None
        if cached is not None:
            found = _decode(cached)
            if found is not None:
                return found
        listing = await self._compute(digest)
        try:
            await self.storage.put(cache_key, _encode(listing))
        except StorageError:
            log.warning("could not cache the file listing of %s", digest, exc_info=True)
        return listing

    async def _compute(self, digest: Digest) -> LayerListing:
        blob = paths.blob_key(digest)
        local = self.storage.local_path(blob)
        if local is not None:

            def read_local() -> tuple[list[TarEntry], str, bool]:
                with open(local, "rb", buffering=0) as fh:
                    return list_tar(fh, self.max_entries)

            work: Callable[[], tuple[list[TarEntry], str, bool]] = read_local
        else:
            chunks = self.storage.read(blob)

            def read_remote() -> tuple[list[TarEntry], str, bool]:
                return list_tar(_ChunkReader(chunks), self.max_entries)

            work = read_remote
        try:
            entries, compression, truncated = await anyio.to_thread.run_sync(work)
        except FileNotFoundError:
            raise StorageError(f"blob {digest} is missing from storage") from None
        except ValueError as exc:
            return LayerListing(str(digest), (), error=str(exc))
        return LayerListing(str(digest), tuple(entries), compression, truncated)


# --- what a layer changes ----------------------------------------------------------------------
def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _remove_tree(present: set[str], path: str) -> None:
    present.discard(path)
    prefix = path + "/"
    for existing in [p for p in present if p.startswith(prefix)]:
        present.discard(existing)


def _clear_directory(present: set[str], directory: str) -> None:
    prefix = directory + "/" if directory else ""
    for existing in [p for p in present if p.startswith(prefix) and p != directory]:
        present.discard(existing)


def apply(present: set[str], listing: LayerListing) -> None:
    """Apply a layer to the set of paths the layers below it left (in place)."""
    for entry in listing.entries:
        if entry.kind == OPAQUE:
            _clear_directory(present, _parent(entry.path))
        elif entry.kind == WHITEOUT:
            name = entry.path.rsplit("/", 1)[-1][len(WHITEOUT_PREFIX) :]
            _remove_tree(present, _join(_parent(entry.path), name))
    for entry in listing.entries:
        if entry.kind not in (OPAQUE, WHITEOUT):
            present.add(entry.path)


def changes(lower: Iterable[LayerListing], layer: LayerListing) -> list[FileChange]:
    """What ``layer`` does on top of ``lower`` (bottom first): each path it adds or changes,
    each path it deletes (whiteouts) and each directory it makes opaque.

    Directories that already existed below are left out (tar streams repeat them).
    """
    present: set[str] = set()
    for below in lower:
        apply(present, below)
    found: list[FileChange] = []
    for entry in layer.entries:
        if entry.kind == OPAQUE:
            found.append(FileChange(_parent(entry.path), "opaque", DIRECTORY, 0))
        elif entry.kind == WHITEOUT:
            name = entry.path.rsplit("/", 1)[-1][len(WHITEOUT_PREFIX) :]
            found.append(FileChange(_join(_parent(entry.path), name), "deleted", OTHER, 0))
        elif entry.path in present:
            if entry.kind != DIRECTORY:
                found.append(
                    FileChange(entry.path, "changed", entry.kind, entry.size, entry.target)
                )
        else:
            found.append(FileChange(entry.path, "added", entry.kind, entry.size, entry.target))
    return found


def browse(found: list[FileChange], directory: str) -> list[BrowseEntry]:
    """The children of ``directory`` among ``found``: directories first, then by name."""
    directory = directory.strip("/")
    prefix = directory + "/" if directory else ""
    children: dict[str, BrowseEntry] = {}
    for item in found:
        if not item.path.startswith(prefix) or item.path == directory:
            continue
        rest = item.path[len(prefix) :]
        name, _, below = rest.partition("/")
        path = prefix + name
        current = children.get(name)
        if not below:
            if current is None:
                children[name] = BrowseEntry(
                    name, path, item.kind, item.change, item.size, 0, item.target
                )
            else:  # a directory met through its contents first
                change = item.change or current.change
                children[name] = BrowseEntry(
                    name, path, current.kind, change, current.size, current.count
                )
        else:
            if current is None:
                current = BrowseEntry(name, path, DIRECTORY, "", 0, 0)
            children[name] = BrowseEntry(
                name, path, DIRECTORY, current.change, current.size + item.size, current.count + 1
            )
    return sorted(children.values(), key=lambda c: (c.kind != DIRECTORY, c.name))


@dataclass(frozen=True, slots=True)
class ChangeSummary:
    """Counts and bytes of a layer's changes."""

    added: int
    changed: int
    deleted: int
    opaque: int
    bytes_added: int


def summarize(found: list[FileChange]) -> ChangeSummary:
    """How many paths a layer adds, changes and deletes, and the bytes of its files."""
    counts = {"added": 0, "changed": 0, "deleted": 0, "opaque": 0}
    total = 0
    for item in found:
        if item.kind == DIRECTORY and item.change == "added":
            continue
        counts[item.change] += 1
        total += item.size
    return ChangeSummary(
        counts["added"], counts["changed"], counts["deleted"], counts["opaque"], total
    )
