"""The client's errors: each one a single line a person can act on."""

from __future__ import annotations


class ClientError(Exception):
    """Base of every error the client raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidReference(ClientError):
    """The text is not an image reference docker would accept."""


class NotFound(ClientError):
    """The image, repository, tag or blob does not exist (remotely or locally)."""


class Unauthorized(ClientError):
    """The registry wants credentials we do not have, or refused the ones we sent."""


class PermissionDenied(ClientError):
    """The credentials are valid but do not allow this operation."""


class Unreachable(ClientError):
    """The registry could not be reached (DNS, refused connection, TLS, timeout)."""


class RegistryError(ClientError):
    """The registry answered with an error we cannot do anything about."""

    def __init__(self, message: str, status: int = 0, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """True for errors worth retrying: 5xx and 429."""
        return self.status >= 500 or self.status == 429


class Unsupported(RegistryError):
    """The registry does not support this operation (405, or ``UNSUPPORTED``)."""


class VerificationFailed(ClientError):
    """Content did not match its digest or size."""


class CredentialsError(ClientError):
    """A credential helper failed, or the docker config file is unusable."""


class DiskFull(ClientError):
    """No space left on the device holding the local image store or an output file."""


class BuildError(ClientError):
    """A Dockerfile or a build context ``dockyard build`` cannot build; names the line."""
