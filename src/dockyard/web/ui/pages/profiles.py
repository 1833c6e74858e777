"""A user's or organization's page: its repositories (those the viewer may read)."""

from __future__ import annotations

from starlette.responses import Response

from dockyard.hub.errors import NotFound
from dockyard.web.ui.context import Visit
from dockyard.web.ui.errors import page
from dockyard.web.ui.pages.common import PAGE_SIZE, page_number, pager

ORDERINGS = {
    "-last_updated": "Recently updated",
    "name": "Name",
    "-pull_count": "Most pulls",
}


@page
async def profile(visit: Visit) -> Response:
    """``/u/{namespace}``."""
    name = visit.request.path_params["namespace"]
    record = await visit.ui.profiles.namespace(name)
    query = visit.request.query_params.get("q", "").strip()[:100]
    ordering = visit.request.query_params.get("ordering", "-last_updated")
    if ordering not in ORDERINGS:
        ordering = "-last_updated"
    number = page_number(visit.request)
    try:
        total, views = await visit.hub.catalog.list_namespace(
            visit.principal, name, contains=query or None, ordering=ordering, page=number,
            page_size=PAGE_SIZE,
        )  # fmt: skip
    except NotFound:
        if record is None:
            raise
        total, views = 0, []
    role = None
    if record is not None and record.kind == "organization":
        role = await visit.hub.orgs.role(visit.principal, name)
    own = visit.user is not None and (visit.user.username == name or role == "owner")
    return visit.render(
        "profile.html",
        namespace=name,
        record=record,
        role=role,
        own=own,
        repositories=views,
        query=query,
        ordering=ordering,
        orderings=ORDERINGS,
        pager=pager(visit.request, total, number),
    )
