"""The OpenAPI 3.1 document of the Hub API, written by hand next to the handlers it describes.

``tests/functional/test_hub_openapi.py`` keeps it honest: every route of ``routes.py`` must be
documented with its methods, and a bounded schemathesis run checks that responses have the
documented status codes and bodies. Change a handler, change its entry here.
"""

from __future__ import annotations

from typing import Any

from dockyard import __version__

JSON = "application/json"
Schema = dict[str, Any]


# --- building blocks -------------------------------------------------------------------------
def ref(name: str) -> Schema:
    """A reference to a schema of ``components.schemas``."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str, **extra: Any) -> Schema:
    """A value of type ``kind`` or null."""
    return {"type": [kind, "null"], **extra}


def obj(required: list[str] | None = None, **properties: Schema) -> Schema:
    """An object with ``properties`` (more may appear), of which ``required`` must."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def page_of(item: str) -> Schema:
    """Docker Hub's ``{count, next, previous, results}`` page of ``item``."""
    return obj(
        ["count", "next", "previous", "results"],
        count={"type": "integer", "minimum": 0},
        next=nullable("string", description="URL of the next page"),
        previous=nullable("string", description="URL of the previous page"),
        results={"type": "array", "items": ref(item)},
    )


STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
INTEGER = {"type": "integer"}
TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = nullable("string", format="date-time")

NAME_COMPONENT = r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$"
ACCOUNT_NAME = r"^[a-z0-9]{4,30}$"
TEAM_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$"
TAG_NAME = r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$"


def path_param(name: str, description: str, schema: Schema, example: Any = None) -> Schema:
    """A path parameter."""
    param: Schema = {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }
    if example is not None:
        param["example"] = example
    return param


def query_param(name: str, description: str, schema: Schema) -> Schema:
    """An optional query parameter."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


NAMESPACE = path_param(
    "namespace",
    "A user's or organization's name (`library` for official images).",
    {"type": "string", "pattern": NAME_COMPONENT, "maxLength": 255},
    "alice",
)
REPOSITORY = path_param(
    "repository",
    "The repository's name within the namespace.",
    {"type": "string", "pattern": NAME_COMPONENT, "maxLength": 200},
    "app",
)
TAG = path_param("tag", "A tag of the repository.", {"type": "string", "pattern": TAG_NAME}, "v1")
USERNAME = path_param(
    "username", "A username.", {"type": "string", "pattern": ACCOUNT_NAME}, "alice"
)
ORG = path_param(
    "org", "An organization's name.", {"type": "string", "pattern": ACCOUNT_NAME}, "acmeco"
)
GROUP = path_param("group", "A team's name.", {"type": "string", "pattern": TEAM_NAME}, "devs")
PAGE = query_param(
    "page", "Page number, from 1.", {"type": "integer", "minimum": 1, "maximum": 1_000_000}
)
PAGE_SIZE = query_param(
    "page_size",
    "Results per page (larger values are treated as 100).",
    {"type": "integer", "minimum": 1, "maximum": 100},
)

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
#: Anonymous callers are welcome; a token shows what its user may see too.
OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]
PUBLIC: list[dict[str, list[str]]] = []


def error(description: str) -> Schema:
    """A documented error status with Docker Hub's error body."""
    return {"$ref": f"#/components/responses/{description}"}


def json_response(description: str, schema: Schema) -> Schema:
    """A JSON response."""
    return {"description": description, "content": {JSON: {"schema": schema}}}


def no_content(description: str) -> Schema:
    """A response without a body."""
    return {"description": description}


def body(schema: Schema, *, required: bool = True) -> Schema:
    """A JSON request body."""
    return {"required": required, "content": {JSON: {"schema": schema}}}


def operation(
    summary: str,
    tag: str,
    responses: dict[str, Schema],
    *,
    description: str = "",
    security: list[dict[str, list[str]]] | None = None,
    parameters: list[Schema] | None = None,
    request: Schema | None = None,
    errors: tuple[str, ...] = (),
) -> Schema:
    """One operation; ``errors`` names the error statuses it may answer with."""
    op: Schema = {"summary": summary, "tags": [tag]}
    if description:
        op["description"] = description
    op["security"] = BEARER if security is None else security
    if parameters:
        op["parameters"] = parameters
    if request is not None:
        op["requestBody"] = request
    everything = dict(responses)
    for status in errors:
        everything[status] = error(status)
    op["responses"] = everything
    return op


