"""Running real client tools (docker, skopeo, podman) from tests: bounded, loud on failure."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Default bound on one client command; a hung client fails its test instead of the run.
DEFAULT_TIMEOUT = 180.0

DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` with a timeout; on failure raise ``AssertionError`` with its output."""
    args = [str(part) for part in cmd]
    try:
        result = subprocess.run(
            args,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"{shlex.join(args)} timed out after {timeout}s\n"
            f"stdout:\n{_text(exc.stdout)}\nstderr:\n{_text(exc.stderr)}"
        ) from None
    if check and result.returncode != 0:
        raise AssertionError(
            f"{shlex.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def which(name: str) -> str | None:
    """The full path of ``name`` on ``PATH`` (also ``/usr/sbin``, where dockerd lives)."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
    return shutil.which(name, path=path)


def is_static_elf(path: Path) -> bool:
    """True when ``path`` is an ELF executable without a program interpreter (static)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if data[:4] != b"\x7fELF":
        return False
    is_64 = data[4] == 2
    endian = "<" if data[5] == 1 else ">"
    if is_64:
        phoff, phentsize, phnum = (
            struct.unpack_from(endian + "Q", data, 0x20)[0],
            *struct.unpack_from(endian + "HH", data, 0x36),
        )
    else:
        phoff, phentsize, phnum = (
            struct.unpack_from(endian + "I", data, 0x1C)[0],
            *struct.unpack_from(endian + "HH", data, 0x2A),
        )
    pt_interp = 3
    for index in range(phnum):
        (p_type,) = struct.unpack_from(endian + "I", data, phoff + index * phentsize)
        if p_type == pt_interp:
            return False
    return True


def short_temp_dir(prefix: str) -> Path:
    """A fresh directory directly under ``/tmp`` (unix socket paths must stay short)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root`` (never delete a tree that still has some)."""
    prefix = str(root.resolve())
    found = []
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            target = line.split()[1].replace("\\040", " ")
            if target == prefix or target.startswith(prefix + "/"):
                found.append(target)
    return found


def remove_tree(root: Path) -> None:
    """Delete a temp tree, unless something is still mounted inside it."""
    if root.exists() and not mounts_under(root):
        shutil.rmtree(root, ignore_errors=True)
