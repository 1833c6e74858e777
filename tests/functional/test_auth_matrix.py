"""The authorization matrix: who may pull, push, delete, list and read referrers, where.

Every cell is one test. Each runs Docker's dance: the request without a token must answer 401
with a challenge naming the scope; the subject then gets a token for exactly that scope from
``/token`` and repeats the request. The tables below are the specification.

Repositories (each holds an image tagged ``stable``)::

    user-public   alice/public    alice's, public
    user-private  alice/private   alice's, private
    org-public    acme/public     organization acme's, public
    org-private   acme/private    organization acme's, private

    Teams of acme: readers (read), writers (write), admins (admin) on both acme repositories.
    Collaborators of alice: read, write and admin on both alice repositories.

Subjects::

    no-token          no Authorization header at all
    anonymous         a token from /token without credentials
    user-owner        alice (owns the user-* repositories)
    other-user        bob, no relation to anything
    team-read         a member of acme's readers team
    team-write        a member of acme's writers team
    team-admin        a member of acme's admins team
    org-member        a member of acme in no team
    org-owner         an owner of acme
    collab-read       alice's collaborator with read on both alice/* repositories
    collab-write      alice's collaborator with write on both
    collab-admin      alice's collaborator with admin on both
    site-admin        a site administrator
    pat-read ...      alice's personal access tokens with scope repo:read, repo:write,
    pat-admin         repo:delete, admin (used as the password at /token)
    pat-revoked       alice's token deactivated through the API (/token refuses it: 401)
    token-expired     a correctly signed token for everything, expired
    token-other-repo  alice's token for alice/other (a repository she owns, but another one)

Statuses: pull = manifest GET + blob GET; push = blob upload + manifest PUT; delete = manifest
DELETE by digest. 401 comes with a Bearer challenge, 403 is DENIED, 404 is NAME_UNKNOWN. A read
of a private repository that is refused must be indistinguishable from the same read of a
repository that does not exist (status, body and challenge, up to the name itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.testclient import TestClient

from dockyard.auth.scopes import Scope
from tests.support.auth import (
    SERVICE,
    SmallImage,
    auth_client,
    auth_settings,
    bearer,
    challenge,
    create_pat,
    create_user,
    forge_token,
    get_token,
    grant_team,
    hub_headers,
    hub_login,
    image_parts,
    make_org,
    make_repository,
    make_team,
    post_token,
    push_small_image,
    put_manifest,
    signing_key,
    upload_blob,
)
from tests.support.backends import AppBackend
from tests.support.oci import digest_of

OPS = ("pull", "push", "delete", "tags", "referrers")

REPOSITORIES = {
    "user-public": "alice/public",
    "user-private": "alice/private",
    "org-public": "acme/public",
    "org-private": "acme/private",
}
#: A repository that does not exist, in the same namespace, per target.
MISSING = {"alice": "alice/missing", "acme": "acme/missing"}

ALLOW = "200   201   202     200   200"

TABLES: dict[str, str] = {
    # subject           pull  push  delete  tags  referrers
    "user-public": f"""
    no-token            401   401   401     401   401
    anonymous           200   401   401     200   200
    user-owner          {ALLOW}
    other-user          200   403   403     200   200
    team-read           200   403   403     200   200
    team-write          200   403   403     200   200
    team-admin          200   403   403     200   200
    org-member          200   403   403     200   200
    org-owner           200   403   403     200   200
    collab-read         200   403   403     200   200
    collab-write        200   201   403     200   200
    collab-admin        {ALLOW}
    site-admin          {ALLOW}
    pat-read            200   403   403     200   200
    pat-write           200   201   403     200   200
    pat-delete          {ALLOW}
    pat-admin           {ALLOW}
    pat-revoked         401   401   401     401   401
    token-expired       401   401   401     401   401
    token-other-repo    401   401   401     401   401
    """,
    # subject           pull  push  delete  tags  referrers
    "user-private": f"""
    no-token            401   401   401     401   401
    anonymous           401   401   401     401   401
    user-owner          {ALLOW}
    other-user          404   403   403     404   404
    team-read           404   403   403     404   404
    team-write          404   403   403     404   404
    team-admin          404   403   403     404   404
    org-member          404   403   403     404   404
    org-owner           404   403   403     404   404
    collab-read         200   403   403     200   200
    collab-write        200   201   403     200   200
    collab-admin        {ALLOW}
    site-admin          {ALLOW}
    pat-read            200   403   403     200   200
    pat-write           200   201   403     200   200
    pat-delete          {ALLOW}
    pat-admin           {ALLOW}
    pat-revoked         401   401   401     401   401
    token-expired       401   401   401     401   401
    token-other-repo    401   401   401     401   401
    """,
    # subject           pull  push  delete  tags  referrers
    "org-public": f"""
    no-token            401   401   401     401   401
    anonymous           200   401   401     200   200
    user-owner          200   403   403     200   200
    other-user          200   403   403     200   200
    team-read           200   403   403     200   200
    team-write          200   201   403     200   200
    team-admin          {ALLOW}
    org-member          200   403   403     200   200
    org-owner           {ALLOW}
    collab-read         200   403   403     200   200
    collab-write        200   403   403     200   200
    collab-admin        200   403   403     200   200
    site-admin          {ALLOW}
    pat-read            200   403   403     200   200
    pat-write           200   403   403     200   200
    pat-delete          200   403   403     200   200
    pat-admin           200   403   403     200   200
    pat-revoked         401   401   401     401   401
    token-expired       401   401   401     401   401
    token-other-repo    401   403   403     401   401
    """,
    # subject           pull  push  delete  tags  referrers
    "org-private": f"""
    no-token            401   401   401     401   401
    anonymous           401   401   401     401   401
    user-owner          404   403   403     404   404
    other-user          404   403   403     404   404
    team-read           200   403   403     200   200
    team-write          200   201   403     200   200
    team-admin          {ALLOW}
    org-member          404   403   403     404   404
    org-owner           {ALLOW}
    collab-read         404   403   403     404   404
    collab-write        404   403   403     404   404
    collab-admin        404   403   403     404   404
    site-admin          {ALLOW}
    pat-read            404   403   403     404   404
    pat-write           404   403   403     404   404
    pat-delete          404   403   403     404   404
    pat-admin           404   403   403     404   404
    pat-revoked         401   401   401     401   401
    token-expired       401   401   401     401   401
    token-other-repo    404   403   403     404   404
    """,
}

#: What ``GET /v2/_catalog`` lists for each subject (``401``: refused).
CATALOG = """
    no-token            401
    anonymous           acme/public alice/public
    user-owner          acme/public alice/private alice/public
    other-user          acme/public alice/public
    team-read           acme/private acme/public alice/public
    team-write          acme/private acme/public alice/public
    team-admin          acme/private acme/public alice/public
    org-member          acme/public alice/public
    org-owner           acme/private acme/public alice/public
    collab-read         acme/public alice/private alice/public
    collab-write        acme/public alice/private alice/public
    collab-admin        acme/public alice/private alice/public
    site-admin          acme/private acme/public alice/private alice/public
    pat-read            acme/public alice/private alice/public
    pat-write           acme/public alice/private alice/public
    pat-delete          acme/public alice/private alice/public
    pat-admin           acme/public alice/private alice/public
    pat-revoked         401
    token-expired       401
    token-other-repo    401
