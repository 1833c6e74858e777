"""Blob workloads: monolithic and chunked push, GET, random ranges, 50 parallel pushes, RSS."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from bench import aclient
from bench.client import RegistryClient, RegistryError
from bench.core import Bench, Measured, Metric, Workload
from bench.data import MIB, BlobSource, StreamSource, random_bytes, sha256_digest
from bench.procs import RssSampler
from bench.report import Target
from bench.servers import Server
from bench.wrk import RANGE_SCRIPT, run_wrk

GET_REPO = "bench/blob-get"


def _client(server: Server) -> RegistryClient:
    return RegistryClient("127.0.0.1", server.port)


def _rate_details(rates: list[float], seconds: list[float]) -> dict[str, Any]:
    return {
        "mib_per_sec_each": [round(rate, 1) for rate in rates],
        "seconds_each": [round(value, 4) for value in seconds],
        "best_mib_per_sec": round(max(rates), 1),
    }


# --- push ------------------------------------------------------------------------------------
def _source(bench: Bench) -> BlobSource:
    """One buffer of ``blob_size`` random bytes for all the blob workloads of a run."""
    if "blob-source" not in bench.cache:
        bench.cache["blob-source"] = BlobSource(bench.profile.blob_size, seed="push")
    source: BlobSource = bench.cache["blob-source"]
    return source


def _measure_push_monolithic(
    bench: Bench, server: Server, source: BlobSource, number: int
) -> Measured:
    """One monolithic push of a blob new to the server (round ``number``)."""
    repo = "bench/push-monolithic"
    with _client(server) as client:
        method = client.upload_method(repo)
        data, digest = source.variant(number)
        started = time.perf_counter()
        client.push_blob(repo, data, digest)
        elapsed = time.perf_counter() - started
        if not client.blob_exists(repo, digest):
            raise RegistryError(f"pushed blob {digest} is not there")
    return Measured(
        {"mib_s": source.size / MIB / elapsed},
        {"upload_method": method, "blob_mib": source.size / MIB, "seconds": round(elapsed, 4)},
    )


def _measure_push_chunked(
    bench: Bench, server: Server, source: BlobSource, number: int
) -> Measured:
    """One chunked push of a blob new to the server (round ``number``)."""
    repo = "bench/push-chunked"
    with _client(server) as client:
        data, digest = source.variant(1000 + number)
        started = time.perf_counter()
        patches = client.push_blob_chunked(repo, data, digest, bench.profile.chunk_size)
        elapsed = time.perf_counter() - started
        if not client.blob_exists(repo, digest):
            raise RegistryError(f"pushed blob {digest} is not there")
    return Measured(
        {"mib_s": source.size / MIB / elapsed},
        {
            "blob_mib": source.size / MIB,
            "chunk_mib": bench.profile.chunk_size / MIB,
            "patches": patches,
            "seconds": round(elapsed, 4),
        },
    )


# --- GET -------------------------------------------------------------------------------------
def _ensure_get_blob(client: RegistryClient, source: BlobSource) -> tuple[memoryview, str]:
    data, digest = source.variant(2000)
    if not client.blob_exists(GET_REPO, digest):
        client.push_blob(GET_REPO, data, digest)
    return data, digest


def _measure_blob_get(bench: Bench, server: Server, source: BlobSource, number: int) -> Measured:
    """``get_repeats`` GETs of the same blob; their median rate."""
    buffer = memoryview(bytearray(source.size))
    rates: list[float] = []
    seconds: list[float] = []
    with _client(server) as client:
        _, digest = _ensure_get_blob(client, source)
        for repeat in range(bench.profile.get_repeats):
            started = time.perf_counter()
            count = client.get_blob_into(GET_REPO, digest, buffer)
            elapsed = time.perf_counter() - started
            if count != source.size:
                raise RegistryError(f"GET returned {count} bytes, expected {source.size}")
            if number == repeat == 0 and sha256_digest(buffer) != digest:
                raise RegistryError("GET returned other bytes than were pushed")
            rates.append(source.size / MIB / elapsed)
            seconds.append(elapsed)
    return Measured(
        {"mib_s": statistics.median(rates)},
        {"blob_mib": source.size / MIB, **_rate_details(rates, seconds)},
    )


def _measure_blob_range(bench: Bench, server: Server, source: BlobSource) -> Measured:
    length = bench.profile.range_size
    with _client(server) as client:
        data, digest = _ensure_get_blob(client, source)
        # Check that ranges work before loading the server with them.
        for start in (0, source.size // 3, source.size - length):
            response = client.get_range(GET_REPO, digest, start, length)
            if response.body != bytes(data[start : start + length]):
                raise RegistryError(f"Range at {start} returned other bytes")
    script = RANGE_SCRIPT.format(size=source.size, length=length, seed=12345)
    result = run_wrk(
        f"{server.url}/v2/{GET_REPO}/blobs/{digest}",
        connections=bench.profile.range_connections,
        duration=bench.profile.range_seconds,
        script=script,
    )
    return Measured(
        {
            "req_s": result.requests_per_sec,
            "mib_s": result.requests_per_sec * length / MIB,
            "p99_ms": result.p99_ms,
        },
        {"range_bytes": length, "wrk": result.summary()},
    )


# --- 50 clients at once ----------------------------------------------------------------------
def _measure_concurrent(bench: Bench, server: Server, _: object) -> Measured:
    clients = bench.profile.concurrent_clients
    size = bench.profile.concurrent_blob_size
    piece = min(MIB, size)
    base = random_bytes(size, "concurrent")
    salt = time.time_ns()
    heads = [
        f"{salt:020d}-{server.name[:4]}-{index:08d}".encode().ljust(64, b"-")
        for index in range(clients)
    ]
    digests = [sha256_digest(head, memoryview(base)[len(head) :]) for head in heads]
    with _client(server) as probe:
        method = probe.upload_method("bench/concurrent-00")

    def pusher(client: httpx.AsyncClient, index: int) -> Callable[[], Awaitable[None]]:
        head = heads[index]

        async def content() -> AsyncIterator[bytes]:
            yield head
            for offset in range(len(head), size, piece):
                yield base[offset : min(offset + piece, size)]

        async def push() -> None:
            repo = f"bench/concurrent-{index % 10:02d}"
            await aclient.push_blob(client, repo, digests[index], size, content, method)

        return push

    async def push_all() -> aclient.Outcome:
        async with aclient.async_client(server.url, clients) as client:
            jobs = [pusher(client, index) for index in range(clients)]
            # As many workers as jobs: every client starts at once.
            return await aclient.run_bounded(jobs, clients, time.monotonic() + 600)

    outcome = asyncio.run(push_all())
    pushed_mib = outcome.done * size / MIB
    return Measured(
        {"mib_s": pushed_mib / outcome.seconds, "errors": float(outcome.errors)},
        {
            "clients": clients,
            "blob_mib": size / MIB,
            "seconds": round(outcome.seconds, 3),
            "pushed": outcome.done,
            "upload_method": method,
            "first_errors": outcome.first_errors,
        },
    )


# --- memory during a large upload ------------------------------------------------------------
def _measure_rss_upload(bench: Bench, server: Server, _: object) -> Measured:
    source = StreamSource(bench.profile.rss_upload_size, seed=f"rss-{server.name}")
    repo = "bench/rss-upload"
    with _client(server) as client:
        method = client.upload_method(repo)
        with RssSampler(server.pid) as sampler:
            started = time.perf_counter()
            client.push_blob(repo, source.chunks(), source.digest, size=source.size)
            elapsed = time.perf_counter() - started
        if not client.blob_exists(repo, source.digest):
            raise RegistryError("the large blob is not there after its upload")
    return Measured(
        {"peak_rss_mib": sampler.peak_mib, "mib_s": source.size / MIB / elapsed},
        {
            "upload_mib": source.size / MIB,
            "upload_method": method,
            "rss": sampler.summary(),
        },
    )


UPLOAD_NOTE = (
    "monolithic uploads: one POST ?digest= with the body where the server takes it (Dockyard), "
    "else POST then PUT ?digest= with the body (Distribution 2.8 ignores a body on POST)"
)

WORKLOADS = (
    Workload(
        name="push-monolithic",
        help="monolithic blob push (256 MiB), MiB/s",
        metrics=(Metric("mib_s", "blob push, monolithic {blob}", "MiB/s", Target(">=", 1.5)),),
        measure_round=_measure_push_monolithic,
        rounds=lambda profile: profile.push_rounds,
        setup=_source,
        note=UPLOAD_NOTE,
    ),
    Workload(
        name="push-chunked",
        help="chunked blob push (256 MiB in 8 MiB PATCHes), MiB/s",
        metrics=(
            Metric(
                "mib_s", "blob push, chunked {blob} in {chunk} PATCHes", "MiB/s", Target(">=", 1.5)
            ),
        ),
        measure_round=_measure_push_chunked,
        rounds=lambda profile: profile.push_rounds,
        setup=_source,
    ),
    Workload(
        name="blob-get",
        help="blob GET (256 MiB), MiB/s",
        metrics=(Metric("mib_s", "blob GET {blob}", "MiB/s", Target(">=", 1.0)),),
        measure_round=_measure_blob_get,
        rounds=lambda profile: profile.get_rounds,
        setup=_source,
    ),
    Workload(
        name="blob-range",
        help="blob GET of random 1 MiB ranges (wrk), req/s and MiB/s",
        metrics=(
            Metric("req_s", "blob GET, random {range} ranges", "req/s", Target(">=", 1.0)),
            Metric("mib_s", "blob GET, random {range} ranges", "MiB/s"),
            Metric("p99_ms", "blob GET, random {range} ranges p99", "ms"),
        ),
        measure=_measure_blob_range,
        setup=_source,
    ),
    Workload(
        name="concurrent-push",
        help="50 clients pushing distinct 10 MiB blobs at once (asyncio + httpx)",
        metrics=(
            Metric("mib_s", "{clients} concurrent pushes of {cblob}", "MiB/s", Target(">=", 1.5)),
            Metric(
                "errors",
                "{clients} concurrent pushes, errors",
                "",
                Target("==", 0, kind="absolute"),
                ratio=False,
            ),
        ),
        measure=_measure_concurrent,
    ),
    Workload(
        name="rss-upload",
        help="peak server RSS (process tree) during one 2 GiB upload",
        metrics=(
            Metric(
                "peak_rss_mib",
                "peak server RSS, {rss} upload",
                "MiB",
                Target("<=", 200, kind="absolute", unit="MiB"),
            ),
            Metric("mib_s", "{rss} upload (streamed)", "MiB/s"),
        ),
        measure=_measure_rss_upload,
    ),
)
