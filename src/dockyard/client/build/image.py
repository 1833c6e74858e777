"""The image a stage builds up: platform, docker's ``config`` fields, history, base layers.

The written config is the OCI image config with the fields docker reads (``Healthcheck``,
``Shell``, ``OnBuild``), ``created`` from ``SOURCE_DATE_EPOCH`` and one history entry per
instruction (``empty_layer`` for those that only change metadata).
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from dockyard.client.build.layers import MEDIA_TYPE as LAYER_MEDIA_TYPE
from dockyard.client.errors import BuildError
from dockyard.client.platforms import Platform

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL = ("/bin/sh", "-c")
HISTORY_COMMENT = "buildkit.dockerfile.v0"
#: The fields of docker's image ``config`` a build carries over from its base.
CONFIG_KEYS = (
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Volumes",
    "WorkingDir",
    "Labels",
    "StopSignal",
    "ArgsEscaped",
    "Healthcheck",
    "OnBuild",
    "Shell",
)
_PLATFORM_KEYS = ("architecture", "os", "os.version", "os.features", "variant")
_LAYER_TYPES = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip": LAYER_MEDIA_TYPE,
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": (
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    ),
}
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$", re.IGNORECASE)
_SIGNAL = re.compile(r"^(?:SIG)?[A-Z][A-Z0-9]*(?:[+-]\d+)?$|^\d+$")


def rfc3339(epoch: int) -> str:
    """``0`` -> ``1970-01-01T00:00:00Z``."""
    moment = _dt.datetime.fromtimestamp(epoch, _dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ImageState:
    """What a stage has so far; ``layers``/``diff_ids`` are those of its base image."""

    platform: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)
    diff_ids: list[str] = field(default_factory=list)
    author: str | None = None

    @classmethod
    def scratch(cls, platform: Platform) -> ImageState:
        found: dict[str, Any] = {"architecture": platform.architecture, "os": platform.os}
        if platform.variant:
            found["variant"] = platform.variant
        return cls(found)

    @classmethod
    def from_base(cls, manifest: dict[str, Any], doc: dict[str, Any]) -> ImageState:
        """The state of ``FROM image``, from its manifest and config."""
        layers = [_oci_layer(d) for d in manifest.get("layers") or [] if isinstance(d, dict)]
        rootfs = doc.get("rootfs") or {}
        diff_ids = [str(d) for d in rootfs.get("diff_ids") or []]
        if len(diff_ids) != len(layers):
            raise BuildError(
                f"base image has {len(layers)} layers but {len(diff_ids)} diff IDs in its config"
            )
        config = {k: v for k, v in (doc.get("config") or {}).items() if k in CONFIG_KEYS}
        history = [dict(h) for h in doc.get("history") or [] if isinstance(h, dict)]
        with_layer = sum(1 for h in history if not h.get("empty_layer"))
        history = [{} for _ in range(len(layers) - with_layer)] + history
        platform = {k: doc[k] for k in _PLATFORM_KEYS if doc.get(k)}
        return cls(platform, config, history, layers, diff_ids, doc.get("author"))

    def clone(self) -> ImageState:
        return copy.deepcopy(self)

    @property
    def platform_value(self) -> Platform | None:
        return Platform.from_descriptor(self.platform)

    # --- Env --------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for item in self.config.get("Env") or []:
            key, _, value = str(item).partition("=")
            found[key] = value
        return found

    def set_env(self, key: str, value: str) -> None:
        entries = list(self.config.get("Env") or [])
        for i, item in enumerate(entries):
            if str(item).partition("=")[0] == key:
                entries[i] = f"{key}={value}"
                break
        else:
            entries.append(f"{key}={value}")
        self.config["Env"] = entries

    def ensure_path(self) -> None:
        """Docker always gives an image a ``PATH``."""
        if "PATH" not in self.env():
            self.set_env("PATH", DEFAULT_PATH)

    def shell(self) -> list[str]:
        return list(self.config.get("Shell") or DEFAULT_SHELL)

    def add_history(self, created_by: str, created: str, *, empty: bool) -> None:
        entry: dict[str, Any] = {
            "created": created,
            "created_by": created_by,
            "comment": HISTORY_COMMENT,
        }
        if empty:
            entry["empty_layer"] = True
        self.history.append(entry)

    def document(self, created: str, new_diff_ids: list[str]) -> dict[str, Any]:
        """The image config JSON."""
        doc: dict[str, Any] = dict(self.platform)
        doc["created"] = created
        if self.author:
            doc["author"] = self.author
        doc["config"] = {k: v for k, v in self.config.items() if v is not None}
        doc["rootfs"] = {"type": "layers", "diff_ids": [*self.diff_ids, *new_diff_ids]}
        doc["history"] = self.history
        return doc


def _oci_layer(descriptor: dict[str, Any]) -> dict[str, Any]:
    found = dict(descriptor)
    media_type = str(found.get("mediaType", ""))
    found["mediaType"] = _LAYER_TYPES.get(media_type, media_type or LAYER_MEDIA_TYPE)
    return found


# --- values of metadata instructions --------------------------------------------------------
def parse_duration(text: str, where: str, flag: str) -> int:
    """A Go duration (``30s``, ``1m30s``, ``500ms``) in nanoseconds; at least 1ms unless 0."""
    if text in ("0", ""):
        return 0
    total = Decimal(0)
    pos = 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            raise BuildError(f"{where}: --{flag}: invalid duration {text!r} (use e.g. 30s, 1m)")
        try:
            total += Decimal(match.group(1)) * _UNITS[match.group(2)]
        except InvalidOperation:
            raise BuildError(f"{where}: --{flag}: invalid duration {text!r}") from None
        pos = match.end()
    nanoseconds = int(total)
    if 0 < nanoseconds < 1_000_000:
        raise BuildError(f"{where}: --{flag} cannot be less than 1ms")
    return nanoseconds


def expose_ports(words: list[str], where: str) -> list[str]:
    """``80``, ``80/udp``, ``8000-8002/tcp`` -> ``["80/tcp", ...]``."""
    ports: list[str] = []
    for word in words:
        match = _PORT.match(word)
        if match is None:
            raise BuildError(f"{where}: invalid port {word!r} (use PORT[-PORT][/tcp|udp|sctp])")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        proto = (match.group(3) or "tcp").lower()
        if last < first or last > 65535:
            raise BuildError(f"{where}: invalid port range {word!r}")
        ports.extend(f"{port}/{proto}" for port in range(first, last + 1))
    return ports


def check_signal(text: str, where: str) -> str:
    if not _SIGNAL.match(text.upper() if not text.isdigit() else text):
        raise BuildError(f"{where}: invalid signal {text!r} (use e.g. SIGTERM, SIGQUIT or 15)")
    return text


def go_list(items: list[str]) -> str:
    """A list as Go's ``%q`` prints it in docker history: ``["a" "b"]``."""
    return "[" + " ".join(_go_quote(item) for item in items) + "]"


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
