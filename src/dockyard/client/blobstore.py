"""Content-addressed blob files of the local store, written so a crash never leaves junk visible.

Every blob is written to a temp file (or a resumable partial file under ``ingest/``), its size
and digest checked, fsynced, then renamed into ``blobs/<alg>/<hex>``: a blob that is visible is
complete and verified.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO

from dockyard.client.errors import DiskFull, NotFound, VerificationFailed

_CHUNK = 1 << 20


def disk_full(exc: OSError, where: Path) -> DiskFull | OSError:
    """A :class:`DiskFull` for ENOSPC/EDQUOT, else the error itself."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"no space left on device while writing to {where}")
    return exc


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes, tmp_dir: Path | None = None) -> None:
    """Write ``data`` to ``path`` via a temp file and a rename (never half-written)."""
    directory = tmp_dir or path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise disk_full(exc, path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def _split(digest: str) -> tuple[str, str]:
    algorithm, sep, encoded = digest.partition(":")
    if not sep or not algorithm.isalnum() or not encoded.isalnum():
        raise VerificationFailed(f"invalid digest {digest!r}")
    return algorithm, encoded


class BlobStore:
    """``blobs/``, ``ingest/`` (partial downloads, kept to resume) and ``tmp/`` under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.ingest_dir = root / "ingest"
        self.tmp_dir = root / "tmp"

    def ensure(self) -> None:
        for directory in (self.blobs / "sha256", self.ingest_dir, self.tmp_dir):
            directory.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        algorithm, encoded = _split(digest)
        return self.blobs / algorithm / encoded

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        return self.path(digest).stat().st_size

    def read(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not in the local store") from None

    def open(self, digest: str) -> BinaryIO:
        try:
            return self.path(digest).open("rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not in the local store") from None

    def iter_chunks(self, digest: str, chunk_size: int = _CHUNK) -> Iterator[bytes]:
        with self.open(digest) as source:
            while chunk := source.read(chunk_size):
                yield chunk

    def put(self, data: bytes, digest: str | None = None) -> str:
        """Store ``data`` (checked against ``digest`` when given); its digest."""
        algorithm = digest.partition(":")[0] if digest else "sha256"
        actual = f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
        if digest and actual != digest:
            raise VerificationFailed(f"content does not match {digest}")
        target = self.path(actual)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, data, self.tmp_dir)
        return actual

    def ingest(self, digest: str, size: int | None) -> Ingest:
        """A resumable, locked writer for the blob ``digest``."""
        _split(digest)
        self.ensure()
        return Ingest(self, digest, size)

    def writer(self) -> BlobWriter:
        """A writer for content whose digest is known only at the end."""
        self.ensure()
        return BlobWriter(self)

    def all_digests(self) -> Iterator[str]:
        if not self.blobs.is_dir():
            return
        for algorithm_dir in self.blobs.iterdir():
            if algorithm_dir.is_dir():
                for blob in algorithm_dir.iterdir():
                    yield f"{algorithm_dir.name}:{blob.name}"

    def remove(self, digest: str) -> int:
        path = self.path(digest)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size


class Ingest:
    """A partial download under ``ingest/``: locked, hashed as it grows, kept on failure."""

    def __init__(self, store: BlobStore, digest: str, size: int | None) -> None:
        self.store = store
        self.digest = digest
        self.expected_size = size
        algorithm, encoded = _split(digest)
        self.path = store.ingest_dir / f"{algorithm}-{encoded}"
        self._file: IO[bytes] | None = None
        self.hasher = hashlib.new(algorithm)
        self.offset = 0

    def __enter__(self) -> Ingest:
        self._file = self.path.open("a+b")
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        self._file.seek(0)
        while chunk := self._file.read(_CHUNK):
            self.hasher.update(chunk)
            self.offset += len(chunk)
        if self.expected_size is not None and self.offset > self.expected_size:
            self.reset()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def done(self) -> bool:
        """True when another writer already stored the blob."""
        return self.store.has(self.digest)

    def reset(self) -> None:
        """Throw the partial content away and start over."""
        assert self._file is not None
        self._file.truncate(0)
        self._file.seek(0)
        self.hasher = hashlib.new(self.hasher.name)
        self.offset = 0

    def write(self, chunk: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(chunk)
        except OSError as exc:
            raise disk_full(exc, self.path) from None
        self.hasher.update(chunk)
        self.offset += len(chunk)
        if self.expected_size is not None and self.offset > self.expected_size:
            raise VerificationFailed(
                f"blob {self.digest} is larger than its {self.expected_size} bytes"
            )

    def commit(self) -> None:
        """Verify size and digest, then make the blob visible; a mismatch discards it."""
        assert self._file is not None
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise disk_full(exc, self.path) from None
        actual = f"{self.hasher.name}:{self.hasher.hexdigest()}"
        wrong_size = self.expected_size is not None and self.offset != self.expected_size
        if actual != self.digest or wrong_size:
            self.reset()
            raise VerificationFailed(
                f"downloaded blob does not match {self.digest} "
                f"({self.offset} bytes, {actual}); the partial download was discarded"
            )
        target = self.store.path(self.digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        fsync_dir(target.parent)


class BlobWriter:
    """Write to a temp file while hashing; ``commit`` moves it under its digest."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        fd, name = tempfile.mkstemp(prefix=".blob-", dir=store.tmp_dir)
        self.path = Path(name)
        self._file: IO[bytes] = os.fdopen(fd, "wb")
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        try:
            self._file.write(chunk)
        except OSError as exc:
            raise disk_full(exc, self.path) from None
        self.hasher.update(chunk)
        self.size += len(chunk)

    def commit(self, expected: str | None = None) -> str:
        """Make the content visible under its digest (checked against ``expected``)."""
        digest = f"sha256:{self.hasher.hexdigest()}"
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            if expected and expected != digest:
                raise VerificationFailed(f"content does not match {expected} (got {digest})")
            target = self.store.path(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path, target)
        except OSError as exc:
            raise disk_full(exc, self.path) from None
        finally:
            self.discard()
        fsync_dir(target.parent)
        return digest

    def discard(self) -> None:
        self._file.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()
