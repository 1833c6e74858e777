"""Where the apps under test keep their metadata and blobs: one :class:`AppBackend` per app.

By default an app uses SQLite in its data directory and the filesystem storage driver. With
``--postgres`` (or ``DOCKYARD_TEST_BACKEND=postgresql``) each backend is a fresh database on the
session's throwaway PostgreSQL cluster, copied from a migrated template; with ``--storage s3``
(or ``DOCKYARD_TEST_STORAGE=s3``) a fresh bucket on the session's ``moto_server``. In-process
apps take :meth:`AppBackend.settings`; ``dockyard serve`` and CLI commands take
:meth:`AppBackend.env`. ``tests/conftest.py`` hands them out as the ``backend`` (per test) and
``module_backend`` (per module) fixtures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dockyard.app import build_storage
from dockyard.config import Settings
from dockyard.storage import StorageDriver, StorageNotFound
from dockyard.storage.paths import UPLOADS_DIR

if TYPE_CHECKING:
    from tests.support.postgres import PostgresCluster
    from tests.support.s3 import MotoServer

T = TypeVar("T")


@dataclass(frozen=True)
class AppBackend:
    """The database and storage of one app under test (or of the nodes sharing them)."""

    #: SQLAlchemy URL of the metadata database; None: SQLite in the app's data directory.
    database_url: str | None = None
    #: The ``storage`` settings: ``{"driver": "filesystem"}``, ``"memory"``, or ``"s3"`` with
    #: a bucket of its own.
    storage: dict[str, Any] = field(default_factory=lambda: {"driver": "filesystem"})

    @property
    def driver(self) -> str:
        """The storage driver: ``filesystem``, ``memory`` or ``s3``."""
        return str(self.storage["driver"])

    def settings(self, data_dir: Path, **values: Any) -> Settings:
        """Settings of an app on this backend with its data in ``data_dir``.

        ``values`` are more settings; ``storage`` ones are merged over the backend's (so
        ``storage={"fsync": False}`` keeps the driver).
        """
        storage = {**self.storage, **values.pop("storage", {})}
        return Settings(
            data_dir=data_dir, database_url=self.database_url, storage=storage, **values
        )

    def env(self) -> dict[str, str]:
        """``DOCKYARD_*`` variables that put a ``dockyard serve`` or a CLI command on it.

        A server cannot share the memory driver with anyone (nor keep it over a restart), so
        live servers use the filesystem when the backend's driver is ``memory``.
        """
        env: dict[str, str] = {}
        if self.database_url:
            env["DOCKYARD_DATABASE_URL"] = self.database_url
        if self.driver == "s3":
            env["DOCKYARD_STORAGE__DRIVER"] = "s3"
            for key, value in self.storage["s3"].items():
                env[f"DOCKYARD_STORAGE__S3__{key.upper()}"] = str(value)
        return env

    def storage_driver(self, data_dir: Path) -> StorageDriver:
        """A driver on the storage of a live server started with :meth:`env` and ``data_dir``
        (close it when done)."""
        storage = {"driver": "s3", "s3": self.storage["s3"]} if self.driver == "s3" else {}
        return build_storage(Settings(data_dir=data_dir, storage=storage))


class StorageProbe:
    """What a live server's storage holds, asked from a synchronous test (it may poll).

    One driver and one event loop of its own for the probe's life: building an S3 client
    takes longer than a poll should.
    """

    def __init__(self, backend: AppBackend, data_dir: Path) -> None:
        self._loop = asyncio.new_event_loop()
        self._driver = backend.storage_driver(data_dir)

    def __enter__(self) -> StorageProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._run(self._driver.close())
        self._loop.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(coro)

    def keys(self, prefix: str) -> list[str]:
        """Keys of the objects under ``prefix``, sorted (``uploads/...`` lists uploads' data)."""
        return self._run(_sorted(self._driver.list(prefix)))

    def upload_ids(self) -> set[str]:
        """Ids of the uploads storage holds."""
        return {key.split("/")[1] for key in self.keys(UPLOADS_DIR)}

    def upload_size(self, upload_id: str) -> int:
        """Bytes an upload holds in storage (0 when there is no such upload)."""
        try:
            return self._run(self._driver.upload_size(upload_id))
        except StorageNotFound:
            return 0

    def get(self, key: str) -> bytes:
        """The content of an object."""
        return self._run(self._driver.get(key))


async def _sorted(keys: AsyncIterator[str]) -> list[str]:
    return sorted([key async for key in keys])


@dataclass
class Backends:
    """Hands out fresh :class:`AppBackend` s of the kind the test run asked for."""

    #: ``DOCKYARD_TEST_DATABASE_URL``: every app shares this database (no fresh ones).
    explicit_url: str | None = None
    #: The cluster and its migrated template, when apps run on PostgreSQL.
    postgres: tuple[PostgresCluster, str] | None = None
    #: The storage driver of apps.
    driver: str = "filesystem"
    #: The S3 endpoint, when ``driver`` is ``s3``.
    moto: MotoServer | None = None

    def new(
        self, cleanup: Callable[[Callable[[], None]], None], *, migrated: bool = True
    ) -> AppBackend:
        """A fresh backend; ``cleanup`` is handed what removes its database and bucket.

        ``migrated=False``: a PostgreSQL database starts empty, as a SQLite one does (else it
        is a copy of the template, at the head revision).
        """
        url = self.explicit_url
        if url is None and self.postgres is not None:
            cluster, template = self.postgres
            name = cluster.create_database(template=template if migrated else None)
            cleanup(lambda: cluster.drop_database(name))
            url = cluster.url(name)
        if self.driver == "s3":
            moto = self.moto
            assert moto is not None
            storage = moto.storage_settings()
            bucket = str(storage["s3"]["bucket"])  # type: ignore[index]
            cleanup(lambda: moto.delete_bucket(bucket))
            return AppBackend(url, storage)
        return AppBackend(url, {"driver": self.driver})
