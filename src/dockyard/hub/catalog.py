"""Repositories as the Hub lists them: namespace listings, search and stars.

Everything here shows only what the viewer may read; a private repository the viewer may not
read is reported exactly like a missing one (:class:`NotFound`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.auth.grants import Grants
from dockyard.auth.policy import Principal, RepositoryFacts, allowed_actions, strongest
from dockyard.hub.errors import NotFound, ValidationFailed
from dockyard.hub.repositories import RepositoryService
from dockyard.metadata.hub_catalog import REPOSITORY_ORDERINGS, CatalogStore, Viewer
from dockyard.metadata.hub_store import RepositoryAccessRow, RepositoryRecord
from dockyard.oci.names import is_valid_name

#: Longest search query accepted, and most words of it used.
MAX_QUERY_LENGTH = 255
MAX_QUERY_TERMS = 10


@dataclass(frozen=True, slots=True)
class RepositoryView:
    """A repository with what the viewer may do with it and whether they starred it."""

    record: RepositoryRecord
    #: Repository actions (pull, push, delete) the viewer may perform.
    actions: frozenset[str]
    has_starred: bool
    #: The viewer's relation to the repository: "owner", "member" (of the organization or one
    #: of its teams), "collaborator" (of a personal repository) or "".
    affiliation: str


def viewer_of(principal: Principal | None) -> Viewer:
    """The viewer a principal (or an anonymous caller) is."""
    if principal is None:
        return Viewer(None)
    return Viewer(principal.user_id, principal.is_admin)


def _affiliation(principal: Principal | None, name: str, row: RepositoryAccessRow) -> str:
    if principal is None:
        return ""
    namespace = name.split("/", 1)[0]
    if row.namespace_kind == "user" and namespace == principal.username:
        return "owner"
    if row.org_role in ("owner", "member"):
        return row.org_role
    if row.namespace_kind == "user" and row.collaborator_permission:
        return "collaborator"
    return "member" if row.team_permissions else ""


class CatalogService:
    """Listings, search and stars over the repositories a viewer may read."""

    def __init__(
        self, catalog: CatalogStore, grants: Grants, repositories: RepositoryService
    ) -> None:
        self.catalog = catalog
        self.grants = grants
        self.repositories = repositories

    # --- views ---------------------------------------------------------------------------
    async def views(
        self, principal: Principal | None, records: Sequence[RepositoryRecord]
    ) -> list[RepositoryView]:
        """Each record with the viewer's permissions, star and affiliation (a few queries)."""
        rows = await self.catalog.access_rows((r.name for r in records), _user_id(principal))
        starred: set[int] = set()
        if principal is not None:
            starred = await self.catalog.starred_among(principal.user_id, (r.id for r in records))
        views: list[RepositoryView] = []
        for record in records:
            row = rows[record.name]
            facts = RepositoryFacts(
                name=record.name,
                exists=row.exists,
                is_private=row.is_private,
                namespace_kind=row.namespace_kind,
                org_role=row.org_role,
                team_permission=strongest(row.team_permissions),
                collaborator_permission=row.collaborator_permission,
            )
            actions = allowed_actions(principal, facts) if is_valid_name(record.name) else None
            views.append(
                RepositoryView(
                    record=record,
                    actions=actions or frozenset(),
                    has_starred=record.id in starred,
                    affiliation=_affiliation(principal, record.name, row),
                )
            )
        return views

    async def view(self, principal: Principal | None, record: RepositoryRecord) -> RepositoryView:
        """One record as :meth:`views` shows it."""
        return (await self.views(principal, [record]))[0]

    # --- listings ------------------------------------------------------------------------
    async def list_namespace(
        self,
        principal: Principal | None,
        namespace: str,
        *,
        contains: str | None,
        ordering: str | None,
        page: int,
        page_size: int,
    ) -> tuple[int, list[RepositoryView]]:
        """A page of the namespace's repositories the viewer may read."""
        ordering = ordering or "name"
        if ordering not in REPOSITORY_ORDERINGS:
            raise ValidationFailed(f"ordering must be one of {', '.join(REPOSITORY_ORDERINGS)}")
        total, records = await self.catalog.list_namespace(
            namespace,
            viewer_of(principal),
            contains=contains,
            ordering=ordering,
            offset=(page - 1) * page_size,
            limit=page_size,
        )
        if total == 0 and not await self.catalog.namespace_known(namespace):
            raise NotFound(f"namespace {namespace!r} not found")
        return total, await self.views(principal, records)

    async def search(
        self, principal: Principal | None, query: str, *, page: int, page_size: int
    ) -> tuple[int, list[RepositoryRecord]]:
        """Repositories matching every word of ``query``: official first, then stars, pulls."""
        if len(query) > MAX_QUERY_LENGTH:
            raise ValidationFailed(f"the query must be at most {MAX_QUERY_LENGTH} characters")
        terms = query.split()[:MAX_QUERY_TERMS]
        return await self.catalog.search(
            terms, viewer_of(principal), offset=(page - 1) * page_size, limit=page_size
        )

    # --- stars ---------------------------------------------------------------------------
    async def star(self, principal: Principal, name: str) -> tuple[bool, RepositoryView]:
        """Star a repository the principal may read; ``(new star?, the repository)``."""
        record = await self.repositories.visible(principal, name)
        created = await self.catalog.star(principal.user_id, record.id)
        fresh = await self.repositories.repositories.get(name)
        return created, await self.view(principal, fresh or record)

    async def unstar(self, principal: Principal, name: str) -> bool:
        """Take a star back (idempotent); True when there was one."""
        record = await self.repositories.visible(principal, name)
        return await self.catalog.unstar(principal.user_id, record.id)

    async def starred(
        self, principal: Principal | None, username: str, *, page: int, page_size: int
    ) -> tuple[int, list[RepositoryView]]:
        """A page of what ``username`` starred, as far as the viewer may read it."""
        user = await self.grants.store.user_by_name(username)
        if user is None or not user.is_active:
            raise NotFound(f"user {username!r} not found")
        total, records = await self.catalog.starred(
            user.id, viewer_of(principal), offset=(page - 1) * page_size, limit=page_size
        )
        return total, await self.views(principal, records)


def _user_id(principal: Principal | None) -> int | None:
    return None if principal is None else principal.user_id
