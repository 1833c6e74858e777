"""The web pages, driven through the in-process app: sessions, CSRF, escaping, permissions,
repository, tag and layer pages, error pages, and the speed of a repository with many tags."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from dockyard.metadata.store import utcnow
from dockyard.metadata.tables import manifests, repositories, tags
from tests.support.auth import (
    PASSWORD,
    auth_client,
    auth_settings,
    create_user,
    database,
    registry_token,
    run,
)
from tests.support.backends import AppBackend
from tests.support.web import SBOM_TYPE, RichImage, csrf_of, post_form, push_rich_image, web_login

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def client(tmp_path: Path, backend: AppBackend) -> Iterator[TestClient]:
    """An app with authentication on, and users alice, bobby and carol."""
    with auth_client(auth_settings(backend, tmp_path, max_failures_per_account=3)) as test_client:
        for name in ("alice", "bobby", "carol"):
            create_user(test_client, name)
        yield test_client


def sign_in(client: TestClient, username: str) -> None:
    """Replace the client's session with a fresh one of ``username``."""
    client.cookies.clear()
    response = web_login(client, username)
    assert response.status_code == 303, response.text


def push(client: TestClient, name: str, tag: str = "latest", user: str = "alice") -> RichImage:
    token = registry_token(client, [f"repository:{name}:pull,push"], (user, PASSWORD))
    return push_rich_image(client, name, tag, token)


def is_signed_in(client: TestClient, username: str) -> bool:
    page = client.get("/settings/general", follow_redirects=False)
    return page.status_code == 200 and username in page.text


