"""The Jinja2 environment (autoescaped) and the filters the templates use."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from dockyard.web.ui import urls

_UNITS = ("B", "kB", "MB", "GB", "TB")


def filesize(value: int | None) -> str:
    """Bytes in decimal units, as Docker Hub shows sizes: ``12.3 MB``."""
    if value is None:
        return "—"
    size = float(value)
    for unit in _UNITS:
        if size < 1000 or unit == _UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{value} B"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """``3 minutes ago``; ``never`` for None."""
    if value is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - _aware(value)).total_seconds())
    if seconds < 0:
        return "in the future"
    for size, unit in ((86400 * 365, "year"), (86400 * 30, "month"), (86400, "day"),
                       (3600, "hour"), (60, "minute")):  # fmt: skip
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"


def when(value: datetime | None) -> Markup:
    """A ``<time>`` element: relative text, the exact UTC time as its title."""
    if value is None:
        return Markup("never")
    exact = _aware(value).strftime("%Y-%m-%d %H:%M UTC")
    iso = _aware(value).isoformat()
    return Markup('<time datetime="{}" title="{}">{}</time>').format(iso, exact, ago(value))


def short_digest(digest: str | None, length: int = 12) -> str:
    """``sha256:0123456789ab``."""
    if not digest:
        return ""
    algorithm, _, encoded = digest.partition(":")
    return f"{algorithm}:{encoded[:length]}" if encoded else digest[:length]


def platform(os: str | None, architecture: str | None, variant: str | None = None) -> str:
    """``linux/arm64/v8``, or ``unknown``."""
    parts = [p for p in (os, architecture, variant) if p]
    return "/".join(parts) if parts else "unknown"


def number(value: int | None) -> str:
    """``1.2K``, ``3.4M`` for counts."""
    count = int(value or 0)
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}K".replace(".0K", "K")
    return f"{count / 1_000_000:.1f}M".replace(".0M", "M")


def command(parts: list[str] | None) -> str:
    """An exec-form command as one line: ``["sh", "-c", "x"]`` -> ``sh -c x``."""
    return " ".join(parts or [])


@cache
def static_version() -> str:
    """A short hash of the static files, to bust caches when they change."""
    digest = hashlib.sha256()
    folder = resources.files("dockyard.web.ui") / "static"
    for name in sorted(entry.name for entry in folder.iterdir()):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:10]


def markdown(text: str) -> Markup:
    """The ``markdown`` filter: markdown-it and nh3 (2.3 MiB) load with the first README shown."""
    from dockyard.web.ui.markdown import render_markdown

    return render_markdown(text)


def build_environment() -> Environment:
    """Templates from the package, autoescaped, with the filters and URL helpers."""
    env = Environment(
        loader=PackageLoader("dockyard.web.ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        filesize=filesize,
        ago=ago,
        when=when,
        short_digest=short_digest,
        number=number,
        command=command,
        markdown=markdown,
    )
    globals_: dict[str, Any] = {
        "repo_url": urls.repo_url,
        "tag_url": urls.tag_url,
        "layer_url": urls.layer_url,
        "settings_url": urls.settings_url,
        "profile_url": urls.profile_url,
        "pull_name": urls.pull_name,
        "page_url": urls.page_url,
        "platform": platform,
        "static_version": static_version(),
        "escape": escape,
    }
    env.globals.update(globals_)
    return env
