"""The permission model, ``allowed_actions``, as a table of who may do what where."""

from __future__ import annotations

import pytest

from dockyard.auth.policy import (
    ALL_ACTIONS,
    PAT_SCOPE_ACTIONS,
    Principal,
    RepositoryFacts,
    allowed_actions,
    strongest,
)

ALICE = Principal(1, "alice", False)
BOB = Principal(2, "bob", False)
ADMIN = Principal(3, "root1", True)

NONE: frozenset[str] = frozenset()
PULL = frozenset({"pull"})
PULL_PUSH = frozenset({"pull", "push"})
ALL = ALL_ACTIONS


def user_repo(
    name: str = "alice/app",
    *,
    exists: bool = True,
    private: bool = False,
    collaborator: str | None = None,
) -> RepositoryFacts:
    return RepositoryFacts(name, exists, private, "user", collaborator_permission=collaborator)


def org_repo(
    *,
    exists: bool = True,
    private: bool = False,
    role: str | None = None,
    team: str | None = None,
) -> RepositoryFacts:
    return RepositoryFacts("acme/app", exists, private, "organization", role, team)


def library_repo(*, private: bool = False, collaborator: str | None = None) -> RepositoryFacts:
    return RepositoryFacts(
        "library/busybox", True, private, "user", collaborator_permission=collaborator
    )


def pat(principal: Principal, *scopes: str) -> Principal:
    return Principal(
        principal.user_id, principal.username, principal.is_admin, frozenset(scopes), "pat-id"
    )


CASES: list[tuple[str, Principal | None, RepositoryFacts, frozenset[str]]] = [
    # anonymous: pull of existing public repositories, nothing else
    ("anonymous public", None, user_repo(), PULL),
    ("anonymous private", None, user_repo(private=True), NONE),
    ("anonymous missing", None, user_repo(exists=False), NONE),
    ("anonymous org public", None, org_repo(), PULL),
    ("anonymous org private", None, org_repo(private=True), NONE),
    # the owner of a user namespace does everything, including creating by push
    ("owner public", ALICE, user_repo(), ALL),
    ("owner private", ALICE, user_repo(private=True), ALL),
    ("owner missing", ALICE, user_repo(exists=False), ALL),
    ("owner nested name", ALICE, user_repo("alice/team/app", private=True), ALL),
    # another user
    ("other public", BOB, user_repo(), PULL),
    ("other private", BOB, user_repo(private=True), NONE),
    ("other missing", BOB, user_repo(exists=False), NONE),
    # a namespace nobody owns: nobody but admins may create in it
    ("unclaimed namespace", ALICE, RepositoryFacts("ghost/app", False, False, None), NONE),
    ("unclaimed by its name", Principal(9, "ghost", False),
     RepositoryFacts("ghost/app", False, False, None), NONE),
    ("admin unclaimed", ADMIN, RepositoryFacts("ghost/app", False, False, None), ALL),
    # site administrators do everything everywhere
    ("admin private", ADMIN, user_repo(private=True), ALL),
    ("admin missing", ADMIN, user_repo(exists=False), ALL),
    ("admin org private", ADMIN, org_repo(private=True), ALL),
    # official images: only administrators write
    ("library public", ALICE, RepositoryFacts("library/busybox", True, False, "user"), PULL),
    ("library missing", ALICE, RepositoryFacts("library/new", False, False, "user"), NONE),
    ("library named user", Principal(7, "library", False),
     RepositoryFacts("library/busybox", True, False, "user"), PULL),
    ("library admin", ADMIN, RepositoryFacts("library/busybox", True, False, "user"), ALL),
    # organizations: owners do everything, members what their teams hold
    ("org owner", BOB, org_repo(private=True, role="owner"), ALL),
    ("org owner missing", BOB, org_repo(exists=False, role="owner"), ALL),
    ("org member no team", BOB, org_repo(private=True, role="member"), NONE),
    ("org member no team public", BOB, org_repo(role="member"), PULL),
    ("org member missing", BOB, org_repo(exists=False, role="member"), NONE),
    ("team read", BOB, org_repo(private=True, role="member", team="read"), PULL),
    ("team write", BOB, org_repo(private=True, role="member", team="write"), PULL_PUSH),
    ("team admin", BOB, org_repo(private=True, role="member", team="admin"), ALL),
    ("team read public", BOB, org_repo(role="member", team="read"), PULL),
    ("team write public", BOB, org_repo(role="member", team="write"), PULL_PUSH),
    ("team on missing repo", BOB, org_repo(exists=False, role="member", team="admin"), NONE),
    ("unknown team permission", BOB, org_repo(private=True, role="member", team="root"), NONE),
    ("anonymous ignores teams", None, org_repo(private=True, team="admin"), NONE),
    # a user repository is not owned through an organization role
    ("user repo org role", BOB, RepositoryFacts("alice/app", True, True, "user", "owner"), NONE),
    # collaborators of a personal repository: what a team with the same permission gets
    ("collaborator read", BOB, user_repo(private=True, collaborator="read"), PULL),
    ("collaborator write", BOB, user_repo(private=True, collaborator="write"), PULL_PUSH),
    ("collaborator admin", BOB, user_repo(private=True, collaborator="admin"), ALL),
    ("collaborator read public", BOB, user_repo(collaborator="read"), PULL),
    ("collaborator write public", BOB, user_repo(collaborator="write"), PULL_PUSH),
    ("collaborator admin public", BOB, user_repo(collaborator="admin"), ALL),
    ("collaborator nested name", BOB,
     user_repo("alice/team/app", private=True, collaborator="write"), PULL_PUSH),
    ("collaborator on missing repo", BOB, user_repo(exists=False, collaborator="admin"), NONE),
    ("unknown collaborator permission", BOB, user_repo(private=True, collaborator="root"), NONE),
    ("anonymous ignores collaborators", None, user_repo(private=True, collaborator="admin"),
     NONE),
    ("owner is no less as collaborator", ALICE, user_repo(private=True, collaborator="read"),
     ALL),
    ("admin with collaborator row", ADMIN, user_repo(private=True, collaborator="read"), ALL),
    # collaborators exist for personal repositories only: none in organizations or library/
    ("collaborator in org namespace", BOB,
     RepositoryFacts("acme/app", True, True, "organization", collaborator_permission="admin"),
     NONE),
    ("collaborator in unclaimed namespace", BOB,
     RepositoryFacts("ghost/app", True, True, None, collaborator_permission="write"), NONE),
    ("collaborator on library", BOB, library_repo(collaborator="admin"), PULL),
    ("collaborator on private library", BOB, library_repo(private=True, collaborator="admin"),
     NONE),
    ("collaborator and team together", BOB,
     RepositoryFacts("alice/app", True, True, "user", team_permission="read",
                     collaborator_permission="write"), PULL_PUSH),
    # personal access tokens cap what their user may do
    ("pat read owner", pat(ALICE, "repo:read"), user_repo(private=True), PULL),
    ("pat write owner", pat(ALICE, "repo:write"), user_repo(private=True), PULL_PUSH),
    ("pat delete owner", pat(ALICE, "repo:delete"), user_repo(private=True), ALL),
    ("pat admin owner", pat(ALICE, "admin"), user_repo(private=True), ALL),
    ("pat read+write", pat(ALICE, "repo:read", "repo:write"), user_repo(), PULL_PUSH),
    ("pat no scopes", pat(ALICE), user_repo(), NONE),
    ("pat unknown scope", pat(ALICE, "repo:everything"), user_repo(), NONE),
    ("pat never widens", pat(BOB, "admin"), user_repo(private=True), NONE),
    ("pat public", pat(BOB, "repo:delete"), user_repo(), PULL),
    ("pat site admin read", pat(ADMIN, "repo:read"), user_repo(private=True), PULL),
    ("pat team write read", pat(BOB, "repo:read"),
     org_repo(private=True, role="member", team="write"), PULL),
    ("pat team read delete", pat(BOB, "repo:delete"),
     org_repo(private=True, role="member", team="read"), PULL),
    ("pat collaborator admin read", pat(BOB, "repo:read"),
     user_repo(private=True, collaborator="admin"), PULL),
    ("pat collaborator write", pat(BOB, "repo:write"),
     user_repo(private=True, collaborator="write"), PULL_PUSH),
    ("pat collaborator read delete", pat(BOB, "repo:delete"),
     user_repo(private=True, collaborator="read"), PULL),
]  # fmt: skip


