"""Pure parts of webhooks: URL rules, signatures, payloads, retry timing, settings."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import ValidationError

from dockyard.config import Settings
from dockyard.hub.errors import ValidationFailed
from dockyard.hub.hookshot import DeliveryPolicy, Hookshot
from dockyard.hub.webhooks import check_url, encode, event_payload, signature
from dockyard.metadata.webhook_store import ClaimedDelivery, RepositorySummary, WebhookStore


@pytest.mark.parametrize(
    "url",
    [
        "http://ci.example.com/hook",
        "https://ci.example.com:8443/hooks/dockyard?token=abc",
        "http://127.0.0.1:8080/",
        "http://[::1]:9000/x",
        "HTTPS://Example.COM",
    ],
)
def test_acceptable_urls(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.com/",
        "example.com/hook",
        "//example.com/hook",
        "http://user:pass@example.com/",
        "http://user@example.com/",
        "http://:pass@example.com/",
        "http:///nohost",
        "http://example.com:70000/",
        "http://example.com:0/",
        "http://exa mple.com/",
        "http://example.com/\x00",
        "http://example.com/" + "x" * 2048,
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(ValidationFailed):
        check_url(url)


def test_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"k" * 20, body, hashlib.sha256).hexdigest()
    assert signature("k" * 20, body) == f"sha256={expected}"


def test_push_payload_is_docker_hubs() -> None:
    repo = RepositorySummary(
        1, "library/nginx", "library", "web", "long", False, 7, datetime(2024, 1, 2, tzinfo=UTC)
    )
    payload = json.loads(
        encode(
            event_payload(
                repo,
                "push",
                pusher="root",
                tag="1.27",
                pushed_at=1_700_000_000,
                callback="https://hub.test/cb/",
                base_url="https://hub.test",
            )
        )
    )
    assert payload == {
        "callback_url": "https://hub.test/cb/",
        "push_data": {"pushed_at": 1_700_000_000, "pusher": "root", "tag": "1.27", "images": []},
        "repository": {
            "repo_name": "library/nginx",
            "name": "nginx",
            "namespace": "library",
            "owner": "library",
            "description": "web",
            "full_description": "long",
            "is_private": False,
            "is_official": True,
            "star_count": 7,
            "comment_count": 0,
            "date_created": 1704153600,
            "status": "Active",
            "repo_url": "https://hub.test/_/nginx",
            "dockerfile": "",
        },
    }


def test_retry_delays_follow_the_backoff_then_give_up() -> None:
    policy = DeliveryPolicy(backoff=(1, 5), max_attempts=4)
    assert [policy.retry_delay(n) for n in range(1, 6)] == [1, 5, 5, None, None]
    assert DeliveryPolicy(max_attempts=1).retry_delay(1) is None


def test_settings_defaults_and_checks() -> None:
    hooks = Settings().webhooks
    assert hooks.enabled
    assert hooks.backoff == [10, 30, 120, 600, 3600]
    assert hooks.max_attempts == 6
    assert hooks.timeout == 10
    with pytest.raises(ValidationError, match="lease_seconds"):
        Settings(webhooks={"timeout": 30, "lease_seconds": 20})
    with pytest.raises(ValidationError):
        Settings(webhooks={"backoff": []})
    with pytest.raises(ValidationError, match="negative"):
        Settings(webhooks={"backoff": [1, -1]})


class Endless(httpx.AsyncByteStream):
    """A response body that never ends."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            yield b"E" * 1000


async def test_send_reads_a_capped_body_and_never_raises() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/big":
            return httpx.Response(500, stream=Endless())
        if request.url.path == "/small":
            return httpx.Response(503, content=b"busy\n\x1b[31m")
        if request.url.path == "/moved":
            return httpx.Response(301, headers={"Location": "http://other.test/"})
        raise httpx.ConnectError("refused", request=request)

    policy = DeliveryPolicy(max_response_bytes=16)
    shot = Hookshot(WebhookStore(None), policy, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    try:

        def delivery(path: str) -> ClaimedDelivery:
            return ClaimedDelivery("d-1", 1, "push", '{"x":1}', 1, f"http://r.test{path}", "s" * 16)

        big = await shot.send(delivery("/big"))
        assert (big.delivered, big.response_code) == (False, 500)
        assert big.error == "HTTP 500: " + "E" * 16
        small = await shot.send(delivery("/small"))
        assert (small.delivered, small.response_code) == (False, 503)
        assert small.error == "HTTP 503: busy  [31m"  # control characters neutralized
        moved = await shot.send(delivery("/moved"))
        assert (moved.delivered, moved.response_code) == (False, 301)
        assert "redirects are not followed" in moved.error
        refused = await shot.send(delivery("/down"))
        assert (refused.delivered, refused.response_code) == (False, None)
        assert refused.error.startswith("ConnectError")
    finally:
        await shot.stop()
    assert len(seen) == 4  # the redirect was not followed
    request = seen[0]
    assert request.headers["x-dockyard-signature"] == signature("s" * 16, b'{"x":1}')
    assert request.headers["x-dockyard-delivery"] == "d-1"
    assert request.headers["user-agent"] == "Dockyard-Hookshot/1"
    assert request.content == b'{"x":1}'


class RecordingStore:
    """Stands in for WebhookStore: remembers what ``finish`` was told."""

    def __init__(self) -> None:
        self.finished: list[dict[str, object]] = []

    async def finish(self, delivery_id: str, attempts: int, **outcome: object) -> bool:
        self.finished.append({"id": delivery_id, "attempts": attempts, **outcome})
        return True


async def test_a_delivery_past_max_attempts_is_given_up_unsent() -> None:
    """Attempts whose nodes died still count: no endless retries."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("must not be sent")

    store = RecordingStore()
    policy = DeliveryPolicy(max_attempts=3)
    shot = Hookshot(store, policy, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    try:
        await shot._deliver(ClaimedDelivery("d-9", 1, "push", "{}", 4, "http://r.test/", "s" * 16))
    finally:
        await shot.stop()
    [finished] = store.finished
    assert finished["delivered"] is False
    assert finished["retry_at"] is None
    assert "gave up" in str(finished["error"])
