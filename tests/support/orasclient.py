"""The Python ORAS client, set up for plain HTTP to a test registry with bounded requests."""

from __future__ import annotations

from typing import Any

import requests
import requests.adapters

try:
    import oras.client
    import oras.oci
except ImportError:  # pragma: no cover - the dev extra installs it
    oras = None  # type: ignore[assignment]

#: Seconds any one ORAS request may take (requests has no default timeout).
REQUEST_TIMEOUT = 60.0


class _BoundedAdapter(requests.adapters.HTTPAdapter):
    """An adapter that gives every request a timeout unless it has one."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = REQUEST_TIMEOUT
        return super().send(request, **kwargs)


def oras_available() -> bool:
    """True when the ``oras`` package can be imported."""
    return oras is not None


def make_oras_client(host: str) -> oras.client.OrasClient:
    """An ``OrasClient`` speaking plain HTTP to ``host`` (``127.0.0.1:PORT``)."""
    client = oras.client.OrasClient(hostname=host, insecure=True)
    client.session.mount("http://", _BoundedAdapter())
    return client
