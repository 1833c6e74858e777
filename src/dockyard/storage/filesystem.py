"""Local-disk storage driver: objects are files under one root directory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat as stat_module
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import anyio.to_thread

from dockyard.storage import paths
from dockyard.storage.interface import (
    InvalidKey,
    ObjectInfo,
    StorageDriver,
    StorageError,
    StorageNotFound,
    UploadInfo,
    UploadOffsetMismatch,
)
from dockyard.storage.writeback import start_writeback

_WRITE_BUFFER = 1 << 20
_READ_CHUNK = 1 << 20
_UPLOADS = paths.UPLOADS_DIR


#: Where a placed upload's data is kept until the upload is discarded (a hard link of the blob).
_PLACED = "placed"


class FilesystemDriver(StorageDriver):
    """Stores each object as ``<root>/<key>``; uploads as ``<root>/uploads/<id>/data``.

    Placing an upload renames ``data`` to ``placed`` (no more writes) and hard-links it to the
    object's path, so the upload keeps its own copy until it is discarded.
    """

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

    def _readable_upload_path(self, upload_id: str) -> Path:
        """The upload's data: still open (``data``) or already placed (``placed``)."""
        path = self._upload_path(upload_id)
        if path.exists():
            return path
        placed = path.with_name(_PLACED)
        return placed if placed.exists() else path

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
        return ObjectInfo(key=key, size=st.st_size, modified=_changed(st))

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

    async def list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        async for key in self.list(prefix):
            try:
                st = os.stat(self._path(key))
            except (FileNotFoundError, NotADirectoryError):
                continue  # deleted since the directory was read
            yield ObjectInfo(key=key, size=st.st_size, modified=_changed(st))

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    # --- uploads ---------------------------------------------------------------------
    async def create_upload(self, upload_id: str) -> None:
        path = self._upload_path(upload_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=False)

    async def upload_size(self, upload_id: str) -> int:
        try:
            return os.stat(self._readable_upload_path(upload_id)).st_size
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
                        in_flight = loop.run_in_executor(
                            None, _write_batch, fd, parts, size, batch, self.fsync
                        )
                        size += batch
                        parts, batch = [], 0
            finally:
                if in_flight is not None:
                    await in_flight
            if parts:
                await anyio.to_thread.run_sync(_write_batch, fd, parts, size, batch, self.fsync)
                size += batch
            return size
        finally:
            os.close(fd)

    async def read_upload(self, upload_id: str) -> AsyncIterator[bytes]:
        path = self._readable_upload_path(upload_id)
        async for chunk in self.read(path.relative_to(self.root).as_posix()):
            yield chunk

    async def place_upload(self, upload_id: str, key: str, size: int) -> None:
        source = self._upload_path(upload_id)
        target = self._path(key)
        await anyio.to_thread.run_sync(self._place_sync, source, target, size)

    def _place_sync(self, source: Path, target: Path, size: int) -> None:
        placed = source.with_name(_PLACED)
        if source.exists():
            if self.fsync:
                fd = os.open(source, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            # Renamed first: a PATCH opening the upload from now on finds nothing to append to,
            # so the bytes hard-linked to the blob never change.
            os.replace(source, placed)
        elif not placed.exists():
            raise StorageNotFound(source.parent.name)
        actual = os.stat(placed).st_size
        if actual != size:
            raise StorageError(f"upload {source.parent.name} has {actual} bytes, not {size}")
        os.utime(placed)  # its age is the time it was placed, not of its last write
        for _attempt in range(10):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(placed, target)
            except FileExistsError:
                return  # the blob exists: keep it
            except FileNotFoundError:
                # The directory was pruned meanwhile (a delete of the same key emptied it).
                if not placed.exists():
                    raise StorageNotFound(source.parent.name) from None
                continue
            except OSError:
                self._copy_into_place(placed, target)  # a filesystem without hard links
            break
        else:
            raise StorageError(f"could not place upload {source.parent.name} at {target}")
        if self.fsync:
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def _copy_into_place(self, source: Path, target: Path) -> None:
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            shutil.copyfile(source, tmp)
            if self.fsync:
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            if not target.exists():
                os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    async def abort_upload(self, upload_id: str) -> None:
        directory = self._upload_path(upload_id).parent
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(directory, ignore_errors=True))

    async def list_uploads(self) -> AsyncIterator[UploadInfo]:
        base = self.root / _UPLOADS
        try:
            entries = await anyio.to_thread.run_sync(lambda: sorted(os.listdir(base)))
        except (FileNotFoundError, NotADirectoryError):
            return
        for name in entries:
            if not paths.is_valid_upload_id(name):
                continue
            found = await anyio.to_thread.run_sync(_upload_state, base / name)
            if found is not None:
                yield UploadInfo(id=name, modified=found[0], size=found[1])


def _changed(st: os.stat_result) -> datetime:
    """When a file was last written or linked (the later of its mtime and ctime), in UTC."""
    return datetime.fromtimestamp(max(st.st_mtime, st.st_ctime), UTC)


def _upload_state(directory: Path) -> tuple[datetime, int] | None:
    """The latest change of an upload's directory or files, and its size; None if gone."""
    size = 0
    try:
        latest = _changed(os.stat(directory))
        with os.scandir(directory) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    st = entry.stat(follow_symlinks=False)
                    latest = max(latest, _changed(st))
                    if entry.name in ("data", _PLACED):
                        size = st.st_size
    except (FileNotFoundError, NotADirectoryError):
        return None
    return latest, size


def _write_batch(fd: int, parts: list[bytes], offset: int, length: int, fsync: bool) -> None:
    """Write a batch of an upload at ``offset``; with fsync on, start its writeback now so the
    fsync when the upload becomes a blob has little left to do."""
    _writev_all(fd, parts)
    if fsync:
        start_writeback(fd, offset, length)


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
