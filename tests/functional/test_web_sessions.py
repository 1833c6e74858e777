"""Web sessions kept on the server: signing out ends every copy of the cookie, the sessions page
lists the signed-in browsers (user agent escaped) and revokes one or all others, a password
change (page or API) ends the other sessions, expired and revoked sessions are anonymous, and
anonymous visitors leave no rows.

A "browser" here is a cookie jar: the test client's cookies are saved and put back, which is
exactly what copying a cookie to another machine does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from http.cookiejar import Cookie
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from dockyard.metadata.hub_tables import users, web_sessions
from dockyard.metadata.session_store import WebSessionRecord, WebSessionStore
from dockyard.metadata.store import utcnow
from dockyard.web.ui.session import COOKIE
from tests.support.auth import (
    PASSWORD,
    auth_client,
    auth_settings,
    create_user,
    database,
    hub_headers,
    hub_login,
    run,
)
from tests.support.auth import store as hub_store
from tests.support.backends import AppBackend
from tests.support.web import post_form, web_login

XSS_AGENT = '<script>alert("ua")</script><img src=x onerror=alert(1)>'
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
_SESSION_ID = re.compile(r'name="session_id" value="([0-9a-f]{64})"')

Jar = list[Cookie]


@pytest.fixture
def client(tmp_path: Path, backend: AppBackend) -> Iterator[TestClient]:
    """An app with authentication on, and users alice and bobby."""
    with auth_client(auth_settings(backend, tmp_path)) as test_client:
        for name in ("alice", "bobby"):
            create_user(test_client, name)
        yield test_client


def sign_in(client: TestClient, username: str, agent: str = "testclient") -> Jar:
    """Sign in as a new browser with user agent ``agent``; its cookies."""
    client.cookies.clear()
    client.headers["user-agent"] = agent
    response = web_login(client, username)
    assert response.status_code == 303, response.text
    return list(client.cookies.jar)


def use(client: TestClient, jar: Jar) -> None:
    """Be the browser whose cookies are ``jar``."""
    client.cookies.clear()
    for cookie in jar:
        client.cookies.jar.set_cookie(cookie)


def cookie_value(jar: Jar) -> str | None:
    return next((c.value for c in jar if c.name == COOKIE), None)


def signed_in_as(client: TestClient) -> str | None:
    """Who the current cookies sign in (None: anonymous)."""
    page = client.get("/settings/general", follow_redirects=False)
    if page.status_code != 200:
        return None
    match = re.search(r"<dt>Username</dt><dd>([^<]+)</dd>", page.text)
    assert match
    return match.group(1)


def store(client: TestClient) -> WebSessionStore:
    return WebSessionStore(database(client))


def sessions_of(client: TestClient, username: str) -> list[WebSessionRecord]:
    user = run(client, hub_store(client).user_by_name, username)
    assert user is not None
    return run(client, store(client).list_for_user, user.id)


def row_count(client: TestClient) -> int:
    async def count() -> int:
        async with database(client).read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(web_sessions)) or 0)

    return run(client, count)


def set_row(client: TestClient, session_id: str, **values: object) -> None:
    async def change() -> None:
        async with database(client).write() as conn:
            await conn.execute(
                update(web_sessions).where(web_sessions.c.id == session_id).values(**values)
            )

    run(client, change)


def only_session(client: TestClient, username: str) -> WebSessionRecord:
    (record,) = sessions_of(client, username)
    return record


# --- signing in and out ------------------------------------------------------------------------
def test_anonymous_visitors_leave_no_rows(client: TestClient) -> None:
    for path in ("/", "/login", "/signup", "/explore"):
        assert client.get(path).status_code == 200
    wrong = post_form(client, "/login", {"username": "alice", "password": "not the one"})
    assert wrong.status_code == 401
    assert client.cookies.get(COOKIE)  # the CSRF token of anonymous forms lives in the cookie
    assert row_count(client) == 0


def test_signing_in_records_the_browser(client: TestClient) -> None:
    sign_in(client, "alice", FIREFOX)
    record = only_session(client, "alice")
    assert record.user_agent == FIREFOX
    assert record.ip == "testclient"  # the TestClient's peer address
    assert record.expires_at - record.created_at == timedelta(days=14)
    cookie = client.cookies[COOKIE]
    assert record.id not in cookie  # the cookie carries the token, the row its hash


def test_logging_out_ends_every_copy_of_the_cookie(client: TestClient) -> None:
    first = sign_in(client, "alice")
    copy = list(first)  # copied to another machine
    assert signed_in_as(client) == "alice"
    response = post_form(client, "/logout", {}, page="/explore")
    assert response.status_code == 303
    assert signed_in_as(client) is None
    assert row_count(client) == 0
    use(client, copy)
    page = client.get("/settings/general", follow_redirects=False)
    assert page.status_code == 303  # anonymous: to the login page
    assert COOKIE in page.headers["set-cookie"]  # the dead token is cleared from the cookie
    assert client.cookies[COOKIE] != cookie_value(copy)
    assert signed_in_as(client) is None
    assert row_count(client) == 0


def test_a_new_sign_in_replaces_the_browsers_session(client: TestClient) -> None:
    sign_in(client, "alice")
    old = only_session(client, "alice")
    # posting the login form again (as bobby) from the same browser
    assert web_login(client, "bobby").status_code == 303
    assert signed_in_as(client) == "bobby"
    assert sessions_of(client, "alice") == []
    assert only_session(client, "bobby").id != old.id


def test_an_expired_session_is_anonymous(client: TestClient) -> None:
    jar = sign_in(client, "alice")
    record = only_session(client, "alice")
    set_row(client, record.id, expires_at=utcnow() - timedelta(seconds=1))
    use(client, jar)
    assert signed_in_as(client) is None
    assert client.cookies[COOKIE] != cookie_value(jar)
    assert sessions_of(client, "alice") == []  # not listed either


def test_last_seen_is_written_at_most_once_a_minute(client: TestClient) -> None:
    sign_in(client, "alice")
    first = only_session(client, "alice")
    for _ in range(3):
        assert signed_in_as(client) == "alice"
    assert only_session(client, "alice").last_seen_at == first.last_seen_at
    earlier = utcnow() - timedelta(minutes=2)
    set_row(client, first.id, last_seen_at=earlier, ip="192.0.2.9")
    assert signed_in_as(client) == "alice"
    seen = only_session(client, "alice")
    assert seen.last_seen_at > earlier + timedelta(minutes=1)
    assert seen.ip == "testclient"


# --- the sessions page -------------------------------------------------------------------------
def test_the_sessions_page_lists_the_browsers_with_the_user_agent_escaped(
    client: TestClient,
) -> None:
    assert client.get("/settings/sessions", follow_redirects=False).status_code == 303
    sign_in(client, "alice", FIREFOX)
    sign_in(client, "alice", XSS_AGENT)
    sign_in(client, "bobby", "bobby's browser")
    sign_in(client, "alice", XSS_AGENT)
    page = client.get("/settings/sessions")
    assert page.status_code == 200
    assert "Firefox on Linux" in page.text
    assert FIREFOX in page.text
    assert XSS_AGENT not in page.text
    assert "&lt;script&gt;alert(&#34;ua&#34;)&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text
    assert "bobby&#39;s browser" not in page.text  # only alice's sessions
    assert len(_SESSION_ID.findall(page.text)) == 3
    assert page.text.count('badge-ok">this browser') == 1
    assert 'href="/settings/sessions" aria-current="page"' in page.text


def test_revoke_one_session_from_the_list(client: TestClient) -> None:
    laptop = sign_in(client, "alice", FIREFOX)
    sign_in(client, "alice", "phone")
    target = next(s for s in sessions_of(client, "alice") if s.user_agent == FIREFOX)
    page = client.get("/settings/sessions")
    assert target.id in _SESSION_ID.findall(page.text)
    response = post_form(
        client, "/settings/sessions", {"action": "revoke", "session_id": target.id}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/settings/sessions"
    assert [s.user_agent for s in sessions_of(client, "alice")] == ["phone"]
    assert signed_in_as(client) == "alice"  # this browser goes on
    use(client, laptop)
    assert signed_in_as(client) is None
    sign_in(client, "alice")
    # revoking an id that is gone: 404
    gone = post_form(client, "/settings/sessions", {"action": "revoke", "session_id": target.id})
    assert gone.status_code == 404


def test_revoking_this_browsers_session_signs_out(client: TestClient) -> None:
    sign_in(client, "alice")
    current = only_session(client, "alice")
    response = post_form(
        client, "/settings/sessions", {"action": "revoke", "session_id": current.id}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert signed_in_as(client) is None


def test_sign_out_everywhere_else(client: TestClient) -> None:
    one = sign_in(client, "alice", "one")
    two = sign_in(client, "alice", "two")
    bobby = sign_in(client, "bobby")
    sign_in(client, "alice", "three")
    response = post_form(client, "/settings/sessions", {"action": "revoke_others"})
    assert response.status_code == 303
    assert [s.user_agent for s in sessions_of(client, "alice")] == ["three"]
    assert signed_in_as(client) == "alice"
    for jar in (one, two):
        use(client, jar)
        assert signed_in_as(client) is None
    use(client, bobby)
    assert signed_in_as(client) == "bobby"  # other users keep theirs
    sign_in(client, "alice")
    assert "session.revoke_others" in client.get("/settings/audit").text


def test_another_users_session_cannot_be_revoked(client: TestClient) -> None:
    bobby = sign_in(client, "bobby")
    bobby_session = only_session(client, "bobby")
    sign_in(client, "alice")
    response = post_form(
        client, "/settings/sessions", {"action": "revoke", "session_id": bobby_session.id}
    )
    assert response.status_code == 404
    for bogus in ("", "nope", "0" * 64):
        response = post_form(
            client, "/settings/sessions", {"action": "revoke", "session_id": bogus}
        )
        assert response.status_code == 404
    use(client, bobby)
    assert signed_in_as(client) == "bobby"


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_the_revoke_forms_need_the_csrf_token(client: TestClient, token: str | None) -> None:
    laptop = sign_in(client, "alice", "laptop")
    sign_in(client, "alice", "phone")
    target = next(s for s in sessions_of(client, "alice") if s.user_agent == "laptop")
    data = {} if token is None else {"csrf_token": token}
    for form in ({"action": "revoke", "session_id": target.id}, {"action": "revoke_others"}):
        response = client.post("/settings/sessions", data={**data, **form}, follow_redirects=False)
        assert response.status_code == 403
        assert "did not come from this site" in response.text
    assert len(sessions_of(client, "alice")) == 2
    use(client, laptop)
    assert signed_in_as(client) == "alice"


# --- password changes --------------------------------------------------------------------------
def test_a_password_change_on_the_page_ends_the_other_sessions(client: TestClient) -> None:
    other = sign_in(client, "alice", "other")
    bobby = sign_in(client, "bobby")
    sign_in(client, "alice", "this one")
    response = post_form(
        client, "/settings/general",
        {"current_password": PASSWORD, "new_password": "a new password 1",
         "new_password_confirm": "a new password 1"},
    )  # fmt: skip
    assert response.status_code == 303
    assert signed_in_as(client) == "alice"
    assert [s.user_agent for s in sessions_of(client, "alice")] == ["this one"]
    use(client, other)
    assert signed_in_as(client) is None
    use(client, bobby)
    assert signed_in_as(client) == "bobby"


def test_a_password_change_through_the_api_ends_every_web_session(client: TestClient) -> None:
    browser = sign_in(client, "alice")
    token = hub_login(client, "alice")
    response = client.post(
        "/v2/user/password",
        json={"current_password": PASSWORD, "new_password": "a new password 1"},
        headers=hub_headers(token),
    )
    assert response.status_code == 204, response.text
    use(client, browser)
    assert signed_in_as(client) is None
    assert sessions_of(client, "alice") == []


def test_a_disabled_account_has_no_session(client: TestClient) -> None:
    sign_in(client, "alice")

    async def disable() -> None:
        async with database(client).write() as conn:
            await conn.execute(
                update(users).where(users.c.username == "alice").values(is_active=False)
            )

    run(client, disable)
    assert signed_in_as(client) is None
