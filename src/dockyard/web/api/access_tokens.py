"""``/v2/access-tokens``: personal access tokens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.policy import Principal
from dockyard.metadata.hub_store import AccessTokenRecord
from dockyard.web.api.common import (
    ApiError,
    caller,
    field,
    hub_services,
    iso,
    json_body,
    page_params,
    paginated,
    parse_time,
)
from dockyard.web.state import client_address


def token_json(
    record: AccessTokenRecord, principal: Principal, secret: str = ""
) -> dict[str, object]:
    """A token as Docker Hub shows one; ``token`` holds the secret only at creation."""
    return {
        "uuid": record.id,
        "client_id": "dockyard",
        "creator_ip": "",
        "creator_ua": "",
        "created_at": iso(record.created_at),
        "last_used": iso(record.last_used_at),
        "generated_by": "manual",
        "is_active": record.is_active,
        "token": secret,
        "token_label": record.label,
        "scopes": list(record.scopes),
        "expires_at": iso(record.expires_at),
        "username": principal.username,
    }


async def _principal(request: Request) -> Principal:
    principal = await caller(request)
    assert principal is not None
    return principal


async def list_or_create(request: Request) -> Response:
    """``GET`` (a page) or ``POST`` (``{token_label, scopes, expires_at}``) access tokens."""
    principal = await _principal(request)
    service = hub_services(request).access_tokens
    if request.method == "POST":
        body = await json_body(request)
        scopes = field(body, "scopes", list, default=["repo:read"])
        if not all(isinstance(s, str) for s in scopes):
            raise ApiError(400, "scopes must be a list of strings", {"field": "scopes"})
        created = await service.create(
            principal,
            field(body, "token_label", str, required=True),
            scopes,
            parse_time(field(body, "expires_at", str), "expires_at"),
            client_address(request),
        )
        return JSONResponse(token_json(created.record, principal, created.secret), status_code=201)
    page, size = page_params(request, 10)
    total, records = await service.list(principal, page=page, page_size=size)
    response = paginated(request, total, page, size, [token_json(r, principal) for r in records])
    return response


async def one(request: Request) -> Response:
    """``GET``, ``PATCH`` (``{token_label, is_active}``) or ``DELETE`` one token."""
    principal = await _principal(request)
    service = hub_services(request).access_tokens
    token_id = request.path_params["uuid"]
    if request.method == "DELETE":
        await service.delete(principal, token_id, client_address(request))
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await json_body(request)
        record = await service.update(
            principal,
            token_id,
            label=field(body, "token_label", str),
            is_active=field(body, "is_active", bool),
            address=client_address(request),
        )
    else:
        record = await service.get(principal, token_id)
    return JSONResponse(token_json(record, principal))
