""".dockerignore matching with docker's rules, and the build context it shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.client.build.context import glob, ignore_file, load_context
from dockyard.client.build.ignore import IgnoreRules, read_patterns
from dockyard.client.errors import BuildError


def test_read_patterns_cleans_like_docker() -> None:
    text = "\ufeff# comment\n\n  *.log  \n/abs/./dir/\n! keep.log\n #not a comment\nx/../y\n"
    assert read_patterns(text) == ["*.log", "abs/dir", "!keep.log", "#not a comment", "y"]


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.md"], "README.md", True),
        (["*.md"], "docs/guide.md", False),
        (["*/*.md"], "docs/guide.md", True),
        (["**/*.md"], "docs/deep/guide.md", True),
        (["**/*.md"], "guide.md", True),
        (["docs/**"], "docs/a/b", True),
        (["docs/**"], "docsx", False),
        (["**"], "anything/at/all", True),
        (["node_modules"], "node_modules/pkg/index.js", True),
        (["build"], "src/build", False),
        (["**/build"], "src/build/out.o", True),
        (["?.txt"], "a.txt", True),
        (["?.txt"], "ab.txt", False),
        (["[a-c].txt"], "b.txt", True),
        (["[^a-c].txt"], "b.txt", False),
        (["[^a-c].txt"], "d.txt", True),
        (["file\\*"], "file*", True),
        (["file\\*"], "filex", False),
        (["a.b"], "axb", False),
        (["*.log", "!keep.log"], "keep.log", False),
        (["*.log", "!keep.log"], "other.log", True),
        (["*.log", "!keep.log", "keep*"], "keep.log", True),
        (["dir", "!dir/keep"], "dir/keep", False),
        (["dir", "!dir/keep"], "dir/other", True),
        (["!x"], "x", False),
    ],
)
def test_matching(patterns: list[str], path: str, excluded: bool) -> None:
    assert IgnoreRules(patterns).excluded(path) is excluded


def test_bad_patterns_are_refused() -> None:
    with pytest.raises(BuildError, match="illegal exclusion"):
        IgnoreRules(["!"])
    with pytest.raises(BuildError, match="syntax error"):
        IgnoreRules(["[abc"])


def _tree_paths(context: Path, text: str) -> list[str]:
    tree = load_context(context, IgnoreRules.from_text(text))
    return sorted(path for path, _ in tree.walk(""))


def test_context_honours_exceptions_inside_excluded_directories(tmp_path: Path) -> None:
    for name in ("a.txt", "logs/x.log", "logs/keep/y.log", "logs/keep/z.txt", "secret/key"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    (tmp_path / "link").symlink_to("a.txt")
    paths = _tree_paths(tmp_path, "secret\nlogs\n!logs/keep/*.log\n")
    assert paths == ["a.txt", "link", "logs", "logs/keep", "logs/keep/y.log"]
    assert _tree_paths(tmp_path, "") == [
        "a.txt",
        "link",
        "logs",
        "logs/keep",
        "logs/keep/y.log",
        "logs/keep/z.txt",
        "logs/x.log",
        "secret",
        "secret/key",
    ]


def test_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("*\n")
    dockerfile = tmp_path / "app.Dockerfile"
    assert ignore_file(tmp_path, dockerfile) == tmp_path / ".dockerignore"
    specific = tmp_path / "app.Dockerfile.dockerignore"
    specific.write_text("x\n")
    assert ignore_file(tmp_path, dockerfile) == specific
    assert ignore_file(tmp_path / "nowhere", None) is None


def test_source_globs(tmp_path: Path) -> None:
    for name in ("a1.txt", "a2.txt", "b.txt", "dir/a3.txt", "dir/sub/a4.txt", "we[ird].txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    tree = load_context(tmp_path, IgnoreRules([]))
    assert glob(tree, "a*.txt") == ["a1.txt", "a2.txt"]
    assert glob(tree, "*/a?.txt") == ["dir/a3.txt"]
    assert glob(tree, "dir/*/a4.txt") == ["dir/sub/a4.txt"]
    assert glob(tree, "[ab]*.txt") == ["a1.txt", "a2.txt", "b.txt"]
    assert glob(tree, "we\\[ird\\].txt") == ["we[ird].txt"]
    assert glob(tree, "dir") == ["dir"]
    assert glob(tree, "missing*") == []
