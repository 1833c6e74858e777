"""Account settings: password, web sessions, personal access tokens, the audit log; new
repositories."""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from dockyard.hub.access_tokens import VALID_SCOPES
from dockyard.hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dockyard.metadata.store import utcnow
from dockyard.web.state import client_address
from dockyard.web.ui.context import Visit
from dockyard.web.ui.errors import page
from dockyard.web.ui.pages.common import page_number, pager
from dockyard.web.ui.urls import repo_url

#: Expiry choices of a new token, in days (0: never).
EXPIRY_DAYS = {"30": 30, "90": 90, "365": 365, "0": 0}
#: Browsers and systems named on the sessions page, first match wins (Edge's user agent also
#: says Chrome and Safari, Android's says Linux, an iPhone's says Mac OS X).
BROWSERS = (
    ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"),
)  # fmt: skip
SYSTEMS = (
    ("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Linux", "Linux"),
)  # fmt: skip
SCOPE_HELP = {
    "repo:read": "Read: pull",
    "repo:write": "Read & write: pull, push",
    "repo:delete": "Read, write & delete: pull, push, delete",
    "admin": "Admin: everything, including managing the account",
}


@page
async def general(visit: Visit) -> Response:
    """``GET``/``POST /settings/general``: the account, and changing the password."""
    if visit.user is None:
        return visit.login_redirect()
    error, status = "", 200
    if visit.request.method == "POST":
        form = await visit.form()
        new = form.get("new_password")
        if new != form.get("new_password_confirm"):
            error, status = "The two new passwords differ.", 400
        else:
            try:
                await visit.hub.accounts.change_password(
                    visit.user, form.get("current_password"), new, keep_session=visit.session.id
                )
            except (Forbidden, ValidationFailed) as exc:
                error, status = exc.message, 400
            else:
                return visit.redirect(
                    "/settings/general", "Password changed; your other sessions are signed out."
                )
    assert visit.principal is not None
    organizations = await visit.ui.profiles.organizations(visit.principal)
    return visit.render(
        "settings_general.html", status=status, error=error, organizations=organizations,
        section="general",
    )  # fmt: skip


def device(user_agent: str) -> str:
    """A short name of the browser and system a user agent string claims, e.g. "Firefox on
    Linux" (it is only what the browser says)."""
    browser = next((name for key, name in BROWSERS if key in user_agent), "")
    system = next((name for key, name in SYSTEMS if key in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


@page
async def sessions(visit: Visit) -> Response:
    """``GET``/``POST /settings/sessions``: the signed-in browsers; end one, or all others."""
    user = visit.user
    if user is None:
        return visit.login_redirect()
    store = visit.ui.session_store
    current = visit.session.id
    if visit.request.method == "POST":
        form = await visit.form()
        action = form.get("action")
        address = client_address(visit.request)
        if action == "revoke_others":
            ended = await store.delete_for_user(user.id, keep=current)
            await visit.hub.accounts.store.audit(
                "session.revoke_others", actor=user.username, actor_ip=address,
                namespace=user.username, detail={"sessions": ended},
            )  # fmt: skip
            return visit.redirect("/settings/sessions", "Every other session is signed out.")
        if action != "revoke":
            raise ValidationFailed("unknown action")
        target = form.get("session_id")
        if not target or not await store.delete(target, user.id):
            raise NotFound("no such session")
        await visit.hub.accounts.store.audit(
            "session.revoke", actor=user.username, actor_ip=address, namespace=user.username,
        )  # fmt: skip
        if target == current:
            await visit.sign_out()
            return visit.redirect("/", "You are signed out.")
        return visit.redirect("/settings/sessions", "The session is signed out.")
    records = await store.list_for_user(user.id)
    rows = [(record, device(record.user_agent), record.id == current) for record in records]
    return visit.render("settings_sessions.html", sessions=rows, section="sessions")


@page
async def tokens(visit: Visit) -> Response:
    """``GET``/``POST /settings/tokens``: create (secret shown once), (de)activate, revoke."""
    principal = visit.principal
    if principal is None:
        return visit.login_redirect()
    service = visit.hub.access_tokens
    created = None
    error, status = "", 200
    if visit.request.method == "POST":
        form = await visit.form()
        action = form.get("action", "create")
        address = client_address(visit.request)
        try:
            if action == "create":
                days = EXPIRY_DAYS.get(form.get("expires", "90"), 90)
                expires = utcnow() + timedelta(days=days) if days else None
                scope = form.get("scope", "repo:read")
                created = await service.create(
                    principal, form.get("label"), [scope], expires, address
                )
                status = 201
            elif action in ("activate", "deactivate"):
                await service.update(
                    principal, form.get("token_id"), label=None,
                    is_active=action == "activate", address=address,
                )  # fmt: skip
                return visit.redirect("/settings/tokens", "Token updated.")
            elif action == "delete":
                await service.delete(principal, form.get("token_id"), address)
                return visit.redirect("/settings/tokens", "Token revoked.")
        except (ValidationFailed, NotFound, Conflict) as exc:
            error, status = exc.message, 400
    number = page_number(visit.request)
    total, records = await service.list(principal, page=number, page_size=25)
    return visit.render(
        "settings_tokens.html", status=status, error=error, created=created, tokens=records,
        scopes=SCOPE_HELP, valid_scopes=sorted(VALID_SCOPES), expiry=EXPIRY_DAYS,
        pager=pager(visit.request, total, number), section="tokens", now=utcnow(),
    )  # fmt: skip


@page
async def audit(visit: Visit) -> Response:
    """``/settings/audit``: the user's own events; site admins may read any account's or all."""
    principal = visit.principal
    if principal is None:
        return visit.login_redirect()
    account: str | None = principal.username
    asked = visit.request.query_params.get("account", "").strip()
    if asked and principal.is_admin:
        account = None if asked == "_all" else asked
    number = page_number(visit.request)
    total, events = await visit.hub.audit.events(principal, account, page=number, page_size=50)
    return visit.render(
        "settings_audit.html", events=events, account=account or "_all",
        pager=pager(visit.request, total, number, 50), section="audit",
    )  # fmt: skip


@page
async def new_repository(visit: Visit) -> Response:
    """``GET``/``POST /repositories/new``: create an empty repository."""
    principal = visit.principal
    if principal is None:
        return visit.login_redirect()
    owned = [o for o, role in await visit.ui.profiles.organizations(principal) if role == "owner"]
    namespaces = [principal.username, *owned]
    values = {"namespace": visit.request.query_params.get("namespace", principal.username)}
    if visit.request.method == "POST":
        form = await visit.form()
        values = {k: form.get(k).strip() for k in ("namespace", "name", "description")}
        values["visibility"] = form.get("visibility", "public")
        name = f"{values['namespace']}/{values['name']}"
        try:
            await visit.hub.repositories.create(
                principal, name, is_private=values["visibility"] == "private",
                description=values["description"], address=client_address(visit.request),
            )  # fmt: skip
        except (ValidationFailed, Conflict, Forbidden) as exc:
            return visit.render(
                "repo_new.html", status=400, namespaces=namespaces, values=values,
                error=exc.message,
            )  # fmt: skip
        return visit.redirect(repo_url(name), f"Repository {name} created.")
    return visit.render("repo_new.html", namespaces=namespaces, values=values)
