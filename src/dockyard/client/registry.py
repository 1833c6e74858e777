"""An HTTP client for one registry: the distribution API with auth, retries and clear errors."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from dockyard.client.auth import Authenticator
from dockyard.client.credentials import Credentials
from dockyard.client.errors import (
    NotFound,
    PermissionDenied,
    RegistryError,
    Unauthorized,
    Unreachable,
    Unsupported,
    VerificationFailed,
)
from dockyard.client.reference import (
    DEFAULT_DOMAIN,
    DOCKER_HUB_REGISTRY,
    is_plain_http_host,
)
from dockyard.client.retry import RetryPolicy, retry_after_seconds, with_retries
from dockyard.oci import mediatypes as mt

MANIFEST_ACCEPT = ", ".join(
    [mt.OCI_INDEX, mt.OCI_MANIFEST, mt.DOCKER_MANIFEST_LIST, mt.DOCKER_MANIFEST]
)
_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
#: Body: raw bytes, or a factory giving a fresh iterator per attempt (streams).
Body = bytes | Callable[[], Iterable[bytes]] | None


def _user_agent() -> str:
    try:
        return f"dockyard/{importlib.metadata.version('dockyard')}"
    except importlib.metadata.PackageNotFoundError:
        return "dockyard"


def pull_scope(name: str) -> str:
    return f"repository:{name}:pull"


def push_scope(name: str) -> str:
    return f"repository:{name}:pull,push"


def delete_scope(name: str) -> str:
    return f"repository:{name}:delete"


@dataclass(frozen=True)
class FetchedManifest:
    """A manifest's bytes, media type and digest (verified against the bytes)."""

    data: bytes
    media_type: str
    digest: str

    def json(self) -> dict[str, Any]:
        doc = json.loads(self.data)
        if not isinstance(doc, dict):
            raise RegistryError("the manifest is not a JSON object")
        return doc


@dataclass(frozen=True)
class SearchResult:
    """One ``/v1/search`` result, as ``docker search`` shows it."""

    name: str
    description: str
    star_count: int
    is_official: bool
    is_automated: bool


