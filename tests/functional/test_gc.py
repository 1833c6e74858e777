"""Garbage collection (``dockyard gc``): what it collects, what it keeps, and its races.

The collector runs in the app's event loop, online, against the app's own database and
storage; time is moved by giving it a clock (``later``) rather than by waiting. Runs on
SQLite + filesystem by default, and on ``--postgres --storage s3`` (or ``memory``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.cli.admin import parse_duration
from dockyard.cli.main import cli
from dockyard.config import Settings
from dockyard.metadata.db import Database
from dockyard.metadata.gc_store import GcStore, ManifestNode, RepositoryGraph
from dockyard.oci.digest import Digest
from dockyard.registry.errors import BlobUnknown
from dockyard.registry.gc import GarbageCollector, GcOptions, GcReport, plan_repository
from dockyard.registry.service import RegistryServices
from dockyard.storage import StorageDriver, paths
from tests.support.backends import Backends
from tests.support.oci import (
    EMPTY_DIGEST,
    EMPTY_JSON,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    Pushed,
    descriptor,
    digest_of,
    encode,
    make_image_manifest,
    make_index,
    push_blob,
    push_image,
    push_manifest,
)

T = TypeVar("T")

#: Past the default grace period (1h) and upload age (24h).
LATER = timedelta(hours=2)
MUCH_LATER = timedelta(hours=25)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings without the manifest cache: a collection deletes manifests
    behind the app's back (a server sees it once its cache entries expire, within a second)."""
    registry = settings.registry.model_copy(update={"manifest_cache_seconds": 0})
    return settings.model_copy(update={"registry": registry})


