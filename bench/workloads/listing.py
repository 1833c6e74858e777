"""Listing workloads: tags list and catalog at 10,000 entries, one page and a full walk; the
web page of a repository with 1,000 tags (Dockyard only)."""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx

from bench import aclient
from bench.client import RegistryClient, RegistryError, next_link
from bench.core import Bench, Measured, Metric, Workload
from bench.data import SmallImage, small_image
from bench.report import Target
from bench.servers import Server

TAGS_REPO = "bench/tags"
UI_TAGS_REPO = "bench/uitags"
CATALOG_PREFIX = "catalog/r"

Job = Callable[[], Awaitable[None]]


def _populate(
    bench: Bench, server: Server, make_jobs: Callable[[httpx.AsyncClient], list[Job]]
) -> aclient.Outcome:
    """Run the jobs ``make_jobs`` builds, ``populate_concurrency`` at a time; fail on errors."""
    concurrency = bench.profile.populate_concurrency

    async def run() -> aclient.Outcome:
        async with aclient.async_client(server.url, concurrency) as client:
            deadline = time.monotonic() + bench.profile.populate_seconds
            return await aclient.run_bounded(make_jobs(client), concurrency, deadline)

    outcome = asyncio.run(run())
    if outcome.errors:
        raise RegistryError(
            f"populating failed: {outcome.errors} errors, e.g. {outcome.first_errors[:2]}"
        )
    return outcome


def _time_page(client: RegistryClient, target: str, key: str, repeats: int) -> tuple[float, int]:
    """Median ms of GET ``target`` over ``repeats``; the number of entries in the page."""
    times: list[float] = []
    entries = 0
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.request("GET", target)
        times.append((time.perf_counter() - started) * 1000)
        entries = len(json.loads(response.body).get(key) or [])
    return statistics.median(times), entries


def _walk(
    client: RegistryClient, first: str, key: str, max_pages: int
) -> tuple[float, int, list[str]]:
    """Follow ``Link: <...>; rel="next"`` from ``first``: (ms, pages, entries)."""
    entries: list[str] = []
    pages = 0
    target: str | None = first
    started = time.perf_counter()
    while target is not None and pages < max_pages:
        response = client.request("GET", target)
        entries.extend(json.loads(response.body).get(key) or [])
        pages += 1
        target = next_link(response.header("link"))
    elapsed = (time.perf_counter() - started) * 1000
    if target is not None:
        raise RegistryError(f"more than {max_pages} pages: the walk did not end")
    return elapsed, pages, entries


