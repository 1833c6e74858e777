"""Errors of the Hub services; the Hub API maps each to a status and Docker Hub's error body."""

from __future__ import annotations


class HubError(Exception):
    """Base class: a refused Hub request with a human-readable message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(HubError):
    """Input breaks a rule (name format, password length, unknown scope)."""


class NotFound(HubError):
    """No such user, organization, team, repository or token (or not visible to the caller)."""


class Forbidden(HubError):
    """The caller is known but may not do this."""


class Conflict(HubError):
    """The name is taken."""


class SignupClosed(HubError):
    """Sign-up is closed by configuration; only administrators create users."""
