"""Every web page's route (Docker-Hub-like URLs) and the static files."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from dockyard.web.ui.pages import account, auth, explore, orgs, profiles, repo_settings, repository

STATIC_DIR = Path(__file__).parent / "static"
GET_POST = ["GET", "POST"]


async def _settings(request: Request) -> Response:
    return RedirectResponse("/settings/general", status_code=303)


def _repository_routes(prefix: str) -> list[BaseRoute]:
    """The routes of a repository under ``prefix`` (``/r/{namespace}/{repository}`` or
    ``/_/{repository}``)."""
    return [
        Route(prefix, repository.repository, methods=["GET"]),
        Route(f"{prefix}/star", repository.star, methods=["POST"]),
        Route(f"{prefix}/tags/{{tag}}", repository.tag, methods=["GET"]),
        Route(f"{prefix}/tags/{{tag}}/delete", repository.delete_tag, methods=["POST"]),
        Route(f"{prefix}/tags/{{tag}}/layers/{{digest}}", repository.layer, methods=["GET"]),
        Route(f"{prefix}/settings", repo_settings.general, methods=GET_POST),
        Route(f"{prefix}/settings/delete", repo_settings.delete, methods=["POST"]),
        Route(f"{prefix}/settings/collaborators", repo_settings.collaborators, methods=GET_POST),
        Route(f"{prefix}/settings/webhooks", repo_settings.webhooks, methods=GET_POST),
        Route(
            f"{prefix}/settings/webhooks/{{webhook_id:int}}",
            repo_settings.webhook_deliveries,
            methods=["GET"],
        ),
    ]


ROUTES: list[BaseRoute] = [
    Route("/", explore.explore, methods=["GET"]),
    Route("/explore", explore.explore, methods=["GET"]),
    Route("/search", explore.explore, methods=["GET"]),
    Route("/signup", auth.signup, methods=GET_POST),
    Route("/login", auth.login, methods=GET_POST),
    Route("/logout", auth.logout, methods=["POST"]),
    Route("/u/{namespace}", profiles.profile, methods=["GET"]),
    *_repository_routes("/r/{namespace}/{repository}"),
    *_repository_routes("/_/{repository}"),
    Route("/repositories/new", account.new_repository, methods=GET_POST),
    Route("/settings", _settings, methods=["GET"]),
    Route("/settings/general", account.general, methods=GET_POST),
    Route("/settings/sessions", account.sessions, methods=GET_POST),
    Route("/settings/tokens", account.tokens, methods=GET_POST),
    Route("/settings/audit", account.audit, methods=["GET"]),
    Route("/orgs/new", orgs.create, methods=GET_POST),
    Route("/orgs/{org}/members", orgs.members, methods=GET_POST),
    Route("/orgs/{org}/teams", orgs.teams, methods=GET_POST),
    Route("/orgs/{org}/teams/{team}", orgs.team, methods=GET_POST),
    Route("/orgs/{org}/audit", orgs.audit, methods=["GET"]),
    Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
]