# --- schemas ---------------------------------------------------------------------------------
SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        ["message", "errinfo"],
        message={"type": "string", "description": "What went wrong, for people."},
        errinfo={"type": "object", "description": "Details for programs (`type`, `field`)."},
    ),
    "User": obj(
        ["id", "username", "full_name", "type", "date_joined"],
        id=STRING,
        username=STRING,
        full_name=STRING,
        type={"type": "string", "enum": ["User"]},
        date_joined=TIME,
        email={"type": "string", "description": "Only to the user themselves (and admins)."},
        is_admin={"type": "boolean", "description": "Only to the user themselves."},
        last_login={**MAYBE_TIME, "description": "Only to the user themselves."},
    ),
    "SignupRequest": obj(
        ["username", "email", "password"],
        username={"type": "string", "description": "4-30 lowercase letters and digits."},
        email=STRING,
        password={"type": "string", "description": "At least 8 characters."},
    ),
    "LoginRequest": obj(
        ["username", "password"],
        username=STRING,
        password={"type": "string", "description": "The password or a personal access token."},
    ),
    "LoginResponse": obj(["token"], token={"type": "string", "description": "A Hub JWT."}),
    "AuthTokenRequest": obj(
        ["identifier", "secret"],
        identifier={"type": "string", "description": "The username."},
        secret={"type": "string", "description": "A personal access token (or the password)."},
    ),
    "AuthTokenResponse": obj(["access_token"], access_token=STRING),
    "PasswordChange": obj(
        ["current_password", "new_password"], current_password=STRING, new_password=STRING
    ),
    "AccessToken": obj(
        [
            "uuid",
            "client_id",
            "created_at",
            "last_used",
            "generated_by",
            "is_active",
            "token",
            "token_label",
            "scopes",
            "expires_at",
            "username",
        ],
        uuid={"type": "string", "format": "uuid"},
        client_id=STRING,
        creator_ip=STRING,
        creator_ua=STRING,
        created_at=TIME,
        last_used=MAYBE_TIME,
        generated_by=STRING,
        is_active=BOOLEAN,
        token={"type": "string", "description": "The secret: only in the answer to creation."},
        token_label=STRING,
        scopes={"type": "array", "items": STRING},
        expires_at=MAYBE_TIME,
        username=STRING,
    ),
    "AccessTokenCreate": obj(
        ["token_label"],
        token_label={"type": "string", "description": "1-100 characters."},
        scopes={
            "type": "array",
            "items": {
                "type": "string",
                "enum": ["repo:read", "repo:write", "repo:delete", "admin"],
            },
            "description": 'Default `["repo:read"]`.',
        },
        expires_at={"type": "string", "format": "date-time"},
    ),
    "AccessTokenUpdate": obj(token_label=STRING, is_active=BOOLEAN),
    "OrgCreate": obj(["orgname"], orgname={"type": "string", "description": "Like a username."}),
    "Org": obj(
        ["orgname", "type"],
        orgname=STRING,
        type={"type": "string", "enum": ["Organization"]},
        role=nullable("string", enum=["owner", "member", None]),
    ),
    "Member": obj(["username"], username=STRING, role={"type": "string"}),
    "MemberAdd": obj(
        ["member"], member=STRING, role={"type": "string", "enum": ["owner", "member"]}
    ),
    "MemberRole": obj(["role"], role={"type": "string", "enum": ["owner", "member"]}),
    "Team": obj(
        ["id", "uuid", "name", "description", "organization"],
        id=INTEGER,
        uuid=STRING,
        name=STRING,
        description=STRING,
        member_count=nullable("integer"),
        organization=STRING,
    ),
    "TeamCreate": obj(["name"], name=STRING, description=STRING),
    "TeamUpdate": obj(name=STRING, description=STRING),
    "TeamMemberAdd": obj(["member"], member=STRING),
    "TeamPermission": obj(
        ["group_name", "permission"],
        group_name=STRING,
        permission={"type": "string", "enum": ["read", "write", "admin"]},
    ),
    "Collaborator": obj(
        ["user", "permission", "created_at"],
        user={"type": "string", "description": "The collaborator's username."},
        permission={"type": "string", "enum": ["read", "write", "admin"]},
        created_at=TIME,
    ),
    "CollaboratorAdd": obj(
        ["user"],
        user={"type": "string", "description": "The username of the user to add."},
        permission={
            "type": "string",
            "enum": ["read", "write", "admin"],
            "default": "write",
            "description": "read: pull; write: pull, push; admin: pull, push, delete, settings.",
        },
    ),
    "CollaboratorPermission": obj(
        ["permission"], permission={"type": "string", "enum": ["read", "write", "admin"]}
    ),
    "Repository": obj(
        [
            "user",
            "name",
            "namespace",
            "repository_type",
            "status",
            "status_description",
            "description",
            "is_private",
            "is_automated",
            "is_official",
            "star_count",
            "pull_count",
            "last_updated",
            "date_registered",
            "affiliation",
            "has_starred",
            "full_description",
            "permissions",
        ],
        user={"type": "string", "description": "The namespace."},
        name=STRING,
        namespace=STRING,
        repository_type={"type": "string", "enum": ["image"]},
        status={"type": "integer", "enum": [1]},
        status_description={"type": "string", "enum": ["active"]},
        description={"type": "string", "maxLength": 100},
        is_private=BOOLEAN,
        is_automated={"type": "boolean", "enum": [False]},
        is_official={"type": "boolean", "description": "In the `library` namespace."},
        star_count={"type": "integer", "minimum": 0},
        pull_count={"type": "integer", "minimum": 0},
        last_updated={**TIME, "description": "Last push (the creation time before one)."},
        date_registered=TIME,
        affiliation={
            "type": "string",
            "enum": ["owner", "member", "collaborator", ""],
            "description": "The caller's relation to the repository: owner, member (of the "
            "organization or one of its teams), collaborator (of a personal repository).",
        },
        has_starred={"type": "boolean", "description": "Whether the caller starred it."},
        full_description=STRING,
        permissions=obj(["read", "write", "admin"], read=BOOLEAN, write=BOOLEAN, admin=BOOLEAN),
    ),
    "RepositoryCreate": obj(
        ["namespace", "name"],
        namespace=STRING,
        name=STRING,
        is_private={"type": "boolean", "default": False},
        description={"type": "string", "maxLength": 100},
        full_description={"type": "string", "maxLength": 25000},
    ),
    "RepositoryUpdate": obj(
        is_private=BOOLEAN,
        description={"type": "string", "maxLength": 100},
        full_description={"type": "string", "maxLength": 25000},
    ),
    "Image": obj(
        ["architecture", "os", "variant", "digest", "size", "status", "last_pulled", "last_pushed"],
        architecture=nullable("string"),
        os=nullable("string"),
        variant=nullable("string"),
        digest=STRING,
        size={"type": "integer", "minimum": 0, "description": "Compressed size in bytes."},
        status={"type": "string", "enum": ["active"]},
        last_pulled=MAYBE_TIME,
        last_pushed=MAYBE_TIME,
    ),
    "Tag": obj(
        [
            "id",
            "repository",
            "name",
            "digest",
            "media_type",
            "content_type",
            "full_size",
            "v2",
            "last_updated",
            "last_updater_username",
            "tag_status",
            "tag_last_pulled",
            "tag_last_pushed",
            "images",
        ],
        id=INTEGER,
        repository=INTEGER,
        name=STRING,
        digest=STRING,
        media_type=STRING,
        content_type={"type": "string", "enum": ["image"]},
        full_size={
            "type": "integer",
            "description": "An image's size; for an index, its linux/amd64 image's.",
        },
        v2={"type": "boolean", "enum": [True]},
        last_updated=TIME,
        last_updater_username=STRING,
        tag_status={"type": "string", "enum": ["active"]},
        tag_last_pulled=MAYBE_TIME,
        tag_last_pushed=TIME,
        images={"type": "array", "items": ref("Image")},
    ),
    "SearchResult": obj(
        [
            "repo_name",
            "short_description",
            "star_count",
            "pull_count",
            "repo_owner",
            "is_official",
            "is_automated",
        ],
        repo_name={"type": "string", "description": "`ubuntu` for `library/ubuntu`."},
        short_description=STRING,
        star_count=INTEGER,
        pull_count=INTEGER,
        repo_owner=STRING,
        is_official=BOOLEAN,
        is_automated=BOOLEAN,
    ),
    "V1SearchResult": obj(
        ["name", "description", "star_count", "is_official", "is_automated"],
        name=STRING,
        description=STRING,
        star_count=INTEGER,
        pull_count=INTEGER,
        is_official=BOOLEAN,
        is_automated=BOOLEAN,
        is_trusted=BOOLEAN,
    ),
    "V1SearchResponse": obj(
        ["num_results", "query", "page", "page_size", "num_pages", "results"],
        num_results=INTEGER,
        query=STRING,
        page=INTEGER,
        page_size=INTEGER,
        num_pages=INTEGER,
        results={"type": "array", "items": ref("V1SearchResult")},
    ),
    "Webhook": obj(
        ["id", "name", "webhook_url", "events", "active", "created_by", "created_at"],
        id=INTEGER,
        name=STRING,
        webhook_url=STRING,
        events={"type": "array", "items": {"type": "string", "enum": ["push", "tag_delete"]}},
        active=BOOLEAN,
        created_by=STRING,
        created_at=TIME,
        secret={"type": "string", "description": "Only in the answer to creation."},
    ),
    "WebhookCreate": obj(
        ["name", "webhook_url"],
        name=STRING,
        webhook_url={"type": "string", "description": "An http:// or https:// URL."},
        events={"type": "array", "items": {"type": "string", "enum": ["push", "tag_delete"]}},
        secret={"type": "string", "description": "HMAC key (generated when left out)."},
    ),
    "WebhookUpdate": obj(
        name=STRING,
        webhook_url=STRING,
        events={"type": "array", "items": {"type": "string", "enum": ["push", "tag_delete"]}},
        active=BOOLEAN,
        secret=STRING,
    ),
    "Delivery": obj(
        [
            "id",
            "webhook_id",
            "event",
            "status",
            "attempts",
            "response_code",
            "error",
            "created_at",
            "last_attempt_at",
            "delivered_at",
            "next_attempt_at",
        ],
        id=STRING,
        webhook_id=INTEGER,
        event=STRING,
        status={"type": "string", "enum": ["pending", "delivered", "failed"]},
        attempts=INTEGER,
        response_code=nullable("integer"),
        error=STRING,
        created_at=TIME,
        last_attempt_at=MAYBE_TIME,
        delivered_at=MAYBE_TIME,
        next_attempt_at=MAYBE_TIME,
        payload={"type": "object", "description": "Only when one delivery is read."},
    ),
    "AuditEvent": obj(
        ["id", "account", "action", "name", "actor", "actor_ip", "data", "timestamp"],
        id=INTEGER,
        account=STRING,
        action=STRING,
        name=STRING,
        actor=STRING,
        actor_ip=STRING,
        data={"type": "object"},
        timestamp=TIME,
    ),
}
for _item in ("AccessToken", "Member", "Team", "TeamPermission", "Collaborator"):
    SCHEMAS[f"{_item}Page"] = page_of(_item)
