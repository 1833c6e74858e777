"""Pull, push and copy against an in-memory registry: auth, resume, retries, verification."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from dockyard.client.credentials import Credentials, DockerConfig
from dockyard.client.errors import (
    NotFound,
    PermissionDenied,
    Unauthorized,
    VerificationFailed,
)
from dockyard.client.platforms import Platform
from dockyard.client.reference import parse_reference
from dockyard.client.retry import RetryPolicy
from dockyard.client.session import RegistryPool
from dockyard.client.store import ImageStore
from dockyard.client.transfer import Transfers
from tests.client.fake_registry import FakeRegistry, sha256

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def layer_bytes(content: bytes) -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("data.bin")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0), sha256(raw.getvalue())


def add_image(
    registry: FakeRegistry, name: str, tag: str, arch: str = "amd64", size: int = 200_000
) -> tuple[str, dict[str, object]]:
    layers, diff_ids = [], []
    for n in range(2):
        data, diff_id = layer_bytes(os.urandom(size) + arch.encode() + bytes([n]))
        layers.append(
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": registry.add_blob(data, name),
                "size": len(data),
            }
        )
        diff_ids.append(diff_id)
    config = json.dumps(
        {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    ).encode()
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": registry.add_blob(config, name),
            "size": len(config),
        },
        "layers": layers,
    }
    return registry.add_manifest(name, tag, doc), doc


@pytest.fixture
def fake() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def transfers(
    fake: FakeRegistry,
    tmp_path: Path,
    sleeps: list[float],
    credentials: Credentials | None = None,
    jobs: int = 3,
) -> Transfers:
    pool = RegistryPool(
        DockerConfig(tmp_path / "docker"),
        retry=RetryPolicy(attempts=4, sleep=sleeps.append),
        transport=fake.transport(),
        credentials={"registry.test": credentials} if credentials else {"registry.test": None},
    )
    return Transfers(pool, ImageStore(tmp_path / "home").ensure(), jobs=jobs)


def test_pull_verifies_and_names_the_image(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    digest, doc = add_image(fake, "team/app", "1.0")
    t = transfers(fake, tmp_path, sleeps)
    result = t.pull(parse_reference("registry.test/team/app:1.0"))
    assert result.name == "registry.test/team/app:1.0"
    assert result.digest == digest == result.remote_digest
    for layer in doc["layers"]:  # type: ignore[union-attr]
        assert t.store.blobs.has(layer["digest"])
    again = t.pull(parse_reference("registry.test/team/app@" + digest))
    assert again.name == f"registry.test/team/app@{digest}"
    blob_gets = fake.count("GET", r"/blobs/sha256")
    assert blob_gets == 3, "blobs already stored are not downloaded again"


def test_token_dance_with_credentials(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    fake.users = {"alice": "pw"}
    add_image(fake, "alice/app", "1.0")
    t = transfers(fake, tmp_path, sleeps, Credentials("alice", "pw"))
    t.pull(parse_reference("registry.test/alice/app:1.0"))
    assert "repository:alice/app:pull" in fake.scopes_seen
    token_calls = fake.count("GET", r"^/token$")
    assert token_calls == 1, "one token per scope set, cached"


def test_wrong_password_is_unauthorized(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    fake.users = {"alice": "pw"}
    add_image(fake, "alice/app", "1.0")
    t = transfers(fake, tmp_path, sleeps, Credentials("alice", "wrong"))
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        t.pull(parse_reference("registry.test/alice/app:1.0"))


def test_forbidden_is_permission_denied(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    add_image(fake, "app", "1.0")
    fake.faults[("GET", r"/manifests/")] = [403]
    t = transfers(fake, tmp_path, sleeps)
    with pytest.raises(PermissionDenied, match="denied"):
        t.pull(parse_reference("registry.test/app:1.0"))


def test_unknown_image(fake: FakeRegistry, tmp_path: Path, sleeps: list[float]) -> None:
    t = transfers(fake, tmp_path, sleeps)
    with pytest.raises(NotFound, match=r"image registry\.test/app:nope: not found"):
        t.pull(parse_reference("registry.test/app:nope"))


def test_broken_download_resumes_with_range(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    _, doc = add_image(fake, "app", "1.0", size=500_000)
    layer = doc["layers"][0]["digest"]  # type: ignore[index]
    fake.break_after[layer] = 100_000
    t = transfers(fake, tmp_path, sleeps, jobs=1)
    t.pull(parse_reference("registry.test/app:1.0"))
    ranges = [
        r.headers.get("range")
        for r in fake.requests
        if r.url.path.endswith(layer) and r.method == "GET"
    ]
    assert ranges == [None, "bytes=100000-"]
    assert sha256(t.store.blobs.read(layer)) == layer


def test_partial_download_from_an_earlier_run_is_continued(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    _, doc = add_image(fake, "app", "1.0")
    layer = doc["layers"][1]["digest"]  # type: ignore[index]
    t = transfers(fake, tmp_path, sleeps)
    t.store.blobs.ensure()
    partial = t.store.blobs.ingest_dir / layer.replace(":", "-")
    partial.write_bytes(fake.blobs[layer][:5000])
    t.pull(parse_reference("registry.test/app:1.0"))
    ranges = [r.headers.get("range") for r in fake.requests if r.url.path.endswith(layer)]
    assert ranges == ["bytes=5000-"]
    assert t.store.blobs.read(layer) == fake.blobs[layer]


def test_corrupt_partial_is_replaced(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    _, doc = add_image(fake, "app", "1.0")
    layer = doc["layers"][0]["digest"]  # type: ignore[index]
    t = transfers(fake, tmp_path, sleeps)
    t.store.blobs.ensure()
    (t.store.blobs.ingest_dir / layer.replace(":", "-")).write_bytes(b"garbage" * 100)
    t.pull(parse_reference("registry.test/app:1.0"))
    assert t.store.blobs.read(layer) == fake.blobs[layer]


def test_registry_sending_wrong_bytes_fails_verification(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    _, doc = add_image(fake, "app", "1.0")
    layer = doc["layers"][0]["digest"]  # type: ignore[index]
    fake.blobs[layer] = b"tampered" + fake.blobs[layer][8:]
    t = transfers(fake, tmp_path, sleeps)
    with pytest.raises(VerificationFailed):
        t.pull(parse_reference("registry.test/app:1.0"))
    assert not t.store.blobs.has(layer)
    assert t.store.entries() == [], "nothing is named when a pull fails"


def test_platform_selection_from_an_index(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    amd, _ = add_image(fake, "multi", "", "amd64")
    arm, _ = add_image(fake, "multi", "", "arm64")
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": amd,
                "size": len(fake.manifests[("multi", amd)][0]),
                "platform": {"os": "linux", "architecture": "amd64"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "digest": arm,
                "size": len(fake.manifests[("multi", arm)][0]),
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            },
        ],
    }
    index_digest = fake.add_manifest("multi", "1.0", index)
    t = transfers(fake, tmp_path, sleeps)
    result = t.pull(parse_reference("registry.test/multi:1.0"), platform=Platform.parse("arm64"))
    assert (result.digest, result.remote_digest, result.platform) == (
        arm,
        index_digest,
        "linux/arm64/v8",
    )
    with pytest.raises(NotFound, match="no matching manifest for linux/s390x"):
        t.pull(parse_reference("registry.test/multi:1.0"), platform=Platform.parse("s390x"))
    everything = t.pull(parse_reference("registry.test/multi:1.0"), all_platforms=True)
    assert everything.digest == index_digest
    assert t.store.blobs.has(amd)
    assert t.store.blobs.has(arm)


def test_push_skips_present_blobs_and_retries_transient_errors(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    digest, doc = add_image(fake, "app", "1.0")
    t = transfers(fake, tmp_path, sleeps, jobs=1)
    t.pull(parse_reference("registry.test/app:1.0"))
    target = parse_reference("registry.test/app:2.0")
    t.store.assign(
        str(target),
        {"mediaType": OCI_MANIFEST, "digest": digest, "size": t.store.blobs.size(digest)},
    )
    config = doc["config"]["digest"]  # type: ignore[index]
    fake.links.discard(("app", config))  # the repository lacks the config: it is uploaded
    fake.faults[("POST", r"/blobs/uploads/$")] = [503]
    fake.faults[("PATCH", r"/blobs/uploads/")] = [429]
    fake.faults[("PUT", r"/manifests/")] = [500]
    assert t.push(target) == digest
    assert ("app", config) in fake.links, "the missing blob was uploaded"
    assert fake.count("PATCH", r"/blobs/uploads/") == 2, "only the missing blob, retried once"
    assert 2.0 in sleeps, "Retry-After was honoured"
    assert len(sleeps) == 3


def test_push_needs_a_local_image(fake: FakeRegistry, tmp_path: Path, sleeps: list[float]) -> None:
    t = transfers(fake, tmp_path, sleeps)
    with pytest.raises(NotFound, match="not in the local store"):
        t.push(parse_reference("registry.test/nothing:1"))


def test_copy_mounts_within_a_registry(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    digest, _ = add_image(fake, "src/app", "1.0")
    t = transfers(fake, tmp_path, sleeps)
    assert (
        t.copy(
            parse_reference("registry.test/src/app:1.0"), parse_reference("registry.test/dst/app:2")
        )
        == digest
    )
    mounts = [r for r in fake.requests if r.method == "POST" and r.url.params.get("mount")]
    assert len(mounts) == 3
    assert all(r.url.params["from"] == "src/app" for r in mounts)
    assert fake.count("PATCH", r"/blobs/uploads/") == 0, "mounted, not streamed"
    assert not list(t.store.blobs.all_digests()), "copy never lands on local disk"


def test_tags_follow_link_pagination(
    fake: FakeRegistry, tmp_path: Path, sleeps: list[float]
) -> None:
    for tag in ("a", "b", "c", "d", "e"):
        add_image(fake, "app", tag, size=10)
    pool = RegistryPool(
        DockerConfig(tmp_path), transport=fake.transport(), credentials={"registry.test": None}
    )
    assert pool.get("registry.test").tags("app") == ["a", "b", "c", "d", "e"]
    assert fake.count("GET", r"/tags/list") == 3
