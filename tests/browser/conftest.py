"""Fixtures of the browser tests: Debian's Chromium through Playwright, a live Dockyard with
authentication on; the private Docker engine is the end-to-end tests' one
(``tests/support/docker_fixtures.py``).

Chromium runs with every background network feature off, so it fetches nothing but the pages
of the server under test. ``DOCKYARD_SCREENSHOT_DIR`` makes the tests save their screenshots
there (``docs/screenshots`` holds the committed ones); by default they go to a temp dir.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_tool
from tests.support.accounts import start_auth_server
from tests.support.servers import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright (never ``playwright install``).

    Module-scoped: Playwright's own event loop is gone before other tests' loops start.
    """
    require_tool(CHROMIUM.exists(), "Chromium (Debian package chromium)")
    require_tool(_playwright_available(), "the playwright Python package (pip install playwright)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live Dockyard with authentication on (the product's default)."""
    server = start_auth_server(tmp_path_factory.mktemp("web") / "data")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``DOCKYARD_SCREENSHOT_DIR`` or a temp dir."""
    chosen = os.environ.get("DOCKYARD_SCREENSHOT_DIR")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
