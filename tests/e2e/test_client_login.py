"""``dockyard login``/``logout`` and authenticated transfers: Dockyard's token flow, the
reference registry's HTTP Basic, credentials in ``config.json`` and in a credential helper.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.accounts import AUTH_ON
from tests.support.dyclient import DockyardCLI, push_busybox
from tests.support.reference_registry import ReferenceRegistry, reference_registry_binary
from tests.support.servers import LiveServer

pytestmark = pytest.mark.realclient

PASSWORDS = {"alice": "alice-Pa55word!", "bobby": "bobby-Pa55word!"}

FAKE_HELPER = """\
#!{python}
import json, os, sys
store = os.environ["FAKE_HELPER_STORE"]
data = json.load(open(store)) if os.path.exists(store) else {{}}
action, payload = sys.argv[1], sys.stdin.read().strip()
if action == "store":
    doc = json.loads(payload)
    data[doc["ServerURL"]] = {{"Username": doc["Username"], "Secret": doc["Secret"]}}
elif payload not in data:
    print("credentials not found in native keychain")
    sys.exit(1)
elif action == "get":
    print(json.dumps({{"ServerURL": payload, **data[payload]}}))
elif action == "erase":
    del data[payload]
json.dump(data, open(store, "w"))
"""


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Dockyard with token auth on and two users made with ``dockyard user create``."""
    data_dir = tmp_path_factory.mktemp("auth-client") / "data"
    env = {**os.environ, **AUTH_ON, "DOCKYARD_STORAGE__FSYNC": "false"}
    for user, password in PASSWORDS.items():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "dockyard",
                "user",
                "create",
                user,
                "--email",
                f"{user}@example.com",
                "--password-stdin",
                "--data-dir",
                str(data_dir),
            ],
            input=password + "\n",
            text=True,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    server = LiveServer(data_dir=data_dir, env=dict(AUTH_ON)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceRegistry]:
    """The reference registry behind HTTP Basic (htpasswd) with user ``bobby``."""
    binary = reference_registry_binary()
    require_tool(binary is not None, "docker-registry (Debian package docker-registry)")
    assert binary is not None
    server = ReferenceRegistry(
        binary, tmp_path_factory.mktemp("basic-registry"), users={"bobby": PASSWORDS["bobby"]}
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def source_image(reference_registry: ReferenceRegistry) -> str:
    """A busybox image on the open reference registry, to pull and re-tag."""
    with httpx.Client(base_url=reference_registry.url, timeout=30) as client:
        push_busybox(client, "seed/busybox", "1", ["/bin/busybox", "echo", "seeded"])
    return f"{reference_registry.host}/seed/busybox:1"


def _local_image(dy: DockyardCLI, source: str, target: str) -> None:
    dy("pull", "-q", source)
    dy("tag", source, target)


def _login(dy: DockyardCLI, host: str, user: str, password: str) -> None:
    out = dy("login", host, "-u", user, "--password-stdin", stdin=password + "\n")
    assert out.stdout.strip() == "Login Succeeded"


def test_token_login_push_pull_denied_logout(
    auth_server: LiveServer, source_image: str, tmp_path: Path
) -> None:
    dy = DockyardCLI(tmp_path / "alice")
    host = auth_server.host
    _local_image(dy, source_image, f"{host}/alice/app:1")

    message = dy.fails("login", host, "-u", "alice", "--password-stdin", stdin="wrong\n")
    assert "incorrect username or password" in message
    assert host not in (dy.config().get("auths") or {})

    message = dy.fails("push", f"{host}/alice/app:1")
    assert "authentication required" in message

    _login(dy, host, "alice", PASSWORDS["alice"])
    entry = dy.config()["auths"][host]  # type: ignore[index]
    assert base64.b64decode(entry["auth"]).decode() == f"alice:{PASSWORDS['alice']}"
    assert stat.S_IMODE((dy.docker_config / "config.json").stat().st_mode) == 0o600

    digest = dy("push", f"{host}/alice/app:1").stdout.split("digest: ")[1].strip()
    assert dy("tags", f"{host}/alice/app").stdout.split() == ["1"]
    assert json.loads(dy("inspect", "--json", f"{host}/alice/app:1").stdout)["digest"] == digest

    other = DockyardCLI(tmp_path / "alice-elsewhere")
    other.docker_config.mkdir(parents=True)
    (other.docker_config / "config.json").write_text(json.dumps(dy.config()))
    assert other("pull", f"{host}/alice/app:1").stdout.strip() == f"{host}/alice/app:1"

    copied = dy("copy", f"{host}/alice/app:1", f"{host}/alice/copy:1")
    assert "Mounted from alice/app" in copied.stderr

    dy("tag", f"{host}/alice/app:1", f"{host}/bobby/app:1")
    assert "denied" in dy.fails("push", f"{host}/bobby/app:1")

    dy("delete", f"{host}/alice/copy:1")
    assert dy("tags", f"{host}/alice/copy").stdout.split() == []

    assert dy("logout", host).stdout.strip() == f"Removing login credentials for {host}"
    assert host not in (dy.config().get("auths") or {})
    assert dy("logout", host).stdout.strip() == f"Not logged in to {host}"
    assert "authentication required" in dy.fails("push", f"{host}/alice/app:1")


def test_credential_helper_keeps_the_secret(
    auth_server: LiveServer, source_image: str, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-fake"
    helper.write_text(FAKE_HELPER.format(python=sys.executable))
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    secrets = tmp_path / "secrets.json"
    dy = DockyardCLI(
        tmp_path / "bobby",
        extra_env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "FAKE_HELPER_STORE": str(secrets),
        },
    )
    dy.docker_config.mkdir(parents=True)
    (dy.docker_config / "config.json").write_text(json.dumps({"credsStore": "fake"}))
    host = auth_server.host

    _login(dy, host, "bobby", PASSWORDS["bobby"])
    assert dy.config()["auths"] == {host: {}}, "the secret is not in config.json"
    assert json.loads(secrets.read_text())[host] == {
        "Username": "bobby",
        "Secret": PASSWORDS["bobby"],
    }
    _local_image(dy, source_image, f"{host}/bobby/tool:2")
    dy("push", f"{host}/bobby/tool:2")
    assert dy("tags", f"{host}/bobby/tool").stdout.split() == ["2"]
    dy("logout", host)
    assert json.loads(secrets.read_text()) == {}


def test_basic_auth_on_the_reference_registry(
    basic_registry: ReferenceRegistry, source_image: str, tmp_path: Path
) -> None:
    dy = DockyardCLI(tmp_path / "basic")
    host = basic_registry.host
    assert "incorrect username or password" in dy.fails(
        "login", host, "-u", "bobby", "--password-stdin", stdin="nope\n"
    )
    _local_image(dy, source_image, f"{host}/bobby/app:1")
    assert "authentication required" in dy.fails("push", f"{host}/bobby/app:1")
    _login(dy, host, "bobby", PASSWORDS["bobby"])
    dy("push", f"{host}/bobby/app:1")
    assert dy("tags", f"{host}/bobby/app").stdout.split() == ["1"]
    fresh = DockyardCLI(tmp_path / "basic2")
    fresh.docker_config.mkdir(parents=True)
    (fresh.docker_config / "config.json").write_text(json.dumps(dy.config()))
    fresh("pull", f"{host}/bobby/app:1")
    dy("logout", host)
    assert "authentication required" in dy.fails("tags", f"{host}/bobby/app")


def test_login_to_an_open_registry(reference_registry: ReferenceRegistry, tmp_path: Path) -> None:
    dy = DockyardCLI(tmp_path / "open")
    _login(dy, reference_registry.host, "anyone", "anything")
    assert reference_registry.host in dy.config()["auths"]  # type: ignore[operator]
