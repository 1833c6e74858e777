"""``WWW-Authenticate`` parsing and the retry policy."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from dockyard.client.auth import parse_challenges
from dockyard.client.errors import NotFound, RegistryError, Unreachable
from dockyard.client.retry import RetryPolicy, retry_after_seconds, with_retries


def test_bearer_challenge() -> None:
    [challenge] = parse_challenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull repository:a/b:pull,push",'
        'error="insufficient_scope"'
    )
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.service == "registry.docker.io"
    assert challenge.scopes == ("repository:library/busybox:pull", "repository:a/b:pull,push")
    assert challenge.params["error"] == "insufficient_scope"


def test_several_challenges_and_basic() -> None:
    found = parse_challenges('Basic realm="basic-realm", Bearer realm="http://x/token"')
    assert [c.scheme for c in found] == ["basic", "bearer"]
    assert found[0].realm == "basic-realm"
    assert parse_challenges("") == []
    assert parse_challenges('Bearer realm="a\\"b"')[0].realm == 'a"b'


def test_retry_after_values() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after_seconds(later) or 0) <= 31


def test_transient_failures_are_retried_with_backoff() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=4, base_delay=1.0, sleep=sleeps.append)
    failures = [
        Unreachable("down"),
        RegistryError("busy", status=503),
        RegistryError("slow down", status=429, retry_after=7),
    ]

    def flaky() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    assert with_retries(flaky, policy) == "ok"
    assert 0.75 <= sleeps[0] <= 1.25
    assert 1.5 <= sleeps[1] <= 2.5
    assert sleeps[2] == 7


def test_permanent_failures_are_not_retried() -> None:
    sleeps: list[float] = []
    calls = []

    def missing() -> None:
        calls.append(1)
        raise NotFound("nope")

    with pytest.raises(NotFound):
        with_retries(missing, RetryPolicy(sleep=sleeps.append))
    assert calls == [1]
    assert sleeps == []


def test_attempts_run_out() -> None:
    sleeps: list[float] = []

    def broken() -> None:
        raise httpx.ConnectError("refused")

    with pytest.raises(httpx.ConnectError):
        with_retries(broken, RetryPolicy(attempts=3, sleep=sleeps.append))
    assert len(sleeps) == 2