"""


def _cells() -> list[tuple[str, str, str, int]]:
    cells = []
    for target, table in TABLES.items():
        for line in table.strip().splitlines():
            subject, *statuses = line.split()
            assert len(statuses) == len(OPS), line
            cells += [(target, subject, op, int(s)) for op, s in zip(OPS, statuses, strict=True)]
    return cells


def _catalog_rows() -> list[tuple[str, list[str] | None]]:
    rows: list[tuple[str, list[str] | None]] = []
    for line in CATALOG.strip().splitlines():
        subject, *listed = line.split()
        rows.append((subject, None if listed == ["401"] else listed))
    return rows


CELLS = _cells()
SUBJECTS = [line.split()[0] for line in TABLES["user-public"].strip().splitlines()]

PAT_SCOPES = {
    "pat-read": "repo:read",
    "pat-write": "repo:write",
    "pat-delete": "repo:delete",
    "pat-admin": "admin",
    "pat-revoked": "repo:delete",
}
#: Subjects logging in with a password (once, for a refresh token; later tokens come from it).
PASSWORD_USERS = {
    "user-owner": "alice",
    "other-user": "bob",
    "team-read": "reader",
    "team-write": "writer",
    "team-admin": "teamadmin",
    "org-member": "member",
    "org-owner": "orgboss",
    "collab-read": "collabread",
    "collab-write": "collabwrite",
    "collab-admin": "collabadmin",
    "site-admin": "siteadmin",
}


@dataclass
class World:
    """The app under test, its repositories and a way to get each subject's tokens."""

    client: TestClient
    images: dict[str, SmallImage]
    refresh_tokens: dict[str, str]
    pats: dict[str, str]
    expired_token: str
    other_repo_token: str
    admin_token: Callable[[str], str]
    counter: list[int] = field(default_factory=lambda: [0])

    def unique(self) -> str:
        """A fresh suffix for tags and image seeds."""
        self.counter[0] += 1
        return f"c{self.counter[0]}"

    def token(self, subject: str, scope: str) -> str | None:
        """The token ``subject`` gets for ``scope`` (None: none to be had)."""
        client = self.client
        if subject == "no-token":
            return None
        if subject == "anonymous":
            response = get_token(client, [scope])
        elif subject in PASSWORD_USERS:
            response = post_token(
                client,
                {
                    "grant_type": "refresh_token",
                    "refresh_token": self.refresh_tokens[subject],
                    "service": SERVICE,
                    "client_id": "matrix",
                    "scope": scope,
                },
            )
        elif subject in PAT_SCOPES:
            response = get_token(client, [scope], ("alice", self.pats[subject]))
            if subject == "pat-revoked":
                assert response.status_code == 401, response.text
                assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
                return None
        elif subject == "token-expired":
            return self.expired_token
        elif subject == "token-other-repo":
            return self.other_repo_token
        else:
            raise AssertionError(subject)
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        assert isinstance(token, str)
        return token


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, module_backend: AppBackend) -> Iterator[World]:
    settings = auth_settings(
        module_backend,
        tmp_path_factory.mktemp("matrix"),
        token_ttl=3600,
        # The revoked token's refusals count as failed logins; throttling has its own tests.
        max_failures_per_account=100_000,
        max_failures_per_address=100_000,
    )
    with auth_client(settings) as client:
        for username in PASSWORD_USERS.values():
            create_user(client, username, admin=username == "siteadmin")
        alice, boss = hub_login(client, "alice"), hub_login(client, "orgboss")
        make_org(client, boss, "acme")
        response = client.post(
            "/v2/orgs/acme/members",
            json={"member": "member", "role": "member"},
            headers=hub_headers(boss),
        )
        assert response.status_code == 201, response.text
        for team, member in (("readers", "reader"), ("writers", "writer"), ("admins", "teamadmin")):
            make_team(client, boss, "acme", team, [member])
        for target, name in REPOSITORIES.items():
            owner = alice if name.startswith("alice/") else boss
            response = make_repository(client, owner, name, private=target.endswith("private"))
            assert response.status_code == 201, response.text
        for name in ("acme/public", "acme/private"):
            for team, permission in (
                ("readers", "read"),
                ("writers", "write"),
                ("admins", "admin"),
            ):
                response = grant_team(client, boss, name, team, permission)
                assert response.status_code == 201, response.text
        for name in ("alice/public", "alice/private"):
            for collaborator, permission in (
                ("collabread", "read"),
                ("collabwrite", "write"),
                ("collabadmin", "admin"),
            ):
                response = client.post(
                    f"/v2/repositories/{name}/collaborators",
                    json={"user": collaborator, "permission": permission},
                    headers=hub_headers(alice),
                )
                assert response.status_code == 201, response.text

        authority = client.app.state.auth.tokens.authority  # type: ignore[attr-defined]

        def admin_token(name: str) -> str:
            scope = Scope("repository", name, frozenset({"pull", "push", "delete"}))
            token, _, _ = authority.issue(subject="siteadmin", audience=SERVICE, access=[scope])
            return str(token)

        images = {
            name: push_small_image(client, name, admin_token(name), tag="stable")
            for name in REPOSITORIES.values()
        }
        pats = {
            subject: create_pat(client, alice, [scope], label=subject)
            for subject, scope in PAT_SCOPES.items()
        }
        response = client.patch(
            f"/v2/access-tokens/{pats['pat-revoked'][0]}",
            json={"is_active": False},
            headers=hub_headers(alice),
        )
        assert response.status_code == 200, response.text
        assert response.json()["is_active"] is False

        refresh_tokens = {}
        for subject, username in PASSWORD_USERS.items():
            response = get_token(
                client, [], (username, "correct horse battery"), offline_token="true"
            )
            assert response.status_code == 200, response.text
            refresh_tokens[subject] = response.json()["refresh_token"]

        everything = [
            {"type": "repository", "name": name, "actions": ["delete", "pull", "push"]}
            for name in [*REPOSITORIES.values(), *MISSING.values()]
        ] + [{"type": "registry", "name": "catalog", "actions": ["*"]}]
        now = int(time.time())
        expired = forge_token(
            signing_key(client).private_key,
            {
                "iss": "dockyard",
                "sub": "siteadmin",
                "aud": SERVICE,
                "iat": now - 4000,
                "nbf": now - 4000,
                "exp": now - 400,
                "access": everything,
            },
            kid=signing_key(client).kid,
        )
        world = World(
            client=client,
            images=images,
            refresh_tokens=refresh_tokens,
            pats={subject: secret for subject, (_uuid, secret) in pats.items()},
            expired_token=expired,
            other_repo_token="",
            admin_token=admin_token,
        )
        world.other_repo_token = str(
            world.token("user-owner", "repository:alice/other:pull,push,delete")
        )
        yield world


