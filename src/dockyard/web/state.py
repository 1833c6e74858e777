"""Typed access to the services the composition root puts on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address

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


def _is_trusted(request: Request, address: str) -> bool:
    networks: tuple[IPv4Network | IPv6Network, ...] = getattr(
        request.app.state, "trusted_proxies", ()
    )
    if not networks or not address:
        return False
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _from_trusted_proxy(request: Request) -> bool:
    return request.client is not None and _is_trusted(request, request.client.host)


def client_address(request: Request) -> str:
    """The client's address: the peer, or behind a trusted proxy the first untrusted hop
    of ``X-Forwarded-For`` (read from the right, so a client cannot forge it)."""
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded or not _from_trusted_proxy(request):
        return peer
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(request, hop):
            return hop[:64]
    return hops[0][:64] if hops else peer


def request_scheme(request: Request) -> str:
    """``http`` or ``https`` as the client used it (``X-Forwarded-Proto`` from a trusted proxy)."""
    if _from_trusted_proxy(request):
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            return proto
    return request.url.scheme


def request_host(request: Request) -> str:
    """``host[:port]`` the client used (``X-Forwarded-Host`` from a trusted proxy)."""
    if _from_trusted_proxy(request):
        forwarded = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"


def base_url(request: Request) -> str:
    """``scheme://host`` the client used to reach us."""
    return f"{request_scheme(request)}://{request_host(request)}"
