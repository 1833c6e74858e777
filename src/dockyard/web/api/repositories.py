"""``/v2/repositories``: create, read and change repositories; team permissions on them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.policy import Principal
from dockyard.metadata.hub_store import RepositoryRecord
from dockyard.web.api.common import ApiError, caller, field, hub_services, iso, json_body
from dockyard.web.state import client_address


def repository_json(record: RepositoryRecord) -> dict[str, object]:
    """A repository with the fields Docker Hub's API returns."""
    namespace, _, name = record.name.partition("/")
    return {
        "namespace": namespace,
        "name": name,
        "description": record.description,
        "full_description": record.full_description,
        "is_private": record.is_private,
        "status": 1,
        "date_registered": iso(record.created_at),
        "repository_type": "image",
    }


async def _principal(request: Request) -> Principal:
    principal = await caller(request)
    assert principal is not None
    return principal


def _name(request: Request) -> str:
    return f"{request.path_params['namespace']}/{request.path_params['repository']}"


async def create(request: Request) -> Response:
    """``POST /v2/repositories/`` ``{namespace, name, is_private, description, ...}``."""
    principal = await _principal(request)
    body = await json_body(request)
    namespace = field(body, "namespace", str, required=True)
    name = field(body, "name", str, required=True)
    record = await hub_services(request).repositories.create(
        principal,
        f"{namespace}/{name}",
        is_private=field(body, "is_private", bool, default=False),
        description=field(body, "description", str, default=""),
        full_description=field(body, "full_description", str, default=""),
        address=client_address(request),
    )
    return JSONResponse(repository_json(record), status_code=201)


async def repository(request: Request) -> Response:
    """``GET`` or ``PATCH`` (``{is_private, description, full_description}``) a repository."""
    repositories = hub_services(request).repositories
    if request.method == "PATCH":
        principal = await _principal(request)
        body = await json_body(request)
        record = await repositories.update(
            principal,
            _name(request),
            is_private=field(body, "is_private", bool),
            description=field(body, "description", str),
            full_description=field(body, "full_description", str),
            address=client_address(request),
        )
    else:
        record = await repositories.visible(await caller(request, required=False), _name(request))
    return JSONResponse(repository_json(record))


async def groups(request: Request) -> Response:
    """``GET`` team permissions, or ``POST`` ``{group_name, permission}`` to grant one."""
    principal = await _principal(request)
    orgs = hub_services(request).orgs
    if request.method == "POST":
        body = await json_body(request)
        team = field(body, "group_name", str) or field(body, "name", str)
        if not team:
            raise ApiError(400, "group_name is required", {"field": "group_name"})
        permission = field(body, "permission", str, required=True)
        await orgs.grant(
            principal, _name(request), team, permission, address=client_address(request)
        )
        return JSONResponse({"group_name": team, "permission": permission}, status_code=201)
    listed = await orgs.permissions(principal, _name(request))
    results = [{"group_name": t, "permission": p} for t, p in listed]
    return JSONResponse({"count": len(results), "next": None, "previous": None, "results": results})


async def group(request: Request) -> Response:
    """``DELETE`` a team's permission on a repository."""
    principal = await _principal(request)
    await hub_services(request).orgs.revoke(
        principal,
        _name(request),
        request.path_params["group"],
        address=client_address(request),
    )
    return Response(status_code=204)
