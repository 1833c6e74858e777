"""Repositories on the Hub side: explicit creation, visibility and descriptions."""

from __future__ import annotations

from dockyard.auth.grants import Grants
from dockyard.auth.policy import Principal
from dockyard.hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dockyard.metadata.hub_catalog import CatalogStore
from dockyard.metadata.hub_store import NameTaken, RepositoryRecord, RepositoryStore
from dockyard.oci.names import is_valid_name

MAX_DESCRIPTION = 100
MAX_FULL_DESCRIPTION = 25_000


class RepositoryService:
    """Creates repositories and changes their settings, as the permission policy allows."""

    def __init__(
        self, repositories: RepositoryStore, grants: Grants, catalog: CatalogStore
    ) -> None:
        self.repositories = repositories
        self.grants = grants
        self.catalog = catalog

    async def visible(self, principal: Principal | None, name: str) -> RepositoryRecord:
        """The repository if the principal may read it (else NotFound, as if missing)."""
        record = await self.repositories.get(name)
        if record is None or "pull" not in await self.grants.allowed(name, principal):
            raise NotFound(f"repository {name!r} not found")
        return record

    async def create(
        self,
        principal: Principal,
        name: str,
        *,
        is_private: bool,
        description: str = "",
        full_description: str = "",
        address: str = "",
    ) -> RepositoryRecord:
        """Create ``namespace/name`` where the principal may push."""
        if not is_valid_name(name) or name.count("/") != 1:
            raise ValidationFailed(
                "repository name must be namespace/name in lowercase letters, digits and . _ -"
            )
        _check_descriptions(description, full_description)
        if "push" not in await self.grants.allowed(name, principal):
            raise Forbidden(f"you may not create repositories in {name.split('/')[0]}")
        try:
            record = await self.repositories.create(
                name,
                is_private=is_private,
                description=description,
                full_description=full_description,
            )
        except NameTaken as exc:
            raise Conflict(str(exc)) from None
        await self.grants.store.audit(
            "repo.create",
            actor=principal.username,
            actor_ip=address,
            namespace=record.namespace,
            target=name,
            detail={"is_private": is_private},
        )
        return record

    async def update(
        self,
        principal: Principal,
        name: str,
        *,
        is_private: bool | None = None,
        description: str | None = None,
        full_description: str | None = None,
        address: str = "",
    ) -> RepositoryRecord:
        """Change a repository's settings (its administrators only)."""
        record = await self.visible(principal, name)
        if "delete" not in await self.grants.allowed(name, principal):
            raise Forbidden(f"you may not change the settings of {name}")
        _check_descriptions(description or "", full_description or "")
        values: dict[str, object] = {}
        if is_private is not None:
            values["is_private"] = is_private
        if description is not None:
            values["description"] = description
        if full_description is not None:
            values["full_description"] = full_description
        await self.repositories.update(record.id, **values)
        if is_private is not None and is_private != record.is_private:
            await self.grants.store.audit(
                "repo.visibility",
                actor=principal.username,
                actor_ip=address,
                namespace=record.namespace,
                target=name,
                detail={"is_private": is_private},
            )
        updated = await self.repositories.get(name)
        assert updated is not None
        return updated

    async def delete(self, principal: Principal, name: str, *, address: str = "") -> None:
        """Delete a repository with its tags and manifests (its administrators only).

        Blob bytes stay until garbage collection finds them referenced by no repository.
        """
        record = await self.visible(principal, name)
        if "delete" not in await self.grants.allowed(name, principal):
            raise Forbidden(f"you may not delete {name}")
        await self.catalog.delete_repository(record.id)
        await self.grants.store.audit(
            "repo.delete",
            actor=principal.username,
            actor_ip=address,
            namespace=record.namespace,
            target=name,
        )


def _check_descriptions(description: str, full_description: str) -> None:
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"description must be at most {MAX_DESCRIPTION} characters")
    if len(full_description) > MAX_FULL_DESCRIPTION:
        raise ValidationFailed(
            f"full_description must be at most {MAX_FULL_DESCRIPTION} characters"
        )
