"""Profiles: what a user or organization name stands for, and a user's organizations."""

from __future__ import annotations

from dockyard.auth.policy import Principal
from dockyard.hub.errors import NotFound
from dockyard.metadata.profile_store import NamespaceRecord, ProfileStore
from dockyard.oci.names import OFFICIAL_NAMESPACE


class ProfileService:
    """Looks up namespaces for profile pages."""

    def __init__(self, store: ProfileStore) -> None:
        self.store = store

    async def namespace(self, name: str) -> NamespaceRecord | None:
        """The user or organization called ``name``, or None (``library`` is neither)."""
        if name == OFFICIAL_NAMESPACE:
            return None
        return await self.store.namespace(name)

    async def organizations(self, principal: Principal) -> list[tuple[str, str]]:
        """``(organization, role)`` for each organization ``principal`` belongs to."""
        return await self.store.memberships(principal.user_id)

    async def require(self, name: str) -> NamespaceRecord:
        """The namespace ``name``; NotFound when nobody has it."""
        found = await self.namespace(name)
        if found is None:
            raise NotFound(f"{name!r} not found")
        return found
