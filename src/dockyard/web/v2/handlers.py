"""Handlers of the ``/v2/`` endpoints: parse the request, call a service, shape the response."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.metadata.db import Transaction
from dockyard.oci.digest import is_digest
from dockyard.oci.names import official_name
from dockyard.registry.manifests import Page, PutResult
from dockyard.registry.validation import check_name
from dockyard.web.audit import record, record_in, visible_repositories
from dockyard.web.errors import API_VERSION_HEADER
from dockyard.web.hooks import emit, emit_in, wake
from dockyard.web.v2.access import (
    DELETE,
    PULL,
    PUSH,
    authorize,
    authorize_base,
    authorize_catalog,
    may,
)
from dockyard.web.v2.ratelimits import rate_limit
from dockyard.web.v2.requests import (
    accepted_types,
    body_chunks,
    chunk_range,
    content_length,
    has_body,
    repository_name,
    services,
)
from dockyard.web.v2.responses import blob_response, upload_headers


async def base(request: Request) -> Response:
    """``GET /v2/``: the API version check (and the login check of ``docker login``)."""
    await authorize_base(request)
    return JSONResponse({}, headers=API_VERSION_HEADER)


# --- blobs -------------------------------------------------------------------------------
async def blob(request: Request) -> Response:
    """``GET``/``HEAD``/``DELETE /v2/<name>/blobs/<digest>``."""
    name, digest = repository_name(request), request.path_params["digest"]
    registry = services(request)
    if request.method == "DELETE":
        claims = await authorize(request, check_name(name), DELETE)
        await registry.blobs.delete(name, digest)
        await record(request, claims, "blob.delete", name, {"digest": digest})
        return Response(status_code=202, headers={"Content-Length": "0"})
    await authorize(request, check_name(name), PULL)
    location = await registry.blobs.locate(name, digest)
    head = request.method == "HEAD"
    redirect = None if head else await registry.blobs.download_url(location)
    return blob_response(request, location, registry.blobs.storage, head=head, redirect=redirect)


# --- uploads -----------------------------------------------------------------------------
async def upload_start(request: Request) -> Response:
    """``POST /v2/<name>/blobs/uploads/``: start, monolithic, or mount."""
    name = repository_name(request)
    await authorize(request, check_name(name), PUSH)
    registry = services(request)
    params = request.query_params
    mount = params.get("mount")
    source = official_name(params["from"]) if params.get("from") else None
    if mount and source and await may(request, source, "pull"):
        mounted = await registry.blobs.mount(name, mount, source or "")
        if mounted is not None:
            return _created(name, str(mounted))
    digest = params.get("digest")
    if digest:
        stored = await registry.uploads.monolithic(
            name, digest, body_chunks(request), content_length(request)
        )
        return _created(name, str(stored))
    status = await registry.uploads.start(name)
    return Response(status_code=202, headers=upload_headers(status))


async def upload(request: Request) -> Response:
    """``GET``/``PATCH``/``PUT``/``DELETE /v2/<name>/blobs/uploads/<id>``."""
    name, upload_id = repository_name(request), request.path_params["upload_id"]
    await authorize(request, check_name(name), PUSH)
    uploads = services(request).uploads
    if request.method == "GET":
        status = await uploads.status(name, upload_id)
        return Response(status_code=204, headers=upload_headers(status))
    if request.method == "DELETE":
        await uploads.cancel(name, upload_id)
        return Response(status_code=204)
    if request.method == "PATCH":
        status = await uploads.append(
            name,
            upload_id,
            body_chunks(request),
            chunk_range=chunk_range(request),
            content_length=content_length(request),
        )
        return Response(status_code=202, headers=upload_headers(status))
    digest = request.query_params.get("digest") or ""
    body = body_chunks(request) if has_body(request) else None
    stored = await uploads.finish(
        name,
        upload_id,
        digest,
        body,
        chunk_range=chunk_range(request),
        content_length=content_length(request),
    )
    return _created(name, str(stored))


def _created(name: str, digest: str) -> Response:
    return Response(
        status_code=201,
        headers={
            "Location": f"/v2/{name}/blobs/{digest}",
            "Docker-Content-Digest": digest,
            "Content-Length": "0",
        },
    )


# --- manifests ---------------------------------------------------------------------------
async def manifest(request: Request) -> Response:
    """``GET``/``HEAD``/``PUT``/``DELETE /v2/<name>/manifests/<reference>``."""
    name, reference = repository_name(request), request.path_params["reference"]
    manifests = services(request).manifests
    if request.method == "PUT":
        claims = await authorize(request, check_name(name), PUSH)
        payload = await _read_limited(request, manifests.max_manifest_bytes)
        queued = 0

        def also(conn: Transaction, stored: PutResult) -> None:
            nonlocal queued
            detail = {"reference": reference, "digest": stored.digest}
            record_in(conn, request, claims, "push", name, detail)
            if not is_digest(reference):
                queued = emit_in(conn, request, claims, name, "push", reference)

        result = await manifests.put(
            name,
            reference,
            payload,
            request.headers.get("content-type"),
            pushed_by=claims.subject if claims else "",
            also=also,
        )
        if queued:
            wake(request)
        headers = {
            "Location": f"/v2/{name}/manifests/{result.digest}",
            "Docker-Content-Digest": result.digest,
            "Content-Length": "0",
        }
        if result.subject:
            headers["OCI-Subject"] = result.subject
        return Response(status_code=201, headers=headers)
    if request.method == "DELETE":
        claims = await authorize(request, check_name(name), DELETE)
        await manifests.delete(name, reference)
        await record(request, claims, "manifest.delete", name, {"reference": reference})
        if not is_digest(reference):
            await emit(request, claims, name, "tag_delete", reference)
        return Response(status_code=202, headers={"Content-Length": "0"})
    claims = await authorize(request, check_name(name), PULL)
    limits = rate_limit(request, claims)
    found = await manifests.get(
        name, reference, accepted_types(request), count_pull=request.method == "GET"
    )
    headers = {
        "Docker-Content-Digest": found.digest,
        "ETag": f'"{found.digest}"',
        "Content-Type": found.media_type,
        **limits,
    }
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(found.payload))
        return Response(status_code=200, headers=headers)
    return Response(found.payload, status_code=200, headers=headers)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, or as much of it as proves it exceeds ``limit``."""
    declared = content_length(request)
    if declared is not None and declared > limit:
        return b"\0" * (limit + 1)
    data = bytearray()
    async for chunk in body_chunks(request):
        data += chunk
        # Past the limit, or all that was declared: no need to wait for the body's end.
        if len(data) > limit or len(data) == declared:
            break
    return bytes(data)


