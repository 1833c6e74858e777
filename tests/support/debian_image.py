"""A Debian base image with ``python3`` and ``python3-venv``, made here, without a registry.

Containers and ``docker pull`` have no network on the project's machines, but Debian's package
mirror is reachable from the host: ``mmdebstrap`` builds a root filesystem tarball from it and
``docker import`` turns that into an image, the base that ``deploy/Dockerfile`` builds on in
the tests (``--build-arg PYTHON_IMAGE=...``).

The tarball (~150 MB, about a minute to make) is cached under ``build/test-cache/`` of the
checkout (``DOCKYARD_TEST_CACHE`` moves it), keyed by suite, packages and mirror: reruns in one
checkout reuse it, and a fresh checkout (CI) builds it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path

from tests.support.tools import run

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Debian 12, whose python3 is 3.11 like the project's (the host builds the wheelhouse).
SUITE = "bookworm"
#: On top of minbase (Priority: required + apt, like debian:bookworm-slim, which brings
#: passwd for useradd and libstdc++6 for C++ extension wheels such as greenlet).
PACKAGES = ("python3", "python3-venv")
FALLBACK_MIRROR = "http://deb.debian.org/debian"

MMDEBSTRAP_OPTIONS = (
    "--mode=root",
    "--variant=minbase",
    # Snapshot mirrors serve Release files past their Valid-Until date.
    '--aptopt=Acquire::Check-Valid-Until "false"',
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
)


def cache_dir() -> Path:
    """Where built tarballs are kept between runs."""
    configured = os.environ.get("DOCKYARD_TEST_CACHE")
    return Path(configured) if configured else REPO_ROOT / "build" / "test-cache"


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses for ``SUITE`` (``DOCKYARD_TEST_DEBIAN_MIRROR``
    overrides), read from ``sources.list`` and ``sources.list.d/*.list|*.sources``."""
    if configured := os.environ.get("DOCKYARD_TEST_DEBIAN_MIRROR"):
        return configured
    candidates = [apt_dir / "sources.list"]
    candidates += sorted((apt_dir / "sources.list.d").glob("*.list"))
    candidates += sorted((apt_dir / "sources.list.d").glob("*.sources"))
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        parse = _deb822_mirrors if path.suffix == ".sources" else _one_line_mirrors
        for uri in parse(text):
            return uri.rstrip("/")
    return FALLBACK_MIRROR


def _one_line_mirrors(text: str) -> list[str]:
    """URIs of ``deb [options] URI SUITE main ...`` lines for ``SUITE``."""
    found = []
    for line in text.splitlines():
        words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 4 and words[0] == "deb" and words[2] == SUITE and "main" in words[3:]:
            found.append(words[1])
    return found


def _deb822_mirrors(text: str) -> list[str]:
    """URIs of deb822 stanzas (``Types: deb``) that serve ``SUITE`` with ``main``."""
    found = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, list[str]] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.split()
        if fields.get("enabled", ["yes"]) == ["no"]:
            continue
        if (
            "deb" in fields.get("types", [])
            and SUITE in fields.get("suites", [])
            and "main" in fields.get("components", [])
        ):
            found.extend(fields.get("uris", []))
    return found


def rootfs_tarball(mmdebstrap: str, *, mirror: str | None = None) -> Path:
    """The cached root filesystem tarball of ``SUITE`` with ``PACKAGES``; built when absent."""
    mirror = mirror or debian_mirror()
    key = hashlib.sha256(
        json.dumps([SUITE, PACKAGES, MMDEBSTRAP_OPTIONS, mirror]).encode()
    ).hexdigest()[:16]
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    tarball = directory / f"debian-{SUITE}-python3-{key}.tar"
    if tarball.is_file():
        return tarball
    # Written under a temporary name and renamed: a concurrent or killed run never leaves a
    # half-written tarball behind under the real name. mmdebstrap picks the format by suffix.
    partial = directory / f".partial-{os.getpid()}-{tarball.name}"
    try:
        include = f"--include={','.join(PACKAGES)}"
        run([mmdebstrap, *MMDEBSTRAP_OPTIONS, include, SUITE, partial, mirror], timeout=900)
        os.replace(partial, tarball)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    for stale in directory.glob(f"debian-{SUITE}-python3-*.tar"):
        if stale != tarball:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
    return tarball
