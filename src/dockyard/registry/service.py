"""The registry's services bundled together, as the web layer receives them."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.metadata.store import RegistryStore
from dockyard.registry.blobs import BlobService
from dockyard.registry.manifests import ManifestService
from dockyard.registry.stats import PullRecorder
from dockyard.registry.uploads import UploadService
from dockyard.storage import StorageDriver


@dataclass(frozen=True, slots=True)
class RegistryServices:
    """Blob, upload and manifest services sharing one store and one storage driver."""

    blobs: BlobService
    uploads: UploadService
    manifests: ManifestService
    pulls: PullRecorder

    @classmethod
    def build(
        cls,
        store: RegistryStore,
        storage: StorageDriver,
        *,
        delete_enabled: bool,
        max_manifest_bytes: int,
        max_page_size: int,
        manifest_cache_seconds: float = 1.0,
        blob_redirect_seconds: int | None = None,
    ) -> RegistryServices:
        """Wire the three services over ``store`` and ``storage``."""
        pulls = PullRecorder(store)
        return cls(
            pulls=pulls,
            blobs=BlobService(
                store,
                storage,
                delete_enabled=delete_enabled,
                redirect_seconds=blob_redirect_seconds,
            ),
            uploads=UploadService(store, storage),
            manifests=ManifestService(
                store,
                delete_enabled=delete_enabled,
                max_manifest_bytes=max_manifest_bytes,
                max_page_size=max_page_size,
                cache_ttl=manifest_cache_seconds,
                storage=storage,
                pulls=pulls,
            ),
        )
