"""A throwaway PostgreSQL cluster for tests: ``initdb`` in a temp dir, ``pg_ctl`` start and stop.

The server refuses to run as root, so when the tests run as root every server command runs as the
``postgres`` user (``runuser``) in a temp dir that user owns. The cluster listens on 127.0.0.1 and
on a Unix socket in its own dir; authentication is ``trust`` for the superuser ``dockyard``.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from tests.support.servers import free_port

#: The server's superuser; ``initdb -U`` creates it.
SUPERUSER = "dockyard"
#: Settings that trade durability for speed: the cluster is thrown away after the session.
#: (``wal_level=minimal`` with ``CREATE DATABASE ... STRATEGY FILE_COPY`` makes a fresh database
#: from the template in ~50 ms instead of ~400 ms.)
FAST_SETTINGS = (
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "wal_level=minimal",
    "max_wal_senders=0",
    "max_connections=200",
)


#: A default collation that is NOT byte order, as on a server whose locale is en_US.UTF-8:
#: queries that must order by code point (tag and catalog listing) have to say so.
LINGUISTIC_LOCALE = ("--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US")


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: env, PATH, then Debian's layout."""
    candidates: list[str] = []
    if env := os.environ.get("DOCKYARD_TEST_PG_BINDIR"):
        candidates.append(env)
    if on_path := shutil.which("pg_ctl"):
        candidates.append(str(Path(on_path).resolve().parent))
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


def _server_user() -> str | None:
    """``postgres`` when running as root (the server refuses root); None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return ""
    return "postgres"


def _scratch_dir() -> str:
    """Where the cluster lives: tmpfs when there is room (no disk I/O), else ``/tmp``.

    The path stays short: the Unix socket path (DIR/.s.PGSQL.PORT) must fit in 107 bytes.
    """
    shm = "/dev/shm"
    try:
        stat = os.statvfs(shm)
        if os.access(shm, os.W_OK) and stat.f_bavail * stat.f_frsize > 2 * 1024**3:
            return shm
    except OSError:
        pass
    return "/tmp"


def postgres_available() -> bool:
    """True when a cluster can be started here."""
    return find_bindir() is not None and _server_user() != ""


@dataclass
class PostgresCluster:
    """One running cluster; :meth:`create_database` hands out fresh databases."""

    bindir: Path
    root: Path
    port: int
    user: str | None
    _stopped: bool = field(default=False, repr=False)

    # --- lifecycle -------------------------------------------------------------------------
    @classmethod
    def start(cls, bindir: Path | None = None, timeout: float = 60.0) -> PostgresCluster:
        """``initdb`` a new cluster in a temp dir and start it on a free port."""
        bindir = bindir or find_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        user = _server_user()
        if user == "":
            raise RuntimeError("running as root but there is no 'postgres' user")
        root = Path(tempfile.mkdtemp(prefix="dky-pg-", dir=_scratch_dir()))
        if user is not None:
            shutil.chown(root, user=user)
        cluster = cls(bindir=bindir, root=root, port=free_port(), user=user)
        atexit.register(cluster.stop)
        try:
            cluster._initdb()
            options = [f"-p {cluster.port}", f"-k {root}", "-c listen_addresses=127.0.0.1"]
            options += [f"-c {setting}" for setting in FAST_SETTINGS]
            cluster._run(
                "pg_ctl",
                "-D",
                str(cluster.datadir),
                "-l",
                str(cluster.logfile),
                "-o",
                " ".join(options),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            )
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _initdb(self) -> None:
        """Create the cluster, with a linguistic default collation when ICU is available."""
        base = ["-D", str(self.datadir), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--no-sync"]
        try:
            self._run("initdb", *base, *LINGUISTIC_LOCALE)
        except RuntimeError:
            shutil.rmtree(self.datadir, ignore_errors=True)
            self._run("initdb", *base)

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop``, else by its PID) and remove its files."""
        if self._stopped:
            return
        self._stopped = True
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "-t", "30", "stop")
            if self._alive(pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGQUIT)
                deadline = time.monotonic() + 10
                while self._alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if self._alive(pid):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def pid(self) -> int | None:
        """The postmaster's PID, from ``postmaster.pid``."""
        try:
            return int((self.datadir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    @staticmethod
    def _alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.root)
        if result.returncode != 0:
            log = self.logfile.read_text()[-3000:] if self.logfile.exists() else ""
            raise RuntimeError(
                f"{tool} failed ({result.returncode}): {result.stderr.strip()}\n{log}"
            )

    @property
    def datadir(self) -> Path:
        return self.root / "db"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    # --- databases -------------------------------------------------------------------------
    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this cluster (TCP on 127.0.0.1)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """Create a database (a copy of ``template`` if given); return its name."""
        name = name or f"test_{uuid.uuid4().hex[:12]}"
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            stmt = sql.SQL("{} TEMPLATE {} STRATEGY FILE_COPY").format(
                stmt, sql.Identifier(template)
            )
        with self._admin() as conn:
            conn.execute(stmt)
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing any connection still open to it."""
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def create_template(self, name: str, build: Callable[[str], None]) -> str:
        """Create database ``name``, let ``build(url)`` fill it, and return its name.

        ``build`` must close its connections: PostgreSQL copies a template only while nobody
        is connected to it.
        """
        self.create_database(name)
        build(self.url(name))
        return name
