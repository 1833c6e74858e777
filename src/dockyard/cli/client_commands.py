"""The client commands: ``dockyard login|logout|pull|push|images|tag|rmi|save|load|build|
tags|inspect|delete|search|copy``. They work against any registry; errors are one line, exit 1.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dockyard.client import Client, ClientError, parse_reference, reporter_for
from dockyard.client.blobstore import disk_full
from dockyard.client.errors import DiskFull
from dockyard.client.progress import human_size, short

F = TypeVar("F", bound=Callable[..., Any])


def client_errors(func: F) -> F:
    """Turn client errors into ``Error: <one line>`` and exit status 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClientError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            error = disk_full(exc, Path(exc.filename or "."))
            if isinstance(error, DiskFull):
                raise click.ClickException(str(error)) from None
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None
        except KeyboardInterrupt:
            click.echo("interrupted (partial downloads are kept and resumed next time)", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def insecure_option(func: F) -> F:
    return click.option(
        "--insecure",
        is_flag=True,
        help="Allow plain HTTP or unverified TLS to registries other than localhost/127.0.0.0/8.",
    )(func)


def quiet_option(func: F) -> F:
    return click.option("-q", "--quiet", is_flag=True, help="Print no progress.")(func)


def jobs_option(func: F) -> F:
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(1, 32),
        default=3,
        show_default=True,
        envvar="DOCKYARD_JOBS",
        help="Layers transferred in parallel. [env DOCKYARD_JOBS]",
    )(func)


def _client(insecure: bool = False, quiet: bool = True, jobs: int = 3) -> Client:
    return Client(insecure=insecure, jobs=jobs, reporter=reporter_for(quiet))


