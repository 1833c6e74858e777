"""Fixtures shared by the store tests: a database per test, on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dockyard.metadata.db import Database
from dockyard.metadata.hub_store import HubStore


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.close()


@pytest.fixture
def hub(db: Database) -> HubStore:
    return HubStore(db)
