"""``/v2/orgs``: organizations, members, teams (``groups``) and team members."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.policy import Principal
from dockyard.metadata.hub_store import TeamRecord
from dockyard.web.api.common import ApiError, caller, field, hub_services, json_body, single_page
from dockyard.web.state import client_address


async def _principal(request: Request) -> Principal:
    principal = await caller(request)
    assert principal is not None
    return principal


def team_json(team: TeamRecord) -> dict[str, object]:
    """A team as Docker Hub's ``groups`` endpoints show one."""
    return {"id": team.id, "uuid": str(team.id), "name": team.name, "description": team.description,
            "member_count": None, "organization": team.organization}  # fmt: skip


async def create_org(request: Request) -> Response:
    """``POST /v2/orgs/`` ``{orgname}``: the caller becomes its owner."""
    principal = await _principal(request)
    body = await json_body(request)
    name = field(body, "orgname", str) or field(body, "name", str)
    if not name:
        raise ApiError(400, "orgname is required", {"field": "orgname"})
    await hub_services(request).orgs.create(principal, name, address=client_address(request))
    return JSONResponse({"orgname": name, "type": "Organization"}, status_code=201)


async def org(request: Request) -> Response:
    """``GET /v2/orgs/{org}/``: visible to its members."""
    principal = await _principal(request)
    name = request.path_params["org"]
    role = await hub_services(request).orgs.role(principal, name)
    await hub_services(request).orgs.members(principal, name)  # NotFound unless a member
    return JSONResponse({"orgname": name, "type": "Organization", "role": role})


async def members(request: Request) -> Response:
    """``GET`` members, or ``POST`` ``{member, role}`` to add one."""
    principal = await _principal(request)
    name = request.path_params["org"]
    orgs = hub_services(request).orgs
    if request.method == "POST":
        body = await json_body(request)
        member = field(body, "member", str, required=True)
        await orgs.set_member(
            principal,
            name,
            member,
            field(body, "role", str, default="member"),
            address=client_address(request),
        )
        return JSONResponse(
            {"username": member, "role": field(body, "role", str, default="member")},
            status_code=201,
        )
    listed = await orgs.members(principal, name)
    results = [{"username": u, "role": r} for u, r in listed]
    return single_page(results)


async def member(request: Request) -> Response:
    """``PUT`` ``{role}`` or ``DELETE`` one member."""
    principal = await _principal(request)
    name, username = request.path_params["org"], request.path_params["username"]
    orgs = hub_services(request).orgs
    if request.method == "DELETE":
        await orgs.remove_member(principal, name, username, address=client_address(request))
        return Response(status_code=204)
    body = await json_body(request)
    role = field(body, "role", str, required=True)
    await orgs.set_member(principal, name, username, role, address=client_address(request))
    return JSONResponse({"username": username, "role": role})


async def groups(request: Request) -> Response:
    """``GET`` teams, or ``POST`` ``{name, description}`` to create one."""
    principal = await _principal(request)
    name = request.path_params["org"]
    orgs = hub_services(request).orgs
    if request.method == "POST":
        body = await json_body(request)
        team = await orgs.create_team(
            principal,
            name,
            field(body, "name", str, required=True),
            field(body, "description", str, default=""),
            address=client_address(request),
        )
        return JSONResponse(team_json(team), status_code=201)
    results = [team_json(t) for t in await orgs.teams(principal, name)]
    return single_page(results)


async def group(request: Request) -> Response:
    """``GET``, ``PATCH`` (``{name, description}``) or ``DELETE`` one team."""
    principal = await _principal(request)
    name, team = request.path_params["org"], request.path_params["group"]
    orgs = hub_services(request).orgs
    if request.method == "DELETE":
        await orgs.delete_team(principal, name, team, address=client_address(request))
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await json_body(request)
        record = await orgs.update_team(
            principal,
            name,
            team,
            name=field(body, "name", str),
            description=field(body, "description", str),
            address=client_address(request),
        )
    else:
        record = await orgs.team(principal, name, team)
    return JSONResponse(team_json(record))


async def group_members(request: Request) -> Response:
    """``GET`` a team's members, or ``POST`` ``{member}`` to add one."""
    principal = await _principal(request)
    name, team = request.path_params["org"], request.path_params["group"]
    orgs = hub_services(request).orgs
    if request.method == "POST":
        body = await json_body(request)
        username = field(body, "member", str, required=True)
        await orgs.add_team_member(principal, name, team, username, address=client_address(request))
        return JSONResponse({"username": username}, status_code=201)
    results = [{"username": u} for u in await orgs.team_members(principal, name, team)]
    return single_page(results)


async def group_member(request: Request) -> Response:
    """``DELETE`` one team member."""
    principal = await _principal(request)
    await hub_services(request).orgs.remove_team_member(
        principal,
        request.path_params["org"],
        request.path_params["group"],
        request.path_params["username"],
        address=client_address(request),
    )
    return Response(status_code=204)
