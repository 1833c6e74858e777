"""Organizations: create one, its members, teams and team members, its audit log."""

from __future__ import annotations

from starlette.responses import Response

from dockyard.hub.errors import Conflict, NotFound, ValidationFailed
from dockyard.web.state import client_address
from dockyard.web.ui.context import Visit
from dockyard.web.ui.errors import page
from dockyard.web.ui.pages.common import page_number, pager


def _org(visit: Visit) -> str:
    org: str = visit.request.path_params["org"]
    return org


@page
async def create(visit: Visit) -> Response:
    """``GET``/``POST /orgs/new``."""
    if visit.principal is None:
        return visit.login_redirect()
    if visit.request.method == "GET":
        return visit.render("org_new.html", value="")
    form = await visit.form()
    name = form.get("name").strip()
    try:
        await visit.hub.orgs.create(visit.principal, name, address=client_address(visit.request))
    except (ValidationFailed, Conflict) as exc:
        return visit.render("org_new.html", status=400, value=name, error=exc.message)
    return visit.redirect(f"/orgs/{name}/members", f"Organization {name} created.")


@page
async def members(visit: Visit) -> Response:
    """``GET``/``POST /orgs/{org}/members``: add, change role, remove (owners)."""
    if visit.principal is None:
        return visit.login_redirect()
    org = _org(visit)
    error, status = "", 200
    if visit.request.method == "POST":
        form = await visit.form()
        username = form.get("username").strip().lower()
        address = client_address(visit.request)
        try:
            if form.get("action") == "remove":
                await visit.hub.orgs.remove_member(visit.principal, org, username, address=address)
                message = f"{username} removed."
            else:
                new_role = form.get("role", "member")
                await visit.hub.orgs.set_member(
                    visit.principal, org, username, new_role, address=address
                )
                message = f"{username} is now {new_role}."
            return visit.redirect(f"/orgs/{org}/members", message)
        except (ValidationFailed, NotFound, Conflict) as exc:
            error, status = exc.message, 400
    listed = await visit.hub.orgs.members(visit.principal, org)
    role = await visit.hub.orgs.role(visit.principal, org)
    return visit.render(
        "org_members.html", status=status, org=org, members=listed, role=role, error=error,
        section="members",
    )  # fmt: skip


@page
async def teams(visit: Visit) -> Response:
    """``GET``/``POST /orgs/{org}/teams``: the teams, and creating one (owners)."""
    if visit.principal is None:
        return visit.login_redirect()
    org = _org(visit)
    error, status = "", 200
    if visit.request.method == "POST":
        form = await visit.form()
        name = form.get("name").strip()
        try:
            await visit.hub.orgs.create_team(
                visit.principal, org, name, form.get("description").strip(),
                address=client_address(visit.request),
            )  # fmt: skip
            return visit.redirect(f"/orgs/{org}/teams/{name}", f"Team {name} created.")
        except (ValidationFailed, Conflict) as exc:
            error, status = exc.message, 400
    listed = await visit.hub.orgs.teams(visit.principal, org)
    role = await visit.hub.orgs.role(visit.principal, org)
    return visit.render(
        "org_teams.html", status=status, org=org, teams=listed, role=role, error=error,
        section="teams",
    )  # fmt: skip


@page
async def team(visit: Visit) -> Response:
    """``GET``/``POST /orgs/{org}/teams/{team}``: members (add, remove), delete the team."""
    if visit.principal is None:
        return visit.login_redirect()
    org = _org(visit)
    name = visit.request.path_params["team"]
    error, status = "", 200
    if visit.request.method == "POST":
        form = await visit.form()
        action = form.get("action")
        username = form.get("username").strip().lower()
        address = client_address(visit.request)
        try:
            if action == "delete_team":
                await visit.hub.orgs.delete_team(visit.principal, org, name, address=address)
                return visit.redirect(f"/orgs/{org}/teams", f"Team {name} deleted.")
            if action == "remove":
                await visit.hub.orgs.remove_team_member(
                    visit.principal, org, name, username, address=address
                )
                message = f"{username} removed from {name}."
            else:
                await visit.hub.orgs.add_team_member(
                    visit.principal, org, name, username, address=address
                )
                message = f"{username} added to {name}."
            return visit.redirect(f"/orgs/{org}/teams/{name}", message)
        except (ValidationFailed, NotFound, Conflict) as exc:
            error, status = exc.message, 400
    record = await visit.hub.orgs.team(visit.principal, org, name)
    listed = await visit.hub.orgs.team_members(visit.principal, org, name)
    role = await visit.hub.orgs.role(visit.principal, org)
    return visit.render(
        "org_team.html", status=status, org=org, team=record, members=listed, role=role,
        error=error, section="teams",
    )  # fmt: skip


@page
async def audit(visit: Visit) -> Response:
    """``/orgs/{org}/audit``: the organization's audit log (owners)."""
    if visit.principal is None:
        return visit.login_redirect()
    org = _org(visit)
    await visit.hub.orgs.members(visit.principal, org)  # 404 for non-members
    number = page_number(visit.request)
    total, events = await visit.hub.audit.events(visit.principal, org, page=number, page_size=50)
    role = await visit.hub.orgs.role(visit.principal, org)
    return visit.render(
        "org_audit.html", org=org, events=events, role=role, section="audit",
        pager=pager(visit.request, total, number, 50),
    )  # fmt: skip
