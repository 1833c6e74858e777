"""Test content: random blobs (made once, varied per push), small images and their manifests."""

from __future__ import annotations

import hashlib
import json
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass

MIB = 1024 * 1024
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
#: What ``docker pull`` sends: without it, Distribution 2.8 does not serve OCI manifests.
MANIFEST_ACCEPT = ", ".join(
    (
        OCI_MANIFEST,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


def sha256_digest(*parts: bytes | bytearray | memoryview) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return f"sha256:{digest.hexdigest()}"


def random_bytes(size: int, seed: int | str) -> bytes:
    """``size`` pseudo-random bytes (fast, incompressible), made 16 MiB at a time."""
    generator = random.Random(seed)
    piece = 16 * MIB
    return b"".join(
        generator.randbytes(min(piece, size - start)) for start in range(0, size, piece)
    )


class BlobSource:
    """One buffer of random data; ``variant(n)`` gives a distinct blob of the same size.

    The variant rewrites the first 16 bytes in place, so the buffer is made once and every push
    still uploads a blob the server has never seen.
    """

    def __init__(self, size: int, seed: int | str = "dockyard-bench") -> None:
        if size < 16:
            raise ValueError("blob size must be at least 16 bytes")
        self.size = size
        self.buffer = bytearray(random_bytes(size, seed))
        self._nonce = random.Random(f"{seed}-nonce").getrandbits(64)

    def variant(self, number: int) -> tuple[memoryview, str]:
        """The blob number ``number`` and its digest (valid until the next call)."""
        self.buffer[:16] = struct.pack(">QQ", self._nonce, number)
        view = memoryview(self.buffer)
        return view, sha256_digest(view)


class StreamSource:
    """A large blob produced block by block (never held whole in memory)."""

    def __init__(self, size: int, block: int = 8 * MIB, seed: int | str = "stream") -> None:
        self.size = size
        self.block = min(block, size)
        self._buffer = bytearray(random_bytes(self.block, seed))
        self.digest = self._compute_digest()

    def chunks(self) -> Iterator[memoryview]:
        """The blob's bytes; each block differs in its first 8 bytes."""
        view = memoryview(self._buffer)
        sent = 0
        number = 0
        while sent < self.size:
            length = min(self.block, self.size - sent)
            self._buffer[:8] = struct.pack(">Q", number)
            yield view[:length]
            sent += length
            number += 1

    def _compute_digest(self) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        return f"sha256:{digest.hexdigest()}"


@dataclass(frozen=True)
class Blob:
    data: bytes
    digest: str

    @classmethod
    def of(cls, data: bytes) -> Blob:
        return cls(data, sha256_digest(data))


@dataclass(frozen=True)
class SmallImage:
    """A config blob, zero or one layer blob, and the OCI manifest naming them."""

    config: Blob
    layers: tuple[Blob, ...]
    manifest: Blob

    @property
    def blobs(self) -> tuple[Blob, ...]:
        return (self.config, *self.layers)


def small_image(name: str, layer_size: int = 1024) -> SmallImage:
    """A distinct small image for ``name`` (with one layer unless ``layer_size`` is 0)."""
    layers = (Blob.of(random_bytes(layer_size, f"layer-{name}")),) if layer_size else ()
    config = Blob.of(
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Labels": {"bench": name}},
                "rootfs": {"type": "layers", "diff_ids": [layer.digest for layer in layers]},
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config.digest, "size": len(config.data)},
        "layers": [
            {"mediaType": OCI_LAYER, "digest": layer.digest, "size": len(layer.data)}
            for layer in layers
        ],
    }
    body = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
    return SmallImage(config=config, layers=layers, manifest=Blob.of(body))
