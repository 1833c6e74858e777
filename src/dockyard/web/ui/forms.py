"""Reading ``application/x-www-form-urlencoded`` form posts, bounded in size."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

#: Largest form body read (a README fits: 25,000 characters, percent-encoded).
MAX_FORM_BYTES = 256 * 1024


class FormTooLarge(Exception):
    """The form body exceeds :data:`MAX_FORM_BYTES`."""


class Form:
    """The fields of a posted form (last value wins; ``all`` for repeated fields)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        self.values = dict(pairs)

    def get(self, name: str, default: str = "") -> str:
        """One field's value (stripped of surrounding whitespace only when asked)."""
        return self.values.get(name, default)

    def all(self, name: str) -> list[str]:
        """Every value of a repeated field (checkboxes)."""
        return [v for k, v in self.pairs if k == name]

    def flag(self, name: str) -> bool:
        """A checkbox: present and not "0"/"false"/"off"."""
        return self.values.get(name, "").lower() not in ("", "0", "false", "off")


async def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> Form:
    """The request's urlencoded form."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FormTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise FormTooLarge
    text = body.decode("utf-8", errors="replace")
    pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=1000)
    # A NUL is as unusable as an undecodable byte (and PostgreSQL cannot store one): U+FFFD.
    return Form([(k.replace("\x00", "\ufffd"), v.replace("\x00", "\ufffd")) for k, v in pairs])
