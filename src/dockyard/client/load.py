"""``dockyard load``: read ``docker save`` output into the local store.

Both forms are read: the classic docker-archive (``manifest.json`` + layer tars, layers gzipped
on the way in, as ``docker push`` would) and the OCI image layout docker 25+ writes (blobs kept
verbatim, so digests are preserved). Compressed archives (gzip) are read as well.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from dockyard.client.blobstore import BlobWriter
from dockyard.client.errors import ClientError, InvalidReference, VerificationFailed
from dockyard.client.platforms import Platform, host_platform, pick
from dockyard.client.reference import Reference, parse_reference
from dockyard.client.store import NAME_ANNOTATION, REF_ANNOTATION, ImageStore
from dockyard.oci import mediatypes as mt

DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Loaded:
    """One image a load stored: its name (None when the archive had none) and digest."""

    name: str | None
    digest: str


class _Archive:
    """Members of a tar archive by normalized path."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.members = {m.name.removeprefix("./").lstrip("/"): m for m in tar.getmembers()}

    def has(self, name: str) -> bool:
        return name in self.members

    def open(self, name: str) -> IO[bytes]:
        member = self.members.get(name.removeprefix("./"))
        handle = self.tar.extractfile(member) if member is not None else None
        if handle is None:
            raise ClientError(f"the archive has no file {name}")
        return handle

    def read(self, name: str) -> bytes:
        with self.open(name) as handle:
            return handle.read()

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except ValueError as exc:
            raise ClientError(f"{name} in the archive is not valid JSON: {exc}") from None


def _name(text: str) -> Reference | None:
    try:
        ref = parse_reference(text)
    except InvalidReference:
        return None
    return ref if ref.tag or ref.digest else ref.tagged_or_latest()


