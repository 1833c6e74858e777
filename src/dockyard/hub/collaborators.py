"""Collaborators of personal repositories, as on Docker Hub: the owner shares one repository.

A repository in a user's namespace belongs to that user alone; its owner (or a site
administrator) may give other users ``read`` (pull), ``write`` (pull, push) or ``admin`` (pull,
push, delete, settings) on it. Only the owner manages collaborators, not collaborators with
``admin``. Organizations share repositories through teams instead (``hub/orgs.py``).
"""

from __future__ import annotations

from dockyard.auth.policy import COLLABORATOR_PERMISSION_ACTIONS, Principal
from dockyard.hub.access_tokens import require_account_scope
from dockyard.hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dockyard.hub.repositories import RepositoryService
from dockyard.metadata.collaborator_store import CollaboratorRecord, CollaboratorStore
from dockyard.metadata.hub_store import HubStore, RepositoryRecord, UserRecord
from dockyard.oci.names import OFFICIAL_NAMESPACE

#: The permissions a collaborator may hold, weakest first.
PERMISSIONS = tuple(COLLABORATOR_PERMISSION_ACTIONS)


class CollaboratorService:
    """Adds, changes, removes and lists the collaborators of personal repositories."""

    def __init__(
        self, store: CollaboratorStore, hub: HubStore, repositories: RepositoryService
    ) -> None:
        self.store = store
        self.hub = hub
        self.repositories = repositories

    # --- helpers ---------------------------------------------------------------------------
    async def _managed(self, principal: Principal, name: str) -> RepositoryRecord:
        """The repository, if ``principal`` manages its collaborators.

        NotFound when it is missing or invisible to the caller (a private repository looks
        missing), ValidationFailed when it is no personal repository, Forbidden when the caller
        is not its owner (or a site administrator), or uses an access token without ``admin``.
        """
        record = await self.repositories.visible(principal, name)
        namespace = record.namespace
        kind = await self.hub.namespace_kind(namespace)
        if kind == "organization":
            raise ValidationFailed(
                f"{namespace} is an organization: give its teams access to {name} instead"
            )
        if kind != "user" or namespace == OFFICIAL_NAMESPACE:
            raise ValidationFailed(f"{name} is no personal repository: it has no collaborators")
        if not principal.is_admin and principal.username != namespace:
            raise Forbidden(f"only {namespace} manages the collaborators of {name}")
        require_account_scope(principal)
        return record

    async def _user(self, username: str) -> UserRecord:
        user = await self.hub.user_by_name(username) if username else None
        if user is None or not user.is_active:
            raise NotFound(f"user {username!r} not found")
        return user

    async def _audit(
        self,
        principal: Principal,
        action: str,
        record: RepositoryRecord,
        address: str,
        **detail: str,
    ) -> None:
        await self.hub.audit(
            action,
            actor=principal.username,
            actor_ip=address,
            namespace=record.namespace,
            target=record.name,
            detail=dict(detail),
        )

    @staticmethod
    def _check_permission(permission: str) -> None:
        if permission not in PERMISSIONS:
            raise ValidationFailed(f"permission must be one of {', '.join(PERMISSIONS)}")

    # --- the operations --------------------------------------------------------------------
    async def collaborators(self, principal: Principal, name: str) -> list[CollaboratorRecord]:
        """Every collaborator of ``name``, by username (its owner and site admins only)."""
        record = await self._managed(principal, name)
        return await self.store.of_repository(record.id)

    async def add(
        self,
        principal: Principal,
        name: str,
        username: str,
        permission: str,
        *,
        address: str = "",
    ) -> CollaboratorRecord:
        """Make ``username`` a collaborator of ``name`` with ``permission``.

        Conflict when they are one already (change the permission instead).
        """
        record = await self._managed(principal, name)
        self._check_permission(permission)
        user = await self._user(username)
        if user.username == record.namespace:
            raise ValidationFailed(f"{user.username} owns {name}: an owner may do everything")
        if not await self.store.add(record.id, user.id, permission):
            raise Conflict(f"{user.username} is a collaborator of {name} already")
        await self._audit(
            principal,
            "repo.collaborator.add",
            record,
            address,
            user=user.username,
            permission=permission,
        )
        return await self._record(record, user)

    async def change(
        self,
        principal: Principal,
        name: str,
        username: str,
        permission: str,
        *,
        address: str = "",
    ) -> CollaboratorRecord:
        """Change the permission of a collaborator of ``name``."""
        record = await self._managed(principal, name)
        self._check_permission(permission)
        user = await self._user(username)
        before = await self.store.get(record.id, user.id)
        if before is None or not await self.store.set_permission(record.id, user.id, permission):
            raise NotFound(f"{username} is no collaborator of {name}")
        await self._audit(
            principal,
            "repo.collaborator.change",
            record,
            address,
            user=user.username,
            permission=permission,
            previous=before.permission,
        )
        return await self._record(record, user)

    async def remove(
        self, principal: Principal, name: str, username: str, *, address: str = ""
    ) -> None:
        """Take a collaborator's access to ``name`` away."""
        record = await self._managed(principal, name)
        user = await self.hub.user_by_name(username) if username else None
        if user is None or not await self.store.remove(record.id, user.id):
            raise NotFound(f"{username} is no collaborator of {name}")
        await self._audit(
            principal, "repo.collaborator.remove", record, address, user=user.username
        )

    async def _record(self, record: RepositoryRecord, user: UserRecord) -> CollaboratorRecord:
        found = await self.store.get(record.id, user.id)
        if found is None:  # removed meanwhile by another request
            raise NotFound(f"{user.username} is no collaborator of {record.name}")
        return found
