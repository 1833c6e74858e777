"""Repository webhooks: managing them, and recording events in the delivery outbox.

Events (``push``, ``tag_delete``) become one ``pending`` row per subscribed webhook in
``webhook_deliveries``; :mod:`dockyard.hub.hookshot` delivers them. The payloads follow Docker
Hub's webhook format (see docs/webhooks.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dockyard.auth.grants import Grants
from dockyard.auth.policy import Principal
from dockyard.hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dockyard.metadata.db import Transaction
from dockyard.metadata.hub_store import RepositoryRecord, RepositoryStore
from dockyard.metadata.webhook_store import (
    DeliveryRecord,
    NewDelivery,
    RepositorySummary,
    WebhookRecord,
    WebhookStore,
)
from dockyard.oci.names import OFFICIAL_NAMESPACE

#: Events a webhook may subscribe to.
EVENTS = ("push", "tag_delete")
#: The event of a test delivery (``POST .../webhooks/{id}/test/``).
PING = "ping"
#: Events subscribed to when a webhook is created without ``events`` (Docker Hub's behaviour).
DEFAULT_EVENTS = ("push",)

MAX_NAME = 100
MAX_URL = 2048
MIN_SECRET = 16
MAX_SECRET = 255

#: The signature header: ``sha256=<hex HMAC-SHA256 of the body with the webhook's secret>``.
SIGNATURE_HEADER = "X-Dockyard-Signature"
EVENT_HEADER = "X-Dockyard-Event"
DELIVERY_HEADER = "X-Dockyard-Delivery"
USER_AGENT = "Dockyard-Hookshot/1"


def signature(secret: str, body: bytes) -> str:
    """The value of :data:`SIGNATURE_HEADER` for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _deliveries(
    repo: RepositorySummary | None,
    hook_ids: Sequence[int],
    event: str,
    pusher: str,
    tag: str | None,
    base_url: str,
) -> list[NewDelivery]:
    """One outbox row per webhook, each with its own delivery id in the callback URL."""
    if repo is None:
        return []
    pushed_at = int(time.time())
    deliveries = []
    for hook_id in hook_ids:
        delivery_id = str(uuid.uuid4())
        payload = event_payload(
            repo,
            event,
            pusher=pusher,
            tag=tag,
            pushed_at=pushed_at,
            callback=callback_url(base_url, repo.name, hook_id, delivery_id),
            base_url=base_url,
        )
        deliveries.append(NewDelivery(delivery_id, hook_id, event, encode(payload)))
    return deliveries


