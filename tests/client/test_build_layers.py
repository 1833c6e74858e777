"""Layer blobs are deterministic: same entries, same bytes, whatever the files' times or order."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

from dockyard.client.blobstore import BlobStore
from dockyard.client.build.layers import MEDIA_TYPE, write_layer
from dockyard.client.build.tree import CHAR, DIR, FILE, SYMLINK, DiskFile, Node


def _entries(directory: Path) -> list[tuple[str, Node]]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "big").write_bytes(b"x" * 300_000)
    (directory / "small").write_text("hello\n")
    return [
        ("usr/local/bin/small", Node(FILE, 0o755, size=6, source=DiskFile(directory / "small"))),
        ("usr", Node(DIR, 0o755)),
        ("usr/local", Node(DIR, 0o755)),
        ("usr/local/bin", Node(DIR, 0o755)),
        ("usr/local/big", Node(FILE, 0o644, 1000, 1000, source=DiskFile(directory / "big"))),
        ("usr/local/link", Node(SYMLINK, 0o777, link="bin/small")),
        ("usr/local/" + "n" * 120, Node(FILE, 0o600, source=DiskFile(directory / "small"))),
        ("dev-null", Node(CHAR, 0o666, devmajor=1, devminor=3)),
    ]


def test_same_entries_give_the_same_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "store")
    first = write_layer(store, _entries(tmp_path / "a"), mtime=0)
    entries = _entries(tmp_path / "b")
    for _, node in entries:
        if isinstance(node.source, DiskFile):
            os.utime(node.source.path, (1_700_000_000, 1_700_000_000))
    second = write_layer(store, list(reversed(entries)), mtime=0)
    assert first == second
    assert first.descriptor() == {
        "mediaType": MEDIA_TYPE,
        "digest": first.digest,
        "size": first.size,
    }
    later = write_layer(store, entries, mtime=1_700_000_000)
    assert later.diff_id != first.diff_id


def test_blob_is_plain_gzip_of_a_normalised_tar(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "store")
    layer = write_layer(store, _entries(tmp_path / "files"), mtime=1234)
    blob = store.read(layer.digest)
    assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer.digest
    # gzip header: no file name flag, modification time 0
    assert blob[:4] == b"\x1f\x8b\x08\x00"
    assert blob[4:8] == b"\x00\x00\x00\x00"
    raw = gzip.decompress(blob)
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == layer.diff_id
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names), "entries in path order"
        assert names[:3] == ["dev-null", "usr", "usr/local"]
        for member in members:
            assert member.mtime == 1234
            assert (member.uname, member.gname) == ("", "")
        by_name = {m.name: m for m in members}
        assert (by_name["usr/local/big"].uid, by_name["usr/local/big"].gid) == (1000, 1000)
        assert by_name["usr/local/link"].linkname == "bin/small"
        assert by_name["dev-null"].ischr()
        assert by_name["usr/local/" + "n" * 120].size == 6
        small = tar.extractfile("usr/local/bin/small")
        assert small is not None
        assert small.read() == b"hello\n"