def _measure_listing(
    bench: Bench, client: RegistryClient, path: str, key: str, expected: set[str]
) -> Measured:
    profile = bench.profile
    first = f"{path}?n={profile.page_size}"
    page_ms, page_entries = _time_page(client, first, key, profile.list_repeats)
    max_pages = len(expected) // profile.page_size + 50
    walks = []
    for _ in range(max(1, profile.list_repeats // 10)):
        walk_ms, pages, entries = _walk(client, first, key, max_pages)
        missing = expected - set(entries)
        if missing:
            raise RegistryError(
                f"the walk missed {len(missing)} entries, e.g. {sorted(missing)[:3]}"
            )
        walks.append(walk_ms)
    notes = []
    if page_entries != profile.page_size:
        notes.append(
            f"GET {first} returned {page_entries} entries, not {profile.page_size} "
            f"(the walk took {pages} page(s))"
        )
    return Measured(
        {"page_ms": page_ms, "walk_ms": statistics.median(walks)},
        {
            "page_entries": page_entries,
            "walk_pages": pages,
            "walk_entries": len(entries),
            "walk_ms_each": [round(value, 1) for value in walks],
        },
        notes,
    )


# --- tags ------------------------------------------------------------------------------------
def _measure_tags(bench: Bench, server: Server, _: object) -> Measured:
    count = bench.profile.list_tags
    image = small_image("tags")
    tags = [f"tag-{number:05d}" for number in range(count)]
    with RegistryClient("127.0.0.1", server.port) as client:
        client.push_image(TAGS_REPO, image, tags[0])

    def jobs(http: httpx.AsyncClient) -> list[Job]:
        return [_tag_job(http, image, tag) for tag in tags[1:]]

    outcome = _populate(bench, server, jobs)
    with RegistryClient("127.0.0.1", server.port) as client:
        measured = _measure_listing(bench, client, f"/v2/{TAGS_REPO}/tags/list", "tags", set(tags))
    measured.details["populate"] = {
        "tags": count,
        "seconds": round(outcome.seconds, 2),
        "manifest_puts_per_sec": round(outcome.done / outcome.seconds, 1),
    }
    return measured


def _tag_job(
    http: httpx.AsyncClient, image: SmallImage, tag: str, repository: str = TAGS_REPO
) -> Job:
    async def job() -> None:
        await aclient.put_manifest(http, repository, tag, image.manifest.data)

    return job


# --- repository web page ---------------------------------------------------------------------
def _percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (non-empty)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def _measure_ui_tags(bench: Bench, server: Server, _: object) -> Measured:
    """GET ``/r/<ns>/<repo>`` (the open registry: no session) of a repository with many tags."""
    count = bench.profile.ui_tags
    requests = bench.profile.ui_requests
    image = small_image("uitags")
    tags = [f"ui-{number:05d}" for number in range(count)]
    with RegistryClient("127.0.0.1", server.port) as client:
        client.push_image(UI_TAGS_REPO, image, tags[0])

    def jobs(http: httpx.AsyncClient) -> list[Job]:
        return [_tag_job(http, image, tag, UI_TAGS_REPO) for tag in tags[1:]]

    outcome = _populate(bench, server, jobs)
    target = f"/r/{UI_TAGS_REPO}"
    headers = {"Accept": "text/html"}
    times: list[float] = []
    size = 0
    with RegistryClient("127.0.0.1", server.port) as client:
        # One unmeasured request: it checks the page and warms the template cache.
        first = client.request("GET", target, headers=headers)
        body = first.body.decode("utf-8", "replace")
        if "text/html" not in (first.header("content-type") or "") or f"{target}/tags/" not in body:
            raise RegistryError(f"GET {target} is not the repository page with its tags")
        for _ in range(requests):
            started = time.perf_counter()
            response = client.request("GET", target, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            size = len(response.body)
    return Measured(
        {"p50_ms": _percentile(times, 0.5), "p99_ms": _percentile(times, 0.99)},
        {
            "path": target,
            "requests": requests,
            "page_bytes": size,
            "ms_each": [round(value, 1) for value in times],
            "populate": {
                "tags": count,
                "seconds": round(outcome.seconds, 2),
                "manifest_puts_per_sec": round(outcome.done / outcome.seconds, 1),
            },
        },
    )


# --- catalog ---------------------------------------------------------------------------------
def _measure_catalog(bench: Bench, server: Server, _: object) -> Measured:
    count = bench.profile.list_repos
    names = [f"{CATALOG_PREFIX}{number:05d}" for number in range(count)]
    with RegistryClient("127.0.0.1", server.port) as client:
        method = client.upload_method(names[0])

    def jobs(http: httpx.AsyncClient) -> list[Job]:
        return [_repository_job(http, name, method) for name in names]

    outcome = _populate(bench, server, jobs)
    with RegistryClient("127.0.0.1", server.port) as client:
        measured = _measure_listing(bench, client, "/v2/_catalog", "repositories", set(names))
    measured.details["populate"] = {
        "repositories": count,
        "upload_method": method,
        "seconds": round(outcome.seconds, 2),
        "repositories_per_sec": round(outcome.done / outcome.seconds, 1),
    }
    return measured


def _repository_job(http: httpx.AsyncClient, name: str, method: str) -> Job:
    """One repository: its own small config blob and a manifest naming only it."""

    async def job() -> None:
        image = small_image(name, layer_size=0)
        config = image.config
        await aclient.push_blob(
            http, name, config.digest, len(config.data), lambda: config.data, method
        )
        await aclient.put_manifest(http, name, "latest", image.manifest.data)

    return job


LISTING_NOTE = (
    "listing: page = GET ?n={page}, median of repeats; walk = follow Link rel=next from ?n={page} "
    "to the end; populated through the API first ({populate} concurrent requests)"
)

WORKLOADS = (
    Workload(
        name="ui-tags-page",
        help="web page /r/<ns>/<repo> of a repository with 1,000 tags, p50/p99 ms (Dockyard only)",
        metrics=(
            Metric(
                "p50_ms",
                "repository page at {uitags} tags p50",
                "ms",
                Target("<=", 200, kind="absolute", unit="ms"),
            ),
            Metric(
                "p99_ms",
                "repository page at {uitags} tags p99",
                "ms",
                Target("<=", 200, kind="absolute", unit="ms"),
            ),
        ),
        measure=_measure_ui_tags,
        servers=("dockyard",),
        note=(
            "ui-tags-page: {uireqs} sequential GETs of /r/<ns>/<repo> (HTML, no session: open "
            "registry) on one keep-alive connection after one warm-up; tags pushed through the API"
        ),
    ),
    Workload(
        name="tags-list",
        help="tags list at 10,000 tags: one page of 100 and a full walk (Link headers), ms",
        metrics=(
            Metric(
                "page_ms",
                "tags list page of {page} at {tags} tags",
                "ms",
                Target("<=", 20, kind="absolute", unit="ms"),
            ),
            Metric("walk_ms", "tags list full walk, {tags} tags", "ms"),
        ),
        measure=_measure_tags,
        note=LISTING_NOTE,
    ),
    Workload(
        name="catalog",
        help="catalog at 10,000 repositories: one page of 100 and a full walk, ms",
        metrics=(
            Metric("page_ms", "catalog page of {page} at {repos} repos", "ms"),
            Metric("walk_ms", "catalog full walk, {repos} repos", "ms"),
        ),
        measure=_measure_catalog,
        note=LISTING_NOTE,
    ),
)
