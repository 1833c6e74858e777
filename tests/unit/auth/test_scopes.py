"""Parsing Docker token scopes (``type:name:actions``)."""

from __future__ import annotations

import pytest

from dockyard.auth.scopes import (
    REPOSITORY_ACTIONS,
    InvalidScope,
    Scope,
    expand_actions,
    merge,
    parse_scope,
    parse_scopes,
)


def scope(type_: str, name: str, *actions: str) -> Scope:
    return Scope(type_, name, frozenset(actions))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("repository:alice/app:pull", scope("repository", "alice/app", "pull")),
        ("repository:alice/app:pull,push", scope("repository", "alice/app", "pull", "push")),
        ("repository:alice/app:push,pull,push", scope("repository", "alice/app", "pull", "push")),
        ("repository:a/b/c/d:delete", scope("repository", "a/b/c/d", "delete")),
        ("repository:app:*", scope("repository", "app", "*")),
        ("registry:catalog:*", scope("registry", "catalog", "*")),
        # a registry host with a port in the name: the actions come after the last colon
        (
            "repository:localhost:5000/alice/app:pull",
            scope("repository", "localhost:5000/alice/app", "pull"),
        ),
        # Docker's plugin form is a repository scope
        ("repository(plugin):alice/app:pull", scope("repository", "alice/app", "pull")),
        # empty actions between commas are dropped
        ("repository:alice/app:pull,,push,", scope("repository", "alice/app", "pull", "push")),
        # unknown types and actions parse; the grant decides they are worth nothing
        ("frobnicator:thing:frob", scope("frobnicator", "thing", "frob")),
    ],
)
def test_parse_scope(text: str, expected: Scope) -> None:
    assert parse_scope(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "repository",
        "repository:alice/app",
        "repository::pull",
        ":alice/app:pull",
        "repository:alice/app:",
        "repository:alice/app:,",
        "::",
        ":::",
    ],
)
def test_parse_scope_refuses_malformed(text: str) -> None:
    with pytest.raises(InvalidScope, match="invalid scope"):
        parse_scope(text)


def test_invalid_scope_message_is_bounded() -> None:
    with pytest.raises(InvalidScope) as caught:
        parse_scope("x" * 10_000)
    assert len(str(caught.value)) < 300


def test_parse_scopes_splits_on_spaces_and_merges() -> None:
    parsed = parse_scopes(
        [
            "repository:alice/app:pull",
            "repository:alice/app:push  registry:catalog:*",
            "",
            "   ",
            "repository:bob/app:pull",
        ]
    )
    assert parsed == [
        scope("repository", "alice/app", "pull", "push"),
        scope("registry", "catalog", "*"),
        scope("repository", "bob/app", "pull"),
    ]


def test_parse_scopes_of_nothing() -> None:
    assert parse_scopes([]) == []
    assert parse_scopes([""]) == []


def test_parse_scopes_fails_on_any_malformed_scope() -> None:
    with pytest.raises(InvalidScope):
        parse_scopes(["repository:alice/app:pull repository:broken"])


def test_merge_keeps_types_apart() -> None:
    merged = merge(
        [
            scope("repository", "catalog", "pull"),
            scope("registry", "catalog", "*"),
            scope("repository", "catalog", "push"),
        ]
    )
    assert merged == [
        scope("repository", "catalog", "pull", "push"),
        scope("registry", "catalog", "*"),
    ]


def test_expand_actions() -> None:
    assert expand_actions(["*"]) == REPOSITORY_ACTIONS
    assert expand_actions(["pull", "*"]) == REPOSITORY_ACTIONS
    assert expand_actions(["pull", "push"]) == frozenset({"pull", "push"})
    assert expand_actions([]) == frozenset()


def test_str_and_claim_are_sorted() -> None:
    s = scope("repository", "alice/app", "push", "pull", "delete")
    assert str(s) == "repository:alice/app:delete,pull,push"
    assert s.claim() == {
        "type": "repository",
        "name": "alice/app",
        "actions": ["delete", "pull", "push"],
    }
    assert parse_scope(str(s)) == s
