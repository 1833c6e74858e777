"""Variable substitution in Dockerfile words, as docker's shell lexer does it."""

from __future__ import annotations

import pytest

from dockyard.client.build.shell import Lexer, SubstitutionError

ENV = {"NAME": "app", "EMPTY": "", "PATHISH": "/usr/local/lib/app.tar.gz", "SP": "a b"}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("$NAME", "app"),
        ("${NAME}", "app"),
        ("pre-${NAME}-post", "pre-app-post"),
        ("$NAME.d", "app.d"),
        ("$UNSET", ""),
        ("${UNSET}", ""),
        ("${UNSET:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY-fallback}", ""),
        ("${UNSET-fallback}", "fallback"),
        ("${NAME:-fallback}", "app"),
        ("${NAME:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET:+alt}", ""),
        ("${UNSET:-${NAME}-x}", "app-x"),
        ("${PATHISH#*/}", "usr/local/lib/app.tar.gz"),
        ("${PATHISH##*/}", "app.tar.gz"),
        ("${PATHISH%.*}", "/usr/local/lib/app.tar"),
        ("${PATHISH%%.*}", "/usr/local/lib/app"),
        ("$", "$"),
        ("a$", "a$"),
        ("$1x", "x"),
        ("'$NAME'", "$NAME"),
        ('"$NAME"', "app"),
        ('"${SP}"', "a b"),
        ("\\$NAME", "$NAME"),
        ('"\\$NAME"', "$NAME"),
        ('"a\\b"', "a\\b"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("it\\'s", "it's"),
        ("trailing\\", "trailing"),
        ("plain/path", "plain/path"),
    ],
)
def test_word(word: str, expected: str) -> None:
    assert Lexer().word(word, ENV) == expected


def test_backtick_escape() -> None:
    lexer = Lexer("`")
    assert lexer.word("`$NAME", ENV) == "$NAME"
    assert lexer.word("C:\\dir\\$NAME", ENV) == "C:\\dir\\app"


def test_required_variable_and_errors() -> None:
    lexer = Lexer()
    assert lexer.word("${NAME:?must be set}", ENV) == "app"
    with pytest.raises(SubstitutionError, match="UNSET: must be set"):
        lexer.word("${UNSET:?must be set}", ENV)
    with pytest.raises(SubstitutionError, match="EMPTY: is not allowed to be unset"):
        lexer.word("${EMPTY:?}", ENV)
    with pytest.raises(SubstitutionError, match="matching '"):
        lexer.word("'open", ENV)
    with pytest.raises(SubstitutionError, match="'}'"):
        lexer.word("${NAME:-x", ENV)
    with pytest.raises(SubstitutionError, match="unsupported modifier"):
        lexer.word("${NAME:=x}", ENV)
    with pytest.raises(SubstitutionError, match="bad substitution"):
        lexer.word("${}", ENV)


def test_words_split_after_expansion() -> None:
    assert Lexer().words("${PORTS}", {"PORTS": "80/tcp  443"}) == ["80/tcp", "443"]
