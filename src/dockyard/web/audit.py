"""Recording audit events from the web layer (who, what, when, from where)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from dockyard.auth.tokens import TokenClaims
from dockyard.metadata.db import Transaction
from dockyard.metadata.hub_store import AUDIT_INSERT_PREPARED, audit_row
from dockyard.web.state import auth_services, client_address


async def record(
    request: Request,
    claims: TokenClaims | None,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an audit event for a registry action by the token's subject."""
    auth = auth_services(request)
    await auth.store.audit(
        action,
        actor=claims.subject if claims else "",
        actor_ip=client_address(request),
        namespace=target.split("/", 1)[0],
        target=target,
        detail=detail,
    )


def record_in(
    conn: Transaction,
    request: Request,
    claims: TokenClaims | None,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """:func:`record` inside the caller's synchronous write transaction."""
    conn.execute(
        AUDIT_INSERT_PREPARED,
        audit_row(
            action,
            actor=claims.subject if claims else "",
            actor_ip=client_address(request),
            namespace=target.split("/", 1)[0],
            target=target,
            detail=detail,
        ),
    )


async def visible_repositories(request: Request, claims: TokenClaims | None) -> Any:
    """The WHERE clause selecting repositories the caller may read (None: all)."""
    auth = auth_services(request)
    if not auth.enabled:
        return None
    user = await auth.store.user_by_name(claims.subject) if claims and claims.subject else None
    return auth.store.readable_repositories_condition(
        user.id if user else None, user.is_admin if user else False
    )
