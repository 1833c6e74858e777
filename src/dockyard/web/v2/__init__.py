"""The OCI Distribution API under ``/v2/``."""
