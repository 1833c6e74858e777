"""``GET /token`` and ``POST /token``: Docker's token authentication (and its OAuth2 form)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.auth.errors import AuthError, InvalidCredentials, InvalidRequest, Throttled
from dockyard.auth.policy import Principal
from dockyard.oci.errors import ErrorCode
from dockyard.web.errors import error_response
from dockyard.web.state import auth_services, client_address

_TRUE = ("1", "true", "yes")
#: Largest ``POST /token`` form accepted, in bytes.
MAX_FORM_BYTES = 64 * 1024


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """``(username, secret)`` of a Basic Authorization header; None when there is none."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidCredentials("the token endpoint takes Basic credentials")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidCredentials("malformed Basic credentials") from None
    username, sep, secret = decoded.partition(":")
    if not sep or not username or not secret:
        raise InvalidCredentials("malformed Basic credentials")
    return username, secret


async def _principal(request: Request, credentials: tuple[str, str] | None) -> Principal | None:
    if credentials is None:
        return None
    auth = auth_services(request)
    return await auth.authenticator.authenticate(*credentials, client_address(request))


async def token_get(request: Request) -> Response:
    """The token endpoint as ``docker login`` and every pull and push call it."""
    auth = auth_services(request)
    params = request.query_params
    try:
        auth.tokens.check_service(params.get("service"))
        scopes = auth.tokens.parse_scopes(params.getlist("scope"))
        principal = await _principal(request, basic_credentials(request))
        issued = await auth.tokens.registry_token(
            principal,
            scopes,
            offline=params.get("offline_token", "").lower() in _TRUE,
            address=client_address(request),
            client_id=params.get("client_id", ""),
        )
    except AuthError as exc:
        return auth_error(exc)
    return JSONResponse(issued.body(), headers={"Cache-Control": "no-store"})


async def token_post(request: Request) -> Response:
    """The OAuth2 form: ``grant_type=password`` or ``refresh_token``."""
    auth = auth_services(request)
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return auth_error(InvalidRequest("the body must be a urlencoded form"))
    body = await _limited_body(request)
    if body is None:
        return JSONResponse(
            {
                "errors": [
                    {
                        "code": "SIZE_INVALID",
                        "message": f"request body too large (at most {MAX_FORM_BYTES} bytes)",
                        "detail": None,
                    }
                ]
            },
            status_code=413,
        )
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return auth_error(InvalidRequest("the body must be a urlencoded form"))
    grant_type = fields.get("grant_type", "")
    try:
        auth.tokens.check_service(fields.get("service"))
        scopes = auth.tokens.parse_scopes([fields.get("scope", "")])
        if grant_type == "password":
            username, password = fields.get("username", ""), fields.get("password", "")
            if not username or not password:
                raise InvalidRequest("username and password are required")
            principal = await _principal(request, (username, password))
        elif grant_type == "refresh_token":
            principal = await auth.tokens.principal_from_refresh(fields.get("refresh_token", ""))
        else:
            raise InvalidRequest(f"unsupported grant_type {grant_type[:40]!r}")
        issued = await auth.tokens.registry_token(
            principal,
            scopes,
            offline=fields.get("access_type") == "offline",
            address=client_address(request),
            client_id=fields.get("client_id", ""),
        )
    except AuthError as exc:
        return auth_error(exc)
    response_body = issued.body()
    response_body.pop("token", None)
    return JSONResponse(response_body, headers={"Cache-Control": "no-store"})


async def _limited_body(request: Request) -> bytes | None:
    """The request body, or None once it proves larger than :data:`MAX_FORM_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return None
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_FORM_BYTES:
            return None
    return bytes(data)


def auth_error(exc: AuthError) -> Response:
    """An authentication failure as an OCI error (what docker prints)."""
    if isinstance(exc, Throttled):
        return error_response(
            ErrorCode.TOOMANYREQUESTS, exc.message, headers={"Retry-After": str(exc.retry_after)}
        )
    if isinstance(exc, InvalidRequest):
        return JSONResponse(
            {"errors": [{"code": "UNSUPPORTED", "message": exc.message, "detail": None}]},
            status_code=400,
        )
    return error_response(ErrorCode.UNAUTHORIZED, exc.message)


ROUTES = [
    Route("/token", token_get, methods=["GET"], name="token_get"),
    Route("/token", token_post, methods=["POST"], name="token_post"),
]
