"""Alembic environment: runs migrations on the sync engine the caller configured."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, text

from dockyard.metadata.schema import metadata

config = context.config
connection = config.attributes.get("connection")


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        if context.get_context().dialect.name == "postgresql":
            # One node migrates at a time; the others wait, then find nothing to do.
            context.execute(text("SELECT pg_advisory_xact_lock(726543001)"))
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
