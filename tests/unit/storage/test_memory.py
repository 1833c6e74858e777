"""The shared driver suite against the in-memory driver."""

from __future__ import annotations

import pytest

from dockyard.storage.memory import MemoryDriver
from tests.unit.storage.driver_suite import DriverSuite


class TestMemoryDriver(DriverSuite):
    @pytest.fixture
    def driver(self) -> MemoryDriver:
        return MemoryDriver()
