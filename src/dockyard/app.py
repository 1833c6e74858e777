"""The composition root: settings in, a Starlette app with every service wired out."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from dockyard.auth import keys
from dockyard.auth.credentials import Authenticator, ThrottleLimits
from dockyard.auth.errors import AuthError
from dockyard.auth.service import TokenService
from dockyard.auth.tokens import TokenAuthority
from dockyard.config import Settings
from dockyard.hub.errors import HubError
from dockyard.hub.hookshot import DeliveryPolicy, Hookshot
from dockyard.hub.images import ImageService
from dockyard.hub.layers import LayerIndex
from dockyard.hub.profiles import ProfileService
from dockyard.hub.service import HubServices
from dockyard.memory import GlibcAllocator, HeapTrimmer
from dockyard.metadata.db import Database
from dockyard.metadata.hub_store import HubStore
from dockyard.metadata.profile_store import ProfileStore
from dockyard.metadata.ratelimit_store import RateLimitStore
from dockyard.metadata.session_store import WebSessionStore
from dockyard.metadata.store import RegistryStore
from dockyard.metadata.webhook_store import WebhookStore
from dockyard.registry.errors import RegistryError
from dockyard.registry.ratelimit import RateLimiter
from dockyard.registry.service import RegistryServices
from dockyard.storage import StorageDriver
from dockyard.storage.filesystem import FilesystemDriver
from dockyard.storage.memory import MemoryDriver
from dockyard.web.api.common import (
    ApiError,
    api_error_handler,
    auth_error_handler,
    hub_error_handler,
)
from dockyard.web.api.routes import ROUTES as API_ROUTES
from dockyard.web.errors import registry_error_handler
from dockyard.web.health import ROUTES as HEALTH_ROUTES
from dockyard.web.middleware import RegistryHeaders
from dockyard.web.nul import RefuseNul
from dockyard.web.state import AuthServices
from dockyard.web.token import ROUTES as TOKEN_ROUTES
from dockyard.web.ui import errors as page_errors
from dockyard.web.ui.context import WebUi
from dockyard.web.ui.routes import ROUTES as UI_ROUTES
from dockyard.web.v2.access import AccessRefused, access_refused_handler
from dockyard.web.v2.routes import ROUTES as V2_ROUTES

log = logging.getLogger("dockyard")

#: Environment variable through which ``dockyard serve`` hands settings to worker processes.
SETTINGS_ENV = "DOCKYARD_SERVE_SETTINGS_JSON"


def build_storage(settings: Settings) -> StorageDriver:
    """The storage driver the settings name."""
    if settings.storage.driver == "memory":
        return MemoryDriver()
    if settings.storage.driver == "s3":
        return build_s3_storage(settings)
    return FilesystemDriver(settings.storage_root, fsync=settings.storage.fsync)


def build_s3_storage(settings: Settings) -> StorageDriver:
    """The S3 driver (boto3 is imported only when it is used)."""
    from dockyard.storage.s3 import S3Config, S3Driver

    s3 = settings.storage.s3
    secret, token = s3.secret_access_key, s3.session_token
    return S3Driver(
        S3Config(
            bucket=s3.bucket,
            endpoint_url=s3.endpoint_url,
            region=s3.region,
            access_key_id=s3.access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            session_token=token.get_secret_value() if token else None,
            prefix=s3.prefix,
            addressing_style=s3.addressing_style,
            public_endpoint_url=s3.public_endpoint_url,
            part_size=s3.part_size,
            max_connections=s3.max_connections,
        )
    )


def blob_redirect_seconds(settings: Settings) -> int | None:
    """Lifetime of the presigned URLs blob GETs redirect to; None to serve blobs ourselves."""
    s3 = settings.storage.s3
    return s3.presign_expiry if settings.storage.driver == "s3" and s3.redirect else None


def build_rate_limiter(settings: Settings, db: Database) -> RateLimiter | None:
    """The pull rate limiter, when enabled."""
    limits = settings.rate_limit
    if not limits.enabled:
        return None
    return RateLimiter(
        RateLimitStore(db),
        window=limits.window_seconds,
        anonymous_limit=limits.anonymous_pulls,
        authenticated_limit=limits.authenticated_pulls,
        sync_interval=limits.sync_seconds,
    )


def build_hookshot(settings: Settings, db: Database) -> Hookshot | None:
    """The webhook delivery worker, unless webhooks or delivery on this node are off."""
    hooks = settings.webhooks
    if not (hooks.enabled and hooks.deliver):
        return None
    policy = DeliveryPolicy(
        timeout=hooks.timeout,
        backoff=tuple(hooks.backoff),
        max_attempts=hooks.max_attempts,
        lease_seconds=hooks.lease_seconds,
        batch_size=hooks.batch_size,
        max_response_bytes=hooks.max_response_bytes,
        poll_interval=hooks.poll_interval,
        history_days=hooks.history_days,
    )
    return Hookshot(WebhookStore(db), policy)


def build_heap_trimmer() -> HeapTrimmer | None:
    """The background task that gives freed heap memory back to the system (glibc only)."""
    allocator = GlibcAllocator.load()
    return HeapTrimmer(allocator) if allocator is not None else None


def build_auth(settings: Settings, db: Database) -> AuthServices:
    """The token authority and authentication services."""
    hub_store = HubStore(db)
    key = keys.load_or_create(settings.signing_key_path)
    authority = TokenAuthority(key, settings.auth.issuer, settings.auth.token_ttl)
    authenticator = Authenticator(
        hub_store,
        ThrottleLimits(
            per_account=settings.auth.max_failures_per_account,
            per_address=settings.auth.max_failures_per_address,
            window_seconds=settings.auth.failure_window_seconds,
        ),
    )
    tokens = TokenService(
        hub_store,
        authenticator,
        authority,
        service=settings.auth.service,
        refresh_days=settings.auth.refresh_token_days,
    )
    return AuthServices(
        enabled=settings.auth.enabled,
        service=settings.auth.service,
        store=hub_store,
        authenticator=authenticator,
        tokens=tokens,
    )


def build_web_ui(
    settings: Settings, db: Database, storage: StorageDriver, hub: HubServices, auth: AuthServices
) -> WebUi:
    """The web pages' services: images and layer files, profiles, templates, sessions."""
    images = ImageService(hub.tags, RegistryStore(db), storage, LayerIndex(storage))
    return WebUi.build(
        auth.tokens.authority.key,
        WebSessionStore(db),
        images,
        ProfileService(ProfileStore(db)),
        open_signup=settings.auth.open_signup,
    )


