"""Image references parsed exactly as docker parses them (``distribution/reference``).

``busybox`` is ``docker.io/library/busybox:latest``; the first path component is a registry
host only when it contains ``.`` or ``:``, is ``localhost``, or has an uppercase letter.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

from dockyard.client.errors import InvalidReference

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
#: The API endpoint of Docker Hub's registry, and the key docker stores its login under.
DOCKER_HUB_REGISTRY = "registry-1.docker.io"
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$", re.ASCII)
_NAME_RE = re.compile(rf"^(?:({_DOMAIN})/)?({_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)$")
_TAG_RE = re.compile(rf"^{_TAG}$", re.ASCII)
_IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True, slots=True)
class Reference:
    """A normalized reference: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The full repository name, ``domain/path``."""
        return f"{self.domain}/{self.path}"

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest, else the tag, else ``latest``."""
        return self.digest or self.tag or DEFAULT_TAG

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    def familiar(self) -> str:
        """The short form docker prints: ``busybox:latest``, ``alice/app``, ``host:5000/x``."""
        return familiar_name(self.name) + str(self)[len(self.name) :]

    @property
    def familiar_name(self) -> str:
        """The repository in docker's short form."""
        return familiar_name(self.name)

    def with_tag(self, tag: str) -> Reference:
        """The same repository with ``tag`` and no digest."""
        if not _TAG_RE.fullmatch(tag):
            raise InvalidReference(f"invalid tag format: {tag!r}")
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> Reference:
        """The same repository pinned to ``digest`` (no tag)."""
        _check_digest(digest)
        return replace(self, tag=None, digest=digest)

    def tagged_or_latest(self) -> Reference:
        """Docker's ``TagNameOnly``: ``latest`` when neither tag nor digest is given."""
        if self.tag or self.digest:
            return self
        return replace(self, tag=DEFAULT_TAG)

    @property
    def registry_host(self) -> str:
        """The host to send API requests to (Docker Hub's API lives elsewhere)."""
        return DOCKER_HUB_REGISTRY if self.domain == DEFAULT_DOMAIN else self.domain


def familiar_name(name: str) -> str:
    """``docker.io/library/busybox`` -> ``busybox``; ``docker.io/a/b`` -> ``a/b``."""
    domain, _, path = name.partition("/")
    if domain != DEFAULT_DOMAIN:
        return name
    if path.startswith(OFFICIAL_PREFIX) and "/" not in path[len(OFFICIAL_PREFIX) :]:
        return path[len(OFFICIAL_PREFIX) :]
    return path


def split_docker_domain(name: str) -> tuple[str, str]:
    """Docker's ``splitDockerDomain``: the registry and the rest of ``name``."""
    first, slash, _ = name.partition("/")
    if not slash or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, name[len(first) + 1 :]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def parse_reference(text: str) -> Reference:
    """Docker's ``ParseNormalizedNamed``; raise :class:`InvalidReference` like docker does."""
    if _IDENTIFIER_RE.fullmatch(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        )
    domain, remainder = split_docker_domain(text)
    remote_name = remainder.split(":", 1)[0]
    if remote_name.lower() != remote_name:
        raise InvalidReference(
            f"invalid reference format: repository name ({remote_name}) must be lowercase"
        )
    return _parse(f"{domain}/{remainder}", original=text)


def _parse(text: str, *, original: str) -> Reference:
    """Docker's ``Parse`` of an already-normalized string."""
    match = _REFERENCE_RE.fullmatch(text)
    if match is None:
        if _REFERENCE_RE.fullmatch(text.lower()):
            raise InvalidReference("invalid reference format: repository name must be lowercase")
        raise InvalidReference(f"invalid reference format: {original!r}")
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    name_match = _NAME_RE.fullmatch(name)
    assert name_match is not None
    if digest:
        _check_digest(digest)
    return Reference(
        domain=name_match.group(1) or "", path=name_match.group(2), tag=tag, digest=digest
    )


def _check_digest(digest: str) -> None:
    algorithm, _, encoded = digest.partition(":")
    length = _DIGEST_HEX_LENGTHS.get(algorithm)
    if length is None:
        raise InvalidReference(f"unsupported digest algorithm: {digest!r}")
    if len(encoded) != length or not re.fullmatch(r"[a-f0-9]+", encoded):
        raise InvalidReference(f"invalid checksum digest format: {digest!r}")


def parse_repository(text: str) -> Reference:
    """A reference that must name a repository only (no tag, no digest)."""
    ref = parse_reference(text)
    if ref.tag or ref.digest:
        raise InvalidReference(f"{text!r} names an image; give a repository only")
    return ref


def is_plain_http_host(domain: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1`` (with or without a port)."""
    host = domain
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
