"""Content digests (``algorithm:encoded``) as the OCI image spec defines them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")

#: Algorithms we compute and verify, with the exact shape of their hex encoding.
SUPPORTED_ALGORITHMS: dict[str, re.Pattern[str]] = {
    "sha256": re.compile(r"^[a-f0-9]{64}$"),
    "sha512": re.compile(r"^[a-f0-9]{128}$"),
}


class InvalidDigest(ValueError):
    """The text is not a digest, or uses an algorithm we do not support."""


@dataclass(frozen=True, slots=True)
class Digest:
    """A parsed, validated digest."""

    algorithm: str
    encoded: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``text``; raise :class:`InvalidDigest` if malformed or unsupported."""
        if len(text) > 256 or not _DIGEST_RE.fullmatch(text):
            raise InvalidDigest(f"invalid digest {text[:80]!r}")
        algorithm, _, encoded = text.partition(":")
        shape = SUPPORTED_ALGORITHMS.get(algorithm)
        if shape is None:
            raise InvalidDigest(f"unsupported digest algorithm {algorithm!r}")
        if not shape.fullmatch(encoded):
            raise InvalidDigest(f"invalid {algorithm} digest {text[:80]!r}")
        return cls(algorithm, encoded)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of ``data``."""
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> hashlib._Hash:
        """A fresh hash object of this digest's algorithm."""
        return hashlib.new(self.algorithm)


def is_digest(text: str) -> bool:
    """True when ``text`` looks like a digest (``alg:enc``), supported or not."""
    return ":" in text and bool(_DIGEST_RE.fullmatch(text))