@pytest.mark.parametrize(
    ("principal", "facts", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_allowed_actions(
    principal: Principal | None, facts: RepositoryFacts, expected: frozenset[str]
) -> None:
    assert allowed_actions(principal, facts) == expected


def test_actions_are_always_known_repository_actions() -> None:
    for _id, principal, facts, _expected in CASES:
        assert allowed_actions(principal, facts) <= ALL_ACTIONS


def test_push_never_comes_without_pull() -> None:
    for _id, principal, facts, _expected in CASES:
        actions = allowed_actions(principal, facts)
        if "push" in actions or "delete" in actions:
            assert "pull" in actions


def test_scope_limit() -> None:
    assert ALICE.scope_limit() == ALL_ACTIONS
    assert pat(ALICE, "repo:read").scope_limit() == PULL
    assert pat(ALICE, "repo:read", "repo:delete").scope_limit() == ALL_ACTIONS
    assert pat(ALICE).scope_limit() == NONE
    for scope, actions in PAT_SCOPE_ACTIONS.items():
        assert pat(ALICE, scope).scope_limit() == actions


def test_namespace() -> None:
    assert user_repo("alice/team/app").namespace == "alice"
    assert RepositoryFacts("single", True, False, None).namespace == "single"


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [
        ([], None),
        (["read"], "read"),
        (["read", "admin", "write"], "admin"),
        (["write", "read"], "write"),
        (["bogus"], None),
        (["bogus", "read"], "read"),
    ],
)
def test_strongest(permissions: list[str], expected: str | None) -> None:
    assert strongest(permissions) == expected