# --- credentials -------------------------------------------------------------------------
@click.command()
@click.argument("server", required=False)
@click.option("-u", "--username", help="Username.")
@click.option("-p", "--password", help="Password or access token (prefer --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@insecure_option
@client_errors
def login(
    server: str | None,
    username: str | None,
    password: str | None,
    password_stdin: bool,
    insecure: bool,
) -> None:
    """Log in to a registry (Docker Hub when SERVER is omitted)."""
    if password_stdin:
        if password:
            raise click.UsageError("--password and --password-stdin are mutually exclusive")
        if not username:
            raise click.UsageError("--password-stdin needs --username")
        password = sys.stdin.read().rstrip("\r\n")
    if not username:
        if not sys.stdin.isatty():
            raise click.UsageError("no username given and no terminal to ask on (use -u)")
        username = click.prompt("Username")
    if not password:
        if not sys.stdin.isatty():
            raise click.UsageError("no password given (use --password-stdin)")
        password = click.prompt("Password", hide_input=True)
    with _client(insecure) as client:
        client.login(server, str(username), str(password))
    click.echo("Login Succeeded")


@click.command()
@click.argument("server", required=False)
@client_errors
def logout(server: str | None) -> None:
    """Forget the credentials of a registry (Docker Hub when SERVER is omitted)."""
    with _client() as client:
        domain, removed = client.logout(server)
    if removed:
        click.echo(f"Removing login credentials for {domain}")
    else:
        click.echo(f"Not logged in to {domain}")


# --- transfers ---------------------------------------------------------------------------
@click.command()
@click.argument("image")
@click.option(
    "--platform", help="Pick this platform of a multi-platform image (os/arch[/variant])."
)
@click.option("-a", "--all-platforms", is_flag=True, help="Pull every platform of an index.")
@insecure_option
@quiet_option
@jobs_option
@client_errors
def pull(
    image: str, platform: str | None, all_platforms: bool, insecure: bool, quiet: bool, jobs: int
) -> None:
    """Pull IMAGE into the local image store."""
    if platform and all_platforms:
        raise click.UsageError("--platform and --all-platforms are mutually exclusive")
    with _client(insecure, quiet, jobs) as client:
        result = client.pull(image, platform=platform, all_platforms=all_platforms)
    click.echo(result.name)


@click.command()
@click.argument("image")
@insecure_option
@quiet_option
@jobs_option
@client_errors
def push(image: str, insecure: bool, quiet: bool, jobs: int) -> None:
    """Push IMAGE from the local store to its registry."""
    with _client(insecure, quiet, jobs) as client:
        digest = client.push(image)
    click.echo(f"{image}: digest: {digest}")


@click.command()
@click.argument("source")
@click.argument("destination")
@insecure_option
@quiet_option
@jobs_option
@client_errors
def copy(source: str, destination: str, insecure: bool, quiet: bool, jobs: int) -> None:
    """Copy SOURCE to DESTINATION, registry to registry, every platform (nothing on disk)."""
    with _client(insecure, quiet, jobs) as client:
        digest = client.copy(source, destination)
    click.echo(f"{destination}: digest: {digest}")


# --- the local store ---------------------------------------------------------------------
@click.command()
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.option("--digests", is_flag=True, help="Show manifest digests.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@client_errors
def images(quiet: bool, digests: bool, as_json: bool) -> None:
    """List the images of the local store."""
    with _client() as client:
        rows = client.images()
    if as_json:
        click.echo(json.dumps([row.__dict__ for row in rows], indent=2))
        return
    if quiet:
        for image_id in dict.fromkeys(short(row.image_id) for row in rows):
            click.echo(image_id)
        return
    header = [
        "REPOSITORY",
        "TAG",
        *(["DIGEST"] if digests else []),
        "IMAGE ID",
        "PLATFORM",
        "CREATED",
        "SIZE",
    ]
    table = [header]
    for row in rows:
        table.append(
            [
                row.repository,
                row.tag,
                *([row.digest] if digests else []),
                short(row.image_id),
                row.platform or "",
                row.created[:19].replace("T", " "),
                human_size(row.size),
            ]
        )
    _print_table(table)


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo(
            "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@click.command()
@click.argument("source")
@click.argument("target")
@client_errors
def tag(source: str, target: str) -> None:
    """Give the stored image SOURCE the new name TARGET."""
    with _client() as client:
        client.tag(source, target)


@click.command()
@click.argument("images", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Remove every name of an image given by ID.")
@client_errors
def rmi(images: tuple[str, ...], force: bool) -> None:
    """Remove images from the local store (and content nothing else uses)."""
    with _client() as client:
        for image in images:
            for line in client.remove(image, force=force):
                click.echo(line)


@click.command()
@click.argument("images", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@click.option(
    "--format",
    "archive_format",
    type=click.Choice(["docker", "oci"]),
    default="docker",
    show_default=True,
    help="docker: classic docker-archive; oci: OCI layout (as docker 25+ writes).",
)
@click.option("--platform", help="The platform to save of a multi-platform image.")
@client_errors
def save(
    images: tuple[str, ...], output: Path | None, archive_format: str, platform: str | None
) -> None:
    """Save images to a tar archive that `docker load` accepts."""
    with _client() as client:
        if output is None:
            if sys.stdout.isatty():
                raise click.UsageError("refusing to write an archive to a terminal (use -o)")
            client.save(list(images), sys.stdout.buffer, format=archive_format, platform=platform)
        else:
            client.save(list(images), output, format=archive_format, platform=platform)


@click.command()
@click.option(
    "-i",
    "--input",
    "source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read from this file instead of standard input.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing.")
@client_errors
def load(source: Path | None, quiet: bool) -> None:
    """Load images from a `docker save` archive (docker-archive or OCI layout form)."""
    with _client() as client:
        if source is None:
            if sys.stdin.isatty():
                raise click.UsageError("give an archive with -i, or pipe one in")
            loaded = _load_stdin(client)
        else:
            loaded = client.load(source)
    if quiet:
        return
    for item in loaded:
        entry = client.store.find(item.name) if item.name else None
        if entry is not None and entry.reference is not None:
            click.echo(f"Loaded image: {entry.reference.familiar()}")
        elif item.name:
            click.echo(f"Loaded image: {item.name}")
        else:
            click.echo(f"Loaded image ID: {item.digest}")


def _load_stdin(client: Client) -> list[Any]:
    client.store.ensure()
    with tempfile.NamedTemporaryFile(dir=client.store.blobs.tmp_dir) as spool:
        shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
        spool.flush()
        return client.load(Path(spool.name))


# --- build -------------------------------------------------------------------------------
@click.command()
@click.argument("context", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-t", "--tag", "tags", multiple=True, help="Name the image NAME[:TAG] (repeatable).")
@click.option(
    "-f", "--file", "dockerfile", help="The Dockerfile (default CONTEXT/Dockerfile; - for stdin)."
)
@click.option(
    "--build-arg",
    "build_args",
    multiple=True,
    help="Set an ARG: KEY=VALUE, or KEY to take it from the environment (repeatable).",
)
@click.option("--platform", help="Build for this platform, os/arch[/variant] (default: this host).")
@click.option("--target", help="Build this stage (default: the last).")
@click.option("--pull", is_flag=True, help="Pull base images even when they are stored.")
@click.option("--push", is_flag=True, help="Push every tag after building.")
@click.option(
    "--source-date-epoch",
    type=int,
    help="Timestamp of files, history and config in seconds (default $SOURCE_DATE_EPOCH, or 0).",
)
@insecure_option
@quiet_option
@jobs_option
@client_errors
def build(
    context: Path,
    tags: tuple[str, ...],
    dockerfile: str | None,
    build_args: tuple[str, ...],
    platform: str | None,
    target: str | None,
    pull: bool,
    push: bool,
    source_date_epoch: int | None,
    insecure: bool,
    quiet: bool,
    jobs: int,
) -> None:
    """Build an image from a Dockerfile without a container (no RUN), reproducibly."""
    args = _build_args(build_args)
    if source_date_epoch is None and "SOURCE_DATE_EPOCH" not in args:
        source_date_epoch = _epoch_from_environment()
    text = sys.stdin.read() if dockerfile == "-" else None
    path = Path(dockerfile) if dockerfile and dockerfile != "-" else None
    if push and not tags:
        raise click.UsageError("--push needs at least one -t/--tag")
    with _client(insecure, quiet, jobs) as client:
        result = client.build(
            context,
            tags=tags,
            dockerfile=path,
            dockerfile_text=text,
            build_args=args,
            platform=platform,
            target=target,
            pull=pull,
            source_date_epoch=source_date_epoch,
        )
        for warning in result.warnings:
            click.echo(f"Warning: {warning}", err=True)
        names = [parse_reference(name).familiar() for name in result.names]
        for name in names:
            click.echo(f"{name}: digest: {result.digest}")
        if not names:
            click.echo(f"digest: {result.digest}")
        for name in names if push else ():
            client.push(name)
            click.echo(f"{name}: pushed")


def _build_args(values: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        key, eq, text = value.partition("=")
        if not key:
            raise click.UsageError(f"invalid --build-arg {value!r}: use KEY=VALUE")
        if eq:
            found[key] = text
        elif key in os.environ:
            found[key] = os.environ[key]
    return found


def _epoch_from_environment() -> int | None:
    text = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise click.UsageError(f"SOURCE_DATE_EPOCH={text!r} is not a whole number of seconds")
    return int(text)


# --- remote information ------------------------------------------------------------------
@click.command()
@click.argument("repository")
@click.option("--page-size", type=click.IntRange(1, 10000), help="Tags per request (n=).")
@insecure_option
@client_errors
def tags(repository: str, page_size: int | None, insecure: bool) -> None:
    """List the tags of a remote REPOSITORY (every page)."""
    with _client(insecure) as client:
        for name in client.tags(repository, page_size):
            click.echo(name)


@click.command()
@click.argument("image")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (manifest, configs, sizes).")
@insecure_option
@client_errors
def inspect(image: str, as_json: bool, insecure: bool) -> None:
    """Show a remote image: manifest, platforms, config and sizes."""
    with _client(insecure) as client:
        found = client.inspect(image)
    click.echo(json.dumps(found.as_dict(), indent=2) if as_json else found.summary())


@click.command()
@click.argument("image")
@insecure_option
@client_errors
def delete(image: str, insecure: bool) -> None:
    """Delete a remote tag, or a manifest by digest (IMAGE@sha256:...)."""
    with _client(insecure) as client:
        click.echo(client.delete(image))


@click.command()
@click.argument("term")
@click.option(
    "--limit",
    type=click.IntRange(1, 100),
    default=25,
    show_default=True,
    help="Most results to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@insecure_option
@client_errors
def search(term: str, limit: int, as_json: bool, insecure: bool) -> None:
    """Search a registry (Docker Hub unless TERM starts with a registry host)."""
    with _client(insecure) as client:
        results = client.search(term, limit)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in results], indent=2))
        return
    table = [["NAME", "DESCRIPTION", "STARS", "OFFICIAL", "AUTOMATED"]]
    for r in results:
        description = r.description if len(r.description) <= 45 else r.description[:44] + "…"
        table.append(
            [
                r.name,
                description,
                str(r.star_count),
                "[OK]" if r.is_official else "",
                "[OK]" if r.is_automated else "",
            ]
        )
    _print_table(table)


COMMANDS = [
    login,
    logout,
    pull,
    push,
    copy,
    images,
    tag,
    rmi,
    save,
    load,
    build,
    tags,
    inspect,
    delete,
    search,
]


def register(group: click.Group) -> None:
    """Add every client command to ``group``."""
    for command in COMMANDS:
        group.add_command(command)


__all__ = ["COMMANDS", "register"]
