"""Signed JWTs for the registry (Docker token auth) and the Hub API, and their verification.

Verified tokens are cached until they expire, so the hot path pays for one signature check
per token, not per request.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

import jwt

from dockyard.auth.keys import SigningKey
from dockyard.auth.scopes import Scope

ALGORITHM = "ES256"
_CACHE_SIZE = 8192


class InvalidToken(Exception):
    """A bearer token that is malformed, forged, expired or meant for someone else."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says: who (``subject``, empty when anonymous) may do what."""

    subject: str
    audience: str
    expires_at: float
    access: tuple[Scope, ...] = ()
    token_id: str = ""
    #: The personal access token the bearer logged in with, if any.
    pat_id: str | None = None

    def allows(self, resource_type: str, name: str, action: str) -> bool:
        """True when the token grants ``action`` on the resource."""
        return any(
            s.type == resource_type and s.name == name and (action in s.actions or "*" in s.actions)
            for s in self.access
        )


@dataclass
class TokenAuthority:
    """Issues and verifies tokens signed with one key."""

    key: SigningKey
    issuer: str
    ttl: int = 300
    _cache: OrderedDict[str, TokenClaims] = field(default_factory=OrderedDict)

    def issue(
        self,
        *,
        subject: str,
        audience: str,
        access: Iterable[Scope] = (),
        pat_id: str | None = None,
        ttl: int | None = None,
    ) -> tuple[str, int, int]:
        """A signed token; returns ``(token, expires_in, issued_at)``."""
        now = int(time.time())
        expires_in = max(60, ttl or self.ttl)
        claims: dict[str, object] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now - 1,
            "exp": now + expires_in,
            "jti": uuid.uuid4().hex,
            "access": [s.claim() for s in access],
        }
        if pat_id:
            claims["pat"] = pat_id
        token = jwt.encode(
            claims, self.key.private_key, algorithm=ALGORITHM, headers={"kid": self.key.kid}
        )
        return token, expires_in, now

    def verify(self, token: str, audience: str) -> TokenClaims:
        """The claims of a valid token for ``audience``; raises :class:`InvalidToken`."""
        cached = self._cache.get(token)
        now = time.time()
        if cached is not None:
            if cached.expires_at > now and cached.audience == audience:
                return cached
            self._cache.pop(token, None)
            if cached.audience != audience:
                raise InvalidToken("token is for another audience")
            raise InvalidToken("token has expired")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("kid") not in (None, self.key.kid):
                raise InvalidToken("token was signed by an unknown key")
            payload = jwt.decode(
                token,
                self.key.public_key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token has expired") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token: {exc}") from None
        claims = TokenClaims(
            subject=str(payload.get("sub") or ""),
            audience=audience,
            expires_at=float(payload["exp"]),
            access=_parse_access(payload.get("access")),
            token_id=str(payload.get("jti") or ""),
            pat_id=payload.get("pat"),
        )
        self._cache[token] = claims
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return claims


def _parse_access(value: object) -> tuple[Scope, ...]:
    if not isinstance(value, list):
        raise InvalidToken("token access claim is malformed")
    scopes: list[Scope] = []
    for item in value:
        if not isinstance(item, dict):
            raise InvalidToken("token access claim is malformed")
        actions = item.get("actions") or []
        if not isinstance(actions, list):
            raise InvalidToken("token access claim is malformed")
        scopes.append(
            Scope(
                str(item.get("type", "")), str(item.get("name", "")), frozenset(map(str, actions))
            )
        )
    return tuple(scopes)
