"""``/v2/auditlogs/{account}/``: the audit log of a user or organization (and all, for admins)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dockyard.metadata.hub_store import AuditEvent
from dockyard.web.api.common import caller, hub_services, iso, page_params, paginated


def event_json(event: AuditEvent) -> dict[str, object]:
    """One audit event."""
    return {
        "id": event.id,
        "account": event.namespace,
        "action": event.action,
        "name": event.target,
        "actor": event.actor,
        "actor_ip": event.actor_ip,
        "data": event.detail,
        "timestamp": iso(event.created_at),
    }


async def audit_logs(request: Request) -> Response:
    """A page of audit events of ``account`` (``_all`` for every event; admins only)."""
    principal = await caller(request)
    assert principal is not None
    account = request.path_params["account"]
    page, size = page_params(request, 25)
    total, events = await hub_services(request).audit.events(
        principal,
        None if account == "_all" else account,
        page=page,
        page_size=size,
        action=request.query_params.get("action") or None,
    )
    return paginated(request, total, page, size, [event_json(e) for e in events])
