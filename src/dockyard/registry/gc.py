"""Garbage collection, online: reclaim blobs, manifests and uploads nothing uses any more.

Mark, then sweep, while the registry keeps serving (docs/storage.md, "Garbage collection"):

1. Per repository: with ``delete_untagged``, manifests no tag reaches (directly, as a child
   of an index, or as a referrer of a manifest that stays) and older than the grace period
   are deleted; then links of blobs no manifest of the repository references and older
   than the grace period are removed (a push uploads layers before its manifest).
2. Blob rows no repository links and no manifest references are deleted with their data,
   one locked transaction each (:meth:`GcStore.delete_blob`).
3. Data under ``blobs/`` with no row, older than the grace period, goes the same way.
4. Upload rows idle longer than ``upload_max_age``, with their data, and upload data in
   storage with no row, older than that.

A dry run plans the same and changes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from dockyard.metadata.gc_store import GcStore, ManifestNode, RepositoryGraph
from dockyard.metadata.store import utcnow
from dockyard.oci.digest import Digest, InvalidDigest
from dockyard.storage import ObjectInfo, StorageDriver, StorageError, UploadInfo, paths

log = logging.getLogger("dockyard.gc")

T = TypeVar("T")

#: Rows or objects handled per query (and manifests deleted per transaction).
BATCH = 200
#: Manifests deleted in one transaction (the SQLite write lock is held that long).
MANIFEST_BATCH = 50


@dataclass(frozen=True, slots=True)
class GcOptions:
    """What a collection does."""

    dry_run: bool = False
    delete_untagged: bool = False
    #: Links, manifests and unrecorded data younger than this are kept.
    grace: timedelta = timedelta(hours=1)
    #: Uploads idle longer than this are purged.
    upload_max_age: timedelta = timedelta(hours=24)


@dataclass
class GcReport:
    """What a collection did (or, in a dry run, would do)."""

    dry_run: bool
    manifests_deleted: int = 0
    links_removed: int = 0
    blobs_deleted: int = 0
    blob_bytes_freed: int = 0
    #: Data under ``blobs/`` that had no row (a crash between storing and recording it).
    orphans_deleted: int = 0
    orphan_bytes_freed: int = 0
    uploads_purged: int = 0
    #: Upload data in storage without an upload row.
    upload_data_purged: int = 0
    upload_bytes_freed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        """Blob, unrecorded and upload bytes together."""
        return self.blob_bytes_freed + self.orphan_bytes_freed + self.upload_bytes_freed

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready data."""
        return {**asdict(self), "bytes_freed": self.bytes_freed}


@dataclass(frozen=True, slots=True)
class RepositoryPlan:
    """What to collect in one repository."""

    #: Manifests to delete, parents and subjects before children and referrers.
    manifests: tuple[ManifestNode, ...]
    #: Blob links to remove.
    stale_links: tuple[str, ...]


def plan_repository(
    graph: RepositoryGraph, cutoff: datetime, *, delete_untagged: bool
) -> RepositoryPlan:
    """Which manifests and links of a repository are garbage (a pure function).

    Kept manifests: tagged or younger than ``cutoff``, and everything they reach as
    index children or referrers. Without ``delete_untagged`` every manifest is kept.
    """
    doomed: list[ManifestNode] = []
    if delete_untagged:
        kept = _reachable(graph.manifests, cutoff)
        doomed = _parents_first([m for m in graph.manifests if m.id not in kept])
    doomed_ids = {m.id for m in doomed}
    referenced = {d for m in graph.manifests if m.id not in doomed_ids for d in m.blobs}
    stale = sorted(
        digest
        for digest, linked_at in graph.links
        if linked_at < cutoff and digest not in referenced
    )
    return RepositoryPlan(tuple(doomed), tuple(stale))


def _reachable(nodes: Sequence[ManifestNode], cutoff: datetime) -> set[int]:
    by_digest = {m.digest: m for m in nodes}
    referrers: dict[str, list[ManifestNode]] = {}
    for m in nodes:
        if m.subject_digest is not None:
            referrers.setdefault(m.subject_digest, []).append(m)
    stack = [m for m in nodes if m.tagged or m.created_at >= cutoff]
    kept: set[int] = set()
    while stack:
        node = stack.pop()
        if node.id in kept:
            continue
        kept.add(node.id)
        stack.extend(by_digest[c] for c in node.children if c in by_digest)
        stack.extend(referrers.get(node.digest, ()))
    return kept


