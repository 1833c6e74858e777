"""Queries of webhooks and their delivery outbox (``webhooks``, ``webhook_deliveries``).

Deliveries are a durable outbox: an event inserts one ``pending`` row per webhook, and delivery
workers on any node *claim* due rows before sending them. A claim moves ``next_attempt_at``
forward by a lease and counts the attempt, in one transaction:

- on PostgreSQL the due rows are selected ``FOR UPDATE SKIP LOCKED``, so two nodes claiming at
  once never get the same row;
- on SQLite (one writer at a time) each row is claimed by a conditional ``UPDATE`` whose
  ``WHERE`` repeats the due condition and the attempt count read, checked by its rowcount.

A claimed row stays ``pending``: if its node dies mid-flight the lease runs out and another claim
takes it again. Finishing a delivery is conditional on the attempt count of the claim, so a node
whose lease expired (and whose row was claimed again) cannot overwrite a newer result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from dockyard.metadata.db import Database
from dockyard.metadata.hub_tables import webhook_deliveries, webhooks
from dockyard.metadata.prepared import Prepared, Transaction
from dockyard.metadata.store import aware_utc, utcnow
from dockyard.metadata.tables import repositories


class WebhookWriteFailed(Exception):
    """Storing a webhook failed (the repository is gone, or the database refused).

    Raised instead of the driver's error, whose message would carry the statement's
    parameters, the webhook's secret among them, into logs.
    """


PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    """A webhook of a repository (``secret`` is the HMAC key; never show it after creation)."""

    id: int
    repository_id: int
    repository: str
    name: str
    url: str
    secret: str
    events: tuple[str, ...]
    is_active: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One delivery of an event to a webhook, with the outcome of its last attempt."""

    id: str
    webhook_id: int
    event: str
    payload: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    response_code: int | None
    error: str
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A delivery to add to the outbox."""

    id: str
    webhook_id: int
    event: str
    payload: str


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this node holds until ``lease_until``; ``attempts`` counts this attempt."""

    id: str
    webhook_id: int
    event: str
    payload: str
    attempts: int
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class RepositorySummary:
    """The repository facts a webhook payload carries."""

    id: int
    name: str
    namespace: str
    description: str
    full_description: str
    is_private: bool
    star_count: int
    created_at: datetime


_HOOK_COLUMNS = (
    webhooks.c.id,
    webhooks.c.repository_id,
    repositories.c.name,
    webhooks.c.name,
    webhooks.c.url,
    webhooks.c.secret,
    webhooks.c.events,
    webhooks.c.is_active,
    webhooks.c.created_by,
    webhooks.c.created_at,
)
_DELIVERY_COLUMNS = (
    webhook_deliveries.c.id,
    webhook_deliveries.c.webhook_id,
    webhook_deliveries.c.event,
    webhook_deliveries.c.payload,
    webhook_deliveries.c.status,
    webhook_deliveries.c.attempts,
    webhook_deliveries.c.next_attempt_at,
    webhook_deliveries.c.last_attempt_at,
    webhook_deliveries.c.response_code,
    webhook_deliveries.c.error,
    webhook_deliveries.c.created_at,
    webhook_deliveries.c.delivered_at,
)
_REPO_SUMMARY_COLUMNS = (
    repositories.c.id,
    repositories.c.name,
    repositories.c.namespace,
    repositories.c.description,
    repositories.c.full_description,
    repositories.c.is_private,
    repositories.c.star_count,
    repositories.c.created_at,
)


def _hook(row: Sequence[Any]) -> WebhookRecord:
    return WebhookRecord(
        id=int(row[0]),
        repository_id=int(row[1]),
        repository=str(row[2]),
        name=str(row[3]),
        url=str(row[4]),
        secret=str(row[5]),
        events=tuple(str(row[6]).split()),
        is_active=bool(row[7]),
        created_by=str(row[8]),
        created_at=aware_utc(row[9]),
    )


def _delivery(row: Sequence[Any]) -> DeliveryRecord:
    return DeliveryRecord(
        id=str(row[0]),
        webhook_id=int(row[1]),
        event=str(row[2]),
        payload=str(row[3]),
        status=str(row[4]),
        attempts=int(row[5]),
        next_attempt_at=aware_utc(row[6]),
        last_attempt_at=None if row[7] is None else aware_utc(row[7]),
        response_code=None if row[8] is None else int(row[8]),
        error=str(row[9]),
        created_at=aware_utc(row[10]),
        delivered_at=None if row[11] is None else aware_utc(row[11]),
    )


#: Active webhooks of the repository named by ``:repository``, with the repository's facts.
_TARGETS = (
    select(webhooks.c.id, webhooks.c.events, *_REPO_SUMMARY_COLUMNS)
    .join(repositories, repositories.c.id == webhooks.c.repository_id)
    .where(repositories.c.name == bindparam("repository"), webhooks.c.is_active.is_(True))
    .order_by(webhooks.c.id)
)
_TARGETS_PREPARED = Prepared(_TARGETS)
_DELIVERY_INSERT = Prepared(webhook_deliveries.insert())


