"""Repository names and tags, validated by the distribution spec's regular expressions."""

from __future__ import annotations

import re

NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"^{NAME_COMPONENT}(?:/{NAME_COMPONENT})*$")
_TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")

#: Longest repository name accepted (the reference registry's limit).
MAX_NAME_LENGTH = 255


def is_valid_name(name: str) -> bool:
    """True when ``name`` is a valid repository name (``a/b/c``)."""
    return len(name) <= MAX_NAME_LENGTH and bool(_NAME_RE.fullmatch(name))


def is_valid_tag(tag: str) -> bool:
    """True when ``tag`` is a valid tag."""
    return bool(_TAG_RE.fullmatch(tag))


#: Namespace of official images; ``ubuntu`` means ``library/ubuntu``, as on Docker Hub.
OFFICIAL_NAMESPACE = "library"


def official_name(name: str) -> str:
    """``library/<name>`` for a one-component name, the name itself otherwise."""
    if name and "/" not in name:
        return f"{OFFICIAL_NAMESPACE}/{name}"
    return name
