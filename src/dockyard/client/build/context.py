"""The build context: the directory ``COPY`` and ``ADD`` read, minus what ``.dockerignore``
excludes, and the glob patterns of their source paths (Go ``filepath.Match``).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from dockyard.client.build.ignore import IgnoreRules
from dockyard.client.build.tree import DIR, FILE, SYMLINK, DiskFile, Node, Tree, join
from dockyard.client.errors import BuildError

_GLOB_CHARS = set("*?[\\")


def ignore_file(context: Path, dockerfile: Path | None) -> Path | None:
    """``<Dockerfile>.dockerignore`` next to the Dockerfile wins over ``CONTEXT/.dockerignore``."""
    if dockerfile is not None:
        specific = dockerfile.with_name(dockerfile.name + ".dockerignore")
        if specific.is_file():
            return specific
    general = context / ".dockerignore"
    return general if general.is_file() else None


def load_context(context: Path, rules: IgnoreRules) -> Tree:
    """Every file of ``context`` that ``rules`` let through, as a tree (owned by root)."""
    if not context.is_dir():
        raise BuildError(f"the build context {context} is not a directory")
    tree = Tree()
    root = os.lstat(context)
    tree.put("", Node(DIR, stat.S_IMODE(root.st_mode)))
    _walk(context, "", rules, tree)
    return tree


def _walk(directory: Path, prefix: str, rules: IgnoreRules, tree: Tree) -> bool:
    """Add the entries below ``directory``; True when anything was added."""
    added = False
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except PermissionError as exc:
        raise BuildError(f"cannot read the build context: {exc}") from None
    for entry in entries:
        path = join(prefix, entry.name)
        excluded = rules.excluded(path)
        info = entry.stat(follow_symlinks=False)
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISDIR(info.st_mode):
            if excluded and not rules.has_exceptions:
                continue
            tree.put(path, Node(DIR, mode))
            if not _walk(Path(entry.path), path, rules, tree) and excluded:
                tree.remove(path)
                continue
        elif excluded:
            continue
        elif stat.S_ISREG(info.st_mode):
            tree.put(path, Node(FILE, mode, size=info.st_size, source=DiskFile(Path(entry.path))))
        elif stat.S_ISLNK(info.st_mode):
            tree.put(path, Node(SYMLINK, 0o777, link=os.readlink(entry.path)))
        else:
            continue  # sockets, FIFOs and devices are not sent, as with docker
        added = True
    return added


def has_glob(pattern: str) -> bool:
    return any(ch in _GLOB_CHARS for ch in pattern)


def match_regex(pattern: str) -> re.Pattern[str]:
    """One path component of a Go ``filepath.Match`` pattern as a regular expression."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                raise BuildError(f"syntax error in pattern {pattern!r}")
            body = pattern[i + 1 : end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            out.append(("[^" if negate else "[") + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def glob(tree: Tree, pattern: str) -> list[str]:
    """The paths of ``tree`` that ``pattern`` (already normalised) matches, sorted."""
    if not has_glob(pattern):
        return [pattern] if tree.lookup(pattern)[1] is not None else []
    candidates = [""]
    for part in pattern.split("/"):
        following: list[str] = []
        for base in candidates:
            resolved, node = tree.lookup(base)
            if node is None or not node.is_dir:
                continue
            if has_glob(part):
                regex = match_regex(part)
                following.extend(
                    join(base, name) for name in tree.children(resolved) if regex.fullmatch(name)
                )
            elif tree.lookup(join(base, part))[1] is not None:
                following.append(join(base, part))
        candidates = following
    return sorted(candidates)
