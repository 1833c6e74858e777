"""Failed logins are throttled per account and per address; passwords never reach a log."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support.auth import (
    PASSWORD,
    SERVICE,
    auth_client,
    auth_settings,
    basic,
    create_pat,
    create_user,
    get_token,
    hub_login,
    post_token,
    signup,
)
from tests.support.backends import AppBackend
from tests.support.servers import LiveServer

WINDOW = 300


def assert_throttled(response: httpx.Response) -> None:
    """429 with a Retry-After within the window."""
    assert response.status_code == 429, (response.status_code, response.text)
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW + 1


def hub_login_response(client: TestClient, username: str, password: str) -> httpx.Response:
    return client.post("/v2/users/login", json={"username": username, "password": password})


def test_failures_per_account(tmp_path: Path, backend: AppBackend) -> None:
    settings = auth_settings(
        backend,
        tmp_path,
        max_failures_per_account=3,
        max_failures_per_address=1000,
        failure_window_seconds=WINDOW,
    )
    with auth_client(settings) as client:
        create_user(client, "alice")
        create_user(client, "bob")
        for _ in range(3):
            response = get_token(client, [], ("alice", "wrong password"))
            assert response.status_code == 401
        # the account is locked for a while, even with the right password, on every endpoint
        response = get_token(client, [], ("alice", PASSWORD))
        assert_throttled(response)
        assert response.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
        assert "too many failed login attempts" in response.json()["errors"][0]["message"]
        assert_throttled(hub_login_response(client, "alice", PASSWORD))
        assert_throttled(
            post_token(
                client, {"grant_type": "password", "username": "alice", "password": PASSWORD}
            )
        )
        response = client.post("/v2/auth/token", json={"identifier": "alice", "secret": PASSWORD})
        assert_throttled(response)
        assert "too many failed login attempts" in response.json()["message"]
        # the account name is matched without regard to case
        assert_throttled(get_token(client, [], ("ALICE", PASSWORD)))
        # other accounts from the same address are not affected
        assert get_token(client, [], ("bob", PASSWORD)).status_code == 200
        assert hub_login_response(client, "bob", PASSWORD).status_code == 200


def test_failures_at_the_hub_login_count_too(tmp_path: Path, backend: AppBackend) -> None:
    settings = auth_settings(
        backend, tmp_path, max_failures_per_account=2, failure_window_seconds=WINDOW
    )
    with auth_client(settings) as client:
        create_user(client, "alice")
        for _ in range(2):
            response = hub_login_response(client, "alice", "wrong password")
            assert response.status_code == 401
            assert response.json()["message"] == "incorrect username or password"
        assert_throttled(hub_login_response(client, "alice", PASSWORD))
        assert_throttled(get_token(client, [], ("alice", PASSWORD)))


def test_a_success_resets_the_account_count(tmp_path: Path, backend: AppBackend) -> None:
    settings = auth_settings(
        backend, tmp_path, max_failures_per_account=3, failure_window_seconds=WINDOW
    )
    with auth_client(settings) as client:
        create_user(client, "alice")
        for _ in range(2):
            for _ in range(2):
                assert get_token(client, [], ("alice", "wrong password")).status_code == 401
            assert get_token(client, [], ("alice", PASSWORD)).status_code == 200


def test_failures_per_address(tmp_path: Path, backend: AppBackend) -> None:
    settings = auth_settings(
        backend,
        tmp_path,
        max_failures_per_account=1000,
        max_failures_per_address=4,
        failure_window_seconds=WINDOW,
    )
    with auth_client(settings) as client:
        create_user(client, "bob")
        # guessing over many accounts, even ones that do not exist
        for name in ("alice", "carol", "dave", "nosuchuser"):
            assert get_token(client, [], (name, "guess")).status_code == 401
        assert_throttled(get_token(client, [], ("bob", PASSWORD)))
        assert_throttled(hub_login_response(client, "bob", PASSWORD))
        # anonymous tokens need no login and stay available
        assert get_token(client, ["repository:bob/app:pull"]).status_code == 200


def test_failed_access_tokens_count_as_failures(tmp_path: Path, backend: AppBackend) -> None:
    settings = auth_settings(
        backend, tmp_path, max_failures_per_account=2, failure_window_seconds=WINDOW
    )
    with auth_client(settings) as client:
        create_user(client, "alice")
        for _ in range(2):
            assert get_token(client, [], ("alice", "dy_pat_guessed")).status_code == 401
        assert_throttled(get_token(client, [], ("alice", PASSWORD)))


# --- passwords stay out of logs ----------------------------------------------------------------
SECRET_PASSWORD = "Zebra-Quartz-7781-password"


def test_passwords_never_appear_in_logs(
    tmp_path: Path, backend: AppBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = auth_settings(backend, tmp_path, max_failures_per_account=4)
    with auth_client(settings) as client:
        assert signup(client, "alice", SECRET_PASSWORD).status_code == 201
        wrong = SECRET_PASSWORD + "-wrong"
        get_token(client, [], ("alice", wrong))
        hub_login_response(client, "alice", wrong)
        post_token(client, {"grant_type": "password", "username": "alice", "password": wrong})
        assert get_token(client, [], ("alice", SECRET_PASSWORD)).status_code == 200
        hub = hub_login(client, "alice", SECRET_PASSWORD)
        _id, pat = create_pat(client, hub, ["repo:read"])
        get_token(client, [], ("alice", pat))
        for _ in range(4):
            get_token(client, [], ("alice", wrong))
        assert get_token(client, [], ("alice", SECRET_PASSWORD)).status_code == 429
        audit = client.get("/v2/auditlogs/alice/", headers={"Authorization": f"Bearer {hub}"}).text
    assert "login.failed" in audit
    for secret in (
        SECRET_PASSWORD,
        pat,
        base64.b64encode(f"alice:{SECRET_PASSWORD}".encode()).decode(),
    ):
        assert secret not in caplog.text
        assert secret not in audit


def test_passwords_never_appear_in_the_server_log(tmp_path: Path, backend: AppBackend) -> None:
    server = LiveServer(
        data_dir=tmp_path / "data",
        env={**backend.env(), "DOCKYARD_AUTH__ENABLED": "true", "DOCKYARD_LOG_LEVEL": "debug"},
    ).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            response = http.post(
                "/v2/users/signup",
                json={"username": "alice", "email": "a@example.com", "password": SECRET_PASSWORD},
            )
            assert response.status_code == 201, response.text
            wrong = SECRET_PASSWORD + "-wrong"
            for password in (wrong, SECRET_PASSWORD):
                http.get(
                    "/token",
                    params={"service": SERVICE, "scope": "repository:alice/app:pull"},
                    headers=basic("alice", password),
                )
                http.post("/v2/users/login", json={"username": "alice", "password": password})
                http.post(
                    "/token",
                    data={"grant_type": "password", "username": "alice", "password": password},
                )
            assert http.get("/v2/").status_code == 401
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert "POST /v2/users/login" in log  # the access log was written
    assert SECRET_PASSWORD not in log
    assert base64.b64encode(f"alice:{SECRET_PASSWORD}".encode()).decode() not in log
