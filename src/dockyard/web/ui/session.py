"""Browser sessions: a signed cookie naming a session kept in the database, and CSRF tokens.

The cookie holds the session's CSRF token, pending flash messages and, once signed in, a random
256-bit session token. The database keeps only the token's sha256 (``web_sessions``, see
``metadata/session_store.py``): deleting that row ends the session on every copy of the cookie
(signing out, "sign out everywhere", a password change). Anonymous visitors get a cookie (for
the CSRF token of the login and sign-up forms) but no row. The cookie is signed (itsdangerous,
HMAC-SHA256) with a key derived from the token signing key, so every node of a deployment
accepts the cookies of the others; it is HttpOnly, SameSite=Lax, and Secure when the page was
served over TLS.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from dockyard.web.state import request_scheme

COOKIE = "dockyard_session"
#: How long a session lasts after signing in, in seconds (the cookie's and the row's lifetime).
MAX_AGE = 14 * 24 * 3600
#: The form field carrying the CSRF token.
CSRF_FIELD = "csrf_token"
_SALT = "dockyard.web.session.v2"


class CsrfFailed(Exception):
    """A form was posted without the session's CSRF token."""


@dataclass
class Session:
    """What the cookie carries; ``changed`` says whether it must be sent again."""

    csrf: str
    #: The session token of a signed-in browser (None: anonymous).
    token: str | None = None
    flashes: list[tuple[str, str]] = field(default_factory=list)
    changed: bool = False

    @property
    def id(self) -> str | None:
        """The database id of the signed-in session (the token's sha256), if any."""
        return None if self.token is None else session_id(self.token)

    def flash(self, message: str, level: str = "info") -> None:
        """Show ``message`` on the next page rendered."""
        self.flashes.append((level, message))
        self.changed = True

    def take_flashes(self) -> list[tuple[str, str]]:
        """Pending messages (removed from the session)."""
        taken = self.flashes
        if taken:
            self.flashes = []
            self.changed = True
        return taken


def new_csrf() -> str:
    """A fresh CSRF token."""
    return secrets.token_urlsafe(24)


def new_token() -> str:
    """A fresh session token: 256 random bits."""
    return secrets.token_urlsafe(32)


def session_id(token: str) -> str:
    """The id a session token is stored under: its sha256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionCodec:
    """Signs and verifies session cookies."""

    def __init__(self, secret: bytes) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt=_SALT)

    def load(self, request: Request) -> Session:
        """The request's session, or a new anonymous one (``changed``, so it gets sent)."""
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data: Any = self.serializer.loads(raw, max_age=MAX_AGE)
            except (BadSignature, ValueError, TypeError):
                data = None
            if isinstance(data, dict) and isinstance(data.get("c"), str):
                token = data.get("t")
                flashes = data.get("f") or []
                return Session(
                    csrf=data["c"],
                    token=token if isinstance(token, str) and token else None,
                    flashes=[(str(a), str(b)) for a, b in flashes][:10],
                )
        return Session(csrf=new_csrf(), changed=True)

    def dump(self, session: Session) -> str:
        """The signed cookie value of ``session``."""
        data: dict[str, Any] = {"c": session.csrf}
        if session.token is not None:
            data["t"] = session.token
        if session.flashes:
            data["f"] = session.flashes[-10:]
        return self.serializer.dumps(data)

    def save(self, request: Request, response: Response, session: Session) -> None:
        """Send the cookie again when the session changed."""
        if not session.changed:
            return
        response.set_cookie(
            COOKIE,
            self.dump(session),
            max_age=MAX_AGE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request_scheme(request) == "https",
        )


def check_csrf(session: Session, submitted: str | None) -> None:
    """Refuse a form whose token is missing or is not this session's."""
    if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf.encode()):
        raise CsrfFailed("the form expired or did not come from this site; please try again")


def signed_in(session: Session) -> str:
    """Give ``session`` a new session token and a new CSRF token (no fixation); the token's
    id, for the database row the caller creates."""
    session.token = new_token()
    session.csrf = new_csrf()
    session.changed = True
    return session_id(session.token)


def signed_out(session: Session) -> None:
    """Forget the session token (a new CSRF token as well)."""
    session.token = None
    session.csrf = new_csrf()
    session.changed = True


def dropped(session: Session) -> None:
    """Forget a session token the database no longer knows (ended elsewhere, or expired); the
    CSRF token stays, so a form already on the screen still posts (as an anonymous visitor)."""
    session.token = None
    session.changed = True
