"""Metadata: the database that is the source of truth for repositories, tags and manifests."""
