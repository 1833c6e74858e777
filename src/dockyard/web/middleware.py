"""Small pure-ASGI middleware (cheap enough for the hot paths)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")


class RegistryHeaders:
    """Adds ``Docker-Distribution-API-Version`` to every ``/v2`` response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v2"):
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k == _API_VERSION[0] for k, _ in headers):
                    headers.append(_API_VERSION)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_header)
