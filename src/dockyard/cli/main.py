"""``dockyard``: run the server and administer it."""

from __future__ import annotations

from pathlib import Path

import click

from dockyard import __version__
from dockyard.cli.admin import db, user
from dockyard.cli.client_commands import register as register_client_commands
from dockyard.cli.serve import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dockyard")
def cli() -> None:
    """Dockyard: a self-hostable Docker Hub."""


cli.add_command(serve)
cli.add_command(db)
cli.add_command(user)
register_client_commands(cli)


def main() -> None:
    """Entry point of the ``dockyard`` console script."""
    cli(prog_name="dockyard")


__all__ = ["Path", "cli", "main"]
