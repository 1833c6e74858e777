"""Validation of request parameters shared by the registry services."""

from __future__ import annotations

from dockyard.oci.digest import Digest, InvalidDigest
from dockyard.oci.names import is_valid_name, is_valid_tag
from dockyard.registry.errors import DigestInvalid, NameInvalid, TagInvalid


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid repository name, else raise :class:`NameInvalid`."""
    if not is_valid_name(name):
        raise NameInvalid(f"invalid repository name {name[:300]!r}", {"name": name[:300]})
    return name


def parse_digest(text: str) -> Digest:
    """Parse a digest, raising :class:`DigestInvalid`."""
    try:
        return Digest.parse(text)
    except InvalidDigest as exc:
        raise DigestInvalid(str(exc), {"digest": text[:300]}) from None


def check_tag(tag: str) -> str:
    """Return ``tag`` if valid, else raise :class:`TagInvalid`."""
    if not is_valid_tag(tag):
        raise TagInvalid(f"invalid tag {tag[:200]!r}", {"tag": tag[:200]})
    return tag
