"""``podman login`` against Dockyard with authentication on: push, pull, refused pushes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_podman import Podman, podman  # noqa: F401  (the fixture, reused)
from tests.support.accounts import Account, sign_up, start_auth_server
from tests.support.images import manifest_digest, push_busybox_image, tags
from tests.support.servers import LiveServer

pytestmark = pytest.mark.realclient

DENIED = "requested access to the resource is denied"


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live Dockyard with Docker token authentication on, shared by this module."""
    server = start_auth_server(tmp_path_factory.mktemp("auth-registry") / "data")
    yield server
    server.stop()


def _digest(account: Account, repository: str, tag: str) -> str:
    with account.registry_client(repository, "pull") as client:
        return manifest_digest(client, repository, tag)


def _tags(account: Account, repository: str) -> list[str]:
    with account.registry_client(repository, "pull") as client:
        return tags(client, repository)


def _push(tool: Podman, source: str, dest: str, digest_file: Path) -> str:
    tool("push", "--tls-verify=false", f"--digestfile={digest_file}", source, dest)
    return digest_file.read_text().strip()


def test_podman_login_push_pull_and_refused_push(
    podman: Podman,  # noqa: F811
    auth_registry: LiveServer,
) -> None:
    host = auth_registry.host
    alice = sign_up(auth_registry, "alice")
    bob = sign_up(auth_registry, "bob")
    with alice.registry_client(f"{alice.username}/base") as client:
        base = push_busybox_image(
            client, f"{alice.username}/base", "1", ["/bin/busybox", "echo", "podman login"]
        )
    base_ref = f"{host}/{alice.username}/base:1"

    # log in with a password; pull alice's public image, push it into bob's namespace
    login = podman(
        "login", "--tls-verify=false", "--username", bob.username, "--password", bob.password, host
    )
    assert "Login Succeeded" in login.stdout, login.stdout + login.stderr
    podman("pull", "--tls-verify=false", base_ref)
    bob_app = f"{host}/{bob.username}/app"
    podman("tag", base_ref, f"{bob_app}:1")
    pushed = _push(podman, f"{bob_app}:1", f"docker://{bob_app}:1", podman.root / "1.digest")
    assert _digest(bob, f"{bob.username}/app", "1") == pushed

    # a push into alice's namespace is refused and changes nothing there
    podman("tag", base_ref, f"{base_ref}-bob")
    refused = podman("push", "--tls-verify=false", f"{base_ref}-bob", check=False)
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert DENIED in refused.stderr, refused.stderr
    refused = podman(
        "push", "--tls-verify=false", f"{base_ref}-bob", f"docker://{host}/{alice.username}/new:1",
        check=False,
    )  # fmt: skip
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert DENIED in refused.stderr, refused.stderr
    assert _tags(alice, f"{alice.username}/base") == ["1"]
    assert _digest(alice, f"{alice.username}/base", "1") == base.digest

    # forget the image locally and pull back what bob pushed
    podman("rmi", "--all", "--force")
    podman("pull", "--tls-verify=false", f"{bob_app}:1")
    digest = podman("image", "inspect", "--format", "{{.Digest}}", f"{bob_app}:1").stdout
    assert digest.strip() == pushed

    # log in again with an access token instead of the password; push a second tag
    podman("logout", host)
    secret, _ = bob.create_pat("podman", ["repo:write"])
    login = podman(
        "login", "--tls-verify=false", "--username", bob.username, "--password", secret, host
    )
    assert "Login Succeeded" in login.stdout, login.stdout + login.stderr
    podman("tag", f"{bob_app}:1", f"{bob_app}:2")
    pushed_2 = _push(podman, f"{bob_app}:2", f"docker://{bob_app}:2", podman.root / "2.digest")
    assert _tags(bob, f"{bob.username}/app") == ["1", "2"]
    assert _digest(bob, f"{bob.username}/app", "2") == pushed_2
    podman("logout", host)
