"""One typed settings object: defaults < TOML file < ``DOCKYARD_*`` environment < CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class S3StorageSettings(BaseModel):
    """The S3 driver (``storage.driver = "s3"``): AWS S3, MinIO, Ceph RGW or any S3 API."""

    #: Bucket holding every object (it must exist).
    bucket: str = ""
    #: Endpoint of an S3-compatible service, e.g. ``http://minio:9000``; unset for AWS.
    endpoint_url: str | None = None
    #: Region requests are signed for; unset: from the AWS configuration, else us-east-1.
    region: str | None = None
    #: Static credentials; unset: the standard AWS chain (AWS_ACCESS_KEY_ID/..., ~/.aws,
    #: instance or pod role).
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    #: Prefix of every key (``dockyard/`` puts blobs at ``dockyard/blobs/...``); shares a bucket.
    prefix: str = ""
    #: ``path`` (``endpoint/bucket/key``), ``virtual`` (``bucket.endpoint/key``) or ``auto``
    #: (path-style with an endpoint_url, virtual-hosted on AWS).
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    #: Answer blob GETs with a 307 redirect to a presigned S3 URL instead of streaming the
    #: bytes through Dockyard (clients must be able to reach the endpoint).
    redirect: bool = False
    #: Lifetime of presigned URLs, in seconds.
    presign_expiry: int = Field(default=1200, ge=60, le=604800)
    #: Endpoint written into presigned URLs when clients reach S3 by another address than
    #: Dockyard does (default: endpoint_url).
    public_endpoint_url: str | None = None
    #: Size of the objects uploads are cut into, in bytes (5 MiB to 1 GiB). A PATCH in
    #: progress holds up to about three times this in memory; a blob may have at most
    #: 10,000 of them (about 78 GiB at the default).
    part_size: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024, le=1024 * 1024 * 1024)
    #: Connections to S3 kept open (and S3 requests in flight) per server process.
    max_connections: int = Field(default=32, ge=1, le=1024)

    @field_validator(
        "endpoint_url",
        "region",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "public_endpoint_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_serializer("secret_access_key", "session_token", when_used="json")
    def _reveal(self, value: SecretStr | None) -> str | None:
        # JSON is how `dockyard serve` hands settings to its worker processes; repr and
        # logs still show "**********".
        return value.get_secret_value() if value is not None else None

    @model_validator(mode="after")
    def _check(self) -> S3StorageSettings:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("storage.s3: set both access_key_id and secret_access_key, or neither")
        if self.prefix and (self.prefix.startswith("/") or not self.prefix.endswith("/")):
            raise ValueError("storage.s3.prefix must end with '/' and not start with one")
        return self


class StorageSettings(BaseModel):
    """Where blobs live."""

    driver: Literal["filesystem", "memory", "s3"] = "filesystem"
    #: Root directory of the filesystem driver (default: ``<data_dir>/storage``).
    root: Path | None = None
    #: fsync blob data and directories before a blob becomes visible.
    fsync: bool = True
    #: Settings of the S3 driver.
    s3: S3StorageSettings = S3StorageSettings()

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> StorageSettings:
        if self.driver == "s3" and len(self.s3.bucket) < 3:
            raise ValueError("storage.driver = 's3' needs storage.s3.bucket")
        return self


class RegistrySettings(BaseModel):
    """Behaviour of the registry API."""

    #: Allow DELETE of manifests, tags and blobs (405 UNSUPPORTED when off).
    delete_enabled: bool = True
    #: Largest manifest accepted, in bytes (larger: 413).
    max_manifest_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    #: Most entries one page of tags or catalog returns.
    max_page_size: int = Field(default=10_000, ge=1)
    #: How long a node may serve a cached manifest lookup (0: no cache). Writes through the
    #: same node are seen at once; other nodes' writes within this many seconds.
    manifest_cache_seconds: float = Field(default=1.0, ge=0, le=60)


class AuthSettings(BaseModel):
    """Accounts, tokens and access control."""

    #: Require Docker token authentication on /v2/ (off: an open registry, anyone pushes).
    enabled: bool = True
    #: The ``service`` name in challenges and the token audience.
    service: str = "dockyard"
    #: Token issuer (``iss`` claim).
    issuer: str = "dockyard"
    #: Lifetime of registry and Hub tokens, in seconds (at least 60).
    token_ttl: int = Field(default=300, ge=60, le=86400)
    #: Lifetime of refresh (offline) tokens, in days.
    refresh_token_days: int = Field(default=90, ge=1)
    #: PEM file of the EC P-256 token signing key (default: <data_dir>/keys/token-signing.pem,
    #: created on first start). Nodes of one deployment must share it.
    signing_key_file: Path | None = None
    #: Anyone may sign up through the API and web pages (off: only admins create users).
    open_signup: bool = True
    #: Visibility of repositories created by a first push.
    default_private: bool = False
    #: Failed logins tolerated per account and per client address in one window.
    max_failures_per_account: int = Field(default=10, ge=1)
    max_failures_per_address: int = Field(default=50, ge=1)
    failure_window_seconds: int = Field(default=300, ge=1)


class RateLimitSettings(BaseModel):
    """Pull rate limits like Docker Hub's (off by default)."""

    enabled: bool = False
    #: Length of one counting window, in seconds (Docker Hub: 6 hours).
    window_seconds: int = Field(default=21600, ge=1)
    #: Manifest GETs allowed per window to one anonymous client address.
    anonymous_pulls: int = Field(default=100, ge=0)
    #: Manifest GETs allowed per window to one signed-in account.
    authenticated_pulls: int = Field(default=200, ge=0)
    #: How often each node shares its counts through the database, in seconds.
    sync_seconds: float = Field(default=1.0, gt=0, le=60)


