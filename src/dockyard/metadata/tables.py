"""SQLAlchemy Core tables. Schema changes are made by Alembic migrations (see ``migrations/``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

repositories = Table(
    "repositories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    #: First component of the name: the user's or organization's namespace.
    Column("namespace", String(255), nullable=False, server_default="", index=True),
    Column("is_private", Boolean, nullable=False, server_default=false()),
    Column("description", String(100), nullable=False, server_default=""),
    Column("full_description", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    #: Manifest GETs, counted in batches (HEAD requests do not count).
    Column("pull_count", BigInteger, nullable=False, server_default="0"),
    Column("star_count", Integer, nullable=False, server_default="0"),
    Column("last_pulled_at", DateTime(timezone=True), nullable=True),
    Column("last_pushed_at", DateTime(timezone=True), nullable=True),
)

blobs = Table(
    "blobs",
    metadata,
    Column("digest", String(150), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

repository_blobs = Table(
    "repository_blobs",
    metadata,
    Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("digest", String(150), ForeignKey("blobs.digest"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_repository_blobs_digest", repository_blobs.c.digest)

manifests = Table(
    "manifests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("digest", String(150), nullable=False),
    Column("media_type", String(255), nullable=False),
    Column("artifact_type", String(255), nullable=True),
    Column("subject_digest", String(150), nullable=True),
    Column("size", BigInteger, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    #: For image manifests: the config blob and the platform it declares.
    Column("config_digest", String(150), nullable=True),
    Column("os", String(64), nullable=True),
    Column("architecture", String(64), nullable=True),
    Column("variant", String(64), nullable=True),
    #: Compressed size: the manifest's config and layers (an index: its own size).
    Column("total_size", BigInteger, nullable=False, server_default="0"),
    Column("last_pulled_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("repository_id", "digest", name="uq_manifests_repository_id_digest"),
)
Index("ix_manifests_repository_subject", manifests.c.repository_id, manifests.c.subject_digest)

manifest_references = Table(
    "manifest_references",
    metadata,
    Column(
        "manifest_id",
        Integer,
        ForeignKey("manifests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("digest", String(150), primary_key=True),
    #: "blob" for a config or layer, "manifest" for a child of an index.
    Column("kind", String(16), primary_key=True),
)
Index("ix_manifest_references_digest", manifest_references.c.digest)

tags = Table(
    "tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(128), nullable=False),
    Column(
        "manifest_id",
        Integer,
        ForeignKey("manifests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    #: When the tag was last pointed at a manifest (pushed).
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("pushed_by", String(255), nullable=False, server_default=""),
    Column("last_pulled_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("repository_id", "name", name="uq_tags_repository_id_name"),
)
Index("ix_tags_manifest_id", tags.c.manifest_id)

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(64), primary_key=True),
    #: Repository name; the repository row is created when the first blob is linked.
    Column("repository", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
