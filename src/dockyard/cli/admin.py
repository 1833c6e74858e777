"""Administrative commands: ``dockyard db upgrade``, ``dockyard user create``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from dockyard.cli.options import config_options, settings_from
from dockyard.hub.accounts import AccountService
from dockyard.hub.errors import HubError
from dockyard.metadata import migrate
from dockyard.metadata.db import Database
from dockyard.metadata.hub_store import HubStore


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


@click.group()
def user() -> None:
    """Manage user accounts."""


@user.command("create")
@config_options
@click.argument("username")
@click.option("--email", required=True, help="The user's email address.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (else prompt)."
)
@click.option("--admin", is_flag=True, help="Make the user a site administrator.")
def user_create(
    config_file: Path | None,
    data_dir: Path | None,
    username: str,
    email: str,
    password_stdin: bool,
    admin: bool,
) -> None:
    """Create the account USERNAME (works even when sign-up is closed)."""
    settings = settings_from(config_file, data_dir=data_dir)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    migrate.upgrade(settings.resolved_database_url)

    async def create() -> None:
        db = Database(settings.resolved_database_url)
        try:
            accounts = AccountService(HubStore(db), open_signup=True)
            created = await accounts.create_user(username, email, password, is_admin=admin)
            await accounts.store.audit(
                "user.create", actor="(cli)", namespace=created.username, detail={"admin": admin}
            )
        finally:
            await db.close()

    try:
        asyncio.run(create())
    except HubError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created user {username}{' (administrator)' if admin else ''}")