# --- the OCI layout form -----------------------------------------------------------------
def _blob_member(digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    return f"blobs/{algorithm}/{encoded}"


def _import_blob(store: ImageStore, archive: _Archive, digest: str) -> bool:
    """Copy one blob in, verified; False when the archive does not hold it."""
    if store.blobs.has(digest):
        return True
    if not archive.has(_blob_member(digest)):
        return False
    with archive.open(_blob_member(digest)) as source, store.blobs.writer() as writer:
        while chunk := source.read(_CHUNK):
            writer.write(chunk)
        writer.commit(digest)
    return True


def _import_tree(store: ImageStore, archive: _Archive, desc: dict[str, Any]) -> bool:
    """A manifest or index and what it points at; False if something is missing."""
    digest, media_type = str(desc["digest"]), str(desc.get("mediaType", ""))
    if not archive.has(_blob_member(digest)) and not store.blobs.has(digest):
        return False
    complete = True
    if media_type in mt.MANIFEST_TYPES:
        doc = json.loads(
            archive.read(_blob_member(digest))
            if archive.has(_blob_member(digest))
            else store.blobs.read(digest)
        )
        if media_type in mt.INDEXES:
            for child in doc.get("manifests") or []:
                complete = _import_tree(store, archive, child) and complete
        else:
            for blob in [doc.get("config"), *(doc.get("layers") or [])]:
                if (
                    isinstance(blob, dict)
                    and blob.get("mediaType") not in mt.FOREIGN_LAYERS
                    and not _import_blob(store, archive, str(blob["digest"]))
                ):
                    raise ClientError(f"the archive lacks blob {blob['digest']}")
    _import_blob(store, archive, digest)
    return complete


def _present_child(store: ImageStore, index_digest: str) -> dict[str, Any] | None:
    present = [
        m
        for m in store.manifest(index_digest).get("manifests") or []
        if store.blobs.has(str(m["digest"])) and m.get("mediaType") in mt.IMAGE_MANIFESTS
    ]
    chosen = pick(
        ((Platform.from_descriptor(m.get("platform")), m) for m in present), host_platform()
    )
    return dict(chosen) if chosen else (dict(present[0]) if present else None)


def _repo_tags_by_config(archive: _Archive) -> dict[str, list[str]]:
    if not archive.has("manifest.json"):
        return {}
    found: dict[str, list[str]] = {}
    for item in archive.json("manifest.json") or []:
        config = str(item.get("Config", ""))
        found.setdefault(config.removeprefix("./"), []).extend(item.get("RepoTags") or [])
    return found


def load_oci(store: ImageStore, archive: _Archive) -> list[Loaded]:
    index = archive.json("index.json")
    tags_by_config = _repo_tags_by_config(archive)
    loaded: list[Loaded] = []
    for desc in index.get("manifests") or []:
        if not _import_tree(store, archive, desc) and desc.get("mediaType") in mt.INDEXES:
            child = _present_child(store, str(desc["digest"]))
            if child is None:
                raise ClientError(f"the archive holds no image of index {desc['digest']}")
            desc = {**child, "annotations": desc.get("annotations")}
        names = _oci_names(store, desc, tags_by_config)
        for name in _or_unnamed(names):
            store.assign(name, desc)
            loaded.append(Loaded(name, str(desc["digest"])))
    return loaded


def _oci_names(store: ImageStore, desc: dict[str, Any], tags: dict[str, list[str]]) -> list[str]:
    annotations = desc.get("annotations") or {}
    for key in (NAME_ANNOTATION, REF_ANNOTATION):
        text = str(annotations.get(key) or "")
        if text and (key == NAME_ANNOTATION or ":" in text or "/" in text):
            ref = _name(text)
            if ref is not None:
                return [str(ref)]
    if desc.get("mediaType") in mt.IMAGE_MANIFESTS:
        config = str((store.manifest(str(desc["digest"])).get("config") or {}).get("digest", ""))
        return [str(r) for t in tags.get(_blob_member(config), []) if (r := _name(t))]
    return []


def _or_unnamed(names: list[str]) -> list[str | None]:
    """The names, or a single None (an untagged image) when there are none."""
    return list(names) if names else [None]


# --- the classic docker-archive form -----------------------------------------------------
def _store_layer(store: ImageStore, source: IO[bytes]) -> tuple[str, int, str]:
    """Store a layer gzipped; ``(digest, size, diff_id)``."""
    head = source.read(_CHUNK)
    diff = hashlib.sha256()
    with store.blobs.writer() as writer:
        if head[:2] == b"\x1f\x8b":
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = head
            try:
                while chunk:
                    writer.write(chunk)
                    diff.update(inflate.decompress(chunk))
                    chunk = source.read(_CHUNK)
                diff.update(inflate.flush())
            except zlib.error as exc:
                raise VerificationFailed(
                    f"a layer of the archive is not valid gzip: {exc}"
                ) from None
        elif head[:4] == b"\x28\xb5\x2f\xfd":
            raise ClientError("zstd-compressed layers in docker archives are not supported")
        else:
            _gzip_into(writer, head, source, diff)
        digest = writer.commit()
        return digest, writer.size, f"sha256:{diff.hexdigest()}"


def _gzip_into(writer: BlobWriter, head: bytes, source: IO[bytes], diff: Any) -> None:
    with gzip.GzipFile(filename="", mode="wb", fileobj=cast(IO[bytes], writer), mtime=0) as packed:
        chunk = head
        while chunk:
            diff.update(chunk)
            packed.write(chunk)
            chunk = source.read(_CHUNK)


def load_docker(store: ImageStore, archive: _Archive) -> list[Loaded]:
    loaded: list[Loaded] = []
    for item in archive.json("manifest.json") or []:
        config_data = archive.read(str(item["Config"]))
        config_digest = store.blobs.put(config_data)
        config = json.loads(config_data)
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        paths = list(item.get("Layers") or [])
        if len(paths) != len(diff_ids):
            raise ClientError("manifest.json and the image config disagree on the layers")
        layers = []
        for path, diff_id in zip(paths, diff_ids, strict=True):
            with archive.open(str(path)) as source:
                digest, size, actual = _store_layer(store, source)
            if actual != diff_id:
                raise VerificationFailed(f"layer {path} does not match its diff ID {diff_id}")
            layers.append({"mediaType": DOCKER_LAYER_GZIP, "size": size, "digest": digest})
        manifest = {
            "schemaVersion": 2,
            "mediaType": mt.DOCKER_MANIFEST,
            "config": {
                "mediaType": mt.DOCKER_CONFIG,
                "size": len(config_data),
                "digest": config_digest,
            },
            "layers": layers,
        }
        data = json.dumps(manifest, indent=3).encode()
        digest = store.blobs.put(data)
        desc = {"mediaType": mt.DOCKER_MANIFEST, "digest": digest, "size": len(data)}
        names = [str(r) for t in item.get("RepoTags") or [] if (r := _name(str(t)))]
        for name in _or_unnamed(names):
            store.assign(name, desc)
            loaded.append(Loaded(name, digest))
    return loaded


def _open_tar(source: Path | IO[bytes]) -> tarfile.TarFile:
    if isinstance(source, Path):
        return tarfile.open(source, mode="r:*")
    return tarfile.open(fileobj=source, mode="r:*")


def load(store: ImageStore, source: Path | IO[bytes]) -> list[Loaded]:
    """Load every image of an archive (a path, or a readable binary stream)."""
    store.ensure()
    try:
        tar = _open_tar(source)
    except (tarfile.TarError, OSError) as exc:
        raise ClientError(f"cannot read the archive: {exc}") from None
    with tar, store.writing():
        archive = _Archive(tar)
        if archive.has("index.json") and archive.has("oci-layout"):
            return load_oci(store, archive)
        if archive.has("manifest.json"):
            return load_docker(store, archive)
    raise ClientError("not an image archive: it has neither manifest.json nor an OCI index.json")
