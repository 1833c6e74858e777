"""Pull rate limits seen by the real ``docker pull``: the limit holds, then 429."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import AUTH_ON, registry_token, sign_up
from tests.support.docker_engine import DockerEngine, write_busybox_context
from tests.support.servers import LiveServer
from tests.support.tools import run

pytestmark = pytest.mark.realclient

LIMIT = 2


@pytest.fixture
def limited_registry(tmp_path: Path) -> Iterator[LiveServer]:
    """Auth on, anonymous pulls limited to ``LIMIT`` manifest GETs per hour."""
    env = {
        **AUTH_ON,
        "DOCKYARD_RATE_LIMIT__ENABLED": "true",
        "DOCKYARD_RATE_LIMIT__ANONYMOUS_PULLS": str(LIMIT),
        "DOCKYARD_RATE_LIMIT__AUTHENTICATED_PULLS": "100",
        "DOCKYARD_RATE_LIMIT__WINDOW_SECONDS": "3600",
    }
    server = LiveServer(data_dir=tmp_path / "data", env=env).start()
    yield server
    server.stop()


def test_docker_pull_sees_rate_limit_headers_then_429(
    docker_engine: DockerEngine, limited_registry: LiveServer, tmp_path: Path
) -> None:
    account = sign_up(limited_registry, "rate")
    repo = f"{limited_registry.host}/{account.username}/limited"
    config = tmp_path / "docker-config"
    config.mkdir()
    env = {**docker_engine.env, "DOCKER_CONFIG": str(config)}

    def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([docker_engine.docker_cli, *args], env=env, timeout=300, check=check)

    # Distinct images, so every pull fetches a manifest the engine has not seen.
    refs = [f"{repo}:v{i}" for i in range(LIMIT + 2)]
    docker("login", "-u", account.username, "-p", account.password, limited_registry.host)
    for i, ref in enumerate(refs):
        context = write_busybox_context(tmp_path / f"ctx{i}", cmd=["/bin/busybox", "echo", str(i)])
        docker_engine.build(context, ref)
        docker("push", ref)
        docker("rmi", "--force", ref)
    docker("logout", limited_registry.host)
    try:
        # The headers, as an anonymous HEAD (which does not count) shows them.
        token = registry_token(limited_registry, None, f"{account.username}/limited", "pull")
        head = httpx.head(
            f"{limited_registry.url}/v2/{account.username}/limited/manifests/v0",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.docker.distribution.manifest.v2+json",
            },
        )
        assert head.headers["ratelimit-limit"] == f"{LIMIT};w=3600"
        assert head.headers["ratelimit-remaining"] == f"{LIMIT};w=3600"
        outputs = []
        for each in refs:
            result = docker("pull", each, check=False)
            outputs.append((result.returncode, result.stdout + result.stderr))
        assert outputs[0][0] == 0, outputs[0][1]
        refused = [out for code, out in outputs if code != 0]
        assert refused, outputs
        assert "toomanyrequests" in refused[-1].lower(), refused[-1]
        head = httpx.head(
            f"{limited_registry.url}/v2/{account.username}/limited/manifests/v0",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert head.headers["ratelimit-remaining"] == "0;w=3600"
    finally:
        docker("rmi", "--force", *refs, check=False)
