"""Tags as the Hub shows them: pages of tags with their images, one tag, deleting a tag.

An image manifest is one image; an index (manifest list) is one image per child manifest the
repository holds, with the platform its entry in the index declares. Manifest rows stored
before platforms were recorded get theirs from the config blob on first view (and keep it).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dockyard.auth.policy import Principal
from dockyard.hub.errors import Forbidden, NotFound, ValidationFailed
from dockyard.hub.repositories import RepositoryService
from dockyard.metadata.tag_store import TAG_ORDERINGS, ManifestRow, TagRow, TagStore
from dockyard.oci.digest import Digest, InvalidDigest
from dockyard.oci.names import is_valid_tag
from dockyard.registry.manifests import MAX_CONFIG_BYTES
from dockyard.storage import StorageDriver, StorageError, paths

#: ``vnd.docker.reference.type`` of the attestation manifests BuildKit adds to an index.
ATTESTATION = "attestation-manifest"


@dataclass(frozen=True, slots=True)
class ImageView:
    """One platform image of a tag."""

    digest: str
    os: str | None
    architecture: str | None
    variant: str | None
    size: int
    last_pulled: datetime | None
    last_pushed: datetime | None


@dataclass(frozen=True, slots=True)
class TagView:
    """A tag with its images and the size Docker Hub calls ``full_size``."""

    tag: TagRow
    repository_id: int
    images: list[ImageView]
    #: An image's compressed size; for an index, its linux/amd64 image's (else the first's).
    full_size: int


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: str
    platform: dict[str, str]


class TagService:
    """Reads and deletes tags of repositories the caller may see."""

    def __init__(
        self,
        tags: TagStore,
        repositories: RepositoryService,
        storage: StorageDriver | None = None,
    ) -> None:
        self.tags = tags
        self.repositories = repositories
        self.storage = storage

    async def list_tags(
        self,
        principal: Principal | None,
        name: str,
        *,
        contains: str | None,
        ordering: str | None,
        page: int,
        page_size: int,
    ) -> tuple[int, list[TagView]]:
        """A page of the repository's tags (newest push first unless ``ordering`` says)."""
        ordering = ordering or "-last_updated"
        if ordering not in TAG_ORDERINGS:
            raise ValidationFailed(f"ordering must be one of {', '.join(TAG_ORDERINGS)}")
        record = await self.repositories.visible(principal, name)
        total, rows = await self.tags.list_tags(
            record.id,
            contains=contains,
            ordering=ordering,
            offset=(page - 1) * page_size,
            limit=page_size,
        )
        return total, await self._views(record.id, rows)

    async def get(self, principal: Principal | None, name: str, tag: str) -> TagView:
        """One tag of a repository the caller may read."""
        record = await self.repositories.visible(principal, name)
        row = await self.tags.get_tag(record.id, tag) if is_valid_tag(tag) else None
        if row is None:
            raise NotFound(f"tag {tag!r} not found in {name}")
        return (await self._views(record.id, [row]))[0]

    async def delete(self, principal: Principal, name: str, tag: str, *, address: str = "") -> str:
        """Delete a tag (write access needed); the digest it pointed at."""
        record = await self.repositories.visible(principal, name)
        if "push" not in await self.repositories.grants.allowed(name, principal):
            raise Forbidden(f"you may not delete tags of {name}")
        digest = await self.tags.delete_tag(record.id, tag) if is_valid_tag(tag) else None
        if digest is None:
            raise NotFound(f"tag {tag!r} not found in {name}")
        await self.repositories.grants.store.audit(
            "tag.delete",
            actor=principal.username,
            actor_ip=address,
            namespace=record.namespace,
            target=name,
            detail={"tag": tag, "digest": digest},
        )
        return digest

    # --- images --------------------------------------------------------------------------
    async def _views(self, repository_id: int, rows: list[TagRow]) -> list[TagView]:
        entries = {
            row.manifest.id: _index_entries(row.manifest.index_payload)
            for row in rows
            if row.manifest.index_payload is not None
        }
        children = await self.tags.manifests_by_digest(
            repository_id, (e.digest for found in entries.values() for e in found)
        )
        filled: dict[int, ManifestRow] = {}
        views: list[TagView] = []
        for row in rows:
            manifest = row.manifest
            if manifest.index_payload is None:
                manifest = await self._with_platform(manifest, filled)
                images = [_image(manifest, {})]
            else:
                images = []
                for entry in entries[manifest.id]:
                    child = children.get(entry.digest)
                    if child is None:
                        continue
                    if not entry.platform:
                        child = await self._with_platform(child, filled)
                    images.append(_image(child, entry.platform))
            views.append(
                TagView(row, repository_id, images, _full_size(manifest.total_size, images))
            )
        return views

    async def _with_platform(self, row: ManifestRow, done: dict[int, ManifestRow]) -> ManifestRow:
        """``row`` with its platform, read from its config blob if not recorded yet."""
        if row.os is not None or not row.config_digest or self.storage is None:
            return row
        if row.id in done:
            return done[row.id]
        platform = await read_platform(self.storage, row.config_digest)
        if platform is None:  # the blob cannot be read now: show no platform, try next time
            return row
        os, architecture, variant = platform
        await self.tags.set_platform(row.id, os, architecture, variant)
        done[row.id] = dataclasses.replace(
            row, os=os, architecture=architecture, variant=variant or None
        )
        return done[row.id]


