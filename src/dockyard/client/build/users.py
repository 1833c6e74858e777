"""``--chown`` and ``USER`` owners: numbers, or names looked up in the image's
``/etc/passwd`` and ``/etc/group`` (as docker does, inside the image being built).
"""

from __future__ import annotations

from dockyard.client.build.tarfs import Contents
from dockyard.client.build.tree import FILE, Tree
from dockyard.client.errors import BuildError


def resolve_owner(spec: str, tree: Tree, contents: Contents, where: str) -> tuple[int, int]:
    """``user[:group]`` -> ``(uid, gid)``; a user alone gives its primary group (or its id)."""
    user, sep, group = spec.partition(":")
    if not user or (sep and not group):
        raise BuildError(f"{where}: invalid owner {spec!r}: use user[:group], names or numbers")
    if user.isdigit():
        uid = gid = int(user)
    else:
        entry = _lookup(tree, contents, "etc/passwd", user)
        if entry is None or len(entry) < 4 or not entry[2].isdigit() or not entry[3].isdigit():
            raise BuildError(
                f"{where}: unable to find user {user}: no matching entries in passwd file"
            )
        uid, gid = int(entry[2]), int(entry[3])
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            found = _lookup(tree, contents, "etc/group", group)
            if found is None or len(found) < 3 or not found[2].isdigit():
                raise BuildError(
                    f"{where}: unable to find group {group}: no matching entries in group file"
                )
            gid = int(found[2])
    return uid, gid


def _lookup(tree: Tree, contents: Contents, path: str, name: str) -> list[str] | None:
    node = tree.lookup(path)[1]
    if node is None or node.kind != FILE:
        return None
    for line in contents.read(node).decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if fields and fields[0] == name:
            return fields
    return None
