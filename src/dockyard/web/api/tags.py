"""Tags of a repository, as Docker Hub lists them (with their images), and deleting one.

Served under both of Docker Hub's paths: ``/v2/namespaces/{ns}/repositories/{repo}/tags`` and
``/v2/repositories/{ns}/{repo}/tags/``.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.hub.tags import ImageView, TagView
from dockyard.web.api.common import caller, hub_services, iso, page_params, paginated
from dockyard.web.state import base_url, client_address, registry_services

log = logging.getLogger("dockyard.webhooks")


def image_json(image: ImageView) -> dict[str, object]:
    """One platform image of a tag."""
    return {
        "architecture": image.architecture,
        "os": image.os,
        "variant": image.variant,
        "digest": image.digest,
        "size": image.size,
        "status": "active",
        "last_pulled": iso(image.last_pulled),
        "last_pushed": iso(image.last_pushed),
    }


def tag_json(view: TagView) -> dict[str, object]:
    """A tag with the fields Docker Hub's API returns."""
    tag, manifest = view.tag, view.tag.manifest
    return {
        "id": tag.id,
        "repository": view.repository_id,
        "name": tag.name,
        "digest": manifest.digest,
        "media_type": manifest.media_type,
        "content_type": "image",
        "full_size": view.full_size,
        "v2": True,
        "last_updated": iso(tag.updated_at),
        "last_updater_username": tag.pushed_by,
        "tag_status": "active",
        "tag_last_pulled": iso(tag.last_pulled_at),
        "tag_last_pushed": iso(tag.updated_at),
        "images": [image_json(image) for image in view.images],
    }


def _name(request: Request) -> str:
    return f"{request.path_params['namespace']}/{request.path_params['repository']}"


async def tags(request: Request) -> Response:
    """``GET ...tags?page=&page_size=&name=&ordering=``: a page of tags."""
    page, size = page_params(request, 10)
    total, views = await hub_services(request).tags.list_tags(
        await caller(request, required=False),
        _name(request),
        contains=request.query_params.get("name") or None,
        ordering=request.query_params.get("ordering") or None,
        page=page,
        page_size=size,
    )
    return paginated(request, total, page, size, [tag_json(v) for v in views])


async def tag(request: Request) -> Response:
    """``GET`` or ``DELETE`` one tag (deleting needs write access to the repository)."""
    name, tag_name = _name(request), request.path_params["tag"]
    services = hub_services(request)
    if request.method != "DELETE":
        view = await services.tags.get(await caller(request, required=False), name, tag_name)
        return JSONResponse(tag_json(view))
    principal = await caller(request)
    assert principal is not None
    await services.tags.delete(principal, name, tag_name, address=client_address(request))
    registry_services(request).manifests.cache.invalidate(name)
    try:
        await services.webhooks.enqueue(
            name, "tag_delete", principal.username, tag_name, base_url=base_url(request)
        )
    except Exception:  # the tag is gone: a webhook failure is logged, not an error response
        log.exception("could not queue the tag_delete event of %s for its webhooks", name)
    return Response(status_code=204)
