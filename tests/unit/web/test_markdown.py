"""READMEs are rendered from Markdown and sanitized: nothing in them runs."""

from __future__ import annotations

import pytest

from dockyard.web.ui.markdown import render_markdown, sanitize


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        '<img src="x.png" onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="  javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
        '<iframe src="https://evil.example"></iframe>',
        '<div onclick="alert(1)" onmouseover="alert(1)">x</div>',
        '<svg onload="alert(1)"><circle r="1"/></svg>',
        "<style>body{display:none}</style>",
        '<form action="https://evil.example"><input name="password"></form>',
        '<img src="javascript:alert(1)">',
        '<object data="x.swf"></object>',
    ],
)
def test_nothing_executable_survives(source: str) -> None:
    html = str(render_markdown(source)).lower()
    for needle in (
        "<script", '="javascript:', '=" javascript:', "onerror", "onclick", "onmouseover",
        "onload", "<iframe", "<style", "<form", "<input", "<object", '="data:',
    ):  # fmt: skip
        assert needle not in html, (source, html)
    assert "<a href" not in html or "javascript" not in html.split("<a href", 1)[1][:30]


def test_markdown_renders_the_usual_things() -> None:
    html = str(
        render_markdown(
            "# Title\n\nSome **bold** and `code`.\n\n```sh\ndocker run x\n```\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n[docs](https://example.com/docs)\n"
        )
    )
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert '<code class="language-sh">docker run x' in html
    assert "<table>" in html
    assert '<a href="https://example.com/docs" rel="noopener noreferrer nofollow">docs</a>' in html


def test_safe_html_is_kept() -> None:
    html = sanitize('<p align="center"><img src="https://example.com/logo.png" alt="logo"></p>')
    assert 'align="center"' in html
    assert 'src="https://example.com/logo.png"' in html


def test_text_is_escaped() -> None:
    html = str(render_markdown("a < b & c > d, 1 < 2"))
    assert "a &lt; b &amp; c &gt; d" in html
