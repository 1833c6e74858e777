"""Personal access tokens: create (secret shown once), list, rename, deactivate, delete."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from dockyard.auth.credentials import PAT_PREFIX, new_secret, secret_hash
from dockyard.auth.policy import PAT_SCOPE_ACTIONS, Principal
from dockyard.hub.errors import Forbidden, NotFound, ValidationFailed
from dockyard.metadata.hub_store import AccessTokenRecord, HubStore
from dockyard.metadata.store import utcnow

VALID_SCOPES = frozenset(PAT_SCOPE_ACTIONS)


@dataclass(frozen=True, slots=True)
class CreatedToken:
    """A new token and its secret (returned once, never stored)."""

    record: AccessTokenRecord
    secret: str


def require_account_scope(principal: Principal) -> None:
    """Account management needs a password login or a token with the ``admin`` scope."""
    if principal.token_scopes is not None and "admin" not in principal.token_scopes:
        raise Forbidden("this access token may not manage the account (needs the admin scope)")


class AccessTokenService:
    """Manages a user's personal access tokens."""

    def __init__(self, store: HubStore) -> None:
        self.store = store

    async def create(
        self,
        principal: Principal,
        label: str,
        scopes: list[str],
        expires_at: datetime | None,
        address: str = "",
    ) -> CreatedToken:
        """Create a token for ``principal``'s account."""
        require_account_scope(principal)
        label = label.strip()
        if not label or len(label) > 100:
            raise ValidationFailed("token_label must be 1 to 100 characters")
        unknown = sorted(set(scopes) - VALID_SCOPES)
        if not scopes or unknown:
            raise ValidationFailed(
                f"scopes must be some of {', '.join(sorted(VALID_SCOPES))}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )
        if expires_at is not None and expires_at <= utcnow():
            raise ValidationFailed("expires_at must be in the future")
        secret = new_secret(PAT_PREFIX)
        record = await self.store.create_access_token(
            str(uuid.uuid4()),
            principal.user_id,
            label,
            secret_hash(secret),
            sorted(set(scopes)),
            expires_at,
        )
        await self.store.audit(
            "access_token.create",
            actor=principal.username,
            actor_ip=address,
            namespace=principal.username,
            target=record.id,
            detail={"label": label, "scopes": sorted(set(scopes))},
        )
        return CreatedToken(record, secret)

    async def list(
        self, principal: Principal, *, page: int, page_size: int
    ) -> tuple[int, list[AccessTokenRecord]]:
        """A page of the principal's tokens."""
        require_account_scope(principal)
        return await self.store.access_tokens(
            principal.user_id, offset=(page - 1) * page_size, limit=page_size
        )

    async def get(self, principal: Principal, token_id: str) -> AccessTokenRecord:
        """One of the principal's tokens."""
        require_account_scope(principal)
        record = await self.store.access_token(token_id) if _is_uuid(token_id) else None
        if record is None or record.user_id != principal.user_id:
            raise NotFound("no such access token")
        return record

    async def update(
        self,
        principal: Principal,
        token_id: str,
        *,
        label: str | None,
        is_active: bool | None,
        address: str = "",
    ) -> AccessTokenRecord:
        """Rename or (de)activate a token; deactivation takes effect at once."""
        record = await self.get(principal, token_id)
        if label is not None and (not label.strip() or len(label) > 100):
            raise ValidationFailed("token_label must be 1 to 100 characters")
        await self.store.update_access_token(record.id, label=label, is_active=is_active)
        await self.store.audit(
            "access_token.update",
            actor=principal.username,
            actor_ip=address,
            namespace=principal.username,
            target=record.id,
            detail={"label": label, "is_active": is_active},
        )
        return await self.get(principal, token_id)

    async def delete(self, principal: Principal, token_id: str, address: str = "") -> None:
        """Revoke a token for good."""
        record = await self.get(principal, token_id)
        await self.store.delete_access_token(record.id)
        await self.store.audit(
            "access_token.delete",
            actor=principal.username,
            actor_ip=address,
            namespace=principal.username,
            target=record.id,
        )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
