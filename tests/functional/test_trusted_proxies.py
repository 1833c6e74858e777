"""Behind a reverse proxy: X-Forwarded-* are believed from trusted proxies only."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import load_settings
from tests.support.auth import run, store
from tests.support.backends import AppBackend

PROXY = ("10.1.2.3", 40000)


def _client(backend: AppBackend, tmp_path: Path, trusted: list[str]) -> TestClient:
    settings = backend.settings(
        tmp_path / "data",
        storage={"fsync": False},
        auth={"enabled": True},
        trusted_proxies=trusted,
    )
    return TestClient(create_app(settings), client=PROXY)


def _realm(client: TestClient, headers: dict[str, str]) -> str:
    challenge = client.get("/v2/", headers=headers).headers["WWW-Authenticate"]
    return challenge.split('realm="', 1)[1].split('"', 1)[0]


FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "registry.example.com",
    "X-Forwarded-For": "203.0.113.7",
}


def test_forwarded_headers_from_a_trusted_proxy_shape_the_token_realm(
    tmp_path: Path, backend: AppBackend
) -> None:
    with _client(backend, tmp_path, ["10.0.0.0/8"]) as client:
        assert _realm(client, FORWARDED) == "https://registry.example.com/token"
        assert _realm(client, {}) == "http://testserver/token"


def test_forwarded_headers_from_anyone_else_are_ignored(
    tmp_path: Path, backend: AppBackend
) -> None:
    with _client(backend, tmp_path, ["192.168.0.0/16"]) as client:
        assert _realm(client, FORWARDED) == "http://testserver/token"
    with _client(backend, tmp_path / "none", []) as client:
        assert _realm(client, FORWARDED) == "http://testserver/token"


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        # A client may prepend anything; the proxy appends the address it saw: read from the right.
        ("1.1.1.1, 203.0.113.7", "203.0.113.7"),
        # Hops through further trusted proxies are skipped.
        ("203.0.113.7, 10.9.9.9", "203.0.113.7"),
    ],
)
def test_client_address_is_the_first_untrusted_hop(
    tmp_path: Path, backend: AppBackend, forwarded_for: str, expected: str
) -> None:
    """Failed logins are throttled per address: the address must be the client's, not nginx's."""
    settings = backend.settings(
        tmp_path / "data",
        storage={"fsync": False},
        auth={"enabled": True, "max_failures_per_address": 1, "max_failures_per_account": 100},
        trusted_proxies=["10.0.0.0/8"],
    )
    with TestClient(create_app(settings), client=PROXY) as client:
        wrong = ("someone", "wrong-password")
        first = client.get("/token", auth=wrong, headers={"X-Forwarded-For": forwarded_for})
        assert first.status_code == 401
        again = client.get("/token", auth=wrong, headers={"X-Forwarded-For": forwarded_for})
        assert again.status_code == 429
        # Another client behind the same proxy is not throttled by the first one's failures.
        other = client.get("/token", auth=wrong, headers={"X-Forwarded-For": "198.51.100.9"})
        assert other.status_code == 401
        _total, events = run(
            client,
            functools.partial(store(client).audit_events, namespace="someone", offset=0, limit=10),
        )
        addresses = [e.actor_ip for e in events if e.action == "login.failed"]
        assert addresses.count(expected) == 1
        assert "198.51.100.9" in addresses
        assert PROXY[0] not in addresses


def test_trusted_proxies_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_TRUSTED_PROXIES", '["10.0.0.0/8", "::1"]')
    settings = load_settings()
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "::1/128"]
