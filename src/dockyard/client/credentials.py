"""Registry credentials kept the way docker keeps them: ``config.json`` and credential helpers.

``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``) holds ``auths`` entries with a
base64 ``user:password`` ``auth``; ``credsStore`` and ``credHelpers`` name ``docker-credential-*``
programs that ``get``/``store``/``erase`` secrets over stdin and stdout.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.client.errors import CredentialsError
from dockyard.client.reference import DEFAULT_DOMAIN, DOCKER_HUB_CONFIG_KEY

#: The username a credential helper returns for an identity (refresh) token.
TOKEN_USERNAME = "<token>"  # noqa: S105 - a marker, not a secret
_HUB_ALIASES = frozenset(
    {DEFAULT_DOMAIN, "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
_HELPER_TIMEOUT = 60


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username and password, or an identity (refresh) token."""

    username: str = ""
    password: str = ""
    identity_token: str = ""

    def __bool__(self) -> bool:
        return bool((self.username and self.password) or self.identity_token)


def config_dir() -> Path:
    """``$DOCKER_CONFIG``, else ``~/.docker``."""
    configured = os.environ.get("DOCKER_CONFIG")
    return Path(configured) if configured else Path.home() / ".docker"


def config_key(domain: str) -> str:
    """The ``auths`` key docker uses for a registry (Docker Hub has its historic URL)."""
    return DOCKER_HUB_CONFIG_KEY if domain in _HUB_ALIASES else domain


def _hostname(key: str) -> str:
    """``https://host:5000/v2/`` -> ``host:5000`` (how docker matches ``auths`` keys)."""
    text = key
    for prefix in ("http://", "https://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    host = text.split("/", 1)[0]
    return DEFAULT_DOMAIN if host in _HUB_ALIASES else host


class DockerConfig:
    """One docker ``config.json``: read it, look credentials up, store and erase them."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or config_dir()
        self.path = self.directory / "config.json"

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise CredentialsError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise CredentialsError(f"{self.path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise CredentialsError(f"{self.path} must hold a JSON object")
        return data

    def _write(self, data: dict[str, Any]) -> None:
        """Replace the file atomically, private to its owner, keeping everything else in it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="config.json.", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent="\t")
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def helper_for(self, domain: str) -> str | None:
        """The helper configured for ``domain``: ``credHelpers``, else ``credsStore``."""
        data = self._read()
        helpers = data.get("credHelpers") or {}
        if isinstance(helpers, dict):
            for key in (domain, config_key(domain)):
                if isinstance(helpers.get(key), str) and helpers[key]:
                    return str(helpers[key])
        store = data.get("credsStore")
        return str(store) if isinstance(store, str) and store else None

    def _auth_entry(self, data: dict[str, Any], domain: str) -> tuple[str, dict[str, Any]] | None:
        auths = data.get("auths") or {}
        if not isinstance(auths, dict):
            return None
        key = config_key(domain)
        if isinstance(auths.get(key), dict):
            return key, auths[key]
        wanted = _hostname(key)
        for other, entry in auths.items():
            if isinstance(entry, dict) and _hostname(str(other)) == wanted:
                return str(other), entry
        return None

    def get(self, domain: str) -> Credentials | None:
        """The credentials for ``domain``, from its helper or from ``auths``; None if none."""
        helper = self.helper_for(domain)
        if helper:
            return helper_get(helper, config_key(domain))
        found = self._auth_entry(self._read(), domain)
        return _decode_entry(found[1]) if found else None

    def store(self, domain: str, credentials: Credentials) -> None:
        """Save credentials as docker would: in the helper, else base64 in ``auths``."""
        data = self._read()
        key = config_key(domain)
        auths = data.setdefault("auths", {})
        if not isinstance(auths, dict):
            raise CredentialsError(f"{self.path}: 'auths' must be an object")
        found = self._auth_entry(data, domain)
        if found and found[0] != key:
            del auths[found[0]]
        helper = self.helper_for(domain)
        if helper:
            helper_store(helper, key, credentials)
            auths[key] = {}
        else:
            entry: dict[str, Any] = {}
            if credentials.identity_token:
                entry["identitytoken"] = credentials.identity_token
                secret = f"{credentials.username}:"
            else:
                secret = f"{credentials.username}:{credentials.password}"
            entry["auth"] = base64.b64encode(secret.encode()).decode()
            auths[key] = entry
        self._write(data)

    def erase(self, domain: str) -> bool:
        """Forget the credentials for ``domain``; True if there were any."""
        data = self._read()
        removed = False
        helper = self.helper_for(domain)
        if helper:
            removed = helper_erase(helper, config_key(domain))
        auths = data.get("auths")
        found = self._auth_entry(data, domain)
        while isinstance(auths, dict) and found:
            del auths[found[0]]
            removed = True
            found = self._auth_entry(data, domain)
        if removed or helper:
            self._write(data)
        return removed


def _decode_entry(entry: dict[str, Any]) -> Credentials | None:
    username, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth, validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialsError("invalid base64 'auth' in docker config") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise CredentialsError("invalid 'auth' in docker config: no ':' separator")
    token = str(entry.get("identitytoken") or "")
    found = Credentials(username, password, token)
    return found if found else None


# --- docker-credential-* helpers --------------------------------------------------------
def _helper_run(helper: str, action: str, stdin: str) -> subprocess.CompletedProcess[str]:
    program = f"docker-credential-{helper}"
    path = shutil.which(program)
    if path is None:
        raise CredentialsError(f"credential helper {program} not found on PATH")
    try:
        return subprocess.run(
            [path, action],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=_HELPER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CredentialsError(f"credential helper {program} {action} failed: {exc}") from None


def _helper_failure(helper: str, action: str, result: subprocess.CompletedProcess[str]) -> str:
    detail = result.stdout.strip() or result.stderr.strip() or f"exit {result.returncode}"
    return f"credential helper docker-credential-{helper} {action}: {detail.splitlines()[0]}"


def _not_found(result: subprocess.CompletedProcess[str]) -> bool:
    return "credentials not found" in (result.stdout + result.stderr).lower()


def helper_get(helper: str, server: str) -> Credentials | None:
    """``docker-credential-HELPER get``; None when it has nothing for ``server``."""
    result = _helper_run(helper, "get", server)
    if result.returncode != 0:
        if _not_found(result):
            return None
        raise CredentialsError(_helper_failure(helper, "get", result))
    try:
        doc = json.loads(result.stdout)
    except ValueError:
        raise CredentialsError(f"credential helper {helper} returned invalid JSON") from None
    username, secret = str(doc.get("Username") or ""), str(doc.get("Secret") or "")
    if username == TOKEN_USERNAME:
        return Credentials(identity_token=secret) if secret else None
    found = Credentials(username, secret)
    return found if found else None


def helper_store(helper: str, server: str, credentials: Credentials) -> None:
    """``docker-credential-HELPER store`` (an identity token goes in as ``<token>``)."""
    if credentials.identity_token:
        username, secret = TOKEN_USERNAME, credentials.identity_token
    else:
        username, secret = credentials.username, credentials.password
    payload = json.dumps({"ServerURL": server, "Username": username, "Secret": secret})
    result = _helper_run(helper, "store", payload)
    if result.returncode != 0:
        raise CredentialsError(_helper_failure(helper, "store", result))


def helper_erase(helper: str, server: str) -> bool:
    """``docker-credential-HELPER erase``; False when it had nothing for ``server``."""
    result = _helper_run(helper, "erase", server)
    if result.returncode != 0:
        if _not_found(result):
            return False
        raise CredentialsError(_helper_failure(helper, "erase", result))
    return True
