"""Manifest service: put, get, delete by tag or digest; tag lists, catalog and referrers."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockyard.metadata.db import Transaction
from dockyard.metadata.manifest_put import ManifestDetails, MissingReferences, ReferenceRecord
from dockyard.metadata.store import ManifestRecord, RegistryStore
from dockyard.oci import mediatypes as mt
from dockyard.oci.digest import Digest, InvalidDigest, is_digest
from dockyard.oci.manifest import InvalidManifest, Manifest, parse_manifest
from dockyard.registry.cache import ManifestCache
from dockyard.registry.errors import (
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestTooLarge,
    ManifestUnknown,
    NameUnknown,
    PaginationInvalid,
    Unsupported,
)
from dockyard.registry.stats import PullRecorder
from dockyard.registry.validation import check_name, check_tag, parse_digest
from dockyard.storage import StorageDriver, StorageError, paths

#: Config blobs larger than this are not read for platform details.
MAX_CONFIG_BYTES = 1024 * 1024
#: Platforms of this many config blobs are kept (a manifest list's images share few configs).
PLATFORM_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class StoredManifest:
    """A manifest as the registry sends it."""

    digest: str
    media_type: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class PutResult:
    """What storing a manifest produced."""

    digest: str
    subject: str | None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a lexically ordered listing; ``next_last`` is set when more follow."""

    items: list[str]
    next_last: str | None