for _item in ("Repository", "Tag"):
    SCHEMAS[f"{_item}Page"] = page_of(_item)
for _item in ("SearchResult", "Webhook", "Delivery", "AuditEvent"):
    SCHEMAS[f"{_item}Page"] = page_of(_item)

RESPONSES: dict[str, Schema] = {
    status: json_response(description, ref("Error"))
    for status, description in {
        "400": "The request is malformed or breaks a rule (see `message`).",
        "401": "No valid credentials (a missing, expired or revoked token, or a bad password).",
        "403": "The caller is known but may not do this.",
        "404": "Not found, or not visible to the caller (private repositories look missing).",
        "409": "The name is taken.",
        "413": "The request body is too large.",
        "429": "Too many failed logins; retry after `Retry-After` seconds.",
    }.items()
}

# --- operations ------------------------------------------------------------------------------
W = ("400", "401", "403", "404", "409", "413")  # what a write to an organization may answer
REPO = [NAMESPACE, REPOSITORY]


def _paths() -> dict[str, Schema]:
    repository = "/v2/repositories/{namespace}/{repository}"
    tag_list = {
        "get": operation(
            "List a repository's tags",
            "Tags",
            {"200": json_response("A page of tags, each with its images.", ref("TagPage"))},
            description=(
                "Each tag carries its images: an image manifest is one image; an index "
                "(manifest list) one image per child manifest the repository holds, with the "
                "platform its index entry declares (BuildKit attestations left out)."
            ),
            security=OPTIONAL_BEARER,
            parameters=[
                *REPO,
                PAGE,
                PAGE_SIZE,
                query_param(
                    "name", "Only tags whose name contains this (any case).", {"type": "string"}
                ),
                query_param(
                    "ordering",
                    "Sort order (default `-last_updated`: newest push first).",
                    {"type": "string", "enum": ["last_updated", "-last_updated", "name", "-name"]},
                ),
            ],
            errors=("400", "401", "404"),
        )
    }
    one_tag = {
        "get": operation(
            "Read one tag",
            "Tags",
            {"200": json_response("The tag.", ref("Tag"))},
            security=OPTIONAL_BEARER,
            parameters=[*REPO, TAG],
            errors=("401", "404"),
        ),
        "delete": operation(
            "Delete a tag",
            "Tags",
            {"204": no_content("Deleted; the manifest stays, reachable by digest.")},
            description="Needs write access. Recorded in the audit log; fires `tag_delete` "
            "webhooks.",
            parameters=[*REPO, TAG],
            errors=("401", "403", "404"),
        ),
    }
    return {
        # --- accounts ----------------------------------------------------------------------
        "/v2/users/signup": {
            "post": operation(
                "Sign up",
                "Accounts",
                {"201": json_response("The new account.", ref("User"))},
                description="Closed (403) when `auth.open_signup` is off.",
                security=PUBLIC,
                request=body(ref("SignupRequest")),
                errors=("400", "403", "409", "413"),
            )
        },
        "/v2/users/login": {
            "post": operation(
                "Log in: a Hub token for the API",
                "Accounts",
                {"200": json_response("A Hub token (send it as `Bearer`).", ref("LoginResponse"))},
                security=PUBLIC,
                request=body(ref("LoginRequest")),
                errors=("400", "401", "413", "429"),
            )
        },
        "/v2/auth/token": {
            "post": operation(
                "Exchange a personal access token for a Hub token",
                "Accounts",
                {"200": json_response("A Hub token.", ref("AuthTokenResponse"))},
                security=PUBLIC,
                request=body(ref("AuthTokenRequest")),
                errors=("400", "401", "413", "429"),
            )
        },
        "/v2/user/": {
            "get": operation(
                "The caller's own account",
                "Accounts",
                {"200": json_response("The account, with its private fields.", ref("User"))},
                errors=("401", "404"),
            )
        },
        "/v2/user/password": {
            "post": operation(
                "Change the caller's password",
                "Accounts",
                {"204": no_content("Changed.")},
                description="Needs a password login (not an access token).",
                request=body(ref("PasswordChange")),
                errors=("400", "401", "403", "404", "413"),
            )
        },
        "/v2/users/{username}/": {
            "get": operation(
                "A user's public profile",
                "Accounts",
                {"200": json_response("The profile (private fields to the user).", ref("User"))},
                security=OPTIONAL_BEARER,
                parameters=[USERNAME],
                errors=("401", "404"),
            )
        },
        "/v2/users/{username}/starred/": {
            "get": operation(
                "Repositories a user starred",
                "Stars",
                {"200": json_response("Newest star first.", ref("RepositoryPage"))},
                description="Only the repositories the caller may read.",
                security=OPTIONAL_BEARER,
                parameters=[USERNAME, PAGE, PAGE_SIZE],
                errors=("400", "401", "404"),
            )
        },
        # --- access tokens -----------------------------------------------------------------
        "/v2/access-tokens": {
            "get": operation(
                "List the caller's personal access tokens",
                "Access tokens",
                {"200": json_response("Newest first.", ref("AccessTokenPage"))},
                parameters=[PAGE, PAGE_SIZE],
                errors=("400", "401", "403"),
            ),
            "post": operation(
                "Create a personal access token",
                "Access tokens",
                {
                    "201": json_response(
                        "The token; `token` holds its secret, once.", ref("AccessToken")
                    )
                },
                request=body(ref("AccessTokenCreate")),
                errors=("400", "401", "403", "413"),
            ),
        },
        "/v2/access-tokens/{uuid}": {
            method: operation(
                summary,
                "Access tokens",
                responses,
                parameters=[
                    path_param("uuid", "The token's id.", {"type": "string", "format": "uuid"})
                ],
                request=request,
                errors=errors,
            )
            for method, summary, responses, request, errors in (
                (
                    "get",
                    "Read a token",
                    {"200": json_response("The token.", ref("AccessToken"))},
                    None,
                    ("401", "403", "404"),
                ),
                (
                    "patch",
                    "Rename, activate or deactivate a token",
                    {"200": json_response("The token.", ref("AccessToken"))},
                    body(ref("AccessTokenUpdate")),
                    ("400", "401", "403", "404", "413"),
                ),
                (
                    "delete",
                    "Delete a token",
                    {"204": no_content("Deleted.")},
                    None,
                    ("401", "403", "404"),
                ),
            )
        },
        # --- organizations -----------------------------------------------------------------
        "/v2/orgs/": {
            "post": operation(
                "Create an organization (the caller owns it)",
                "Organizations",
                {"201": json_response("Created.", ref("Org"))},
                request=body(ref("OrgCreate")),
                errors=W,
            )
        },
        "/v2/orgs/{org}/": {
            "get": operation(
                "Read an organization (its members only)",
                "Organizations",
                {"200": json_response("The organization and the caller's role.", ref("Org"))},
                parameters=[ORG],
                errors=("401", "404"),
            )
        },
        "/v2/orgs/{org}/members": {
            "get": operation(
                "List members",
                "Organizations",
                {"200": json_response("Every member.", ref("MemberPage"))},
                parameters=[ORG],
                errors=("401", "404"),
            ),
            "post": operation(
                "Add a member (owners only)",
                "Organizations",
                {"201": json_response("Added.", ref("Member"))},
                parameters=[ORG],
                request=body(ref("MemberAdd")),
                errors=W,
            ),
        },
        "/v2/orgs/{org}/members/{username}": {
            "put": operation(
                "Change a member's role (owners only)",
                "Organizations",
                {"200": json_response("Changed.", ref("Member"))},
                parameters=[ORG, USERNAME],
                request=body(ref("MemberRole")),
                errors=W,
            ),
            "delete": operation(
                "Remove a member (owners only)",
                "Organizations",
                {"204": no_content("Removed, from every team too.")},
                parameters=[ORG, USERNAME],
                errors=W,
            ),
        },
        "/v2/orgs/{org}/groups": {
            "get": operation(
                "List teams",
                "Organizations",
                {"200": json_response("Every team.", ref("TeamPage"))},
                parameters=[ORG],
                errors=("401", "404"),
            ),
            "post": operation(
                "Create a team (owners only)",
                "Organizations",
                {"201": json_response("Created.", ref("Team"))},
                parameters=[ORG],
                request=body(ref("TeamCreate")),
                errors=W,
            ),
        },
        "/v2/orgs/{org}/groups/{group}": {
            "get": operation(
                "Read a team",
                "Organizations",
                {"200": json_response("The team.", ref("Team"))},
                parameters=[ORG, GROUP],
                errors=("401", "404"),
            ),
            "patch": operation(
                "Rename a team or change its description (owners only)",
                "Organizations",
                {"200": json_response("The team.", ref("Team"))},
                parameters=[ORG, GROUP],
                request=body(ref("TeamUpdate")),
                errors=W,
            ),
            "delete": operation(
                "Delete a team (owners only)",
                "Organizations",
                {"204": no_content("Deleted, with its permissions.")},
                parameters=[ORG, GROUP],
                errors=W,
            ),
        },
        "/v2/orgs/{org}/groups/{group}/members": {
            "get": operation(
                "List a team's members",
                "Organizations",
                {"200": json_response("Every member.", ref("MemberPage"))},
                parameters=[ORG, GROUP],
                errors=("401", "404"),
            ),
            "post": operation(
                "Add a member to a team (owners only)",
                "Organizations",
                {"201": json_response("Added.", ref("Member"))},
                parameters=[ORG, GROUP],
                request=body(ref("TeamMemberAdd")),
                errors=W,
            ),
        },
        "/v2/orgs/{org}/groups/{group}/members/{username}": {
            "delete": operation(
                "Remove a member from a team (owners only)",
                "Organizations",
                {"204": no_content("Removed.")},
                parameters=[ORG, GROUP, USERNAME],
                errors=W,
            )
        },
        # --- repositories ------------------------------------------------------------------
        "/v2/repositories/": {
            "post": operation(
                "Create a repository",
                "Repositories",
                {"201": json_response("Created.", ref("Repository"))},
                description="Where the caller may push (a first push creates one too).",
                request=body(ref("RepositoryCreate")),
                errors=("400", "401", "403", "409", "413"),
            )
        },
        "/v2/repositories/{namespace}/": {
            "get": operation(
                "List a namespace's repositories",
                "Repositories",
                {"200": json_response("Those the caller may read.", ref("RepositoryPage"))},
                description="404 when no user or organization has the name and no "
                "repository the caller may read lives in it.",
                security=OPTIONAL_BEARER,
                parameters=[
                    NAMESPACE,
                    PAGE,
                    PAGE_SIZE,
                    query_param(
                        "name",
                        "Only repositories whose name contains this (any case).",
                        {"type": "string"},
                    ),
                    query_param(
                        "ordering",
                        "Sort order (default `name`).",
                        {
                            "type": "string",
                            "enum": [
                                "name",
                                "-name",
                                "last_updated",
                                "-last_updated",
                                "pull_count",
                                "-pull_count",
                            ],
                        },
                    ),
                ],
                errors=("400", "401", "404"),
            )
        },
        f"{repository}/": {
            "get": operation(
                "Read a repository",
                "Repositories",
                {"200": json_response("The repository.", ref("Repository"))},
                security=OPTIONAL_BEARER,
                parameters=REPO,
                errors=("401", "404"),
            ),
            "patch": operation(
                "Change visibility or descriptions (repository admins)",
                "Repositories",
                {"200": json_response("The repository.", ref("Repository"))},
                parameters=REPO,
                request=body(ref("RepositoryUpdate")),
                errors=("400", "401", "403", "404", "413"),
            ),
            "delete": operation(
                "Delete a repository (repository admins)",
                "Repositories",
                {"202": no_content("Deleted with its tags and manifests; blobs await GC.")},
                parameters=REPO,
                errors=("401", "403", "404"),
            ),
        },
        f"{repository}/groups": {
            "get": operation(
                "List team permissions on a repository",
                "Repositories",
                {"200": json_response("Every team permission.", ref("TeamPermissionPage"))},
                parameters=REPO,
                errors=("401", "403", "404"),
            ),
            "post": operation(
                "Give a team read, write or admin (organization owners)",
                "Repositories",
                {"201": json_response("Granted.", ref("TeamPermission"))},
                parameters=REPO,
                request=body(ref("TeamPermission")),
                errors=W,
            ),
        },
        f"{repository}/groups/{{group}}": {
            "delete": operation(
                "Withdraw a team's permission (organization owners)",
                "Repositories",
                {"204": no_content("Withdrawn.")},
                parameters=[*REPO, GROUP],
                errors=W,
            )
        },
        f"{repository}/collaborators": {
            "get": operation(
                "List the collaborators of a personal repository (its owner)",
                "Repositories",
                {"200": json_response("Every collaborator, by name.", ref("CollaboratorPage"))},
                description=COLLABORATORS,
                parameters=REPO,
                errors=("400", "401", "403", "404"),
            ),
            "post": operation(
                "Add a collaborator (the repository's owner)",
                "Repositories",
                {"201": json_response("Added.", ref("Collaborator"))},
                description="409 when the user is a collaborator already (`PUT` changes the "
                "permission). Recorded in the audit log (`repo.collaborator.add`).",
                parameters=REPO,
                request=body(ref("CollaboratorAdd")),
                errors=W,
            ),
        },
        f"{repository}/collaborators/{{username}}": {
            "put": operation(
                "Change a collaborator's permission (the repository's owner)",
                "Repositories",
                {"200": json_response("Changed.", ref("Collaborator"))},
                description="Recorded in the audit log (`repo.collaborator.change`).",
                parameters=[*REPO, USERNAME],
                request=body(ref("CollaboratorPermission")),
                errors=W,
            ),
            "delete": operation(
                "Remove a collaborator (the repository's owner)",
                "Repositories",
                {"204": no_content("Removed.")},
                description="Recorded in the audit log (`repo.collaborator.remove`).",
                parameters=[*REPO, USERNAME],
                errors=W,
            ),
        },
        "/v2/namespaces/{namespace}/repositories/{repository}/tags": tag_list,
        "/v2/namespaces/{namespace}/repositories/{repository}/tags/{tag}": one_tag,
        f"{repository}/tags/": tag_list,
        f"{repository}/tags/{{tag}}/": one_tag,
        f"{repository}/stars/": {
            "post": operation(
                "Star a repository",
                "Stars",
                {
                    "201": json_response("Starred.", ref("Repository")),
                    "200": json_response("Was starred already.", ref("Repository")),
                },
                parameters=REPO,
                errors=("401", "404"),
            ),
            "delete": operation(
                "Unstar a repository",
                "Stars",
                {"204": no_content("Not starred (any more).")},
                parameters=REPO,
                errors=("401", "404"),
            ),
        },
        # --- webhooks ----------------------------------------------------------------------
        f"{repository}/webhooks/": {
            "get": operation(
                "List a repository's webhooks (repository admins)",
                "Webhooks",
                {"200": json_response("Every webhook.", ref("WebhookPage"))},
                parameters=REPO,
                errors=("401", "403", "404"),
            ),
            "post": operation(
                "Create a webhook (repository admins)",
                "Webhooks",
                {"201": json_response("Created; `secret` shown once.", ref("Webhook"))},
                parameters=REPO,
                request=body(ref("WebhookCreate")),
                errors=W,
            ),
        },
        f"{repository}/webhooks/{{webhook_id}}/": {
            method: operation(
                summary,
                "Webhooks",
                responses,
                parameters=[*REPO, WEBHOOK_ID],
                request=request,
                errors=W,
            )
            for method, summary, responses, request in (
                (
                    "get",
                    "Read a webhook",
                    {"200": json_response("The webhook.", ref("Webhook"))},
                    None,
                ),
                (
                    "patch",
                    "Change a webhook",
                    {"200": json_response("The webhook.", ref("Webhook"))},
                    body(ref("WebhookUpdate")),
                ),
                ("delete", "Delete a webhook", {"204": no_content("Deleted.")}, None),
            )
        },
        f"{repository}/webhooks/{{webhook_id}}/test/": {
            "post": operation(
                "Send a test (ping) delivery",
                "Webhooks",
                {"202": json_response("Queued.", ref("Delivery"))},
                parameters=[*REPO, WEBHOOK_ID],
                errors=W,
            )
        },
        f"{repository}/webhooks/{{webhook_id}}/deliveries/": {
            "get": operation(
                "List a webhook's deliveries",
                "Webhooks",
                {"200": json_response("Newest first.", ref("DeliveryPage"))},
                parameters=[*REPO, WEBHOOK_ID, PAGE, PAGE_SIZE],
                errors=W,
            )
        },
        f"{repository}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}/": {
            "get": operation(
                "Read one delivery with its payload",
                "Webhooks",
                {"200": json_response("The delivery.", ref("Delivery"))},
                parameters=[
                    *REPO,
                    WEBHOOK_ID,
                    path_param("delivery_id", "A delivery's id.", {"type": "string"}),
                ],
                errors=W,
            )
        },
        # --- search ------------------------------------------------------------------------
        "/v2/search/repositories": {
            "get": operation(
                "Search repositories",
                "Search",
                {"200": json_response("Ranked results.", ref("SearchResultPage"))},
                description="Every word of `query` must appear in the name or a description "
                "(any case). Official images come first, then by stars, then by pulls. Only "
                "what the caller may read.",
                security=SEARCH_SECURITY,
                parameters=[
                    query_param(
                        "query", "Words to look for.", {"type": "string", "maxLength": 255}
                    ),
                    PAGE,
                    PAGE_SIZE,
                ],
                errors=("400", "401", "429"),
            )
        },
        "/v1/search": {
            "get": operation(
                "Search, as `docker search HOST/term` calls it",
                "Search",
                {"200": json_response("Ranked results.", ref("V1SearchResponse"))},
                description="Accepts what the Docker daemon sends: nothing, a registry token "
                "(after `docker login`), Basic credentials, or a Hub token.",
                security=SEARCH_SECURITY,
                parameters=[
                    query_param("q", "Words to look for.", {"type": "string", "maxLength": 255}),
                    query_param(
                        "n",
                        "Results per page (default 25, at most 100).",
                        {"type": "integer", "minimum": 1},
                    ),
                    PAGE,
                ],
                errors=("400", "401", "429"),
            )
        },
        "/v1/_ping": {
            "get": operation(
                "The Docker daemon's check before a search",
                "Search",
                {"200": json_response("A standalone index.", obj(standalone=BOOLEAN))},
                security=PUBLIC,
            )
        },
        # --- audit log ---------------------------------------------------------------------
        "/v2/auditlogs/{account}/": {
            "get": operation(
                "Read the audit log",
                "Audit log",
                {"200": json_response("Newest event first.", ref("AuditEventPage"))},
                description="Of a user (themselves), an organization (its owners) or, with "
                "`_all`, of everything (site administrators).",
                parameters=[
                    path_param(
                        "account",
                        "A username, an organization or `_all`.",
                        {"type": "string", "pattern": r"^(_all|[a-z0-9]{4,30})$"},
                        "alice",
                    ),
                    PAGE,
                    PAGE_SIZE,
                    query_param("action", "Only events of this action.", {"type": "string"}),
                ],
                errors=("400", "401", "403"),
            )
        },
        # --- this document -----------------------------------------------------------------
        "/api/openapi.json": {
            "get": operation(
                "This OpenAPI document",
                "Documentation",
                {"200": json_response("OpenAPI 3.1.", {"type": "object"})},
                security=PUBLIC,
            )
        },
        "/api/docs": {
            "get": operation(
                "This document as a web page",
                "Documentation",
                {
                    "200": {
                        "description": "HTML, with nothing loaded from elsewhere.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
                security=PUBLIC,
            )
        },
    }


COLLABORATORS = (
    "Collaborators share a repository of a user's namespace: `read` pulls, `write` pulls and "
    "pushes, `admin` also deletes and changes settings and webhooks. Only the owner (or a site "
    "administrator) manages them, with a password login or an `admin` access token. "
    "Organizations' repositories are shared with teams (`groups`) instead: 400."
)
WEBHOOK_ID = path_param("webhook_id", "A webhook's id.", {"type": "integer", "minimum": 0}, 1)
SEARCH_SECURITY: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}, {"basicAuth": []}]