def _parents_first(nodes: list[ManifestNode]) -> list[ManifestNode]:
    """``nodes`` ordered so an index precedes its children and a subject its referrers.

    Digests make cycles impossible; should one appear anyway, the rest follows in id order.
    """
    by_digest = {m.digest: m for m in nodes}
    referrers: dict[str, list[ManifestNode]] = {}
    for m in nodes:
        if m.subject_digest is not None:
            referrers.setdefault(m.subject_digest, []).append(m)
    after: dict[int, list[ManifestNode]] = {m.id: [] for m in nodes}
    waiting = dict.fromkeys(after, 0)
    for m in nodes:
        successors = [by_digest[c] for c in m.children if c in by_digest]
        successors += referrers.get(m.digest, [])
        for successor in successors:
            after[m.id].append(successor)
            waiting[successor.id] += 1
    ready = sorted((m for m in nodes if waiting[m.id] == 0), key=lambda m: m.id, reverse=True)
    ordered: list[ManifestNode] = []
    while ready:
        node = ready.pop()
        ordered.append(node)
        for successor in after[node.id]:
            waiting[successor.id] -= 1
            if waiting[successor.id] == 0:
                ready.append(successor)
    placed = {m.id for m in ordered}
    ordered += sorted((m for m in nodes if m.id not in placed), key=lambda m: m.id)
    return ordered


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class GarbageCollector:
    """Runs one collection over the metadata store and the storage driver."""

    def __init__(
        self,
        store: GcStore,
        storage: StorageDriver,
        *,
        now: Callable[[], datetime] = utcnow,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.storage = storage
        self.now = now
        #: Called with one line per item collected (``-v``), if given.
        self.echo = echo

    def _say(self, line: str) -> None:
        if self.echo is not None:
            self.echo(line)

    async def run(self, options: GcOptions) -> GcReport:
        """Collect (or, with ``dry_run``, plan) everything ``options`` allow."""
        now = self.now()
        cutoff = now - options.grace
        report = GcReport(dry_run=options.dry_run)
        stale_links: Counter[str] = Counter()
        doomed_refs: Counter[str] = Counter()
        await self._repositories(options, cutoff, report, stale_links, doomed_refs)
        if options.dry_run:
            await self._plan_blob_sweep(report, stale_links, doomed_refs)
        else:
            await self._sweep_blobs(report)
        await self._sweep_unrecorded(options, cutoff, report)
        await self._sweep_uploads(options, now - options.upload_max_age, report)
        return report

    # --- mark: manifests and links, per repository ---------------------------------------
    async def _repositories(
        self,
        options: GcOptions,
        cutoff: datetime,
        report: GcReport,
        stale_links: Counter[str],
        doomed_refs: Counter[str],
    ) -> None:
        after = 0
        while page := await self.store.repositories(after=after, limit=BATCH):
            for repository_id, name in page:
                graph = await self.store.repository_graph(repository_id, name)
                plan = plan_repository(graph, cutoff, delete_untagged=options.delete_untagged)
                if options.dry_run:
                    self._plan_repository(name, plan, report, stale_links, doomed_refs)
                else:
                    await self._collect_repository(graph, plan, cutoff, report)
            after = page[-1][0]

    def _plan_repository(
        self,
        name: str,
        plan: RepositoryPlan,
        report: GcReport,
        stale_links: Counter[str],
        doomed_refs: Counter[str],
    ) -> None:
        for manifest in plan.manifests:
            self._say(f"would delete manifest {name}@{manifest.digest}")
            doomed_refs.update(manifest.blobs)
        for digest in plan.stale_links:
            self._say(f"would unlink blob {digest} from {name}")
        report.manifests_deleted += len(plan.manifests)
        report.links_removed += len(plan.stale_links)
        stale_links.update(plan.stale_links)

    async def _collect_repository(
        self, graph: RepositoryGraph, plan: RepositoryPlan, cutoff: datetime, report: GcReport
    ) -> None:
        by_id = {m.id: m for m in plan.manifests}
        for batch in _chunks([m.id for m in plan.manifests], MANIFEST_BATCH):
            for manifest_id in await self.store.delete_untagged(graph.id, batch, cutoff):
                self._say(f"deleted manifest {graph.name}@{by_id[manifest_id].digest}")
                report.manifests_deleted += 1
        for links in _chunks(plan.stale_links, BATCH):
            removed = await self.store.remove_stale_links(graph.id, links, cutoff)
            if removed:
                self._say(f"unlinked {removed} blob(s) from {graph.name}")
            report.links_removed += removed

    # --- sweep: blob rows ----------------------------------------------------------------
    async def _plan_blob_sweep(
        self, report: GcReport, stale_links: Counter[str], doomed_refs: Counter[str]
    ) -> None:
        after = ""
        while page := await self.store.blob_usage(after=after, limit=BATCH):
            for blob in page:
                if (
                    blob.links <= stale_links[blob.digest]
                    and blob.references <= doomed_refs[blob.digest]
                ):
                    self._say(f"would delete blob {blob.digest} ({blob.size} bytes)")
                    report.blobs_deleted += 1
                    report.blob_bytes_freed += blob.size
            after = page[-1].digest

    async def _sweep_blobs(self, report: GcReport) -> None:
        after = ""
        while page := await self.store.unused_blobs(after=after, limit=BATCH):
            for digest, size in page:
                freed = await self._delete_blob(digest, size, report)
                if freed is not None:
                    self._say(f"deleted blob {digest} ({freed} bytes)")
                    report.blobs_deleted += 1
                    report.blob_bytes_freed += freed
            after = page[-1][0]

    async def _delete_blob(self, digest_text: str, size: int, report: GcReport) -> int | None:
        try:
            digest = Digest.parse(digest_text)
        except InvalidDigest:
            report.errors.append(f"blob row {digest_text!r}: not a digest, kept")
            return None

        async def delete_data() -> None:
            await self.storage.delete(paths.blob_key(digest))
            await self.storage.delete(paths.layer_listing_key(digest))

        try:
            return await self.store.delete_blob(digest_text, size, delete_data)
        except StorageError as exc:
            report.errors.append(f"blob {digest_text}: {exc}")
            log.warning("gc: could not delete blob %s: %s", digest_text, exc)
            return None

    # --- sweep: data without rows --------------------------------------------------------
    async def _sweep_unrecorded(
        self, options: GcOptions, cutoff: datetime, report: GcReport
    ) -> None:
        batch: list[tuple[Digest, ObjectInfo]] = []
        async for info in self.storage.list_objects(paths.BLOBS_DIR):
            digest = paths.digest_of_blob_key(info.key)
            if digest is None or info.modified is None or info.modified >= cutoff:
                continue
            batch.append((digest, info))
            if len(batch) >= BATCH:
                await self._unrecorded_batch(options, batch, report)
                batch = []
        if batch:
            await self._unrecorded_batch(options, batch, report)

    async def _unrecorded_batch(
        self, options: GcOptions, batch: list[tuple[Digest, ObjectInfo]], report: GcReport
    ) -> None:
        recorded = await self.store.recorded_blobs(str(digest) for digest, _info in batch)
        for digest, info in batch:
            if str(digest) in recorded:
                continue
            if options.dry_run:
                freed: int | None = info.size
                self._say(f"would delete unrecorded blob data {digest} ({info.size} bytes)")
            else:
                freed = await self._delete_blob(str(digest), info.size, report)
                if freed is not None:
                    self._say(f"deleted unrecorded blob data {digest} ({info.size} bytes)")
            if freed is not None:
                report.orphans_deleted += 1
                report.orphan_bytes_freed += info.size

    # --- uploads -------------------------------------------------------------------------
    async def _sweep_uploads(self, options: GcOptions, cutoff: datetime, report: GcReport) -> None:
        stored = {upload.id: upload async for upload in self.storage.list_uploads()}
        after = ""
        while page := await self.store.stale_uploads(cutoff, after=after, limit=BATCH):
            for row in page:
                data = stored.pop(row.id, None)
                if data is not None and data.modified >= cutoff:
                    continue  # data written lately (a PATCH still streaming)
                size = data.size if data is not None else row.size
                if options.dry_run:
                    self._say(f"would purge upload {row.id} ({size} bytes)")
                elif await self.store.delete_stale_upload(row.id, cutoff):
                    await self._abort(row.id, report)
                    self._say(f"purged upload {row.id} ({size} bytes)")
                else:
                    continue
                report.uploads_purged += 1
                report.upload_bytes_freed += size
            after = page[-1].id
        old = [upload for upload in stored.values() if upload.modified < cutoff]
        for batch in _chunks(old, BATCH):
            await self._unrecorded_uploads(options, batch, report)

    async def _unrecorded_uploads(
        self, options: GcOptions, batch: Sequence[UploadInfo], report: GcReport
    ) -> None:
        recorded = await self.store.recorded_uploads(upload.id for upload in batch)
        for upload in batch:
            if upload.id in recorded:
                continue  # a row updated since the listing
            if options.dry_run:
                self._say(f"would purge upload data {upload.id} ({upload.size} bytes)")
            else:
                await self._abort(upload.id, report)
                self._say(f"purged upload data {upload.id} ({upload.size} bytes)")
            report.upload_data_purged += 1
            report.upload_bytes_freed += upload.size

    async def _abort(self, upload_id: str, report: GcReport) -> None:
        try:
            await self.storage.abort_upload(upload_id)
        except StorageError as exc:
            report.errors.append(f"upload {upload_id}: {exc}")