# --- helpers -----------------------------------------------------------------------------------
def call(client: TestClient, func: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``await func(*args)`` on the app's event loop."""
    portal = client.portal
    assert portal is not None, "use the TestClient as a context manager"
    return portal.call(func, *args)


def database(client: TestClient) -> Database:
    db: Database = client.app.state.db  # type: ignore[attr-defined]
    return db


def storage(client: TestClient) -> StorageDriver:
    driver: StorageDriver = client.app.state.storage  # type: ignore[attr-defined]
    return driver


def registry(client: TestClient) -> RegistryServices:
    services: RegistryServices = client.app.state.registry  # type: ignore[attr-defined]
    return services


def collector(client: TestClient, later: timedelta = timedelta(0)) -> GarbageCollector:
    """A collector on the app's database and storage whose clock runs ``later`` than ours."""
    return GarbageCollector(
        GcStore(database(client)),
        storage(client),
        now=lambda: datetime.now(UTC) + later,
    )


def collect(client: TestClient, later: timedelta = timedelta(0), **options: Any) -> GcReport:
    """Run one collection ``later`` than now with ``options`` (see :class:`GcOptions`)."""
    report = call(client, collector(client, later).run, GcOptions(**options))
    assert report.errors == []
    return report


def stored(client: TestClient, digest: str) -> bool:
    """Whether the blob's data is in storage."""
    return call(client, storage(client).stat, paths.blob_key(Digest.parse(digest))) is not None


def recorded(client: TestClient, digest: str) -> bool:
    """Whether the blob has a row."""
    return digest in call(client, GcStore(database(client)).recorded_blobs, [digest])


def served(client: TestClient, name: str, digest: str) -> bool:
    """HEAD of the blob in ``name`` answers 200."""
    response = client.head(f"/v2/{name}/blobs/{digest}")
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def assert_consistent(client: TestClient, name: str, digest: str, data: bytes) -> None:
    """Metadata says the blob exists, and its data is there: a GET returns every byte."""
    assert recorded(client, digest)
    assert stored(client, digest)
    response = client.get(f"/v2/{name}/blobs/{digest}")
    assert response.status_code == 200, response.text
    assert response.content == data


def manifest_exists(client: TestClient, name: str, reference: str) -> bool:
    response = client.head(
        f"/v2/{name}/manifests/{reference}", headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"}
    )
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def image_blobs(pushed: Pushed) -> list[str]:
    """The config and layer digests of an image manifest."""
    doc = json.loads(pushed.payload)
    return [doc["config"]["digest"], *(layer["digest"] for layer in doc["layers"])]


def delete_manifest(client: TestClient, name: str, digest: str) -> None:
    response = client.delete(f"/v2/{name}/manifests/{digest}")
    assert response.status_code == 202, response.text


def push_chunked(client: TestClient, name: str, data: bytes) -> str:
    """POST, one PATCH, then PUT ?digest= (the path docker takes); the digest."""
    response = client.post(f"/v2/{name}/blobs/uploads/", headers={"Content-Length": "0"})
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    response = client.patch(
        location, content=data, headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 202, response.text
    digest = digest_of(data)
    response = client.put(response.headers["Location"], params={"digest": digest})
    assert response.status_code == 201, response.text
    return digest


def start_chunked(client: TestClient, name: str, data: bytes) -> str:
    """An upload with one chunk received; its Location."""
    response = client.post(f"/v2/{name}/blobs/uploads/", headers={"Content-Length": "0"})
    assert response.status_code == 202, response.text
    response = client.patch(
        response.headers["Location"],
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 202, response.text
    location: str = response.headers["Location"]
    return location


def upload_id_of(location: str) -> str:
    return location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def push_referrer(client: TestClient, name: str, subject: Pushed, seed: str) -> Pushed:
    """An artifact (untagged, by digest) whose subject is ``subject``."""
    blob = f"signature {seed}".encode()
    push_blob(client, name, blob)
    push_blob(client, name, EMPTY_JSON)
    doc = make_image_manifest(
        {"mediaType": OCI_EMPTY, "digest": EMPTY_DIGEST, "size": 2},
        [descriptor("application/octet-stream", blob)],
        artifact_type="application/vnd.example.signature.v1",
        subject=subject.descriptor(),
    )
    return push_manifest(client, name, digest_of(encode(doc)), doc, OCI_MANIFEST)


def push_index(client: TestClient, name: str, tag: str, children: list[Pushed]) -> Pushed:
    doc = make_index(
        [
            child.descriptor(platform={"os": "linux", "architecture": arch})
            for child, arch in zip(children, ("amd64", "arm64", "s390x"), strict=False)
        ]
    )
    return push_manifest(client, name, tag, doc, OCI_INDEX)


# --- collecting what deletions left behind ---------------------------------------------------
def test_a_deleted_manifests_blobs_are_collected_after_the_grace_period(
    client: TestClient,
) -> None:
    image = push_image(client, "gc/app", "v1", seed="deleted")
    blobs = image_blobs(image)
    delete_manifest(client, "gc/app", image.digest)
    assert all(served(client, "gc/app", d) for d in blobs)  # deleting a manifest keeps blobs

    report = collect(client)  # the links are younger than the grace period
    assert (report.links_removed, report.blobs_deleted) == (0, 0)
    assert all(stored(client, d) and served(client, "gc/app", d) for d in blobs)

    report = collect(client, LATER)
    assert report.links_removed == 2
    assert report.blobs_deleted == 2
    doc = json.loads(image.payload)
    assert report.blob_bytes_freed == doc["config"]["size"] + doc["layers"][0]["size"]
    for digest in blobs:
        assert not stored(client, digest)
        assert not recorded(client, digest)
    assert collect(client, LATER) == GcReport(dry_run=False)  # nothing left


def test_a_deleted_blob_is_collected_at_once(client: TestClient) -> None:
    digest = push_blob(client, "gc/raw", b"deleted through the API")
    assert client.delete(f"/v2/gc/raw/blobs/{digest}").status_code == 202
    report = collect(client)  # no link left: no grace period applies
    assert report.blobs_deleted == 1
    assert report.blob_bytes_freed == len(b"deleted through the API")
    assert not stored(client, digest)


def test_a_deleted_repositorys_blobs_are_collected(client: TestClient) -> None:
    image = push_image(client, "gc/doomed", "v1", seed="doomed repository")

    async def delete_repository() -> None:
        from sqlalchemy import delete

        from dockyard.metadata.tables import repositories

        async with database(client).write() as conn:
            await conn.execute(delete(repositories).where(repositories.c.name == "gc/doomed"))

    call(client, delete_repository)
    report = collect(client)
    assert report.blobs_deleted == 2
    assert not any(stored(client, d) for d in image_blobs(image))


def test_a_blob_shared_by_two_repositories_stays_while_one_uses_it(client: TestClient) -> None:
    first = push_image(client, "gc/first", "v1", seed="shared")
    second = push_image(client, "gc/second", "v1", seed="shared")
    assert image_blobs(first) == image_blobs(second)
    delete_manifest(client, "gc/first", first.digest)

    report = collect(client, LATER)
    assert report.links_removed == 2  # gc/first no longer serves them
    assert report.blobs_deleted == 0
    for digest in image_blobs(second):
        assert not served(client, "gc/first", digest)
        assert served(client, "gc/second", digest)
        assert stored(client, digest)
    layer = image_blobs(second)[1]
    assert client.get(f"/v2/gc/second/blobs/{layer}").content == b"layer of shared for linux/amd64"

    delete_manifest(client, "gc/second", second.digest)
    report = collect(client, LATER)
    assert report.blobs_deleted == 2
    assert not any(stored(client, d) for d in image_blobs(second))


def test_a_blob_a_manifest_references_stays_even_unlinked(client: TestClient) -> None:
    image = push_image(client, "gc/kept", "v1", seed="referenced")
    layer = image_blobs(image)[1]
    assert client.delete(f"/v2/gc/kept/blobs/{layer}").status_code == 202
    report = collect(client, LATER)
    assert report.blobs_deleted == 0
    assert stored(client, layer)
    assert manifest_exists(client, "gc/kept", "v1")


def test_blobs_of_a_push_in_progress_stay_within_the_grace_period(client: TestClient) -> None:
    layer = push_blob(client, "gc/pushing", b"layer uploaded before its manifest")
    chunked = push_chunked(client, "gc/pushing", b"chunked layer of the same push")
    report = collect(client, timedelta(minutes=50))
    assert report == GcReport(dry_run=False)
    for digest in (layer, chunked):
        assert served(client, "gc/pushing", digest)
        assert stored(client, digest)
    # The manifest arrives: everything it references stays, whatever the time.
    doc = make_image_manifest(
        descriptor(OCI_LAYER, b"chunked layer of the same push"),
        [descriptor(OCI_LAYER, b"layer uploaded before its manifest")],
    )
    push_manifest(client, "gc/pushing", "v1", doc, OCI_MANIFEST)
    assert collect(client, LATER) == GcReport(dry_run=False)
    assert served(client, "gc/pushing", layer)


def test_a_push_abandoned_before_its_manifest_is_collected(client: TestClient) -> None:
    layer = push_blob(client, "gc/abandoned", b"the manifest never came")
    report = collect(client, LATER)
    assert (report.links_removed, report.blobs_deleted) == (1, 1)
    assert not stored(client, layer)
    report = collect(client, grace=timedelta(0))
    assert report == GcReport(dry_run=False)


def test_pushing_a_blob_again_refreshes_its_grace_period(client: TestClient) -> None:
    digest = push_blob(client, "gc/again", b"pushed twice")
    clock = datetime.now(UTC)
    push_blob(client, "gc/again", b"pushed twice")
    # Linked again "now": a collection an hour after the first push but within the
    # grace period of the second keeps it.
    report = call(
        client,
        GarbageCollector(
            GcStore(database(client)), storage(client), now=lambda: clock + timedelta(minutes=59)
        ).run,
        GcOptions(),
    )
    assert report.links_removed == 0
    assert served(client, "gc/again", digest)


# --- untagged manifests --------------------------------------------------------------------------
def test_delete_untagged_keeps_what_tags_reach(client: TestClient) -> None:
    name = "gc/multi"
    amd64 = push_image(client, name, seed="multi", platform="linux/amd64")
    arm64 = push_image(client, name, seed="multi", platform="linux/arm64")
    index = push_index(client, name, "latest", [amd64, arm64])
    signature = push_referrer(client, name, index, "of the index")
    child_signature = push_referrer(client, name, amd64, "of a child")
    tagged = push_image(client, name, "stable", seed="tagged")
    orphan = push_image(client, name, seed="orphan")
    orphan_signature = push_referrer(client, name, orphan, "of the orphan")
    never_pushed = Pushed(b"{}", digest_of(b"{}"), OCI_MANIFEST)
    dangling = push_referrer(client, name, never_pushed, "of a manifest never pushed")
    kept = [amd64, arm64, index, signature, child_signature, tagged]
    doomed = [orphan, orphan_signature, dangling]

    # Without --delete-untagged, untagged manifests are kept.
    assert collect(client, LATER).manifests_deleted == 0
    # Within the grace period, too.
    assert collect(client, delete_untagged=True).manifests_deleted == 0
    assert all(manifest_exists(client, name, m.digest) for m in kept + doomed)

    report = collect(client, LATER, delete_untagged=True)
    assert report.manifests_deleted == 3
    for manifest in kept:
        assert manifest_exists(client, name, manifest.digest), manifest
    for manifest in doomed:
        assert not manifest_exists(client, name, manifest.digest), manifest
    # The orphan's config and layer went with it; the signatures' shared blobs did not.
    for digest in image_blobs(orphan):
        assert not served(client, name, digest)
        assert not stored(client, digest)
    assert report.blobs_deleted == 2 + 2  # the orphan's config and layer, two signature blobs
    for manifest in kept:
        for digest in image_blobs(manifest) if manifest is not index else []:
            assert served(client, name, digest)
            assert stored(client, digest)
    assert stored(client, EMPTY_DIGEST)
    assert manifest_exists(client, name, "latest")


def test_delete_untagged_after_a_tag_moved(client: TestClient) -> None:
    old = push_image(client, "gc/moving", "v1", seed="old build")
    new = push_image(client, "gc/moving", "v1", seed="new build")
    report = collect(client, LATER, delete_untagged=True)
    assert report.manifests_deleted == 1
    assert not manifest_exists(client, "gc/moving", old.digest)
    assert manifest_exists(client, "gc/moving", "v1")
    assert manifest_exists(client, "gc/moving", new.digest)
    assert not any(stored(client, d) for d in image_blobs(old))
    assert all(stored(client, d) for d in image_blobs(new))


def node(
    id: int,
    digest: str,
    *,
    tagged: bool = False,
    age: timedelta = LATER,
    subject: str | None = None,
    children: tuple[str, ...] = (),
    blobs: tuple[str, ...] = (),
) -> ManifestNode:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    return ManifestNode(id, digest, subject, now - age, tagged, children, blobs)


def test_the_plan_deletes_parents_and_subjects_before_what_they_reach() -> None:
    cutoff = datetime(2030, 1, 1, tzinfo=UTC) - timedelta(hours=1)
    graph = RepositoryGraph(
        id=1,
        name="plan/demo",
        manifests=(
            node(5, "m:child", blobs=("b:child",)),
            node(4, "m:sig-of-child", subject="m:child", blobs=("b:sig",)),
            node(3, "m:index", children=("m:child", "m:missing")),
            node(2, "m:tagged", tagged=True, blobs=("b:kept", "b:shared")),
            node(1, "m:young", age=timedelta(minutes=5), children=("m:young-child",)),
            node(6, "m:young-child", blobs=("b:young",)),
            node(7, "m:sig-of-index", subject="m:index"),
        ),
        links=(
            ("b:child", cutoff - LATER),
            ("b:kept", cutoff - LATER),
            ("b:shared", cutoff - LATER),
            ("b:young", cutoff - LATER),
            ("b:loose", cutoff - LATER),
            ("b:fresh", cutoff + timedelta(minutes=1)),
        ),
    )
    plan = plan_repository(graph, cutoff, delete_untagged=True)
    order = [m.digest for m in plan.manifests]
    assert sorted(order) == ["m:child", "m:index", "m:sig-of-child", "m:sig-of-index"]
    assert order.index("m:index") < order.index("m:child") < order.index("m:sig-of-child")
    assert order.index("m:index") < order.index("m:sig-of-index")
    assert plan.stale_links == ("b:child", "b:loose")

    keep_all = plan_repository(graph, cutoff, delete_untagged=False)
    assert keep_all.manifests == ()
    assert keep_all.stale_links == ("b:loose",)


# --- data without rows, and uploads ------------------------------------------------------------
def test_blob_data_without_a_row_is_collected_after_the_grace_period(client: TestClient) -> None:
    data = b"stored, then the server died before recording it"
    digest = digest_of(data)
    call(client, storage(client).put, paths.blob_key(Digest.parse(digest)), data)
    call(client, storage(client).put, "blobs/sha256/not-a-blob/data", b"left alone")
    kept = push_image(client, "gc/rows", "v1", seed="recorded")

    assert collect(client).orphans_deleted == 0
    assert stored(client, digest)
    report = collect(client, LATER)
    assert report.orphans_deleted == 1
    assert report.orphan_bytes_freed == len(data)
    assert not stored(client, digest)
    assert not recorded(client, digest)
    assert call(client, storage(client).stat, "blobs/sha256/not-a-blob/data") is not None
    assert all(stored(client, d) for d in image_blobs(kept))


def test_abandoned_uploads_are_purged_and_live_ones_kept(client: TestClient) -> None:
    driver = storage(client)
    abandoned = start_chunked(client, "gc/uploads", b"abandoned half of a layer")
    call(client, driver.create_upload, "crashed-monolithic-upload")
    crashed_data = _chunks([b"a single-request upload that crashed"])
    call(client, driver.write_upload, "crashed-monolithic-upload", 0, crashed_data)
    cutoff = datetime.now(UTC)
    live = start_chunked(client, "gc/uploads", b"first half, ")

    # Nothing is old enough today.
    assert collect(client) == GcReport(dry_run=False)
    # A day after `cutoff`: the abandoned upload (row and data) and the crashed one go.
    a_day_later = cutoff + timedelta(hours=24)
    gc = GarbageCollector(GcStore(database(client)), driver, now=lambda: a_day_later)
    report = call(client, gc.run, GcOptions())
    assert report.uploads_purged == 1
    assert report.upload_data_purged == 1
    assert report.upload_bytes_freed == len(b"abandoned half of a layer") + len(
        b"a single-request upload that crashed"
    )
    uploads = call(client, _upload_ids, driver)
    assert upload_id_of(abandoned) not in uploads
    assert "crashed-monolithic-upload" not in uploads
    assert upload_id_of(live) in uploads
    response = client.get(abandoned)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"

    # The live upload finishes normally.
    data = b"first half, second half"
    response = client.put(live, params={"digest": digest_of(data)}, content=b"second half")
    assert response.status_code == 201, response.text
    assert_consistent(client, "gc/uploads", digest_of(data), data)
    assert call(client, _upload_ids, driver) == set()


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _upload_ids(driver: StorageDriver) -> set[str]:
    return {upload.id async for upload in driver.list_uploads()}


# --- dry run -------------------------------------------------------------------------------------
def _snapshot(client: TestClient) -> tuple[Any, ...]:
    async def rows() -> tuple[Any, ...]:
        from sqlalchemy import select

        from dockyard.metadata.tables import (
            blobs,
            manifest_references,
            manifests,
            repository_blobs,
            tags,
            uploads,
        )

        async with database(client).read() as conn:
            found = []
            for table in (blobs, repository_blobs, manifests, manifest_references, tags, uploads):
                result = await conn.execute(select(table))
                found.append(sorted(tuple(str(v) for v in row) for row in result.all()))
        objects = sorted([(info.key, info.size) async for info in storage(client).list_objects("")])
        upload_ids = sorted(await _upload_ids(storage(client)))
        return (*found, objects, upload_ids)

    return call(client, rows)


def test_a_dry_run_changes_nothing_and_predicts_the_real_run(client: TestClient) -> None:
    name = "gc/dry"
    gone = push_image(client, name, "v1", seed="to be deleted")
    delete_manifest(client, name, gone.digest)
    push_image(client, name, seed="untagged")
    push_image(client, name, "kept", seed="kept")
    push_blob(client, name, b"an abandoned push")
    data = b"unrecorded"
    call(client, storage(client).put, paths.blob_key(Digest.parse(digest_of(data))), data)
    start_chunked(client, name, b"abandoned upload")
    before = _snapshot(client)

    planned = collect(client, MUCH_LATER, delete_untagged=True, dry_run=True)
    assert _snapshot(client) == before
    assert planned.dry_run
    assert planned.manifests_deleted == 1
    assert planned.blobs_deleted == 2 + 2 + 1
    assert planned.orphans_deleted == 1
    assert planned.uploads_purged == 1

    done = collect(client, MUCH_LATER, delete_untagged=True)
    assert done.as_dict() == {**planned.as_dict(), "dry_run": False}
    assert _snapshot(client) != before
    assert collect(client, MUCH_LATER, delete_untagged=True, dry_run=True) == GcReport(dry_run=True)


# --- the races: uploads, mounts and sweeps of the same blob -------------------------------------
def sweep_before_link(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[GcReport]:
    """Make every blob link run a whole collection first (grace 0), between the upload's data
    being put in place and the link: the order that loses data without the protocol."""
    store = registry(client).uploads.store
    original = store.link_blob
    reports: list[GcReport] = []

    async def link_after_a_sweep(*args: Any, **kwargs: Any) -> bool:
        gc = collector(client, timedelta(seconds=1))
        reports.append(await gc.run(GcOptions(grace=timedelta(0))))
        return await original(*args, **kwargs)

    monkeypatch.setattr(store, "link_blob", link_after_a_sweep)
    return reports


@pytest.mark.parametrize("how", ["monolithic", "chunked"])
def test_an_upload_completing_while_its_blob_is_swept_keeps_its_data(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    data = f"pushed, deleted, pushed again ({how})".encode()
    digest = push_blob(client, "gc/first", data)
    assert client.delete(f"/v2/gc/first/blobs/{digest}").status_code == 202
    sweeps = sweep_before_link(client, monkeypatch)

    # Pushing it again: the sweep deletes the row and the data (the old copy, which the
    # upload found in place and kept) before the upload links the blob.
    if how == "monolithic":
        push_blob(client, "gc/second", data)
    else:
        push_chunked(client, "gc/second", data)
    assert sweeps[-1].blobs_deleted == 1
    assert_consistent(client, "gc/second", digest, data)
    assert call(client, _upload_ids, storage(client)) == set()


def test_a_new_blob_swept_as_unrecorded_data_before_its_link_keeps_its_data(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sweeps = sweep_before_link(client, monkeypatch)
    data = b"never seen before"
    push_chunked(client, "gc/new", data)
    assert sweeps[-1].orphans_deleted == 1  # with grace 0 its data looked unrecorded
    assert_consistent(client, "gc/new", digest_of(data), data)


def test_a_sweep_holding_the_blob_while_an_upload_links_it(client: TestClient) -> None:
    """The other order: the sweep has the row locked when the upload comes to link it."""
    data = b"swept and uploaded at the same moment"
    digest = digest_of(data)
    push_blob(client, "gc/held", data)
    assert client.delete(f"/v2/gc/held/blobs/{digest}").status_code == 202
    uploads = registry(client).uploads
    key = paths.blob_key(Digest.parse(digest))

    async def race() -> int | None:
        upload: asyncio.Task[Digest] | None = None

        async def delete_data() -> None:
            nonlocal upload
            upload = asyncio.ensure_future(
                uploads.monolithic("gc/held", digest, _chunks([data]), len(data))
            )
            for _ in range(20):  # let it put its data in place and wait on the row
                await asyncio.sleep(0.01)
            await storage(client).delete(key)

        freed = await GcStore(database(client)).delete_blob(digest, len(data), delete_data)
        assert upload is not None
        await upload
        return freed

    assert call(client, race) == len(data)
    assert_consistent(client, "gc/held", digest, data)


def test_a_mount_of_a_blob_being_swept_starts_an_upload_instead(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"mounted while collected"
    digest = push_blob(client, "gc/source", data)
    store = registry(client).uploads.store
    original = store.link_blob
    sweeps: list[GcReport] = []

    async def sweep_then_link(*args: Any, **kwargs: Any) -> bool:
        sweeps.append(await collector(client, LATER).run(GcOptions()))
        return await original(*args, **kwargs)

    monkeypatch.setattr(store, "link_blob", sweep_then_link)
    response = client.post(
        "/v2/gc/target/blobs/uploads/",
        params={"mount": digest, "from": "gc/source"},
        headers={"Content-Length": "0"},
    )
    assert response.status_code == 202, response.text  # not mounted: upload it instead
    assert sweeps[0].blobs_deleted == 1
    assert not served(client, "gc/target", digest)
    assert not recorded(client, digest)
    monkeypatch.undo()
    response = client.put(response.headers["Location"], params={"digest": digest}, content=data)
    assert response.status_code == 201, response.text
    assert_consistent(client, "gc/target", digest, data)


def test_collecting_while_pushing_and_pulling_stays_consistent(client: TestClient) -> None:
    """Many uploads of a few blobs, deletions and collections (grace 0) at once."""
    contents = [f"contended blob {i}".encode() for i in range(3)]
    services = registry(client)

    async def churn() -> None:
        async def push(round_: int) -> None:
            for data in contents:
                name = f"gc/churn{round_ % 3}"
                await services.uploads.monolithic(name, digest_of(data), _chunks([data]), None)
                with contextlib.suppress(BlobUnknown):  # a collection unlinked it already
                    await services.blobs.delete(name, digest_of(data))

        async def sweep() -> None:
            for _ in range(6):
                await collector(client, timedelta(seconds=1)).run(GcOptions(grace=timedelta(0)))

        await asyncio.gather(*(push(i) for i in range(6)), sweep(), sweep())
        for i, data in enumerate(contents):  # one last push of each, then check them all
            await services.uploads.monolithic(
                f"gc/final{i}", digest_of(data), _chunks([data]), None
            )

    call(client, churn)
    for i, data in enumerate(contents):
        assert_consistent(client, f"gc/final{i}", digest_of(data), data)
    assert collect(client).blobs_deleted == 0
    for i, data in enumerate(contents):
        assert_consistent(client, f"gc/final{i}", digest_of(data), data)


# --- the command -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta(0)),
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("0.5h", timedelta(minutes=30)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "1", "1x", "-1h", "1h 30m", "abc"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def cli_env(settings: Settings) -> dict[str, str]:
    """Environment putting a ``dockyard`` command on the same database and storage."""
    env = {**os.environ, "DOCKYARD_AUTH__ENABLED": "false"}
    if settings.database_url:
        env["DOCKYARD_DATABASE_URL"] = settings.database_url
    env["DOCKYARD_STORAGE__DRIVER"] = settings.storage.driver
    if settings.storage.root is not None:
        env["DOCKYARD_STORAGE__ROOT"] = str(settings.storage.root)
    if settings.storage.driver == "s3":
        for key, value in settings.storage.s3.model_dump(mode="json", exclude_none=True).items():
            env[f"DOCKYARD_STORAGE__S3__{key.upper()}"] = str(value)
    return env


def run_gc(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dockyard", "gc", "--data-dir", str(settings.data_dir)]
    return subprocess.run(
        [*command, *args], env=cli_env(settings), capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def server_settings(settings: Settings) -> Settings:
    """The test settings, on the filesystem when they ask for the in-process memory driver
    (which a command in another process cannot see)."""
    if settings.storage.driver != "memory":
        return settings
    storage = settings.storage.model_copy(update={"driver": "filesystem"})
    return settings.model_copy(update={"storage": storage})


def test_the_gc_command_dry_run_then_collect(server_settings: Settings) -> None:
    with TestClient(create_app(server_settings)) as client:
        image = push_image(client, "gc/cli", "v1", seed="cli")
        delete_manifest(client, "gc/cli", image.digest)
        kept = push_image(client, "gc/cli", "v2", seed="kept by the cli")
        data = b"unrecorded data for the command"
        call(client, storage(client).put, paths.blob_key(Digest.parse(digest_of(data))), data)

        # Online: the server keeps running while the command collects.
        dry = run_gc(server_settings, "--dry-run", "--grace", "0", "--json", "-v")
        assert dry.returncode == 0, dry.stderr
        planned = json.loads(dry.stdout)
        assert planned["dry_run"] is True
        assert planned["blobs_deleted"] == 2
        assert planned["orphans_deleted"] == 1
        assert planned["errors"] == []
        assert f"would delete blob {image_blobs(image)[1]}" in dry.stderr
        assert all(stored(client, d) for d in image_blobs(image))

        done = run_gc(server_settings, "--grace", "0")
        assert done.returncode == 0, done.stderr
        assert "blobs deleted:               2" in done.stdout
        assert "unrecorded blob data:        1" in done.stdout
        assert not any(stored(client, d) for d in image_blobs(image))
        assert not stored(client, digest_of(data))
        assert all(served(client, "gc/cli", d) for d in image_blobs(kept))
        assert manifest_exists(client, "gc/cli", "v2")

        again = run_gc(server_settings, "--grace", "0", "--json")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["bytes_freed"] == 0


def test_the_gc_command_refuses_a_database_without_tables(
    tmp_path: Path, backends: Backends, request: pytest.FixtureRequest
) -> None:
    empty = backends.new(request.addfinalizer, migrated=False)  # on the run's database
    (tmp_path / "data").mkdir()
    result = CliRunner().invoke(cli, ["gc", "--data-dir", str(tmp_path / "data")], env=empty.env())
    assert result.exit_code != 0
    assert "dockyard db upgrade" in result.output
    result = CliRunner().invoke(cli, ["gc", "--grace", "soon", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a duration" in result.output
