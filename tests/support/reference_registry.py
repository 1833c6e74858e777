"""The reference registry (CNCF Distribution, Debian's ``docker-registry``) on 127.0.0.1.

Started with a minimal config (filesystem storage, deletes enabled) and stopped by PID, so
client tests can run the same steps against it and against Dockyard.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.servers import free_port
from tests.support.tools import which

CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""

HTPASSWD_AUTH = """\
auth:
  htpasswd:
    realm: basic-realm
    path: {path}
"""


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash for an htpasswd file (glibc's crypt; no extra package needed)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))


def reference_registry_binary() -> str | None:
    """The ``docker-registry`` executable, if installed."""
    return which("docker-registry")


@dataclass
class ReferenceRegistry:
    """One ``docker-registry serve`` process; ``host`` is ``127.0.0.1:PORT``."""

    binary: str
    directory: Path
    port: int = field(default_factory=free_port)
    #: Users for HTTP Basic auth (htpasswd); empty means an open registry.
    users: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "registry.log"

    def start(self, timeout: float = 30.0) -> ReferenceRegistry:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "config.yml"
        text = CONFIG.format(root=self.directory / "storage", port=self.port)
        if self.users:
            htpasswd = self.directory / "htpasswd"
            htpasswd.write_text(
                "".join(f"{user}:{bcrypt_hash(pw)}\n" for user, pw in self.users.items())
            )
            text += HTPASSWD_AUTH.format(path=htpasswd)
        config.write_text(text)
        env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "serve", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self._log_tail()}")
            try:
                if httpx.get(f"{self.url}/v2/", timeout=1).status_code in (200, 401):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"docker-registry did not start: {self._log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"
