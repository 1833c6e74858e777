"""Small helpers shared by the pages."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from dockyard.hub.errors import NotFound
from dockyard.oci.names import OFFICIAL_NAMESPACE, is_valid_name
from dockyard.web.ui.urls import page_url

PAGE_SIZE = 25


@dataclass(frozen=True, slots=True)
class Pager:
    """Where a paginated listing stands, with the links to its neighbours."""

    page: int
    size: int
    total: int
    path: str
    params: dict[str, str]

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        """Number of the first item shown (1-based)."""
        return 0 if self.total == 0 else (self.page - 1) * self.size + 1

    @property
    def last(self) -> int:
        """Number of the last item shown."""
        return min(self.total, self.page * self.size)

    @property
    def previous_url(self) -> str | None:
        """Link to the page before, if any."""
        return page_url(self.path, self.params, self.page - 1) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        """Link to the page after, if any."""
        more = self.page < self.pages
        return page_url(self.path, self.params, self.page + 1) if more else None


def page_number(request: Request) -> int:
    """The ``page`` query parameter (1 when missing or malformed), at most 10,000."""
    try:
        value = int(request.query_params.get("page", "1"))
    except ValueError:
        return 1
    return min(max(value, 1), 10_000)


def pager(request: Request, total: int, page: int, size: int = PAGE_SIZE) -> Pager:
    """A :class:`Pager` for the request's path and query."""
    return Pager(page, size, total, request.url.path, dict(request.query_params))


def repository_name(request: Request) -> str:
    """``namespace/name`` from ``/r/{namespace}/{name}`` or ``library/name`` from ``/_/{name}``."""
    params = request.path_params
    namespace = params.get("namespace", OFFICIAL_NAMESPACE)
    name = f"{namespace}/{params['repository']}"
    if not is_valid_name(name):
        raise NotFound(f"repository {name!r} not found")
    return name
