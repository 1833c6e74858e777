"""``docker login`` against Dockyard with authentication on: passwords, access tokens, teams.

Each user gets their own ``DOCKER_CONFIG`` directory, so two logins to the same registry from
the one shared engine do not overwrite each other.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import Account, registry_token, sign_up, start_auth_server
from tests.support.docker_engine import DockerEngine, write_busybox_context
from tests.support.images import MANIFEST_ACCEPT, manifest_digest, tags
from tests.support.servers import LiveServer
from tests.support.tools import run

pytestmark = pytest.mark.realclient

DENIED = "requested access to the resource is denied"


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live Dockyard with Docker token authentication on, shared by this module."""
    server = start_auth_server(tmp_path_factory.mktemp("auth-registry") / "data")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def base_image(
    docker_engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A tiny busybox image built once in the shared engine; its local tag."""
    context = write_busybox_context(
        tmp_path_factory.mktemp("login-ctx"), cmd=["/bin/busybox", "echo", "logged in"]
    )
    tag = "dockyard-login-e2e:base"
    docker_engine.build(context, tag)
    yield tag
    docker_engine.docker("rmi", "--force", tag, check=False)


@dataclass
class DockerUser:
    """The docker CLI with a private ``DOCKER_CONFIG`` (so a private login)."""

    engine: DockerEngine
    config: Path
    registry: LiveServer

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 180.0
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.engine.env, "DOCKER_CONFIG": str(self.config)}
        return run([self.engine.docker_cli, *args], env=env, timeout=timeout, check=check)

    def ref(self, repository: str) -> str:
        return f"{self.registry.host}/{repository}"

    def login(
        self, username: str, secret: str, *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self(
            "login", "--username", username, "--password", secret, self.registry.host, check=check
        )

    def logged_in(self) -> bool:
        path = self.config / "config.json"
        auths = json.loads(path.read_text()).get("auths", {}) if path.exists() else {}
        return bool(auths.get(self.registry.host))

    def refused(self, *args: str) -> str:
        """Run a command that must fail; its combined output."""
        result = self(*args, check=False, timeout=300)
        output = result.stdout + result.stderr
        assert result.returncode != 0, f"docker {' '.join(args)} was not refused:\n{output}"
        return output


DockerUserFactory = Callable[[str], DockerUser]


@pytest.fixture
def docker_user(
    docker_engine: DockerEngine, auth_registry: LiveServer, tmp_path: Path
) -> Iterator[DockerUserFactory]:
    """Make docker CLI users, each with its own config directory; remove their tags after."""

    def make(name: str) -> DockerUser:
        config = tmp_path / f"docker-config-{name}"
        config.mkdir()
        return DockerUser(docker_engine, config, auth_registry)

    yield make
    prefix = f"{auth_registry.host}/"
    listed = docker_engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    ours = [ref for ref in listed.split() if ref.startswith(prefix)]
    if ours:
        docker_engine.docker("rmi", "--force", *ours, check=False)


def _pull_client_digest(account: Account, repository: str, tag: str) -> str:
    with account.registry_client(repository, "pull") as client:
        return manifest_digest(client, repository, tag)


def _tags(account: Account, repository: str) -> list[str]:
    with account.registry_client(repository, "pull") as client:
        return tags(client, repository)


def test_password_and_pat_logins_push_own_namespace_only(
    docker_user: DockerUserFactory,
    auth_registry: LiveServer,
    base_image: str,
) -> None:
    alice = sign_up(auth_registry, "alice")
    bob = sign_up(auth_registry, "bob")
    bob_pat, _ = bob.create_pat("docker login", ["repo:write"])
    as_alice, as_bob = docker_user("alice"), docker_user("bob")

    # two logins at once, one with a password, one with an access token
    assert "Login Succeeded" in as_alice.login(alice.username, alice.password).stdout
    assert "Login Succeeded" in as_bob.login(bob.username, bob_pat).stdout
    assert as_alice.logged_in()
    assert as_bob.logged_in()

    # each pushes into their own namespace
    alice_app, bob_app = f"{alice.username}/app", f"{bob.username}/app"
    as_alice("tag", base_image, as_alice.ref(f"{alice_app}:1"))
    as_bob("tag", base_image, as_bob.ref(f"{bob_app}:1"))
    pushed = as_alice("push", as_alice.ref(f"{alice_app}:1"), timeout=300).stdout
    assert "digest: sha256:" in pushed, pushed
    pushed = as_bob("push", as_bob.ref(f"{bob_app}:1"), timeout=300).stdout
    assert "digest: sha256:" in pushed, pushed
    assert _tags(alice, alice_app) == ["1"]
    assert _tags(bob, bob_app) == ["1"]
    alice_digest = _pull_client_digest(alice, alice_app, "1")

    # and neither may push into the other's namespace: existing repository or new one
    as_bob("tag", base_image, as_bob.ref(f"{alice_app}:from-bob"))
    assert DENIED in as_bob.refused("push", as_bob.ref(f"{alice_app}:from-bob"))
    as_bob("tag", base_image, as_bob.ref(f"{alice.username}/new:1"))
    assert DENIED in as_bob.refused("push", as_bob.ref(f"{alice.username}/new:1"))
    as_alice("tag", base_image, as_alice.ref(f"{bob_app}:from-alice"))
    assert DENIED in as_alice.refused("push", as_alice.ref(f"{bob_app}:from-alice"))
    assert _tags(alice, alice_app) == ["1"]
    assert _pull_client_digest(alice, alice_app, "1") == alice_digest
    assert _tags(bob, bob_app) == ["1"]

    # both pull what they pushed
    as_alice("rmi", as_alice.ref(f"{alice_app}:1"))
    assert f"Digest: {alice_digest}" in as_alice("pull", as_alice.ref(f"{alice_app}:1")).stdout
    as_bob("rmi", as_bob.ref(f"{bob_app}:1"))
    as_bob("pull", as_bob.ref(f"{bob_app}:1"))


def test_private_repository_team_grant_and_anonymous_pulls(
    docker_user: DockerUserFactory,
    auth_registry: LiveServer,
    base_image: str,
) -> None:
    alice = sign_up(auth_registry, "alice")
    bob = sign_up(auth_registry, "bob")
    org = f"org{alice.username}"
    alice.create_org(org)
    private, public = f"{org}/secret", f"{alice.username}/public"
    alice.create_repository(org, "secret", private=True)
    as_alice, as_bob = docker_user("alice"), docker_user("bob")
    as_alice.login(alice.username, alice.password)
    bob_pat, _ = bob.create_pat("read only", ["repo:read"])
    as_bob.login(bob.username, bob_pat)

    # alice, owner of the organization, pushes its private repository and a public one
    for repository in (private, public):
        as_alice("tag", base_image, as_alice.ref(f"{repository}:1"))
        as_alice("push", as_alice.ref(f"{repository}:1"), timeout=300)
        as_alice("rmi", as_alice.ref(f"{repository}:1"))
    private_digest = _pull_client_digest(alice, private, "1")

    # bob logged in with a read-only token: it cannot push even into his own namespace
    as_bob("tag", base_image, as_bob.ref(f"{bob.username}/own:1"))
    assert DENIED in as_bob.refused("push", as_bob.ref(f"{bob.username}/own:1"))

    # bob may not pull the private repository (it looks like a missing one) ...
    refused = as_bob.refused("pull", as_bob.ref(f"{private}:1"))
    assert "name unknown" in refused, refused
    # ... until alice's team grants him read access
    alice.create_team(org, "readers", [bob.username])
    alice.grant_team(private, "readers", "read")
    assert f"Digest: {private_digest}" in as_bob("pull", as_bob.ref(f"{private}:1")).stdout
    # read is not write
    as_bob("tag", base_image, as_bob.ref(f"{private}:bob"))
    assert DENIED in as_bob.refused("push", as_bob.ref(f"{private}:bob"))
    as_bob("rmi", as_bob.ref(f"{private}:1"), as_bob.ref(f"{private}:bob"))

    # logged out, bob is anonymous: the public repository pulls, the private one does not
    assert "Removing login credentials" in as_bob("logout", auth_registry.host).stdout
    assert not as_bob.logged_in()
    as_bob("pull", as_bob.ref(f"{public}:1"))
    refused = as_bob.refused("pull", as_bob.ref(f"{private}:1"))
    assert "pull access denied" in refused, refused
    assert DENIED in refused, refused
    # the same over HTTP: an anonymous token reads the public manifest, not the private one
    for repository, status in ((public, 200), (private, 401)):
        token = registry_token(auth_registry, None, repository, "pull")
        response = httpx.get(
            f"{auth_registry.url}/v2/{repository}/manifests/1",
            headers={"Authorization": f"Bearer {token}", "Accept": MANIFEST_ACCEPT},
            timeout=30,
        )
        assert response.status_code == status, response.text


def test_revoked_pat_no_longer_logs_in(
    docker_user: DockerUserFactory,
    auth_registry: LiveServer,
    base_image: str,
) -> None:
    carol = sign_up(auth_registry, "carol")
    secret, uuid = carol.create_pat("short lived", ["repo:write"])
    as_carol = docker_user("carol")
    assert "Login Succeeded" in as_carol.login(carol.username, secret).stdout
    repository = f"{carol.username}/app"
    as_carol("tag", base_image, as_carol.ref(f"{repository}:1"))
    as_carol("push", as_carol.ref(f"{repository}:1"), timeout=300)

    carol.revoke_pat(uuid)

    # the credentials docker saved no longer work for a push ...
    as_carol("tag", base_image, as_carol.ref(f"{repository}:2"))
    refused = as_carol.refused("push", as_carol.ref(f"{repository}:2"))
    assert "unauthorized" in refused.lower(), refused
    assert _tags(carol, repository) == ["1"]
    # ... nor for a new login; the password still does
    as_carol("logout", auth_registry.host)
    failed = as_carol.login(carol.username, secret, check=False)
    assert failed.returncode != 0, failed.stdout + failed.stderr
    assert "unauthorized" in (failed.stdout + failed.stderr).lower(), failed.stderr
    assert not as_carol.logged_in()
    assert "Login Succeeded" in as_carol.login(carol.username, carol.password).stdout
