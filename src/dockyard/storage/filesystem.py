"""Local-disk storage driver: objects are files under one root directory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat as stat_module
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio.to_thread

from dockyard.storage import paths
from dockyard.storage.interface import (
    InvalidKey,
    ObjectInfo,
    StorageDriver,
    StorageNotFound,
    UploadOffsetMismatch,
)

_WRITE_BUFFER = 1 << 20
_READ_CHUNK = 1 << 20
_UPLOADS = paths.UPLOADS_DIR


class FilesystemDriver(StorageDriver):
    """Stores each object as ``<root>/<key>``; uploads as ``<root>/uploads/<id>/data``."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root.resolve()
        self.fsync = fsync
        self.root.mkdir(parents=True, exist_ok=True)

    # --- helpers ---------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        if not paths.is_valid_key(key):
            raise InvalidKey(f"invalid storage key {key!r}")
        return self.root.joinpath(*key.split("/"))

    def _upload_path(self, upload_id: str) -> Path:
        return self._path(paths.upload_prefix(upload_id) + "data")

    def _sync(self, fd: int) -> None:
        if self.fsync:
            os.fsync(fd)

    # --- whole objects -------------------------------------------------------------
    async def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat_module.S_ISREG(st.st_mode):
            return None  # a directory is only a prefix of other keys
        return ObjectInfo(key=key, size=st.st_size)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise StorageNotFound(key) from None

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        await anyio.to_thread.run_sync(self._put_sync, path, data)

    def _put_sync(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_all(fd, data)
            self._sync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            fh = await anyio.to_thread.run_sync(open, path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise StorageNotFound(key) from None
        try:
            fh.seek(offset)
            remaining = length
            while remaining is None or remaining > 0:
                size = _READ_CHUNK if remaining is None else min(_READ_CHUNK, remaining)
                chunk = await anyio.to_thread.run_sync(fh.read, size)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            fh.close()

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
            path.unlink()
        # Prune now-empty parent directories up to the root, best effort.
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    async def list(self, prefix: str) -> AsyncIterator[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            if dirpath == str(self.root) and _UPLOADS in dirnames:
                dirnames.remove(_UPLOADS)  # uploads are not objects until completed
            for name in filenames:
                if name.startswith("."):
                    continue
                full = Path(dirpath, name)
                yield full.relative_to(self.root).as_posix()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    # --- uploads ---------------------------------------------------------------------
    async def create_upload(self, upload_id: str) -> None:
        path = self._upload_path(upload_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=False)

    async def upload_size(self, upload_id: str) -> int:
        try:
            return os.stat(self._upload_path(upload_id)).st_size
        except FileNotFoundError:
            raise StorageNotFound(upload_id) from None

    async def write_upload(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        path = self._upload_path(upload_id)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            raise StorageNotFound(upload_id) from None
        try:
            size = os.fstat(fd).st_size
            if size != offset:
                raise UploadOffsetMismatch(size)
            # Chunks are gathered (not copied) and written with one writev per ~1 MiB, in a
            # worker thread while the next batch arrives (one write in flight at a time).
            loop = asyncio.get_running_loop()
            in_flight: asyncio.Future[None] | None = None
            parts: list[bytes] = []
            batch = 0
            try:
                async for chunk in chunks:
                    parts.append(chunk)
                    batch += len(chunk)
                    if batch >= _WRITE_BUFFER:
                        if in_flight is not None:
                            await in_flight
                        in_flight = loop.run_in_executor(None, _writev_all, fd, parts)
                        size += batch
                        parts, batch = [], 0
            finally:
                if in_flight is not None:
                    await in_flight
            if parts:
                await anyio.to_thread.run_sync(_writev_all, fd, parts)
                size += batch
            return size
        finally:
            os.close(fd)

    async def read_upload(self, upload_id: str) -> AsyncIterator[bytes]:
        async for chunk in self.read(paths.upload_prefix(upload_id) + "data"):
            yield chunk

    async def complete_upload(self, upload_id: str, key: str) -> None:
        source = self._upload_path(upload_id)
        target = self._path(key)
        await anyio.to_thread.run_sync(self._complete_sync, source, target)

    def _complete_sync(self, source: Path, target: Path) -> None:
        if not source.exists():
            raise StorageNotFound(str(source.parent.name))
        if self.fsync:
            fd = os.open(source, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            if self.fsync:
                dir_fd = os.open(target.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        shutil.rmtree(source.parent, ignore_errors=True)

    async def abort_upload(self, upload_id: str) -> None:
        directory = self._upload_path(upload_id).parent
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(directory, ignore_errors=True))


def _writev_all(fd: int, parts: list[bytes]) -> None:
    """Write every part, in order, resuming after short writes."""
    views = [memoryview(p) for p in parts if p]
    while views:
        written = os.writev(fd, views[:1024])
        while written and views:
            if written >= len(views[0]):
                written -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][written:]
                written = 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
