"""Concurrent requests with asyncio + httpx: populating tags and repositories, parallel pushes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from bench.client import SINGLE_POST, location_target, with_query
from bench.data import OCI_MANIFEST

T = TypeVar("T")


def async_client(base_url: str, connections: int, timeout: float = 300.0) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout)


async def push_blob(
    client: httpx.AsyncClient,
    repo: str,
    digest: str,
    size: int,
    content: Callable[[], bytes | AsyncIterator[bytes]],
    method: str,
) -> None:
    """Monolithic upload with ``method`` (see ``RegistryClient.upload_method``)."""
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
    if method == SINGLE_POST:
        target = with_query(f"/v2/{repo}/blobs/uploads/", digest=digest)
        response = await client.post(target, content=content(), headers=headers)
    else:
        started = await client.post(f"/v2/{repo}/blobs/uploads/")
        _expect(started, 202)
        location = location_target(started.headers["location"])
        target = with_query(location, digest=digest)
        response = await client.put(target, content=content(), headers=headers)
    _expect(response, 201)


async def put_manifest(
    client: httpx.AsyncClient, repo: str, reference: str, manifest: bytes
) -> None:
    response = await client.put(
        f"/v2/{repo}/manifests/{reference}",
        content=manifest,
        headers={"Content-Type": OCI_MANIFEST},
    )
    _expect(response, 201)


def _expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} -> "
            f"{response.status_code}: {response.text[:300]}"
        )


@dataclass
class Outcome:
    """What a batch of concurrent jobs did."""

    seconds: float = 0.0
    done: int = 0
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)


async def run_bounded(
    jobs: Sequence[Callable[[], Awaitable[None]]], concurrency: int, deadline: float
) -> Outcome:
    """Run ``jobs`` with at most ``concurrency`` at once; give up on those left at ``deadline``."""
    outcome = Outcome()
    queue = iter(jobs)
    started = time.perf_counter()

    async def worker() -> None:
        for job in queue:
            if time.monotonic() > deadline:
                outcome.errors += 1
                _note(outcome, "deadline reached before the job started")
                continue
            try:
                await job()
                outcome.done += 1
            except Exception as exc:
                outcome.errors += 1
                _note(outcome, f"{type(exc).__name__}: {exc}")

    remaining = max(1.0, deadline - time.monotonic())
    workers = [asyncio.create_task(worker()) for _ in range(max(1, concurrency))]
    gathered = asyncio.gather(*workers)
    # Interrupted (Ctrl-C) runs leave the gather cancelled: retrieve it so nothing is logged.
    gathered.add_done_callback(lambda future: future.cancelled() or future.exception())
    try:
        await asyncio.wait_for(gathered, timeout=remaining)
    except TimeoutError:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        outcome.errors += len(jobs) - outcome.done - outcome.errors
        _note(outcome, "deadline reached: unfinished jobs cancelled")
    outcome.seconds = time.perf_counter() - started
    return outcome


def _note(outcome: Outcome, message: str) -> None:
    if len(outcome.first_errors) < 5:
        outcome.first_errors.append(message)
