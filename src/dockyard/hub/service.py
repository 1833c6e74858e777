"""The Hub's services bundled together, as the web layer receives them."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.auth.grants import Grants
from dockyard.hub.access_tokens import AccessTokenService
from dockyard.hub.accounts import AccountService
from dockyard.hub.audit import AuditService
from dockyard.hub.catalog import CatalogService
from dockyard.hub.collaborators import CollaboratorService
from dockyard.hub.orgs import OrganizationService
from dockyard.hub.repositories import RepositoryService
from dockyard.hub.tags import TagService
from dockyard.hub.webhooks import WebhookService
from dockyard.metadata.collaborator_store import CollaboratorStore
from dockyard.metadata.hub_catalog import CatalogStore
from dockyard.metadata.hub_store import HubStore, RepositoryStore
from dockyard.metadata.tag_store import TagStore
from dockyard.metadata.webhook_store import WebhookStore
from dockyard.storage import StorageDriver


@dataclass(frozen=True, slots=True)
class HubServices:
    """Accounts, access tokens, organizations, repositories, collaborators, the audit log and
    webhooks."""

    accounts: AccountService
    access_tokens: AccessTokenService
    orgs: OrganizationService
    repositories: RepositoryService
    audit: AuditService
    webhooks: WebhookService
    catalog: CatalogService
    tags: TagService
    collaborators: CollaboratorService

    @classmethod
    def build(
        cls,
        store: HubStore,
        grants: Grants,
        *,
        open_signup: bool,
        webhooks_enabled: bool = True,
        max_webhooks_per_repository: int = 20,
        storage: StorageDriver | None = None,
    ) -> HubServices:
        """Wire every Hub service over one store."""
        repositories = RepositoryStore(store.db)
        repository_service = RepositoryService(repositories, grants, CatalogStore(store.db, store))
        return cls(
            accounts=AccountService(store, open_signup=open_signup),
            access_tokens=AccessTokenService(store),
            orgs=OrganizationService(store, repositories),
            repositories=repository_service,
            audit=AuditService(store),
            webhooks=WebhookService(
                WebhookStore(store.db),
                repositories,
                grants,
                enabled=webhooks_enabled,
                max_per_repository=max_webhooks_per_repository,
            ),
            catalog=CatalogService(repository_service.catalog, grants, repository_service),
            tags=TagService(TagStore(store.db), repository_service, storage),
            collaborators=CollaboratorService(
                CollaboratorStore(store.db), store, repository_service
            ),
        )
