"""Applying pull rate limits to manifest requests (GET counts, HEAD only shows the headers)."""

from __future__ import annotations

from starlette.requests import Request

from dockyard.auth.tokens import TokenClaims
from dockyard.oci.errors import ErrorCode
from dockyard.registry.ratelimit import RateLimiter
from dockyard.web.errors import error_response
from dockyard.web.state import client_address
from dockyard.web.v2.access import AccessRefused


def rate_limit(request: Request, claims: TokenClaims | None) -> dict[str, str]:
    """The rate-limit headers for this request; raises a 429 when a GET is over the limit."""
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is None:
        return {}
    username = claims.subject if claims is not None and claims.subject else None
    decision = limiter.check(client_address(request), username, count=request.method == "GET")
    if not decision.allowed:
        raise AccessRefused(
            error_response(
                ErrorCode.TOOMANYREQUESTS,
                "You have reached your pull rate limit. Sign in or wait for the window to reset.",
                {"limit": decision.limit, "window": decision.window},
                headers={**decision.headers(), "Retry-After": str(decision.retry_after)},
            )
        )
    return decision.headers()
