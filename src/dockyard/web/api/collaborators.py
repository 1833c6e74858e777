"""``/v2/repositories/{namespace}/{repository}/collaborators``: who besides its owner may pull,
push or administer a personal repository (Docker Hub's collaborators)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.policy import Principal
from dockyard.metadata.collaborator_store import CollaboratorRecord
from dockyard.web.api.common import caller, field, hub_services, iso, json_body, single_page
from dockyard.web.state import client_address

#: The permission of a collaborator added without one: Docker Hub's collaborators push and pull.
DEFAULT_PERMISSION = "write"


def collaborator_json(record: CollaboratorRecord) -> dict[str, object]:
    """One collaborator: ``{user, permission, created_at}``."""
    return {
        "user": record.username,
        "permission": record.permission,
        "created_at": iso(record.created_at),
    }


async def _principal(request: Request) -> Principal:
    principal = await caller(request)
    assert principal is not None
    return principal


def _name(request: Request) -> str:
    return f"{request.path_params['namespace']}/{request.path_params['repository']}"


async def collaborators(request: Request) -> Response:
    """``GET`` the collaborators, or ``POST`` ``{user, permission}`` to add one (owner only)."""
    principal = await _principal(request)
    service = hub_services(request).collaborators
    if request.method == "POST":
        body = await json_body(request)
        username = field(body, "user", str, required=True)
        record = await service.add(
            principal,
            _name(request),
            username,
            field(body, "permission", str, default=DEFAULT_PERMISSION),
            address=client_address(request),
        )
        return JSONResponse(collaborator_json(record), status_code=201)
    results = [collaborator_json(r) for r in await service.collaborators(principal, _name(request))]
    return single_page(results)


async def collaborator(request: Request) -> Response:
    """``PUT`` ``{permission}`` to change a collaborator's permission, or ``DELETE`` one."""
    principal = await _principal(request)
    service = hub_services(request).collaborators
    username = request.path_params["username"]
    if request.method == "DELETE":
        await service.remove(principal, _name(request), username, address=client_address(request))
        return Response(status_code=204)
    body = await json_body(request)
    record = await service.change(
        principal,
        _name(request),
        username,
        field(body, "permission", str, required=True),
        address=client_address(request),
    )
    return JSONResponse(collaborator_json(record))