TAGS = [
    {"name": "Accounts", "description": "Sign-up, login and profiles."},
    {"name": "Access tokens", "description": "Personal access tokens, for `docker login` too."},
    {"name": "Organizations", "description": "Organizations, members and teams (`groups`)."},
    {
        "name": "Repositories",
        "description": "Repositories, their settings, team access and collaborators.",
    },
    {"name": "Tags", "description": "Tags with their images."},
    {"name": "Stars", "description": "Starring repositories."},
    {"name": "Search", "description": "Search, also for `docker search`."},
    {"name": "Webhooks", "description": "Calls to your URLs on push and tag deletion."},
    {"name": "Audit log", "description": "Who did what, when, from where."},
    {"name": "Documentation", "description": "This document."},
]


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (built fresh: callers may change their copy)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dockyard Hub API",
            "version": __version__,
            "description": (
                "Docker Hub's REST API as Dockyard serves it: accounts, access tokens, "
                "organizations, repositories, tags, stars, search, webhooks and the audit log. "
                "Get a token with `POST /v2/users/login` and send it as "
                '`Authorization: Bearer <token>`. Errors are `{"message", "errinfo"}`. '
                "Lists are pages of `{count, next, previous, results}`."
            ),
        },
        "tags": TAGS,
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Hub token from `POST /v2/users/login`.",
                },
                "basicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "Username and password or access token (search only).",
                },
            },
        },
    }
