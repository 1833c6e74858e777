"""Organizations: owners and members, teams, team members and team permissions on repositories."""

from __future__ import annotations

from dockyard.auth.policy import TEAM_PERMISSION_ACTIONS, Principal
from dockyard.hub.access_tokens import require_account_scope
from dockyard.hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dockyard.hub.names import check_namespace_name, check_team_name
from dockyard.metadata.hub_store import HubStore, NameTaken, RepositoryStore, TeamRecord

ROLES = ("owner", "member")


class OrganizationService:
    """Everything about organizations; owners manage, members read."""

    def __init__(self, store: HubStore, repositories: RepositoryStore) -> None:
        self.store = store
        self.repositories = repositories

    # --- helpers ---------------------------------------------------------------------------
    async def _org_id(self, org: str) -> int:
        org_id = await self.store.organization_id(org)
        if org_id is None:
            raise NotFound(f"organization {org!r} not found")
        return org_id

    async def role(self, principal: Principal | None, org: str) -> str | None:
        """The principal's role in ``org`` (site admins count as owners)."""
        if principal is None:
            return None
        if principal.is_admin:
            return "owner"
        return await self.store.organization_role(org, principal.user_id)

    async def _require_member(self, principal: Principal | None, org: str) -> int:
        org_id = await self._org_id(org)
        if await self.role(principal, org) is None:
            raise NotFound(f"organization {org!r} not found")
        return org_id

    async def _require_owner(self, principal: Principal, org: str) -> int:
        org_id = await self._require_member(principal, org)
        require_account_scope(principal)
        if await self.role(principal, org) != "owner":
            raise Forbidden(f"only owners of {org} may do this")
        return org_id

    async def _user_id(self, username: str) -> int:
        user = await self.store.user_by_name(username)
        if user is None:
            raise NotFound(f"user {username!r} not found")
        return user.id

    async def _team(self, org_id: int, team: str) -> TeamRecord:
        record = await self.store.team(org_id, team)
        if record is None:
            raise NotFound(f"team {team!r} not found")
        return record

    async def _audit(
        self,
        principal: Principal,
        action: str,
        org: str,
        target: str,
        address: str,
        **detail: object,
    ) -> None:
        await self.store.audit(
            action,
            actor=principal.username,
            actor_ip=address,
            namespace=org,
            target=target,
            detail=detail,
        )

    # --- organizations ---------------------------------------------------------------------
    async def create(self, principal: Principal, name: str, *, address: str = "") -> None:
        """Create an organization with ``principal`` as its first owner."""
        require_account_scope(principal)
        check_namespace_name(name, "organization name")
        try:
            await self.store.create_organization(name, principal.user_id)
        except NameTaken as exc:
            raise Conflict(str(exc)) from None
        await self._audit(principal, "org.create", name, name, address)

    async def members(self, principal: Principal | None, org: str) -> list[tuple[str, str]]:
        """``(username, role)`` of the members (visible to members)."""
        return await self.store.members(await self._require_member(principal, org))

    async def set_member(
        self, principal: Principal, org: str, username: str, role: str, *, address: str = ""
    ) -> None:
        """Add a member or change a role (owners only)."""
        if role not in ROLES:
            raise ValidationFailed(f"role must be one of {', '.join(ROLES)}")
        org_id = await self._require_owner(principal, org)
        user_id = await self._user_id(username)
        if role != "owner" and await self._last_owner(org_id, username):
            raise ValidationFailed("an organization needs at least one owner")
        await self.store.set_member(org_id, user_id, role)
        await self._audit(principal, "org.member.set", org, username, address, role=role)

    async def remove_member(
        self, principal: Principal, org: str, username: str, *, address: str = ""
    ) -> None:
        """Remove a member and their team memberships (owners only)."""
        org_id = await self._require_owner(principal, org)
        user_id = await self._user_id(username)
        if await self._last_owner(org_id, username):
            raise ValidationFailed("an organization needs at least one owner")
        if not await self.store.remove_member(org_id, user_id):
            raise NotFound(f"{username} is not a member of {org}")
        await self._audit(principal, "org.member.remove", org, username, address)

    async def _last_owner(self, org_id: int, username: str) -> bool:
        owners = [u for u, r in await self.store.members(org_id) if r == "owner"]
        return owners == [username]

    # --- teams -----------------------------------------------------------------------------
    async def teams(self, principal: Principal | None, org: str) -> list[TeamRecord]:
        """The organization's teams (visible to members)."""
        return await self.store.teams(await self._require_member(principal, org))

    async def team(self, principal: Principal | None, org: str, team: str) -> TeamRecord:
        """One team."""
        return await self._team(await self._require_member(principal, org), team)

    async def create_team(
        self, principal: Principal, org: str, name: str, description: str, *, address: str = ""
    ) -> TeamRecord:
        """Create a team (owners only)."""
        org_id = await self._require_owner(principal, org)
        check_team_name(name)
        try:
            team = await self.store.create_team(org_id, name, description[:255])
        except NameTaken as exc:
            raise Conflict(str(exc)) from None
        await self._audit(principal, "team.create", org, name, address)
        return team

    async def update_team(
        self,
        principal: Principal,
        org: str,
        team: str,
        *,
        name: str | None,
        description: str | None,
        address: str = "",
    ) -> TeamRecord:
        """Rename a team or change its description (owners only)."""
        org_id = await self._require_owner(principal, org)
        record = await self._team(org_id, team)
        if name is not None:
            check_team_name(name)
        try:
            await self.store.update_team(
                record.id, name=name, description=None if description is None else description[:255]
            )
        except NameTaken as exc:
            raise Conflict(str(exc)) from None
        await self._audit(principal, "team.update", org, team, address, name=name)
        return await self._team(org_id, name or team)

    async def delete_team(
        self, principal: Principal, org: str, team: str, *, address: str = ""
    ) -> None:
        """Delete a team (owners only)."""
        org_id = await self._require_owner(principal, org)
        record = await self._team(org_id, team)
        await self.store.delete_team(record.id)
        await self._audit(principal, "team.delete", org, team, address)

    async def team_members(self, principal: Principal | None, org: str, team: str) -> list[str]:
        """Usernames in a team."""
        org_id = await self._require_member(principal, org)
        return await self.store.team_members((await self._team(org_id, team)).id)

    async def add_team_member(
        self, principal: Principal, org: str, team: str, username: str, *, address: str = ""
    ) -> None:
        """Put a user in a team, making them an organization member if they were not."""
        org_id = await self._require_owner(principal, org)
        record = await self._team(org_id, team)
        user_id = await self._user_id(username)
        if await self.store.organization_role(org, user_id) is None:
            await self.store.set_member(org_id, user_id, "member")
        await self.store.add_team_member(record.id, user_id)
        await self._audit(principal, "team.member.add", org, f"{team}/{username}", address)

    async def remove_team_member(
        self, principal: Principal, org: str, team: str, username: str, *, address: str = ""
    ) -> None:
        """Take a user out of a team."""
        org_id = await self._require_owner(principal, org)
        record = await self._team(org_id, team)
        if not await self.store.remove_team_member(record.id, await self._user_id(username)):
            raise NotFound(f"{username} is not in team {team}")
        await self._audit(principal, "team.member.remove", org, f"{team}/{username}", address)

    # --- team permissions on repositories ----------------------------------------------
    async def grant(
        self,
        principal: Principal,
        repository: str,
        team: str,
        permission: str,
        *,
        address: str = "",
    ) -> None:
        """Give a team read, write or admin on a repository of the organization."""
        if permission not in TEAM_PERMISSION_ACTIONS:
            raise ValidationFailed("permission must be read, write or admin")
        org = repository.split("/", 1)[0]
        org_id = await self._require_owner(principal, org)
        record = await self._team(org_id, team)
        repo = await self.repositories.get(repository)
        if repo is None:
            raise NotFound(f"repository {repository!r} not found")
        await self.store.set_team_permission(record.id, repo.id, permission)
        await self._audit(
            principal,
            "repo.permission.set",
            org,
            repository,
            address,
            team=team,
            permission=permission,
        )

    async def revoke(
        self, principal: Principal, repository: str, team: str, *, address: str = ""
    ) -> None:
        """Withdraw a team's permission on a repository."""
        org = repository.split("/", 1)[0]
        org_id = await self._require_owner(principal, org)
        record = await self._team(org_id, team)
        repo = await self.repositories.get(repository)
        if repo is None or not await self.store.remove_team_permission(record.id, repo.id):
            raise NotFound(f"team {team} has no permission on {repository}")
        await self._audit(principal, "repo.permission.remove", org, repository, address, team=team)

    async def permissions(self, principal: Principal, repository: str) -> list[tuple[str, str]]:
        """``(team, permission)`` on a repository (owners of the organization)."""
        org = repository.split("/", 1)[0]
        await self._require_owner(principal, org)
        repo = await self.repositories.get(repository)
        if repo is None:
            raise NotFound(f"repository {repository!r} not found")
        return await self.store.repository_team_permissions(repo.id)
