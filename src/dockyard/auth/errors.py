"""Errors of authentication and authorization."""

from __future__ import annotations


class AuthError(Exception):
    """Base class of authentication errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidCredentials(AuthError):
    """Wrong username, password or access token (deliberately not saying which)."""


class Throttled(AuthError):
    """Too many failed logins; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidRequest(AuthError):
    """A malformed token request (bad scope, unknown grant type, wrong service)."""
