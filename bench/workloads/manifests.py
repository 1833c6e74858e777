"""Manifest workloads: sequential PUT, GET/HEAD by tag under load, GET with a bearer token."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

from bench.client import RegistryClient, RegistryError
from bench.core import Bench, Measured, Metric, Workload
from bench.data import MANIFEST_ACCEPT, small_image
from bench.loadgen import percentile, run_load
from bench.procs import RssSampler
from bench.report import Target
from bench.servers import DockyardServer, Server
from bench.wrk import run_wrk

GET_REPO = "bench/manifest-get"
GET_TAG = "latest"


def _client(server: Server) -> RegistryClient:
    return RegistryClient("127.0.0.1", server.port)


# --- PUT ---------------------------------------------------------------------------------------
def _measure_put(bench: Bench, server: Server, _: object) -> Measured:
    repo = "bench/manifest-put"
    image = small_image("manifest-put")
    latencies: list[float] = []
    with _client(server) as client:
        client.push_image(repo, image, "seed")
        deadline = time.monotonic() + bench.profile.manifest_put_seconds
        started = time.perf_counter()
        for number in range(bench.profile.manifest_puts):
            if time.monotonic() > deadline:
                break
            begun = time.perf_counter()
            client.put_manifest(repo, f"t{number:06d}", image.manifest.data)
            latencies.append(time.perf_counter() - begun)
        elapsed = time.perf_counter() - started
    latencies.sort()
    return Measured(
        {"req_s": len(latencies) / elapsed},
        {
            "puts": len(latencies),
            "seconds": round(elapsed, 3),
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 3),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
        },
    )


# --- GET and HEAD by tag -----------------------------------------------------------------------
def _publish_get_manifest(server: Server, client: RegistryClient) -> str:
    image = small_image("manifest-get")
    client.push_image(GET_REPO, image, GET_TAG)
    response = client.get_manifest(GET_REPO, GET_TAG)
    if response.body != image.manifest.data:
        raise RegistryError(f"{server.name} served another manifest than was pushed")
    return f"{server.url}/v2/{GET_REPO}/manifests/{GET_TAG}"


def _measure_get(bench: Bench, server: Server, _: object) -> Measured:
    profile = bench.profile
    with _client(server) as client:
        url = _publish_get_manifest(server, client)
    headers = {"Accept": MANIFEST_ACCEPT}
    with RssSampler(server.pid) as sampler:
        get = run_wrk(
            url, connections=profile.wrk_connections, duration=profile.wrk_seconds, headers=headers
        )
    head = run_load(
        url,
        method="HEAD",
        connections=profile.wrk_connections,
        duration=profile.wrk_seconds,
        headers=headers,
    )
    return Measured(
        {
            "get_req_s": get.requests_per_sec,
            "get_p50_ms": get.p50_ms,
            "get_p99_ms": get.p99_ms,
            "head_req_s": head.requests_per_sec,
            "head_p50_ms": head.p50_ms,
            "head_p99_ms": head.p99_ms,
            "peak_rss_mib": sampler.peak_mib,
        },
        {
            "get_wrk": get.summary(),
            "head_loadgen": head.summary(),
            "rss": sampler.summary(),
        },
    )


# --- GET with token authentication on a private repository -------------------------------------
USER = "benchuser"
PASSWORD = "bench-password-1234"
PRIVATE_REPO = f"{USER}/private"


@dataclass
class AuthServer:
    server: DockyardServer


def _start_auth_server(bench: Bench) -> AuthServer:
    """A second Dockyard, auth on and new repositories private, same storage settings."""
    open_server = bench.servers["dockyard"]
    assert isinstance(open_server, DockyardServer)
    server = DockyardServer(
        name="dockyard-auth",
        root=bench.workdir / "dockyard-auth",
        workers=open_server.workers,
        fsync=open_server.fsync,
        auth=True,
        extra_env={"DOCKYARD_AUTH__DEFAULT_PRIVATE": "true", "DOCKYARD_AUTH__TOKEN_TTL": "3600"},
    )
    server.root.mkdir(parents=True, exist_ok=True)
    server.create_user(USER, PASSWORD)
    server.start()
    return AuthServer(server)


def _stop_auth_server(state: AuthServer) -> None:
    state.server.stop()


def _token(server: Server, scope: str, *, basic: bool) -> str:
    headers = {}
    if basic:
        credentials = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        headers["Authorization"] = f"Basic {credentials}"
    with _client(server) as client:
        response = client.request("GET", f"/token?service=dockyard&scope={scope}", headers=headers)
    token = json.loads(response.body).get("token")
    if not isinstance(token, str) or not token:
        raise RegistryError("the token endpoint returned no token")
    return token


def _measure_auth(bench: Bench, server: Server, state: AuthServer) -> Measured:
    profile = bench.profile
    auth = state.server
    push_token = _token(auth, f"repository:{PRIVATE_REPO}:pull,push", basic=True)
    image = small_image("manifest-get-auth")
    with RegistryClient(
        "127.0.0.1", auth.port, headers={"Authorization": f"Bearer {push_token}"}
    ) as client:
        client.push_image(PRIVATE_REPO, image, GET_TAG)
    # The repository is private: an anonymous token must not read it.
    anonymous = _token(auth, f"repository:{PRIVATE_REPO}:pull", basic=False)
    with RegistryClient(
        "127.0.0.1", auth.port, headers={"Authorization": f"Bearer {anonymous}"}
    ) as client:
        denied = client.request(
            "GET",
            f"/v2/{PRIVATE_REPO}/manifests/{GET_TAG}",
            headers={"Accept": MANIFEST_ACCEPT},
            expect=(200, 401, 403, 404),
        )
    if denied.status == 200:
        raise RegistryError(f"{PRIVATE_REPO} is readable anonymously: not a private repository")
    pull_token = _token(auth, f"repository:{PRIVATE_REPO}:pull", basic=True)
    headers = {"Accept": MANIFEST_ACCEPT, "Authorization": f"Bearer {pull_token}"}
    with RegistryClient("127.0.0.1", auth.port, headers=headers) as client:
        if client.get_manifest(PRIVATE_REPO, GET_TAG).body != image.manifest.data:
            raise RegistryError("the private repository served another manifest")
    # Dockyard's anonymous figure (open registry, same load), measured right before.
    with _client(server) as client:
        anonymous_url = _publish_get_manifest(server, client)
    anon = run_wrk(
        anonymous_url,
        connections=profile.wrk_connections,
        duration=profile.wrk_seconds,
        headers={"Accept": MANIFEST_ACCEPT},
    )
    authed = run_wrk(
        f"{auth.url}/v2/{PRIVATE_REPO}/manifests/{GET_TAG}",
        connections=profile.wrk_connections,
        duration=profile.wrk_seconds,
        headers=headers,
    )
    return Measured(
        {
            "auth_req_s": authed.requests_per_sec,
            "auth_p99_ms": authed.p99_ms,
            "anon_req_s": anon.requests_per_sec,
            "anon_p99_ms": anon.p99_ms,
        },
        {
            "auth_wrk": authed.summary(),
            "anonymous_wrk": anon.summary(),
            "anonymous_token_status": denied.status,
            "auth_server_log": str(auth.log_path),
        },
    )


WORKLOADS = (
    Workload(
        name="manifest-put",
        help="sequential manifest PUT, a new tag each, req/s",
        metrics=(
            Metric("req_s", "manifest PUT (sequential, new tag)", "req/s", Target(">=", 2.0)),
        ),
        measure=_measure_put,
    ),
    Workload(
        name="manifest-get",
        help="manifest GET (wrk) and HEAD by tag, 64 connections: req/s, p50/p99, peak RSS",
        metrics=(
            Metric("get_req_s", "manifest GET by tag ({conns} conns)", "req/s", Target(">=", 2.0)),
            Metric("get_p50_ms", "manifest GET by tag p50", "ms"),
            Metric("get_p99_ms", "manifest GET by tag p99", "ms", Target("<=", 1.0)),
            Metric(
                "head_req_s", "manifest HEAD by tag ({conns} conns)", "req/s", Target(">=", 2.0)
            ),
            Metric("head_p50_ms", "manifest HEAD by tag p50", "ms"),
            Metric("head_p99_ms", "manifest HEAD by tag p99", "ms", Target("<=", 1.0)),
            Metric("peak_rss_mib", "peak server RSS, manifest GET load", "MiB"),
        ),
        measure=_measure_get,
        note=(
            "manifest GET load: wrk -t2 --latency; manifest HEAD load: bench.loadgen (wrk cannot "
            "do HEAD: its parser waits for the Content-Length body), same connections/duration"
        ),
    ),
    Workload(
        name="manifest-get-auth",
        help="manifest GET with a bearer token on a private repository (Dockyard only)",
        metrics=(
            Metric(
                "auth_req_s",
                "manifest GET, token auth, private repo",
                "req/s",
                Target(">=", 0.8),
                reference_key="anon_req_s",
                reference_label="Dockyard anonymous manifest GET measured just before",
            ),
            Metric(
                "auth_p99_ms",
                "manifest GET, token auth p99",
                "ms",
                reference_key="anon_p99_ms",
                reference_label="Dockyard anonymous manifest GET p99",
            ),
        ),
        measure=_measure_auth,
        servers=("dockyard",),
        setup=_start_auth_server,
        teardown=_stop_auth_server,
        note=(
            "token auth: a second Dockyard with auth on (DOCKYARD_AUTH__DEFAULT_PRIVATE=true), "
            "wrk with Authorization: Bearer; compared with the open Dockyard's anonymous GET"
        ),
    ),
)