# --- the dance -------------------------------------------------------------------------------
Send = Callable[[dict[str, str]], httpx.Response]


def dance(world: World, subject: str, send: Send, expected_scope: str) -> httpx.Response:
    """Docker's flow: unauthenticated try, 401 + challenge, token for its scope, retry."""
    first = send({})
    assert first.status_code == 401, (first.status_code, first.text)
    assert first.json()["errors"][0]["code"] == "UNAUTHORIZED"
    params = challenge(first)
    assert params["realm"] == "http://testserver/token"
    assert params["service"] == SERVICE
    assert params["scope"] == expected_scope
    token = world.token(subject, params["scope"])
    if token is None:
        return first
    return send(bearer(token))


def check_status(response: httpx.Response, expected: int) -> None:
    """The status, and for refusals the error code the spec names."""
    assert response.status_code == expected, (response.status_code, response.text)
    code = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NAME_UNKNOWN"}.get(expected)
    if code:
        assert response.json()["errors"][0]["code"] == code, response.text
    if expected == 401:
        params = challenge(response)
        assert params["service"] == SERVICE


def read_requests(world: World, name: str, op: str, image: SmallImage) -> list[tuple[Send, str]]:
    """The requests a read operation makes on ``name`` (for ``image``'s digests)."""
    client = world.client
    scope = f"repository:{name}:pull"
    paths = {
        "pull": [f"/v2/{name}/manifests/stable", f"/v2/{name}/blobs/{image.layer_digest}"],
        "tags": [f"/v2/{name}/tags/list"],
        "referrers": [f"/v2/{name}/referrers/{image.digest}"],
    }[op]
    return [(lambda h, p=path: client.get(p, headers=h), scope) for path in paths]


