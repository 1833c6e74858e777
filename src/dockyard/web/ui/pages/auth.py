"""Sign up, log in, log out."""

from __future__ import annotations

from starlette.responses import Response

from dockyard.auth.errors import InvalidCredentials, Throttled
from dockyard.hub.errors import Conflict, SignupClosed, ValidationFailed
from dockyard.web.state import auth_services, client_address
from dockyard.web.ui.context import Visit
from dockyard.web.ui.errors import page
from dockyard.web.ui.urls import safe_next


def _wait(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@page
async def login(visit: Visit) -> Response:
    """``GET`` the form, ``POST`` username and password."""
    target = safe_next(visit.request.query_params.get("next"))
    if visit.request.method == "GET":
        if visit.user is not None:
            return visit.redirect(target)
        return visit.render("login.html", next=target, username="")
    form = await visit.form()
    username = form.get("username").strip().lower()
    password = form.get("password")
    target = safe_next(form.get("next") or target)
    auth = auth_services(visit.request)
    address = client_address(visit.request)
    try:
        principal = await auth.authenticator.authenticate(username, password, address)
    except Throttled as exc:
        message = (
            f"Too many failed sign-in attempts. Please wait {_wait(exc.retry_after)} and try again."
        )
        return visit.render(
            "login.html", status=429, headers={"Retry-After": str(exc.retry_after)},
            error=message, next=target, username=username,
        )  # fmt: skip
    except InvalidCredentials:
        return visit.render(
            "login.html", status=401, error="Incorrect username or password.", next=target,
            username=username,
        )  # fmt: skip
    if principal.pat_id is not None:
        return visit.render(
            "login.html", status=401, next=target, username=username,
            error="Access tokens are for docker login and the API; sign in with your password.",
        )  # fmt: skip
    user = await auth.store.user_by_id(principal.user_id)
    assert user is not None
    await auth.store.record_login(user.id)
    await auth.store.audit(
        "login", actor=user.username, actor_ip=address, namespace=user.username,
        detail={"via": "web"},
    )  # fmt: skip
    await visit.sign_in(user)
    return visit.redirect(target)


@page
async def signup(visit: Visit) -> Response:
    """``GET`` the form, ``POST`` username, email and password."""
    if visit.request.method == "GET":
        if visit.user is not None:
            return visit.redirect("/")
        return visit.render("signup.html", values={})
    form = await visit.form()
    values = {"username": form.get("username").strip(), "email": form.get("email").strip()}
    password = form.get("password")
    if password != form.get("password_confirm"):
        return visit.render(
            "signup.html", status=400, values=values, error="The two passwords differ."
        )
    try:
        user = await visit.hub.accounts.sign_up(
            values["username"], values["email"], password, client_address(visit.request)
        )
    except SignupClosed as exc:
        return visit.render("signup.html", status=403, values=values, error=exc.message)
    except (ValidationFailed, Conflict) as exc:
        return visit.render("signup.html", status=400, values=values, error=exc.message)
    await visit.sign_in(user)
    return visit.redirect(f"/u/{user.username}", f"Welcome to Dockyard, {user.username}!")


@page
async def logout(visit: Visit) -> Response:
    """``POST``: end the session (its row goes: a copy of the cookie is signed out too)."""
    await visit.form()
    await visit.sign_out()
    return visit.redirect("/", "You are signed out.")
