"""The webhook delivery worker: claims due deliveries from the outbox, sends them, records results.

Every node may run one. Claims are atomic (see :mod:`dockyard.metadata.webhook_store`), so
several nodes never send the same attempt twice; a delivery whose node died mid-flight is sent
again once its lease runs out. Requests are signed (``X-Dockyard-Signature``) and go straight
through an httpx *transport*, not a client: no redirects followed, nothing taken from the
server's environment (proxies, ``.netrc`` credentials), no cookies kept, and no request log line
(httpx's client logs every URL at INFO, and webhook URLs often carry tokens). At most
``max_response_bytes`` of a response are read, and one attempt lasts at most ``timeout`` seconds.
httpx is imported with the first delivery: a server without webhooks never loads it (4.6 MiB).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from dockyard.background import BackgroundTask
from dockyard.hub.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    USER_AGENT,
    signature,
)
from dockyard.metadata.store import utcnow
from dockyard.metadata.webhook_store import ClaimedDelivery, WebhookStore

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("dockyard.webhooks")

#: How often finished deliveries older than the retention are deleted, in seconds.
PRUNE_INTERVAL = 3600.0
#: Longest response excerpt kept in a delivery's ``error``.
ERROR_EXCERPT = 200


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Timing and limits of deliveries (from the ``[webhooks]`` settings)."""

    timeout: float = 10.0
    backoff: tuple[float, ...] = (10, 30, 120, 600, 3600)
    max_attempts: int = 6
    lease_seconds: float = 60.0
    batch_size: int = 20
    max_response_bytes: int = 64 * 1024
    poll_interval: float = 2.0
    history_days: int = 30

    def retry_delay(self, attempts: int) -> float | None:
        """Seconds to wait after ``attempts`` failed attempts; None once they are used up."""
        if attempts >= self.max_attempts:
            return None
        return self.backoff[min(attempts, len(self.backoff)) - 1]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt produced."""

    delivered: bool
    response_code: int | None
    error: str


class Hookshot:
    """Delivers webhook events in the background; :meth:`wake` makes it look at once."""

    def __init__(
        self,
        store: WebhookStore,
        policy: DeliveryPolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self._given_transport = transport
        self._transport: httpx.AsyncBaseTransport | None = None
        self._background = BackgroundTask(self._run)
        self._wakeup = asyncio.Event()
        self._next_prune = 0.0

    def _http(self) -> httpx.AsyncBaseTransport:
        import httpx

        if self._transport is None:
            self._transport = self._given_transport or httpx.AsyncHTTPTransport(
                limits=httpx.Limits(max_connections=self.policy.batch_size),
                trust_env=False,
            )
        return self._transport

    def wake(self) -> None:
        """Look for due deliveries now (events were just recorded)."""
        self._wakeup.set()

    def start(self) -> None:
        """Run the delivery loop in the background."""
        self._background.start()

    async def stop(self) -> None:
        """Stop the loop. Deliveries in flight are retried once their lease runs out."""
        await self._background.stop()
        if self._transport is not None:
            await self._transport.aclose()
            self._transport = None

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and send them concurrently; how many there were."""
        claimed = await self.store.claim(
            limit=self.policy.batch_size, lease=timedelta(seconds=self.policy.lease_seconds)
        )
        results = await asyncio.gather(
            *(self._deliver(delivery) for delivery in claimed), return_exceptions=True
        )
        for delivery, result in zip(claimed, results, strict=True):
            if isinstance(result, Exception):
                # Not recorded: the delivery is tried again when its lease runs out.
                log.error(
                    "webhook %d delivery %s: could not record the attempt: %r",
                    delivery.webhook_id,
                    delivery.id,
                    result,
                )
        return len(claimed)

    async def _run(self) -> None:
        while True:
            handled = 0
            try:
                handled = await self.run_once()
                await self._prune()
            except Exception:
                log.exception("webhook delivery round failed; retrying")
            if handled >= self.policy.batch_size:
                continue  # more may be due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.policy.poll_interval)
            self._wakeup.clear()

    async def _prune(self) -> None:
        if not self.policy.history_days or time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_INTERVAL
        removed = await self.store.prune(utcnow() - timedelta(days=self.policy.history_days))
        if removed:
            log.info(
                "deleted %d webhook deliveries older than %d days",
                removed,
                self.policy.history_days,
            )

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        if delivery.attempts > self.policy.max_attempts:
            # Earlier attempts' nodes died before recording them; do not retry forever.
            outcome = Outcome(False, None, "gave up: earlier attempts were never completed")
        else:
            outcome = await self.send(delivery)
        retry_at = None
        if not outcome.delivered:
            delay = self.policy.retry_delay(delivery.attempts)
            retry_at = None if delay is None else utcnow() + timedelta(seconds=delay)
        recorded = await self.store.finish(
            delivery.id,
            delivery.attempts,
            delivered=outcome.delivered,
            response_code=outcome.response_code,
            error=outcome.error,
            retry_at=retry_at,
        )
        state = "delivered" if outcome.delivered else "retry scheduled" if retry_at else "gave up"
        # Never the secret, nor the URL (its path or query often carries a token).
        log.info(
            "webhook %d delivery %s (%s) attempt %d: %s%s%s",
            delivery.webhook_id,
            delivery.id,
            delivery.event,
            delivery.attempts,
            outcome.response_code
            if outcome.response_code is not None
            else outcome.error.split(":", 1)[0],  # the kind only: messages may quote the URL
            f", {state}",
            "" if recorded else " (not recorded: claimed again or webhook gone)",
        )

    async def send(self, delivery: ClaimedDelivery) -> Outcome:
        """POST the payload once, signed; never raises for network or HTTP failures."""
        import httpx

        body = delivery.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: delivery.id,
            SIGNATURE_HEADER: signature(delivery.secret, body),
        }
        try:
            async with asyncio.timeout(self.policy.timeout):
                request = httpx.Request(
                    "POST",
                    delivery.url,
                    content=body,
                    headers=headers,
                    extensions={"timeout": httpx.Timeout(self.policy.timeout).as_dict()},
                )
                response = await self._http().handle_async_request(request)
                try:
                    excerpt = await self._read_capped(response)
                finally:
                    await response.aclose()
        except TimeoutError:
            return Outcome(False, None, f"timed out after {self.policy.timeout:g} s")
        except httpx.TimeoutException as exc:
            return Outcome(False, None, f"timed out ({type(exc).__name__})")
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:512])
        except Exception as exc:  # a bug or an odd URL: record it rather than retry forever
            log.warning(
                "webhook %d delivery %s: unexpected %s",
                delivery.webhook_id,
                delivery.id,
                type(exc).__name__,
            )
            return Outcome(False, None, f"unexpected error: {type(exc).__name__}")
        code = response.status_code
        if 200 <= code < 300:
            return Outcome(True, code, "")
        if response.is_redirect:
            return Outcome(False, code, f"HTTP {code}: redirects are not followed")
        text = excerpt[:ERROR_EXCERPT].decode("utf-8", "replace")
        text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
        return Outcome(False, code, f"HTTP {code}" + (f": {text}" if text else ""))

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """At most ``max_response_bytes`` of the body; the rest is never read."""
        limit = self.policy.max_response_bytes
        if response.is_stream_consumed:  # a transport that answered with the body in memory
            return response.content[:limit]
        data = bytearray()
        if limit > 0:
            async for chunk in response.aiter_raw():
                data += chunk
                if len(data) >= limit:
                    break
        return bytes(data[:limit])
