"""Recording registry events (push, tag delete) for repositories' webhooks."""

from __future__ import annotations

import logging

from starlette.requests import Request

from dockyard.auth.tokens import TokenClaims
from dockyard.hub.service import HubServices
from dockyard.hub.webhooks import WebhookService
from dockyard.metadata.db import Transaction
from dockyard.web.state import base_url

log = logging.getLogger("dockyard.webhooks")


def webhook_service(request: Request) -> WebhookService:
    """The webhook service of the running app."""
    hub: HubServices = request.app.state.hub
    return hub.webhooks


async def emit(
    request: Request, claims: TokenClaims | None, repository: str, event: str, tag: str
) -> None:
    """Queue ``event`` for the repository's webhooks after a successful registry write.

    The write has happened: a failure here is logged, not turned into an error response.
    """
    try:
        await webhook_service(request).enqueue(
            repository,
            event,
            claims.subject if claims else "",
            tag,
            base_url=base_url(request),
        )
    except Exception:
        log.exception("could not queue the %s event of %s for its webhooks", event, repository)


def emit_in(
    conn: Transaction,
    request: Request,
    claims: TokenClaims | None,
    repository: str,
    event: str,
    tag: str,
) -> int:
    """:func:`emit` inside the caller's write transaction: the outbox rows commit with the
    registry write (no event lost between the two). Wake the worker after the commit."""
    return webhook_service(request).enqueue_in(
        conn,
        repository,
        event,
        claims.subject if claims else "",
        tag,
        base_url=base_url(request),
    )


def wake(request: Request) -> None:
    """Wake this node's webhook delivery worker."""
    webhook_service(request).wake()
