"""Every Hub API route (Docker Hub's paths)."""

from __future__ import annotations

from starlette.routing import Route

from dockyard.web.api import (
    access_tokens,
    audit,
    collaborators,
    docs,
    orgs,
    repositories,
    search,
    stars,
    tags,
    users,
    webhooks,
)

ROUTES = [
    Route("/v2/users/signup", users.signup, methods=["POST"]),
    Route("/v2/users/login", users.login, methods=["POST"]),
    Route("/v2/auth/token", users.auth_token, methods=["POST"]),
    Route("/v2/user/", users.current_user, methods=["GET"]),
    Route("/v2/user/password", users.change_password, methods=["POST"]),
    Route("/v2/users/{username}/", users.user_profile, methods=["GET"]),
    Route("/v2/access-tokens", access_tokens.list_or_create, methods=["GET", "POST"]),
    Route("/v2/access-tokens/{uuid}", access_tokens.one, methods=["GET", "PATCH", "DELETE"]),
    Route("/v2/orgs/", orgs.create_org, methods=["POST"]),
    Route("/v2/orgs/{org}/", orgs.org, methods=["GET"]),
    Route("/v2/orgs/{org}/members", orgs.members, methods=["GET", "POST"]),
    Route("/v2/orgs/{org}/members/{username}", orgs.member, methods=["PUT", "DELETE"]),
    Route("/v2/orgs/{org}/groups", orgs.groups, methods=["GET", "POST"]),
    Route("/v2/orgs/{org}/groups/{group}", orgs.group, methods=["GET", "PATCH", "DELETE"]),
    Route("/v2/orgs/{org}/groups/{group}/members", orgs.group_members, methods=["GET", "POST"]),
    Route(
        "/v2/orgs/{org}/groups/{group}/members/{username}", orgs.group_member, methods=["DELETE"]
    ),
    Route("/v2/repositories/", repositories.create, methods=["POST"]),
    Route(
        "/v2/repositories/{namespace}/{repository}/",
        repositories.repository,
        methods=["GET", "PATCH", "DELETE"],
    ),
    Route(
        "/v2/repositories/{namespace}/{repository}/groups",
        repositories.groups,
        methods=["GET", "POST"],
    ),
    Route(
        "/v2/repositories/{namespace}/{repository}/groups/{group}",
        repositories.group,
        methods=["DELETE"],
    ),
    Route(
        "/v2/repositories/{namespace}/{repository}/collaborators",
        collaborators.collaborators,
        methods=["GET", "POST"],
    ),
    Route(
        "/v2/repositories/{namespace}/{repository}/collaborators/{username}",
        collaborators.collaborator,
        methods=["PUT", "DELETE"],
    ),
    Route(
        "/v2/repositories/{namespace}/{repository}/webhooks/",
        webhooks.webhooks,
        methods=["GET", "POST"],
    ),
    Route(
        "/v2/repositories/{namespace}/{repository}/webhooks/{webhook_id:int}/",
        webhooks.webhook,
        methods=["GET", "PATCH", "DELETE"],
    ),
    Route(
        "/v2/repositories/{namespace}/{repository}/webhooks/{webhook_id:int}/test/",
        webhooks.test,
        methods=["POST"],
    ),
    Route(
        "/v2/repositories/{namespace}/{repository}/webhooks/{webhook_id:int}/deliveries/",
        webhooks.deliveries,
        methods=["GET"],
    ),
    Route(
        "/v2/repositories/{namespace}/{repository}/webhooks/{webhook_id:int}/deliveries/"
        "{delivery_id}/",
        webhooks.delivery,
        methods=["GET"],
    ),
    Route("/v2/auditlogs/{account}/", audit.audit_logs, methods=["GET"]),
    # --- repository listings, tags, search and stars --------------------------------------
    Route("/v2/repositories/{namespace}/", repositories.namespace_repositories, methods=["GET"]),
    Route("/v2/namespaces/{namespace}/repositories/{repository}/tags", tags.tags, methods=["GET"]),
    Route(
        "/v2/namespaces/{namespace}/repositories/{repository}/tags/{tag}",
        tags.tag,
        methods=["GET", "DELETE"],
    ),
    Route("/v2/repositories/{namespace}/{repository}/tags/", tags.tags, methods=["GET"]),
    Route(
        "/v2/repositories/{namespace}/{repository}/tags/{tag}/",
        tags.tag,
        methods=["GET", "DELETE"],
    ),
    Route(
        "/v2/repositories/{namespace}/{repository}/stars/",
        stars.stars,
        methods=["POST", "DELETE"],
    ),
    Route("/v2/users/{username}/starred/", stars.starred, methods=["GET"]),
    Route("/v2/search/repositories", search.search_repositories, methods=["GET"]),
    Route("/v1/search", search.v1_search, methods=["GET"]),
    Route("/v1/_ping", search.v1_ping, methods=["GET"]),
    Route("/api/openapi.json", docs.openapi_json, methods=["GET"]),
    Route("/api/docs", docs.docs_page, methods=["GET"]),
]