# --- listings ----------------------------------------------------------------------------
async def tags_list(request: Request) -> Response:
    """``GET /v2/<name>/tags/list?n=&last=``."""
    name = repository_name(request)
    params = request.query_params
    await authorize(request, check_name(name), PULL)
    page = await services(request).manifests.tags(name, params.get("n"), params.get("last"))
    return _paged(
        {"name": name, "tags": page.items}, page, f"/v2/{name}/tags/list", params.get("n")
    )


async def catalog(request: Request) -> Response:
    """``GET /v2/_catalog?n=&last=``."""
    params = request.query_params
    claims = await authorize_catalog(request)
    visible = await visible_repositories(request, claims)
    page = await services(request).manifests.catalog(params.get("n"), params.get("last"), visible)
    return _paged({"repositories": page.items}, page, "/v2/_catalog", params.get("n"))


def _paged(body: dict[str, object], page: Page, path: str, n: str | None) -> Response:
    headers: dict[str, str] = {}
    if page.next_last is not None:
        query = {"last": page.next_last} if not n else {"n": n, "last": page.next_last}
        headers["Link"] = f'<{path}?{urlencode(query)}>; rel="next"'
    return JSONResponse(body, headers=headers)


# --- referrers ---------------------------------------------------------------------------
async def referrers(request: Request) -> Response:
    """``GET /v2/<name>/referrers/<digest>[?artifactType=]``."""
    name, digest = repository_name(request), request.path_params["digest"]
    artifact_type = request.query_params.get("artifactType")
    await authorize(request, check_name(name), PULL)
    index = await services(request).manifests.referrers(name, digest, artifact_type)
    headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
    if artifact_type:
        headers["OCI-Filters-Applied"] = "artifactType"
    return Response(json.dumps(index).encode(), status_code=200, headers=headers)
