"""The Dockerfile parser: directives, comments, line continuations, instructions, flags.

It follows docker's parser (``moby/buildkit`` ``frontend/dockerfile/parser``): leading
``# directive=value`` lines (``escape`` is honoured, ``syntax`` and ``check`` are ignored), comment
lines anywhere (also inside a continued instruction), the escape character at the end of a line
continues it, keywords are case-insensitive, leading ``--name=value`` words are flags.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from dockyard.client.errors import BuildError

_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = {"escape", "syntax", "check"}
KEYWORDS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword, flags (``--name=value``, quotes removed) and the rest."""

    keyword: str
    flags: tuple[str, ...]
    args: str
    line: int
    original: str

    def flag_values(self, where: str, allowed: set[str]) -> dict[str, str | None]:
        """The flags as ``{name: value}`` (None for a bare ``--name``); unknown ones refused."""
        found: dict[str, str | None] = {}
        for word in self.flags:
            name, eq, value = word[2:].partition("=")
            if name not in allowed:
                raise BuildError(f"{where}: unknown flag --{name} for {self.keyword}")
            found[name] = value if eq else None
        return found


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile: the escape character and the instructions in order."""

    name: str
    escape: str
    instructions: tuple[Instruction, ...]

    def where(self, instruction: Instruction) -> str:
        """``Dockerfile:7``, the prefix of every message about an instruction."""
        return f"{self.name}:{instruction.line}"


def parse(text: str, name: str = "Dockerfile") -> Dockerfile:
    """Parse a Dockerfile; :class:`BuildError` names the line of a syntax error."""
    lines = text.removeprefix("\ufeff").splitlines()
    escape, start = _directives(lines, name)
    continuation = re.compile(re.escape(escape) + r"[ \t]*$")
    instructions: list[Instruction] = []
    index = start
    while index < len(lines):
        raw = lines[index].lstrip()
        index += 1
        first_line = index
        if not raw or raw.startswith("#"):
            continue
        text_line, done = _trim_continuation(raw, continuation)
        while not done and index < len(lines):
            following = lines[index]
            index += 1
            stripped = following.lstrip()
            if stripped.startswith("#") or not stripped:
                continue
            more, done = _trim_continuation(following, continuation)
            text_line += more
        if not text_line.strip():
            continue
        instructions.append(_instruction(text_line, first_line, name))
    return Dockerfile(name, escape, tuple(instructions))


def parse_line(text: str, line: int, name: str) -> Instruction:
    """One instruction from one line (``ONBUILD`` triggers)."""
    return _instruction(text, line, name)


def _directives(lines: list[str], name: str) -> tuple[str, int]:
    """The escape character and the index of the first line after the directives."""
    escape = "\\"
    seen: set[str] = set()
    for index, line in enumerate(lines):
        match = _DIRECTIVE_RE.match(line.strip())
        if not match or match.group(1).lower() not in _KNOWN_DIRECTIVES:
            return escape, index
        key, value = match.group(1).lower(), match.group(2)
        if key in seen:
            raise BuildError(f"{name}:{index + 1}: only one {key} parser directive can be used")
        seen.add(key)
        if key == "escape":
            if value not in ("\\", "`"):
                raise BuildError(f"{name}:{index + 1}: invalid escape token {value!r}: use \\ or `")
            escape = value
    return escape, len(lines)


def _trim_continuation(line: str, continuation: re.Pattern[str]) -> tuple[str, bool]:
    match = continuation.search(line)
    if match is None:
        return line, True
    return line[: match.start()], False


def _instruction(text: str, line: int, name: str) -> Instruction:
    keyword, *more = re.split(r"\s+", text.strip(), maxsplit=1)
    rest = more[0] if more else ""
    keyword_upper = keyword.upper()
    if keyword_upper not in KEYWORDS:
        raise BuildError(f"{name}:{line}: unknown instruction: {keyword}")
    args, flags = extract_flags(rest.strip())
    return Instruction(keyword_upper, tuple(flags), args.strip(), line, text.strip())


def extract_flags(line: str) -> tuple[str, list[str]]:
    """Leading ``--name[=value]`` words (quotes removed) and the rest of the line."""
    flags: list[str] = []
    pos = 0
    while True:
        while pos < len(line) and line[pos].isspace():
            pos += 1
        if not line.startswith("--", pos):
            return line[pos:], flags
        word: list[str] = []
        quote = ""
        while pos < len(line):
            ch = line[pos]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == "\\" and pos + 1 < len(line):
                    pos += 1
                    word.append(line[pos])
                else:
                    word.append(ch)
            elif ch.isspace():
                break
            elif ch in "'\"":
                quote = ch
            elif ch == "\\" and pos + 1 < len(line):
                pos += 1
                word.append(line[pos])
            else:
                word.append(ch)
            pos += 1
        text = "".join(word)
        if text == "--":
            return line[pos:], flags
        flags.append(text)


# --- the argument forms of the instructions ------------------------------------------------
def split_words(rest: str, escape: str) -> list[str]:
    """Docker's ``parseWords``: split on whitespace outside quotes, quotes kept in the words."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    in_word = False
    blank_ok = False
    pos = 0
    while pos < len(rest):
        ch = rest[pos]
        if not in_word and not quote:
            if ch.isspace():
                pos += 1
                continue
            in_word = True
        if quote:
            if ch == quote:
                quote = ""
            elif ch == escape and quote != "'":
                if pos + 1 == len(rest):
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
        elif ch.isspace():
            if blank_ok or word:
                words.append("".join(word))
            word, in_word, blank_ok = [], False, False
        else:
            if ch in "'\"":
                quote = ch
                blank_ok = True
            elif ch == escape:
                if pos + 1 == len(rest):
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
        pos += 1
    if in_word and (blank_ok or word):
        words.append("".join(word))
    return words


def key_values(rest: str, escape: str, where: str, keyword: str) -> list[tuple[str, str]]:
    """``ENV``/``LABEL`` arguments: ``k=v k2="v 2"`` or the legacy ``k the value``."""
    words = split_words(rest, escape)
    if not words:
        raise BuildError(f"{where}: {keyword} requires at least one argument")
    if "=" not in words[0]:
        parts = re.split(r"\s+", rest.strip(), maxsplit=1)
        if len(parts) < 2:
            raise BuildError(f"{where}: {keyword} must have two arguments")
        return [(parts[0], parts[1])]
    pairs = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq:
            raise BuildError(
                f"{where}: syntax error - can't find = in {word!r}. Must be of the form: name=value"
            )
        pairs.append((key, value))
    return pairs


def arg_definitions(rest: str, escape: str, where: str) -> list[tuple[str, str | None]]:
    """``ARG`` arguments: ``name`` or ``name=default``, one or more."""
    words = split_words(rest, escape)
    if not words:
        raise BuildError(f"{where}: ARG requires at least one argument")
    found: list[tuple[str, str | None]] = []
    for word in words:
        key, eq, value = word.partition("=")
        if not key:
            raise BuildError(f"{where}: ARG names cannot be empty")
        found.append((key, value if eq else None))
    return found


def json_or_none(rest: str) -> list[str] | None:
    """The exec (JSON array of strings) form, or None when ``rest`` is in shell form."""
    text = rest.strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None
    return value


def json_or_fields(rest: str) -> list[str]:
    """A JSON array of strings, or the whitespace-separated words (``COPY``, ``VOLUME``)."""
    found = json_or_none(rest)
    return found if found is not None else rest.split()
