"""Administrative commands: ``dockyard db upgrade``, ``dockyard user create``, ``dockyard gc``."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dockyard.cli.options import config_options, settings_from
from dockyard.hub.accounts import AccountService
from dockyard.hub.errors import HubError
from dockyard.metadata import migrate
from dockyard.metadata.db import Database
from dockyard.metadata.hub_store import HubStore

if TYPE_CHECKING:
    from dockyard.registry.gc import GcReport


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


# --- garbage collection ------------------------------------------------------------------------
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """A duration: ``90s``, ``30m``, ``1h``, ``1h30m``, ``2d``, ``1w``, or ``0``."""
    cleaned = text.strip().lower()
    if cleaned == "0":
        return timedelta(0)
    parts = _DURATION_PART.findall(cleaned)
    if not parts or "".join(number + unit for number, unit in parts) != cleaned:
        raise ValueError(f"{text!r} is not a duration (like 30m, 1h, 1h30m, 2d or 0)")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[unit] for n, unit in parts))


def _duration_option(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _summary(report: GcReport) -> list[str]:
    verb = "would be" if report.dry_run else "were"
    lines = [
        "garbage collection" + (" (dry run: nothing was changed)" if report.dry_run else ""),
        f"  untagged manifests deleted:  {report.manifests_deleted}",
        f"  unused blob links removed:   {report.links_removed}",
        f"  blobs deleted:               {report.blobs_deleted} ({_size(report.blob_bytes_freed)})",
        f"  unrecorded blob data:        {report.orphans_deleted} "
        f"({_size(report.orphan_bytes_freed)})",
        f"  abandoned uploads purged:    {report.uploads_purged + report.upload_data_purged} "
        f"({_size(report.upload_bytes_freed)})",
        f"  {_size(report.bytes_freed)} {verb} freed",
    ]
    if report.dry_run:
        lines = [line.replace("deleted:", "to delete:") for line in lines]
        lines = [line.replace("removed:", "to remove:") for line in lines]
        lines = [line.replace("purged:", "to purge:") for line in lines]
    return lines


@click.command("gc")
@config_options
@click.option("--dry-run", is_flag=True, help="Report what would be collected; change nothing.")
@click.option(
    "--delete-untagged",
    is_flag=True,
    help="Also delete manifests no tag reaches (not as an index's child nor as a referrer).",
)
@click.option(
    "--grace",
    metavar="DURATION",
    default="1h",
    callback=_duration_option,
    show_default=True,
    help="Keep links, manifests and unrecorded blob data younger than this (pushes in progress).",
)
@click.option(
    "--upload-max-age",
    metavar="DURATION",
    default="24h",
    callback=_duration_option,
    show_default=True,
    help="Purge uploads idle for longer than this.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Print every item collected.")
def gc(
    config_file: Path | None,
    data_dir: Path | None,
    dry_run: bool,
    delete_untagged: bool,
    grace: timedelta,
    upload_max_age: timedelta,
    as_json: bool,
    verbose: bool,
) -> None:
    """Reclaim storage: blobs, manifests and uploads nothing uses any more.

    Safe while the registry is serving (see docs/storage.md, "Garbage collection").
    """
    from dockyard.app import build_storage
    from dockyard.metadata.gc_store import GcStore
    from dockyard.registry.gc import GarbageCollector, GcOptions

    settings = settings_from(config_file, data_dir=data_dir)
    if settings.storage.driver == "memory":
        raise click.UsageError("storage.driver = memory: its blobs live only inside the server")
    url = settings.resolved_database_url
    sqlite_file = make_url(url).database if make_url(url).get_backend_name() == "sqlite" else None
    if sqlite_file and not Path(sqlite_file).exists():  # connecting would create it
        raise click.ClickException(f"no database at {sqlite_file}: run `dockyard db upgrade` first")
    try:
        tables = migrate.current_tables(url)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot open the database: {exc}") from None
    if "blobs" not in tables:
        raise click.ClickException(
            "the database has no registry tables: run `dockyard db upgrade` first"
        )
    options = GcOptions(
        dry_run=dry_run,
        delete_untagged=delete_untagged,
        grace=grace,
        upload_max_age=upload_max_age,
    )
    echo = (lambda line: click.echo(line, err=as_json)) if verbose else None

    async def collect() -> GcReport:
        db = Database(url)
        storage = build_storage(settings)
        try:
            return await GarbageCollector(GcStore(db), storage, echo=echo).run(options)
        finally:
            await storage.close()
            await db.close()

    report = asyncio.run(collect())
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in _summary(report):
            click.echo(line)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        sys.exit(1)
