"""A daemonless registry client: login, pull, push, copy, save and load, against any registry.

It uses only :mod:`dockyard.oci` and HTTP, never the server's modules::

    from dockyard.client import Client

    with Client() as client:
        client.pull("127.0.0.1:5000/alice/app:1.0")
"""

from dockyard.client.api import Client, ImageRow
from dockyard.client.credentials import Credentials, DockerConfig
from dockyard.client.errors import (
    ClientError,
    CredentialsError,
    DiskFull,
    InvalidReference,
    NotFound,
    PermissionDenied,
    RegistryError,
    Unauthorized,
    Unreachable,
    Unsupported,
    VerificationFailed,
)
from dockyard.client.inspect import RemoteImage
from dockyard.client.load import Loaded
from dockyard.client.platforms import Platform, host_platform
from dockyard.client.progress import BarReporter, LineReporter, QuietReporter, reporter_for
from dockyard.client.reference import Reference, parse_reference
from dockyard.client.registry import Registry, SearchResult
from dockyard.client.retry import RetryPolicy
from dockyard.client.store import ImageStore, default_home
from dockyard.client.transfer import PullResult

__all__ = [
    "BarReporter",
    "Client",
    "ClientError",
    "Credentials",
    "CredentialsError",
    "DiskFull",
    "DockerConfig",
    "ImageRow",
    "ImageStore",
    "InvalidReference",
    "LineReporter",
    "Loaded",
    "NotFound",
    "PermissionDenied",
    "Platform",
    "PullResult",
    "QuietReporter",
    "Reference",
    "Registry",
    "RegistryError",
    "RemoteImage",
    "RetryPolicy",
    "SearchResult",
    "Unauthorized",
    "Unreachable",
    "Unsupported",
    "VerificationFailed",
    "default_home",
    "host_platform",
    "parse_reference",
    "reporter_for",
]
