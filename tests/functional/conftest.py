"""The functional tests run on the backend the options name, every one of them.

Under ``--postgres`` (or ``--storage s3``) an app whose settings were built without the
``backend`` fixtures would quietly run on SQLite (or the filesystem) and prove nothing about
PostgreSQL (or S3). When a run of functional tests only is over, its temp dirs are searched for
what such an app leaves behind: a SQLite ``dockyard.db``, a filesystem ``storage`` directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import app_backend, app_storage

FUNCTIONAL = Path(__file__).resolve().parent


@pytest.fixture(scope="session", autouse=True)
def _apps_ran_on_the_chosen_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    yield
    config = request.config
    if any(FUNCTIONAL not in Path(item.path).resolve().parents for item in request.session.items):
        return  # other tests (unit ones) may make SQLite files and directories of their own
    base = tmp_path_factory.getbasetemp()
    strays: list[Path] = []
    if app_backend(config) == "postgresql" and not os.environ.get("DOCKYARD_TEST_DATABASE_URL"):
        strays += base.rglob("dockyard.db")
    if app_storage(config) == "s3":
        strays += (path for path in base.rglob("storage") if path.is_dir())
    if strays:
        where = "\n  ".join(sorted(str(path.relative_to(base)) for path in strays))
        pytest.fail(
            "apps under test ran on SQLite or the filesystem instead of the chosen backend "
            f"(build their settings with the `backend` fixtures, tests/support/backends.py):\n  "
            f"{where}"
        )
