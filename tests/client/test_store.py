"""The local image store never shows half-written content: blobs, index.json, archives."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest

from dockyard.client.blobstore import atomic_write
from dockyard.client.errors import DiskFull, NotFound, VerificationFailed
from dockyard.client.store import NAME_ANNOTATION, REF_ANNOTATION, ImageStore, default_home

DATA = os.urandom(3 * 1024 * 1024 + 17)
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "home").ensure()


def _visible(store: ImageStore) -> set[str]:
    return set(store.blobs.all_digests())


def test_layout_and_default_home(
    store: ImageStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert json.loads((store.root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert json.loads(store.index_path.read_text())["manifests"] == []
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "x"))
    assert default_home() == tmp_path / "x"
    monkeypatch.delenv("DOCKYARD_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_home() == tmp_path / "xdg" / "dockyard"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h" / ".local" / "share" / "dockyard"


def test_interrupted_download_is_kept_invisible_and_resumed(store: ImageStore) -> None:
    half = len(DATA) // 2

    def broken_download() -> None:
        with store.blobs.ingest(DIGEST, len(DATA)) as ingest:
            ingest.write(DATA[:half])
            raise ConnectionError("the network went away")

    with pytest.raises(ConnectionError):
        broken_download()
    assert DIGEST not in _visible(store), "a partial blob must never be visible"
    with store.blobs.ingest(DIGEST, len(DATA)) as ingest:
        assert ingest.offset == half, "the partial download is resumed"
        ingest.write(DATA[half:])
        ingest.commit()
    assert store.blobs.read(DIGEST) == DATA
    assert not any(store.blobs.ingest_dir.iterdir()), "the partial file became the blob"


def test_corrupt_download_is_discarded(store: ImageStore) -> None:
    with store.blobs.ingest(DIGEST, len(DATA)) as ingest:
        ingest.write(b"x" * len(DATA))
        with pytest.raises(VerificationFailed, match="does not match"):
            ingest.commit()
    assert DIGEST not in _visible(store)
    with store.blobs.ingest(DIGEST, len(DATA)) as ingest:
        assert ingest.offset == 0, "the bad partial was thrown away"


def test_oversized_download_is_refused(store: ImageStore) -> None:
    with store.blobs.ingest(DIGEST, 10) as ingest, pytest.raises(VerificationFailed):
        ingest.write(DATA[:11])
    assert DIGEST not in _visible(store)


def test_writer_and_put_verify_before_showing(store: ImageStore) -> None:
    with store.blobs.writer() as writer:
        writer.write(b"hello")
        with pytest.raises(VerificationFailed):
            writer.commit("sha256:" + "0" * 64)
    with pytest.raises(VerificationFailed):
        store.blobs.put(b"hello", "sha256:" + "0" * 64)
    assert _visible(store) == set()
    assert not list(store.blobs.tmp_dir.iterdir()), "temp files are cleaned up"
    digest = store.blobs.put(b"hello")
    assert store.blobs.read(digest) == b"hello"


def test_disk_full_is_a_clear_error_and_leaves_nothing(
    store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFull, match="no space left on device"):
        store.blobs.put(b"some config")
    assert _visible(store) == set()
    assert not list(store.blobs.tmp_dir.iterdir())


def _manifest(store: ImageStore) -> dict[str, object]:
    config = store.blobs.put(b'{"architecture":"amd64","os":"linux"}')
    layer = store.blobs.put(b"layer")
    doc = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config,
            "size": 38,
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": 5}
        ],
    }
    data = json.dumps(doc).encode()
    return {"mediaType": doc["mediaType"], "digest": store.blobs.put(data), "size": len(data)}


def test_index_names_images_like_docker_and_containerd(store: ImageStore) -> None:
    desc = _manifest(store)
    store.assign("127.0.0.1:5000/app:1.0", desc)
    entry = json.loads(store.index_path.read_text())["manifests"][0]
    assert entry["annotations"] == {
        NAME_ANNOTATION: "127.0.0.1:5000/app:1.0",
        REF_ANNOTATION: "1.0",
    }
    assert store.find("127.0.0.1:5000/app:1.0") is not None
    with pytest.raises(NotFound):
        store.assign("127.0.0.1:5000/app:2.0", {**desc, "digest": "sha256:" + "1" * 64})


def test_index_is_replaced_whole_or_not_at_all(
    store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    desc = _manifest(store)
    store.assign("127.0.0.1:5000/app:1.0", desc)
    before = store.index_path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise KeyboardInterrupt  # killed between writing the temp file and renaming it

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.assign("127.0.0.1:5000/app:2.0", desc)
    monkeypatch.undo()
    assert store.index_path.read_bytes() == before
    assert not [p for p in store.blobs.tmp_dir.iterdir()], "no temp file is left behind"


def test_gc_keeps_named_content_and_waits_for_writers(store: ImageStore) -> None:
    desc = _manifest(store)
    store.assign("127.0.0.1:5000/app:1.0", desc)
    stray = store.blobs.put(b"nothing names me")
    with store.writing():
        assert store.gc() == 0, "garbage collection waits while blobs are being added"
        assert store.blobs.has(stray)
    assert store.gc() == len(b"nothing names me")
    assert not store.blobs.has(stray)
    assert len(_visible(store)) == 3
    store.untag("127.0.0.1:5000/app:1.0")
    store.gc()
    assert _visible(store) == set()


def test_atomic_write_replaces_existing_files(tmp_path: Path) -> None:
    target = tmp_path / "f"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