# --- pages and sessions ------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/explore", "/search?q=x", "/login", "/signup"])
def test_public_pages_render(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_static_files_are_served(client: TestClient) -> None:
    assert "prefers-color-scheme: dark" in client.get("/static/dockyard.css").text
    assert "data-copy" in client.get("/static/dockyard.js").text


def test_sign_up_log_out_and_in(client: TestClient) -> None:
    response = post_form(
        client, "/signup",
        {"username": "dorothy", "email": "d@example.com", "password": PASSWORD,
         "password_confirm": PASSWORD},
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/u/dorothy"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain HTTP here
    assert is_signed_in(client, "dorothy")
    response = post_form(client, "/logout", {}, page="/explore")
    assert response.status_code == 303
    assert not is_signed_in(client, "dorothy")
    wrong = post_form(client, "/login", {"username": "dorothy", "password": "nope nope"})
    assert wrong.status_code == 401
    assert "Incorrect username or password" in wrong.text
    assert web_login(client, "dorothy").status_code == 303
    assert is_signed_in(client, "dorothy")


def test_sign_up_errors_are_shown(client: TestClient) -> None:
    response = post_form(
        client, "/signup",
        {"username": "alice", "email": "x@example.com", "password": PASSWORD,
         "password_confirm": PASSWORD},
    )  # fmt: skip
    assert response.status_code == 400
    assert "already taken" in response.text


def test_login_returns_to_the_page_asked_for(client: TestClient) -> None:
    response = client.get("/settings/tokens", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    login = post_form(
        client, "/login", {"username": "alice", "password": PASSWORD, "next": "/settings/tokens"}
    )
    assert login.headers["location"] == "/settings/tokens"
    evil = post_form(
        client, "/login", {"username": "alice", "password": PASSWORD, "next": "//evil.example/"}
    )
    assert evil.headers["location"] == "/"


def test_login_throttling_is_polite(client: TestClient) -> None:
    for _ in range(3):
        response = post_form(client, "/login", {"username": "bobby", "password": "wrong one"})
        assert response.status_code == 401
    response = post_form(client, "/login", {"username": "bobby", "password": PASSWORD})
    assert response.status_code == 429
    assert "Please wait" in response.text
    assert int(response.headers["retry-after"]) > 0


def test_access_tokens_do_not_open_web_sessions(client: TestClient) -> None:
    sign_in(client, "alice")
    page = post_form(
        client, "/settings/tokens", {"action": "create", "label": "ci", "scope": "admin"}
    )
    secret = re.search(r"dy_pat_[\w-]+", page.text)
    assert secret
    client.cookies.clear()
    response = post_form(client, "/login", {"username": "alice", "password": secret.group(0)})
    assert response.status_code == 401


def test_password_change_ends_the_other_sessions(client: TestClient) -> None:
    sign_in(client, "alice")
    other_session = dict(client.cookies)
    sign_in(client, "alice")
    response = post_form(
        client, "/settings/general",
        {"current_password": PASSWORD, "new_password": "a new password 1",
         "new_password_confirm": "a new password 1"},
    )  # fmt: skip
    assert response.status_code == 303
    assert is_signed_in(client, "alice")  # this session goes on
    client.cookies.clear()
    client.cookies.update(other_session)
    assert not is_signed_in(client, "alice")


def test_a_wrong_current_password_changes_nothing(client: TestClient) -> None:
    sign_in(client, "alice")
    response = post_form(
        client, "/settings/general",
        {"current_password": "not it at all", "new_password": "a new password 1",
         "new_password_confirm": "a new password 1"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "wrong" in response.text
    assert is_signed_in(client, "alice")


# --- CSRF --------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_posts_without_the_session_token_are_refused(client: TestClient, token: str | None) -> None:
    push(client, "alice/app")
    sign_in(client, "alice")
    data = {} if token is None else {"csrf_token": token}
    cases = [
        ("/logout", {}),
        ("/r/alice/app/star", {}),
        ("/r/alice/app/settings", {"description": "changed", "visibility": "private"}),
        ("/r/alice/app/settings/delete", {"confirm": "alice/app"}),
        ("/r/alice/app/tags/latest/delete", {"confirm": "latest"}),
        ("/settings/tokens", {"action": "create", "label": "x", "scope": "admin"}),
        ("/orgs/new", {"name": "evilorg"}),
    ]
    for url, form in cases:
        response = client.post(url, data={**data, **form}, follow_redirects=False)
        assert response.status_code == 403, url
        assert "did not come from this site" in response.text
    page = client.get("/r/alice/app")
    assert page.status_code == 200
    assert "changed" not in page.text
    assert "latest" in page.text
    assert is_signed_in(client, "alice")


def test_a_token_of_another_session_is_refused(client: TestClient) -> None:
    sign_in(client, "bobby")
    bobby_token = csrf_of(client.get("/settings/tokens").text)
    sign_in(client, "alice")
    response = client.post(
        "/orgs/new", data={"csrf_token": bobby_token, "name": "someorg"}, follow_redirects=False
    )
    assert response.status_code == 403


def test_login_form_needs_csrf_too(client: TestClient) -> None:
    response = client.post(
        "/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403


# --- escaping and sanitizing -------------------------------------------------------------------
def test_user_content_is_escaped(client: TestClient) -> None:
    push(client, "alice/app")
    sign_in(client, "alice")
    response = post_form(
        client, "/r/alice/app/settings",
        {"description": XSS[:100], "full_description": "", "visibility": "public"},
    )  # fmt: skip
    assert response.status_code == 303
    post_form(client, "/settings/tokens", {"action": "create", "label": XSS, "scope": "admin"})
    post_form(
        client, "/r/alice/app/settings/webhooks",
        {"action": "create", "name": XSS, "url": "http://127.0.0.1:9/hook", "events": "push"},
    )  # fmt: skip
    post_form(client, "/orgs/new", {"name": "acmeorg"})
    post_form(client, "/orgs/acmeorg/teams", {"name": "devs", "description": XSS})
    for path in (
        "/explore", "/search?q=script", "/u/alice", "/r/alice/app", "/r/alice/app/settings",
        "/r/alice/app/tags/latest", "/settings/tokens", "/r/alice/app/settings/webhooks",
        "/orgs/acmeorg/teams", "/orgs/acmeorg/teams/devs", f"/search?q={XSS}",
    ):  # fmt: skip
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text, path
        assert "<img src=x onerror" not in page.text, path
    assert "&lt;script&gt;" in client.get("/r/alice/app").text
    assert "&lt;script&gt;" in client.get("/settings/tokens").text


def test_nul_characters_never_reach_the_database(client: TestClient) -> None:
    """PostgreSQL can neither store nor compare text holding a NUL (SQLite can): forms turn one
    into U+FFFD, as they do undecodable bytes, and a NUL in the address is refused, alike on
    every database (never a 500)."""
    push(client, "alice/app")
    sign_in(client, "alice")
    response = post_form(
        client, "/r/alice/app/settings",
        {"description": "tab\x00le", "full_description": "", "visibility": "public"},
    )  # fmt: skip
    assert response.status_code == 303
    assert "tab\ufffdle" in client.get("/r/alice/app").text
    client.cookies.clear()
    wrong = post_form(client, "/login", {"username": "ali\x00ce", "password": PASSWORD})
    assert wrong.status_code == 401
    assert "Incorrect username or password" in wrong.text
    search = client.get("/search", params={"q": "a\x00b"})
    assert search.status_code == 400
    assert search.headers["content-type"].startswith("text/html")
    assert client.get("/u/a%00b").status_code == 404


def test_readme_is_rendered_and_sanitized(client: TestClient) -> None:
    push(client, "alice/app")
    sign_in(client, "alice")
    readme = (
        "# Hello\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1))\n\n"
        '<a href="javascript:alert(2)">x</a> <img src="y" onerror="alert(3)">\n\n'
        '<div onclick="alert(4)">div</div>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n'
    )
    post_form(
        client, "/r/alice/app/settings",
        {"description": "d", "full_description": readme, "visibility": "public"},
    )  # fmt: skip
    page = client.get("/r/alice/app").text
    assert "<h1>Hello</h1>" in page
    assert "<table>" in page
    for bad in ("<script>alert", 'href="javascript', "onerror=", "onclick="):
        assert bad not in page


# --- visibility and permissions ----------------------------------------------------------------
def test_private_repositories_stay_hidden(client: TestClient) -> None:
    push(client, "alice/secret")
    sign_in(client, "alice")
    post_form(
        client, "/r/alice/secret/settings",
        {"description": "top secret", "full_description": "", "visibility": "private"},
    )  # fmt: skip
    assert client.get("/r/alice/secret").status_code == 200
    assert "alice/secret" in client.get("/u/alice").text
    assert "alice/secret" in client.get("/search?q=secret").text
    for who in ("bobby", None):
        client.cookies.clear()
        if who:
            sign_in(client, who)
        for path in ("/r/alice/secret", "/r/alice/secret/tags/latest", "/r/alice/secret/settings"):
            response = client.get(path, follow_redirects=False)
            assert response.status_code in ((404,) if who else (404, 303)), (who, path)
        assert "alice/secret" not in client.get("/u/alice").text
        assert "alice/secret" not in client.get("/search?q=secret").text


REPO_SETTINGS_GET = [
    "/r/alice/app/settings",
    "/r/alice/app/settings/collaborators",
    "/r/alice/app/settings/webhooks",
]
REPO_SETTINGS_POST = [
    ("/r/alice/app/settings", {"description": "x", "visibility": "private"}),
    ("/r/alice/app/settings/delete", {"confirm": "alice/app"}),
    ("/r/alice/app/settings/collaborators", {"team": "devs", "permission": "admin"}),
    ("/r/alice/app/settings/webhooks", {"action": "create", "name": "h", "url": "http://x.y/"}),
    ("/r/alice/app/tags/latest/delete", {"confirm": "latest"}),
]


def test_repository_settings_are_for_its_administrators(client: TestClient) -> None:
    push(client, "alice/app")
    sign_in(client, "alice")
    post_form(client, "/r/alice/app/settings/webhooks", {"action": "create", "name": "ci",
              "url": "http://127.0.0.1:9/hook", "events": "push"})  # fmt: skip
    hook_page = "/r/alice/app/settings/webhooks/1"
    for path in [*REPO_SETTINGS_GET, hook_page]:
        assert client.get(path).status_code == 200, path
    # Anonymous: sent to the login page.
    client.cookies.clear()
    for path in [*REPO_SETTINGS_GET, hook_page]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login")
    # Another user may read the public repository, but not administer it.
    sign_in(client, "bobby")
    assert "Settings" not in client.get("/r/alice/app").text.split('aria-label="Repository"')[1]
    for path in [*REPO_SETTINGS_GET, hook_page]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Access denied" in response.text
    token = csrf_of(client.get("/explore").text)
    for url, form in REPO_SETTINGS_POST:
        response = client.post(url, data={"csrf_token": token, **form}, follow_redirects=False)
        assert response.status_code == 403, url
    sign_in(client, "alice")
    page = client.get("/r/alice/app")
    assert "latest" in page.text
    assert "Private" not in page.text


def test_account_pages_need_a_session(client: TestClient) -> None:
    for path in (
        "/settings/general", "/settings/tokens", "/settings/audit", "/orgs/new",
        "/repositories/new", "/orgs/acmeorg/members",
    ):  # fmt: skip
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


def test_organization_pages_follow_roles(client: TestClient) -> None:
    sign_in(client, "alice")
    assert post_form(client, "/orgs/new", {"name": "acmeorg"}).status_code == 303
    assert post_form(client, "/orgs/acmeorg/members", {"username": "bobby"}).status_code == 303
    assert post_form(client, "/orgs/acmeorg/teams", {"name": "devs"}).status_code == 303
    response = post_form(client, "/orgs/acmeorg/teams/devs", {"action": "add", "username": "bobby"})
    assert response.status_code == 303
    assert "bobby" in client.get("/orgs/acmeorg/teams/devs").text
    assert client.get("/orgs/acmeorg/audit").status_code == 200
    # A member reads members and teams, but manages nothing and reads no audit log.
    sign_in(client, "bobby")
    assert client.get("/orgs/acmeorg/members").status_code == 200
    assert client.get("/orgs/acmeorg/teams").status_code == 200
    assert client.get("/orgs/acmeorg/audit").status_code == 403
    for url, form in [
        ("/orgs/acmeorg/members", {"username": "carol"}),
        ("/orgs/acmeorg/teams", {"name": "mine"}),
        ("/orgs/acmeorg/teams/devs", {"action": "delete_team"}),
    ]:
        assert post_form(client, url, form, page="/explore").status_code == 403, url
    # An outsider does not even see the organization's pages.
    sign_in(client, "carol")
    for path in ("/orgs/acmeorg/members", "/orgs/acmeorg/teams", "/orgs/acmeorg/audit"):
        assert client.get(path).status_code == 404, path


def test_team_permissions_from_the_collaborators_page(client: TestClient) -> None:
    sign_in(client, "alice")
    post_form(client, "/orgs/new", {"name": "acmeorg"})
    post_form(client, "/orgs/acmeorg/teams", {"name": "devs"})
    post_form(client, "/orgs/acmeorg/teams/devs", {"action": "add", "username": "bobby"})
    response = post_form(
        client, "/repositories/new",
        {"namespace": "acmeorg", "name": "tool", "visibility": "private"},
    )  # fmt: skip
    assert response.headers["location"] == "/r/acmeorg/tool"
    sign_in(client, "bobby")
    assert client.get("/r/acmeorg/tool").status_code == 404
    sign_in(client, "alice")
    response = post_form(
        client, "/r/acmeorg/tool/settings/collaborators", {"team": "devs", "permission": "admin"}
    )
    assert response.status_code == 303
    sign_in(client, "bobby")
    assert client.get("/r/acmeorg/tool").status_code == 200
    assert client.get("/r/acmeorg/tool/settings").status_code == 200
    # A team admin is no owner of the organization: team permissions stay with the owners.
    assert "Only owners" in client.get("/r/acmeorg/tool/settings/collaborators").text


def test_collaborators_of_a_personal_repository_from_its_settings(client: TestClient) -> None:
    page = "/r/alice/secret/settings/collaborators"
    push(client, "alice/secret")
    sign_in(client, "alice")
    post_form(
        client, "/r/alice/secret/settings",
        {"description": "", "full_description": "", "visibility": "private"},
    )  # fmt: skip
    shown = client.get(page)
    assert shown.status_code == 200
    assert "No collaborators yet." in shown.text
    assert "Add a collaborator" in shown.text
    # Without the session's CSRF token nothing happens.
    refused = client.post(
        page, data={"action": "add", "username": "bobby", "permission": "write"},
        follow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 403
    added = post_form(client, page, {"action": "add", "username": "bobby", "permission": "write"})
    assert added.status_code == 303
    assert added.headers["location"] == page
    shown = client.get(page).text
    assert "bobby is now a collaborator with write access." in shown
    assert '<a href="/u/bobby">bobby</a>' in shown
    assert '<option value="write" selected>' in shown
    for form, message in (
        ({"username": "nobodyhere", "permission": "read"}, "not found"),
        ({"username": "alice", "permission": "read"}, "owns alice/secret"),
        ({"username": "bobby", "permission": "read"}, "a collaborator of alice/secret already"),
        ({"username": "carol", "permission": "owner"}, "permission must be one of"),
    ):
        response = post_form(client, page, {"action": "add", **form})
        assert response.status_code == 400, form
        assert message in response.text, form
    # bobby may now pull and push, but not administer the repository.
    sign_in(client, "bobby")
    assert client.get("/r/alice/secret").status_code == 200
    assert client.get("/r/alice/secret/settings").status_code == 403
    assert client.get(page).status_code == 403
    assert "alice/secret" in client.get("/u/alice").text
    assert "alice/secret" in client.get("/search?q=secret").text
    # As an admin collaborator he changes settings, but collaborators stay with alice.
    sign_in(client, "alice")
    changed = post_form(
        client, page, {"action": "change", "username": "bobby", "permission": "admin"}
    )
    assert changed.status_code == 303
    assert '<option value="admin" selected>' in client.get(page).text
    sign_in(client, "bobby")
    assert client.get("/r/alice/secret/settings").status_code == 200
    shown = client.get(page)
    assert shown.status_code == 200
    assert "Only <strong>alice</strong> manages" in shown.text
    assert "Add a collaborator" not in shown.text
    response = post_form(client, page, {"action": "add", "username": "carol", "permission": "read"})
    assert response.status_code == 403
    sign_in(client, "carol")
    assert client.get("/r/alice/secret").status_code == 404
    assert client.get(page).status_code == 404
    # Removed, bobby sees nothing any more.
    sign_in(client, "alice")
    removed = post_form(client, page, {"action": "remove", "username": "bobby"})
    assert removed.status_code == 303
    assert "No collaborators yet." in client.get(page).text
    sign_in(client, "bobby")
    assert client.get("/r/alice/secret").status_code == 404
    sign_in(client, "alice")
    audit = client.get("/settings/audit").text
    for action in ("repo.collaborator.add", "repo.collaborator.change", "repo.collaborator.remove"):
        assert action in audit


def test_audit_log_pages(client: TestClient) -> None:
    sign_in(client, "alice")
    page = client.get("/settings/audit")
    assert page.status_code == 200
    assert "login" in page.text
    # Only site administrators read everybody's.
    assert "bobby" not in client.get("/settings/audit?account=bobby").text.split("<table")[-1]


# --- stars, search, repository, tag and layer pages --------------------------------------------
def test_star_and_search(client: TestClient) -> None:
    push(client, "alice/app")
    sign_in(client, "bobby")
    response = post_form(client, "/r/alice/app/star", {"action": "star"}, page="/r/alice/app")
    assert response.status_code == 303
    page = client.get("/r/alice/app").text
    assert "Starred · 1" in page
    post_form(client, "/r/alice/app/star", {"action": "unstar"}, page="/r/alice/app")
    assert "Star · 0" in client.get("/r/alice/app").text
    assert "/r/alice/app" in client.get("/search?q=app").text


def test_repository_tag_and_layer_pages(client: TestClient) -> None:
    image = push(client, "alice/app", "1.0")
    page = client.get("/r/alice/app")
    assert page.status_code == 200
    assert "docker pull testserver/alice/app" in page.text
    assert "linux/amd64" in page.text
    assert "linux/arm64" in page.text
    tag = client.get("/r/alice/app/tags/1.0")
    assert tag.status_code == 200
    for text in ("ADD file:base", "COPY app /app", "APP_MODE", "8080/tcp",
                 "org.opencontainers.image.source", SBOM_TYPE, image.amd64_digest):  # fmt: skip
        assert text in tag.text, text
    arm = client.get(f"/r/alice/app/tags/1.0?platform={image.arm64_digest}")
    assert image.arm64_digest in arm.text
    assert SBOM_TYPE not in arm.text  # the SBOM refers to the amd64 image
    layer = client.get(f"/r/alice/app/tags/1.0/layers/{image.layers[1]}")
    assert layer.status_code == 200
    assert "app/" in layer.text
    etc = client.get(f"/r/alice/app/tags/1.0/layers/{image.layers[1]}?path=etc")
    assert "os-release" in etc.text
    assert "change-changed" in etc.text
    assert "change-deleted" in etc.text
    missing = client.get(f"/r/alice/app/tags/1.0/layers/sha256:{'1' * 64}")
    assert missing.status_code == 404


def test_delete_tag_from_its_page(client: TestClient) -> None:
    push(client, "alice/app", "1.0")
    push(client, "alice/app", "2.0")
    sign_in(client, "alice")
    wrong = post_form(
        client, "/r/alice/app/tags/1.0/delete", {"confirm": "nope"}, page="/r/alice/app/tags/1.0"
    )
    assert wrong.status_code == 303
    assert client.get("/r/alice/app/tags/1.0").status_code == 200
    response = post_form(
        client, "/r/alice/app/tags/1.0/delete", {"confirm": "1.0"}, page="/r/alice/app/tags/1.0"
    )
    assert response.status_code == 303
    assert client.get("/r/alice/app/tags/1.0").status_code == 404
    assert client.get("/r/alice/app/tags/2.0").status_code == 200


def test_delete_repository_needs_its_name(client: TestClient) -> None:
    push(client, "alice/app")
    sign_in(client, "alice")
    post_form(
        client, "/r/alice/app/settings/delete", {"confirm": "app"}, page="/r/alice/app/settings"
    )
    assert client.get("/r/alice/app").status_code == 200
    post_form(
        client, "/r/alice/app/settings/delete", {"confirm": "alice/app"},
        page="/r/alice/app/settings",
    )  # fmt: skip
    assert client.get("/r/alice/app").status_code == 404


def test_empty_repository_explains_the_first_push(client: TestClient) -> None:
    sign_in(client, "alice")
    post_form(client, "/repositories/new", {"namespace": "alice", "name": "fresh"})
    page = client.get("/r/alice/fresh", headers={"host": "hub.example:5000"}).text
    assert "docker tag my-image hub.example:5000/alice/fresh:latest" in page
    assert "docker push hub.example:5000/alice/fresh:latest" in page


def test_webhooks_from_the_settings_page(client: TestClient) -> None:
    push(client, "alice/app")
    sign_in(client, "alice")
    page = post_form(
        client, "/r/alice/app/settings/webhooks",
        {"action": "create", "name": "ci", "url": "http://127.0.0.1:9/hook", "events": "push"},
    )  # fmt: skip
    assert page.status_code == 200
    assert "not shown again" in page.text
    response = post_form(
        client, "/r/alice/app/settings/webhooks", {"action": "test", "webhook_id": "1"}
    )
    assert response.headers["location"].endswith("/settings/webhooks/1")
    assert "ping" in client.get("/r/alice/app/settings/webhooks/1").text


def test_access_tokens_page(client: TestClient) -> None:
    sign_in(client, "alice")
    page = post_form(
        client, "/settings/tokens",
        {"action": "create", "label": "workstation-x", "scope": "repo:write", "expires": "30"},
    )  # fmt: skip
    assert page.status_code == 201
    secret = re.search(r"dy_pat_[\w-]+", page.text)
    assert secret
    listing = client.get("/settings/tokens").text
    assert "workstation-x" in listing
    assert secret.group(0) not in listing  # shown once
    token_id = re.search(r'name="token_id" value="([0-9a-f-]+)"', listing)
    assert token_id
    post_form(client, "/settings/tokens", {"action": "delete", "token_id": token_id.group(1)})
    assert "workstation-x" not in client.get("/settings/tokens").text


def test_official_images_live_under_underscore(client: TestClient) -> None:
    create_user(client, "rooty", admin=True)
    push(client, "library/alpine", user="rooty")
    page = client.get("/_/alpine")
    assert page.status_code == 200
    assert "Official image" in page.text
    assert "docker pull testserver/alpine" in page.text
    assert client.get("/_/alpine/tags/latest").status_code == 200
    assert 'href="/_/alpine"' in client.get("/search?q=alpine").text


# --- errors ------------------------------------------------------------------------------------
def test_error_pages(client: TestClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text
    assert client.get("/u/nobodyhere").status_code == 404
    assert client.get("/r/nobody/nothing").status_code == 404
    api = client.get("/v2/nobody/nothing/tags/list")
    assert api.headers["content-type"].startswith("application/json")
    assert (
        client.get("/v2/no/such/endpoint/x").headers["content-type"].startswith("application/json")
    )


def test_unexpected_errors_are_pages_without_traces(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(client.app.state.hub.catalog, "search", broken)  # type: ignore[attr-defined]
    page = client.get("/explore")
    assert page.status_code == 500
    assert "Something went wrong" in page.text
    assert "secret internals" not in page.text
    assert "Traceback" not in page.text


# --- speed -------------------------------------------------------------------------------------
def test_a_thousand_tags_paginate_server_side(client: TestClient) -> None:
    """Only one page of tags is rendered (speed is measured in bench/, not asserted here)."""
    push(client, "alice/big", "seed")

    async def add_tags() -> None:
        db = database(client)
        async with db.write() as conn:
            repo_id = await conn.scalar(
                select(repositories.c.id).where(repositories.c.name == "alice/big")
            )
            manifest_id = await conn.scalar(
                select(manifests.c.id).where(manifests.c.repository_id == repo_id).limit(1)
            )
            now = utcnow()
            await conn.execute(
                insert(tags),
                [
                    {"repository_id": repo_id, "name": f"v{i:04d}", "manifest_id": manifest_id,
                     "created_at": now, "updated_at": now}
                    for i in range(1000)
                ],
            )  # fmt: skip

    run(client, add_tags)
    page = client.get("/r/alice/big")
    assert page.status_code == 200
    assert "of 1001 tags" in page.text
    assert page.text.count('class="tag-group"') == 25
    last = client.get("/r/alice/big?page=41")
    assert last.text.count('class="tag-group"') == 1


def test_oversized_forms_are_refused(client: TestClient) -> None:
    sign_in(client, "alice")
    token = csrf_of(client.get("/orgs/new").text)
    response = client.post(
        "/orgs/new", data={"csrf_token": token, "name": "x" * 300_000}, follow_redirects=False
    )
    assert response.status_code == 413
    assert "larger than this server accepts" in response.text


def test_unknown_methods_and_paths_on_pages_are_pages(client: TestClient) -> None:
    response = client.get("/logout")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
