"""Variable substitution in Dockerfile words, as docker's shell lexer does it.

``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:+alt}``, ``${VAR+alt}``,
``${VAR:?message}``, ``${VAR#pattern}``, ``${VAR##pattern}``, ``${VAR%pattern}`` and
``${VAR%%pattern}``; single quotes are literal, double quotes expand, the escape character
(``\\`` or ``# escape=`` `` ` ``) takes the next character literally. Quotes are removed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_SPECIAL_PARAMS = set("@*#?-$!0")


class SubstitutionError(ValueError):
    """A word cannot be expanded (unterminated quote, bad ``${...}``, ``${VAR:?}``)."""


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.pos += 1
        return ch


class Lexer:
    """Expands words against an environment (ENV wins over ARG; the caller merges them)."""

    def __init__(self, escape: str = "\\") -> None:
        self.escape = escape

    def word(self, text: str, env: Mapping[str, str]) -> str:
        """Expand one word (quotes removed, whitespace kept)."""
        return _Word(self.escape, env, text).process()

    def words(self, text: str, env: Mapping[str, str]) -> list[str]:
        """Expand a word, then split the result on whitespace (``EXPOSE``)."""
        return self.word(text, env).split()


class _Word:
    def __init__(self, escape: str, env: Mapping[str, str], text: str) -> None:
        self.escape = escape
        self.env = env
        self.scan = _Scanner(text)

    def process(self) -> str:
        return self._until("")

    def _until(self, stop: str) -> str:
        out: list[str] = []
        while True:
            ch = self.scan.peek()
            if not ch:
                if stop:
                    raise SubstitutionError(
                        f"unexpected end of statement while looking for {stop!r}"
                    )
                return "".join(out)
            if stop and ch == stop:
                self.scan.next()
                return "".join(out)
            if ch == "$":
                out.append(self._dollar())
            else:
                out.append(self._one())

    def _one(self) -> str:
        """One unquoted character, or a whole quoted string."""
        ch = self.scan.next()
        if ch == "'":
            return self._single_quoted()
        if ch == '"':
            return self._double_quoted()
        if ch == self.escape:
            return self.scan.next()  # an escape at the very end of the word is dropped
        return ch

    def _single_quoted(self) -> str:
        out: list[str] = []
        while True:
            ch = self.scan.next()
            if not ch:
                raise SubstitutionError("unexpected end of statement while looking for matching '")
            if ch == "'":
                return "".join(out)
            out.append(ch)

    def _double_quoted(self) -> str:
        out: list[str] = []
        while True:
            ch = self.scan.peek()
            if not ch:
                raise SubstitutionError('unexpected end of statement while looking for matching "')
            if ch == '"':
                self.scan.next()
                return "".join(out)
            if ch == "$":
                out.append(self._dollar())
                continue
            self.scan.next()
            if ch == self.escape:
                following = self.scan.peek()
                if not following:
                    continue
                if following in ('"', "$", self.escape):
                    ch = self.scan.next()
            out.append(ch)

    def _name(self) -> str:
        name: list[str] = []
        first = self.scan.peek()
        if first.isdigit():
            while self.scan.peek().isdigit():
                name.append(self.scan.next())
            return "".join(name)
        if first and first in _SPECIAL_PARAMS:
            return self.scan.next()
        while (ch := self.scan.peek()) and (ch.isalnum() or ch == "_"):
            name.append(self.scan.next())
        return "".join(name)

    def _dollar(self) -> str:
        self.scan.next()  # the $
        if self.scan.peek() != "{":
            name = self._name()
            if not name:
                return "$"
            return self.env.get(name, "")
        self.scan.next()  # the {
        name = self._name()
        if not name:
            raise SubstitutionError("bad substitution: a name is missing after ${")
        ch = self.scan.next()
        if ch == "}":
            return self.env.get(name, "")
        if ch == ":":
            modifier = self.scan.next()
            if modifier not in ("-", "+", "?"):
                raise SubstitutionError(f"unsupported modifier ({modifier}) in substitution")
            word = self._until("}")
            value = self.env.get(name, "")
            return self._modify(name, modifier, word, value, set_=bool(value))
        if ch in ("-", "+", "?"):
            word = self._until("}")
            return self._modify(name, ch, word, self.env.get(name, ""), set_=name in self.env)
        if ch in ("#", "%"):
            longest = self.scan.peek() == ch
            if longest:
                self.scan.next()
            pattern = self._until("}")
            return _trim(self.env.get(name, ""), pattern, prefix=ch == "#", longest=longest)
        if not ch:
            raise SubstitutionError("unexpected end of statement while looking for '}'")
        raise SubstitutionError(f"unsupported modifier ({ch}) in substitution")

    @staticmethod
    def _modify(name: str, modifier: str, word: str, value: str, *, set_: bool) -> str:
        if modifier == "-":
            return value if set_ else word
        if modifier == "+":
            return word if set_ else ""
        if not set_:
            raise SubstitutionError(f"{name}: {word or 'is not allowed to be unset'}")
        return value


def _glob_regex(pattern: str) -> str:
    """A shell pattern (``*``, ``?``, ``[...]``) as a regular expression."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _trim(value: str, pattern: str, *, prefix: bool, longest: bool) -> str:
    """``${VAR#p}`` (shortest prefix), ``##`` (longest), ``%`` / ``%%`` (suffix)."""
    regex = re.compile(_glob_regex(pattern), re.DOTALL)
    cuts = range(len(value) + 1)
    order = reversed(cuts) if longest else cuts
    for size in order:
        part = value[:size] if prefix else value[len(value) - size :]
        if regex.fullmatch(part):
            return value[size:] if prefix else value[: len(value) - size]
    return value
