"""Browser sessions in a signed cookie, and CSRF tokens bound to them.

The cookie holds the user's id, a fingerprint of their password hash (so changing the password
ends every other session at once), the session's CSRF token and pending flash messages. It is
signed (itsdangerous, HMAC-SHA256) with a key derived from the token signing key, so every node
of a deployment accepts the sessions of the others; it is HttpOnly, SameSite=Lax, and Secure
when the page was served over TLS.
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
#: How long a session lasts after signing in, in seconds.
MAX_AGE = 14 * 24 * 3600
#: The form field carrying the CSRF token.
CSRF_FIELD = "csrf_token"
_SALT = "dockyard.web.session.v1"


class CsrfFailed(Exception):
    """A form was posted without the session's CSRF token."""


@dataclass
class Session:
    """What the cookie carries; ``changed`` says whether it must be sent again."""

    csrf: str
    user_id: int | None = None
    fingerprint: str = ""
    flashes: list[tuple[str, str]] = field(default_factory=list)
    changed: bool = False

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


class SessionCodec:
    """Signs and verifies session cookies."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.serializer = URLSafeTimedSerializer(secret, salt=_SALT)

    def fingerprint(self, user_id: int, password_hash: str) -> str:
        """A short keyed digest of the password hash: changes when the password does."""
        message = f"{user_id}:{password_hash}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    def load(self, request: Request) -> Session:
        """The request's session, or a new anonymous one (``changed``, so it gets sent)."""
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data: Any = self.serializer.loads(raw, max_age=MAX_AGE)
            except (BadSignature, ValueError, TypeError):
                data = None
            if isinstance(data, dict) and isinstance(data.get("c"), str):
                user_id = data.get("u")
                flashes = data.get("f") or []
                return Session(
                    csrf=data["c"],
                    user_id=user_id if isinstance(user_id, int) else None,
                    fingerprint=str(data.get("p") or ""),
                    flashes=[(str(a), str(b)) for a, b in flashes][:10],
                )
        return Session(csrf=new_csrf(), changed=True)

    def dump(self, session: Session) -> str:
        """The signed cookie value of ``session``."""
        data: dict[str, Any] = {"c": session.csrf}
        if session.user_id is not None:
            data["u"] = session.user_id
            data["p"] = session.fingerprint
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


def signed_in(session: Session, user_id: int, fingerprint: str) -> None:
    """Turn ``session`` into a signed-in one, with a new CSRF token (no fixation)."""
    session.user_id = user_id
    session.fingerprint = fingerprint
    session.csrf = new_csrf()
    session.changed = True


def signed_out(session: Session) -> None:
    """Forget the user (a new CSRF token as well)."""
    session.user_id = None
    session.fingerprint = ""
    session.csrf = new_csrf()
    session.changed = True
