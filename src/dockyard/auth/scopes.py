"""Docker token scopes: ``repository:name:pull,push`` and ``registry:catalog:*``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

REPOSITORY_ACTIONS = frozenset({"pull", "push", "delete"})


class InvalidScope(ValueError):
    """A scope string that does not follow ``type:name:actions``."""


@dataclass(frozen=True, slots=True)
class Scope:
    """One requested or granted access: a resource and the actions on it."""

    type: str
    name: str
    actions: frozenset[str]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions))}"

    def claim(self) -> dict[str, object]:
        """The entry of a token's ``access`` claim."""
        return {"type": self.type, "name": self.name, "actions": sorted(self.actions)}


def parse_scope(text: str) -> Scope:
    """Parse one scope. The name may contain colons (``host:port/name``), actions may not."""
    parts = text.split(":")
    if len(parts) < 3 or not parts[0] or not parts[-1]:
        raise InvalidScope(f"invalid scope {text[:200]!r}")
    resource_type = parts[0].split("(", 1)[0]  # "repository(plugin)" is a repository
    name = ":".join(parts[1:-1])
    actions = frozenset(a for a in parts[-1].split(",") if a)
    if not name or not actions:
        raise InvalidScope(f"invalid scope {text[:200]!r}")
    return Scope(resource_type, name, actions)


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Parse scope parameters; each value may hold several scopes separated by spaces."""
    scopes: list[Scope] = []
    for value in values:
        scopes.extend(parse_scope(item) for item in value.split() if item)
    return merge(scopes)


def merge(scopes: Iterable[Scope]) -> list[Scope]:
    """Combine scopes on the same resource into one with the union of their actions."""
    merged: dict[tuple[str, str], set[str]] = {}
    for scope in scopes:
        merged.setdefault((scope.type, scope.name), set()).update(scope.actions)
    return [Scope(t, n, frozenset(a)) for (t, n), a in merged.items()]


def expand_actions(actions: Iterable[str]) -> frozenset[str]:
    """``*`` means every repository action; push implies pull."""
    wanted = set(actions)
    if "*" in wanted:
        wanted = set(REPOSITORY_ACTIONS)
    return frozenset(wanted)
