"""The two servers under test, each a subprocess on 127.0.0.1 with data in its own temp dir."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import free_port, stop_process


class ServerError(RuntimeError):
    """A server could not be started."""


@dataclass
class Server(ABC):
    """A registry server process; subclasses say how to start it."""

    name: str
    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, as registry clients name it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @abstractmethod
    def command(self) -> list[str]:
        """The command line that starts the server."""

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def prepare(self) -> None:
        """Write config files, create data dirs: whatever must exist before the start."""
        self.root.mkdir(parents=True, exist_ok=True)

    def start(self, timeout: float = 60.0) -> Server:
        self.prepare()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"{self.name} exited at start: {self.log_tail()}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise ServerError(f"{self.name} did not answer within {timeout}s: {self.log_tail()}")

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/v2/")
            return conn.getresponse().status in (200, 401)
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


@dataclass
class DockyardServer(Server):
    """``dockyard serve`` (open registry unless ``auth``), delete enabled."""

    workers: int = 1
    fsync: bool = True
    auth: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def base_command(self) -> list[str]:
        return [sys.executable, "-m", "dockyard"]

    def command(self) -> list[str]:
        return [
            *self.base_command(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--workers",
            str(self.workers),
        ]

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("DOCKYARD_")}
        env.update(
            {
                "DOCKYARD_AUTH__ENABLED": "true" if self.auth else "false",
                "DOCKYARD_STORAGE__FSYNC": "true" if self.fsync else "false",
                "DOCKYARD_REGISTRY__DELETE_ENABLED": "true",
                **self.extra_env,
            }
        )
        return env

    def create_user(self, username: str, password: str) -> None:
        """``dockyard user create`` (before or while the server runs)."""
        result = subprocess.run(
            [
                *self.base_command(),
                "user",
                "create",
                username,
                "--email",
                f"{username}@bench.invalid",
                "--password-stdin",
                "--data-dir",
                str(self.data_dir),
            ],
            input=password + "\n",
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise ServerError(f"dockyard user create failed: {result.stdout}{result.stderr}")


DISTRIBUTION_CONFIG = """\
version: 0.1
log:
  level: info
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


@dataclass
class DistributionServer(Server):
    """CNCF Distribution 2.8 (``docker-registry serve``): filesystem driver, delete enabled.

    The configuration is the Debian package's default one (in-memory blob descriptor cache,
    info logging with access log) without auth, bound to 127.0.0.1.
    """

    binary: str = "docker-registry"

    @property
    def config_path(self) -> Path:
        return self.root / "config.yml"

    def prepare(self) -> None:
        super().prepare()
        storage = self.root / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(DISTRIBUTION_CONFIG.format(root=storage, port=self.port))

    def command(self) -> list[str]:
        return [self.binary, "serve", str(self.config_path)]

    def environment(self) -> dict[str, str]:
        return {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}


def distribution_binary() -> str | None:
    """The reference registry's binary, or None when it is not installed."""
    return shutil.which("docker-registry")
