"""Registry clients per registry, with credentials looked up once from the docker config."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

import httpx

from dockyard.client.credentials import Credentials, DockerConfig
from dockyard.client.registry import Registry
from dockyard.client.retry import RetryPolicy

T = TypeVar("T")
R = TypeVar("R")


class RegistryPool:
    """One :class:`Registry` per domain, sharing the settings of a session."""

    def __init__(
        self,
        config: DockerConfig | None = None,
        *,
        insecure: bool = False,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        credentials: dict[str, Credentials] | None = None,
    ) -> None:
        self.config = config or DockerConfig()
        self.insecure = insecure
        self.retry = retry or RetryPolicy()
        self.transport = transport
        self.overrides = dict(credentials or {})
        self._registries: dict[str, Registry] = {}
        self._lock = threading.Lock()

    def credentials(self, domain: str) -> Credentials | None:
        if domain in self.overrides:
            return self.overrides[domain]
        return self.config.get(domain)

    def get(self, domain: str) -> Registry:
        with self._lock:
            registry = self._registries.get(domain)
            if registry is None:
                registry = Registry(
                    domain,
                    credentials=self.credentials(domain),
                    insecure=self.insecure,
                    retry=self.retry,
                    transport=self.transport,
                )
                self._registries[domain] = registry
            return registry

    def close(self) -> None:
        with self._lock:
            for registry in self._registries.values():
                registry.close()
            self._registries.clear()


def run_parallel(items: Iterable[T], func: Callable[[T], R], jobs: int) -> list[R]:
    """``func`` over ``items`` on ``jobs`` threads; the first failure cancels what has not run."""
    todo = list(items)
    if not todo:
        return []
    if jobs <= 1 or len(todo) == 1:
        return [func(item) for item in todo]
    with ThreadPoolExecutor(max_workers=min(jobs, len(todo))) as pool:
        futures: list[Future[R]] = [pool.submit(func, item) for item in todo]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()
        results = []
        for future in futures:
            if future.cancelled():
                continue
            results.append(future.result())
        return results
