"""``docker push`` by a collaborator into the owner's private repository, with authentication on.

alice owns ``alice/shared`` (private) and makes bob a ``write`` collaborator and carol a ``read``
one through the Hub API; bob pushes with the real docker CLI, carol pulls what he pushed and is
refused a push of her own. Each user logs in with their own ``DOCKER_CONFIG``. The
``docker_engine`` fixture skips (fails under CI) through ``require_tool`` without docker.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.accounts import Account, sign_up, start_auth_server
from tests.support.docker_engine import DockerEngine, write_busybox_context
from tests.support.images import manifest_digest, tags
from tests.support.servers import LiveServer
from tests.support.tools import run

pytestmark = pytest.mark.realclient

DENIED = "requested access to the resource is denied"


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live Dockyard with Docker token authentication on."""
    server = start_auth_server(tmp_path_factory.mktemp("collab-registry") / "data")
    yield server
    server.stop()


def docker_as(
    engine: DockerEngine, config: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """The docker CLI of the shared engine with a private ``DOCKER_CONFIG`` (a private login)."""
    config.mkdir(exist_ok=True)
    env = {**engine.env, "DOCKER_CONFIG": str(config)}
    return run([engine.docker_cli, *args], env=env, timeout=300, check=check)


def login(engine: DockerEngine, config: Path, server: LiveServer, account: Account) -> None:
    """``docker login`` with the account's password (``run`` gives the CLI no stdin)."""
    result = docker_as(
        engine, config, "login", "--username", account.username, "--password", account.password,
        server.host,
    )  # fmt: skip
    assert "Login Succeeded" in result.stdout, result.stdout + result.stderr


def test_write_collaborator_pushes_into_the_owners_private_repository(
    docker_engine: DockerEngine, auth_registry: LiveServer, tmp_path: Path
) -> None:
    alice = sign_up(auth_registry, "alice")
    bob = sign_up(auth_registry, "bob")
    carol = sign_up(auth_registry, "carol")
    repository = f"{alice.username}/shared"
    alice.create_repository(alice.username, "shared", private=True)
    path = f"/v2/repositories/{repository}/collaborators"
    alice.call("POST", path, {"user": bob.username, "permission": "write"}, expect=201)
    alice.call("POST", path, {"user": carol.username, "permission": "read"}, expect=201)

    context = write_busybox_context(
        tmp_path / "ctx", cmd=["/bin/busybox", "echo", "pushed by a collaborator"]
    )
    local = "dockyard-collab-e2e:base"
    docker_engine.build(context, local)
    ref = f"{auth_registry.host}/{repository}:from-bob"
    bob_config, carol_config = tmp_path / "bob", tmp_path / "carol"
    try:
        login(docker_engine, bob_config, auth_registry, bob)
        docker_as(docker_engine, bob_config, "tag", local, ref)
        pushed = docker_as(docker_engine, bob_config, "push", ref).stdout
        assert "digest: sha256:" in pushed, pushed

        # alice finds bob's push in her repository, recorded as his
        with alice.registry_client(repository, "pull") as client:
            assert tags(client, repository) == ["from-bob"]
            digest = manifest_digest(client, repository, "from-bob")
        assert f"digest: {digest}" in pushed
        listed = alice.call("GET", f"/v2/repositories/{repository}/tags/")["results"]
        assert [(t["name"], t["last_updater_username"]) for t in listed] == [
            ("from-bob", bob.username)
        ]

        # carol, a read collaborator, pulls it but may not push
        login(docker_engine, carol_config, auth_registry, carol)
        docker_as(docker_engine, carol_config, "rmi", ref)
        pulled = docker_as(docker_engine, carol_config, "pull", ref).stdout
        assert f"Digest: {digest}" in pulled, pulled
        mine = f"{auth_registry.host}/{repository}:from-carol"
        docker_as(docker_engine, carol_config, "tag", local, mine)
        refused = docker_as(docker_engine, carol_config, "push", mine, check=False)
        assert refused.returncode != 0
        assert DENIED in refused.stdout + refused.stderr
        with alice.registry_client(repository, "pull") as client:
            assert tags(client, repository) == ["from-bob"]
    finally:
        docker_engine.docker("rmi", "--force", local, ref, check=False)
        docker_engine.docker(
            "rmi", "--force", f"{auth_registry.host}/{repository}:from-carol", check=False
        )
