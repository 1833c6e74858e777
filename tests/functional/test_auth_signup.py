"""Sign-up: Docker Hub's username rules, duplicates, and closing sign-up to all but the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from dockyard.cli.main import cli
from tests.support.auth import (
    PASSWORD,
    auth_client,
    auth_settings,
    get_token,
    hub_headers,
    hub_login,
    make_org,
    signup,
)
from tests.support.backends import AppBackend


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, module_backend: AppBackend
) -> Iterator[TestClient]:
    with auth_client(auth_settings(module_backend, tmp_path_factory.mktemp("signup"))) as client:
        yield client


def test_sign_up_then_log_in(client: TestClient) -> None:
    response = signup(client, "newbie42", email="Newbie42@Example.com")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == "newbie42"
    assert body["email"] == "newbie42@example.com"
    assert body["is_admin"] is False
    assert "password" not in response.text
    assert PASSWORD not in response.text
    token = hub_login(client, "newbie42")
    assert client.get("/v2/user/", headers=hub_headers(token)).json()["username"] == "newbie42"
    assert get_token(client, [], ("newbie42", PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    "username",
    [
        "abc",  # too short
        "a" * 31,  # too long
        "Alice1",  # upper case
        "al-ice",
        "al_ice",
        "al.ice",
        "alice bob",
        "ålice",
        "",
        "alice/bob",
        "alice\n",  # a trailing newline is no lowercase letter either
    ],
)
def test_username_rules(client: TestClient, username: str) -> None:
    response = signup(client, username, email="rules@example.com")
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "username must be 4 to 30 lowercase letters and digits"


@pytest.mark.parametrize("username", ["abcd", "a" * 30, "1234", "user2024"])
def test_usernames_at_the_limits_are_accepted(client: TestClient, username: str) -> None:
    response = signup(client, username)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("username", ["admin", "library", "dockyard", "root", "token", "users"])
def test_reserved_names_are_refused(client: TestClient, username: str) -> None:
    response = signup(client, username)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == f"username {username!r} is reserved"


def test_duplicates_conflict(client: TestClient) -> None:
    assert signup(client, "twin1", email="twin@example.com").status_code == 201
    again = signup(client, "twin1", email="other@example.com")
    assert again.status_code == 409, again.text
    assert "already taken" in again.json()["message"]
    same_email = signup(client, "twin2", email="TWIN@example.com")
    assert same_email.status_code == 409, same_email.text
    # users and organizations share one space of names
    make_org(client, hub_login(client, "twin1"), "twinorg")
    org_name = signup(client, "twinorg", email="org@example.com")
    assert org_name.status_code == 409, org_name.text


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"username": "emailless", "password": PASSWORD}, "email is required"),
        ({"username": "bademail", "email": "nope", "password": PASSWORD}, "invalid email"),
        (
            {"username": "nlemail", "email": "nl@example.com\n", "password": PASSWORD},
            "invalid email",
        ),
        ({"username": "shortpw", "email": "s@example.com", "password": "short"}, "at least 8"),
        ({"username": "longpw", "email": "l@example.com", "password": "x" * 1025}, "at most"),
        ({"username": 1234, "email": "n@example.com", "password": PASSWORD}, "username must be"),
        ({"email": "x@example.com", "password": PASSWORD}, "username is required"),
    ],
)
def test_sign_up_refuses_bad_input(
    client: TestClient, body: dict[str, object], fragment: str
) -> None:
    response = client.post("/v2/users/signup", json=body)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["message"]


# --- closed sign-up ----------------------------------------------------------------------------
def test_closed_sign_up_refuses_the_api_but_not_the_cli(
    tmp_path: Path, backend: AppBackend
) -> None:
    settings = auth_settings(backend, tmp_path, open_signup=False)
    with auth_client(settings) as client:
        response = signup(client, "hopeful")
        assert response.status_code == 403, response.text
        assert "sign-up is closed" in response.json()["message"]
        assert get_token(client, [], ("hopeful", PASSWORD)).status_code == 401

        runner = CliRunner()
        result = runner.invoke(
            cli,
            [
                "user",
                "create",
                "--data-dir",
                str(settings.data_dir),
                "--email",
                "ops@example.com",
                "--password-stdin",
                "--admin",
                "opsadmin",
            ],
            input=PASSWORD + "\n",
            env=backend.env(),
        )
        assert result.exit_code == 0, result.output
        assert "created user opsadmin (administrator)" in result.output
        assert PASSWORD not in result.output

        token = hub_login(client, "opsadmin")
        me = client.get("/v2/user/", headers=hub_headers(token)).json()
        assert me["username"] == "opsadmin"
        assert me["is_admin"] is True
        audit = client.get("/v2/auditlogs/_all/", headers=hub_headers(token))
        assert audit.status_code == 200
        created = [e for e in audit.json()["results"] if e["action"] == "user.create"]
        assert created[0]["actor"] == "(cli)"
        assert created[0]["account"] == "opsadmin"

        result = runner.invoke(
            cli,
            [
                "user",
                "create",
                "--data-dir",
                str(settings.data_dir),
                "--email",
                "plain@example.com",
                "--password-stdin",
                "plainuser",
            ],
            input=PASSWORD + "\n",
            env=backend.env(),
        )
        assert result.exit_code == 0, result.output
        assert "administrator" not in result.output
        assert get_token(client, [], ("plainuser", PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("Bad_Name", PASSWORD, "username must be 4 to 30 lowercase letters and digits"),
        ("admin", PASSWORD, "username 'admin' is reserved"),
        ("shorty", "short", "password must be at least 8 characters"),
    ],
)
def test_cli_applies_the_same_rules(
    tmp_path: Path, backend: AppBackend, username: str, password: str, message: str
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "user",
            "create",
            "--data-dir",
            str(tmp_path / "data"),
            "--email",
            "cli@example.com",
            "--password-stdin",
            username,
        ],
        input=password + "\n",
        env=backend.env(),
    )
    assert result.exit_code == 1, result.output
    assert message in result.output


def test_cli_refuses_a_taken_name(tmp_path: Path, backend: AppBackend) -> None:
    args = ["user", "create", "--data-dir", str(tmp_path / "data"), "--password-stdin"]
    first = CliRunner().invoke(
        cli, [*args, "--email", "a@example.com", "taken1"], input=PASSWORD + "\n", env=backend.env()
    )
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(
        cli, [*args, "--email", "b@example.com", "taken1"], input=PASSWORD + "\n", env=backend.env()
    )
    assert second.exit_code == 1
    assert "already taken" in second.output
