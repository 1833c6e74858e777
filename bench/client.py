"""A minimal registry client on ``http.client``: one keep-alive connection, little overhead.

Bulk transfers go through this client (not httpx) so that the client is not what is measured:
bodies are sent with one ``sendall`` and read with ``readinto`` into a reused buffer.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from bench.data import MANIFEST_ACCEPT, MIB, OCI_MANIFEST, Blob, SmallImage

Body = bytes | bytearray | memoryview | Iterable[memoryview] | None

#: How a server takes a monolithic upload: one ``POST ?digest=`` with the body (OCI spec
#: "single POST"), or ``POST`` then ``PUT ?digest=`` with the body (Distribution 2.8).
SINGLE_POST = "POST ?digest="
POST_PUT = "POST + PUT ?digest="


class RegistryError(RuntimeError):
    """The server answered something the benchmark did not expect."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def location_target(location: str) -> str:
    """The request target (path and query) of a ``Location`` or ``Link`` URL."""
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def with_query(target: str, **params: str) -> str:
    separator = "&" if "?" in target else "?"
    return f"{target}{separator}{urlencode(params)}"


def next_link(link_header: str | None) -> str | None:
    """The target of ``Link: <...>; rel="next"``, if any."""
    if not link_header:
        return None
    for part in link_header.split(","):
        url, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            return location_target(url.strip().strip("<>"))
    return None


class RegistryClient:
    """Requests to one registry over one keep-alive connection (reopened when closed)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float = 300.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._conn: http.client.HTTPConnection | None = None
        self._upload_method: str | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    # --- raw requests ----------------------------------------------------------------------
    def send(
        self, method: str, target: str, body: Body = None, headers: Mapping[str, str] | None = None
    ) -> http.client.HTTPResponse:
        """Send a request and return the response with its body unread."""
        all_headers = {**self.headers, **(headers or {})}
        retry = body is None
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, target, body=body, headers=all_headers)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed while idle: retry once when there
                # is no body to send again.
                self.close()
                if not retry or attempt:
                    raise
        raise AssertionError("unreachable")

    def request(
        self,
        method: str,
        target: str,
        body: Body = None,
        headers: Mapping[str, str] | None = None,
        expect: Iterable[int] = (200,),
    ) -> Response:
        response = self.send(method, target, body, headers)
        data = response.read()
        result = Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        if response.will_close:
            self.close()
        if result.status not in tuple(expect):
            raise RegistryError(
                f"{method} {target} -> {result.status}: {data[:300].decode(errors='replace')}"
            )
        return result

    # --- blobs -------------------------------------------------------------------------------
    def upload_method(self, repo: str) -> str:
        """Find out once whether the server takes a blob in a single ``POST ?digest=``."""
        if self._upload_method is None:
            probe = Blob.of(b"dockyard-bench upload probe")
            response = self.request(
                "POST",
                with_query(f"/v2/{repo}/blobs/uploads/", digest=probe.digest),
                body=probe.data,
                headers={"Content-Type": "application/octet-stream"},
                expect=(201, 202),
            )
            if response.status == 201:
                self._upload_method = SINGLE_POST
            else:
                # The server ignored the body; finish the session it opened the ordinary way.
                self._finish_upload(response, probe.data, probe.digest)
                self._upload_method = POST_PUT
        return self._upload_method

    def start_upload(self, repo: str) -> str:
        response = self.request("POST", f"/v2/{repo}/blobs/uploads/", expect=(202,))
        return self._location(response)

    def push_blob(self, repo: str, data: Body, digest: str, size: int | None = None) -> str:
        """Monolithic upload (the method ``upload_method`` found); the upload method used."""
        method = self.upload_method(repo)
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            headers["Content-Length"] = str(size)
        if method == SINGLE_POST:
            target = with_query(f"/v2/{repo}/blobs/uploads/", digest=digest)
            self.request("POST", target, body=data, headers=headers, expect=(201,))
        else:
            location = self.start_upload(repo)
            target = with_query(location, digest=digest)
            self.request("PUT", target, body=data, headers=headers, expect=(201,))
        return method

    def push_blob_chunked(self, repo: str, data: memoryview, digest: str, chunk: int) -> int:
        """POST, PATCH ``chunk`` bytes at a time (with Content-Range), PUT ``?digest=``."""
        location = self.start_upload(repo)
        offset = 0
        patches = 0
        while offset < len(data):
            part = data[offset : offset + chunk]
            response = self.request(
                "PATCH",
                location,
                body=part,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(part) - 1}",
                },
                expect=(202,),
            )
            location = self._location(response)
            offset += len(part)
            patches += 1
        self.request("PUT", with_query(location, digest=digest), expect=(201,))
        return patches

    def _finish_upload(self, response: Response, data: bytes, digest: str) -> None:
        target = with_query(self._location(response), digest=digest)
        headers = {"Content-Type": "application/octet-stream"}
        self.request("PUT", target, body=data, headers=headers, expect=(201,))

    @staticmethod
    def _location(response: Response) -> str:
        location = response.header("location")
        if not location:
            raise RegistryError(f"no Location in a {response.status} answer")
        return location_target(location)

    def blob_exists(self, repo: str, digest: str) -> bool:
        response = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", expect=(200, 404))
        return response.status == 200

    def ensure_blob(self, repo: str, blob: Blob) -> None:
        if not self.blob_exists(repo, blob.digest):
            self.push_blob(repo, blob.data, blob.digest)

    def get_blob_into(self, repo: str, digest: str, buffer: memoryview) -> int:
        """GET a blob into ``buffer`` (reads it all); the number of bytes."""
        response = self.send("GET", f"/v2/{repo}/blobs/{digest}")
        if response.status != 200:
            body = response.read()
            raise RegistryError(f"GET blob -> {response.status}: {body[:300]!r}")
        total = 0
        while total < len(buffer):
            count = response.readinto(buffer[total : total + 4 * MIB])
            if not count:
                break
            total += count
        if response.read(1):
            raise RegistryError("blob is larger than expected")
        if response.will_close:
            self.close()
        return total

    def get_range(self, repo: str, digest: str, start: int, length: int) -> Response:
        return self.request(
            "GET",
            f"/v2/{repo}/blobs/{digest}",
            headers={"Range": f"bytes={start}-{start + length - 1}"},
            expect=(206,),
        )

    # --- manifests and tags ------------------------------------------------------------------
    def put_manifest(
        self, repo: str, reference: str, manifest: bytes, media_type: str = OCI_MANIFEST
    ) -> None:
        self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            body=manifest,
            headers={"Content-Type": media_type},
            expect=(201,),
        )

    def get_manifest(self, repo: str, reference: str) -> Response:
        return self.request(
            "GET", f"/v2/{repo}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}
        )

    def push_image(self, repo: str, image: SmallImage, tag: str) -> None:
        """Push the blobs an image needs (when missing) and its manifest under ``tag``."""
        for blob in image.blobs:
            self.ensure_blob(repo, blob)
        self.put_manifest(repo, tag, image.manifest.data)
