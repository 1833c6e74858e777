"""``dockyard``: run the server and administer it."""

from __future__ import annotations

from pathlib import Path

import click

from dockyard import __version__
from dockyard.cli.client_commands import register as register_client_commands
from dockyard.cli.lazy import LazyGroup

#: Server and admin commands, imported on first use so that client commands start fast.
SERVER_COMMANDS = {
    "serve": "dockyard.cli.serve:serve",
    "db": "dockyard.cli.admin:db",
    "user": "dockyard.cli.admin:user",
    "gc": "dockyard.cli.admin:gc",
}


@click.group(
    cls=LazyGroup,
    lazy_commands=SERVER_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="dockyard")
def cli() -> None:
    """Dockyard: a self-hostable Docker Hub."""


register_client_commands(cli)


def main() -> None:
    """Entry point of the ``dockyard`` console script."""
    cli(prog_name="dockyard")


__all__ = ["Path", "cli", "main"]
