"""A filesystem as a map from paths to entries: a stage's root filesystem, or the build context.

Paths are normalised (``bin/busybox``; ``""`` is the root). Each entry knows where its bytes are
(a file on disk, or a member of a stored layer), so nothing is extracted until it is needed.
Symbolic links are resolved inside the tree, as in a chroot.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from dockyard.client.errors import BuildError

FILE, DIR, SYMLINK, CHAR, BLOCK, FIFO = "file", "dir", "symlink", "char", "block", "fifo"
_MAX_LINKS = 255


@dataclass(frozen=True)
class DiskFile:
    """Content in a file on disk (the build context, or a spooled extract)."""

    path: Path


@dataclass(frozen=True)
class LayerMember:
    """Content inside a stored layer blob."""

    digest: str
    media_type: str
    member: str


Source = DiskFile | LayerMember


@dataclass(frozen=True)
class Node:
    """One filesystem entry: kind, permission bits, owner, size, link target, content."""

    kind: str
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    size: int = 0
    link: str = ""
    source: Source | None = None
    devmajor: int = 0
    devminor: int = 0

    @property
    def is_dir(self) -> bool:
        return self.kind == DIR

    def owned(self, owner: tuple[int, int] | None) -> Node:
        return self if owner is None else replace(self, uid=owner[0], gid=owner[1])


ROOT = Node(DIR, 0o755)


def norm(path: str) -> str:
    """``/a/./b/../c/`` -> ``a/c``; the root is ``""``; ``..`` never leaves the root."""
    return posixpath.normpath("/" + path).lstrip("/")


def join(*parts: str) -> str:
    return norm("/".join(p for p in parts if p))


def parent(path: str) -> str:
    return path.rpartition("/")[0]


def ancestors(path: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b"]``."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


class Tree:
    """Entries by path, plus each directory's children."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {"": ROOT}
        self.kids: dict[str, set[str]] = {"": set()}

    def copy(self) -> Tree:
        other = Tree()
        other.nodes = dict(self.nodes)
        other.kids = {path: set(names) for path, names in self.kids.items()}
        return other

    def get(self, path: str) -> Node | None:
        return self.nodes.get(path)

    def __contains__(self, path: str) -> bool:
        return path in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def put(self, path: str, node: Node) -> None:
        """Add or replace an entry; missing parent directories appear as ``0755`` root."""
        if not path:
            if node.is_dir:
                self.nodes[""] = node
            return
        for ancestor in ancestors(path):
            existing = self.nodes.get(ancestor)
            if existing is None:
                self._set(ancestor, ROOT)
            elif not existing.is_dir:
                self.remove(ancestor)
                self._set(ancestor, ROOT)
        old = self.nodes.get(path)
        if old is not None and old.is_dir and not node.is_dir:
            self.remove(path)
        self._set(path, node)

    def _set(self, path: str, node: Node) -> None:
        self.nodes[path] = node
        self.kids.setdefault(parent(path), set()).add(posixpath.basename(path))
        if node.is_dir:
            self.kids.setdefault(path, set())

    def remove(self, path: str) -> None:
        """Remove an entry and everything below it."""
        if path not in self.nodes or not path:
            return
        for child in list(self.kids.get(path, ())):
            self.remove(join(path, child))
        self.kids.pop(path, None)
        del self.nodes[path]
        self.kids.get(parent(path), set()).discard(posixpath.basename(path))

    def clear_children(self, path: str) -> None:
        """Empty a directory (an opaque whiteout)."""
        for child in list(self.kids.get(path, ())):
            self.remove(join(path, child))

    def children(self, path: str) -> list[str]:
        return sorted(self.kids.get(path, ()))

    def walk(self, path: str) -> Iterator[tuple[str, Node]]:
        """Every entry below ``path`` (not ``path`` itself), parents before children."""
        for name in self.children(path):
            child = join(path, name)
            node = self.nodes[child]
            yield child, node
            if node.is_dir:
                yield from self.walk(child)

    def resolve(self, path: str, *, follow_last: bool = True) -> str:
        """The path with symbolic links followed (inside this tree); may not exist."""
        pending = [p for p in norm(path).split("/") if p][::-1]
        done: list[str] = []
        hops = 0
        while pending:
            part = pending.pop()
            if part == ".":
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            current = "/".join([*done, part])
            node = self.nodes.get(current)
            if node is not None and node.kind == SYMLINK and (pending or follow_last):
                hops += 1
                if hops > _MAX_LINKS:
                    raise BuildError(f"/{path}: too many levels of symbolic links")
                if node.link.startswith("/"):
                    done = []
                pending.extend(p for p in node.link.split("/")[::-1] if p)
                continue
            done.append(part)
        return "/".join(done)

    def lookup(self, path: str, *, follow_last: bool = True) -> tuple[str, Node | None]:
        """The resolved path and its entry (None when absent)."""
        resolved = self.resolve(path, follow_last=follow_last)
        return resolved, self.nodes.get(resolved)
