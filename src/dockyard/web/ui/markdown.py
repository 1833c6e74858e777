"""READMEs: Markdown rendered by markdown-it-py, then sanitized by nh3 (ammonia).

Raw HTML in a README is allowed through markdown-it and then cleaned: no scripts, styles,
event handler attributes, ``javascript:`` or ``data:`` links, iframes or forms survive.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_RENDERER = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(
    ["table", "strikethrough"]
)

_TAGS = set(nh3.ALLOWED_TAGS) | {"details", "summary", "picture", "source"}
_TAGS -= {"form", "input", "button", "textarea", "select"}
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
for _tag in ("p", "div", "h1", "h2", "h3", "td", "th", "img"):
    _ATTRIBUTES.setdefault(_tag, set()).add("align")
_ATTRIBUTES.setdefault("img", set()).update({"src", "alt", "title", "width", "height"})
_ATTRIBUTES.setdefault("source", set()).update({"srcset", "media", "type"})
_ATTRIBUTES.setdefault("code", set()).add("class")
_ATTRIBUTES.setdefault("details", set()).add("open")
_URL_SCHEMES = {"http", "https", "mailto"}


def sanitize(html: str) -> str:
    """Keep only safe tags, attributes and URL schemes (``rel=noopener noreferrer`` on links)."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str) -> Markup:
    """Safe HTML for a README."""
    return Markup(sanitize(_RENDERER.render(text)))  # noqa: S704 - sanitized just above
