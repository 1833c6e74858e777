"""An in-memory registry behind ``httpx.MockTransport``, with faults to inject.

Enough of the distribution API for the client's unit tests: the token dance, manifests, blobs
with Range, uploads (POST/PATCH/PUT), mounts, tag pagination; and failures on demand.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

TOKEN = "good-token"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class BrokenStream(httpx.SyncByteStream):
    """A body that sends ``data`` and then breaks off, as a dropped connection does."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise httpx.ReadError("connection reset by peer")


@dataclass
class FakeRegistry:
    """State and behaviour of one fake registry."""

    users: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    uploads: dict[str, bytearray] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    #: (method, path regex) -> list of statuses to answer before behaving (consumed in order).
    faults: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    #: Blob digests whose next GET breaks off after this many bytes.
    break_after: dict[str, int] = field(default_factory=dict)
    scopes_seen: list[str] = field(default_factory=list)
    #: Which repositories may serve which blobs.
    links: set[tuple[str, str]] = field(default_factory=set)
    page_size: int = 2

    @property
    def auth(self) -> bool:
        return bool(self.users)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # --- helpers for tests ---------------------------------------------------------------
    def add_blob(self, data: bytes, name: str) -> str:
        digest = sha256(data)
        self.blobs[digest] = data
        self.links.add((name, digest))
        return digest

    def add_manifest(self, name: str, tag: str, doc: dict[str, Any]) -> str:
        data = json.dumps(doc).encode()
        digest = sha256(data)
        media_type = str(doc.get("mediaType", "application/vnd.oci.image.manifest.v1+json"))
        self.manifests[(name, digest)] = (data, media_type)
        if tag:
            self.manifests[(name, tag)] = (data, media_type)
        return digest

    def count(self, method: str, pattern: str) -> int:
        return sum(
            1 for r in self.requests if r.method == method and re.search(pattern, r.url.path)
        )

    # --- the server ----------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        for (method, pattern), statuses in self.faults.items():
            if request.method == method and re.search(pattern, path) and statuses:
                status = statuses.pop(0)
                headers = {"Retry-After": "2"} if status == 429 else {}
                return httpx.Response(status, headers=headers, json={"errors": []})
        if path == "/token":
            return self._token(request)
        if self.auth and request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(
                401,
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://auth.test/token",service="fake"'
                },
                json={"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
            )
        if path == "/v2/":
            return httpx.Response(200, json={})
        if match := re.fullmatch(r"/v2/(.+)/tags/list", path):
            return self._tags(request, match.group(1))
        if match := re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", path):
            return self._manifest(request, match.group(1), match.group(2))
        if match := re.fullmatch(r"/v2/(.+)/blobs/uploads/([^/]*)", path):
            return self._upload(request, match.group(1), match.group(2))
        if match := re.fullmatch(r"/v2/(.+)/blobs/([^/]+)", path):
            return self._blob(request, match.group(1), match.group(2))
        return httpx.Response(404, json={"errors": [{"code": "NOT_FOUND", "message": path}]})

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.scopes_seen.extend(request.url.params.get_list("scope"))
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(user) != password:
                return httpx.Response(401, json={"errors": [{"code": "UNAUTHORIZED"}]})
        return httpx.Response(200, json={"token": TOKEN, "expires_in": 300})

    def _tags(self, request: httpx.Request, name: str) -> httpx.Response:
        tags = sorted(t for (n, t) in self.manifests if n == name and ":" not in t)
        last = request.url.params.get("last")
        if last:
            tags = [t for t in tags if t > last]
        page, rest = tags[: self.page_size], tags[self.page_size :]
        headers = {}
        if rest:
            headers["Link"] = (
                f'</v2/{name}/tags/list?n={self.page_size}&last={page[-1]}>; rel="next"'
            )
        return httpx.Response(200, headers=headers, json={"name": name, "tags": page})

    def _manifest(self, request: httpx.Request, name: str, reference: str) -> httpx.Response:
        if request.method == "PUT":
            data = request.read()
            digest = sha256(data)
            media_type = request.headers["content-type"]
            self.manifests[(name, digest)] = (data, media_type)
            self.manifests[(name, reference)] = (data, media_type)
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        found = self.manifests.get((name, reference))
        if found is None:
            return httpx.Response(
                404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
            )
        if request.method == "DELETE":
            del self.manifests[(name, reference)]
            return httpx.Response(202)
        data, media_type = found
        headers = {"Content-Type": media_type, "Docker-Content-Digest": sha256(data)}
        return httpx.Response(
            200, headers=headers, content=b"" if request.method == "HEAD" else data
        )

    def _blob(self, request: httpx.Request, name: str, digest: str) -> httpx.Response:
        data = self.blobs.get(digest)
        if data is None or (name, digest) not in self.links:
            return httpx.Response(404, json={"errors": [{"code": "BLOB_UNKNOWN"}]})
        if request.method == "HEAD":
            return httpx.Response(200, headers={"Content-Length": str(len(data))})
        offset, status, headers = 0, 200, {}
        if match := re.fullmatch(r"bytes=(\d+)-", request.headers.get("range", "")):
            offset, status = int(match.group(1)), 206
            headers["Content-Range"] = f"bytes {offset}-{len(data) - 1}/{len(data)}"
        body = data[offset:]
        cut = self.break_after.pop(digest, None)
        if cut is not None:
            return httpx.Response(status, headers=headers, stream=BrokenStream(body[:cut]))
        return httpx.Response(status, headers=headers, content=body)

    def _upload(self, request: httpx.Request, name: str, upload_id: str) -> httpx.Response:
        params = request.url.params
        if request.method == "POST":
            mount, source = params.get("mount"), params.get("from")
            if mount and source and (source, mount) in self.links:
                self.links.add((name, mount))
                return httpx.Response(201, headers={"Docker-Content-Digest": mount})
            new_id = f"u{len(self.uploads) + 1}"
            self.uploads[new_id] = bytearray()
            return httpx.Response(202, headers={"Location": f"/v2/{name}/blobs/uploads/{new_id}"})
        buffer = self.uploads.get(upload_id)
        if buffer is None:
            return httpx.Response(404, json={"errors": [{"code": "BLOB_UPLOAD_UNKNOWN"}]})
        buffer += request.read()
        if request.method == "PATCH":
            return httpx.Response(
                202, headers={"Location": f"/v2/{name}/blobs/uploads/{upload_id}"}
            )
        digest = params.get("digest", "")
        if sha256(bytes(buffer)) != digest:
            return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID"}]})
        self.blobs[digest] = bytes(buffer)
        self.links.add((name, digest))
        del self.uploads[upload_id]
        return httpx.Response(201, headers={"Docker-Content-Digest": digest})
