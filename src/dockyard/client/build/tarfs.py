"""Reading tar streams into trees: an image's stored layers (whiteouts applied) and the local
archives ``ADD`` extracts (gzip, bzip2, xz or plain tar).

File contents stay where they are until a build step needs them; :class:`Contents` then spools
the wanted members of a layer to disk in one pass over it.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO

from dockyard.client.blobstore import BlobStore
from dockyard.client.build.tree import (
    BLOCK,
    CHAR,
    DIR,
    FIFO,
    FILE,
    SYMLINK,
    DiskFile,
    LayerMember,
    Node,
    Source,
    Tree,
    norm,
    parent,
)
from dockyard.client.errors import BuildError

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_MAGIC = {
    b"\x1f\x8b": "gz",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
}
_ZSTD = b"\x28\xb5\x2f\xfd"


def compression(head: bytes) -> str | None:
    """``gz``, ``bz2``, ``xz``, ``zstd`` or None (plain) from a stream's first bytes."""
    if head.startswith(_ZSTD):
        return "zstd"
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)


@contextlib.contextmanager
def open_tar(path: Path, what: str) -> Iterator[tarfile.TarFile]:
    """A tar stream over ``path``, decompressed by what its first bytes say it is."""
    with path.open("rb") as raw:
        kind = compression(raw.read(6))
        raw.seek(0)
        if kind == "zstd":
            raise BuildError(f"{what} is zstd-compressed, which dockyard build cannot read")
        try:
            with tarfile.open(fileobj=raw, mode="r|*") as tar:
                yield tar
        except (tarfile.TarError, EOFError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise
            raise BuildError(f"{what} is not a readable tar archive: {exc}") from None


def member_node(member: tarfile.TarInfo, source: Source | None) -> Node | None:
    """The tree entry of a tar member (None for kinds a filesystem cannot hold)."""
    mode, uid, gid = member.mode & 0o7777, member.uid, member.gid
    if member.isreg():
        return Node(FILE, mode, uid, gid, size=member.size, source=source)
    if member.isdir():
        return Node(DIR, mode, uid, gid)
    if member.issym():
        return Node(SYMLINK, mode, uid, gid, link=member.linkname)
    if member.ischr() or member.isblk():
        kind = CHAR if member.ischr() else BLOCK
        return Node(kind, mode, uid, gid, devmajor=member.devmajor, devminor=member.devminor)
    if member.isfifo():
        return Node(FIFO, mode, uid, gid)
    return None


SourceFor = Callable[[tarfile.TarInfo, str], Source]


def _entries(
    tar: tarfile.TarFile, source_for: SourceFor, lookup: Tree | None
) -> Iterator[tuple[str, Node]]:
    """``(path, node)`` per member; a hard link becomes a copy of its target file."""
    seen: dict[str, Node] = {}
    for member in tar:
        path = norm(member.name)
        if member.islnk():
            target = norm(member.linkname)
            node = seen.get(target) or (lookup.get(target) if lookup is not None else None)
            if node is None or node.kind != FILE:
                continue
        else:
            source = source_for(member, path) if member.isreg() else None
            found = member_node(member, source)
            if found is None:
                continue
            node = found
        seen[path] = node
        yield path, node


def apply_layer(tree: Tree, blobs: BlobStore, descriptor: dict[str, object]) -> None:
    """Apply a stored layer to ``tree``: whiteouts first (they hide lower layers), then entries."""
    digest, media_type = str(descriptor["digest"]), str(descriptor.get("mediaType", ""))
    whiteouts: list[str] = []
    opaque: list[str] = []
    added: list[tuple[str, Node]] = []
    with open_tar(blobs.path(digest), f"layer {digest}") as tar:
        members = _entries(tar, lambda _m, path: LayerMember(digest, media_type, path), tree)
        for path, node in members:
            name = path.rpartition("/")[2]
            if name == _OPAQUE:
                opaque.append(parent(path))
            elif name.startswith(_WHITEOUT):
                whiteouts.append(path[: len(path) - len(name)] + name[len(_WHITEOUT) :])
            elif path:
                added.append((path, node))
    for directory in opaque:
        tree.clear_children(directory)
    for path in whiteouts:
        tree.remove(path)
    for path, node in added:
        tree.put(path, node)


def with_source(node: Node, source: Source) -> Node:
    """The same entry with its content elsewhere."""
    return replace(node, source=source)


def is_archive(path: Path) -> bool:
    """True when ``path`` is a tar archive (plain, gzip, bzip2 or xz) with at least one entry."""
    try:
        with path.open("rb") as raw:
            if compression(raw.read(6)) == "zstd":
                return True
            raw.seek(0)
            with tarfile.open(fileobj=raw, mode="r|*") as tar:
                return tar.next() is not None
    except (tarfile.TarError, EOFError, OSError, ValueError):
        return False


def read_archive(path: Path, spool: Spool, what: str) -> list[tuple[str, Node]]:
    """The entries of a local archive for ``ADD``, file contents spooled to disk."""
    with open_tar(path, what) as tar:

        def spooled(member: tarfile.TarInfo, _path: str) -> Source:
            extracted = tar.extractfile(member)
            assert extracted is not None
            return DiskFile(spool.write(extracted))

        return [(p, node) for p, node in _entries(tar, spooled, None) if p]


class Spool:
    """Numbered temp files in a build's scratch directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._counter = itertools.count()

    def write(self, source: IO[bytes]) -> Path:
        path = self.directory / f"spool-{next(self._counter)}"
        with path.open("wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        return path


class Contents:
    """Brings file contents out of stored layers, one pass per layer, only when needed."""

    def __init__(self, blobs: BlobStore, spool: Spool) -> None:
        self.blobs = blobs
        self.spool = spool
        self._done: dict[LayerMember, Path] = {}

    def materialize(self, entries: Iterable[tuple[str, Node]]) -> list[tuple[str, Node]]:
        """The entries with every layer-held content replaced by a spooled file."""
        items = list(entries)
        wanted: dict[tuple[str, str], set[str]] = {}
        for _, node in items:
            source = node.source
            if isinstance(source, LayerMember) and source not in self._done:
                wanted.setdefault((source.digest, source.media_type), set()).add(source.member)
        for (digest, media_type), members in wanted.items():
            self._extract(digest, media_type, members)
        result = []
        for path, node in items:
            if isinstance(node.source, LayerMember):
                node = with_source(node, DiskFile(self._done[node.source]))
            result.append((path, node))
        return result

    def _extract(self, digest: str, media_type: str, members: set[str]) -> None:
        with open_tar(self.blobs.path(digest), f"layer {digest}") as tar:
            for member in tar:
                name = norm(member.name)
                if name in members and member.isreg():
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    path = self.spool.write(extracted)
                    self._done[LayerMember(digest, media_type, name)] = path
        missing = [m for m in members if LayerMember(digest, media_type, m) not in self._done]
        if missing:
            raise BuildError(f"layer {digest} does not hold {missing[0]}")

    def read(self, node: Node) -> bytes:
        """The bytes of a (small) regular file."""
        if node.source is None:
            return b""
        [(_, found)] = self.materialize([("", node)])
        assert isinstance(found.source, DiskFile)
        return found.source.path.read_bytes()
