"""Layer blobs that come out the same every time: the same entries give the same digest.

Entries are written in path order (a directory before what it holds) as POSIX pax tar with one
fixed modification time (``SOURCE_DATE_EPOCH``), no user or group names, and gzip'ed at a fixed
level with neither a file name nor a time in the gzip header.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from dataclasses import dataclass
from typing import IO, cast

from dockyard.client.blobstore import BlobStore
from dockyard.client.build.tree import BLOCK, CHAR, DIR, FIFO, FILE, SYMLINK, DiskFile, Node
from dockyard.client.errors import BuildError

MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
GZIP_LEVEL = 6
_TYPES = {
    FILE: tarfile.REGTYPE,
    DIR: tarfile.DIRTYPE,
    SYMLINK: tarfile.SYMTYPE,
    CHAR: tarfile.CHRTYPE,
    BLOCK: tarfile.BLKTYPE,
    FIFO: tarfile.FIFOTYPE,
}


@dataclass(frozen=True)
class Layer:
    """A stored layer: blob digest and size, and the digest of the plain tar (diff ID)."""

    digest: str
    size: int
    diff_id: str

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": MEDIA_TYPE, "digest": self.digest, "size": self.size}


class _Hashing:
    """Hashes the plain tar on its way into gzip."""

    def __init__(self, out: gzip.GzipFile) -> None:
        self.out = out
        self.hasher = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        return self.out.write(data)


def tar_info(path: str, node: Node, mtime: int) -> tarfile.TarInfo:
    """The normalised header of an entry."""
    info = tarfile.TarInfo(path)
    info.type = _TYPES[node.kind]
    info.mode = node.mode & 0o7777
    info.uid, info.gid = node.uid, node.gid
    info.uname = info.gname = ""
    info.mtime = mtime
    if node.kind == SYMLINK:
        info.linkname = node.link
    if node.kind in (CHAR, BLOCK):
        info.devmajor, info.devminor = node.devmajor, node.devminor
    return info


def write_layer(blobs: BlobStore, entries: list[tuple[str, Node]], mtime: int) -> Layer:
    """Store the entries (file contents on disk) as a gzip'ed tar layer."""
    blobs.ensure()
    with blobs.writer() as writer:
        packed = gzip.GzipFile(
            filename="",
            mode="wb",
            fileobj=cast(IO[bytes], writer),
            compresslevel=GZIP_LEVEL,
            mtime=0,
        )
        hashing = _Hashing(packed)
        with tarfile.open(
            fileobj=cast(IO[bytes], hashing), mode="w|", format=tarfile.PAX_FORMAT
        ) as tar:
            for path, node in sorted(entries, key=lambda item: item[0]):
                info = tar_info(path, node, mtime)
                if node.kind != FILE:
                    tar.addfile(info)
                    continue
                if not isinstance(node.source, DiskFile):
                    raise BuildError(f"internal error: no content for /{path}")
                # O_NOFOLLOW: a context file swapped for a link cannot pull in outside files
                fd = os.open(node.source.path, os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(fd, "rb") as content:
                    info.size = os.fstat(content.fileno()).st_size
                    tar.addfile(info, content)
        packed.close()
        digest = writer.commit()
        return Layer(digest, writer.size, f"sha256:{hashing.hasher.hexdigest()}")
