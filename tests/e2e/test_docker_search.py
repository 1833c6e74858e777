"""``docker search 127.0.0.1:PORT/term`` against Dockyard with authentication on.

The Docker daemon runs the search: logged out it calls ``/v1/search`` anonymously; after
``docker login`` (a refresh token stored as ``identitytoken``) it fetches a registry token for
``registry:catalog:search`` and sends it as a bearer token, so the user's private
repositories are found too. Content is made through the Hub API (and the admin CLI).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import AUTH_ON, Account, sign_up
from tests.support.docker_engine import DockerEngine, docker_clis
from tests.support.servers import LiveServer
from tests.support.tools import run

pytestmark = pytest.mark.realclient

FORMAT = "{{.Name}}|{{.StarCount}}|{{.IsOfficial}}|{{.Description}}"
ADMIN_PASSWORD = "admin-Secret-9"


@dataclass
class Content:
    server: LiveServer
    alice: Account
    bob: Account


def create_admin(server: LiveServer, username: str) -> str:
    """A site administrator made with ``dockyard user create --admin``; a Hub token of it."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "dockyard",
            "user",
            "create",
            username,
            "--email",
            f"{username}@example.test",
            "--password-stdin",
            "--admin",
            "--data-dir",
            str(server.data_dir),
        ],
        input=ADMIN_PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        env={**os.environ, **AUTH_ON},
    )
    response = httpx.post(
        f"{server.url}/v2/users/login",
        json={"username": username, "password": ADMIN_PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Content]:
    server = LiveServer(data_dir=tmp_path_factory.mktemp("search") / "data", env=dict(AUTH_ON))
    server.start()
    try:
        root = create_admin(server, "siteroot")
        with httpx.Client(base_url=server.url, timeout=30) as http:
            response = http.post(
                "/v2/repositories/",
                json={"namespace": "library", "name": "websrv", "description": "Official web"},
                headers={"Authorization": f"Bearer {root}"},
            )
            assert response.status_code == 201, response.text
        alice, bob = sign_up(server, "alice"), sign_up(server, "bob")
        for name, private, description in (
            ("webapp", False, "A web app"),
            ("hiddenweb", True, "Private web"),
            ("notes", False, "Nothing to see"),
        ):
            alice.call(
                "POST",
                "/v2/repositories/",
                {
                    "namespace": alice.username,
                    "name": name,
                    "is_private": private,
                    "description": description,
                },
                expect=201,
            )
        bob.call("POST", f"/v2/repositories/{alice.username}/webapp/stars/", expect=201)
        yield Content(server, alice, bob)
    finally:
        server.stop()


def search(
    engine: DockerEngine, config: Path, term: str, *extra: str, cli: str | None = None
) -> list[list[str]]:
    """``docker search --format`` rows: name, stars, official, description."""
    env = {**engine.env, "DOCKER_CONFIG": str(config)}
    result = run(
        [cli or engine.docker_cli, "search", "--no-trunc", "--format", FORMAT, *extra, term],
        env=env,
        timeout=120,
    )
    return [line.split("|", 3) for line in result.stdout.splitlines() if line.strip()]


def test_docker_search_logged_out_finds_public_repositories(
    docker_engine: DockerEngine, content: Content, tmp_path: Path
) -> None:
    host, alice = content.server.host, content.alice.username
    for cli in docker_clis():
        rows = search(docker_engine, tmp_path / "anonymous", f"{host}/web", cli=cli)
        # (the 20.10 CLI re-sorts by stars; newer ones keep the server's ranking)
        found = {row[0]: row for row in rows}
        assert sorted(found) == sorted(["websrv", f"{alice}/webapp"]), (cli, rows)
        websrv, webapp = found["websrv"], found[f"{alice}/webapp"]
        assert websrv[1] == "0"
        assert websrv[2] in ("true", "[OK]")
        assert websrv[3] == "Official web"
        assert webapp[1] == "1"
        assert webapp[2] in ("false", "")
        assert webapp[3] == "A web app"
    ranked = search(docker_engine, tmp_path / "anonymous", f"{host}/web")
    assert [row[0] for row in ranked] == ["websrv", f"{alice}/webapp"]


def test_docker_search_limit_and_filters(
    docker_engine: DockerEngine, content: Content, tmp_path: Path
) -> None:
    host = content.server.host
    config = tmp_path / "anonymous"
    assert [r[0] for r in search(docker_engine, config, f"{host}/web", "--limit", "1")] == [
        "websrv"
    ]
    official = search(docker_engine, config, f"{host}/web", "--filter", "is-official=true")
    assert [r[0] for r in official] == ["websrv"]
    starred = search(docker_engine, config, f"{host}/web", "--filter", "stars=1")
    assert [r[0] for r in starred] == [f"{content.alice.username}/webapp"]
    assert search(docker_engine, config, f"{host}/nothingmatches") == []


def test_docker_search_after_login_finds_own_private_repositories(
    docker_engine: DockerEngine, content: Content, tmp_path: Path
) -> None:
    host, alice = content.server.host, content.alice
    config = tmp_path / "alice"
    config.mkdir()
    env = {**docker_engine.env, "DOCKER_CONFIG": str(config)}
    login = [docker_engine.docker_cli, "login", "-u", alice.username, "-p", alice.password, host]
    run(login, env=env, timeout=120)
    rows = search(docker_engine, config, f"{host}/web")
    assert [r[0] for r in rows] == [
        "websrv",
        f"{alice.username}/webapp",
        f"{alice.username}/hiddenweb",
    ]
    # bob, logged in, does not see alice's private repository
    bob_config = tmp_path / "bob"
    bob_config.mkdir()
    bob_env = {**docker_engine.env, "DOCKER_CONFIG": str(bob_config)}
    bob = content.bob
    login = [docker_engine.docker_cli, "login", "-u", bob.username, "-p", bob.password, host]
    run(login, env=bob_env, timeout=120)
    assert [r[0] for r in search(docker_engine, bob_config, f"{host}/web")] == [
        "websrv",
        f"{alice.username}/webapp",
    ]
