"""Recording registry events (push, tag delete) for repositories' webhooks."""

from __future__ import annotations

import logging

from starlette.requests import Request

from dockyard.auth.tokens import TokenClaims
from dockyard.hub.service import HubServices
from dockyard.hub.webhooks import WebhookService
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
