"""Retrying transient failures with exponential backoff (and ``Retry-After`` when given)."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from dockyard.client.errors import RegistryError, Unreachable

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: ``attempts`` tries in all."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), 60.0)
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return float(backoff * (0.75 + random.random() / 2))


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) in seconds; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def is_transient(exc: BaseException) -> bool:
    """Connection trouble, 5xx and 429 are worth another try; nothing else is."""
    if isinstance(exc, RegistryError):
        return exc.transient
    return isinstance(exc, (Unreachable, httpx.TransportError))


def with_retries(
    func: Callable[[], T],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """Call ``func`` until it succeeds, fails for good, or the attempts run out."""
    attempt = 1
    while True:
        try:
            return func()
        except Exception as exc:
            if attempt >= policy.attempts or not is_transient(exc):
                raise
            retry_after = exc.retry_after if isinstance(exc, RegistryError) else None
            wait = policy.delay(attempt, retry_after)
            if on_retry is not None:
                on_retry(exc, wait)
            policy.sleep(wait)
            attempt += 1
