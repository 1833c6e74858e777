"""Hub queries over many repositories: namespace listings, search, stars, deletion, bulk access.

Every statement runs on SQLite and PostgreSQL: text search is ``lower(column) LIKE`` with the
wildcards of the search term escaped, and names are ordered bytewise (``Database.bytewise``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, delete, func, literal, or_, select, union_all, update

from dockyard.metadata.db import Database
from dockyard.metadata.hub_store import (
    REPOSITORY_COLUMNS,
    HubStore,
    RepositoryAccessRow,
    RepositoryRecord,
)
from dockyard.metadata.hub_tables import (
    namespaces,
    organization_members,
    organizations,
    repository_collaborators,
    stars,
    team_members,
    team_permissions,
)
from dockyard.metadata.store import utcnow
from dockyard.metadata.tables import (
    manifest_references,
    manifests,
    repositories,
    repository_blobs,
    tags,
)
from dockyard.oci.names import OFFICIAL_NAMESPACE

#: Orderings of repository listings (Docker Hub's ``ordering`` values).
REPOSITORY_ORDERINGS = (
    "name",
    "-name",
    "last_updated",
    "-last_updated",
    "pull_count",
    "-pull_count",
)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: a user (possibly a site administrator) or nobody (``user_id`` None)."""

    user_id: int | None
    is_admin: bool = False