def _targets(rows: Sequence[Any], event: str) -> tuple[RepositorySummary | None, list[int]]:
    hook_ids = [int(row[0]) for row in rows if event in str(row[1]).split()]
    if not hook_ids:
        return None, []
    return _summary(rows[0][2:]), hook_ids


def _delivery_rows(deliveries: Sequence[NewDelivery]) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "id": d.id,
            "webhook_id": d.webhook_id,
            "event": d.event,
            "payload": d.payload,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "error": "",
            "created_at": now,
        }
        for d in deliveries
    ]


def _summary(row: Sequence[Any]) -> RepositorySummary:
    return RepositorySummary(
        id=int(row[0]),
        name=str(row[1]),
        namespace=str(row[2]),
        description=str(row[3]),
        full_description=str(row[4]),
        is_private=bool(row[5]),
        star_count=int(row[6] or 0),
        created_at=aware_utc(row[7]),
    )


class WebhookStore:
    """Webhooks and the delivery outbox."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- webhooks ------------------------------------------------------------------------
    async def create(
        self,
        repository_id: int,
        *,
        name: str,
        url: str,
        secret: str,
        events: Sequence[str],
        created_by: str,
    ) -> WebhookRecord:
        """Add a webhook to a repository."""
        try:
            hook_id = await self._insert(
                repository_id=repository_id,
                name=name,
                url=url,
                secret=secret,
                events=" ".join(events),
                is_active=True,
                created_by=created_by[:255],
                created_at=utcnow(),
            )
        except IntegrityError:
            raise WebhookWriteFailed("the repository no longer exists") from None
        except DBAPIError as exc:
            raise WebhookWriteFailed(f"the database refused: {type(exc.orig).__name__}") from None
        record = await self.get(hook_id)
        assert record is not None
        return record

    async def _insert(self, **values: Any) -> int:
        async with self.db.write() as conn:
            result = await conn.execute(webhooks.insert().values(**values))
            assert result.inserted_primary_key is not None
            return int(result.inserted_primary_key[0])

    async def get(self, webhook_id: int) -> WebhookRecord | None:
        """The webhook with that id."""
        stmt = (
            select(*_HOOK_COLUMNS)
            .join(repositories, repositories.c.id == webhooks.c.repository_id)
            .where(webhooks.c.id == webhook_id)
        )
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _hook(row)

    async def of_repository(self, repository_id: int) -> list[WebhookRecord]:
        """Every webhook of a repository, oldest first."""
        stmt = (
            select(*_HOOK_COLUMNS)
            .join(repositories, repositories.c.id == webhooks.c.repository_id)
            .where(webhooks.c.repository_id == repository_id)
            .order_by(webhooks.c.id)
        )
        async with self.db.read() as conn:
            return [_hook(row) for row in (await conn.execute(stmt)).all()]

    async def update(self, webhook_id: int, **values: Any) -> None:
        """Change name, url, secret, events (a sequence) or is_active.

        Deactivating a webhook gives up its pending deliveries (marked failed).
        """
        if "events" in values:
            values["events"] = " ".join(values["events"])
        if not values:
            return
        try:
            await self._update(webhook_id, values)
        except DBAPIError as exc:
            raise WebhookWriteFailed(f"the database refused: {type(exc.orig).__name__}") from None

    async def _update(self, webhook_id: int, values: dict[str, Any]) -> None:
        async with self.db.write() as conn:
            await conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(**values))
            if values.get("is_active") is False:
                await conn.execute(
                    update(webhook_deliveries)
                    .where(
                        webhook_deliveries.c.webhook_id == webhook_id,
                        webhook_deliveries.c.status == PENDING,
                    )
                    .values(status=FAILED, error="the webhook was deactivated")
                )

    async def delete(self, webhook_id: int) -> bool:
        """Delete a webhook with its delivery history."""
        async with self.db.write() as conn:
            await conn.execute(
                delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
            )
            result = await conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
        return bool(result.rowcount)

    # --- events --------------------------------------------------------------------------
    async def targets(
        self, repository: str, event: str
    ) -> tuple[RepositorySummary | None, list[int]]:
        """The repository and the ids of its active webhooks subscribed to ``event``.

        One indexed query; a repository without webhooks returns ``(None, [])``.
        """
        async with self.db.read() as conn:
            rows = (await conn.execute(_TARGETS, {"repository": repository})).all()
        return _targets(rows, event)

    def targets_in(
        self, tx: Transaction, repository: str, event: str
    ) -> tuple[RepositorySummary | None, list[int]]:
        """:meth:`targets` inside a caller's synchronous transaction."""
        return _targets(tx.all(_TARGETS_PREPARED, {"repository": repository}), event)

    async def repository_summary(self, repository_id: int) -> RepositorySummary | None:
        """The payload facts of one repository."""
        stmt = select(*_REPO_SUMMARY_COLUMNS).where(repositories.c.id == repository_id)
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _summary(row)

    async def add_deliveries(self, deliveries: Sequence[NewDelivery]) -> None:
        """Put deliveries in the outbox, due now (one transaction)."""
        if not deliveries:
            return
        async with self.db.write() as conn:
            await conn.execute(webhook_deliveries.insert(), _delivery_rows(deliveries))

    def add_deliveries_in(self, tx: Transaction, deliveries: Sequence[NewDelivery]) -> None:
        """:meth:`add_deliveries` inside a caller's synchronous transaction."""
        if deliveries:
            tx.execute_many(_DELIVERY_INSERT, _delivery_rows(deliveries))

    # --- delivery history ----------------------------------------------------------------
    async def deliveries(
        self, webhook_id: int, *, offset: int, limit: int
    ) -> tuple[int, list[DeliveryRecord]]:
        """A page of a webhook's deliveries, newest first, with the total count."""
        where = webhook_deliveries.c.webhook_id == webhook_id
        async with self.db.read() as conn:
            total = await conn.scalar(
                select(func.count()).select_from(webhook_deliveries).where(where)
            )
            rows = (
                await conn.execute(
                    select(*_DELIVERY_COLUMNS)
                    .where(where)
                    .order_by(webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id)
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
        return int(total or 0), [_delivery(row) for row in rows]

    async def delivery(self, webhook_id: int, delivery_id: str) -> DeliveryRecord | None:
        """One delivery of a webhook."""
        stmt = select(*_DELIVERY_COLUMNS).where(
            webhook_deliveries.c.webhook_id == webhook_id, webhook_deliveries.c.id == delivery_id
        )
        async with self.db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _delivery(row)

    # --- the outbox worker's side --------------------------------------------------------
    async def claim(self, *, limit: int, lease: timedelta) -> list[ClaimedDelivery]:
        """Claim up to ``limit`` due deliveries for ``lease``, counting the attempt."""
        now = utcnow()
        due = and_(
            webhook_deliveries.c.status == PENDING, webhook_deliveries.c.next_attempt_at <= now
        )
        stmt = (
            select(
                webhook_deliveries.c.id,
                webhook_deliveries.c.webhook_id,
                webhook_deliveries.c.event,
                webhook_deliveries.c.payload,
                webhook_deliveries.c.attempts,
                webhooks.c.url,
                webhooks.c.secret,
            )
            .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
            .where(due, webhooks.c.is_active.is_(True))
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(limit)
        )
        if self.db.dialect == "postgresql":
            stmt = stmt.with_for_update(of=webhook_deliveries, skip_locked=True)
        claimed: list[ClaimedDelivery] = []
        async with self.db.write() as conn:
            for row in (await conn.execute(stmt)).all():
                attempts = int(row[4])
                result = await conn.execute(
                    update(webhook_deliveries)
                    .where(
                        webhook_deliveries.c.id == row[0],
                        webhook_deliveries.c.attempts == attempts,
                        due,
                    )
                    .values(attempts=attempts + 1, next_attempt_at=now + lease, last_attempt_at=now)
                )
                if result.rowcount == 1:
                    claimed.append(
                        ClaimedDelivery(
                            id=str(row[0]),
                            webhook_id=int(row[1]),
                            event=str(row[2]),
                            payload=str(row[3]),
                            attempts=attempts + 1,
                            url=str(row[5]),
                            secret=str(row[6]),
                        )
                    )
        return claimed

    async def finish(
        self,
        delivery_id: str,
        attempts: int,
        *,
        delivered: bool,
        response_code: int | None,
        error: str = "",
        retry_at: datetime | None = None,
    ) -> bool:
        """Record the outcome of the claim that counted ``attempts``.

        Delivered: ``delivered``. Not delivered: ``pending`` again at ``retry_at``, or ``failed``
        when ``retry_at`` is None. False when the claim was lost (the lease ran out and the row
        was claimed again, or the webhook was deleted or deactivated meanwhile).
        """
        now = utcnow()
        values: dict[str, Any] = {
            "response_code": response_code,
            "error": error[:512],
            "last_attempt_at": now,
        }
        if delivered:
            values.update(status=DELIVERED, delivered_at=now)
        elif retry_at is not None:
            values.update(next_attempt_at=retry_at)
        else:
            values.update(status=FAILED)
        async with self.db.write() as conn:
            result = await conn.execute(
                update(webhook_deliveries)
                .where(
                    webhook_deliveries.c.id == delivery_id,
                    webhook_deliveries.c.attempts == attempts,
                    webhook_deliveries.c.status == PENDING,
                )
                .values(**values)
            )
        return bool(result.rowcount)

    async def prune(self, before: datetime) -> int:
        """Delete finished (delivered or failed) deliveries created before ``before``."""
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(webhook_deliveries).where(
                    webhook_deliveries.c.status != PENDING,
                    webhook_deliveries.c.created_at < before,
                )
            )
        return int(result.rowcount or 0)

    async def next_due(self) -> datetime | None:
        """When the earliest pending delivery falls due (None: nothing pending)."""
        stmt = select(func.min(webhook_deliveries.c.next_attempt_at)).where(
            webhook_deliveries.c.status == PENDING
        )
        async with self.db.read() as conn:
            value = await conn.scalar(stmt)
        return None if value is None else aware_utc(value)