def normalized(response: httpx.Response, name: str) -> tuple[int, str, dict[str, str]]:
    """Status, body and challenge with the repository name replaced by a placeholder."""
    header = response.headers.get("www-authenticate", "").replace(name, "<name>")
    return (
        response.status_code,
        response.text.replace(name, "<name>"),
        {"www-authenticate": header, "content-type": response.headers.get("content-type", "")},
    )


@pytest.mark.parametrize(
    ("target", "subject", "op", "expected"),
    CELLS,
    ids=[f"{t}-{s}-{o}" for t, s, o, _ in CELLS],
)
def test_matrix(world: World, target: str, subject: str, op: str, expected: int) -> None:
    client = world.client
    name = REPOSITORIES[target]
    if op in ("pull", "tags", "referrers"):
        image = world.images[name]
        missing = MISSING[name.split("/")[0]]
        requests = read_requests(world, name, op, image)
        same_on_missing = read_requests(world, missing, op, image)
        for (send, scope), (send_missing, missing_scope) in zip(
            requests, same_on_missing, strict=True
        ):
            response = dance(world, subject, send, scope)
            check_status(response, expected)
            if expected == 200 and op == "tags":
                assert "stable" in response.json()["tags"]
            if expected == 200 and op == "pull" and "/manifests/" in str(response.url):
                assert response.content == image.manifest
            if expected != 200 and target.endswith("private"):
                other = dance(world, subject, send_missing, missing_scope)
                assert normalized(other, missing) == normalized(response, name)
    elif op == "push":
        suffix = world.unique()
        config, layer, manifest = image_parts(f"push {suffix}")
        scope = f"repository:{name}:pull,push"
        for blob in (config, layer):
            response = dance(world, subject, lambda h, b=blob: _upload(client, name, b, h), scope)
            check_status(response, 201 if expected == 201 else expected)
        response = dance(world, subject, lambda h: _put(client, name, suffix, manifest, h), scope)
        check_status(response, expected)
        if expected == 201:
            assert response.headers["Docker-Content-Digest"] == digest_of(manifest)
    else:
        assert op == "delete"
        image = push_small_image(
            client, name, world.admin_token(name), tag=world.unique(), seed=world.unique()
        )
        path = f"/v2/{name}/manifests/{image.digest}"
        response = dance(
            world,
            subject,
            lambda h: client.delete(path, headers=h),
            f"repository:{name}:delete",
        )
        check_status(response, expected)
        after = client.get(path, headers=bearer(world.admin_token(name)))
        assert after.status_code == (404 if expected == 202 else 200), after.text


