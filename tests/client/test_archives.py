"""``save`` and ``load``: docker-archive and OCI layout archives, round trips, bad input."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from dockyard.client.errors import ClientError, VerificationFailed
from dockyard.client.load import load
from dockyard.client.reference import parse_reference
from dockyard.client.save import SaveItem, save
from dockyard.client.store import ImageStore
from tests.client.fake_registry import sha256

NAME = "127.0.0.1:5000/team/app:1.0"


def plain_layer(content: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    """A store holding one image (two gzip layers) named ``NAME``."""
    store = ImageStore(tmp_path / "src").ensure()
    tars = [plain_layer(b"one"), plain_layer(b"two")]
    packed = [gzip.compress(t, mtime=0) for t in tars]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in tars]},
        }
    )
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": store.blobs.put(config.encode()),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": store.blobs.put(p),
                    "size": len(p),
                }
                for p in packed
            ],
        }
    ).encode()
    store.assign(
        NAME,
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": store.blobs.put(manifest),
            "size": len(manifest),
        },
    )
    return store


def _save(store: ImageStore, path: Path, fmt: str) -> None:
    entry = store.resolve(parse_reference(NAME))
    save(store, [SaveItem(entry, (parse_reference(NAME),))], path, format=fmt)


def test_docker_format_is_the_classic_layout(store: ImageStore, tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    _save(store, archive, "docker")
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == [NAME]
        assert len(manifest[0]["Layers"]) == 2
        for path in manifest[0]["Layers"]:
            data = tar.extractfile(path).read()  # type: ignore[union-attr]
            assert path == sha256(data).partition(":")[2] + "/layer.tar", "plain tar, by diff ID"
    assert not list(store.blobs.tmp_dir.iterdir())


def test_docker_format_round_trip(store: ImageStore, tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    _save(store, archive, "docker")
    other = ImageStore(tmp_path / "dst")
    loaded = load(other, archive)
    assert [item.name for item in loaded] == [NAME]
    entry = other.resolve(parse_reference(NAME))
    original = store.resolve(parse_reference(NAME))
    assert other.image_id(entry) == store.image_id(original), "same config, same image ID"
    manifest = other.manifest(entry.digest)
    assert all(layer["mediaType"].endswith("tar.gzip") for layer in manifest["layers"])


def test_oci_format_round_trip_keeps_digests(store: ImageStore, tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    _save(store, archive, "oci")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    assert {"oci-layout", "index.json", "manifest.json"} <= names
    assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == NAME
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "1.0"
    other = ImageStore(tmp_path / "dst")
    load(other, archive)
    assert (
        other.resolve(parse_reference(NAME)).digest == store.resolve(parse_reference(NAME)).digest
    )


def test_gzipped_docker_save_output_and_untagged_images(tmp_path: Path) -> None:
    layer = plain_layer(b"x")
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        }
    ).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in (
            ("cfg.json", config),
            ("abc/layer.tar", layer),
            (
                "manifest.json",
                json.dumps(
                    [{"Config": "cfg.json", "RepoTags": None, "Layers": ["abc/layer.tar"]}]
                ).encode(),
            ),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(gzip.compress(raw.getvalue()))
    store = ImageStore(tmp_path / "dst")
    loaded = load(store, archive)
    assert loaded[0].name is None
    assert store.entries()[0].name is None


def test_layer_not_matching_its_diff_id_is_refused(tmp_path: Path) -> None:
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}})
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in (
            ("c.json", config.encode()),
            ("l.tar", plain_layer(b"y")),
            (
                "manifest.json",
                json.dumps(
                    [{"Config": "c.json", "RepoTags": ["bad:1"], "Layers": ["l.tar"]}]
                ).encode(),
            ),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive = tmp_path / "bad.tar"
    archive.write_bytes(raw.getvalue())
    store = ImageStore(tmp_path / "dst")
    with pytest.raises(VerificationFailed, match="diff ID"):
        load(store, archive)
    assert store.entries() == []


def test_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / "x.tar").write_bytes(b"hello")
    with pytest.raises(ClientError, match="cannot read the archive"):
        load(ImageStore(tmp_path / "dst"), tmp_path / "x.tar")
