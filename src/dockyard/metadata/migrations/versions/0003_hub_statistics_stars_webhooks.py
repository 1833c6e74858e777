"""hub statistics stars webhooks rate limits

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 00:43:28.870369
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limit_counters")),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("events", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_by", sa.String(length=255), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_webhooks_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index("ix_webhooks_repository_id", ["repository_id"], unique=False)

    op.create_table(
        "stars",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_stars_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_stars_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "repository_id", name=op.f("pk_stars")),
    )
    with op.batch_alter_table("stars", schema=None) as batch_op:
        batch_op.create_index("ix_stars_repository_id", ["repository_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=512), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_webhook_deliveries_webhook", ["webhook_id", "created_at"], unique=False
        )

    with op.batch_alter_table("manifests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("config_digest", sa.String(length=150), nullable=True))
        batch_op.add_column(sa.Column("os", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("architecture", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("variant", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("total_size", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("last_pulled_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pull_count", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("star_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("last_pulled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_pushed_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pushed_by", sa.String(length=255), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("last_pulled_at", sa.DateTime(timezone=True), nullable=True))
    _backfill_manifest_sizes()


def _backfill_manifest_sizes() -> None:
    """Existing image manifests: config digest and compressed size from the payload."""
    import json

    manifests = sa.table(
        "manifests",
        sa.column("id", sa.Integer),
        sa.column("payload", sa.LargeBinary),
        sa.column("size", sa.BigInteger),
        sa.column("config_digest", sa.String),
        sa.column("total_size", sa.BigInteger),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(manifests.c.id, manifests.c.payload, manifests.c.size)).all()
    for manifest_id, payload, size in rows:
        try:
            doc = json.loads(payload)
        except ValueError:
            continue
        config = doc.get("config") if isinstance(doc, dict) else None
        layers = doc.get("layers") or [] if isinstance(doc, dict) else []
        total = size
        if isinstance(config, dict):
            total = int(config.get("size") or 0) + sum(int(x.get("size") or 0) for x in layers)
        conn.execute(
            manifests.update()
            .where(manifests.c.id == manifest_id)
            .values(
                config_digest=config.get("digest") if isinstance(config, dict) else None,
                total_size=total,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_column("last_pulled_at")
        batch_op.drop_column("pushed_by")

    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_column("last_pushed_at")
        batch_op.drop_column("last_pulled_at")
        batch_op.drop_column("star_count")
        batch_op.drop_column("pull_count")

    with op.batch_alter_table("manifests", schema=None) as batch_op:
        batch_op.drop_column("last_pulled_at")
        batch_op.drop_column("total_size")
        batch_op.drop_column("variant")
        batch_op.drop_column("architecture")
        batch_op.drop_column("os")
        batch_op.drop_column("config_digest")

    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_webhook")
        batch_op.drop_index("ix_webhook_deliveries_due")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("stars", schema=None) as batch_op:
        batch_op.drop_index("ix_stars_repository_id")

    op.drop_table("stars")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index("ix_webhooks_repository_id")

    op.drop_table("webhooks")
    op.drop_table("rate_limit_counters")
