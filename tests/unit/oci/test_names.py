"""Repository names and tags against the distribution spec's regular expressions."""

from __future__ import annotations

import pytest

from dockyard.oci.names import MAX_NAME_LENGTH, is_valid_name, is_valid_tag


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "0",
        "library/ubuntu",
        "a/b/c/d/e",
        "my-app",
        "my--app",
        "my-----app",
        "my.app",
        "my_app",
        "my__app",
        "a.b.c",
        "a0/b1-c2/d3.e4_f5__g6",
        "127.0.0.1/x",
        "x" * MAX_NAME_LENGTH,
        "/".join(["ab"] * 85),
    ],
)
def test_valid_names(name: str) -> None:
    assert len(name) <= MAX_NAME_LENGTH
    assert is_valid_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "A",
        "Library/ubuntu",
        "library/Ubuntu",
        "_a",
        "a_",
        "-a",
        "a-",
        ".a",
        "a.",
        "a..b",
        "a.-b",
        "a-.b",
        "a._b",
        "a___b",
        "a/",
        "/a",
        "a//b",
        "a/ /b",
        "a b",
        "a:b",
        "a@b",
        "a/../b",
        "../a",
        "a\\b",
        "a/b\n",
        "a\n",
        "\na",
        "a/\nb",
        "a\x00",
        "\uff41",  # fullwidth a
        "x" * (MAX_NAME_LENGTH + 1),
        "/".join(["ab"] * 86),
    ],
)
def test_invalid_names(name: str) -> None:
    assert not is_valid_name(name)


def test_max_name_length_is_the_reference_registrys() -> None:
    assert MAX_NAME_LENGTH == 255


@pytest.mark.parametrize(
    "tag",
    [
        "latest",
        "v1",
        "v1.2.3",
        "1.0-rc.1",
        "_private",
        "UPPER",
        "MiXeD_case-1.0",
        "0",
        "a" * 128,
        "a" + "." * 127,
        "a" + "-" * 127,
        "sha256-" + "a" * 64,
    ],
)
def test_valid_tags(tag: str) -> None:
    assert is_valid_tag(tag)


@pytest.mark.parametrize(
    "tag",
    [
        "",
        ".hidden",
        "-dash",
        "a" * 129,
        "a:b",
        "a/b",
        "a+b",
        "a b",
        "a@b",
        "latest\n",
        "latest\r\n",
        "\nlatest",
        "la\ntest",
        "tag\x00",
        "\uff54\uff41\uff47",  # fullwidth "tag"
        "é",
        f"sha256:{'a' * 64}",
    ],
)
def test_invalid_tags(tag: str) -> None:
    assert not is_valid_tag(tag)
