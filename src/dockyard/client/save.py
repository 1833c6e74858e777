"""``dockyard save``: image archives that ``docker load`` (and skopeo) accept.

``docker`` format: ``manifest.json``, ``<config>.json`` and ``<diff-id>/layer.tar``
(uncompressed), the classic ``docker save`` form every docker version loads.
``oci`` format: an OCI image layout (``oci-layout``, ``index.json``, ``blobs/``) with the blobs
as stored, plus a ``manifest.json`` for ``docker load``, the form docker 25+ writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from dockyard.client.blobstore import disk_full
from dockyard.client.errors import ClientError, NotFound, VerificationFailed
from dockyard.client.platforms import Platform, host_platform, pick
from dockyard.client.reference import Reference
from dockyard.client.store import NAME_ANNOTATION, REF_ANNOTATION, Entry, ImageStore
from dockyard.oci import mediatypes as mt

FORMATS = ("docker", "oci")
_GZIP_TYPES = {
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
}
_TAR_TYPES = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.docker.image.rootfs.diff.tar",
}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class SaveItem:
    """An image to save, under the names it was asked by."""

    entry: Entry
    refs: tuple[Reference, ...]


def image_manifest(store: ImageStore, entry: Entry, platform: Platform | None = None) -> str:
    """The digest of the image manifest to save for ``entry`` (a platform of an index)."""
    if entry.media_type not in mt.INDEXES:
        return entry.digest
    present = [
        m
        for m in store.manifest(entry.digest).get("manifests") or []
        if store.blobs.has(str(m["digest"])) and m.get("mediaType") in mt.IMAGE_MANIFESTS
    ]
    chosen = pick(
        ((Platform.from_descriptor(m.get("platform")), m) for m in present),
        platform or host_platform(),
    )
    if chosen is None and platform is None and present:
        chosen = present[0]
    if chosen is None:
        raise NotFound(
            f"no image for {platform or host_platform()} in {entry.name or entry.digest}"
        )
    return str(chosen["digest"])


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, source: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o644
    tar.addfile(info, source)


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    tar.addfile(info)


def _uncompressed_layer(store: ImageStore, layer: dict[str, Any], diff_id: str) -> IO[bytes]:
    """A temp file holding the layer as a plain tar, checked against its diff ID."""
    media_type = str(layer.get("mediaType", ""))
    if media_type not in _GZIP_TYPES | _TAR_TYPES:
        raise ClientError(
            f"layer {layer['digest']} is {media_type}; the docker format needs gzip or plain "
            "tar layers (use --format oci)"
        )
    out = tempfile.TemporaryFile(dir=store.blobs.tmp_dir)  # noqa: SIM115 - returned open
    hasher = hashlib.sha256()
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if media_type in _GZIP_TYPES else None
    try:
        for chunk in store.blobs.iter_chunks(str(layer["digest"])):
            data = inflate.decompress(chunk) if inflate else chunk
            hasher.update(data)
            out.write(data)
        if inflate is not None:
            tail = inflate.flush()
            hasher.update(tail)
            out.write(tail)
    except OSError as exc:
        out.close()
        raise disk_full(exc, store.blobs.tmp_dir) from None
    except zlib.error as exc:
        out.close()
        raise VerificationFailed(f"layer {layer['digest']} is not valid gzip: {exc}") from None
    if f"sha256:{hasher.hexdigest()}" != diff_id:
        out.close()
        raise VerificationFailed(f"layer {layer['digest']} does not match its diff ID {diff_id}")
    out.seek(0)
    return out


def _config_of(store: ImageStore, manifest: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    digest = str(manifest["config"]["digest"])
    config = json.loads(store.blobs.read(digest))
    return digest, config


def save_docker(
    store: ImageStore, items: Iterable[SaveItem], tar: tarfile.TarFile, platform: Platform | None
) -> None:
    """The classic docker-archive layout."""
    entries: list[dict[str, Any]] = []
    written: set[str] = set()
    for item in items:
        manifest = store.manifest(image_manifest(store, item.entry, platform))
        config_digest, config = _config_of(store, manifest)
        config_name = config_digest.partition(":")[2] + ".json"
        if config_name not in written:
            _add_bytes(tar, config_name, store.blobs.read(config_digest))
            written.add(config_name)
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        layers = list(manifest.get("layers") or [])
        if len(diff_ids) != len(layers):
            raise ClientError("the image config's diff_ids do not match its layers")
        paths = []
        for layer, diff_id in zip(layers, diff_ids, strict=True):
            directory = str(diff_id).partition(":")[2]
            path = f"{directory}/layer.tar"
            if path not in written:
                with _uncompressed_layer(store, layer, str(diff_id)) as plain:
                    size = os.fstat(plain.fileno()).st_size
                    _add_dir(tar, directory)
                    _add_file(tar, path, plain, size)
                written.add(path)
            paths.append(path)
        tags = [r.familiar() for r in item.refs if r.tag and not r.digest]
        entries.append({"Config": config_name, "RepoTags": tags or None, "Layers": paths})
    _add_bytes(tar, "manifest.json", json.dumps(entries).encode())


def save_oci(
    store: ImageStore, items: Iterable[SaveItem], tar: tarfile.TarFile, platform: Platform | None
) -> None:
    """An OCI image layout with a docker ``manifest.json`` beside it."""
    index: list[dict[str, Any]] = []
    docker_entries: list[dict[str, Any]] = []
    blobs: dict[str, None] = {}
    for item in items:
        descriptor = _top_descriptor(store, item.entry, platform)
        image_digest = image_manifest(store, item.entry, platform)
        top = str(descriptor["digest"])
        for digest in sorted(_tree(store, top, str(descriptor["mediaType"]))):
            blobs[digest] = None
        tagged: list[Reference | None] = [r for r in item.refs if r.tag and not r.digest]
        for ref in tagged or [None]:
            entry = dict(descriptor)
            if ref is not None:
                entry["annotations"] = {NAME_ANNOTATION: str(ref), REF_ANNOTATION: str(ref.tag)}
            index.append(entry)
        manifest = store.manifest(image_digest)
        config_digest, _ = _config_of(store, manifest)
        docker_entries.append(
            {
                "Config": _blob_path(config_digest),
                "RepoTags": [r.familiar() for r in item.refs if r.tag and not r.digest] or None,
                "Layers": [_blob_path(str(d["digest"])) for d in manifest.get("layers") or []],
            }
        )
    _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    for directory in ("blobs", "blobs/sha256"):
        _add_dir(tar, directory)
    for digest in blobs:
        with store.blobs.open(digest) as source:
            _add_file(tar, _blob_path(digest), source, store.blobs.size(digest))
    doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": index}
    _add_bytes(tar, "index.json", json.dumps(doc).encode())
    _add_bytes(tar, "manifest.json", json.dumps(docker_entries).encode())


def _top_descriptor(store: ImageStore, entry: Entry, platform: Platform | None) -> dict[str, Any]:
    """The entry itself, or its chosen platform when the index is not wholly stored."""
    if entry.media_type in mt.INDEXES:
        children = store.manifest(entry.digest).get("manifests") or []
        if not all(store.blobs.has(str(m["digest"])) for m in children):
            chosen = image_manifest(store, entry, platform)
            found = next(m for m in children if m["digest"] == chosen)
            return {"mediaType": found["mediaType"], "digest": chosen, "size": found["size"]}
    return {
        "mediaType": entry.media_type,
        "digest": entry.digest,
        "size": store.blobs.size(entry.digest),
    }


def _blob_path(digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    return f"blobs/{algorithm}/{encoded}"


def _tree(store: ImageStore, digest: str, media_type: str) -> set[str]:
    found = {digest}
    for child in store.children(digest, media_type):
        child_digest = str(child["digest"])
        if store.blobs.has(child_digest):
            found |= _tree(store, child_digest, str(child.get("mediaType", "")))
    return found


def save(
    store: ImageStore,
    items: list[SaveItem],
    output: Path | IO[bytes],
    *,
    format: str = "docker",
    platform: Platform | None = None,
) -> None:
    """Write ``items`` as one archive to ``output`` (a path is written atomically)."""
    if format not in FORMATS:
        raise ClientError(f"unknown archive format {format!r}: use docker or oci")
    writer = save_docker if format == "docker" else save_oci
    if not isinstance(output, Path):
        with tarfile.open(fileobj=output, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            writer(store, items, tar, platform)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent or Path("."))
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                writer(store, items, tar, platform)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise disk_full(exc, output) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
