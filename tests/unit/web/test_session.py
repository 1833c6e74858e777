"""Session cookies: signed, bound to the password, carrying a CSRF token."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import Response

from dockyard.web.ui.session import (
    COOKIE,
    CsrfFailed,
    Session,
    SessionCodec,
    check_csrf,
    signed_in,
    signed_out,
)
from dockyard.web.ui.urls import safe_next


def request_with(cookie: str | None, scheme: str = "http") -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    scope = {
        "type": "http", "method": "GET", "path": "/", "headers": headers, "scheme": scheme,
        "server": ("127.0.0.1", 5000), "query_string": b"",
    }  # fmt: skip
    return Request(scope)


def test_round_trip() -> None:
    codec = SessionCodec(b"k" * 32)
    session = Session(csrf="token")
    signed_in(session, 7, codec.fingerprint(7, "hash"))
    session.flash("hello")
    loaded = codec.load(request_with(codec.dump(session)))
    assert loaded.user_id == 7
    assert loaded.fingerprint == codec.fingerprint(7, "hash")
    assert loaded.csrf == session.csrf
    assert loaded.take_flashes() == [("info", "hello")]
    assert not codec.load(request_with(codec.dump(session))).changed


def test_signing_in_changes_the_csrf_token() -> None:
    session = Session(csrf="before")
    signed_in(session, 1, "fp")
    assert session.csrf != "before"
    token = session.csrf
    signed_out(session)
    assert session.user_id is None
    assert session.csrf != token


@pytest.mark.parametrize("cookie", ["garbage", "eyJ1Ijo3fQ.bad.sig", ""])
def test_forged_or_broken_cookies_give_a_new_anonymous_session(cookie: str) -> None:
    codec = SessionCodec(b"k" * 32)
    session = codec.load(request_with(cookie))
    assert session.user_id is None
    assert session.changed


def test_a_cookie_signed_with_another_key_is_refused() -> None:
    other = SessionCodec(b"o" * 32)
    session = Session(csrf="x")
    signed_in(session, 1, "fp")
    loaded = SessionCodec(b"k" * 32).load(request_with(other.dump(session)))
    assert loaded.user_id is None


def test_fingerprint_changes_with_the_password_hash() -> None:
    codec = SessionCodec(b"k" * 32)
    assert codec.fingerprint(1, "a") != codec.fingerprint(1, "b")
    assert codec.fingerprint(1, "a") != codec.fingerprint(2, "a")


def test_csrf_check() -> None:
    session = Session(csrf="right")
    check_csrf(session, "right")
    for wrong in (None, "", "wrong", "righ"):
        with pytest.raises(CsrfFailed):
            check_csrf(session, wrong)


@pytest.mark.parametrize(("scheme", "secure"), [("http", False), ("https", True)])
def test_cookie_flags(scheme: str, secure: bool) -> None:
    codec = SessionCodec(b"k" * 32)
    response = Response()
    codec.save(request_with(None, scheme), response, Session(csrf="x", changed=True))
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    assert ("secure" in header) is secure


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/r/a/b", "/r/a/b"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
