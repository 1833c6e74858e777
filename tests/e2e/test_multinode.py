"""Several Dockyard nodes behind nginx: one PostgreSQL database, one S3 bucket, one signing key.

The module starts a throwaway PostgreSQL cluster (the session fixture), a ``moto_server`` S3
endpoint, two ``dockyard serve`` nodes with authentication on and nginx doing round-robin to
both, all on 127.0.0.1. The tests check what a multi-node deployment promises
(``docs/deploy.md``):

- the real ``docker`` CLI logs in, pushes and pulls through the load balancer;
- a chunked upload whose ``PATCH`` requests alternate between the nodes completes;
- a node killed (SIGKILL) in the middle of a ``PATCH`` loses nothing already stored: the client
  resumes from the ``Range`` the other node reports;
- a tag moved on one node is seen on the other within the manifest cache bound (1 s).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.accounts import Account, registry_token, unique_name
from tests.support.docker_engine import DockerEngine, write_busybox_context
from tests.support.images import upload_blob
from tests.support.postgres import PostgresCluster
from tests.support.s3 import MotoServer
from tests.support.servers import LiveServer, free_port
from tests.support.tools import run

pytestmark = pytest.mark.realclient

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MIB = 1024 * 1024


def nginx_binary() -> str | None:
    """The nginx executable (Debian package ``nginx``), or None."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )


NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 512; }}
http {{
    log_format upstream '$request_method $uri $status upstream=$upstream_addr';
    access_log {dir}/access.log upstream;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    upstream dockyard {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://dockyard;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 900s;
            proxy_send_timeout 900s;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    """An nginx in the foreground (``daemon off``), its own process group, round-robin."""

    binary: str
    directory: Path
    upstreams: list[str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self, timeout: float = 20.0) -> Nginx:
        self.directory.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server {upstream};" for upstream in self.upstreams)
        conf = self.directory / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.directory, servers=servers, port=self.port))
        log = (self.directory / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "-p", str(self.directory), "-c", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not start: {self.error_log()}")

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def access_log(self) -> str:
        path = self.directory / "access.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        """SIGQUIT (graceful), then SIGKILL to the process group; only this nginx."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self.process = None


@dataclass
class Cluster:
    """Two nodes on one database and bucket, nginx in front, and a signed-up user."""

    node_a: LiveServer
    node_b: LiveServer
    nginx: Nginx
    account: Account

    def token(self, repository: str, actions: str = "push,pull") -> str:
        credentials = (self.account.username, self.account.password)
        return registry_token(self.node_a, credentials, repository, actions)


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_cluster: PostgresCluster,
    postgres_template: str,
    moto_server: MotoServer,
) -> Iterator[Cluster]:
    """PostgreSQL + moto S3 + two Dockyard nodes + nginx, all on 127.0.0.1."""
    binary = nginx_binary()
    require_tool(binary is not None, "nginx (Debian package nginx)")
    assert binary is not None
    root = tmp_path_factory.mktemp("multinode")
    database = postgres_cluster.create_database(template=postgres_template)
    bucket = moto_server.new_bucket()
    s3 = moto_server.config(bucket)
    env = {
        "DOCKYARD_DATABASE_URL": postgres_cluster.url(database),
        "DOCKYARD_AUTH__ENABLED": "true",
        "DOCKYARD_AUTH__SIGNING_KEY_FILE": str(root / "keys" / "token-signing.pem"),
        "DOCKYARD_STORAGE__DRIVER": "s3",
        "DOCKYARD_STORAGE__S3__BUCKET": bucket,
        "DOCKYARD_STORAGE__S3__ENDPOINT_URL": str(s3.endpoint_url),
        "DOCKYARD_STORAGE__S3__REGION": str(s3.region),
        "DOCKYARD_STORAGE__S3__ACCESS_KEY_ID": str(s3.access_key_id),
        "DOCKYARD_STORAGE__S3__SECRET_ACCESS_KEY": str(s3.secret_access_key),
        "DOCKYARD_STORAGE__S3__ADDRESSING_STYLE": "path",
        "DOCKYARD_REGISTRY__MANIFEST_CACHE_SECONDS": "1.0",
    }
    started: list[LiveServer | Nginx] = []
    try:
        # Node A first: it writes the shared signing key that node B then reads.
        node_a = LiveServer(data_dir=root / "node-a", env=dict(env)).start()
        started.append(node_a)
        node_b = LiveServer(data_dir=root / "node-b", env=dict(env)).start()
        started.append(node_b)
        nginx = Nginx(binary, root / "nginx", [node_a.host, node_b.host]).start()
        started.append(nginx)
        account = sign_up_through(nginx, node_a)
        yield Cluster(node_a, node_b, nginx, account)
    finally:
        for server in reversed(started):
            server.stop()
        with contextlib.suppress(Exception):
            postgres_cluster.drop_database(database)


def sign_up_through(nginx: Nginx, node: LiveServer) -> Account:
    """Sign up (Hub API ``POST /v2/users/signup``) through nginx; logged in on a node."""
    username = unique_name("multi")
    password = f"pw-{username}-Secret9"
    with httpx.Client(base_url=nginx.url, timeout=30) as client:
        body = {"username": username, "email": f"{username}@example.test", "password": password}
        response = client.post("/v2/users/signup", json=body)
        assert response.status_code == 201, response.text
    with httpx.Client(base_url=node.url, timeout=30) as client:
        response = client.post("/v2/users/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
    return Account(node, username, password, str(response.json()["token"]))


def upload_path(location: str) -> str:
    """The path and query of an upload ``Location`` (absolute or relative)."""
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- (a) the real docker CLI through nginx ----------------------------------------------------
def test_docker_push_pull_through_nginx(
    cluster: Cluster, docker_engine: DockerEngine, tmp_path: Path
) -> None:
    """``docker login``, ``push`` and ``pull`` via the load balancer; both nodes served."""
    config = tmp_path / "docker-config"
    config.mkdir()
    env = {**docker_engine.env, "DOCKER_CONFIG": str(config)}

    def docker(*args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        return run([docker_engine.docker_cli, *args], env=env, timeout=timeout)

    host = cluster.nginx.host
    account = cluster.account
    docker("login", "--username", account.username, "--password", account.password, host)
    context = write_busybox_context(
        tmp_path / "ctx",
        files={"hello.txt": f"multi-node {time.time_ns()}\n"},
        cmd=["/bin/busybox", "cat", "/hello.txt"],
    )
    ref = f"{host}/{account.username}/multinode:v1"
    docker_engine.build(context, ref)
    pushed = docker("push", ref).stdout
    assert "digest: sha256:" in pushed, pushed
    docker_engine.remove_images(ref)
    pulled = docker("pull", ref).stdout
    assert "Digest: sha256:" in pulled, pulled
    assert docker_engine.run_container(ref).startswith("multi-node ")
    docker_engine.remove_images(ref)

    log = cluster.nginx.access_log()
    assert f"upstream={cluster.node_a.host}" in log, log[-2000:]
    assert f"upstream={cluster.node_b.host}" in log, log[-2000:]


# --- (b) a chunked upload alternating between the nodes -------------------------------------
def test_chunked_upload_alternating_nodes(cluster: Cluster) -> None:
    """PATCHes go to A, B, A, B... (directly, no nginx); PUT on the other; the digest is right."""
    repository = f"{cluster.account.username}/alternate"
    headers = bearer(cluster.token(repository))
    nodes = [cluster.node_a, cluster.node_b]
    # Sealed (>= 5 MiB) and small chunks mixed: tails written by one node, extended by the other.
    sizes = [6 * MIB, 200 * 1024, 300 * 1024, 6 * MIB, 1024, 5 * MIB + 7]
    chunks = [os.urandom(size) for size in sizes]
    data = b"".join(chunks)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()

    with httpx.Client(timeout=120, headers=headers) as http:
        response = http.post(f"{nodes[0].url}/v2/{repository}/blobs/uploads/")
        assert response.status_code == 202, response.text
        location = upload_path(response.headers["location"])
        offset = 0
        for index, chunk in enumerate(chunks):
            node = nodes[index % 2]
            response = http.patch(
                f"{node.url}{location}",
                content=chunk,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                },
            )
            assert response.status_code == 202, (index, node.host, response.text)
            offset += len(chunk)
            assert response.headers["range"] == f"0-{offset - 1}", response.headers
            location = upload_path(response.headers["location"])
        finisher = nodes[len(chunks) % 2]
        response = http.put(f"{finisher.url}{location}", params={"digest": digest})
        assert response.status_code == 201, response.text
        assert response.headers["docker-content-digest"] == digest

        for node in nodes:
            blob = http.get(f"{node.url}/v2/{repository}/blobs/{digest}")
            assert blob.status_code == 200, (node.host, blob.text[:200])
            assert hashlib.sha256(blob.content).hexdigest() == digest.removeprefix("sha256:")


# --- (c) a node killed in the middle of a PATCH ---------------------------------------------
def test_node_killed_mid_patch_client_resumes_on_other(cluster: Cluster) -> None:
    """SIGKILL node B while a large PATCH streams into it; resume on A from the reported Range."""
    repository = f"{cluster.account.username}/crash"
    headers = bearer(cluster.token(repository))
    victim, survivor = cluster.node_b, cluster.node_a
    data = os.urandom(40 * MIB)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    kill_after = 20 * MIB
    killed = threading.Event()

    def body() -> Iterator[bytes]:
        step = MIB
        for start in range(0, len(data), step):
            if start == kill_after and not killed.is_set():
                time.sleep(1.0)  # let the node store the segments it has
                victim.kill()
                killed.set()
            yield data[start : start + step]

    try:
        with httpx.Client(timeout=60, headers=headers) as http:
            response = http.post(f"{victim.url}/v2/{repository}/blobs/uploads/")
            assert response.status_code == 202, response.text
            location = upload_path(response.headers["location"])
            with pytest.raises(httpx.TransportError):
                http.patch(
                    f"{victim.url}{location}",
                    content=body(),
                    headers={"Content-Type": "application/octet-stream"},
                )
            assert killed.is_set()

            # The client asks the other node where the upload stands and resumes there.
            status = http.get(f"{survivor.url}{location}")
            assert status.status_code == 204, status.text
            end = int(status.headers["range"].split("-")[1])
            offset = end + 1
            assert 0 <= offset <= kill_after, status.headers
            response = http.patch(
                f"{survivor.url}{location}",
                content=data[offset:],
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{len(data) - 1}",
                },
            )
            assert response.status_code == 202, response.text
            location = upload_path(response.headers["location"])
            response = http.put(f"{survivor.url}{location}", params={"digest": digest})
            assert response.status_code == 201, response.text
            blob = http.get(f"{survivor.url}/v2/{repository}/blobs/{digest}")
            assert blob.status_code == 200
            assert hashlib.sha256(blob.content).hexdigest() == digest.removeprefix("sha256:")
    finally:
        if victim.process is None:
            victim.start()  # the other tests of the module keep their two nodes


# --- (d) a tag moved on one node, seen on the other -----------------------------------------
def push_manifest(http: httpx.Client, repository: str, tag: str, salt: str) -> str:
    """Upload a config and a layer, PUT an OCI manifest as ``tag``; the manifest digest."""
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}},
        sort_keys=True,
    ).encode()
    layer = f"layer {salt}".encode()
    config_digest = upload_blob(http, repository, config + salt.encode())
    layer_digest = upload_blob(http, repository, layer)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": config_digest,
                "size": len(config + salt.encode()),
            },
            "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": len(layer)}],
        }
    ).encode()
    response = http.put(
        f"/v2/{repository}/manifests/{tag}",
        content=manifest,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert response.status_code == 201, response.text
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def test_tag_moved_on_a_is_seen_on_b_within_a_second(cluster: Cluster) -> None:
    """Node B may serve a cached tag lookup for at most ``manifest_cache_seconds`` (1 s)."""
    repository = f"{cluster.account.username}/moving"
    headers = {**bearer(cluster.token(repository)), "Accept": OCI_MANIFEST}
    with (
        httpx.Client(base_url=cluster.node_a.url, headers=headers, timeout=30) as on_a,
        httpx.Client(base_url=cluster.node_b.url, headers=headers, timeout=30) as on_b,
    ):
        first = push_manifest(on_a, repository, "latest", "one")

        def digest_on_b() -> str:
            response = on_b.get(f"/v2/{repository}/manifests/latest")
            assert response.status_code == 200, response.text
            return str(response.headers["docker-content-digest"])

        assert digest_on_b() == first  # node B now has "latest" in its cache
        second = push_manifest(on_a, repository, "latest", "two")
        moved = time.monotonic()
        seen = None
        while time.monotonic() - moved < 5:
            if digest_on_b() == second:
                seen = time.monotonic() - moved
                break
            time.sleep(0.05)
        assert seen is not None, "node B still serves the old tag after 5 s"
        assert seen <= 1.5, f"node B saw the moved tag after {seen:.2f} s"
