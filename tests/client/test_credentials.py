"""``~/.docker/config.json`` and ``docker-credential-*`` helpers, as docker keeps them."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from dockyard.client.credentials import Credentials, DockerConfig, config_dir
from dockyard.client.errors import CredentialsError

FAKE_HELPER = """\
#!{python}
import json, os, sys
store = os.environ["FAKE_HELPER_STORE"]
data = json.load(open(store)) if os.path.exists(store) else {{}}
action = sys.argv[1]
payload = sys.stdin.read()
with open(store + ".log", "a") as log:
    log.write(action + " " + payload.strip().replace("\\n", " ") + "\\n")
if action == "get":
    if payload.strip() not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    entry = data[payload.strip()]
    print(json.dumps({{"ServerURL": payload.strip(), **entry}}))
elif action == "store":
    doc = json.loads(payload)
    data[doc["ServerURL"]] = {{"Username": doc["Username"], "Secret": doc["Secret"]}}
    json.dump(data, open(store, "w"))
elif action == "erase":
    if payload.strip() not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    del data[payload.strip()]
    json.dump(data, open(store, "w"))
"""


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``docker-credential-fake`` on PATH keeping secrets in a JSON file; that file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-fake"
    script.write_text(FAKE_HELPER.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    store = tmp_path / "helper-store.json"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_HELPER_STORE", str(store))
    return store


def test_docker_config_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "cfg"))
    assert config_dir() == tmp_path / "cfg"
    assert DockerConfig().path == tmp_path / "cfg" / "config.json"
    monkeypatch.delenv("DOCKER_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_dir() == tmp_path / "home" / ".docker"


def test_store_writes_base64_auth_like_docker(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {}, "psFormat": "table {{.ID}}", "HttpHeaders": {}}))
    config = DockerConfig(tmp_path)
    config.store("127.0.0.1:5000", Credentials("alice", "s3cret:with:colons"))
    doc = json.loads(path.read_text())
    assert doc["psFormat"] == "table {{.ID}}", "other settings are kept"
    entry = doc["auths"]["127.0.0.1:5000"]
    assert base64.b64decode(entry["auth"]).decode() == "alice:s3cret:with:colons"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.get("127.0.0.1:5000") == Credentials("alice", "s3cret:with:colons")
    assert config.get("127.0.0.1:5001") is None


def test_docker_hub_uses_its_historic_key(tmp_path: Path) -> None:
    config = DockerConfig(tmp_path)
    config.store("docker.io", Credentials("bob", "pw"))
    doc = json.loads((tmp_path / "config.json").read_text())
    assert list(doc["auths"]) == ["https://index.docker.io/v1/"]
    assert config.get("docker.io") == Credentials("bob", "pw")
    assert config.get("index.docker.io") == Credentials("bob", "pw")


def test_reads_what_docker_wrote(tmp_path: Path) -> None:
    auth = base64.b64encode(b"carol:pw").decode()
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    "https://registry.example.com/v2/": {"auth": auth},
                    "http://localhost:5000": {"username": "dave", "password": "pw2"},
                    "token.example.com": {
                        "auth": base64.b64encode(b"erin:").decode(),
                        "identitytoken": "refresh-me",
                    },
                }
            }
        )
    )
    config = DockerConfig(tmp_path)
    assert config.get("registry.example.com") == Credentials("carol", "pw")
    assert config.get("localhost:5000") == Credentials("dave", "pw2")
    assert config.get("token.example.com") == Credentials("erin", "", "refresh-me")


def test_erase_removes_every_spelling(tmp_path: Path) -> None:
    auth = base64.b64encode(b"a:b").decode()
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"https://host:5000": {"auth": auth}, "other": {"auth": auth}}})
    )
    config = DockerConfig(tmp_path)
    assert config.erase("host:5000") is True
    assert config.get("host:5000") is None
    assert config.erase("host:5000") is False
    assert list(json.loads((tmp_path / "config.json").read_text())["auths"]) == ["other"]


def test_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CredentialsError, match="not valid JSON"):
        DockerConfig(tmp_path).get("host:5000")
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"h:1": {"auth": "!!"}}}))
    with pytest.raises(CredentialsError, match="auth"):
        DockerConfig(tmp_path).get("h:1")


def test_creds_store_helper(tmp_path: Path, helper: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "fake"}))
    config = DockerConfig(tmp_path)
    assert config.get("127.0.0.1:5000") is None
    config.store("127.0.0.1:5000", Credentials("alice", "pw"))
    assert json.loads(helper.read_text()) == {
        "127.0.0.1:5000": {"Username": "alice", "Secret": "pw"}
    }
    doc = json.loads((tmp_path / "config.json").read_text())
    assert doc["auths"] == {"127.0.0.1:5000": {}}, "no secret in the file, as docker does"
    assert config.get("127.0.0.1:5000") == Credentials("alice", "pw")
    assert config.erase("127.0.0.1:5000") is True
    assert config.get("127.0.0.1:5000") is None
    actions = [line.split()[0] for line in Path(f"{helper}.log").read_text().splitlines()]
    assert actions == ["get", "store", "get", "erase", "get"]


def test_cred_helpers_per_registry_and_identity_tokens(tmp_path: Path, helper: Path) -> None:
    helper.write_text(
        json.dumps(
            {
                "https://index.docker.io/v1/": {"Username": "<token>", "Secret": "refresh"},
            }
        )
    )
    auth = base64.b64encode(b"file:pw").decode()
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "credHelpers": {"docker.io": "fake"},
                "auths": {"127.0.0.1:5000": {"auth": auth}},
            }
        )
    )
    config = DockerConfig(tmp_path)
    assert config.helper_for("docker.io") == "fake"
    assert config.helper_for("127.0.0.1:5000") is None
    assert config.get("docker.io") == Credentials(identity_token="refresh")
    assert config.get("127.0.0.1:5000") == Credentials("file", "pw")


def test_missing_helper_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "does-not-exist"}))
    with pytest.raises(CredentialsError, match="docker-credential-does-not-exist not found"):
        DockerConfig(tmp_path).get("127.0.0.1:5000")
