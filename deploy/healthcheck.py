"""The image's HEALTHCHECK: ``GET /readyz`` where ``dockyard serve`` listens; exit 0 when 200.

Reads the address as the server does (defaults, the ``DOCKYARD_CONFIG`` file, ``DOCKYARD_*``
variables), so ``-e DOCKYARD_PORT=8080`` moves the server and its health check together. Flags
given after ``serve`` are not seen here: set the variables instead.
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.request
from pathlib import Path

from dockyard.config import load_settings


def readyz_url() -> tuple[str, ssl.SSLContext | None]:
    config = os.environ.get("DOCKYARD_CONFIG")
    settings = load_settings(Path(config) if config else None)
    # A wildcard address is asked on loopback.
    loopback = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104
    host = loopback.get(settings.host, settings.host)
    if ":" in host:
        host = f"[{host}]"
    if settings.tls_cert is None:
        return f"http://{host}:{settings.port}/readyz", None
    # The server's own certificate, asked for on its own address: no name or chain to check.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return f"https://{host}:{settings.port}/readyz", context


def main() -> int:
    url, context = readyz_url()
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:  # noqa: S310
            status = response.status
    except Exception as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1
    print(f"{url}: {status}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
