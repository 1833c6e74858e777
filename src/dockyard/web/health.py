"""``GET /healthz`` (liveness) and ``GET /readyz`` (readiness: database and storage answer).

Both are unauthenticated and outside the rate limits (which only count manifest pulls). A
failed check is named in the body, never explained with a stack trace (that goes to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.metadata.db import Database
from dockyard.storage import StorageDriver, paths

log = logging.getLogger("dockyard.health")

#: Seconds one readiness check may take before it counts as failed.
CHECK_TIMEOUT = 5.0
_NO_CACHE = {"Cache-Control": "no-store"}


async def healthz(request: Request) -> Response:
    """Liveness: the process serves requests. Touches no dependency."""
    return JSONResponse({"status": "ok"}, headers=_NO_CACHE)


async def readyz(request: Request) -> Response:
    """Readiness: 200 when the database and storage answer, else 503 naming what failed."""
    db: Database = request.app.state.db
    storage: StorageDriver = request.app.state.storage
    checks = {
        "database": lambda: _database(db),
        "storage": lambda: _storage(storage),
    }
    results = {name: await _run(name, check) for name, check in checks.items()}
    ready = all(result == "ok" for result in results.values())
    body = {"status": "ok" if ready else "unavailable", "checks": results}
    return JSONResponse(body, status_code=200 if ready else 503, headers=_NO_CACHE)


async def _run(name: str, check: Callable[[], Awaitable[None]]) -> str:
    try:
        with anyio.fail_after(CHECK_TIMEOUT):
            await check()
    except TimeoutError:
        log.warning("readiness check %s timed out after %ss", name, CHECK_TIMEOUT)
        return "timeout"
    except Exception:
        log.exception("readiness check %s failed", name)
        return "failed"
    return "ok"


async def _database(db: Database) -> None:
    async with db.read() as conn:
        await conn.execute(text("SELECT 1"))


async def _storage(storage: StorageDriver) -> None:
    async for _key in storage.list(paths.health_probe_prefix()):
        break


ROUTES = [
    Route("/healthz", healthz, methods=["GET"], name="healthz"),
    Route("/readyz", readyz, methods=["GET"], name="readyz"),
]