class ManifestService:
    """Stores and serves manifests, tags and referrers."""

    def __init__(
        self,
        store: RegistryStore,
        *,
        delete_enabled: bool,
        max_manifest_bytes: int,
        max_page_size: int,
        cache_ttl: float = 1.0,
        storage: StorageDriver | None = None,
        pulls: PullRecorder | None = None,
    ) -> None:
        self.store = store
        self.storage = storage
        self.pulls = pulls
        self.cache = ManifestCache(cache_ttl)
        self.delete_enabled = delete_enabled
        self.max_manifest_bytes = max_manifest_bytes
        self.max_page_size = max_page_size
        self._platforms: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._inflight: dict[tuple[str, str], asyncio.Task[ManifestRecord | None]] = {}

    # --- put -----------------------------------------------------------------------------
    async def put(
        self,
        name: str,
        reference: str,
        payload: bytes,
        content_type: str | None,
        *,
        pushed_by: str = "",
        also: Callable[[Transaction, PutResult], object] | None = None,
    ) -> PutResult:
        """Validate and store a manifest under a tag or its digest.

        ``also`` runs inside the transaction that stores it (see ``RegistryStore.put_manifest``).
        """
        check_name(name)
        if len(payload) > self.max_manifest_bytes:
            raise ManifestTooLarge(
                f"manifest is {len(payload)} bytes, limit is {self.max_manifest_bytes}",
                {"size": len(payload), "limit": self.max_manifest_bytes},
            )
        tag: str | None = None
        if is_digest(reference):
            expected = parse_digest(reference)
            digest = Digest.of(payload, expected.algorithm)
            if digest != expected:
                raise DigestInvalid(
                    f"manifest digest is {digest}, not {expected}",
                    {"expected": str(expected), "actual": str(digest)},
                )
        else:
            tag = check_tag(reference)
            digest = Digest.of(payload)
        try:
            manifest = parse_manifest(payload, content_type)
        except InvalidManifest as exc:
            raise ManifestInvalid(str(exc)) from None
        references = [ReferenceRecord(d.digest, "blob") for d in manifest.blob_references]
        references += [ReferenceRecord(d.digest, "manifest") for d in manifest.manifests]
        subject = manifest.subject.digest if manifest.subject else None
        result = PutResult(str(digest), subject)
        missing = await self.store.put_manifest(
            name,
            digest=str(digest),
            media_type=manifest.media_type,
            payload=payload,
            artifact_type=manifest.referrer_artifact_type,
            subject_digest=subject,
            references=_unique(references),
            tag=tag,
            details=await self._details(manifest, len(payload)),
            pushed_by=pushed_by,
            also=None if also is None else lambda conn: also(conn, result),
        )
        if missing is not None:
            _raise_missing(missing)
        self.cache.invalidate(name)
        return result

    async def _details(self, manifest: Manifest, size: int) -> ManifestDetails:
        """Config digest, platform and compressed size of an image manifest."""
        if manifest.config is None:
            return ManifestDetails(total_size=size)
        total = manifest.config.size + sum(layer.size for layer in manifest.layers)
        platform = await self._platform(manifest.config.digest, manifest.config.size)
        return ManifestDetails(
            config_digest=manifest.config.digest,
            os=platform.get("os"),
            architecture=platform.get("architecture"),
            variant=platform.get("variant"),
            total_size=total,
        )

    async def _platform(self, config_digest: str, size: int) -> dict[str, str]:
        """``os``/``architecture``/``variant`` of an image config blob (empty if not one)."""
        if self.storage is None or size > MAX_CONFIG_BYTES:
            return {}
        known = self._platforms.get(config_digest)
        if known is not None:
            self._platforms.move_to_end(config_digest)
            return known
        try:
            data = await self.storage.get(paths.blob_key(Digest.parse(config_digest)))
            config = json.loads(data)
        except (StorageError, InvalidDigest, ValueError):
            return {}
        if not isinstance(config, dict):
            return {}
        platform = {
            key: value[:64]
            for key in ("os", "architecture", "variant")
            if isinstance(value := config.get(key), str) and value and "\x00" not in value
        }
        # Blobs are content-addressed: what a digest says never changes.
        self._platforms[config_digest] = platform
        while len(self._platforms) > PLATFORM_CACHE_SIZE:
            self._platforms.popitem(last=False)
        return platform

    # --- get -----------------------------------------------------------------------------
    async def get(
        self,
        name: str,
        reference: str,
        accept: frozenset[str] | None = None,
        *,
        count_pull: bool = False,
    ) -> StoredManifest:
        """The manifest a tag or digest names, negotiated against ``accept``.

        When a client does not accept an index (old clients), the linux/amd64 image of it
        is served instead, if there is one of an acceptable type.
        """
        check_name(name)
        record = await self._find(name, reference)
        if (
            accept
            and "*/*" not in accept
            and record.media_type not in accept
            and record.media_type in mt.INDEXES
        ):
            chosen = await self._platform_fallback(name, record, accept)
            if chosen is not None:
                record = chosen
        if count_pull and self.pulls is not None:
            self.pulls.record(name, None if is_digest(reference) else reference, record.digest)
        return StoredManifest(record.digest, record.media_type, record.payload)

    async def _find(self, name: str, reference: str) -> ManifestRecord:
        cached = self.cache.get(name, reference)
        if cached is not None:
            return cached
        if is_digest(reference):
            reference = str(parse_digest(reference))
        else:
            check_tag(reference)
        record = await self._lookup(name, reference)
        if record is None:
            raise ManifestUnknown(
                f"manifest {reference} unknown to repository {name}", {"reference": reference}
            )
        return record

    async def _lookup(self, name: str, reference: str) -> ManifestRecord | None:
        """One database lookup per key at a time: concurrent misses share it.

        Without this, every connection asking for a popular tag when its cache entry expires
        queries the database at once (a burst that shows in the tail latency).
        """
        key = (name, reference)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._query(name, reference))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._lookup_done(key, done))
        # Shielded: a client that goes away does not cancel the lookup the others wait for.
        return await asyncio.shield(task)

    def _lookup_done(self, key: tuple[str, str], task: asyncio.Task[ManifestRecord | None]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here, so an error nobody awaited is not logged as lost

    async def _query(self, name: str, reference: str) -> ManifestRecord | None:
        epoch = self.cache.epoch
        if is_digest(reference):
            record = await self.store.manifest_by_digest(name, reference)
        else:
            record = await self.store.manifest_by_tag(name, reference)
        if record is not None:
            self.cache.put(name, reference, record, epoch=epoch)
        return record

    async def _platform_fallback(
        self, name: str, index: ManifestRecord, accept: frozenset[str]
    ) -> ManifestRecord | None:
        try:
            children = json.loads(index.payload).get("manifests") or []
        except ValueError:
            return None
        for child in children:
            platform = child.get("platform") or {}
            if (
                platform.get("os") == "linux"
                and platform.get("architecture") == "amd64"
                and child.get("mediaType") in accept
            ):
                return await self.store.manifest_by_digest(name, child.get("digest", ""))
        return None

    # --- delete --------------------------------------------------------------------------
    async def delete(self, name: str, reference: str) -> None:
        """Delete a tag (only the tag) or a manifest by digest (with its tags)."""
        check_name(name)
        if not self.delete_enabled:
            raise Unsupported("deletion is disabled on this registry")
        if is_digest(reference):
            digest = parse_digest(reference)
            found = await self.store.delete_manifest(name, str(digest))
        else:
            found = await self.store.delete_tag(name, check_tag(reference))
        self.cache.invalidate(name)
        if not found:
            raise ManifestUnknown(
                f"manifest {reference} unknown to repository {name}", {"reference": reference}
            )

    # --- listings ------------------------------------------------------------------------
    async def tags(self, name: str, n: str | None, last: str | None) -> Page:
        """One page of the repository's tags."""
        check_name(name)
        limit = self._page_size(n)
        if limit == 0:
            if not await self.store.repository_exists(name):
                raise NameUnknown(f"repository {name} not known", {"name": name})
            return Page([], None)
        items = await self.store.list_tags(name, after=last, limit=limit + 1)
        if items is None:
            raise NameUnknown(f"repository {name} not known", {"name": name})
        return _page(items, limit)

    async def catalog(self, n: str | None, last: str | None, visible: Any = None) -> Page:
        """One page of repository names (only those ``visible`` selects, when given)."""
        limit = self._page_size(n)
        if limit == 0:
            return Page([], None)
        names = await self.store.list_repositories(after=last, limit=limit + 1, visible=visible)
        return _page(names, limit)

    def _page_size(self, n: str | None) -> int:
        if n is None or n == "":
            return self.max_page_size
        try:
            value = int(n)
        except ValueError:
            raise PaginationInvalid(f"n must be a number, not {n[:50]!r}", {"n": n[:50]}) from None
        if value < 0:
            raise PaginationInvalid("n must not be negative", {"n": value})
        return min(value, self.max_page_size)

    # --- referrers -----------------------------------------------------------------------
    async def referrers(
        self, name: str, digest_text: str, artifact_type: str | None
    ) -> dict[str, object]:
        """An OCI image index of the manifests whose subject is ``digest_text``."""
        check_name(name)
        digest = parse_digest(digest_text)
        records = await self.store.referrers(name, str(digest), artifact_type or None)
        descriptors: list[dict[str, object]] = []
        for record in records:
            descriptor: dict[str, object] = {
                "mediaType": record.media_type,
                "digest": record.digest,
                "size": record.size,
            }
            if record.artifact_type:
                descriptor["artifactType"] = record.artifact_type
            annotations = _annotations(record.payload)
            if annotations:
                descriptor["annotations"] = annotations
            descriptors.append(descriptor)
        return {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": descriptors}


def _raise_missing(missing: MissingReferences) -> None:
    if missing.blobs:
        raise ManifestBlobUnknown(
            f"manifest references unknown blob {missing.blobs[0]}",
            {"digest": missing.blobs[0], "missing": missing.blobs},
        )
    # The spec: a manifest rejected for referencing a missing manifest or blob "MUST result in
    # one or more MANIFEST_BLOB_UNKNOWN errors" (CNCF Distribution agrees).
    raise ManifestBlobUnknown(
        f"index references unknown manifest {missing.manifests[0]}",
        {"digest": missing.manifests[0], "missing": missing.manifests},
    )


def _page(items: list[str], limit: int) -> Page:
    if len(items) > limit:
        items = items[:limit]
        return Page(items, items[-1])
    return Page(items, None)


def _annotations(payload: bytes) -> dict[str, str] | None:
    try:
        value = json.loads(payload).get("annotations")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, dict) and value else None


def _unique(references: list[ReferenceRecord]) -> list[ReferenceRecord]:
    return list(dict.fromkeys(references))
