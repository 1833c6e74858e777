"""Hub queries of tags: pages of tags with their manifests, index children, tag deletion."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, null, select, update

from dockyard.metadata.db import Database
from dockyard.metadata.tables import manifests, tags
from dockyard.oci.mediatypes import INDEXES

#: Orderings of tag listings (Docker Hub's ``ordering`` values).
TAG_ORDERINGS = ("last_updated", "-last_updated", "name", "-name")


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """What the Hub shows of a stored manifest (the payload only of indexes)."""

    id: int
    digest: str
    media_type: str
    created_at: datetime
    last_pulled_at: datetime | None
    config_digest: str | None
    os: str | None
    architecture: str | None
    variant: str | None
    total_size: int
    #: The payload of an index (to read its children's platforms); None for other manifests.
    index_payload: bytes | None


@dataclass(frozen=True, slots=True)
class TagRow:
    """A tag and the manifest it points at."""

    id: int
    name: str
    updated_at: datetime
    pushed_by: str
    last_pulled_at: datetime | None
    manifest: ManifestRow


_INDEX_PAYLOAD = case(
    (manifests.c.media_type.in_(sorted(INDEXES)), manifests.c.payload),
    else_=null(),
).label("index_payload")

_MANIFEST_COLUMNS = (
    manifests.c.id,
    manifests.c.digest,
    manifests.c.media_type,
    manifests.c.created_at,
    manifests.c.last_pulled_at,
    manifests.c.config_digest,
    manifests.c.os,
    manifests.c.architecture,
    manifests.c.variant,
    manifests.c.total_size,
    _INDEX_PAYLOAD,
)

_TAG_COLUMNS = (
    tags.c.id,
    tags.c.name,
    tags.c.updated_at,
    tags.c.pushed_by,
    tags.c.last_pulled_at,
)


def _manifest(row: Any) -> ManifestRow:
    payload = row[10]
    return ManifestRow(
        id=int(row[0]),
        digest=str(row[1]),
        media_type=str(row[2]),
        created_at=row[3],
        last_pulled_at=row[4],
        config_digest=row[5],
        os=row[6],
        architecture=row[7],
        variant=row[8],
        total_size=int(row[9] or 0),
        index_payload=bytes(payload) if payload is not None else None,
    )


def _tag(row: Any) -> TagRow:
    return TagRow(
        id=int(row[0]),
        name=str(row[1]),
        updated_at=row[2],
        pushed_by=str(row[3] or ""),
        last_pulled_at=row[4],
        manifest=_manifest(row[5:]),
    )


class TagStore:
    """Tags of one repository as the Hub lists them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _ordering(self, ordering: str) -> list[Any]:
        name = self.db.bytewise(tags.c.name)
        keys: dict[str, list[Any]] = {
            "last_updated": [tags.c.updated_at.asc(), name.asc()],
            "-last_updated": [tags.c.updated_at.desc(), name.asc()],
            "name": [name.asc()],
            "-name": [name.desc()],
        }
        return keys[ordering]

    async def list_tags(
        self,
        repository_id: int,
        *,
        contains: str | None = None,
        ordering: str = "-last_updated",
        offset: int = 0,
        limit: int = 25,
    ) -> tuple[int, list[TagRow]]:
        """A page of the repository's tags (``contains``: a case-insensitive substring)."""
        where = [tags.c.repository_id == repository_id]
        if contains:
            where.append(func.lower(tags.c.name).contains(contains.lower(), autoescape=True))
        count = select(func.count()).select_from(tags).where(*where)
        stmt = (
            select(*_TAG_COLUMNS, *_MANIFEST_COLUMNS)
            .join(manifests, manifests.c.id == tags.c.manifest_id)
            .where(*where)
            .order_by(*self._ordering(ordering))
            .offset(offset)
            .limit(limit)
        )
        async with self.db.read() as conn:
            total = await conn.scalar(count)
            rows = (await conn.execute(stmt)).all()
        return int(total or 0), [_tag(row) for row in rows]

    async def get_tag(self, repository_id: int, name: str) -> TagRow | None:
        """One tag of the repository."""
        stmt = (
            select(*_TAG_COLUMNS, *_MANIFEST_COLUMNS)
            .join(manifests, manifests.c.id == tags.c.manifest_id)
            .where(tags.c.repository_id == repository_id, tags.c.name == name)
        )
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _tag(row)

    async def manifests_by_digest(
        self, repository_id: int, digests: Iterable[str]
    ) -> dict[str, ManifestRow]:
        """The repository's manifests among ``digests`` (the children of indexes)."""
        wanted = sorted(set(digests))
        if not wanted:
            return {}
        stmt = select(*_MANIFEST_COLUMNS).where(
            manifests.c.repository_id == repository_id, manifests.c.digest.in_(wanted)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        found = [_manifest(row) for row in rows]
        return {m.digest: m for m in found}

    async def set_platform(
        self, manifest_id: int, os: str, architecture: str, variant: str | None
    ) -> None:
        """Store the platform read from an image's config blob (``""``: it declares none)."""
        async with self.db.write() as conn:
            await conn.execute(
                update(manifests)
                .where(manifests.c.id == manifest_id)
                .values(
                    os=os[:64], architecture=architecture[:64], variant=(variant or "")[:64] or None
                )
            )

    async def delete_tag(self, repository_id: int, name: str) -> str | None:
        """Remove one tag; the digest it pointed at, or None when there was no such tag."""
        async with self.db.write() as conn:
            digest = await conn.scalar(
                select(manifests.c.digest)
                .join(tags, tags.c.manifest_id == manifests.c.id)
                .where(tags.c.repository_id == repository_id, tags.c.name == name)
            )
            if digest is None:
                return None
            await conn.execute(
                delete(tags).where(tags.c.repository_id == repository_id, tags.c.name == name)
            )
        return str(digest)
