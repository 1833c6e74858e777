"""How the Hub reads platforms: config blobs (whatever storage holds) and index entries."""

from __future__ import annotations

import json

from dockyard.hub.tags import ImageView, _full_size, _index_entries, read_platform
from dockyard.oci.digest import Digest
from dockyard.registry.manifests import MAX_CONFIG_BYTES
from dockyard.storage import paths
from dockyard.storage.memory import MemoryDriver


async def stored(storage: MemoryDriver, data: bytes) -> str:
    digest = Digest.of(data)
    await storage.put(paths.blob_key(digest), data)
    return str(digest)


async def test_read_platform_of_an_image_config() -> None:
    storage = MemoryDriver()
    config = {"os": "linux", "architecture": "arm64", "variant": "v8", "rootfs": {}}
    digest = await stored(storage, json.dumps(config).encode())
    assert await read_platform(storage, digest) == ("linux", "arm64", "v8")


async def test_read_platform_of_configs_that_declare_none() -> None:
    storage = MemoryDriver()
    for data in (b"{}", b"[1, 2]", b"not json", b"\xff\xfe", b"x" * (MAX_CONFIG_BYTES + 1)):
        digest = await stored(storage, data)
        assert await read_platform(storage, digest) == ("", "", None), data[:10]
    digest = await stored(storage, json.dumps({"os": 7, "architecture": "amd64"}).encode())
    assert await read_platform(storage, digest) == ("", "amd64", None)


async def test_read_platform_of_an_unreadable_blob_is_none() -> None:
    storage = MemoryDriver()
    missing = str(Digest.of(b"never stored"))
    assert await read_platform(storage, missing) is None
    assert await read_platform(storage, "sha256:not-a-digest") is None


def test_index_entries_skip_attestations_and_junk() -> None:
    index = {
        "manifests": [
            {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": "sha256:b"},
            {
                "digest": "sha256:c",
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
            {"no": "digest"},
            "junk",
            {"digest": "sha256:d", "platform": {"os": "linux", "architecture": 5}},
        ]
    }
    entries = _index_entries(json.dumps(index).encode())
    assert [(e.digest, e.platform) for e in entries] == [
        ("sha256:a", {"os": "linux", "architecture": "amd64"}),
        ("sha256:b", {}),
        ("sha256:d", {"os": "linux"}),
    ]
    assert _index_entries(b"not json") == []
    assert _index_entries(b'{"manifests": 3}') == []
    assert _index_entries(None) == []


def test_full_size_prefers_linux_amd64() -> None:
    def image(os: str, arch: str, size: int) -> ImageView:
        return ImageView("sha256:x", os, arch, None, size, None, None)

    assert _full_size(9, []) == 9
    assert _full_size(9, [image("linux", "arm64", 5), image("linux", "amd64", 7)]) == 7
    assert _full_size(9, [image("windows", "amd64", 4), image("linux", "arm", 3)]) == 4
