"""``/v2/repositories/{namespace}/{repository}/webhooks/``: webhooks and their deliveries."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.policy import Principal
from dockyard.metadata.webhook_store import DeliveryRecord, WebhookRecord
from dockyard.web.api.common import (
    ApiError,
    caller,
    field,
    hub_services,
    iso,
    json_body,
    page_params,
    paginated,
    single_page,
)
from dockyard.web.state import base_url, client_address


def webhook_json(record: WebhookRecord, secret: str | None = None) -> dict[str, Any]:
    """A webhook; ``secret`` only in the answer to its creation."""
    body: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "webhook_url": record.url,
        "events": list(record.events),
        "active": record.is_active,
        "created_by": record.created_by,
        "created_at": iso(record.created_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body


def delivery_json(record: DeliveryRecord, *, payload: bool = False) -> dict[str, Any]:
    """One delivery: when, what, and how its last attempt went."""
    body: dict[str, Any] = {
        "id": record.id,
        "webhook_id": record.webhook_id,
        "event": record.event,
        "status": record.status,
        "attempts": record.attempts,
        "response_code": record.response_code,
        "error": record.error,
        "created_at": iso(record.created_at),
        "last_attempt_at": iso(record.last_attempt_at),
        "delivered_at": iso(record.delivered_at),
        "next_attempt_at": iso(record.next_attempt_at) if record.status == "pending" else None,
    }
    if payload:
        body["payload"] = json.loads(record.payload)
    return body


async def _principal(request: Request) -> Principal:
    principal = await caller(request)
    assert principal is not None
    return principal


def _name(request: Request) -> str:
    return f"{request.path_params['namespace']}/{request.path_params['repository']}"


def _hook_id(request: Request) -> int:
    value: int = request.path_params["webhook_id"]
    return value


def _events(body: dict[str, Any]) -> list[str] | None:
    events: list[str] | None = field(body, "events", list)
    if events is not None and not all(isinstance(e, str) for e in events):
        raise ApiError(400, "events must be a list of strings", {"field": "events"})
    return events


async def webhooks(request: Request) -> Response:
    """``GET`` the repository's webhooks, or ``POST`` ``{name, webhook_url, events, secret}``."""
    principal = await _principal(request)
    service = hub_services(request).webhooks
    if request.method == "POST":
        body = await json_body(request, max_bytes=64 * 1024)
        created = await service.create(
            principal,
            _name(request),
            hook_name=field(body, "name", str, required=True),
            url=field(body, "webhook_url", str, required=True),
            events=_events(body),
            secret=field(body, "secret", str),
            address=client_address(request),
        )
        return JSONResponse(webhook_json(created.record, created.secret), status_code=201)
    records = await service.of_repository(principal, _name(request))
    results = [webhook_json(r) for r in records]
    return single_page(results)


async def webhook(request: Request) -> Response:
    """``GET``, ``PATCH`` (``{name, webhook_url, events, active, secret}``) or ``DELETE``."""
    principal = await _principal(request)
    service = hub_services(request).webhooks
    if request.method == "DELETE":
        await service.delete(
            principal, _name(request), _hook_id(request), address=client_address(request)
        )
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await json_body(request, max_bytes=64 * 1024)
        active = field(body, "active", bool)
        if active is None:
            active = field(body, "is_active", bool)
        record = await service.update(
            principal,
            _name(request),
            _hook_id(request),
            hook_name=field(body, "name", str),
            url=field(body, "webhook_url", str),
            events=_events(body),
            is_active=active,
            secret=field(body, "secret", str),
            address=client_address(request),
        )
    else:
        record = await service.get(principal, _name(request), _hook_id(request))
    return JSONResponse(webhook_json(record))


async def test(request: Request) -> Response:
    """``POST``: queue a ``ping`` delivery; answers 202 with the delivery."""
    principal = await _principal(request)
    delivery = await hub_services(request).webhooks.test(
        principal, _name(request), _hook_id(request), base_url=base_url(request)
    )
    return JSONResponse(delivery_json(delivery), status_code=202)


async def deliveries(request: Request) -> Response:
    """``GET`` a page of the webhook's deliveries, newest first."""
    principal = await _principal(request)
    page, size = page_params(request)
    total, records = await hub_services(request).webhooks.deliveries(
        principal, _name(request), _hook_id(request), page=page, page_size=size
    )
    return paginated(request, total, page, size, [delivery_json(r) for r in records])


async def delivery(request: Request) -> Response:
    """``GET`` one delivery with its payload."""
    principal = await _principal(request)
    record = await hub_services(request).webhooks.delivery(
        principal, _name(request), _hook_id(request), request.path_params["delivery_id"]
    )
    return JSONResponse(delivery_json(record, payload=True))
