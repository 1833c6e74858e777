"""``dockyard serve``: migrate the database, then become the HTTP server (Granian, ASGI)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from dockyard.app import SETTINGS_ENV
from dockyard.cli.options import config_options, settings_from
from dockyard.metadata import migrate

#: One line per request: time, client, request line, status, duration in milliseconds.
ACCESS_LOG_FORMAT = (
    '[%(time)s] %(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'
)


@click.command()
@config_options
@click.option("--host", default=None, help="Address to bind. [env DOCKYARD_HOST; 127.0.0.1]")
@click.option("--port", type=int, default=None, help="Port. [env DOCKYARD_PORT; 5000]")
@click.option("--workers", type=int, default=None, help="Worker processes. [default 1]")
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PEM certificate: serve HTTPS. [env DOCKYARD_TLS_CERT]",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PEM private key for --tls-cert. [env DOCKYARD_TLS_KEY]",
)
def serve(
    config_file: Path | None,
    data_dir: Path | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> None:
    """Run the registry server."""
    settings = settings_from(
        config_file,
        data_dir=data_dir,
        host=host,
        port=port,
        workers=workers,
        tls_cert=tls_cert,
        tls_key=tls_key,
    )
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    for path in (settings.tls_cert, settings.tls_key):
        if path is not None and not path.is_file():
            raise click.UsageError(f"{path} does not exist")
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    scheme = "https" if settings.tls_cert else "http"
    click.echo(
        f"dockyard serving on {scheme}://{settings.host}:{settings.port}, "
        f"data in {settings.data_dir}"
    )
    # Worker processes build the app from these settings (dockyard.app.create_app_from_env).
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    # Replace this process with a clean Granian supervisor: the database and migration code
    # loaded above is not carried into (or counted in) the server and its workers.
    args = [
        sys.executable, "-m", "granian",
        "--interface", "asgi",
        "--factory",
        "--host", settings.host,
        "--port", str(settings.port),
        "--workers", str(settings.workers),
        "--loop", "uvloop",
        "--no-ws",
        "--log-level", settings.log_level,
        "--access-log",
        "--access-log-fmt", ACCESS_LOG_FORMAT,
    ]  # fmt: skip
    if settings.tls_cert and settings.tls_key:
        args += [
            "--ssl-certificate", str(settings.tls_cert.resolve()),
            "--ssl-keyfile", str(settings.tls_key.resolve()),
            "--ssl-protocol-min", "tls1.2",
        ]  # fmt: skip
    args.append("dockyard.app:create_app_from_env")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, args)  # noqa: S606 - fixed argv, no shell
