"""Errors on web pages: 404, 403, 500 (and a few others) as pages, never stack traces.

Pages are written as ``async def handler(visit) -> Response`` and wrapped by :func:`page`,
which starts the visit and turns domain errors into error pages. Routing errors (404, 405) and
unexpected exceptions on paths that are not the registry's or the Hub API's are rendered as
pages by the app-level handlers here; ``/v2``, ``/v1`` and ``/token`` keep their JSON errors.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from dockyard.auth.errors import AuthError
from dockyard.hub import errors as hub_errors
from dockyard.registry.errors import RegistryError
from dockyard.web import errors as api_errors
from dockyard.web.ui.context import SECURITY_HEADERS, Visit, begin
from dockyard.web.ui.forms import FormTooLarge
from dockyard.web.ui.session import CsrfFailed

log = logging.getLogger("dockyard.web.ui")

#: Paths whose errors stay machine-readable.
API_PREFIXES = ("/v2/", "/v1/", "/token")

TITLES = {
    400: "Bad request",
    403: "Access denied",
    404: "Page not found",
    405: "Method not allowed",
    413: "Too much data",
    429: "Slow down",
    500: "Something went wrong",
}

HUB_STATUS: dict[type[hub_errors.HubError], int] = {
    hub_errors.ValidationFailed: 400,
    hub_errors.NotFound: 404,
    hub_errors.Forbidden: 403,
    hub_errors.Conflict: 409,
    hub_errors.SignupClosed: 403,
}

Handler = Callable[[Visit], Awaitable[Response]]


def is_page_path(path: str) -> bool:
    """True for web pages (not the registry, token or Hub API endpoints)."""
    return not (path == "/v2" or path.startswith(API_PREFIXES))


def error_page(visit: Visit, status: int, message: str = "") -> Response:
    """The error page for ``status``."""
    return visit.render(
        "error.html", status=status, status_code=status, title=TITLES.get(status, "Error"),
        message=message,
    )  # fmt: skip


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint running ``handler`` with a visit, errors as pages."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        visit = await begin(request)
        try:
            return await handler(visit)
        except CsrfFailed as exc:
            return error_page(visit, 403, str(exc))
        except FormTooLarge:
            return error_page(visit, 413, "the form is larger than this server accepts")
        except hub_errors.HubError as exc:
            return error_page(visit, HUB_STATUS.get(type(exc), 400), exc.message)
        except AuthError as exc:
            return error_page(visit, 403, exc.message)
        except RegistryError as exc:
            return error_page(visit, 404, exc.message or "not found")
        except Exception:
            log.exception("error on page %s %s", request.method, request.url.path)
            return error_page(visit, 500, "")

    return endpoint


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Routing errors: pages on page paths, the API's JSON elsewhere."""
    assert isinstance(exc, HTTPException)
    if not is_page_path(request.url.path) or not hasattr(request.app.state, "ui"):
        return await api_errors.http_error_handler(request, exc)
    visit = await begin(request)
    response = error_page(visit, exc.status_code, "")
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    """Unforeseen errors: a plain page on page paths (no template, it may be what broke)."""
    if not is_page_path(request.url.path) or not hasattr(request.app.state, "ui"):
        return await api_errors.unexpected_error_handler(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    html = (
        "<!doctype html><meta charset=utf-8><title>Something went wrong</title>"
        "<h1>Something went wrong</h1><p>The error was logged. Please try again later.</p>"
    )
    return HTMLResponse(html, status_code=500, headers=SECURITY_HEADERS)
