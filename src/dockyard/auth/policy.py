"""Who may do what to a repository: the permission model as one pure function.

See docs/permissions.md for the model in prose.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.oci import names

ALL_ACTIONS = frozenset({"pull", "push", "delete"})
TEAM_PERMISSION_ACTIONS = {
    "read": frozenset({"pull"}),
    "write": frozenset({"pull", "push"}),
    "admin": frozenset({"pull", "push", "delete"}),
}
#: A collaborator's permission on a personal repository grants what a team's would.
COLLABORATOR_PERMISSION_ACTIONS = TEAM_PERMISSION_ACTIONS
PAT_SCOPE_ACTIONS = {
    "repo:read": frozenset({"pull"}),
    "repo:write": frozenset({"pull", "push"}),
    "repo:delete": frozenset({"pull", "push", "delete"}),
    "admin": ALL_ACTIONS,
}
#: Namespace of official images: only site administrators write there.
OFFICIAL_NAMESPACE = names.OFFICIAL_NAMESPACE


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user, possibly limited by the scopes of the access token used."""

    user_id: int
    username: str
    is_admin: bool
    token_scopes: frozenset[str] | None = None
    pat_id: str | None = None

    def scope_limit(self) -> frozenset[str]:
        """The repository actions the credential used allows at most."""
        if self.token_scopes is None:
            return ALL_ACTIONS
        allowed: set[str] = set()
        for scope in self.token_scopes:
            allowed |= PAT_SCOPE_ACTIONS.get(scope, frozenset())
        return frozenset(allowed)


@dataclass(frozen=True, slots=True)
class RepositoryFacts:
    """What the policy needs to know about one repository and the caller's relation to it."""

    name: str
    exists: bool
    is_private: bool
    #: "user", "organization", or None when no such namespace exists.
    namespace_kind: str | None
    #: The caller's role in the owning organization ("owner", "member") if any.
    org_role: str | None = None
    #: The strongest permission the caller's teams hold on the repository, if any.
    team_permission: str | None = None
    #: The caller's permission as a collaborator of a personal repository, if any.
    collaborator_permission: str | None = None

    @property
    def namespace(self) -> str:
        """The first component of the name."""
        return self.name.split("/", 1)[0]


def allowed_actions(principal: Principal | None, repo: RepositoryFacts) -> frozenset[str]:
    """The repository actions (pull, push, delete) ``principal`` may perform on ``repo``."""
    public_pull = frozenset({"pull"}) if repo.exists and not repo.is_private else frozenset()
    if principal is None:
        return public_pull
    if principal.is_admin:
        granted = ALL_ACTIONS
    elif repo.namespace == OFFICIAL_NAMESPACE:
        granted = public_pull
    elif _owns_namespace(principal, repo):
        granted = ALL_ACTIONS
    else:
        granted = public_pull
        if repo.exists and repo.team_permission:
            granted |= TEAM_PERMISSION_ACTIONS.get(repo.team_permission, frozenset())
        if repo.exists and repo.namespace_kind == "user" and repo.collaborator_permission:
            granted |= COLLABORATOR_PERMISSION_ACTIONS.get(
                repo.collaborator_permission, frozenset()
            )
    return granted & principal.scope_limit()


def _owns_namespace(principal: Principal, repo: RepositoryFacts) -> bool:
    if repo.namespace_kind == "user":
        return repo.namespace == principal.username
    return repo.namespace_kind == "organization" and repo.org_role == "owner"


def strongest(permissions: list[str]) -> str | None:
    """The strongest of several team permissions."""
    order = ["read", "write", "admin"]
    ranked = [p for p in permissions if p in order]
    return max(ranked, key=order.index) if ranked else None
