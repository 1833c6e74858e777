"""Blob service: where a blob is served from, deleting links, and cross-repository mounts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.metadata.store import RegistryStore
from dockyard.oci.digest import Digest
from dockyard.registry.errors import BlobUnknown, Unsupported
from dockyard.registry.validation import check_name, parse_digest
from dockyard.storage import StorageDriver, paths


@dataclass(frozen=True, slots=True)
class BlobLocation:
    """How to send a blob: its digest, size and storage key (and a local path if any)."""

    digest: Digest
    size: int
    key: str
    local_path: Path | None


class BlobService:
    """Reads and unlinks blobs of a repository."""

    def __init__(
        self,
        store: RegistryStore,
        storage: StorageDriver,
        *,
        delete_enabled: bool,
        redirect_seconds: int | None = None,
    ) -> None:
        self.store = store
        self.storage = storage
        self.delete_enabled = delete_enabled
        #: Lifetime of presigned URLs downloads are redirected to (None: no redirects).
        self.redirect_seconds = redirect_seconds

    async def locate(self, name: str, digest_text: str) -> BlobLocation:
        """Where the blob ``digest_text`` of repository ``name`` is stored."""
        check_name(name)
        digest = parse_digest(digest_text)
        size = await self.store.blob_size_in_repository(name, str(digest))
        if size is None:
            raise BlobUnknown(
                f"blob {digest} unknown to repository {name}", {"digest": str(digest)}
            )
        key = paths.blob_key(digest)
        return BlobLocation(digest, size, key, self.storage.local_path(key))

    async def download_url(self, location: BlobLocation) -> str | None:
        """A presigned URL to send the client to instead of the bytes, when configured."""
        if self.redirect_seconds is None:
            return None
        return await self.storage.url_for(location.key, expires_in=self.redirect_seconds)

    async def delete(self, name: str, digest_text: str) -> Digest:
        """Stop repository ``name`` from serving the blob (data is reclaimed by gc)."""
        check_name(name)
        if not self.delete_enabled:
            raise Unsupported("deletion is disabled on this registry")
        digest = parse_digest(digest_text)
        if not await self.store.unlink_blob(name, str(digest)):
            raise BlobUnknown(
                f"blob {digest} unknown to repository {name}", {"digest": str(digest)}
            )
        return digest

    async def mount(self, name: str, digest_text: str, source: str) -> Digest | None:
        """Link a blob of repository ``source`` into ``name``; None when it cannot."""
        check_name(name)
        digest = parse_digest(digest_text)
        if source == name or not _valid_source(source):
            return None
        size = await self.store.blob_size_in_repository(source, str(digest))
        if size is None:
            return None
        # Only onto a blob row that still exists (and stays, locked, until linked): garbage
        # collection may have swept the blob since the check above.
        if not await self.store.link_blob(name, str(digest), size, existing_only=True):
            return None
        return digest


def _valid_source(source: str) -> bool:
    try:
        check_name(source)
    except Exception:
        return False
    return True
