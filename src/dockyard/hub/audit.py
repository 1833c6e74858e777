"""Reading the audit log: admins see all, owners their organization, users themselves."""

from __future__ import annotations

from dockyard.auth.policy import Principal
from dockyard.hub.errors import Forbidden
from dockyard.metadata.hub_store import AuditEvent, HubStore


class AuditService:
    """Pages of audit events for those allowed to read them."""

    def __init__(self, store: HubStore) -> None:
        self.store = store

    async def events(
        self,
        principal: Principal,
        account: str | None,
        *,
        page: int,
        page_size: int,
        action: str | None = None,
    ) -> tuple[int, list[AuditEvent]]:
        """Events of ``account`` (a user or organization); all events for site admins."""
        if account is None and not principal.is_admin:
            raise Forbidden("only site administrators read the whole audit log")
        if account is not None and not await self._may_read(principal, account):
            raise Forbidden(f"only owners of {account} read its audit log")
        return await self.store.audit_events(
            namespace=account, offset=(page - 1) * page_size, limit=page_size, action=action
        )

    async def _may_read(self, principal: Principal, account: str) -> bool:
        if principal.is_admin or account == principal.username:
            return True
        return await self.store.organization_role(account, principal.user_id) == "owner"
