"""Dockyard: a self-hostable Docker Hub (OCI registry + the Hub around it)."""

__version__ = "0.1.0"
