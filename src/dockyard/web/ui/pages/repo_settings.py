"""A repository's settings, for its administrators: descriptions, visibility, team
permissions (organizations) or collaborators (personal repositories), webhooks, deletion."""

from __future__ import annotations

from starlette.responses import Response

from dockyard.hub.catalog import RepositoryView
from dockyard.hub.collaborators import PERMISSIONS
from dockyard.hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dockyard.hub.webhooks import EVENTS
from dockyard.metadata.collaborator_store import CollaboratorRecord
from dockyard.metadata.hub_store import TeamRecord
from dockyard.oci.names import OFFICIAL_NAMESPACE
from dockyard.web.state import base_url, client_address, registry_services
from dockyard.web.ui.context import Visit
from dockyard.web.ui.errors import page
from dockyard.web.ui.pages.common import page_number, pager, repository_name
from dockyard.web.ui.urls import profile_url, settings_url


async def _administered(visit: Visit) -> tuple[str, RepositoryView]:
    """The repository if the visitor administers it (404 when invisible, 403 otherwise)."""
    name = repository_name(visit.request)
    record = await visit.hub.repositories.visible(visit.principal, name)
    view = await visit.hub.catalog.view(visit.principal, record)
    if "delete" not in view.actions:
        raise Forbidden(f"only administrators of {name} may change its settings")
    return name, view


@page
async def general(visit: Visit) -> Response:
    """``GET``/``POST .../settings``: descriptions and visibility."""
    if visit.principal is None:
        return visit.login_redirect()
    name, view = await _administered(visit)
    if visit.request.method == "GET":
        return visit.render("repo_settings.html", name=name, view=view, section="general")
    form = await visit.form()
    try:
        await visit.hub.repositories.update(
            visit.principal, name,
            description=form.get("description").strip(),
            full_description=form.get("full_description").replace("\r\n", "\n"),
            is_private=form.get("visibility") == "private",
            address=client_address(visit.request),
        )  # fmt: skip
    except ValidationFailed as exc:
        return visit.render(
            "repo_settings.html", status=400, name=name, view=view, section="general",
            error=exc.message,
        )  # fmt: skip
    return visit.redirect(settings_url(name), "Settings saved.")


@page
async def delete(visit: Visit) -> Response:
    """``POST .../settings/delete``: delete the repository (its name typed to confirm)."""
    if visit.principal is None:
        return visit.login_redirect()
    name, _view = await _administered(visit)
    form = await visit.form()
    if form.get("confirm").strip() != name:
        return visit.redirect(settings_url(name), f"Type {name} to confirm the deletion.", "error")
    await visit.hub.repositories.delete(
        visit.principal, name, address=client_address(visit.request)
    )
    registry_services(visit.request).manifests.cache.invalidate(name)
    return visit.redirect(profile_url(name.split("/", 1)[0]), f"Repository {name} deleted.")


@page
async def collaborators(visit: Visit) -> Response:
    """``GET``/``POST .../settings/collaborators``: team permissions (organizations) or
    collaborators (personal repositories)."""
    if visit.principal is None:
        return visit.login_redirect()
    name, view = await _administered(visit)
    namespace = name.split("/", 1)[0]
    record = await visit.ui.profiles.namespace(namespace)
    is_org = record is not None and record.kind == "organization"
    if record is not None and record.kind == "user" and namespace != OFFICIAL_NAMESPACE:
        return await _personal_collaborators(visit, name, view)
    error = ""
    status = 200
    if visit.request.method == "POST":
        form = await visit.form()
        team = form.get("team")
        try:
            if form.get("action") == "revoke":
                await visit.hub.orgs.revoke(
                    visit.principal, name, team, address=client_address(visit.request)
                )
                message = f"Team {team} no longer has access."
            else:
                permission = form.get("permission")
                await visit.hub.orgs.grant(
                    visit.principal, name, team, permission,
                    address=client_address(visit.request),
                )  # fmt: skip
                message = f"Team {team} now has {permission} access."
            return visit.redirect(settings_url(name, "collaborators"), message)
        except (ValidationFailed, NotFound, Conflict) as exc:
            error, status = exc.message, 400
    permissions: list[tuple[str, str]] = []
    teams: list[TeamRecord] = []
    may_manage = False
    if is_org:
        try:
            permissions = await visit.hub.orgs.permissions(visit.principal, name)
            teams = await visit.hub.orgs.teams(visit.principal, namespace)
            may_manage = True
        except Forbidden:
            may_manage = False
    return visit.render(
        "repo_collaborators.html", status=status, name=name, view=view,
        section="collaborators", is_org=is_org, permissions=permissions, teams=teams,
        may_manage=may_manage, error=error,
    )  # fmt: skip