def create_app(settings: Settings, *, run_migrations: bool = True) -> Starlette:
    """Build the ASGI application for ``settings``."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if run_migrations:
            from dockyard.metadata import migrate  # Alembic loads only where it runs

            await anyio.to_thread.run_sync(migrate.upgrade, settings.resolved_database_url)
        db = Database(settings.resolved_database_url)
        storage = build_storage(settings)
        store = RegistryStore(db, default_private=settings.auth.default_private)
        app.state.auth = build_auth(settings, db)
        app.state.hub = HubServices.build(
            app.state.auth.store,
            app.state.auth.tokens.grants,
            open_signup=settings.auth.open_signup,
            webhooks_enabled=settings.webhooks.enabled,
            max_webhooks_per_repository=settings.webhooks.max_per_repository,
            storage=storage,
        )
        app.state.settings = settings
        app.state.db = db
        app.state.storage = storage
        app.state.registry = RegistryServices.build(
            store,
            storage,
            delete_enabled=settings.registry.delete_enabled,
            max_manifest_bytes=settings.registry.max_manifest_bytes,
            max_page_size=settings.registry.max_page_size,
            manifest_cache_seconds=settings.registry.manifest_cache_seconds,
            blob_redirect_seconds=blob_redirect_seconds(settings),
        )
        app.state.ui = build_web_ui(settings, db, storage, app.state.hub, app.state.auth)
        app.state.rate_limiter = build_rate_limiter(settings, db)
        app.state.registry.pulls.start()
        if app.state.rate_limiter is not None:
            app.state.rate_limiter.start()
        app.state.hookshot = build_hookshot(settings, db)
        if app.state.hookshot is not None:
            app.state.hub.webhooks.notify = app.state.hookshot.wake
            app.state.hookshot.start()
        app.state.heap_trimmer = build_heap_trimmer()
        if app.state.heap_trimmer is not None:
            app.state.heap_trimmer.start()
        try:
            yield
        finally:
            if app.state.heap_trimmer is not None:
                await app.state.heap_trimmer.stop()
            if app.state.hookshot is not None:
                await app.state.hookshot.stop()
            if app.state.rate_limiter is not None:
                await app.state.rate_limiter.stop()
            await app.state.registry.pulls.stop()
            await storage.close()
            await db.close()

    app = Starlette(
        routes=[*HEALTH_ROUTES, *TOKEN_ROUTES, *API_ROUTES, *V2_ROUTES, *UI_ROUTES],
        middleware=[Middleware(RegistryHeaders), Middleware(RefuseNul)],
        exception_handlers={
            RegistryError: registry_error_handler,
            AccessRefused: access_refused_handler,
            ApiError: api_error_handler,
            HubError: hub_error_handler,
            AuthError: auth_error_handler,
            HTTPException: page_errors.http_error_handler,
            Exception: page_errors.unexpected_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.trusted_proxies = tuple(settings.trusted_proxies)
    return app


def create_app_from_env() -> Starlette:
    """Factory for server worker processes: settings come from :data:`SETTINGS_ENV`."""
    data = json.loads(os.environ[SETTINGS_ENV])
    settings = Settings.model_validate(data)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    return create_app(settings, run_migrations=False)