class Registry:
    """The distribution API of one registry (``domain`` as references name it)."""

    def __init__(
        self,
        domain: str,
        *,
        credentials: Credentials | None = None,
        insecure: bool = False,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.domain = domain
        self.host = DOCKER_HUB_REGISTRY if domain == DEFAULT_DOMAIN else domain
        self.insecure = insecure
        self.retry = retry or RetryPolicy()
        plain = is_plain_http_host(self.host)
        self.base_url = f"{'http' if plain else 'https'}://{self.host}"
        self._may_fall_back = insecure and not plain
        self.http = httpx.Client(
            verify=not insecure,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            follow_redirects=True,
            headers={"User-Agent": _user_agent()},
            transport=transport,
        )
        self.auth = Authenticator(self.http, domain, credentials)
        self._ping_retry = replace(self.retry, attempts=min(self.retry.attempts, 3))
        self._pinged = False
        self._ping_lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if "://" in path else urljoin(self.base_url + "/", path.lstrip("/"))

    def ensure_pinged(self) -> None:
        """Ping once per client, before the first real request."""
        if not self._pinged:
            with self._ping_lock:
                if not self._pinged:
                    self._ping_once()
                    self._pinged = True

    def ping(self) -> httpx.Response:
        """``GET /v2/``: check the API and learn how to authenticate."""
        with self._ping_lock:
            response = self._ping_once()
            self._pinged = True
            return response

    def _ping_once(self) -> httpx.Response:
        def once() -> httpx.Response:
            return self._send("GET", "/v2/", headers={}, params=None, content=None)

        try:
            response = with_retries(once, self._ping_retry)
        except Unreachable:
            if not self._may_fall_back:
                raise
            self.base_url = f"http://{self.host}"
            self._may_fall_back = False
            response = with_retries(once, self._ping_retry)
        if response.status_code == 401:
            self.auth.learn(response)
        elif response.status_code >= 400:
            raise self._error(response, "the registry API")
        return response

    def _send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        params: Any,
        content: Body,
        stream: bool = False,
    ) -> httpx.Response:
        body = content() if callable(content) else content
        request = self.http.build_request(
            method, self.url(path), headers=headers, params=params, content=body
        )
        try:
            return self.http.send(request, stream=stream)
        except httpx.TransportError as exc:
            raise Unreachable(self._unreachable(exc)) from None

    def _unreachable(self, exc: httpx.TransportError) -> str:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.ConnectError) and "SSL" in reason and not self.insecure:
            reason += " (use --insecure for a registry without valid TLS)"
        return f"cannot reach registry {self.host}: {reason}"

    def request(
        self,
        method: str,
        path: str,
        *,
        scopes: Iterable[str] = (),
        what: str = "",
        params: Any = None,
        headers: dict[str, str] | None = None,
        content: Body = None,
        stream: bool = False,
        ok: Iterable[int] = (200,),
        retry: bool = True,
    ) -> httpx.Response:
        """Send a request with auth; map failures to client errors (retrying transient ones)."""
        scopes = tuple(scopes)
        accepted = tuple(ok)

        def attempt() -> httpx.Response:
            return self._authorized(
                method, path, scopes, what, params, headers, content, stream, accepted
            )

        self.ensure_pinged()  # retried on its own: an unreachable registry fails fast
        return with_retries(attempt, self.retry if retry else RetryPolicy(attempts=1))

    def _authorized(
        self,
        method: str,
        path: str,
        scopes: tuple[str, ...],
        what: str,
        params: Any,
        headers: dict[str, str] | None,
        content: Body,
        stream: bool,
        ok: tuple[int, ...],
    ) -> httpx.Response:
        response: httpx.Response | None = None
        for refresh in (False, True):
            sent = dict(headers or {})
            auth = self.auth.header(scopes, refresh=refresh)
            if auth:
                sent["Authorization"] = auth
            response = self._send(
                method, path, headers=sent, params=params, content=content, stream=stream
            )
            if response.status_code != 401:
                break
            response.close()
            challenge = self.auth.learn(response)
            if challenge is None:
                break
            scopes = tuple(sorted(set(scopes) | set(challenge.scopes)))
        assert response is not None
        if response.status_code in ok:
            return response
        if stream:
            response.read()
            response.close()
        raise self._error(response, what)

    def _error(self, response: httpx.Response, what: str) -> Exception:
        status = response.status_code
        codes, message = _error_body(response)
        subject = what or "the resource"
        if status == 401:
            if self.auth.credentials:
                return PermissionDenied(
                    f"denied: requested access to {subject} on {self.host} is denied"
                    + (f" ({message})" if message else "")
                )
            return Unauthorized(
                f"unauthorized: authentication required for {subject} on {self.host} "
                f"(log in with: dockyard login {self.domain})"
            )
        if status == 403 or "DENIED" in codes:
            return PermissionDenied(f"denied: {message or 'requested access is denied'}: {subject}")
        if status == 404:
            return NotFound(f"{subject}: not found" + (f" ({message})" if message else ""))
        if status == 405 or "UNSUPPORTED" in codes:
            return Unsupported(
                f"{self.host} does not support this for {subject}: "
                f"{message or 'method not allowed'}",
                status=status,
            )
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        text = message or response.reason_phrase or "error"
        return RegistryError(
            f"{self.host} answered {status} for {subject}: {text}",
            status=status,
            retry_after=retry_after,
        )

    # --- manifests -----------------------------------------------------------------------
    def get_manifest(self, name: str, reference: str, *, what: str = "") -> FetchedManifest:
        """``GET /v2/<name>/manifests/<reference>``, checked against its digest."""
        response = self.request(
            "GET",
            f"/v2/{name}/manifests/{reference}",
            scopes=[pull_scope(name)],
            what=what or f"manifest {self.domain}/{name}:{reference}".replace(":sha", "@sha"),
            headers={"Accept": MANIFEST_ACCEPT},
        )
        data = response.content
        media_type = mt.base_media_type(response.headers.get("content-type"))
        if media_type not in mt.MANIFEST_TYPES:
            media_type = _media_type_of(data) or media_type
        digest = check_manifest_digest(data, reference, response.headers)
        return FetchedManifest(data, media_type, digest)

    def head_manifest(self, name: str, reference: str) -> str | None:
        """The digest of ``reference``, or None when it does not exist."""
        try:
            response = self.request(
                "HEAD",
                f"/v2/{name}/manifests/{reference}",
                scopes=[pull_scope(name)],
                headers={"Accept": MANIFEST_ACCEPT},
            )
        except NotFound:
            return None
        digest = response.headers.get("docker-content-digest")
        if digest:
            return str(digest)
        return self.get_manifest(name, reference).digest

    def put_manifest(self, name: str, reference: str, data: bytes, media_type: str) -> str:
        """``PUT`` a manifest under a tag or digest; the digest the registry reports."""
        response = self.request(
            "PUT",
            f"/v2/{name}/manifests/{reference}",
            scopes=[push_scope(name)],
            what=f"{self.domain}/{name}",
            headers={"Content-Type": media_type},
            content=data,
            ok=(200, 201, 202),
        )
        expected = "sha256:" + hashlib.sha256(data).hexdigest()
        reported = response.headers.get("docker-content-digest", expected)
        if reported != expected:
            raise VerificationFailed(
                f"{self.host} stored the manifest as {reported}, expected {expected}"
            )
        return expected

    def delete_manifest(self, name: str, reference: str) -> None:
        """``DELETE /v2/<name>/manifests/<reference>``."""
        self.request(
            "DELETE",
            f"/v2/{name}/manifests/{reference}",
            scopes=[delete_scope(name)],
            what=f"{self.domain}/{name}:{reference}".replace(":sha", "@sha"),
            ok=(200, 202, 204),
        )

    # --- blobs ---------------------------------------------------------------------------
    def has_blob(self, name: str, digest: str) -> bool:
        """``HEAD /v2/<name>/blobs/<digest>``."""
        try:
            self.request(
                "HEAD",
                f"/v2/{name}/blobs/{digest}",
                scopes=[pull_scope(name)],
                what=f"blob {digest}",
            )
        except NotFound:
            return False
        return True

    def open_blob(
        self, name: str, digest: str, offset: int = 0, *, retry: bool = True
    ) -> httpx.Response:
        """A streamed ``GET`` of a blob from ``offset`` (206 or 200); the caller closes it."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        return self.request(
            "GET",
            f"/v2/{name}/blobs/{digest}",
            scopes=[pull_scope(name)],
            what=f"blob {digest} of {self.domain}/{name}",
            headers=headers,
            stream=True,
            ok=(200, 206, 416) if offset else (200,),
            retry=retry,
        )

    def get_blob(self, name: str, digest: str) -> bytes:
        """A small blob (a config) read whole and verified."""
        response = self.request(
            "GET",
            f"/v2/{name}/blobs/{digest}",
            scopes=[pull_scope(name)],
            what=f"blob {digest} of {self.domain}/{name}",
        )
        verify_bytes(response.content, digest)
        return response.content

    def mount_blob(self, name: str, digest: str, source: str) -> bool:
        """Cross-repository mount of ``digest`` from ``source``; False if the registry declined."""
        response = self.request(
            "POST",
            f"/v2/{name}/blobs/uploads/",
            scopes=[push_scope(name), pull_scope(source)],
            what=f"{self.domain}/{name}",
            params={"mount": digest, "from": source},
            ok=(201, 202),
        )
        if response.status_code == 202:
            self._cancel(response, name)
            return False
        return True

    def _cancel(self, response: httpx.Response, name: str) -> None:
        location = response.headers.get("location")
        if location:
            with contextlib.suppress(RegistryError):
                self.request(
                    "DELETE", location, scopes=[push_scope(name)], ok=(200, 202, 204), retry=False
                )

    def upload_blob(
        self,
        name: str,
        digest: str,
        size: int,
        body: Callable[[], Iterable[bytes]],
    ) -> None:
        """Upload a blob: ``POST`` a session, ``PATCH`` the bytes, ``PUT ?digest=``.

        ``body`` is called once per attempt; the whole upload is retried on transient errors.
        """

        def attempt() -> None:
            started = self.request(
                "POST",
                f"/v2/{name}/blobs/uploads/",
                scopes=[push_scope(name)],
                what=f"{self.domain}/{name}",
                ok=(202,),
                retry=False,
            )
            location = self._location(started)
            patched = self.request(
                "PATCH",
                location,
                scopes=[push_scope(name)],
                what=f"blob {digest}",
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                content=body,
                ok=(202, 204),
                retry=False,
            )
            location = self._location(patched, default=location)
            self.request(
                "PUT",
                _with_query(location, {"digest": digest}),
                scopes=[push_scope(name)],
                what=f"blob {digest}",
                headers={"Content-Length": "0"},
                ok=(201, 204),
                retry=False,
            )

        with_retries(attempt, self.retry)

    def _location(self, response: httpx.Response, default: str | None = None) -> str:
        location = response.headers.get("location") or default
        if not location:
            raise RegistryError(f"{self.host} started an upload without a Location")
        return urljoin(str(response.url), str(location))

    # --- listings ------------------------------------------------------------------------
    def tags(self, name: str, page_size: int | None = None) -> list[str]:
        """Every tag of ``name``, following ``Link`` pagination."""
        found: list[str] = []
        path: str | None = f"/v2/{name}/tags/list"
        params: dict[str, str] | None = {"n": str(page_size)} if page_size else None
        for _ in range(100_000):
            if path is None:
                break
            response = self.request(
                "GET",
                path,
                scopes=[pull_scope(name)],
                what=f"repository {self.domain}/{name}",
                params=params,
            )
            found.extend(str(t) for t in (response.json().get("tags") or []))
            path, params = next_link(response), None
        return found

    def search(self, term: str, limit: int = 25) -> list[SearchResult]:
        """``GET /v1/search?q=&n=`` as ``docker search`` calls it."""
        try:
            response = self.request(
                "GET",
                "/v1/search",
                what=f"search on {self.host}",
                params={"q": term, "n": str(limit)},
            )
        except NotFound:
            raise NotFound(f"{self.host} offers no search (GET /v1/search: 404)") from None
        try:
            results = response.json().get("results") or []
        except (ValueError, AttributeError):
            raise RegistryError(f"{self.host} sent an invalid search response") from None
        return [
            SearchResult(
                name=str(item.get("name", "")),
                description=str(item.get("description") or ""),
                star_count=int(item.get("star_count") or 0),
                is_official=bool(item.get("is_official")),
                is_automated=bool(item.get("is_automated")),
            )
            for item in results
            if isinstance(item, dict)
        ]


def next_link(response: httpx.Response) -> str | None:
    """The target of a ``Link: <...>; rel="next"`` header, resolved against the request."""
    header = response.headers.get("link")
    match = _LINK_RE.search(header) if header else None
    return urljoin(str(response.url), match.group(1)) if match else None


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _error_body(response: httpx.Response) -> tuple[set[str], str]:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError, UnicodeDecodeError):
        return set(), ""
    codes = {str(e.get("code", "")) for e in errors if isinstance(e, dict)}
    messages = [str(e.get("message", "")) for e in errors if isinstance(e, dict)]
    return codes, "; ".join(m for m in messages if m)


def _media_type_of(data: bytes) -> str | None:
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("mediaType"), str):
        return str(doc["mediaType"])
    if isinstance(doc, dict):
        return mt.OCI_INDEX if "manifests" in doc else mt.OCI_MANIFEST
    return None


def verify_bytes(data: bytes, digest: str) -> None:
    """Raise :class:`VerificationFailed` unless ``data`` has ``digest``."""
    algorithm, _, expected = digest.partition(":")
    try:
        actual = hashlib.new(algorithm, data).hexdigest()
    except ValueError:
        raise VerificationFailed(f"unsupported digest algorithm in {digest}") from None
    if actual != expected:
        raise VerificationFailed(f"content does not match {digest} (got {algorithm}:{actual})")


def check_manifest_digest(data: bytes, reference: str, headers: httpx.Headers) -> str:
    """The manifest's digest: verified against the reference or the registry's header."""
    if ":" in reference:
        verify_bytes(data, reference)
        return reference
    reported = str(headers.get("docker-content-digest") or "")
    if reported and not reported.startswith("sha256:"):
        verify_bytes(data, reported)
        return reported
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if reported and reported != digest:
        raise VerificationFailed(f"the manifest does not match its digest {reported}")
    return digest
