"""A private Docker engine (``dockerd``) for end-to-end tests, started and stopped by PID.

It runs exactly as ``/work/shared/ENVIRONMENT.md`` shows: vfs storage, no iptables, no bridge,
its own data root, exec root, pidfile and unix socket in a short directory under ``/tmp``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.tools import remove_tree, run, short_temp_dir, which

BUSYBOX = Path("/bin/busybox")


@dataclass
class DockerEngine:
    """One ``dockerd`` process; ``env`` points the ``docker`` CLI at it."""

    dockerd: str
    docker_cli: str
    root: Path = field(default_factory=lambda: short_temp_dir("dk-"))
    process: subprocess.Popen[bytes] | None = None
    #: ``vfs`` works everywhere; ``overlay2`` builds images much faster where it works.
    storage_driver: str = "vfs"

    @property
    def socket(self) -> Path:
        return self.root / "sock"

    @property
    def host(self) -> str:
        """The ``DOCKER_HOST`` value of this engine."""
        return f"unix://{self.socket}"

    @property
    def log_path(self) -> Path:
        return self.root / "dockerd.log"

    @property
    def containerd_socket(self) -> Path:
        """The socket of the containerd this dockerd started (``ctr --address``)."""
        return self.root / "exec" / "containerd" / "containerd.sock"

    @property
    def env(self) -> dict[str, str]:
        """Environment for the CLI: this engine, a private config dir, the legacy builder."""
        return {
            **os.environ,
            "DOCKER_HOST": self.host,
            "DOCKER_CONFIG": str(self.root / "config"),
            "DOCKER_BUILDKIT": "0",
            "DOCKER_CLI_HINTS": "false",
        }

    def start(self, timeout: float = 60.0) -> DockerEngine:
        """Start ``dockerd`` and wait until it answers ``/_ping``."""
        if len(str(self.socket)) > 100:
            raise RuntimeError(f"socket path too long for a unix socket: {self.socket}")
        (self.root / "config").mkdir(parents=True, exist_ok=True)
        cmd = [
            self.dockerd,
            f"--storage-driver={self.storage_driver}",
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            f"--data-root={self.root / 'root'}",
            f"--exec-root={self.root / 'exec'}",
            f"--pidfile={self.root / 'pid'}",
            "-H",
            self.host,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        transport = httpx.HTTPTransport(uds=str(self.socket))
        with httpx.Client(transport=transport, base_url="http://docker", timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"dockerd exited: {self._log_tail()}")
                try:
                    if self.socket.exists() and client.get("/_ping").text == "OK":
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"dockerd did not start within {timeout}s: {self._log_tail()}")

    def stop(self) -> None:
        """Stop the engine (and the containerd it started), then delete its temp dirs."""
        if self.process is not None and self.process.poll() is None:
            containerd_pid = self._containerd_pid()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if containerd_pid is not None:
                _kill_if_alive(containerd_pid)
        self.process = None
        remove_tree(self.root)

    def _containerd_pid(self) -> int | None:
        """The managed containerd this dockerd started, if it is still its child."""
        pid_file = self.root / "exec" / "containerd" / "containerd.pid"
        try:
            pid = int(pid_file.read_text().strip())
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError):
            return None
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        return pid if self.process is not None and parent == self.process.pid else None

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    # --- the CLI ---------------------------------------------------------------------------
    def docker(
        self,
        *args: str | os.PathLike[str],
        timeout: float = 180.0,
        check: bool = True,
        cli: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``docker`` CLI (or another docker CLI binary) against this engine."""
        return run([cli or self.docker_cli, *args], env=self.env, timeout=timeout, check=check)

    def build(self, context: Path, tag: str) -> str:
        """``docker build`` (legacy builder) ``context`` as ``tag``; the image ID."""
        self.docker("build", "-q", "-t", tag, context, timeout=300)
        return self.image_id(tag)

    def image_id(self, ref: str) -> str:
        """The local image ID (config digest) of ``ref``."""
        return self.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()

    def push(self, ref: str) -> str:
        """``docker push`` ``ref``; the manifest digest that docker printed."""
        out = self.docker("push", ref, timeout=300).stdout
        match = re.search(r"digest: (sha256:[0-9a-f]{64}) size: \d+", out)
        assert match, f"no digest in docker push output:\n{out}"
        return match.group(1)

    def pull(self, ref: str) -> str:
        """``docker pull`` ``ref``; the digest that docker printed."""
        out = self.docker("pull", ref, timeout=300).stdout
        match = re.search(r"Digest: (sha256:[0-9a-f]{64})", out)
        assert match, f"no digest in docker pull output:\n{out}"
        return match.group(1)

    def run_container(self, ref: str, *command: str) -> str:
        """``docker run --rm --network=none`` ``ref``; its standard output."""
        return self.docker("run", "--rm", "--network=none", ref, *command, timeout=120).stdout

    def remove_images(self, *refs: str) -> None:
        """``docker rmi`` every ref; afterwards none of them exists locally."""
        self.docker("rmi", "--force", *refs)
        for ref in refs:
            gone = self.docker("image", "inspect", ref, check=False)
            assert gone.returncode != 0, f"{ref} still present after docker rmi"


def _kill_if_alive(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def write_busybox_context(
    directory: Path, *, base: str = "scratch", files: dict[str, str] | None = None, cmd: list[str]
) -> Path:
    """A build context: ``FROM base``, busybox (only when base is scratch), files, a CMD."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"FROM {base}"]
    if base == "scratch":
        (directory / "busybox").write_bytes(BUSYBOX.read_bytes())
        (directory / "busybox").chmod(0o755)
        lines.append("COPY busybox /bin/busybox")
    for name, content in (files or {}).items():
        (directory / name).write_text(content)
        lines.append(f"COPY {name} /{name}")
    quoted = ", ".join(f'"{part}"' for part in cmd)
    lines.append(f"CMD [{quoted}]")
    (directory / "Dockerfile").write_text("\n".join(lines) + "\n")
    return directory


def find_docker_tools() -> tuple[str | None, str | None]:
    """Paths of ``dockerd`` and the ``docker`` CLI, or None for a missing one."""
    return which("dockerd"), which("docker")


def docker_clis() -> list[str]:
    """Every distinct docker CLI binary here (a 28.x in /usr/local/bin, docker.io's 20.10)."""
    found: dict[str, str] = {}
    for candidate in (which("docker"), "/usr/local/bin/docker", "/usr/bin/docker"):
        if candidate and os.access(candidate, os.X_OK):
            found.setdefault(os.path.realpath(candidate), candidate)
    return list(found.values())
