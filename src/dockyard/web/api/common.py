"""Shared pieces of the Hub API: errors, the caller's identity, JSON bodies, pagination."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.errors import AuthError, Throttled
from dockyard.auth.policy import Principal
from dockyard.auth.tokens import InvalidToken
from dockyard.hub import errors as hub
from dockyard.hub.service import HubServices
from dockyard.web.state import auth_services, base_url

HUB_ERROR_STATUS: dict[type[hub.HubError], int] = {
    hub.ValidationFailed: 400,
    hub.NotFound: 404,
    hub.Forbidden: 403,
    hub.Conflict: 409,
    hub.SignupClosed: 403,
}

MAX_PAGE_SIZE = 100
#: Highest page number accepted (beyond it the row offset would overflow a database integer).
MAX_PAGE = 1_000_000


class ApiError(Exception):
    """A Hub API error with its status, message and machine-readable ``errinfo``."""

    def __init__(self, status: int, message: str, errinfo: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errinfo = errinfo or {}
        self.headers: dict[str, str] = {}


def api_error_response(
    status: int,
    message: str,
    errinfo: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Docker Hub's error body: ``{"message": ..., "errinfo": {...}}``."""
    return JSONResponse(
        {"message": message, "errinfo": errinfo or {}}, status_code=status, headers=headers
    )


async def api_error_handler(request: Request, exc: Exception) -> Response:
    """Render an :class:`ApiError`."""
    assert isinstance(exc, ApiError)
    return api_error_response(exc.status, exc.message, exc.errinfo, exc.headers)


async def hub_error_handler(request: Request, exc: Exception) -> Response:
    """Render a Hub service error."""
    assert isinstance(exc, hub.HubError)
    status = HUB_ERROR_STATUS.get(type(exc), 400)
    return api_error_response(status, exc.message, {"type": type(exc).__name__})


async def auth_error_handler(request: Request, exc: Exception) -> Response:
    """Render an authentication failure on the Hub API."""
    assert isinstance(exc, AuthError)
    if isinstance(exc, Throttled):
        return api_error_response(429, exc.message, {}, {"Retry-After": str(exc.retry_after)})
    return api_error_response(401, exc.message, {"type": type(exc).__name__})


def hub_services(request: Request) -> HubServices:
    """The Hub services of the running app."""
    services: HubServices = request.app.state.hub
    return services


async def caller(request: Request, *, required: bool = True) -> Principal | None:
    """The principal of ``Authorization: Bearer <token>`` (Hub token or access token)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if not header:
        if required:
            raise ApiError(401, "authentication required", {"type": "Unauthorized"})
        return None
    if scheme.lower() not in ("bearer", "jwt") or not value:
        raise ApiError(401, "malformed Authorization header: use Bearer <token>")
    auth = auth_services(request)
    if value.startswith("dy_pat_"):
        raise ApiError(401, "exchange an access token at POST /v2/auth/token first")
    try:
        claims = auth.tokens.authority.verify(value, auth.tokens.hub_audience)
    except InvalidToken as exc:
        raise ApiError(401, str(exc), {"type": "InvalidToken"}) from None
    principal = await auth.authenticator.principal(claims.subject, claims.pat_id)
    if principal is None:
        raise ApiError(401, "the account or access token behind this token is no longer valid")
    return principal


async def json_body(request: Request, max_bytes: int = 1024 * 1024) -> dict[str, Any]:
    """The request's JSON object body; 400 on anything else."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, "request body too large")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > max_bytes:
            raise ApiError(413, "request body too large")
    body = bytes(chunks)
    if not body:
        return {}
    try:
        import json

        value = json.loads(body)
    except ValueError:
        raise ApiError(400, "the body must be a JSON object") from None
    if not isinstance(value, dict):
        raise ApiError(400, "the body must be a JSON object")
    if _holds_nul(value):
        # No field may hold one, and PostgreSQL cannot store or compare text with it.
        raise ApiError(400, "text in the body must not contain NUL characters (\\u0000)")
    return value


def _holds_nul(value: Any) -> bool:
    """Whether a string anywhere in a JSON value (keys too) holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def field(
    body: dict[str, Any], name: str, kind: type, *, required: bool = False, default: Any = None
) -> Any:
    """One typed field of a JSON body; 400 when missing (if required) or of the wrong type."""
    if name not in body or body[name] is None:
        if required:
            raise ApiError(400, f"{name} is required", {"field": name})
        return default
    value = body[name]
    if kind is int and isinstance(value, bool):
        raise ApiError(400, f"{name} must be an integer", {"field": name})
    if not isinstance(value, kind):
        raise ApiError(400, f"{name} must be of type {kind.__name__}", {"field": name})
    return value


def page_params(request: Request, default_size: int = 25) -> tuple[int, int]:
    """``page`` (from 1) and ``page_size`` (1 to 100) query parameters."""
    try:
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("page_size", str(default_size)))
    except ValueError:
        raise ApiError(400, "page and page_size must be integers") from None
    if page < 1 or size < 1:
        raise ApiError(400, "page and page_size must be positive")
    if page > MAX_PAGE:
        raise ApiError(400, f"page must be at most {MAX_PAGE}")
    return page, min(size, MAX_PAGE_SIZE)


def paginated(request: Request, count: int, page: int, size: int, results: list[Any]) -> Response:
    """Docker Hub's ``{count, next, previous, results}`` page."""

    def link(number: int) -> str:
        params = dict(request.query_params)
        params.update(page=str(number), page_size=str(size))
        return f"{base_url(request)}{request.url.path}?{urlencode(params)}"

    return JSONResponse(
        {
            "count": count,
            "next": link(page + 1) if page * size < count else None,
            "previous": link(page - 1) if page > 1 else None,
            "results": results,
        }
    )


def single_page(results: list[Any]) -> Response:
    """A complete listing in Docker Hub's page shape (``next``/``previous`` empty)."""
    return JSONResponse({"count": len(results), "next": None, "previous": None, "results": results})


def iso(value: datetime | None) -> str | None:
    """An ISO 8601 UTC timestamp (``...Z``) or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


def parse_time(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 timestamp field; 400 when malformed."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{name} must be an ISO 8601 timestamp", {"field": name}) from None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed
