"""Registry authentication: ``WWW-Authenticate`` challenges, Basic, and Docker's token flow."""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from dockyard.client.credentials import Credentials
from dockyard.client.errors import PermissionDenied, RegistryError, Unauthorized, Unreachable

CLIENT_ID = "dockyard"
_CHALLENGE_RE = re.compile(r"\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)", re.DOTALL)
_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
#: Tokens are renewed this many seconds before they expire.
_EXPIRY_MARGIN = 10.0


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: a scheme and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.params.get("scope", "").split())


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge of a ``WWW-Authenticate`` header (``Bearer realm="...",...``)."""
    found: list[Challenge] = []
    rest = header
    while rest.strip():
        match = _CHALLENGE_RE.match(rest)
        if match is None:
            break
        scheme, rest = match.group(1).lower(), match.group(2)
        params: dict[str, str] = {}
        while True:
            param = _PARAM_RE.match(rest)
            if param is None or not param.group(0).strip():
                break
            value = param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[param.group(1).lower()] = value
            rest = rest[param.end() :]
        found.append(Challenge(scheme, params))
        rest = rest.lstrip(", ")
    return found


def basic_header(credentials: Credentials) -> str:
    """The ``Authorization`` value for HTTP Basic."""
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@dataclass
class _Token:
    value: str
    expires: float


class Authenticator:
    """Holds a registry's challenge, the user's credentials, and tokens cached per scope set."""

    def __init__(self, http: httpx.Client, domain: str, credentials: Credentials | None) -> None:
        self.http = http
        self.domain = domain
        self.credentials = credentials
        self.challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], _Token] = {}
        self._lock = threading.Lock()

    def learn(self, response: httpx.Response) -> Challenge | None:
        """Remember the challenge of a 401 response (Bearer preferred over Basic)."""
        challenges = parse_challenges(response.headers.get("www-authenticate", ""))
        chosen = next((c for c in challenges if c.scheme == "bearer"), None)
        chosen = chosen or next((c for c in challenges if c.scheme == "basic"), None)
        if chosen is not None:
            self.challenge = chosen
        return chosen

    def header(self, scopes: Iterable[str], *, refresh: bool = False) -> str | None:
        """The ``Authorization`` value for a request needing ``scopes``; None if none needed."""
        challenge = self.challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            if not self.credentials or not self.credentials.username:
                raise Unauthorized(self._login_hint("authentication required"))
            return basic_header(self.credentials)
        if challenge.scheme != "bearer":
            raise Unauthorized(f"{self.domain} wants {challenge.scheme} authentication")
        key = tuple(sorted(set(scopes)))
        with self._lock:
            token = self._tokens.get(key)
            if token is None or refresh or token.expires <= time.monotonic():
                token = self.fetch_token(challenge, key)
                self._tokens[key] = token
        return f"Bearer {token.value}"

    def fetch_token(
        self, challenge: Challenge, scopes: tuple[str, ...], *, offline: bool = False
    ) -> _Token:
        """Ask the token server (``realm``) for a token covering ``scopes``."""
        if not challenge.realm:
            raise RegistryError(f"{self.domain} sent a Bearer challenge without a realm")
        creds = self.credentials
        try:
            if creds and creds.identity_token:
                response = self.http.post(
                    challenge.realm,
                    data={
                        "grant_type": "refresh_token",
                        "refresh_token": creds.identity_token,
                        "service": challenge.service,
                        "scope": " ".join(scopes),
                        "client_id": CLIENT_ID,
                    },
                )
            else:
                params: list[tuple[str, str | int | float | bool | None]] = [
                    ("client_id", CLIENT_ID)
                ]
                if challenge.service:
                    params.append(("service", challenge.service))
                params += [("scope", scope) for scope in scopes]
                headers = {}
                if creds and creds.username:
                    headers["Authorization"] = basic_header(creds)
                    params.append(("account", creds.username))
                if offline:
                    params.append(("offline_token", "true"))
                response = self.http.get(challenge.realm, params=params, headers=headers)
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach the token server {challenge.realm}: {exc}") from None
        return self._token_from(response)

    def _token_from(self, response: httpx.Response) -> _Token:
        if response.status_code == 401:
            if self.credentials:
                raise Unauthorized(
                    f"unauthorized: incorrect username or password for {self.domain}"
                )
            raise Unauthorized(self._login_hint("authentication required"))
        if response.status_code == 403:
            raise PermissionDenied(f"denied: the token server refused access on {self.domain}")
        if response.status_code == 429 or response.status_code >= 500:
            raise RegistryError(
                f"token server of {self.domain} answered {response.status_code}",
                status=response.status_code,
            )
        if response.status_code != 200:
            raise RegistryError(
                f"token server of {self.domain} answered {response.status_code}: "
                f"{response.text[:200]}",
                status=response.status_code,
            )
        try:
            body = response.json()
            value = str(body.get("token") or body.get("access_token") or "")
            lifetime = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            raise RegistryError(f"the token server of {self.domain} sent invalid JSON") from None
        if not value:
            raise RegistryError(f"the token server of {self.domain} sent no token")
        return _Token(value, time.monotonic() + max(lifetime - _EXPIRY_MARGIN, 1.0))

    def _login_hint(self, what: str) -> str:
        return f"unauthorized: {what} on {self.domain} (log in with: dockyard login {self.domain})"