async def read_platform(
    storage: StorageDriver, config_digest: str
) -> tuple[str, str, str | None] | None:
    """``(os, architecture, variant)`` an image config declares (``""`` where it does not).

    None when the blob cannot be read (missing, or a storage error): nothing to record.
    """
    try:
        key = paths.blob_key(Digest.parse(config_digest))
        info = await storage.stat(key)
        if info is None:
            return None
        if info.size > MAX_CONFIG_BYTES:
            return "", "", None
        data = await storage.get(key)
    except (StorageError, InvalidDigest):
        return None
    try:
        config = json.loads(data)
    except ValueError:
        return "", "", None
    if not isinstance(config, dict):
        return "", "", None
    os, architecture, variant = (_text(config.get(k)) for k in ("os", "architecture", "variant"))
    return os, architecture, variant or None


def _text(value: Any) -> str:
    # No platform value holds a NUL (PostgreSQL could not store one): treated as undeclared.
    return value[:64] if isinstance(value, str) and "\x00" not in value else ""


def _index_entries(payload: bytes | None) -> list[_Entry]:
    """The child manifests an index lists (attestation manifests left out)."""
    try:
        document = json.loads(payload or b"")
    except ValueError:
        return []
    listed = document.get("manifests") if isinstance(document, dict) else None
    entries: list[_Entry] = []
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("digest"), str):
            continue
        annotations = item.get("annotations")
        if isinstance(annotations, dict) and (
            annotations.get("vnd.docker.reference.type") == ATTESTATION
        ):
            continue
        platform = item.get("platform")
        declared = {
            key: _text(platform.get(key))
            for key in ("os", "architecture", "variant")
            if isinstance(platform, dict) and _text(platform.get(key))
        }
        entries.append(_Entry(item["digest"], declared))
    return entries


def _image(manifest: ManifestRow, platform: dict[str, str]) -> ImageView:
    return ImageView(
        digest=manifest.digest,
        os=platform.get("os") or manifest.os or None,
        architecture=platform.get("architecture") or manifest.architecture or None,
        variant=platform.get("variant") or (None if platform else manifest.variant) or None,
        size=manifest.total_size,
        last_pulled=manifest.last_pulled_at,
        last_pushed=manifest.created_at,
    )


def _full_size(own_size: int, images: list[ImageView]) -> int:
    for image in images:
        if image.os == "linux" and image.architecture == "amd64":
            return image.size
    return images[0].size if images else own_size
