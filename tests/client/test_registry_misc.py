"""Search, ``--insecure`` fallback, and the CLI's one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from dockyard.cli.main import cli
from dockyard.client.api import server_domain, split_search_term
from dockyard.client.errors import Unreachable
from dockyard.client.registry import Registry
from dockyard.client.retry import RetryPolicy

NO_WAIT = RetryPolicy(attempts=2, sleep=lambda _: None)


def test_search_results_as_docker_shows_them() -> None:
    seen: list[httpx.URL] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path == "/v2/":
            return httpx.Response(200, json={})
        return httpx.Response(
            200,
            json={
                "num_results": 2,
                "query": "busy",
                "results": [
                    {
                        "name": "library/busybox",
                        "description": "Busybox base image.",
                        "star_count": 3,
                        "is_official": True,
                        "is_automated": False,
                    },
                    {"name": "alice/busy", "description": None, "star_count": 0},
                ],
            },
        )

    registry = Registry("registry.test", transport=httpx.MockTransport(handle), retry=NO_WAIT)
    results = registry.search("busy", limit=10)
    assert [r.name for r in results] == ["library/busybox", "alice/busy"]
    assert results[0].is_official
    assert not results[1].is_automated
    assert results[1].description == ""
    assert seen[-1].params["q"] == "busy"
    assert seen[-1].params["n"] == "10"


def test_search_terms_name_their_registry_like_docker() -> None:
    assert split_search_term("busybox") == ("index.docker.io", "busybox")
    assert split_search_term("alice/app") == ("index.docker.io", "alice/app")
    assert split_search_term("127.0.0.1:5000/app") == ("127.0.0.1:5000", "app")
    assert split_search_term("localhost/app") == ("localhost", "app")


def test_login_server_names() -> None:
    assert server_domain(None) == "docker.io"
    assert server_domain("https://index.docker.io/v1/") == "docker.io"
    assert server_domain("http://127.0.0.1:5000/v2/") == "127.0.0.1:5000"
    assert server_domain("registry.example.com") == "registry.example.com"


def test_insecure_falls_back_to_plain_http() -> None:
    schemes: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        schemes.append(request.url.scheme)
        if request.url.scheme == "https":
            raise httpx.ConnectError("TLS handshake failed")
        return httpx.Response(200, json={"name": "app", "tags": ["1"]})

    secure = Registry("registry.test:5000", transport=httpx.MockTransport(handle), retry=NO_WAIT)
    with pytest.raises(Unreachable, match="cannot reach registry"):
        secure.tags("app")
    schemes.clear()
    insecure = Registry(
        "registry.test:5000", insecure=True, transport=httpx.MockTransport(handle), retry=NO_WAIT
    )
    assert insecure.tags("app") == ["1"]
    assert schemes[0] == "https"
    assert schemes[-2:] == ["http", "http"], "ping and tags list over plain HTTP"
    local = Registry("127.0.0.1:5000", transport=httpx.MockTransport(handle), retry=NO_WAIT)
    assert local.base_url == "http://127.0.0.1:5000"


def test_cli_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "cfg"))
    runner = CliRunner()
    for args, expected in [
        (["pull", "127.0.0.1:9/app:1"], "cannot reach registry 127.0.0.1:9"),
        (["push", "127.0.0.1:9/app:1"], "is not in the local store"),
        (["pull", "Bad:Name"], "must be lowercase"),
        (["rmi", "nothing:here"], "not in the local store"),
        (["load", "-i", str(tmp_path)], "is a directory"),
    ]:
        result = runner.invoke(cli, args)
        assert result.exit_code in (1, 2), (args, result.output)
        if result.exit_code == 1:
            assert result.output.strip().splitlines()[-1].startswith("Error: ")
            assert expected in result.output, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_images_lists_an_empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli, ["images", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
