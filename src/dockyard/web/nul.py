"""Requests with a NUL character in the path or query string, answered before any handler.

Nothing in Dockyard can be named with a NUL (U+0000), and PostgreSQL can neither store text
that holds one nor compare with it (the query fails; SQLite's does not), so such input must
not reach the database, and the answer must not depend on which database it is:

- in the query string (a search term, a filter, ``last``): 400, in the error shape of the
  endpoint (Hub API, registry and ``/token``, web page);
- in the path: 404 on the Hub API and web pages (nothing is called that). The registry's routes
  check names themselves and answer ``NAME_INVALID``, as for any other bad name.

JSON bodies of the Hub API and credentials are checked where they are read
(:func:`dockyard.web.api.common.json_body`, :class:`dockyard.auth.credentials.Authenticator`);
web forms turn a NUL into U+FFFD, as they do undecodable bytes.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.web.api.common import api_error_response
from dockyard.web.api.routes import ROUTES as API_ROUTES
from dockyard.web.errors import API_VERSION_HEADER
from dockyard.web.token import ROUTES as TOKEN_ROUTES
from dockyard.web.ui import errors as page_errors
from dockyard.web.v2.routes import ROUTES as V2_ROUTES

QUERY_MESSAGE = "the query string must not contain NUL characters"


def has_nul(scope: Scope) -> tuple[bool, bool]:
    """Whether the path, and whether the query string, hold a NUL (raw or ``%00``)."""
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"], b"%00" in query or b"\x00" in query


class RefuseNul:
    """Answers requests with a NUL in the path or query string (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        in_path, in_query = has_nul(scope)
        route = _route(scope) if in_path or in_query else None
        if route is None or (not in_query and any(route is r for r in V2_ROUTES)):
            await self.app(scope, receive, send)  # unrouted (404), or a registry name check
            return
        response = await _refusal(Request(scope, receive), route, 400 if in_query else 404)
        await response(scope, receive, send)


def _route(scope: Scope) -> BaseRoute | None:
    """The first of the app's routes that the request's path matches."""
    routes: list[BaseRoute] = scope["app"].router.routes
    for route in routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            return route
    return None


async def _refusal(request: Request, route: BaseRoute, status: int) -> Response:
    message = QUERY_MESSAGE if status == 400 else "not found"
    if any(route is r for r in API_ROUTES):
        kind = "ValidationFailed" if status == 400 else "NotFound"
        return api_error_response(status, message, {"type": kind})
    registry = any(route is r for r in V2_ROUTES)
    if registry or any(route is r for r in TOKEN_ROUTES):
        error = {"code": "UNSUPPORTED", "message": message, "detail": None}
        headers = API_VERSION_HEADER if registry else None
        return JSONResponse({"errors": [error]}, status_code=status, headers=headers)
    return await page_errors.http_error_handler(request, HTTPException(status))
