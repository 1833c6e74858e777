"""Platforms (``os/arch[/variant]``): parsing, this host's, and picking one from an index."""

from __future__ import annotations

import platform as _platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.client.errors import ClientError

_ARCH_ALIASES = {
    "x86_64": "amd64",
    "x86-64": "amd64",
    "aarch64": "arm64",
    "armhf": "arm",
    "armel": "arm",
    "i386": "386",
    "i686": "386",
}
#: Docker's default variant for an architecture when none is given.
_DEFAULT_VARIANTS = {"arm64": "v8", "arm": "v7"}


@dataclass(frozen=True, slots=True)
class Platform:
    """An OS and CPU architecture, with an optional variant."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/amd64``, ``linux/arm64/v8``, or just ``arm64`` (OS linux)."""
        parts = [p.strip().lower() for p in text.split("/")]
        if not all(parts) or len(parts) > 3:
            raise ClientError(f"invalid platform {text!r}: use os/arch[/variant]")
        if len(parts) == 1:
            parts = ["linux", *parts]
        arch = _ARCH_ALIASES.get(parts[1], parts[1])
        return cls(parts[0], arch, parts[2] if len(parts) == 3 else None)

    @classmethod
    def from_descriptor(cls, value: Mapping[str, Any] | None) -> Platform | None:
        """The platform of an index entry (or an image config), if it names one."""
        if not value or not value.get("os") or not value.get("architecture"):
            return None
        variant = value.get("variant")
        return cls(str(value["os"]), str(value["architecture"]), str(variant) if variant else None)

    def matches(self, other: Platform) -> bool:
        """True when ``other`` (an index entry's platform) can run as this platform."""
        if (self.os, self.architecture) != (other.os, other.architecture):
            return False
        if self.variant is None:
            return True
        default = _DEFAULT_VARIANTS.get(self.architecture)
        return (other.variant or default) == self.variant


def host_platform() -> Platform:
    """The platform of this machine (Linux containers)."""
    machine = _platform.machine().lower()
    arch = _ARCH_ALIASES.get(machine, machine)
    variant = "v7" if machine.startswith("armv7") else None
    return Platform("linux", arch, variant)


def pick(entries: Iterable[tuple[Platform | None, Any]], wanted: Platform) -> Any | None:
    """The first entry whose platform matches ``wanted``; an exact variant match wins."""
    candidates = [(p, item) for p, item in entries if p is not None and wanted.matches(p)]
    for found, item in candidates:
        if found.variant == wanted.variant:
            return item
    return candidates[0][1] if candidates else None
