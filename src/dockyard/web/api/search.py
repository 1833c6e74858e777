"""Search: Docker Hub's ``/v2/search/repositories`` and the legacy ``/v1/search`` of
``docker search``.

``docker search HOST/term`` is run by the Docker daemon. After ``docker login`` (which stores a
refresh token as the ``identitytoken``) it pings ``/v1/_ping`` and ``/v2/``, answers the
challenge with ``POST /token`` (``scope=registry:catalog:search``) and sends
``Authorization: Bearer <registry token>``; over HTTPS with only a password stored it sends
Basic credentials; logged out, nothing. Every one of these is accepted here, as is a Hub token.
"""

from __future__ import annotations

import base64
import binascii
import math

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.policy import Principal
from dockyard.auth.tokens import InvalidToken
from dockyard.metadata.hub_store import RepositoryRecord
from dockyard.oci.names import OFFICIAL_NAMESPACE
from dockyard.web.api.common import (
    MAX_PAGE,
    MAX_PAGE_SIZE,
    ApiError,
    caller,
    hub_services,
    page_params,
    paginated,
)
from dockyard.web.state import auth_services, client_address

#: Results per page of ``/v1/search`` when ``n`` is not given (the Docker daemon sends 25).
V1_DEFAULT_PAGE_SIZE = 25


def display_name(record: RepositoryRecord) -> str:
    """``ubuntu`` for ``library/ubuntu`` (as Docker Hub shows official images), else the name."""
    namespace, _, rest = record.name.partition("/")
    return rest if namespace == OFFICIAL_NAMESPACE else record.name


def search_result_json(record: RepositoryRecord) -> dict[str, object]:
    """One result of ``/v2/search/repositories``."""
    return {
        "repo_name": display_name(record),
        "short_description": record.description,
        "star_count": record.star_count,
        "pull_count": record.pull_count,
        "repo_owner": record.namespace,
        "is_official": record.namespace == OFFICIAL_NAMESPACE,
        "is_automated": False,
    }


def v1_result_json(record: RepositoryRecord) -> dict[str, object]:
    """One result of ``/v1/search``, with the fields the docker CLI reads."""
    return {
        "name": display_name(record),
        "description": record.description,
        "star_count": record.star_count,
        "pull_count": record.pull_count,
        "is_official": record.namespace == OFFICIAL_NAMESPACE,
        "is_automated": False,
        "is_trusted": False,
    }


async def search_caller(request: Request) -> Principal | None:
    """The caller of a search: Hub or registry bearer token, Basic credentials, or anonymous."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if not header:
        return None
    auth = auth_services(request)
    if scheme == "basic":
        try:
            username, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(401, "malformed Basic credentials") from None
        return await auth.authenticator.authenticate(username, secret, client_address(request))
    if scheme == "bearer" and value and not value.startswith("dy_"):
        try:  # a registry token, as the Docker daemon sends after the token dance
            claims = auth.tokens.authority.verify(value, auth.service)
        except InvalidToken:
            return await caller(request)  # else it must be a Hub token
        if not claims.subject:
            return None
        principal = await auth.authenticator.principal(claims.subject, claims.pat_id)
        if principal is None:
            raise ApiError(401, "the account or access token behind this token is no longer valid")
        return principal
    return await caller(request)


async def search_repositories(request: Request) -> Response:
    """``GET /v2/search/repositories?query=&page=&page_size=``."""
    principal = await search_caller(request)
    page, size = page_params(request, 25)
    query = request.query_params.get("query", request.query_params.get("q", ""))
    total, records = await hub_services(request).catalog.search(
        principal, query, page=page, page_size=size
    )
    return paginated(request, total, page, size, [search_result_json(r) for r in records])


def _positive(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer", {"field": name}) from None
    if value < 1:
        raise ApiError(400, f"{name} must be positive", {"field": name})
    return value


async def v1_search(request: Request) -> Response:
    """``GET /v1/search?q=&n=&page=``: what ``docker search HOST/term`` calls."""
    principal = await search_caller(request)
    query = request.query_params.get("q", "")
    size = min(_positive(request, "n", V1_DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    page = _positive(request, "page", 1)
    if page > MAX_PAGE:
        raise ApiError(400, f"page must be at most {MAX_PAGE}", {"field": "page"})
    total, records = await hub_services(request).catalog.search(
        principal, query, page=page, page_size=size
    )
    return JSONResponse(
        {
            "num_results": total,
            "query": query,
            "page": page,
            "page_size": size,
            "num_pages": math.ceil(total / size),
            "results": [v1_result_json(r) for r in records],
        }
    )


async def v1_ping(request: Request) -> Response:
    """``GET /v1/_ping``: the Docker daemon's check before ``/v1/search`` (a standalone index)."""
    return JSONResponse(
        {"standalone": True},
        headers={"X-Docker-Registry-Standalone": "true", "X-Docker-Registry-Version": "0.6.0"},
    )
