"""The Dockerfile parser: directives, continuations, comments, flags and argument forms."""

from __future__ import annotations

import pytest

from dockyard.client.build import dockerfile as df
from dockyard.client.errors import BuildError


def _keywords(text: str) -> list[tuple[str, str, int]]:
    return [(i.keyword, i.args, i.line) for i in df.parse(text).instructions]


def test_instructions_comments_blank_lines_and_case() -> None:
    text = '\n# a comment\nfrom scratch\n\n  copy a /b  \n# another\nCmd ["x"]\n'
    assert _keywords(text) == [
        ("FROM", "scratch", 3),
        ("COPY", "a /b", 5),
        ("CMD", '["x"]', 7),
    ]


def test_line_continuations_skip_comment_and_empty_lines() -> None:
    text = (
        "FROM scratch\n"
        "ENV A=1 \\\n"
        "# a comment inside the instruction\n"
        "\n"
        "    B=2 \\  \n"
        "    C=3\n"
        "LABEL x=y\n"
    )
    parsed = df.parse(text).instructions
    assert parsed[1].keyword == "ENV"
    assert parsed[1].args == "A=1     B=2     C=3"
    assert parsed[1].line == 2
    assert (parsed[2].keyword, parsed[2].line) == ("LABEL", 7)


def test_escape_directive_and_ignored_syntax() -> None:
    text = "# syntax=docker/dockerfile:1\n# escape=`\nFROM scratch\nCOPY a `\n  b /c\\\n"
    parsed = df.parse(text)
    assert parsed.escape == "`"
    assert [(i.keyword, i.args) for i in parsed.instructions] == [
        ("FROM", "scratch"),
        ("COPY", "a   b /c\\"),
    ]


def test_directives_only_count_at_the_top() -> None:
    text = "FROM scratch\n# escape=`\nCOPY a \\\n b /\n"
    parsed = df.parse(text)
    assert parsed.escape == "\\"
    assert parsed.instructions[1].args == "a  b /"
    after_blank = df.parse("\n# escape=`\nFROM scratch\n")
    assert after_blank.escape == "\\"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# escape=x\nFROM scratch\n", "Dockerfile:1: invalid escape token"),
        ("# escape=`\n# escape=\\\nFROM scratch\n", "only one escape parser directive"),
        ("FROM scratch\nFROBNICATE x\n", "Dockerfile:2: unknown instruction: FROBNICATE"),
    ],
)
def test_syntax_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(BuildError, match=message):
        df.parse(text)


def test_flags_are_split_off_with_quotes_removed() -> None:
    [instruction] = df.parse(
        'COPY --from=build --chown="app user:app" --link a b /c/\n'
    ).instructions
    assert instruction.flags == ("--from=build", "--chown=app user:app", "--link")
    assert instruction.args == "a b /c/"
    assert instruction.flag_values("Dockerfile:1", {"from", "chown", "link"}) == {
        "from": "build",
        "chown": "app user:app",
        "link": None,
    }
    with pytest.raises(BuildError, match="Dockerfile:1: unknown flag --link for COPY"):
        instruction.flag_values("Dockerfile:1", {"from", "chown"})
    [plain] = df.parse("COPY -- --odd /x\n").instructions
    assert (plain.flags, plain.args) == ((), "--odd /x")


def test_key_values_new_and_legacy_forms() -> None:
    assert df.key_values('A=1 B="two words" C=a\\ b', "\\", "w", "ENV") == [
        ("A", "1"),
        ("B", '"two words"'),
        ("C", "a\\ b"),
    ]
    assert df.key_values("NAME the rest of  the line", "\\", "w", "ENV") == [
        ("NAME", "the rest of  the line")
    ]
    with pytest.raises(BuildError, match="must have two arguments"):
        df.key_values("ALONE", "\\", "w", "ENV")
    with pytest.raises(BuildError, match="can't find ="):
        df.key_values("A=1 B", "\\", "w", "LABEL")


def test_arg_definitions() -> None:
    assert df.arg_definitions('A B=2 C="x y"', "\\", "w") == [
        ("A", None),
        ("B", "2"),
        ("C", '"x y"'),
    ]
    with pytest.raises(BuildError, match="requires at least one argument"):
        df.arg_definitions("", "\\", "w")


def test_exec_and_shell_forms() -> None:
    assert df.json_or_none('["a", "b c"]') == ["a", "b c"]
    assert df.json_or_none("echo [not json]") is None
    assert df.json_or_none("[not json") is None
    assert df.json_or_none('["a", 1]') is None
    assert df.json_or_fields("a  b\tc") == ["a", "b", "c"]
    assert df.json_or_fields('["with space", "/dst/"]') == ["with space", "/dst/"]


def test_split_words_keeps_quotes_and_escapes() -> None:
    assert df.split_words('a \'b c\' "d\\" e" f\\ g', "\\") == [
        "a",
        "'b c'",
        '"d\\" e"',
        "f\\ g",
    ]
    assert df.split_words("''", "\\") == ["''"]


def test_onbuild_trigger_parses_as_one_line() -> None:
    trigger = df.parse_line("copy . /app", 3, "Dockerfile")
    assert (trigger.keyword, trigger.args, trigger.line) == ("COPY", ". /app", 3)


def test_byte_order_mark_and_crlf() -> None:
    parsed = df.parse("\ufeffFROM scratch\r\nCOPY a \\\r\n  b /\r\n")
    assert [(i.keyword, i.args) for i in parsed.instructions] == [
        ("FROM", "scratch"),
        ("COPY", "a   b /"),
    ]
