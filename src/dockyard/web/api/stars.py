"""Stars: ``POST``/``DELETE /v2/repositories/{ns}/{repo}/stars/`` and a user's starred list."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.web.api.common import caller, hub_services, page_params, paginated
from dockyard.web.api.repositories import repository_json


async def stars(request: Request) -> Response:
    """``POST`` stars the repository (201, or 200 when already starred); ``DELETE`` unstars it
    (204, also when it was not starred). Both answer 404 for repositories the caller may not
    read."""
    principal = await caller(request)
    assert principal is not None
    name = f"{request.path_params['namespace']}/{request.path_params['repository']}"
    catalog = hub_services(request).catalog
    if request.method == "DELETE":
        await catalog.unstar(principal, name)
        return Response(status_code=204)
    created, view = await catalog.star(principal, name)
    return JSONResponse(repository_json(view), status_code=201 if created else 200)


async def starred(request: Request) -> Response:
    """``GET /v2/users/{username}/starred/``: what the user starred, newest first (only the
    repositories the caller may read)."""
    page, size = page_params(request, 10)
    total, views = await hub_services(request).catalog.starred(
        await caller(request, required=False),
        request.path_params["username"],
        page=page,
        page_size=size,
    )
    return paginated(request, total, page, size, [repository_json(v) for v in views])
