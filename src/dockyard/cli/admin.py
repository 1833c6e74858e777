"""Administrative commands: ``dockyard db upgrade``."""

from __future__ import annotations

from pathlib import Path

import click

from dockyard.cli.options import config_options, settings_from
from dockyard.metadata import migrate


@click.group()
def db() -> None:
    """Manage the metadata database."""


@db.command("upgrade")
@config_options
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(config_file: Path | None, data_dir: Path | None, revision: str) -> None:
    """Apply database migrations up to REVISION."""
    settings = settings_from(config_file, data_dir=data_dir)
    migrate.upgrade(settings.resolved_database_url, revision)
    click.echo(f"database at {settings.resolved_database_url} is at revision {revision}")
