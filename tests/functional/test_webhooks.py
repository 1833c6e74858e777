"""Repository webhooks: Hub API, registry events, signed delivery, retries, restarts."""

from __future__ import annotations

import functools
import logging
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.config import Settings
from dockyard.metadata.webhook_store import WebhookStore
from tests.support.accounts import AUTH_ON, sign_up
from tests.support.auth import (
    PASSWORD,
    auth_client,
    bearer,
    create_pat,
    create_user,
    database,
    grant_team,
    hub_headers,
    hub_login,
    image_parts,
    make_org,
    make_repository,
    make_team,
    push_small_image,
    registry_token,
    run,
)
from tests.support.backends import AppBackend
from tests.support.oci import OCI_MANIFEST, digest_of
from tests.support.servers import LiveServer
from tests.support.webhooks import Receiver, wait_for

REPO = "alice/app"
SECRET = "a-webhook-secret-of-enough-length"


def hook_settings(settings: Settings, tmp_path: Path, **webhooks: Any) -> Settings:
    """Auth on, fast delivery timing; the database and storage of the ``settings`` fixture."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=settings.database_url,
        storage=settings.storage.model_dump(mode="json"),
        auth={"enabled": True},
        webhooks={
            "poll_interval": 0.05,
            "backoff": [0.1],
            "timeout": 2,
            "lease_seconds": 5,
            **webhooks,
        },
    )


def push(client: TestClient, user: str, repo: str = REPO, tag: str = "latest") -> str:
    """Push a tiny image as ``user``; its manifest digest."""
    token = registry_token(client, [f"repository:{repo}:push,pull"], (user, PASSWORD))
    return push_small_image(
        client, repo, token, tag=tag, seed=f"{repo}:{tag}:{uuid.uuid4()}"
    ).digest


def hooks_url(repo: str = REPO) -> str:
    return f"/v2/repositories/{repo}/webhooks/"


def add_hook(
    client: TestClient, token: str, url: str, repo: str = REPO, **body: Any
) -> dict[str, Any]:
    """``POST .../webhooks/`` (201 expected); the created webhook."""
    response = client.post(
        hooks_url(repo),
        json={"name": "ci", "webhook_url": url, **body},
        headers=hub_headers(token),
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def history(client: TestClient, token: str, hook_id: int, repo: str = REPO) -> dict[str, Any]:
    response = client.get(f"{hooks_url(repo)}{hook_id}/deliveries/", headers=hub_headers(token))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def settled(client: TestClient, token: str, hook_id: int, count: int = 1) -> list[dict[str, Any]]:
    """Wait until ``count`` deliveries exist and none is pending; them, newest first."""

    def check() -> list[dict[str, Any]] | None:
        results: list[dict[str, Any]] = history(client, token, hook_id)["results"]
        if len(results) >= count and all(r["status"] != "pending" for r in results):
            return results
        return None

    return wait_for(check)


@pytest.fixture
def app(settings: Settings, tmp_path: Path) -> Any:
    """An app with auth on and fast webhook timing; alice owns ``alice/app`` (pushed once)."""
    with auth_client(hook_settings(settings, tmp_path)) as client:
        create_user(client, "alice")
        push(client, "alice")
        yield client


@pytest.fixture
def alice(app: TestClient) -> str:
    return hub_login(app, "alice")


# --- delivery -------------------------------------------------------------------------------------
def test_push_through_the_registry_delivers_a_signed_docker_hub_payload(
    app: TestClient, alice: str
) -> None:
    with Receiver() as receiver:
        hook = add_hook(app, alice, f"{receiver.url}/hook", secret=SECRET)
        assert hook["secret"] == SECRET
        before = int(time.time())
        digest = push(app, "alice", tag="v1")
        # A push by digest (no tag) is not an event.
        token = registry_token(app, [f"repository:{REPO}:push,pull"], ("alice", PASSWORD))
        manifest = app.get(f"/v2/{REPO}/manifests/v1", headers=bearer(token))
        response = app.put(
            f"/v2/{REPO}/manifests/{digest}",
            content=manifest.content,
            headers={"Content-Type": manifest.headers["content-type"], **bearer(token)},
        )
        assert response.status_code == 201
        [delivery] = settled(app, alice, hook["id"])
        [got] = receiver.received
    assert got.path == "/hook"
    assert got.signed_with(SECRET)
    assert not got.signed_with(SECRET + "x")
    assert got.headers["x-dockyard-event"] == "push"
    assert got.headers["x-dockyard-delivery"] == delivery["id"]
    assert got.headers["user-agent"] == "Dockyard-Hookshot/1"
    assert got.headers["content-type"] == "application/json"
    payload = got.json
    assert set(payload) == {"callback_url", "push_data", "repository"}
    push_data = payload["push_data"]
    assert push_data["tag"] == "v1"
    assert push_data["pusher"] == "alice"
    assert push_data["images"] == []
    assert before <= push_data["pushed_at"] <= int(time.time())
    repository = payload["repository"]
    assert repository == {
        "repo_name": REPO,
        "name": "app",
        "namespace": "alice",
        "owner": "alice",
        "description": "",
        "full_description": "",
        "is_private": False,
        "is_official": False,
        "star_count": 0,
        "comment_count": 0,
        "date_created": repository["date_created"],
        "status": "Active",
        "repo_url": "http://testserver/r/alice/app",
        "dockerfile": "",
    }
    assert isinstance(repository["date_created"], int)
    # The history: one delivery, delivered at the first attempt.
    assert delivery["status"] == "delivered"
    assert delivery["event"] == "push"
    assert (delivery["attempts"], delivery["response_code"], delivery["error"]) == (1, 200, "")
    assert delivery["delivered_at"]
    assert delivery["last_attempt_at"]
    assert delivery["created_at"]
    # callback_url names the delivery's record, which shows the payload sent.
    callback = payload["callback_url"]
    assert callback.endswith(f"/webhooks/{hook['id']}/deliveries/{delivery['id']}/")
    record = app.get(callback.removeprefix("http://testserver"), headers=hub_headers(alice))
    assert record.status_code == 200, record.text
    assert record.json()["payload"] == payload


def test_tag_delete_through_the_registry(app: TestClient, alice: str) -> None:
    push(app, "alice", tag="old")
    with Receiver() as receiver:
        only_push = add_hook(app, alice, f"{receiver.url}/push")
        both = add_hook(
            app, alice, f"{receiver.url}/both", name="both", events=["push", "tag_delete"]
        )
        token = registry_token(app, [f"repository:{REPO}:delete"], ("alice", PASSWORD))
        response = app.delete(f"/v2/{REPO}/manifests/old", headers=bearer(token))
        assert response.status_code == 202, response.text
        [delivery] = settled(app, alice, both["id"])
        [got] = receiver.received
    assert history(app, alice, only_push["id"])["count"] == 0
    assert delivery["event"] == "tag_delete"
    assert got.path == "/both"
    assert got.headers["x-dockyard-event"] == "tag_delete"
    assert got.signed_with(both["secret"])
    payload = got.json
    assert payload["event"] == "tag_delete"
    assert payload["push_data"]["tag"] == "old"
    assert payload["push_data"]["pusher"] == "alice"
    assert payload["repository"]["repo_name"] == REPO


def test_a_failing_receiver_is_retried_with_backoff(app: TestClient, alice: str) -> None:
    with Receiver(statuses=[500, 500]) as receiver:
        hook = add_hook(app, alice, receiver.url)
        push(app, "alice")
        [delivery] = settled(app, alice, hook["id"])
        received = list(receiver.received)
    assert len(received) == 3
    assert len({r.headers["x-dockyard-delivery"] for r in received}) == 1
    assert len({r.body for r in received}) == 1
    assert all(r.signed_with(hook["secret"]) for r in received)
    assert delivery["status"] == "delivered"
    assert (delivery["attempts"], delivery["response_code"], delivery["error"]) == (3, 200, "")


def test_gives_up_after_max_attempts(settings: Settings, tmp_path: Path) -> None:
    config = hook_settings(settings, tmp_path, max_attempts=2)
    with auth_client(config) as client, Receiver(statuses=[500] * 5) as receiver:
        create_user(client, "alice")
        push(client, "alice")
        alice = hub_login(client, "alice")
        hook = add_hook(client, alice, receiver.url)
        push(client, "alice")
        [delivery] = settled(client, alice, hook["id"])
        time.sleep(0.3)  # no further attempt comes
        assert receiver.count() == 2
    assert delivery["status"] == "failed"
    assert (delivery["attempts"], delivery["response_code"]) == (2, 500)
    assert delivery["error"] == "HTTP 500: nope"
    assert delivery["next_attempt_at"] is None


def test_redirects_are_not_followed(settings: Settings, tmp_path: Path) -> None:
    config = hook_settings(settings, tmp_path, max_attempts=1)
    with auth_client(config) as client, Receiver(statuses=[302]) as receiver:
        create_user(client, "alice")
        push(client, "alice")
        alice = hub_login(client, "alice")
        hook = add_hook(client, alice, receiver.url)
        push(client, "alice")
        [delivery] = settled(client, alice, hook["id"])
        time.sleep(0.2)
        assert [r.path for r in receiver.received] == ["/"]
    assert (delivery["status"], delivery["response_code"]) == ("failed", 302)
    assert "redirects are not followed" in delivery["error"]


def test_unreachable_receiver_records_the_error(settings: Settings, tmp_path: Path) -> None:
    with Receiver() as closed:
        url = closed.url  # nothing listens there once the receiver is gone
    config = hook_settings(settings, tmp_path, max_attempts=1)
    with auth_client(config) as client:
        create_user(client, "alice")
        push(client, "alice")
        alice = hub_login(client, "alice")
        hook = add_hook(client, alice, url)
        push(client, "alice")
        [delivery] = settled(client, alice, hook["id"])
    assert delivery["status"] == "failed"
    assert delivery["response_code"] is None
    assert "ConnectError" in delivery["error"]


def test_the_secret_is_never_logged(
    app: TestClient, alice: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Our loggers at every level (a database driver's debug log of SQL parameters is not ours).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="dockyard")
    with Receiver(statuses=[500]) as receiver:
        hook = add_hook(app, alice, f"{receiver.url}/path-token-xyz", secret=SECRET)
        push(app, "alice")
        settled(app, alice, hook["id"])
    assert "webhook" in caplog.text
    assert SECRET not in caplog.text
    assert "path-token-xyz" not in caplog.text


def test_test_endpoint_sends_a_ping(app: TestClient, alice: str) -> None:
    with Receiver() as receiver:
        hook = add_hook(app, alice, receiver.url)  # secret generated
        response = app.post(f"{hooks_url()}{hook['id']}/test/", headers=hub_headers(alice))
        assert response.status_code == 202, response.text
        queued = response.json()
        assert (queued["event"], queued["status"]) == ("ping", "pending")
        [delivery] = settled(app, alice, hook["id"])
        [got] = receiver.received
    assert delivery["id"] == queued["id"]
    assert delivery["status"] == "delivered"
    assert got.headers["x-dockyard-event"] == "ping"
    assert got.signed_with(hook["secret"])
    payload = got.json
    assert payload["event"] == "ping"
    assert payload["hook"] == {"id": hook["id"], "name": "ci", "events": ["push"]}
    assert payload["sender"] == "alice"
    assert payload["repository"]["repo_name"] == REPO


def test_history_is_paginated(app: TestClient, alice: str) -> None:
    with Receiver() as receiver:
        hook = add_hook(app, alice, receiver.url)
        for n in range(3):
            push(app, "alice", tag=f"t{n}")
        settled(app, alice, hook["id"], count=3)
    url = f"{hooks_url()}{hook['id']}/deliveries/"
    page = app.get(url, params={"page_size": 2}, headers=hub_headers(alice)).json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["previous"] is None
    assert "page=2" in page["next"]
    second = app.get(url, params={"page_size": 2, "page": 2}, headers=hub_headers(alice)).json()
    assert len(second["results"]) == 1
    assert second["next"] is None
    ids = [r["id"] for r in page["results"] + second["results"]]
    assert len(set(ids)) == 3


# --- durability -----------------------------------------------------------------------------------
def test_a_pending_delivery_survives_a_restart(settings: Settings, tmp_path: Path) -> None:
    with Receiver() as receiver:
        # This node only records events (as when it stopped before sending them).
        with auth_client(hook_settings(settings, tmp_path, deliver=False)) as client:
            create_user(client, "alice")
            push(client, "alice")
            alice = hub_login(client, "alice")
            hook = add_hook(client, alice, receiver.url)
            push(client, "alice", tag="v2")
            [pending] = history(client, alice, hook["id"])["results"]
            assert (pending["status"], pending["attempts"]) == ("pending", 0)
        assert receiver.count() == 0
        with auth_client(hook_settings(settings, tmp_path)) as client:
            alice = hub_login(client, "alice")
            [delivery] = settled(client, alice, hook["id"])
        [got] = receiver.received
    assert delivery["id"] == pending["id"]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    assert got.json["push_data"]["tag"] == "v2"


def test_a_delivery_claimed_by_a_dead_node_is_sent_after_its_lease(
    settings: Settings, tmp_path: Path
) -> None:
    with Receiver() as receiver:
        with auth_client(hook_settings(settings, tmp_path, deliver=False)) as client:
            create_user(client, "alice")
            push(client, "alice")
            alice = hub_login(client, "alice")
            hook = add_hook(client, alice, receiver.url)
            push(client, "alice")
            # A node claims it for a second, then dies without an answer.
            store = WebhookStore(database(client))
            claimed = run(
                client,
                functools.partial(store.claim, limit=10, lease=timedelta(seconds=1)),
            )
            assert len(claimed) == 1
        with auth_client(hook_settings(settings, tmp_path)) as client:
            alice = hub_login(client, "alice")
            [delivery] = settled(client, alice, hook["id"])
    assert receiver.count() == 1
    assert delivery["id"] == claimed[0].id
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)


# --- management -----------------------------------------------------------------------------------
def test_manage_webhooks(app: TestClient, alice: str) -> None:
    headers = hub_headers(alice)
    created = add_hook(app, alice, "https://ci.example.test/hook")
    assert len(created["secret"]) == 64  # generated, shown once
    assert created["events"] == ["push"]
    assert created["active"] is True
    assert created["created_by"] == "alice"
    url = f"{hooks_url()}{created['id']}/"
    shown = app.get(url, headers=headers).json()
    assert "secret" not in shown
    listed = app.get(hooks_url(), headers=headers).json()
    assert listed["count"] == 1
    assert "secret" not in listed["results"][0]
    assert listed["results"][0]["webhook_url"] == "https://ci.example.test/hook"

    response = app.patch(
        url,
        json={
            "name": "deploy",
            "webhook_url": "http://10.0.0.1:8080/x",
            "events": ["tag_delete", "push"],
            "active": False,
            "secret": "another-secret-long-enough",
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert (patched["name"], patched["webhook_url"], patched["events"], patched["active"]) == (
        "deploy",
        "http://10.0.0.1:8080/x",
        ["push", "tag_delete"],
        False,
    )
    assert "secret" not in patched
    # Inactive: no events recorded, and no test.
    push(app, "alice")
    assert history(app, alice, created["id"])["count"] == 0
    assert app.post(f"{url}test/", headers=headers).status_code == 409

    duplicate = app.post(
        hooks_url(), json={"name": "deploy", "webhook_url": "http://x.test/"}, headers=headers
    )
    assert duplicate.status_code == 409
    assert app.delete(url, headers=headers).status_code == 204
    assert app.get(url, headers=headers).status_code == 404
    assert app.delete(url, headers=headers).status_code == 404
    assert app.get(hooks_url(), headers=headers).json()["count"] == 0

    audit = app.get("/v2/auditlogs/alice/", headers=headers).json()
    actions = [e["action"] for e in audit["results"]]
    assert "webhook.create" in actions
    assert "webhook.delete" in actions
    assert "another-secret" not in str(audit)


INVALID = [
    ({"webhook_url": "http://x.test/"}, "name"),
    ({"name": "a"}, "webhook_url"),
    ({"name": "a", "webhook_url": "ftp://x.test/"}, "http"),
    ({"name": "a", "webhook_url": "file:///etc/passwd"}, "http"),
    ({"name": "a", "webhook_url": "javascript:alert(1)"}, "http"),
    ({"name": "a", "webhook_url": "http://user:pw@x.test/"}, "credentials"),
    ({"name": "a", "webhook_url": "http://token@x.test/"}, "credentials"),
    ({"name": "a", "webhook_url": "http:///path"}, "host"),
    ({"name": "a", "webhook_url": "http://x.test:99999/"}, "URL"),
    ({"name": "a", "webhook_url": "http://x.test/a b"}, "whitespace"),
    ({"name": "a", "webhook_url": "http://x.test/\r\nX: y"}, "whitespace"),
    ({"name": "a", "webhook_url": "http://x.test/" + "a" * 2048}, "2048"),
    ({"name": "a" * 101, "webhook_url": "http://x.test/"}, "name"),
    ({"name": "a", "webhook_url": "http://x.test/", "events": []}, "events"),
    ({"name": "a", "webhook_url": "http://x.test/", "events": ["pull"]}, "pull"),
    ({"name": "a", "webhook_url": "http://x.test/", "events": "push"}, "events"),
    ({"name": "a", "webhook_url": "http://x.test/", "events": [1]}, "events"),
    ({"name": "a", "webhook_url": "http://x.test/", "secret": "short"}, "secret"),
    ({"name": "a", "webhook_url": 5}, "webhook_url"),
]


def test_invalid_webhooks_are_refused(app: TestClient, alice: str) -> None:
    for body, field in INVALID:
        response = app.post(hooks_url(), json=body, headers=hub_headers(alice))
        assert response.status_code == 400, (body, response.text)
        assert field in response.json()["message"], (body, response.text)
    assert app.get(hooks_url(), headers=hub_headers(alice)).json()["count"] == 0


def test_patch_validates_too(app: TestClient, alice: str) -> None:
    hook = add_hook(app, alice, "http://x.test/")
    url = f"{hooks_url()}{hook['id']}/"
    for body in ({"webhook_url": "gopher://x/"}, {"events": ["nope"]}, {"active": "yes"}):
        response = app.patch(url, json=body, headers=hub_headers(alice))
        assert response.status_code == 400, (body, response.text)
    assert app.get(url, headers=hub_headers(alice)).json()["webhook_url"] == "http://x.test/"


def test_limit_per_repository(settings: Settings, tmp_path: Path) -> None:
    with auth_client(hook_settings(settings, tmp_path, max_per_repository=2)) as client:
        create_user(client, "alice")
        push(client, "alice")
        alice = hub_login(client, "alice")
        add_hook(client, alice, "http://x.test/", name="one")
        add_hook(client, alice, "http://x.test/", name="two")
        response = client.post(
            hooks_url(),
            json={"name": "three", "webhook_url": "http://x.test/"},
            headers=hub_headers(alice),
        )
        assert response.status_code == 409


# --- permissions ----------------------------------------------------------------------------------
@pytest.fixture
def org_app(settings: Settings, tmp_path: Path) -> Any:
    """acme (owner olga) with a private and a public repository; teams devs (write, bob) and
    admins (admin, carol); dave is a stranger, root a site administrator."""
    with auth_client(hook_settings(settings, tmp_path)) as client:
        for user in ("olga", "bob", "carol", "dave"):
            create_user(client, user)
        create_user(client, "root", admin=True)
        olga = hub_login(client, "olga")
        make_org(client, olga, "acme")
        make_team(client, olga, "acme", "devs", ["bob"])
        make_team(client, olga, "acme", "admins", ["carol"])
        for repo, private in (("acme/secret", True), ("acme/open", False)):
            assert make_repository(client, olga, repo, private=private).status_code == 201
            assert grant_team(client, olga, repo, "devs", "write").status_code == 201
            assert grant_team(client, olga, repo, "admins", "admin").status_code == 201
        yield client


WHO = [
    ("olga", 201, 201),  # organization owner
    ("carol", 201, 201),  # team admin
    ("root", 201, 201),  # site administrator
    ("bob", 403, 403),  # may push, not administer
    ("dave", 404, 403),  # a stranger: the private repository does not exist for him
]


def test_who_manages_webhooks(org_app: TestClient) -> None:
    for user, private_status, public_status in WHO:
        token = hub_login(org_app, user)
        for repo, expected in (("acme/secret", private_status), ("acme/open", public_status)):
            response = org_app.post(
                hooks_url(repo),
                json={"name": f"by-{user}", "webhook_url": "http://x.test/"},
                headers=hub_headers(token),
            )
            assert response.status_code == expected, (user, repo, response.text)
            listing = org_app.get(hooks_url(repo), headers=hub_headers(token))
            assert listing.status_code == (200 if expected == 201 else expected), (user, repo)


def test_webhook_endpoints_refuse_non_admins(org_app: TestClient) -> None:
    olga = hub_login(org_app, "olga")
    hook = add_hook(org_app, olga, "http://x.test/", repo="acme/secret")
    base = f"{hooks_url('acme/secret')}{hook['id']}/"
    calls = [
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("POST", f"{base}test/"),
        ("GET", f"{base}deliveries/"),
    ]
    for user, expected in (("bob", 403), ("dave", 404)):
        headers = hub_headers(hub_login(org_app, user))
        for method, url in calls:
            response = org_app.request(method, url, json={}, headers=headers)
            assert response.status_code == expected, (user, method, url, response.text)
    for method, url in calls:
        assert org_app.request(method, url, json={}).status_code == 401
    # A webhook is only reachable under its own repository.
    carol = hub_headers(hub_login(org_app, "carol"))
    other = f"{hooks_url('acme/open')}{hook['id']}/"
    assert org_app.get(other, headers=carol).status_code == 404
    assert org_app.get(base, headers=carol).status_code == 200
    assert org_app.get(f"{hooks_url('acme/missing')}", headers=carol).status_code == 404


def test_a_push_scoped_access_token_cannot_manage_webhooks(app: TestClient, alice: str) -> None:
    _, secret = create_pat(app, alice, ["repo:write"])
    token = hub_login(app, "alice", secret)
    response = app.get(hooks_url(), headers=hub_headers(token))
    assert response.status_code == 403


# --- a real server --------------------------------------------------------------------------------
def test_live_server_delivers_and_resumes_after_a_crash(
    tmp_path: Path, backend: AppBackend
) -> None:
    """``dockyard serve`` (Granian): killed mid-delivery, the delivery is sent after its lease."""
    env = {
        **backend.env(),
        **AUTH_ON,
        "DOCKYARD_WEBHOOKS__POLL_INTERVAL": "0.1",
        "DOCKYARD_WEBHOOKS__TIMEOUT": "3",
        "DOCKYARD_WEBHOOKS__LEASE_SECONDS": "4",
        "DOCKYARD_WEBHOOKS__BACKOFF": "[0.2]",
    }
    data_dir = tmp_path / "live"
    with Receiver(delay=2.0) as receiver:
        server = LiveServer(data_dir=data_dir, env=env).start()
        try:
            account = sign_up(server, "hooks")
            repo = f"{account.username}/app"
            account.create_repository(account.username, "app", private=True)
            hook = account.call(
                "POST",
                f"/v2/repositories/{repo}/webhooks/",
                {"name": "ci", "webhook_url": receiver.url, "events": ["push"]},
                expect=201,
            )
            config, layer, manifest = image_parts("live")
            with account.registry_client(repo) as registry:
                for blob in (config, layer):
                    response = registry.post(
                        f"/v2/{repo}/blobs/uploads/",
                        params={"digest": digest_of(blob)},
                        content=blob,
                    )
                    assert response.status_code == 201, response.text
                response = registry.put(
                    f"/v2/{repo}/manifests/v1",
                    content=manifest,
                    headers={"Content-Type": OCI_MANIFEST},
                )
                assert response.status_code == 201, response.text
            # The receiver holds the first request; the node dies while waiting for it.
            wait_for(receiver.count)
            server.kill()
            server = LiveServer(data_dir=data_dir, env=env).start()
            deliveries = f"/v2/repositories/{repo}/webhooks/{hook['id']}/deliveries/"

            def delivered() -> dict[str, Any] | None:
                page = account.call("GET", deliveries)
                result: dict[str, Any] = page["results"][0]
                return result if result["status"] == "delivered" else None

            account.server = server
            delivery = wait_for(delivered, timeout=20)
        finally:
            server.stop()
        received = list(receiver.received)
    assert len(received) == 2
    assert received[0].body == received[1].body
    assert received[1].signed_with(hook["secret"])
    assert received[1].json["push_data"]["tag"] == "v1"
    assert delivery["attempts"] == 2