async def _personal_collaborators(visit: Visit, name: str, view: RepositoryView) -> Response:
    """The collaborators of a personal repository: its owner (or a site admin) manages them."""
    principal = visit.principal
    assert principal is not None
    service = visit.hub.collaborators
    may_manage = principal.is_admin or principal.username == name.split("/", 1)[0]
    error = ""
    status = 200
    if visit.request.method == "POST":
        form = await visit.form()
        action = form.get("action", "add")
        username = form.get("username").strip().lower()
        permission = form.get("permission")
        address = client_address(visit.request)
        try:
            if action == "remove":
                await service.remove(principal, name, username, address=address)
                message = f"{username} is no longer a collaborator."
            elif action == "change":
                await service.change(principal, name, username, permission, address=address)
                message = f"{username} now has {permission} access."
            else:
                await service.add(principal, name, username, permission, address=address)
                message = f"{username} is now a collaborator with {permission} access."
            return visit.redirect(settings_url(name, "collaborators"), message)
        except (ValidationFailed, NotFound, Conflict) as exc:
            error, status = exc.message, 400
    listed: list[CollaboratorRecord] = []
    if may_manage:
        listed = await service.collaborators(principal, name)
    return visit.render(
        "repo_collaborators.html", status=status, name=name, view=view,
        section="collaborators", is_org=False, is_personal=True, collaborators=listed,
        choices=PERMISSIONS, may_manage=may_manage, error=error,
    )  # fmt: skip


@page
async def webhooks(visit: Visit) -> Response:
    """``GET``/``POST .../settings/webhooks``: list, add, test, (de)activate, delete."""
    if visit.principal is None:
        return visit.login_redirect()
    name, view = await _administered(visit)
    service = visit.hub.webhooks
    created_secret = ""
    error = ""
    status = 200
    if visit.request.method == "POST":
        form = await visit.form()
        action = form.get("action", "create")
        address = client_address(visit.request)
        try:
            hook_id = int(form.get("webhook_id") or 0)
            if action == "create":
                created = await service.create(
                    visit.principal, name, hook_name=form.get("name"),
                    url=form.get("url").strip(), events=form.all("events"), address=address,
                )  # fmt: skip
                created_secret = created.secret
                visit.session.flash(f"Webhook {created.record.name} added.")
            elif action == "test":
                await service.test(visit.principal, name, hook_id, base_url=base_url(visit.request))
                return visit.redirect(
                    settings_url(name, f"webhooks/{hook_id}"), "Test delivery queued."
                )
            elif action in ("activate", "deactivate"):
                await service.update(
                    visit.principal, name, hook_id, is_active=action == "activate",
                    address=address,
                )  # fmt: skip
                return visit.redirect(settings_url(name, "webhooks"), "Webhook updated.")
            elif action == "delete":
                await service.delete(visit.principal, name, hook_id, address=address)
                return visit.redirect(settings_url(name, "webhooks"), "Webhook deleted.")
        except ValueError:
            error, status = "unknown webhook", 400
        except (ValidationFailed, Conflict, NotFound) as exc:
            error, status = exc.message, 400
    hooks = await service.of_repository(visit.principal, name)
    return visit.render(
        "repo_webhooks.html", status=status, name=name, view=view, section="webhooks",
        hooks=hooks, events=EVENTS, created_secret=created_secret, error=error,
        enabled=service.enabled,
    )  # fmt: skip


@page
async def webhook_deliveries(visit: Visit) -> Response:
    """``.../settings/webhooks/{id}``: a webhook's delivery history."""
    if visit.principal is None:
        return visit.login_redirect()
    name, view = await _administered(visit)
    hook_id = int(visit.request.path_params["webhook_id"])
    hook = await visit.hub.webhooks.get(visit.principal, name, hook_id)
    number = page_number(visit.request)
    total, deliveries = await visit.hub.webhooks.deliveries(
        visit.principal, name, hook_id, page=number, page_size=25
    )
    return visit.render(
        "repo_webhook.html", name=name, view=view, section="webhooks", hook=hook,
        deliveries=deliveries, pager=pager(visit.request, total, number),
    )  # fmt: skip