class WebhookSettings(BaseModel):
    """Repository webhooks: events go to a durable outbox, a worker on each node delivers them."""

    #: Record push and tag_delete events for repositories' webhooks (off: no events recorded).
    enabled: bool = True
    #: Run the delivery worker on this node (off: this node only records events).
    deliver: bool = True
    #: How often the worker looks for due deliveries, in seconds (events of this node wake
    #: it at once).
    poll_interval: float = Field(default=2.0, gt=0, le=300)
    #: Timeout of one delivery request, in seconds.
    timeout: float = Field(default=10.0, gt=0, le=120)
    #: Seconds to wait before each retry; the last value repeats if max_attempts needs more.
    backoff: list[float] = Field(default=[10, 30, 120, 600, 3600], min_length=1)
    #: Attempts before a delivery is marked failed (the first try included).
    max_attempts: int = Field(default=6, ge=1, le=50)
    #: How long a claimed delivery is reserved for the node sending it; when the node dies,
    #: another one retries the delivery after this many seconds. Must exceed ``timeout``.
    lease_seconds: float = Field(default=60.0, gt=0)
    #: Deliveries claimed (and sent concurrently) at once by one node.
    batch_size: int = Field(default=20, ge=1, le=1000)
    #: Most bytes of a response body read (the rest is discarded unread).
    max_response_bytes: int = Field(default=64 * 1024, ge=0)
    #: Webhooks one repository may have.
    max_per_repository: int = Field(default=20, ge=1)
    #: Delivered and failed deliveries are deleted after this many days (0: kept forever).
    history_days: int = Field(default=30, ge=0)

    @model_validator(mode="after")
    def _lease_exceeds_timeout(self) -> WebhookSettings:
        if any(delay < 0 for delay in self.backoff):
            raise ValueError("webhooks.backoff delays must not be negative")
        if self.lease_seconds <= self.timeout:
            raise ValueError("webhooks.lease_seconds must exceed webhooks.timeout")
        return self


class Settings(BaseSettings):
    """Everything Dockyard can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="DOCKYARD_",
        env_nested_delimiter="__",
        extra="forbid",
        # Errors name the bad setting without echoing input (secret keys, database passwords).
        hide_input_in_errors=True,
    )

    host: str = "127.0.0.1"
    port: int = Field(default=5000, ge=0, le=65535)
    data_dir: Path = Path("data")
    #: SQLAlchemy URL of the metadata database (default: SQLite in the data directory).
    database_url: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    workers: int = Field(default=1, ge=1, le=64)
    #: Addresses or networks of reverse proxies whose X-Forwarded-For/-Proto/-Host are believed.
    trusted_proxies: list[IPvAnyNetwork] = []
    storage: StorageSettings = StorageSettings()
    registry: RegistrySettings = RegistrySettings()
    auth: AuthSettings = AuthSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    webhooks: WebhookSettings = WebhookSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = _TOML_FILE.get("path")
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite`` in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dockyard.db').resolve()}"

    @property
    def signing_key_path(self) -> Path:
        """Where the token signing key lives."""
        return self.auth.signing_key_file or self.data_dir / "keys" / "token-signing.pem"

    @property
    def storage_root(self) -> Path:
        """Root of the filesystem storage driver."""
        return self.storage.root or self.data_dir / "storage"


_TOML_FILE: dict[str, Path | None] = {}


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from ``config_file`` (TOML), the environment and ``overrides``."""
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"config file {config_file} does not exist")
    _TOML_FILE["path"] = config_file
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    finally:
        _TOML_FILE.pop("path", None)
