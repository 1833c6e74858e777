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
            "--ssl-keyfile", str(pkcs8_key(settings.tls_key, settings.data_dir / "tls")),
            "--ssl-protocol-min", "tls1.2",
        ]  # fmt: skip
    args.append("dockyard.app:create_app_from_env")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, args)  # noqa: S606 - fixed argv, no shell


def pkcs8_key(key_file: Path, work_dir: Path) -> Path:
    """``key_file`` itself if it is PKCS#8 PEM (what the server reads), else a converted copy."""
    pem = key_file.read_bytes()
    if b"-----BEGIN PRIVATE KEY-----" in pem:
        return key_file.resolve()
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise click.UsageError(f"{key_file}: not a readable unencrypted PEM private key") from exc
    work_dir.mkdir(parents=True, exist_ok=True)
    converted = work_dir / "key-pkcs8.pem"
    fd = os.open(converted, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return converted.resolve()
