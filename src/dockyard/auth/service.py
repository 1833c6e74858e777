"""The Docker token service: credentials and requested scopes in, a signed token out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dockyard.auth.credentials import (
    REFRESH_PREFIX,
    Authenticator,
    new_secret,
    secret_hash,
)
from dockyard.auth.errors import InvalidCredentials, InvalidRequest
from dockyard.auth.grants import Grants
from dockyard.auth.policy import Principal
from dockyard.auth.scopes import InvalidScope, Scope, parse_scopes
from dockyard.auth.tokens import TokenAuthority
from dockyard.metadata.hub_store import HubStore
from dockyard.metadata.store import utcnow

#: Most resources one token request may name (each costs a permission lookup).
MAX_SCOPES = 64


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token response: the JWT, its lifetime, and a refresh token when one was asked for."""

    token: str
    expires_in: int
    issued_at: int
    scopes: list[Scope]
    refresh_token: str | None = None

    def body(self) -> dict[str, object]:
        """The JSON body Docker clients expect."""
        data: dict[str, object] = {
            "token": self.token,
            "access_token": self.token,
            "expires_in": self.expires_in,
            "issued_at": datetime.fromtimestamp(self.issued_at, UTC)
            .isoformat()
            .replace("+00:00", "Z"),
        }
        if self.scopes:
            data["scope"] = " ".join(str(s) for s in self.scopes)
        if self.refresh_token:
            data["refresh_token"] = self.refresh_token
        return data


class TokenService:
    """Issues registry tokens (audience = service) and Hub API tokens."""

    def __init__(
        self,
        store: HubStore,
        authenticator: Authenticator,
        authority: TokenAuthority,
        *,
        service: str,
        refresh_days: int,
    ) -> None:
        self.store = store
        self.authenticator = authenticator
        self.authority = authority
        self.grants = Grants(store)
        self.service = service
        self.refresh_days = refresh_days

    @property
    def hub_audience(self) -> str:
        """Audience of Hub API tokens (never accepted by the registry, and vice versa)."""
        return f"{self.service}:hub"

    def check_service(self, service: str | None) -> None:
        """Refuse tokens for another service."""
        if service and service != self.service:
            raise InvalidRequest(f"unknown service {service[:100]!r}; this is {self.service!r}")

    @staticmethod
    def parse_scopes(values: list[str]) -> list[Scope]:
        """Parse scope parameters, turning malformed ones into :class:`InvalidRequest`."""
        try:
            scopes = parse_scopes(values)
        except InvalidScope as exc:
            raise InvalidRequest(str(exc)) from None
        if len(scopes) > MAX_SCOPES:
            raise InvalidRequest(f"at most {MAX_SCOPES} scopes may be asked for at once")
        return scopes

    async def registry_token(
        self,
        principal: Principal | None,
        scopes: list[Scope],
        *,
        offline: bool = False,
        address: str = "",
        client_id: str = "",
    ) -> IssuedToken:
        """A registry token granting what ``principal`` may of ``scopes``."""
        granted = await self.grants.grant(scopes, principal)
        token, expires_in, issued_at = self.authority.issue(
            subject=principal.username if principal else "",
            audience=self.service,
            access=granted,
            pat_id=principal.pat_id if principal else None,
        )
        refresh = None
        if offline and principal is not None:
            refresh = await self._refresh_token(principal)
        if principal is not None:
            await self.store.audit(
                "token.use" if principal.pat_id else "login",
                actor=principal.username,
                actor_ip=address,
                namespace=principal.username,
                detail={
                    "client_id": client_id[:100],
                    "scope": [str(s) for s in granted],
                    **({"access_token": principal.pat_id} if principal.pat_id else {}),
                },
            )
        return IssuedToken(token, expires_in, issued_at, granted, refresh)

    async def _refresh_token(self, principal: Principal) -> str:
        secret = new_secret(REFRESH_PREFIX)
        await self.store.create_refresh_token(
            str(uuid.uuid4()),
            principal.user_id,
            secret_hash(secret),
            utcnow() + timedelta(days=self.refresh_days),
            principal.pat_id,
        )
        return secret

    async def principal_from_refresh(self, refresh_token: str) -> Principal:
        """The principal a refresh token stands for; raises :class:`InvalidCredentials`."""
        found = await self.store.refresh_token(secret_hash(refresh_token))
        if found is None:
            raise InvalidCredentials("invalid refresh token")
        user_id, pat_id, expires_at, revoked = found
        expires = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
        user = await self.store.user_by_id(user_id)
        if revoked or expires < utcnow() or user is None:
            raise InvalidCredentials("invalid refresh token")
        principal = await self.authenticator.principal(user.username, pat_id)
        if principal is None:
            raise InvalidCredentials("invalid refresh token")
        return principal

    def hub_token(self, principal: Principal) -> str:
        """A token for the Hub REST API."""
        token, _expires, _issued = self.authority.issue(
            subject=principal.username,
            audience=self.hub_audience,
            pat_id=principal.pat_id,
        )
        return token
