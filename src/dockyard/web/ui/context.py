"""One page visit: the session, the signed-in user, rendering and redirects."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dockyard.auth.credentials import principal_for
from dockyard.auth.keys import SigningKey
from dockyard.auth.policy import Principal
from dockyard.hub.images import ImageService
from dockyard.hub.profiles import ProfileService
from dockyard.hub.service import HubServices
from dockyard.metadata.hub_store import UserRecord
from dockyard.metadata.session_store import TOUCH_INTERVAL, WebSessionStore
from dockyard.metadata.store import utcnow
from dockyard.web.state import auth_services, client_address, request_host
from dockyard.web.ui.forms import Form, read_form
from dockyard.web.ui.render import build_environment
from dockyard.web.ui.session import (
    CSRF_FIELD,
    MAX_AGE,
    Session,
    SessionCodec,
    check_csrf,
    dropped,
    signed_in,
    signed_out,
)

#: Headers of every page: nothing loads from elsewhere, no framing, no sniffing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class WebUi:
    """What the pages need besides the Hub services: templates, session cookies and their
    rows, images, profiles."""

    env: Environment
    sessions: SessionCodec
    session_store: WebSessionStore
    images: ImageService
    profiles: ProfileService
    open_signup: bool

    @classmethod
    def build(
        cls,
        key: SigningKey,
        session_store: WebSessionStore,
        images: ImageService,
        profiles: ProfileService,
        *,
        open_signup: bool,
    ) -> WebUi:
        """The web pages' state; the cookie key is derived from the token signing key."""
        private = key.private_key.private_numbers().private_value.to_bytes(32, "big")
        secret = hashlib.sha256(b"dockyard web session key\x00" + private).digest()
        codec = SessionCodec(secret)
        return cls(build_environment(), codec, session_store, images, profiles, open_signup)


def web_ui(request: Request) -> WebUi:
    """The web pages' state of the running app."""
    ui: WebUi = request.app.state.ui
    return ui


def hub(request: Request) -> HubServices:
    """The Hub services of the running app."""
    services: HubServices = request.app.state.hub
    return services


class Visit:
    """A request to a page: who is looking, and how to answer."""

    def __init__(self, request: Request, session: Session, user: UserRecord | None) -> None:
        self.request = request
        self.session = session
        self.user = user
        self.ui = web_ui(request)
        self.hub = hub(request)

    @property
    def principal(self) -> Principal | None:
        """The signed-in user as the permission policy sees them (None: anonymous)."""
        return principal_for(self.user) if self.user is not None else None

    @property
    def host(self) -> str:
        """The host (and port) the page was requested with, for ``docker`` commands."""
        return request_host(self.request)

    def context(self, **values: Any) -> dict[str, Any]:
        """The variables every template gets, plus ``values``."""
        return {
            "request": self.request,
            "user": self.user,
            "csrf_field": CSRF_FIELD,
            "csrf_token": self.session.csrf,
            "host": self.host,
            "flashes": self.session.take_flashes(),
            "open_signup": self.ui.open_signup,
            "path": self.request.url.path,
            **values,
        }

    def render(
        self,
        template: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **values: Any,
    ) -> Response:
        """A page from ``template``."""
        html = self.ui.env.get_template(template).render(self.context(**values))
        response = HTMLResponse(
            html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
        )
        self.ui.sessions.save(self.request, response, self.session)
        return response

    def redirect(self, url: str, message: str | None = None, level: str = "info") -> Response:
        """303 to ``url`` (after a form post), with an optional flash message."""
        if message:
            self.session.flash(message, level)
        response = RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
        self.ui.sessions.save(self.request, response, self.session)
        return response

    def login_redirect(self) -> Response:
        """Send an anonymous visitor to the login page, coming back here afterwards."""
        target = self.request.url.path
        if self.request.url.query:
            target += "?" + self.request.url.query
        return self.redirect(f"/login?next={quote(target, safe='')}")

    async def form(self) -> Form:
        """The posted form, after checking its CSRF token against the session's."""
        form = await read_form(self.request)
        check_csrf(self.session, form.get(CSRF_FIELD))
        return form

    async def sign_in(self, user: UserRecord) -> None:
        """Start a session of ``user`` (a new row and token; the visit's previous session, if
        any, ends)."""
        await self.end_session()
        new_id = signed_in(self.session)
        await self.ui.session_store.create(
            new_id, user.id, lifetime=timedelta(seconds=MAX_AGE),
            user_agent=self.request.headers.get("user-agent", ""),
            ip=client_address(self.request),
        )  # fmt: skip
        self.user = user

    async def sign_out(self) -> None:
        """End this session for good (its row goes, so every copy of the cookie is anonymous)."""
        await self.end_session()
        signed_out(self.session)
        self.user = None

    async def end_session(self) -> None:
        """Delete this visit's session row, if it has one."""
        current = self.session.id
        if current is not None:
            await self.ui.session_store.delete(current)


async def begin(request: Request) -> Visit:
    """Start a visit: the session from the cookie and, when its row is still there (not ended,
    not expired) and the account active, its user."""
    ui = web_ui(request)
    session = ui.sessions.load(request)
    user: UserRecord | None = None
    current = session.id
    if current is not None:
        record = await ui.session_store.get(current)
        if record is not None:
            user = await auth_services(request).store.user_by_id(record.user_id)
            if user is not None and not user.is_active:
                user = None
        if record is None or user is None:  # ended, expired, or the account is gone/disabled
            dropped(session)
        elif utcnow() - record.last_seen_at >= TOUCH_INTERVAL:
            await ui.session_store.touch(current, client_address(request))
    return Visit(request, session, user)
