"""``dockyard serve``: migrate the database, then run the HTTP server."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import click
import uvicorn

from dockyard.app import SETTINGS_ENV, create_app
from dockyard.cli.options import config_options, settings_from
from dockyard.metadata import migrate


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
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": True,
        "ssl_certfile": str(settings.tls_cert) if settings.tls_cert else None,
        "ssl_keyfile": str(settings.tls_key) if settings.tls_key else None,
        "proxy_headers": False,
        "server_header": False,
        "timeout_keep_alive": 30,
    }
    if settings.workers > 1:
        os.environ[SETTINGS_ENV] = json.dumps(settings.model_dump(mode="json"))
        uvicorn.run(
            "dockyard.app:create_app_from_env", factory=True, workers=settings.workers, **common
        )
    else:
        uvicorn.run(create_app(settings, run_migrations=False), **common)
