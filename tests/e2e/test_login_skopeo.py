"""skopeo with credentials against Dockyard with authentication on: passwords and tokens."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.support.accounts import sign_up, start_auth_server
from tests.support.images import manifest_digest, push_busybox_image, tags
from tests.support.servers import LiveServer
from tests.support.tools import run, which

pytestmark = pytest.mark.realclient

DENIED = "requested access to the resource is denied"
PUSH, PULL = "--dest-tls-verify=false", "--src-tls-verify=false"
VERIFY = "--tls-verify=false"

Skopeo = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live Dockyard with Docker token authentication on, shared by this module."""
    server = start_auth_server(tmp_path_factory.mktemp("auth-registry") / "data")
    yield server
    server.stop()


@pytest.fixture
def skopeo(tmp_path: Path) -> Skopeo:
    """``skopeo --insecure-policy ARGS`` (bounded) with an empty auth file of its own."""
    path = which("skopeo")
    require_tool(path is not None, "skopeo (Debian package skopeo)")
    auth_file = tmp_path / "auth.json"
    auth_file.write_text('{"auths": {}}')
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "REGISTRY_AUTH_FILE": str(auth_file)}

    def call(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([str(path), "--insecure-policy", *args], env=env, timeout=180, check=check)

    return call


def _refused(skopeo: Skopeo, *args: str) -> str:
    """Run a skopeo command that must fail; its standard error."""
    result = skopeo(*args, check=False)
    assert result.returncode != 0, f"skopeo {' '.join(args)} was not refused:\n{result.stdout}"
    return result.stderr


def _layout_digest(layout: Path, tag: str) -> str:
    index = json.loads((layout / "index.json").read_text())
    (entry,) = [
        m
        for m in index["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
    ]
    return str(entry["digest"])


def test_skopeo_with_password_and_token(
    skopeo: Skopeo, busybox: None, auth_registry: LiveServer, tmp_path: Path
) -> None:
    host = auth_registry.host
    alice = sign_up(auth_registry, "alice")
    bob = sign_up(auth_registry, "bob")
    pat, _ = alice.create_pat("skopeo", ["repo:write"])
    as_alice, with_pat = f"{alice.username}:{alice.password}", f"{alice.username}:{pat}"
    as_bob = f"{bob.username}:{bob.password}"
    seed_repo, app_repo = f"{alice.username}/seed", f"{alice.username}/app"
    with alice.registry_client(seed_repo) as client:
        seed = push_busybox_image(client, seed_repo, "1", ["/bin/busybox", "echo", "skopeo"])
    seed_ref, app = f"docker://{host}/{seed_repo}:1", f"docker://{host}/{app_repo}"

    # copy out (to an OCI layout) and back in, with the password and with the token
    layout = tmp_path / "layout"
    skopeo("copy", "--quiet", PULL, "--src-creds", as_alice, seed_ref, f"oci:{layout}:app")
    assert _layout_digest(layout, "app") == seed.digest
    skopeo("copy", "--quiet", PUSH, "--dest-creds", as_alice, f"oci:{layout}:app", f"{app}:1")
    skopeo("copy", "--quiet", PUSH, "--dest-creds", with_pat, f"oci:{layout}:app", f"{app}:2")
    with alice.registry_client(app_repo, "pull") as client:
        assert tags(client, app_repo) == ["1", "2"]
        assert manifest_digest(client, app_repo, "2") == seed.digest

    # inspect and list-tags, with either secret
    for creds in (as_alice, with_pat):
        inspected = json.loads(skopeo("inspect", VERIFY, "--creds", creds, f"{app}:1").stdout)
        assert inspected["Digest"] == seed.digest
        assert sorted(inspected["RepoTags"]) == ["1", "2"]
        listed = json.loads(skopeo("list-tags", VERIFY, "--creds", creds, app).stdout)
        assert sorted(listed["Tags"]) == ["1", "2"]

    # bob may read alice's public repository but not write to it
    inspected = json.loads(skopeo("inspect", VERIFY, "--creds", as_bob, f"{app}:1").stdout)
    assert inspected["Digest"] == seed.digest
    refused = _refused(
        skopeo, "copy", "--quiet", PUSH, "--dest-creds", as_bob, f"oci:{layout}:app", f"{app}:bob"
    )
    assert DENIED in refused, refused

    # once the repository is private, bob cannot see it at all; alice still can
    alice.set_private(app_repo, True)
    # (to bob it looks like a missing repository; anonymous callers are asked to log in)
    for expected, args in (
        ("name unknown", ("inspect", VERIFY, "--creds", as_bob, f"{app}:1")),
        ("404 (Not Found)", ("list-tags", VERIFY, "--creds", as_bob, app)),
        ("name unknown", ("copy", PULL, "--src-creds", as_bob, f"{app}:1", f"oci:{tmp_path}/b:x")),
        ("unauthorized", ("inspect", VERIFY, "--no-creds", f"{app}:1")),
    ):
        refused = _refused(skopeo, *args)
        assert expected in refused, refused
    inspected = json.loads(skopeo("inspect", VERIFY, "--creds", with_pat, f"{app}:2").stdout)
    assert inspected["Digest"] == seed.digest

    # anonymous inspect of a public repository works
    inspected = json.loads(skopeo("inspect", VERIFY, "--no-creds", seed_ref).stdout)
    assert inspected["Digest"] == seed.digest
    assert inspected["RepoTags"] == ["1"]
    seed_remote = f"docker://{host}/{seed_repo}"
    listed = json.loads(skopeo("list-tags", VERIFY, "--no-creds", seed_remote).stdout)
    assert listed["Tags"] == ["1"]


def test_skopeo_revoked_token_and_wrong_password(
    skopeo: Skopeo, busybox: None, auth_registry: LiveServer
) -> None:
    carol = sign_up(auth_registry, "carol")
    pat, uuid = carol.create_pat("revoked", ["repo:read"])
    repository = f"{carol.username}/app"
    with carol.registry_client(repository) as client:
        push_busybox_image(client, repository, "1", ["/bin/busybox", "true"])
    carol.set_private(repository, True)
    remote = f"docker://{auth_registry.host}/{repository}"
    ref = f"{remote}:1"

    creds = f"{carol.username}:{pat}"
    listed = json.loads(skopeo("list-tags", VERIFY, "--creds", creds, remote).stdout)
    assert listed["Tags"] == ["1"]
    # a read-only token reads carol's private repository but does not write to it
    copy = ("copy", "--quiet", PULL, PUSH, "--src-creds", creds, "--dest-creds", creds)
    assert DENIED in _refused(skopeo, *copy, ref, f"{remote}:2")
    carol.revoke_pat(uuid)
    refused = _refused(skopeo, "inspect", VERIFY, "--creds", creds, ref)
    assert "unauthorized" in refused.lower(), refused
    refused = _refused(skopeo, "inspect", VERIFY, "--creds", f"{carol.username}:wrong-pass", ref)
    assert "unauthorized" in refused.lower(), refused
