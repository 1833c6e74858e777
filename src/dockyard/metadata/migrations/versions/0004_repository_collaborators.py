"""repository collaborators

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 01:24:39.375310
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repository_collaborators",
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("permission", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_repository_collaborators_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_repository_collaborators_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "repository_id", "user_id", name=op.f("pk_repository_collaborators")
        ),
    )
    with op.batch_alter_table("repository_collaborators", schema=None) as batch_op:
        batch_op.create_index("ix_repository_collaborators_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("repository_collaborators", schema=None) as batch_op:
        batch_op.drop_index("ix_repository_collaborators_user_id")

    op.drop_table("repository_collaborators")
