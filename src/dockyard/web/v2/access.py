"""Who may call a registry endpoint: bearer token checks and the 401/403/404 decision.

Without a valid token: 401 with a ``WWW-Authenticate: Bearer`` challenge naming the scope.
With a token lacking the access: 401 again if the user may in fact do it (the client asks
for a new token), otherwise 403 DENIED — or, for reads, 404 NAME_UNKNOWN, so that a private
repository looks exactly like a missing one to people who may not read it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dockyard.auth.tokens import InvalidToken, TokenClaims
from dockyard.oci.errors import ErrorCode
from dockyard.web.errors import error_response
from dockyard.web.state import auth_services, base_url

PULL = frozenset({"pull"})
PUSH = frozenset({"push"})
DELETE = frozenset({"delete"})


class AccessRefused(Exception):
    """Raised by :func:`authorize`; carries the response to send."""

    def __init__(self, response: Response) -> None:
        super().__init__("access refused")
        self.response = response


async def access_refused_handler(request: Request, exc: Exception) -> Response:
    """Send the response an :class:`AccessRefused` carries."""
    assert isinstance(exc, AccessRefused)
    return exc.response


def _challenge(request: Request, scope: str | None, error: str | None = None) -> str:
    auth = auth_services(request)
    parts = [f'realm="{base_url(request)}/token"', f'service="{auth.service}"']
    if scope:
        parts.append(f'scope="{scope}"')
    if error:
        parts.append(f'error="{error}"')
    return "Bearer " + ",".join(parts)


def _unauthorized(
    request: Request, scope: str | None, message: str, error: str | None
) -> AccessRefused:
    return AccessRefused(
        error_response(
            ErrorCode.UNAUTHORIZED,
            message,
            headers={"WWW-Authenticate": _challenge(request, scope, error)},
        )
    )


async def bearer_claims(request: Request, scope: str | None) -> TokenClaims | None:
    """The verified claims of the request's bearer token (None on an open registry)."""
    auth = auth_services(request)
    if not auth.enabled:
        return None
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(request, scope, "authentication required", None)
    try:
        return auth.tokens.authority.verify(token.strip(), auth.service)
    except InvalidToken as exc:
        raise _unauthorized(request, scope, str(exc), "invalid_token") from None


async def authorize_base(request: Request) -> None:
    """``GET /v2/``: any valid token, anonymous included."""
    await bearer_claims(request, None)


async def authorize_catalog(request: Request) -> TokenClaims | None:
    """The catalog needs ``registry:catalog:*``."""
    scope = "registry:catalog:*"
    claims = await bearer_claims(request, scope)
    if claims is not None and not claims.allows("registry", "catalog", "*"):
        raise _unauthorized(
            request, scope, "the catalog needs registry:catalog:*", "insufficient_scope"
        )
    return claims


def _grants(claims: TokenClaims, name: str, action: str) -> bool:
    if claims.allows("repository", name, action):
        return True
    return action == "pull" and claims.allows("repository", name, "push")  # push implies pull


async def authorize(request: Request, name: str, actions: frozenset[str]) -> TokenClaims | None:
    """Check the bearer token grants ``actions`` on repository ``name``."""
    asked = actions | PULL if "push" in actions else actions
    scope = f"repository:{name}:{','.join(sorted(asked))}"
    claims = await bearer_claims(request, scope)
    if claims is None or all(_grants(claims, name, a) for a in actions):
        return claims
    if not claims.subject:
        raise _unauthorized(request, scope, "authentication required", "insufficient_scope")
    auth = auth_services(request)
    principal = await auth.authenticator.principal(claims.subject, claims.pat_id)
    live = await auth.tokens.grants.allowed(name, principal) if principal else frozenset()
    if principal is not None and actions <= live:
        raise _unauthorized(
            request, scope, "the token does not cover this request", "insufficient_scope"
        )
    if actions <= PULL:
        raise AccessRefused(
            error_response(ErrorCode.NAME_UNKNOWN, f"repository {name} not known", {"name": name})
        )
    raise AccessRefused(
        error_response(
            ErrorCode.DENIED, "requested access to the resource is denied", {"name": name}
        )
    )


async def may(request: Request, name: str, action: str) -> bool:
    """Whether the request's token grants ``action`` on ``name`` (no error either way)."""
    auth = auth_services(request)
    if not auth.enabled:
        return True
    try:
        claims = await bearer_claims(request, None)
    except AccessRefused:
        return False
    return claims is None or _grants(claims, name, action)