def _upload(client: TestClient, name: str, blob: bytes, headers: dict[str, str]) -> httpx.Response:
    token = headers.get("Authorization", "").removeprefix("Bearer ") or None
    return upload_blob(client, name, blob, token)


def _put(
    client: TestClient, name: str, tag: str, manifest: bytes, headers: dict[str, str]
) -> httpx.Response:
    token = headers.get("Authorization", "").removeprefix("Bearer ") or None
    return put_manifest(client, name, tag, manifest, token)


@pytest.mark.parametrize(
    ("subject", "listed"), _catalog_rows(), ids=[r[0] for r in _catalog_rows()]
)
def test_catalog_lists_only_readable_repositories(
    world: World, subject: str, listed: list[str] | None
) -> None:
    client = world.client
    response = dance(
        world,
        subject,
        lambda h: client.get("/v2/_catalog", headers=h),
        "registry:catalog:*",
    )
    if listed is None:
        check_status(response, 401)
    else:
        assert response.status_code == 200, response.text
        assert response.json()["repositories"] == listed


def test_every_subject_has_a_row_in_every_table() -> None:
    for table in TABLES.values():
        assert [line.split()[0] for line in table.strip().splitlines()] == SUBJECTS
    assert [subject for subject, _ in _catalog_rows()] == SUBJECTS
