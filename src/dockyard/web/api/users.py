"""Sign-up, login (``/v2/users/login``, ``/v2/auth/token``) and user profiles."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.metadata.hub_store import UserRecord
from dockyard.web.api.common import ApiError, caller, field, hub_services, iso, json_body
from dockyard.web.state import auth_services, client_address


def user_json(user: UserRecord, *, private: bool) -> dict[str, object]:
    """A user as Docker Hub shows one (email only to the user themselves)."""
    data: dict[str, object] = {
        "id": str(user.id),
        "username": user.username,
        "full_name": user.full_name,
        "type": "User",
        "date_joined": iso(user.created_at),
    }
    if private:
        data["email"] = user.email
        data["is_admin"] = user.is_admin
        data["last_login"] = iso(user.last_login_at)
    return data


async def signup(request: Request) -> Response:
    """``POST /v2/users/signup`` ``{username, email, password}``."""
    body = await json_body(request)
    user = await hub_services(request).accounts.sign_up(
        field(body, "username", str, required=True),
        field(body, "email", str, required=True),
        field(body, "password", str, required=True),
        client_address(request),
    )
    return JSONResponse(user_json(user, private=True), status_code=201)


async def _login(request: Request, username: str, secret: str) -> str:
    auth = auth_services(request)
    principal = await auth.authenticator.authenticate(username, secret, client_address(request))
    await auth.store.record_login(principal.user_id)
    await auth.store.audit(
        "token.use" if principal.pat_id else "login",
        actor=principal.username,
        actor_ip=client_address(request),
        namespace=principal.username,
        detail={"via": "hub-api"},
    )
    return auth.tokens.hub_token(principal)


async def login(request: Request) -> Response:
    """``POST /v2/users/login`` ``{username, password}`` -> ``{token}`` (a PAT works too)."""
    body = await json_body(request)
    token = await _login(
        request,
        field(body, "username", str, required=True),
        field(body, "password", str, required=True),
    )
    return JSONResponse({"token": token})


async def auth_token(request: Request) -> Response:
    """``POST /v2/auth/token`` ``{identifier, secret}`` -> ``{access_token}``."""
    body = await json_body(request)
    token = await _login(
        request,
        field(body, "identifier", str, required=True),
        field(body, "secret", str, required=True),
    )
    return JSONResponse({"access_token": token})


async def current_user(request: Request) -> Response:
    """``GET /v2/user/``: the caller's own account."""
    principal = await caller(request)
    assert principal is not None
    user = await auth_services(request).store.user_by_id(principal.user_id)
    if user is None:
        raise ApiError(404, "user not found")
    return JSONResponse(user_json(user, private=True))


async def change_password(request: Request) -> Response:
    """``POST /v2/user/password`` ``{current_password, new_password}``."""
    principal = await caller(request)
    assert principal is not None
    if principal.token_scopes is not None:
        raise ApiError(403, "log in with your password to change it")
    body = await json_body(request)
    user = await auth_services(request).store.user_by_id(principal.user_id)
    if user is None:
        raise ApiError(404, "user not found")
    await hub_services(request).accounts.change_password(
        user,
        field(body, "current_password", str, required=True),
        field(body, "new_password", str, required=True),
    )
    return Response(status_code=204)


async def user_profile(request: Request) -> Response:
    """``GET /v2/users/{username}/``: a public profile."""
    username = request.path_params["username"]
    user = await auth_services(request).store.user_by_name(username)
    if user is None or not user.is_active:
        raise ApiError(404, f"user {username!r} not found")
    principal = await caller(request, required=False)
    own = principal is not None and (principal.user_id == user.id or principal.is_admin)
    return JSONResponse(user_json(user, private=own))
