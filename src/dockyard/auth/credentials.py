"""Checking a username with a password or a personal access token, with login throttling."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import anyio.to_thread

from dockyard.auth.errors import InvalidCredentials, Throttled
from dockyard.auth.passwords import hash_password, needs_rehash, verify_password
from dockyard.auth.policy import Principal
from dockyard.metadata.hub_store import AccessTokenRecord, HubStore, UserRecord
from dockyard.metadata.store import utcnow

#: Personal access tokens start with this, so they are recognised (and found by scanners).
PAT_PREFIX = "dy_pat_"
#: Refresh (offline) tokens start with this.
REFRESH_PREFIX = "dy_rt_"


def new_secret(prefix: str) -> str:
    """A new random secret with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """How a high-entropy secret is stored: its sha256 (argon2 is for low-entropy passwords)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ThrottleLimits:
    """How many failed logins an account and an address may have in one window."""

    per_account: int = 10
    per_address: int = 50
    window_seconds: int = 300


class Authenticator:
    """Turns credentials into a :class:`Principal`, or refuses them."""

    def __init__(self, store: HubStore, limits: ThrottleLimits) -> None:
        self.store = store
        self.limits = limits

    async def authenticate(self, username: str, secret: str, address: str) -> Principal:
        """Check ``secret`` (a password or an access token) for ``username``."""
        if "\x00" in username or "\x00" in secret:
            # No account or secret holds a NUL, and PostgreSQL cannot compare text with one:
            # refused before any lookup (nor counted: such a guess can never succeed).
            raise InvalidCredentials("incorrect username or password")
        window = timedelta(seconds=self.limits.window_seconds)
        keys = (
            (f"user:{username.lower()[:255]}", self.limits.per_account),
            (f"ip:{address}", self.limits.per_address),
        )
        for key, limit in keys:
            failures, started = await self.store.failures(key, window)
            if failures >= limit and started is not None:
                retry = int((started + window - utcnow()).total_seconds()) + 1
                raise Throttled("too many failed login attempts; try again later", max(retry, 1))
        principal = await self._check(username, secret, address)
        if principal is None:
            for key, _limit in keys:
                await self.store.add_failure(key, window)
            await self.store.audit(
                "login.failed", actor=username[:255], actor_ip=address, namespace=username[:255]
            )
            raise InvalidCredentials("incorrect username or password")
        await self.store.clear_failures(keys[0][0])
        return principal

    async def _check(self, username: str, secret: str, address: str) -> Principal | None:
        if secret.startswith(PAT_PREFIX):
            token = await self.store.access_token_by_hash(secret_hash(secret))
            if token is None or not _usable(token) or token.username != username.lower():
                return None
            user = await self.store.user_by_id(token.user_id)
            if user is None or not user.is_active:
                return None
            await self.store.touch_access_token(token.id, address)
            return principal_for(user, token)
        user = await self.store.user_by_name(username.lower())
        ok = await anyio.to_thread.run_sync(
            verify_password, user.password_hash if user else None, secret
        )
        if user is None or not ok or not user.is_active:
            return None
        if needs_rehash(user.password_hash):
            new_hash = await anyio.to_thread.run_sync(hash_password, secret)
            await self.store.set_password(user.id, new_hash)
        return principal_for(user)

    async def principal(self, username: str, pat_id: str | None) -> Principal | None:
        """The current principal behind a token's subject (None if gone or revoked)."""
        user = await self.store.user_by_name(username)
        if user is None or not user.is_active:
            return None
        if pat_id is None:
            return principal_for(user)
        token = await self.store.access_token(pat_id)
        if token is None or not _usable(token) or token.user_id != user.id:
            return None
        return principal_for(user, token)


def principal_for(user: UserRecord, token: AccessTokenRecord | None = None) -> Principal:
    """The principal of ``user``, limited to ``token``'s scopes when one was used."""
    if token is None:
        return Principal(user.id, user.username, user.is_admin)
    return Principal(user.id, user.username, user.is_admin, frozenset(token.scopes), token.id)


def _usable(token: AccessTokenRecord) -> bool:
    if not token.is_active:
        return False
    if token.expires_at is None:
        return True
    expires = (
        token.expires_at
        if token.expires_at.tzinfo
        else token.expires_at.replace(tzinfo=utcnow().tzinfo)
    )
    return expires > utcnow()
