"""The complete schema: every table module imported, one ``metadata`` for Alembic."""

from dockyard.metadata import hub_tables as hub_tables
from dockyard.metadata.tables import metadata

__all__ = ["hub_tables", "metadata"]