class CatalogStore:
    """Listings, search and stars of repositories, filtered by what a viewer may read."""

    def __init__(self, db: Database, hub: HubStore) -> None:
        self.db = db
        self.hub = hub

    def _visible(self, viewer: Viewer) -> Any:
        return self.hub.readable_repositories_condition(viewer.user_id, viewer.is_admin)

    async def _page(
        self, where: Any, order: Sequence[Any], offset: int, limit: int, source: Any = None
    ) -> tuple[int, list[RepositoryRecord]]:
        source = repositories if source is None else source
        count = select(func.count()).select_from(source).where(where)
        rows = (
            select(*REPOSITORY_COLUMNS)
            .select_from(source)
            .where(where)
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
        async with self.db.read() as conn:
            total = await conn.scalar(count)
            found = (await conn.execute(rows)).all()
        return int(total or 0), [RepositoryRecord(*row) for row in found]

    def _ordering(self, ordering: str) -> list[Any]:
        name = self.db.bytewise(repositories.c.name)
        updated = func.coalesce(repositories.c.last_pushed_at, repositories.c.created_at)
        keys: dict[str, list[Any]] = {
            "name": [name.asc()],
            "-name": [name.desc()],
            "last_updated": [updated.asc(), name.asc()],
            "-last_updated": [updated.desc(), name.asc()],
            "pull_count": [repositories.c.pull_count.asc(), name.asc()],
            "-pull_count": [repositories.c.pull_count.desc(), name.asc()],
        }
        return [*keys[ordering], repositories.c.id.asc()]

    # --- listings ----------------------------------------------------------------------
    async def namespace_known(self, namespace: str) -> bool:
        """True when a user or organization has the name, or a repository lives in it."""
        async with self.db.read() as conn:
            taken = await conn.scalar(
                select(namespaces.c.name).where(namespaces.c.name == namespace)
            )
            if taken is not None:
                return True
            repo = await conn.scalar(
                select(repositories.c.id).where(repositories.c.namespace == namespace).limit(1)
            )
        return repo is not None

    async def list_namespace(
        self,
        namespace: str,
        viewer: Viewer,
        *,
        contains: str | None = None,
        ordering: str = "name",
        offset: int = 0,
        limit: int = 25,
    ) -> tuple[int, list[RepositoryRecord]]:
        """A page of the namespace's repositories the viewer may read, with the total."""
        conditions = [repositories.c.namespace == namespace, self._visible(viewer)]
        if contains:  # in the name after "<namespace>/"
            short = func.substr(repositories.c.name, len(namespace) + 2)
            conditions.append(func.lower(short).contains(contains.lower(), autoescape=True))
        return await self._page(and_(*conditions), self._ordering(ordering), offset, limit)

    async def search(
        self, terms: Sequence[str], viewer: Viewer, *, offset: int = 0, limit: int = 25
    ) -> tuple[int, list[RepositoryRecord]]:
        """Repositories whose name or descriptions contain every term (case-insensitively).

        Ranked: official images (``library/``) first, then by stars, then by pulls.
        """
        conditions = [self._visible(viewer)]
        for term in terms:
            needle = term.lower()
            conditions.append(
                or_(
                    func.lower(repositories.c.name).contains(needle, autoescape=True),
                    func.lower(repositories.c.description).contains(needle, autoescape=True),
                    func.lower(repositories.c.full_description).contains(needle, autoescape=True),
                )
            )
        official_first = case((repositories.c.namespace == OFFICIAL_NAMESPACE, 0), else_=1)
        order = [
            official_first,
            repositories.c.star_count.desc(),
            repositories.c.pull_count.desc(),
            self.db.bytewise(repositories.c.name).asc(),
            repositories.c.id.asc(),
        ]
        return await self._page(and_(*conditions), order, offset, limit)

    # --- stars ---------------------------------------------------------------------------
    async def star(self, user_id: int, repository_id: int) -> bool:
        """Star a repository (idempotent); True when the star is new. Keeps ``star_count``."""
        insert = (
            self.db.insert(stars)
            .values(user_id=user_id, repository_id=repository_id, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["user_id", "repository_id"])
            .returning(stars.c.user_id)
        )
        async with self.db.write() as conn:
            # RETURNING tells whether a row went in (rowcount is not reliable for an upsert
            # on every driver)
            if (await conn.execute(insert)).first() is None:
                return False
            await conn.execute(
                update(repositories)
                .where(repositories.c.id == repository_id)
                .values(star_count=repositories.c.star_count + 1)
            )
        return True

    async def unstar(self, user_id: int, repository_id: int) -> bool:
        """Remove a star (idempotent); True when there was one. Keeps ``star_count``."""
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(stars).where(
                    stars.c.user_id == user_id, stars.c.repository_id == repository_id
                )
            )
            if not result.rowcount:
                return False
            await conn.execute(
                update(repositories)
                .where(repositories.c.id == repository_id, repositories.c.star_count > 0)
                .values(star_count=repositories.c.star_count - 1)
            )
        return True

    async def starred(
        self, user_id: int, viewer: Viewer, *, offset: int = 0, limit: int = 25
    ) -> tuple[int, list[RepositoryRecord]]:
        """A page of the repositories ``user_id`` starred that the viewer may read, newest first."""
        source = repositories.join(stars, stars.c.repository_id == repositories.c.id)
        where = and_(stars.c.user_id == user_id, self._visible(viewer))
        order = [stars.c.created_at.desc(), repositories.c.id.desc()]
        return await self._page(where, order, offset, limit, source)

    async def starred_among(self, user_id: int, repository_ids: Iterable[int]) -> set[int]:
        """Those of ``repository_ids`` that ``user_id`` starred."""
        wanted = sorted(set(repository_ids))
        if not wanted:
            return set()
        stmt = select(stars.c.repository_id).where(
            stars.c.user_id == user_id, stars.c.repository_id.in_(wanted)
        )
        async with self.db.read() as conn:
            return {int(v) for v in (await conn.scalars(stmt)).all()}

    # --- deletion ------------------------------------------------------------------------
    async def delete_repository(self, repository_id: int) -> None:
        """Delete a repository with its tags, manifests, blob links, stars, team permissions and
        collaborators.

        Blob bytes stay in storage until garbage collection finds them unreferenced; rows of
        other features (webhooks) go with the repository by ``ON DELETE CASCADE``.
        """
        owned = select(manifests.c.id).where(manifests.c.repository_id == repository_id)
        async with self.db.write() as conn:
            await conn.execute(delete(tags).where(tags.c.repository_id == repository_id))
            await conn.execute(
                delete(manifest_references).where(manifest_references.c.manifest_id.in_(owned))
            )
            await conn.execute(delete(manifests).where(manifests.c.repository_id == repository_id))
            await conn.execute(
                delete(repository_blobs).where(repository_blobs.c.repository_id == repository_id)
            )
            await conn.execute(delete(stars).where(stars.c.repository_id == repository_id))
            await conn.execute(
                delete(team_permissions).where(team_permissions.c.repository_id == repository_id)
            )
            await conn.execute(
                delete(repository_collaborators).where(
                    repository_collaborators.c.repository_id == repository_id
                )
            )
            await conn.execute(delete(repositories).where(repositories.c.id == repository_id))

    # --- permissions of many repositories at once ----------------------------------------
    async def access_rows(
        self, names: Iterable[str], user_id: int | None
    ) -> dict[str, RepositoryAccessRow]:
        """What the permission policy reads about each repository, in four queries in all.

        The fourth holds the user's team permissions and collaborator permissions together.
        """
        wanted = sorted(set(names))
        if not wanted:
            return {}
        spaces = sorted({name.split("/", 1)[0] for name in wanted})
        async with self.db.read() as conn:
            repos = (
                await conn.execute(
                    select(repositories.c.id, repositories.c.name, repositories.c.is_private).where(
                        repositories.c.name.in_(wanted)
                    )
                )
            ).all()
            kinds = {
                str(name): str(kind)
                for name, kind in (
                    await conn.execute(
                        select(namespaces.c.name, namespaces.c.kind).where(
                            namespaces.c.name.in_(spaces)
                        )
                    )
                ).all()
            }
            roles: dict[str, str] = {}
            permissions: dict[int, list[str]] = {}
            collaborations: dict[int, str] = {}
            if user_id is not None:
                roles = {
                    str(org): str(role)
                    for org, role in (
                        await conn.execute(
                            select(organizations.c.name, organization_members.c.role)
                            .join(
                                organization_members,
                                organization_members.c.organization_id == organizations.c.id,
                            )
                            .where(
                                organizations.c.name.in_(spaces),
                                organization_members.c.user_id == user_id,
                            )
                        )
                    ).all()
                }
                ids = [int(row[0]) for row in repos]
                by_team = (
                    select(
                        team_permissions.c.repository_id,
                        team_permissions.c.permission,
                        literal("team").label("via"),
                    )
                    .join(team_members, team_members.c.team_id == team_permissions.c.team_id)
                    .where(
                        team_permissions.c.repository_id.in_(ids),
                        team_members.c.user_id == user_id,
                    )
                )
                as_collaborator = select(
                    repository_collaborators.c.repository_id,
                    repository_collaborators.c.permission,
                    literal("collaborator").label("via"),
                ).where(
                    repository_collaborators.c.repository_id.in_(ids),
                    repository_collaborators.c.user_id == user_id,
                )
                granted = (await conn.execute(union_all(by_team, as_collaborator))).all()
                for repo_id, permission, via in granted:
                    if via == "collaborator":
                        collaborations[int(repo_id)] = str(permission)
                    else:
                        permissions.setdefault(int(repo_id), []).append(str(permission))
        found = {str(row[1]): (int(row[0]), bool(row[2])) for row in repos}
        rows: dict[str, RepositoryAccessRow] = {}
        for name in wanted:
            namespace = name.split("/", 1)[0]
            kind = kinds.get(namespace)
            repo = found.get(name)
            rows[name] = RepositoryAccessRow(
                exists=repo is not None,
                is_private=repo[1] if repo is not None else False,
                namespace_kind=kind,
                org_role=roles.get(namespace) if kind == "organization" else None,
                team_permissions=permissions.get(repo[0], []) if repo is not None else [],
                collaborator_permission=(
                    collaborations.get(repo[0])
                    if repo is not None and kind == "user" and user_id is not None
                    else None
                ),
            )
        return rows
