"""The home page and search: repositories by name and description, official images first."""

from __future__ import annotations

from starlette.responses import Response

from dockyard.hub.errors import ValidationFailed
from dockyard.web.ui.context import Visit
from dockyard.web.ui.errors import page
from dockyard.web.ui.pages.common import PAGE_SIZE, page_number, pager


@page
async def explore(visit: Visit) -> Response:
    """``/explore?q=&page=`` (also ``/`` and ``/search``)."""
    query = visit.request.query_params.get("q", "").strip()
    number = page_number(visit.request)
    try:
        total, records = await visit.hub.catalog.search(
            visit.principal, query, page=number, page_size=PAGE_SIZE
        )
    except ValidationFailed as exc:
        return visit.render(
            "explore.html", status=400, query=query, error=exc.message, repositories=[],
            pager=pager(visit.request, 0, 1),
        )  # fmt: skip
    return visit.render(
        "explore.html",
        query=query,
        repositories=records,
        pager=pager(visit.request, total, number),
    )
