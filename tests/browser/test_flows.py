"""Flows tested at the HTTP level elsewhere, driven here through the real pages in Chromium.

Organizations (a member, a team, a team's permission on a private repository, seen by the
member), webhooks (a test delivery to a receiver on 127.0.0.1 shows in the history), the account
(changing the password, creating and revoking an access token), deleting a repository and the
audit log (an organization's for its owners, refused to a plain member; a user's own).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.test_walkthrough import PASSWORD, Person
from tests.support.servers import LiveServer
from tests.support.webhooks import Receiver, wait_for

pytestmark = [pytest.mark.browser]

NEW_PASSWORD = "another long enough password"


def accept_dialogs(person: Person) -> Person:
    """Answer the ``data-confirm`` prompts with OK."""
    person.page.on("dialog", lambda dialog: dialog.accept())
    return person


@pytest.fixture
def people(chromium: Any, web_server: LiveServer) -> Iterator[list[Person]]:
    """The browser contexts a test makes with ``meet``; all closed at the end."""
    made: list[Person] = []
    yield made
    for person in made:
        person.close()


def meet(people: list[Person], chromium: Any, server: LiveServer) -> Person:
    person = accept_dialogs(Person(chromium, server))
    people.append(person)
    return person


def log_in(person: Person, username: str, password: str) -> None:
    """Sign in through the login page (the caller checks where it lands)."""
    person.go("/login")
    person.page.get_by_label("Username").fill(username)
    person.page.get_by_label("Password").fill(password)
    person.page.get_by_role("button", name="Sign in").click()
    person.page.wait_for_load_state()


def create_repository(person: Person, namespace: str, name: str, private: bool = False) -> None:
    """Create ``namespace/name`` through ``/repositories/new``."""
    page = person.page
    person.go("/repositories/new")
    page.get_by_label("Namespace").select_option(namespace)
    page.get_by_label("Repository name").fill(name)
    page.get_by_label("Private" if private else "Public").check()
    page.get_by_role("button", name="Create", exact=True).click()
    page.wait_for_url(f"**/r/{namespace}/{name}")
    assert page.get_by_text(f"Repository {namespace}/{name} created.").is_visible()


def test_organization_team_grants_a_member_access(
    chromium: Any, web_server: LiveServer, people: list[Person]
) -> None:
    owner = meet(people, chromium, web_server)
    member = meet(people, chromium, web_server)
    owner.sign_up("orgowner")
    member.sign_up("orgmember")
    page = owner.page

    # The organization, from the account settings.
    owner.go("/settings/general")
    page.get_by_role("link", name="Create an organization").click()
    page.get_by_label("Organization name").fill("acmecorp")
    page.get_by_role("button", name="Create organization").click()
    page.wait_for_url("**/orgs/acmecorp/members")
    assert page.get_by_text("Organization acmecorp created.").is_visible()

    # A member.
    page.get_by_label("Username").fill("orgmember")
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url("**/orgs/acmecorp/members")
    assert page.get_by_role("link", name="orgmember").is_visible()

    # A team, with the member in it.
    owner.go("/orgs/acmecorp/teams")
    page.get_by_label("Name", exact=True).fill("builders")
    page.get_by_label("Description").fill("They push the images")
    page.get_by_role("button", name="Create team").click()
    page.wait_for_url("**/orgs/acmecorp/teams/builders")
    assert page.get_by_text("No members yet.").is_visible()
    page.get_by_label("Username").fill("orgmember")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url("**/orgs/acmecorp/teams/builders")
    assert page.get_by_role("link", name="orgmember").is_visible()

    # A private repository of the organization: the member does not see it yet.
    create_repository(owner, "acmecorp", "backend", private=True)
    assert member.go("/r/acmecorp/backend").status == 404

    # The team gets write access from the repository's collaborators page.
    owner.go("/r/acmecorp/backend/settings/collaborators")
    assert page.get_by_text("No team has access yet").is_visible()
    page.get_by_label("Team", exact=True).select_option("builders")
    page.get_by_label("Permission").select_option("write")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url("**/settings/collaborators")
    row = page.get_by_role("row", name=re.compile("builders"))
    assert row.get_by_text("write").is_visible()

    # The member, in its own browser, now sees it: its page and the organization's profile.
    assert member.go("/r/acmecorp/backend").status == 200
    assert member.page.get_by_role("heading", name=re.compile("backend")).first.is_visible()
    member.go("/u/acmecorp")
    assert member.page.get_by_role("link", name="acmecorp/backend").is_visible()
    # A member who is no owner cannot manage the teams' access.
    member.go("/r/acmecorp/backend/settings/collaborators")
    assert member.page.get_by_role("button", name="Add", exact=True).count() == 0


def test_webhook_test_delivery_shows_in_history(
    chromium: Any, web_server: LiveServer, people: list[Person]
) -> None:
    person = meet(people, chromium, web_server)
    person.sign_up("hookuser")
    page = person.page
    create_repository(person, "hookuser", "hooked")
    with Receiver() as receiver:
        person.go("/r/hookuser/hooked/settings/webhooks")
        assert page.get_by_text("No webhooks yet.").is_visible()
        page.get_by_label("Name", exact=True).fill("ci")
        page.get_by_label("URL", exact=True).fill(receiver.url + "/hook")
        page.get_by_role("button", name="Add webhook").click()
        page.get_by_text("Webhook ci added.").wait_for()
        assert page.get_by_text("Signing secret of the new webhook.").is_visible()
        row = page.get_by_role("row", name=re.compile(r"\bci\b"))
        assert row.get_by_text("active", exact=True).is_visible()

        row.get_by_role("button", name="Test", exact=True).click()
        page.wait_for_url(re.compile(r"/settings/webhooks/\d+$"))
        assert page.get_by_text("Test delivery queued.").is_visible()

        # The receiver gets it, and the history shows it delivered (polled, bounded).
        wait_for(receiver.count, timeout=30)
        assert receiver.received[0].path == "/hook"
        deadline = time.monotonic() + 30
        while page.locator(".badge", has_text="delivered").count() == 0:
            assert time.monotonic() < deadline, page.locator("main").inner_text()
            time.sleep(0.5)
            page.reload()
        assert page.get_by_role("cell", name="HTTP 200").is_visible()


def test_change_password_and_revoke_token(
    chromium: Any, web_server: LiveServer, people: list[Person]
) -> None:
    person = meet(people, chromium, web_server)
    person.sign_up("pwuser")
    page = person.page
    elsewhere = meet(people, chromium, web_server)
    log_in(elsewhere, "pwuser", PASSWORD)
    assert elsewhere.go("/settings/general").url.endswith("/settings/general")

    # Change the password: this session stays, the other one ends.
    person.go("/settings/general")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Password changed; your other sessions are signed out.").wait_for()
    person.go("/settings/general")
    assert page.url.endswith("/settings/general")
    assert page.get_by_role("heading", name="Change password").is_visible()
    elsewhere.go("/settings/general")
    assert "/login" in elsewhere.page.url

    # The old password no longer signs in; the new one does.
    fresh = meet(people, chromium, web_server)
    log_in(fresh, "pwuser", PASSWORD)
    assert fresh.page.get_by_text("Incorrect username or password.").is_visible()
    log_in(fresh, "pwuser", NEW_PASSWORD)
    assert "/login" not in fresh.page.url
    fresh.go("/settings/general")
    assert fresh.page.url.endswith("/settings/general")

    # The sessions page lists both browsers; "sign out everywhere else" ends the fresh one.
    person.go("/settings/sessions")
    assert page.locator("table.sessions-table tbody tr").count() == 2
    assert page.locator(".badge", has_text="this browser").count() == 1
    page.get_by_role("button", name="Sign out everywhere else").click()
    page.get_by_text("Every other session is signed out.").wait_for()
    assert page.locator("table.sessions-table tbody tr").count() == 1
    fresh.go("/settings/general")
    assert "/login" in fresh.page.url

    # An access token: created, works, revoked, gone and refused.
    person.go("/settings/tokens")
    assert page.get_by_text("No tokens yet.").is_visible()
    page.get_by_label("Description").fill("ci robot")
    page.get_by_label(re.compile("repo:read")).check()
    page.get_by_role("button", name="Generate token").click()
    assert page.get_by_role("heading", name=re.compile("ci robot")).is_visible()
    secret = page.locator(".secret-box .command code").first.inner_text()
    assert secret.startswith("dy_pat_")
    token_url = f"{web_server.url}/token"
    assert httpx.get(token_url, auth=("pwuser", secret)).status_code == 200
    row = page.get_by_role("row", name=re.compile("ci robot"))
    assert row.get_by_text("active", exact=True).is_visible()
    row.get_by_role("button", name="Revoke").click()
    page.get_by_text("Token revoked.").wait_for()
    assert page.get_by_role("row", name=re.compile("ci robot")).count() == 0
    assert page.get_by_text("No tokens yet.").is_visible()
    assert httpx.get(token_url, auth=("pwuser", secret)).status_code == 401


def test_delete_repository_with_confirmation(
    chromium: Any, web_server: LiveServer, people: list[Person]
) -> None:
    person = meet(people, chromium, web_server)
    person.sign_up("deluser")
    page = person.page
    create_repository(person, "deluser", "doomed")
    person.go("/r/deluser/doomed/settings")

    # A wrong name is refused and nothing is deleted.
    page.get_by_label("Type deluser/doomed to confirm").fill("doomed")
    page.get_by_role("button", name="Delete repository").click()
    page.get_by_text("Type deluser/doomed to confirm the deletion.").wait_for()
    assert person.go("/r/deluser/doomed").status == 200

    # The right name deletes it; its page is then a 404 page.
    person.go("/r/deluser/doomed/settings")
    page.get_by_label("Type deluser/doomed to confirm").fill("deluser/doomed")
    page.get_by_role("button", name="Delete repository").click()
    page.wait_for_url("**/u/deluser")
    assert page.get_by_text("Repository deluser/doomed deleted.").is_visible()
    assert page.get_by_role("link", name="deluser/doomed").count() == 0
    assert person.go("/r/deluser/doomed").status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()


def test_audit_log_page_for_owners_and_admins(
    chromium: Any, web_server: LiveServer, people: list[Person]
) -> None:
    owner = meet(people, chromium, web_server)
    member = meet(people, chromium, web_server)
    owner.sign_up("auditowner")
    member.sign_up("auditmember")
    page = owner.page

    # The owner makes an organization, a member and a team: all audited.
    owner.go("/orgs/new")
    page.get_by_label("Organization name").fill("auditcorp")
    page.get_by_role("button", name="Create organization").click()
    page.wait_for_url("**/orgs/auditcorp/members")
    page.get_by_label("Username").fill("auditmember")
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url("**/orgs/auditcorp/members")
    owner.go("/orgs/auditcorp/teams")
    page.get_by_label("Name", exact=True).fill("auditors")
    page.get_by_role("button", name="Create team").click()
    page.wait_for_url("**/orgs/auditcorp/teams/auditors")

    # The owner reaches the organization's activity from its tabs and sees who did what.
    tabs = page.get_by_role("navigation", name="Organization")
    tabs.get_by_role("link", name="Activity").click()
    page.wait_for_url("**/orgs/auditcorp/audit")
    assert page.get_by_role("heading", name="Activity").is_visible()
    row = page.get_by_role("row", name=re.compile(r"team\.create"))
    assert row.get_by_role("cell", name="auditowner", exact=True).is_visible()
    assert row.get_by_role("cell", name="auditors").is_visible()
    member_row = page.get_by_role("row", name=re.compile(r"org\.member\.set"))
    assert member_row.get_by_role("cell", name=re.compile("auditmember")).is_visible()
    assert page.get_by_role("row", name=re.compile(r"org\.create")).count() == 1

    # A plain member sees no Activity tab, and the page itself is a 403 page.
    member.go("/orgs/auditcorp/members")
    member_tabs = member.page.get_by_role("navigation", name="Organization")
    assert member_tabs.get_by_role("link", name="Members").is_visible()
    assert member_tabs.get_by_role("link", name="Activity").count() == 0
    assert member.go("/orgs/auditcorp/audit").status == 403
    assert member.page.get_by_role("heading", name="Access denied").is_visible()
    assert member.page.get_by_role("cell", name="auditowner").count() == 0

    # The member's own activity: a password sign-in and an access token created.
    fresh = meet(people, chromium, web_server)
    log_in(fresh, "auditmember", PASSWORD)
    assert "/login" not in fresh.page.url
    fresh.go("/settings/tokens")
    fresh.page.get_by_label("Description").fill("audit robot")
    fresh.page.get_by_label(re.compile("repo:read")).check()
    fresh.page.get_by_role("button", name="Generate token").click()
    assert fresh.page.get_by_role("heading", name=re.compile("audit robot")).is_visible()
    fresh.go("/settings/audit")
    mine = fresh.page
    assert mine.get_by_role("heading", name="Activity").is_visible()
    login_row = mine.get_by_role("row", name=re.compile(r"\blogin\b")).first
    assert login_row.get_by_role("cell", name="auditmember", exact=True).is_visible()
    assert login_row.get_by_text("via=web").is_visible()
    token_row = mine.get_by_role("row", name=re.compile(r"access_token\.create"))
    assert token_row.get_by_text(re.compile("label=audit robot")).is_visible()
    # Only the member's own events: none of the organization's.
    assert mine.get_by_role("row", name=re.compile(r"team\.create")).count() == 0
