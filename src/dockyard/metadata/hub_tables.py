"""Tables of the Hub: users, organizations, teams, permissions, access tokens, web sessions,
audit log."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

from dockyard.metadata.tables import metadata

#: Users and organizations share one space of names; this table makes names unique.
namespaces = Table(
    "namespaces",
    metadata,
    Column("name", String(255), primary_key=True),
    #: "user" or "organization".
    Column("kind", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(255), ForeignKey("namespaces.name"), nullable=False, unique=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("full_name", String(255), nullable=False, server_default=""),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, server_default=false()),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), ForeignKey("namespaces.name"), nullable=False, unique=True),
    Column("full_name", String(255), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

organization_members = Table(
    "organization_members",
    metadata,
    Column(
        "organization_id",
        Integer,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    #: "owner" or "member".
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_organization_members_user_id", organization_members.c.user_id)

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "organization_id",
        Integer,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(255), nullable=False),
    Column("description", String(255), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("organization_id", "name", name="uq_teams_organization_id_name"),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)
Index("ix_team_members_user_id", team_members.c.user_id)

team_permissions = Table(
    "team_permissions",
    metadata,
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    #: "read", "write" or "admin".
    Column("permission", String(16), nullable=False),
)
Index("ix_team_permissions_repository_id", team_permissions.c.repository_id)

#: Collaborators of a personal repository (a user's namespace): like a team's permission, for
#: one user. The Hub service only adds rows for repositories in a user's namespace.
repository_collaborators = Table(
    "repository_collaborators",
    metadata,
    Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    #: "read", "write" or "admin".
    Column("permission", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_repository_collaborators_user_id", repository_collaborators.c.user_id)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("label", String(100), nullable=False),
    #: sha256 of the secret; the secret itself is shown once and never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    #: Space-separated scopes: repo:read, repo:write, repo:delete, admin.
    Column("scopes", String(255), nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("last_used_ip", String(64), nullable=True),
)
Index("ix_access_tokens_user_id", access_tokens.c.user_id)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    #: The personal access token the refresh token was obtained with, if any.
    Column(
        "access_token_id",
        String(36),
        ForeignKey("access_tokens.id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False, server_default=false()),
)

#: Signed-in web sessions: the browser's cookie carries a random 256-bit token, the row only
#: its sha256. Deleting the row ends the session on every copy of the cookie.
web_sessions = Table(
    "web_sessions",
    metadata,
    #: sha256 (hex) of the session token.
    Column("id", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    #: Updated at most once a minute, with ``ip``.
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    #: Absolute end of the session (sign-in time plus the cookie's lifetime).
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("user_agent", String(256), nullable=False, server_default=""),
    #: The client address the session was last seen from.
    Column("ip", String(64), nullable=False, server_default=""),
)
Index("ix_web_sessions_user_id", web_sessions.c.user_id)
Index("ix_web_sessions_expires_at", web_sessions.c.expires_at)

audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(255), nullable=False, server_default=""),
    Column("actor_ip", String(64), nullable=False, server_default=""),
    Column("action", String(64), nullable=False),
    #: Namespace the event concerns (lets organization owners read their part).
    Column("namespace", String(255), nullable=False, server_default=""),
    Column("target", String(512), nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default="{}"),
)
Index("ix_audit_events_namespace_created", audit_events.c.namespace, audit_events.c.created_at)

login_throttle = Table(
    "login_throttle",
    metadata,
    #: "user:<name>" or "ip:<address>".
    Column("key", String(320), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
)

stars = Table(
    "stars",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_stars_repository_id", stars.c.repository_id)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(100), nullable=False),
    Column("url", String(2048), nullable=False),
    #: HMAC-SHA256 key for the signature header (it must be readable to sign).
    Column("secret", String(255), nullable=False),
    #: Space-separated events: push, tag_delete.
    Column("events", String(255), nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("created_by", String(255), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_webhooks_repository_id", webhooks.c.repository_id)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    #: pending, delivered or failed (gave up after the last retry).
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_attempt_at", DateTime(timezone=True), nullable=True),
    Column("response_code", Integer, nullable=True),
    Column("error", String(512), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
)
Index(
    "ix_webhook_deliveries_due", webhook_deliveries.c.status, webhook_deliveries.c.next_attempt_at
)
Index(
    "ix_webhook_deliveries_webhook",
    webhook_deliveries.c.webhook_id,
    webhook_deliveries.c.created_at,
)

rate_limit_counters = Table(
    "rate_limit_counters",
    metadata,
    #: "ip:<address>" or "user:<name>", with the window's start.
    Column("key", String(320), primary_key=True),
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("count", Integer, nullable=False),
)
