"""``/v2/repositories``: create, list, read, change and delete repositories; team permissions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.policy import Principal
from dockyard.hub.catalog import RepositoryView
from dockyard.oci.names import OFFICIAL_NAMESPACE
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
from dockyard.web.state import client_address, registry_services


def repository_json(view: RepositoryView) -> dict[str, object]:
    """A repository with the fields Docker Hub's API returns (``has_starred``: the caller's)."""
    record = view.record
    namespace, _, name = record.name.partition("/")
    return {
        "user": namespace,
        "name": name,
        "namespace": namespace,
        "repository_type": "image",
        "status": 1,
        "status_description": "active",
        "description": record.description,
        "is_private": record.is_private,
        "is_automated": False,
        "is_official": namespace == OFFICIAL_NAMESPACE,
        "star_count": record.star_count,
        "pull_count": record.pull_count,
        "last_updated": iso(record.last_pushed_at or record.created_at),
        "date_registered": iso(record.created_at),
        "affiliation": view.affiliation,
        "has_starred": view.has_starred,
        "full_description": record.full_description,
        "permissions": {
            "read": "pull" in view.actions,
            "write": "push" in view.actions,
            "admin": "delete" in view.actions,
        },
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
    services = hub_services(request)
    record = await services.repositories.create(
        principal,
        f"{namespace}/{name}",
        is_private=field(body, "is_private", bool, default=False),
        description=field(body, "description", str, default=""),
        full_description=field(body, "full_description", str, default=""),
        address=client_address(request),
    )
    view = await services.catalog.view(principal, record)
    return JSONResponse(repository_json(view), status_code=201)


async def repository(request: Request) -> Response:
    """``GET``, ``PATCH`` (``{is_private, description, full_description}``) or ``DELETE``."""
    services = hub_services(request)
    repositories = services.repositories
    principal: Principal | None
    if request.method == "DELETE":
        principal = await _principal(request)
        await repositories.delete(principal, _name(request), address=client_address(request))
        registry_services(request).manifests.cache.invalidate(_name(request))
        return Response(status_code=202)
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
        principal = await caller(request, required=False)
        record = await repositories.visible(principal, _name(request))
    return JSONResponse(repository_json(await services.catalog.view(principal, record)))


async def namespace_repositories(request: Request) -> Response:
    """``GET /v2/repositories/{namespace}/?page=&page_size=&name=&ordering=``."""
    principal = await caller(request, required=False)
    page, size = page_params(request, 10)
    total, views = await hub_services(request).catalog.list_namespace(
        principal,
        request.path_params["namespace"],
        contains=request.query_params.get("name") or None,
        ordering=request.query_params.get("ordering") or None,
        page=page,
        page_size=size,
    )
    return paginated(request, total, page, size, [repository_json(v) for v in views])


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
    return single_page(results)


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