def check_url(url: str) -> str:
    """A webhook URL: http or https, a host, no credentials, no whitespace, bounded length."""
    if not url or len(url) > MAX_URL:
        raise ValidationFailed(f"webhook_url must be 1 to {MAX_URL} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise ValidationFailed("webhook_url must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationFailed("webhook_url is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationFailed("webhook_url must be an http:// or https:// URL")
    if "@" in parts.netloc:
        raise ValidationFailed("webhook_url must not contain credentials (user:password@)")
    if not parts.hostname:
        raise ValidationFailed("webhook_url must name a host")
    if port == 0:
        raise ValidationFailed("webhook_url has an invalid port")
    return url


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed(f"name must be 1 to {MAX_NAME} characters")
    return name


def _check_events(events: Sequence[str]) -> tuple[str, ...]:
    if not events:
        raise ValidationFailed(f"events must name at least one of {', '.join(EVENTS)}")
    unknown = sorted({e for e in events if e not in EVENTS})
    if unknown:
        raise ValidationFailed(
            f"unknown events {', '.join(unknown)}; webhooks support {', '.join(EVENTS)}"
        )
    return tuple(e for e in EVENTS if e in events)


def _check_secret(secret: str) -> str:
    if not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise ValidationFailed(f"secret must be {MIN_SECRET} to {MAX_SECRET} characters")
    return secret


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


# --- payloads ----------------------------------------------------------------------------------
def repository_payload(repo: RepositorySummary, base_url: str) -> dict[str, Any]:
    """The ``repository`` object of Docker Hub's webhook payload."""
    namespace, _, name = repo.name.partition("/")
    path = f"/_/{name}" if namespace == OFFICIAL_NAMESPACE else f"/r/{namespace}/{name}"
    return {
        "repo_name": repo.name,
        "name": name,
        "namespace": namespace,
        "owner": namespace,
        "description": repo.description,
        "full_description": repo.full_description,
        "is_private": repo.is_private,
        "is_official": namespace == OFFICIAL_NAMESPACE,
        "star_count": repo.star_count,
        "comment_count": 0,
        "date_created": int(repo.created_at.timestamp()),
        "status": "Active",
        "repo_url": f"{base_url}{path}",
        "dockerfile": "",
    }


def callback_url(base_url: str, repository: str, webhook_id: int, delivery_id: str) -> str:
    """Where the delivery's record is (``GET`` by the repository's administrators)."""
    return (
        f"{base_url}/v2/repositories/{repository}/webhooks/{webhook_id}/deliveries/{delivery_id}/"
    )


def event_payload(
    repo: RepositorySummary,
    event: str,
    *,
    pusher: str,
    tag: str | None,
    pushed_at: int,
    callback: str,
    base_url: str,
) -> dict[str, Any]:
    """Docker Hub's push payload; a ``tag_delete`` one adds ``"event": "tag_delete"``."""
    payload: dict[str, Any] = {"callback_url": callback}
    if event != "push":
        payload["event"] = event
    payload["push_data"] = {
        "pushed_at": pushed_at,
        "pusher": pusher,
        "tag": tag,
        "images": [],
    }
    payload["repository"] = repository_payload(repo, base_url)
    return payload


def ping_payload(
    repo: RepositorySummary, hook: WebhookRecord, *, sender: str, callback: str, base_url: str
) -> dict[str, Any]:
    """The payload of a test delivery: which webhook, who asked, and the repository."""
    return {
        "callback_url": callback,
        "event": PING,
        "hook": {"id": hook.id, "name": hook.name, "events": list(hook.events)},
        "sender": sender,
        "sent_at": int(time.time()),
        "repository": repository_payload(repo, base_url),
    }


def encode(payload: dict[str, Any]) -> str:
    """The exact JSON text that is sent (and signed)."""
    return json.dumps(payload, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    """A new webhook and its secret (shown once, at creation)."""

    record: WebhookRecord
    secret: str


class WebhookService:
    """Webhooks of repositories, managed by their administrators; events into the outbox."""

    def __init__(
        self,
        store: WebhookStore,
        repositories: RepositoryStore,
        grants: Grants,
        *,
        enabled: bool = True,
        max_per_repository: int = 20,
    ) -> None:
        self.store = store
        self.repositories = repositories
        self.grants = grants
        self.enabled = enabled
        self.max_per_repository = max_per_repository
        #: Called after events were recorded (the app wakes this node's delivery worker).
        self.notify: Callable[[], None] | None = None

    # --- events --------------------------------------------------------------------------
    async def enqueue(
        self,
        repository: str,
        event: str,
        pusher: str,
        tag: str | None,
        *,
        base_url: str = "",
    ) -> int:
        """Record ``event`` for every active webhook of ``repository`` subscribed to it.

        ``event`` is ``push`` (a manifest put under ``tag``) or ``tag_delete``. One indexed
        query when the repository has no such webhook, else one insert per webhook. Returns
        how many deliveries were queued. The caller has checked the permission already.
        """
        if event not in EVENTS:
            raise ValueError(f"unknown webhook event {event!r}")
        if not self.enabled:
            return 0
        repo, hook_ids = await self.store.targets(repository, event)
        deliveries = _deliveries(repo, hook_ids, event, pusher, tag, base_url)
        await self.store.add_deliveries(deliveries)
        if deliveries:
            self._wake()
        return len(deliveries)

    def enqueue_in(
        self,
        conn: Transaction,
        repository: str,
        event: str,
        pusher: str,
        tag: str | None,
        *,
        base_url: str = "",
    ) -> int:
        """:meth:`enqueue` inside the caller's synchronous write transaction (the outbox row
        commits with the push that caused it). Call :meth:`wake` after the commit."""
        if event not in EVENTS:
            raise ValueError(f"unknown webhook event {event!r}")
        if not self.enabled:
            return 0
        repo, hook_ids = self.store.targets_in(conn, repository, event)
        deliveries = _deliveries(repo, hook_ids, event, pusher, tag, base_url)
        self.store.add_deliveries_in(conn, deliveries)
        return len(deliveries)

    def wake(self) -> None:
        """Wake this node's delivery worker (after deliveries were committed)."""
        self._wake()

    def _wake(self) -> None:
        if self.notify is not None:
            self.notify()

    # --- management ----------------------------------------------------------------------
    async def administered(self, principal: Principal, name: str) -> RepositoryRecord:
        """The repository if ``principal`` administers it.

        NotFound when it is missing or invisible to the caller, Forbidden when the caller may
        read it but is not one of its administrators.
        """
        record = await self.repositories.get(name)
        allowed = await self.grants.allowed(name, principal) if record else frozenset()
        if record is None or "pull" not in allowed:
            raise NotFound(f"repository {name!r} not found")
        if "delete" not in allowed:
            raise Forbidden(f"only administrators of {name} manage its webhooks")
        return record

    async def of_repository(self, principal: Principal, name: str) -> list[WebhookRecord]:
        """Every webhook of the repository."""
        repo = await self.administered(principal, name)
        return await self.store.of_repository(repo.id)

    async def get(self, principal: Principal, name: str, webhook_id: int) -> WebhookRecord:
        """One webhook of the repository."""
        repo = await self.administered(principal, name)
        return await self._hook(repo, webhook_id)

    async def _hook(self, repo: RepositoryRecord, webhook_id: int) -> WebhookRecord:
        hook = await self.store.get(webhook_id)
        if hook is None or hook.repository_id != repo.id:
            raise NotFound(f"webhook {webhook_id} not found")
        return hook

    async def create(
        self,
        principal: Principal,
        name: str,
        *,
        hook_name: str,
        url: str,
        events: Sequence[str] | None = None,
        secret: str | None = None,
        address: str = "",
    ) -> CreatedWebhook:
        """Add a webhook; a secret is generated unless one is given."""
        repo = await self.administered(principal, name)
        hook_name = _check_name(hook_name)
        url = check_url(url)
        chosen = _check_events(DEFAULT_EVENTS if events is None else events)
        secret = secrets.token_hex(32) if secret is None else _check_secret(secret)
        existing = await self.store.of_repository(repo.id)
        if len(existing) >= self.max_per_repository:
            raise Conflict(f"{name} already has {self.max_per_repository} webhooks, the limit")
        if any(h.name == hook_name for h in existing):
            raise Conflict(f"{name} already has a webhook called {hook_name!r}")
        record = await self.store.create(
            repo.id,
            name=hook_name,
            url=url,
            secret=secret,
            events=chosen,
            created_by=principal.username,
        )
        await self._audit("webhook.create", principal, record, address)
        return CreatedWebhook(record, secret)

    async def update(
        self,
        principal: Principal,
        name: str,
        webhook_id: int,
        *,
        hook_name: str | None = None,
        url: str | None = None,
        events: Sequence[str] | None = None,
        is_active: bool | None = None,
        secret: str | None = None,
        address: str = "",
    ) -> WebhookRecord:
        """Change a webhook; deactivating it gives up its pending deliveries."""
        repo = await self.administered(principal, name)
        hook = await self._hook(repo, webhook_id)
        values: dict[str, Any] = {}
        if hook_name is not None:
            values["name"] = _check_name(hook_name)
            if values["name"] != hook.name and any(
                h.name == values["name"] for h in await self.store.of_repository(repo.id)
            ):
                raise Conflict(f"{name} already has a webhook called {values['name']!r}")
        if url is not None:
            values["url"] = check_url(url)
        if events is not None:
            values["events"] = _check_events(events)
        if is_active is not None:
            values["is_active"] = is_active
        if secret is not None:
            values["secret"] = _check_secret(secret)
        await self.store.update(hook.id, **values)
        updated = await self.store.get(hook.id)
        if updated is None:
            raise NotFound(f"webhook {webhook_id} not found")
        changed = sorted(k for k in values if k != "secret") + (["secret"] if secret else [])
        await self._audit("webhook.update", principal, updated, address, {"changed": changed})
        return updated

    async def delete(
        self, principal: Principal, name: str, webhook_id: int, *, address: str = ""
    ) -> None:
        """Delete a webhook with its delivery history."""
        repo = await self.administered(principal, name)
        hook = await self._hook(repo, webhook_id)
        await self.store.delete(hook.id)
        await self._audit("webhook.delete", principal, hook, address)

    async def test(
        self, principal: Principal, name: str, webhook_id: int, *, base_url: str = ""
    ) -> DeliveryRecord:
        """Queue a ``ping`` delivery to the webhook."""
        repo = await self.administered(principal, name)
        hook = await self._hook(repo, webhook_id)
        if not hook.is_active:
            raise Conflict("the webhook is inactive; activate it to test it")
        summary = await self.store.repository_summary(repo.id)
        if summary is None:
            raise NotFound(f"repository {name!r} not found")
        delivery_id = str(uuid.uuid4())
        payload = ping_payload(
            summary,
            hook,
            sender=principal.username,
            callback=callback_url(base_url, repo.name, hook.id, delivery_id),
            base_url=base_url,
        )
        await self.store.add_deliveries([NewDelivery(delivery_id, hook.id, PING, encode(payload))])
        self._wake()
        delivery = await self.store.delivery(hook.id, delivery_id)
        assert delivery is not None
        return delivery

    async def deliveries(
        self, principal: Principal, name: str, webhook_id: int, *, page: int, page_size: int
    ) -> tuple[int, list[DeliveryRecord]]:
        """A page of the webhook's delivery history, newest first."""
        repo = await self.administered(principal, name)
        hook = await self._hook(repo, webhook_id)
        return await self.store.deliveries(hook.id, offset=(page - 1) * page_size, limit=page_size)

    async def delivery(
        self, principal: Principal, name: str, webhook_id: int, delivery_id: str
    ) -> DeliveryRecord:
        """One delivery of the webhook, payload included."""
        repo = await self.administered(principal, name)
        hook = await self._hook(repo, webhook_id)
        found = await self.store.delivery(hook.id, delivery_id)
        if found is None:
            raise NotFound(f"delivery {delivery_id} not found")
        return found

    async def _audit(
        self,
        action: str,
        principal: Principal,
        hook: WebhookRecord,
        address: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        # The URL's host only: paths and queries of webhook URLs often carry tokens.
        detail = {
            "webhook_id": hook.id,
            "name": hook.name,
            "host": _host(hook.url),
            **(extra or {}),
        }
        await self.grants.store.audit(
            action,
            actor=principal.username,
            actor_ip=address,
            namespace=hook.repository.split("/", 1)[0],
            target=hook.repository,
            detail=detail,
        )
