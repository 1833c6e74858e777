""".dockerignore: which files of the build context the build may see.

The rules are docker's (``moby/patternmatcher``): Go ``filepath.Match`` syntax (``*`` and ``?``
stop at ``/``, ``[a-z]`` classes, ``\\`` escapes), ``**`` matches any number of directories,
a pattern that matches a directory excludes everything below it, ``!pattern`` re-includes, and the
last pattern that matches a path decides.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from dockyard.client.errors import BuildError

_ESCAPE = set(".+()|{}$")


@dataclass(frozen=True)
class _Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]


def read_patterns(text: str) -> list[str]:
    """The patterns of a ``.dockerignore`` file, cleaned as docker cleans them."""
    patterns: list[str] = []
    for raw in text.removeprefix("\ufeff").splitlines():
        if raw.startswith("#"):
            continue
        pattern = raw.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = posixpath.normpath(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern.lstrip("/") or "/"
        patterns.append("!" + pattern if invert else pattern)
    return patterns


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A docker ignore pattern as an anchored regular expression."""
    out = ["^"]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):
                    i += 1
                out.append(".*" if i >= len(pattern) else "(.*/)?")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch in _ESCAPE:
            out.append("\\" + ch)
        elif ch == "\\":
            if i + 1 < len(pattern):
                i += 1
                out.append(re.escape(pattern[i]))
            else:
                out.append("\\\\")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                raise BuildError(f".dockerignore: syntax error in pattern {pattern!r}")
            out.append("[" + pattern[i + 1 : end].replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:
        raise BuildError(f".dockerignore: syntax error in pattern {pattern!r}") from None


class IgnoreRules:
    """Compiled ``.dockerignore`` patterns."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns: list[_Pattern] = []
        for raw in patterns:
            text = raw.strip()
            if not text:
                continue
            exclusion = text.startswith("!")
            if exclusion:
                text = text[1:]
                if not text:
                    raise BuildError('.dockerignore: illegal exclusion pattern: "!"')
            text = posixpath.normpath(text)
            self.patterns.append(_Pattern(text, exclusion, pattern_regex(text)))

    @classmethod
    def from_text(cls, text: str) -> IgnoreRules:
        return cls(read_patterns(text))

    @property
    def has_exceptions(self) -> bool:
        """True when some ``!pattern`` may re-include a path below an excluded directory."""
        return any(p.exclusion for p in self.patterns)

    def excluded(self, path: str) -> bool:
        """True when the context path ``path`` (``a/b``, no leading ``/``) is ignored."""
        parents = path.split("/")[:-1]
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.regex.match(path) is not None
            if not hit:
                hit = any(
                    pattern.regex.match("/".join(parents[: i + 1])) is not None
                    for i in range(len(parents))
                )
            if hit:
                matched = not pattern.exclusion
        return matched
