"""A repository's page (README, pull command, tags), its tag and layer pages, stars."""

from __future__ import annotations

import logging

from starlette.responses import Response

from dockyard.hub.layers import browse, changes, summarize
from dockyard.web.state import base_url, client_address, registry_services
from dockyard.web.ui.context import Visit
from dockyard.web.ui.errors import page
from dockyard.web.ui.pages.common import page_number, pager, repository_name
from dockyard.web.ui.urls import repo_url, tag_url

log = logging.getLogger("dockyard.web.ui")

TAG_PAGE_SIZE = 25
TAG_ORDERINGS = {"-last_updated": "Newest", "name": "Name A-Z", "-name": "Name Z-A"}


@page
async def repository(visit: Visit) -> Response:
    """``/r/{namespace}/{repository}`` and ``/_/{repository}``."""
    name = repository_name(visit.request)
    record = await visit.hub.repositories.visible(visit.principal, name)
    view = await visit.hub.catalog.view(visit.principal, record)
    params = visit.request.query_params
    query = params.get("q", "").strip()[:128]
    ordering = params.get("ordering", "-last_updated")
    if ordering not in TAG_ORDERINGS:
        ordering = "-last_updated"
    number = page_number(visit.request)
    total, tags = await visit.hub.tags.list_tags(
        visit.principal, name, contains=query or None, ordering=ordering, page=number,
        page_size=TAG_PAGE_SIZE,
    )  # fmt: skip
    return visit.render(
        "repository.html",
        name=name,
        repo=record,
        view=view,
        tags=tags,
        tag_query=query,
        ordering=ordering,
        orderings=TAG_ORDERINGS,
        pager=pager(visit.request, total, number, TAG_PAGE_SIZE),
    )


@page
async def star(visit: Visit) -> Response:
    """``POST``: star (``action=star``) or unstar the repository."""
    name = repository_name(visit.request)
    if visit.principal is None:
        return visit.login_redirect()
    form = await visit.form()
    if form.get("action") == "unstar":
        await visit.hub.catalog.unstar(visit.principal, name)
    else:
        await visit.hub.catalog.star(visit.principal, name)
    return visit.redirect(repo_url(name))


@page
async def tag(visit: Visit) -> Response:
    """``.../tags/{tag}``: one platform image of a tag (``?platform=<digest>``)."""
    name = repository_name(visit.request)
    tag_name = visit.request.path_params["tag"]
    platform = visit.request.query_params.get("platform")
    details = await visit.ui.images.details(visit.principal, name, tag_name, platform)
    record = await visit.hub.repositories.visible(visit.principal, name)
    view = await visit.hub.catalog.view(visit.principal, record)
    return visit.render(
        "tag.html", name=name, repo=record, view=view, tag=tag_name, details=details
    )


@page
async def layer(visit: Visit) -> Response:
    """``.../tags/{tag}/layers/{digest}``: the files the layer adds, changes or deletes."""
    name = repository_name(visit.request)
    tag_name = visit.request.path_params["tag"]
    params = visit.request.query_params
    files = await visit.ui.images.layer_files(
        visit.principal, name, tag_name, params.get("platform"), visit.request.path_params["digest"]
    )
    found = changes(files.lower, files.listing)
    directory = params.get("path", "").strip("/")[:4096]
    entries = browse(found, directory)
    crumbs: list[tuple[str, str]] = []
    if directory:
        parts = directory.split("/")
        crumbs = [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]
    return visit.render(
        "layer.html",
        name=name,
        tag=tag_name,
        files=files,
        details=files.details,
        summary=summarize(found),
        entries=entries,
        directory=directory,
        crumbs=crumbs,
        lower_errors=[x for x in files.lower if x.error],
    )


@page
async def delete_tag(visit: Visit) -> Response:
    """``POST .../tags/{tag}/delete``."""
    name = repository_name(visit.request)
    tag_name = visit.request.path_params["tag"]
    if visit.principal is None:
        return visit.login_redirect()
    form = await visit.form()
    if form.get("confirm") != tag_name:
        visit.session.flash(f"Type the tag name ({tag_name}) to confirm.", "error")
        return visit.redirect(tag_url(name, tag_name))
    await visit.hub.tags.delete(
        visit.principal, name, tag_name, address=client_address(visit.request)
    )
    registry_services(visit.request).manifests.cache.invalidate(name)
    try:
        await visit.hub.webhooks.enqueue(
            name, "tag_delete", visit.principal.username, tag_name,
            base_url=base_url(visit.request),
        )  # fmt: skip
    except Exception:  # the tag is gone: a webhook failure is logged, not an error page
        log.exception("could not queue the tag_delete event of %s for its webhooks", name)
    return visit.redirect(repo_url(name), f"Tag {tag_name} deleted.")
