"""Typed access to the services the composition root puts on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from dockyard.auth.credentials import Authenticator
from dockyard.auth.service import TokenService
from dockyard.metadata.hub_store import HubStore
from dockyard.registry.service import RegistryServices


@dataclass(frozen=True, slots=True)
class AuthServices:
    """Everything authentication needs, or None on an open registry."""

    enabled: bool
    service: str
    store: HubStore
    authenticator: Authenticator
    tokens: TokenService


def auth_services(request: Request) -> AuthServices:
    """The authentication services of the running app."""
    services: AuthServices = request.app.state.auth
    return services


def registry_services(request: Request) -> RegistryServices:
    """The registry services of the running app."""
    registry: RegistryServices = request.app.state.registry
    return registry


def client_address(request: Request) -> str:
    """The client's address (as the server saw it)."""
    return request.client.host if request.client else ""


def base_url(request: Request) -> str:
    """``scheme://host`` the client used to reach us."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}"
