"""Session cookies: signed, carrying a CSRF token and (signed in) a session token whose hash
names the session's row."""

from __future__ import annotations

import hashlib

import pytest
from starlette.requests import Request
from starlette.responses import Response

from dockyard.web.ui.pages.account import device
from dockyard.web.ui.session import (
    COOKIE,
    CsrfFailed,
    Session,
    SessionCodec,
    check_csrf,
    dropped,
    session_id,
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
    new_id = signed_in(session)
    session.flash("hello")
    loaded = codec.load(request_with(codec.dump(session)))
    assert loaded.token == session.token
    assert loaded.id == new_id == session_id(loaded.token or "")
    assert loaded.csrf == session.csrf
    assert loaded.take_flashes() == [("info", "hello")]
    assert not codec.load(request_with(codec.dump(session))).changed


def test_session_tokens_are_random_and_stored_hashed() -> None:
    first, second = Session(csrf="a"), Session(csrf="b")
    signed_in(first)
    signed_in(second)
    assert first.token is not None
    assert second.token is not None
    assert first.token != second.token
    assert len(first.token) >= 43  # 256 bits, url-safe base64
    assert first.id == hashlib.sha256(first.token.encode()).hexdigest()
    assert Session(csrf="x").id is None


def test_signing_in_changes_the_csrf_token() -> None:
    session = Session(csrf="before")
    signed_in(session)
    assert session.csrf != "before"
    token = session.csrf
    signed_out(session)
    assert session.token is None
    assert session.csrf != token


def test_a_dropped_session_keeps_its_csrf_token() -> None:
    session = Session(csrf="kept")
    signed_in(session)
    csrf = session.csrf
    session.changed = False
    dropped(session)
    assert (session.token, session.csrf, session.changed) == (None, csrf, True)


@pytest.mark.parametrize("cookie", ["garbage", "eyJ1Ijo3fQ.bad.sig", ""])
def test_forged_or_broken_cookies_give_a_new_anonymous_session(cookie: str) -> None:
    codec = SessionCodec(b"k" * 32)
    session = codec.load(request_with(cookie))
    assert session.token is None
    assert session.changed


def test_a_cookie_signed_with_another_key_is_refused() -> None:
    other = SessionCodec(b"o" * 32)
    session = Session(csrf="x")
    signed_in(session)
    loaded = SessionCodec(b"k" * 32).load(request_with(other.dump(session)))
    assert loaded.token is None


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


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox on Linux",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        ("curl/8.8.0", "curl"),
        ("", "Unknown browser"),
    ],
)
def test_device_names(agent: str, expected: str) -> None:
    assert device(agent) == expected
