"""What a token may carry: the intersection of the scopes asked for and what the policy allows."""

from __future__ import annotations

from dockyard.auth.policy import Principal, RepositoryFacts, allowed_actions, strongest
from dockyard.auth.scopes import Scope, expand_actions
from dockyard.metadata.hub_store import HubStore
from dockyard.oci.names import is_valid_name, official_name

CATALOG = Scope("registry", "catalog", frozenset({"*"}))


class Grants:
    """Computes granted scopes and live permission checks."""

    def __init__(self, store: HubStore) -> None:
        self.store = store

    async def facts(self, name: str, principal: Principal | None) -> RepositoryFacts:
        """The facts the policy reads about ``name`` for ``principal``."""
        row = await self.store.repository_access(name, principal.user_id if principal else None)
        return RepositoryFacts(
            name=name,
            exists=row.exists,
            is_private=row.is_private,
            namespace_kind=row.namespace_kind,
            org_role=row.org_role,
            team_permission=strongest(row.team_permissions),
            collaborator_permission=row.collaborator_permission,
        )

    async def allowed(self, name: str, principal: Principal | None) -> frozenset[str]:
        """Repository actions ``principal`` may perform on ``name``."""
        if not is_valid_name(name):
            return frozenset()
        return allowed_actions(principal, await self.facts(name, principal))

    async def grant(self, requested: list[Scope], principal: Principal | None) -> list[Scope]:
        """The granted part of each requested scope (asking for more is not an error)."""
        granted: list[Scope] = []
        for scope in requested:
            if scope.type == "repository":
                name = official_name(scope.name)
                wanted = expand_actions(scope.actions)
                actions = wanted & await self.allowed(name, principal)
                if actions:
                    granted.append(Scope("repository", name, actions))
            elif scope.type == "registry" and scope.name == "catalog":
                granted.append(CATALOG)
        return granted
