"""``/api/openapi.json`` and ``/api/docs``: the Hub API's OpenAPI document and a page of it.

The page is rendered on the server from the same document, with its style inline: it loads
nothing from anywhere (no scripts, fonts or stylesheets from the internet).
"""

from __future__ import annotations

import functools
import json
import re
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from dockyard.web.api.openapi import openapi_document

METHODS = ("get", "post", "put", "patch", "delete")

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2430}
header{background:#0b3d62;color:#fff;padding:1.2em 2em}header h1{margin:0;font-size:1.6em}
main{max-width:70em;margin:0 auto;padding:1em 2em}nav ul{columns:2;padding-left:1.2em}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
pre{background:#f4f6f8;padding:.6em;overflow-x:auto}
section.op{border:1px solid #d6dde4;border-radius:6px;margin:1em 0;padding:.2em 1em 1em}
.m{display:inline-block;min-width:4.5em;text-align:center;border-radius:4px;color:#fff;
font-weight:600;padding:0 .4em;margin-right:.5em}
.get{background:#2b7bb9}.post{background:#2f8f4e}.put{background:#a06b00}
.patch{background:#7b5ea7}.delete{background:#b83a3a}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #d6dde4;padding:.2em .6em;
text-align:left;vertical-align:top}th{background:#f4f6f8}.muted{color:#5d6b7a}
"""


def _prose(text: str) -> str:
    """Escaped text with its `code spans` as ``<code>``."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _name_of(schema: dict[str, Any]) -> str | None:
    target = schema.get("$ref", "")
    return target.rsplit("/", 1)[-1] if isinstance(target, str) and target else None


def _type_html(schema: dict[str, Any]) -> str:
    """A short description of a schema's type, linking to named schemas."""
    name = _name_of(schema)
    if name is not None:
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_html(schema.get('items', {}))}"
    text = escape(" or ".join(kind) if isinstance(kind, list) else str(kind))
    if "enum" in schema:
        text += " (" + escape(", ".join(json.dumps(v) for v in schema["enum"])) + ")"
    if "format" in schema:
        text += f", {escape(str(schema['format']))}"
    if "pattern" in schema:
        text += f", matching <code>{escape(str(schema['pattern']))}</code>"
    return text


def _fields_html(schema: dict[str, Any]) -> str:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code>{' *' if name in required else ''}</td>"
        f"<td>{_type_html(prop)}</td><td>{_prose(prop.get('description', ''))}</td></tr>"
        for name, prop in properties.items()
    )
    return f"<table><tr><th>field</th><th>type</th><th></th></tr>{rows}</table>"


def _operation_html(path: str, method: str, op: dict[str, Any], doc: dict[str, Any]) -> str:
    anchor = f"op-{method}-{path}".replace("/", "-").replace("{", "").replace("}", "")
    parts = [
        f'<section class="op" id="{escape(anchor)}"><h3><span class="m {method}">'
        f"{method.upper()}</span><code>{escape(path)}</code></h3>",
        f"<p><strong>{escape(op['summary'])}</strong></p>",
    ]
    if op.get("description"):
        parts.append(f"<p>{_prose(op['description'])}</p>")
    security = op.get("security", [])
    schemes = sorted({name for alternative in security for name in alternative})
    if not schemes:
        auth = "none"
    elif {} in security:
        auth = "optional (" + ", ".join(schemes) + ")"
    else:
        auth = "required (" + ", ".join(schemes) + ")"
    parts.append(f'<p class="muted">Authentication: {escape(auth)}</p>')
    if op.get("parameters"):
        params = "".join(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{_type_html(p['schema'])}</td><td>{_prose(p.get('description', ''))}</td></tr>"
            for p in op["parameters"]
        )
        parts.append(
            "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th></th></tr>"
            f"{params}</table>"
        )
    if "requestBody" in op:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        parts.append(f"<h4>Request body</h4><p>JSON: {_type_html(schema)}</p>")
    rows = []
    for status, response in op["responses"].items():
        name = _name_of(response)
        if name is not None:
            response = doc["components"]["responses"][name]
        content = response.get("content", {})
        shape = "".join(
            f"{escape(kind)}: {_type_html(media.get('schema', {}))}"
            for kind, media in content.items()
        )
        rows.append(
            f"<tr><td>{escape(status)}</td><td>{_prose(response['description'])}</td>"
            f"<td>{shape}</td></tr>"
        )
    parts.append(
        "<h4>Responses</h4><table><tr><th>status</th><th></th><th>body</th></tr>"
        + "".join(rows)
        + "</table></section>"
    )
    return "".join(parts)


@functools.cache
def docs_html() -> str:
    """The whole page (rendered once per process)."""
    doc = openapi_document()
    info = doc["info"]
    by_tag: dict[str, list[str]] = {t["name"]: [] for t in doc["tags"]}
    toc: dict[str, list[str]] = {t["name"]: [] for t in doc["tags"]}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                tag = op["tags"][0]
                by_tag[tag].append(_operation_html(path, method, op, doc))
                toc[tag].append(f"{method.upper()} {path}")
    sections = []
    for tag in doc["tags"]:
        name = tag["name"]
        slug = name.lower().replace(" ", "-")
        sections.append(
            f'<h2 id="tag-{slug}">{escape(name)}</h2><p>{_prose(tag["description"])}</p>'
            + "".join(by_tag[name])
        )
    nav = "".join(
        f'<li><a href="#tag-{t["name"].lower().replace(" ", "-")}">{escape(t["name"])}</a> '
        f'<span class="muted">({len(toc[t["name"]])})</span></li>'
        for t in doc["tags"]
    )
    schemas = "".join(
        f'<h3 id="schema-{escape(name)}"><code>{escape(name)}</code></h3>{_fields_html(schema)}'
        for name, schema in doc["components"]["schemas"].items()
        if schema.get("properties")
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(info['title'])}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(info['title'])}</h1><div>version {escape(info['version'])} · "
        '<a style="color:#cfe3f5" href="/api/openapi.json">openapi.json</a></div></header>'
        f"<main><p>{_prose(info['description'])}</p><nav><h2>Contents</h2><ul>{nav}"
        '<li><a href="#schemas">Schemas</a></li></ul></nav>'
        + "".join(sections)
        + f'<h2 id="schemas">Schemas</h2><p class="muted">* required</p>{schemas}</main>'
        "</body></html>"
    )


async def openapi_json(request: Request) -> Response:
    """``GET /api/openapi.json``."""
    return JSONResponse(openapi_document())


async def docs_page(request: Request) -> Response:
    """``GET /api/docs``."""
    return HTMLResponse(docs_html())
