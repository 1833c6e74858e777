"""``COPY`` and ``ADD``: which entries a new layer holds, by docker's rules.

- Sources are relative to the context root (or the root of the ``--from`` stage or image) and may
  be globs; a source that is a directory has its *contents* copied; a symbolic link named as a
  source is followed, links inside a copied directory are kept.
- The destination is relative to ``WORKDIR``; it is a directory when it ends with ``/``, when it
  already is one, or when there are several sources (which needs the ``/``).
- Missing parent directories are created ``0755``; ``--chown`` owns what is copied and created,
  ``--chmod`` sets the mode of copied files and directories. Context files belong to root
  unless ``--chown``; files from a stage or image keep their owner.
- ``ADD`` extracts a local tar archive (plain, gzip, bzip2, xz) into the destination directory;
  its entries keep their modes and owners (``--chown`` still applies, ``--chmod`` does not).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace

from dockyard.client.build.context import glob
from dockyard.client.build.tarfs import Spool, is_archive, read_archive
from dockyard.client.build.tree import (
    DIR,
    FILE,
    SYMLINK,
    DiskFile,
    Node,
    Tree,
    ancestors,
    join,
    norm,
    parent,
)
from dockyard.client.errors import BuildError


@dataclass(frozen=True)
class CopyRequest:
    """One ``COPY``/``ADD`` after variable substitution."""

    keyword: str
    where: str
    sources: tuple[str, ...]
    dest: str
    workdir: str
    owner: tuple[int, int] | None = None
    chmod: int | None = None
    from_context: bool = True
    from_name: str = ""

    @property
    def extract_archives(self) -> bool:
        return self.keyword == "ADD" and self.from_context


def dest_is_directory(dest: str) -> bool:
    return dest.endswith("/") or posixpath.basename(dest) in (".", "..")


def plan_copy(
    request: CopyRequest, source: Tree, target: Tree, spool: Spool
) -> list[tuple[str, Node]]:
    """The entries of the new layer (sorted); ``target`` is not changed."""
    dest = request.dest if request.dest.startswith("/") else join(request.workdir, request.dest)
    dest_path = norm(dest)
    as_dir = dest_is_directory(request.dest)
    if len(request.sources) > 1 and not as_dir:
        raise BuildError(
            f"{request.where}: when using {request.keyword} with more than one source file, "
            "the destination must be a directory and end with a /"
        )
    matches: list[str] = []
    for pattern in request.sources:
        found = glob(source, norm(pattern))
        if not found:
            raise BuildError(
                f"{request.where}: {request.keyword} failed: {_missing(request, pattern)}"
            )
        matches.extend(found)
    many = len(matches) > 1
    planner = _Planner(request, target)
    for match in matches:
        resolved, node = source.lookup(match)
        if node is None:
            raise BuildError(
                f"{request.where}: {request.keyword} failed: {_missing(request, match)}"
            )
        if node.is_dir:
            into = planner.directory(dest_path)
            for path, child in source.walk(resolved):
                planner.add(join(into, path[len(resolved) :]), child)
        elif request.extract_archives and node.kind == FILE and _archive(node):
            into = planner.directory(dest_path)
            assert isinstance(node.source, DiskFile)
            for path, child in read_archive(node.source.path, spool, f"{request.where}: {match}"):
                planner.add(join(into, path), child, from_archive=True)
        elif as_dir or many or _is_dir(target, dest_path):
            planner.add(join(planner.directory(dest_path), posixpath.basename(match)), node)
        else:
            where = join(target.resolve(parent(dest_path)), posixpath.basename(dest_path))
            planner.add(where, node)
    return planner.finish()


def _archive(node: Node) -> bool:
    return isinstance(node.source, DiskFile) and is_archive(node.source.path)


def _is_dir(tree: Tree, path: str) -> bool:
    node = tree.lookup(path)[1]
    return node is not None and node.is_dir


def _missing(request: CopyRequest, pattern: str) -> str:
    if request.from_context:
        return f"{pattern}: not found in the build context (or excluded by .dockerignore)"
    return f"{pattern}: not found in {request.from_name}"


class _Planner:
    """Collects the entries of one layer, with owner and mode applied and parents created."""

    def __init__(self, request: CopyRequest, target: Tree) -> None:
        self.request = request
        self.target = target
        self.entries: dict[str, Node] = {}

    def directory(self, path: str) -> str:
        """The destination directory (symbolic links followed), created when missing."""
        resolved = self.target.resolve(path)
        existing = self.target.get(resolved)
        if existing is not None and not existing.is_dir:
            raise BuildError(
                f"{self.request.where}: cannot copy into /{resolved}: it is not a directory"
            )
        if existing is None and resolved and resolved not in self.entries:
            self.entries[resolved] = self._new_dir()
        return resolved

    def _new_dir(self) -> Node:
        return Node(DIR, 0o755).owned(self.request.owner)

    def add(self, path: str, node: Node, *, from_archive: bool = False) -> None:
        """Add an entry; an archive's entries keep their owner (unless --chown) and mode."""
        request = self.request
        if request.owner is not None:
            node = node.owned(request.owner)
        elif request.from_context and not from_archive:
            node = node.owned((0, 0))
        if request.chmod is not None and node.kind != SYMLINK and not from_archive:
            node = replace(node, mode=request.chmod)
        existing = self.target.get(path)
        if existing is not None and existing.is_dir and not node.is_dir:
            raise BuildError(
                f"{request.where}: cannot replace the directory /{path} with a "
                f"{'symbolic link' if node.kind == SYMLINK else 'file'}"
            )
        self.entries[path] = node

    def finish(self) -> list[tuple[str, Node]]:
        for path in list(self.entries):
            for ancestor in ancestors(path):
                if ancestor in self.entries:
                    continue
                existing = self.target.get(ancestor)
                if existing is None:
                    self.entries[ancestor] = self._new_dir()
                elif not existing.is_dir:
                    raise BuildError(
                        f"{self.request.where}: cannot copy to /{path}: /{ancestor} is not a "
                        "directory"
                    )
        return sorted(self.entries.items())
