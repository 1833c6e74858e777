"""Helpers of the web page tests: forms with CSRF tokens, signing in, and realistic images.

A "rich" image has real gzip'd tar layers (files, a symlink, a whiteout and an opaque
directory), a config with history, env, labels and ports, two platforms in an index, and an
SBOM attached as a referrer, so the tag, layer and referrer pages have something to show.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from tests.support.oci import (
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    descriptor,
    digest_of,
    encode,
    make_image_manifest,
    make_index,
)

PASSWORD = "correct horse battery"
SBOM_TYPE = "application/spdx+json"
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class HttpClient(Protocol):
    """A TestClient or an httpx.Client."""

    def get(self, url: str, **kwargs: Any) -> httpx.Response: ...
    def post(self, url: str, **kwargs: Any) -> httpx.Response: ...
    def put(self, url: str, **kwargs: Any) -> httpx.Response: ...


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    match = _CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def post_form(
    client: HttpClient, url: str, data: dict[str, Any], *, page: str | None = None
) -> httpx.Response:
    """Post a form with the CSRF token of ``page`` (default: ``url``), not following redirects."""
    token = csrf_of(client.get(page or url).text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def web_signup(client: HttpClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Sign up through the form (the client keeps the session cookie)."""
    return post_form(
        client,
        "/signup",
        {
            "username": username,
            "email": f"{username}@example.com",
            "password": password,
            "password_confirm": password,
        },
    )


def web_login(client: HttpClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Sign in through the form."""
    return post_form(client, "/login", {"username": username, "password": password})


# --- realistic images ------------------------------------------------------------------------
def tar_gz(files: dict[str, bytes | str | None]) -> bytes:
    """A gzip'd tar: bytes are files, a str is a symlink target, None is a directory."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.mtime = 1_700_000_000
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
            elif isinstance(content, str):
                info.type = tarfile.SYMTYPE
                info.linkname = content
                archive.addfile(info)
            else:
                info.size = len(content)
                info.mode = 0o644
                archive.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


BASE_LAYER: dict[str, bytes | str | None] = {
    "bin/": None,
    "bin/busybox": b"\x7fELF" + b"x" * 5000,
    "bin/sh": "busybox",
    "etc/": None,
    "etc/os-release": b'NAME="Dockyard Linux"\n',
    "etc/motd": b"welcome\n",
    "tmp/": None,
    "tmp/cache/": None,
    "tmp/cache/a.bin": b"a" * 300,
    "tmp/cache/b.bin": b"b" * 300,
}
APP_LAYER: dict[str, bytes | str | None] = {
    "app/": None,
    "app/server.py": b"print('hello from dockyard')\n" * 20,
    "app/static/": None,
    "app/static/index.html": b"<h1>hi</h1>",
    "etc/os-release": b'NAME="Dockyard Linux"\nVERSION="2"\n',
    "etc/.wh.motd": b"",
    "tmp/cache/.wh..wh..opq": b"",
}


@dataclass(frozen=True)
class RichImage:
    """What :func:`push_rich_image` pushed."""

    name: str
    tag: str
    index_digest: str
    amd64_digest: str
    arm64_digest: str
    layers: tuple[str, ...]
    sbom_digest: str


def _upload(client: HttpClient, name: str, data: bytes, headers: dict[str, str]) -> str:
    digest = digest_of(data)
    response = client.post(
        f"/v2/{name}/blobs/uploads/",
        params={"digest": digest},
        content=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    return digest


def _put(
    client: HttpClient, name: str, ref: str, doc: dict[str, Any], media: str, headers: Any
) -> str:
    payload = encode(doc)
    response = client.put(
        f"/v2/{name}/manifests/{ref}", content=payload, headers={**headers, "Content-Type": media}
    )
    assert response.status_code == 201, response.text
    return digest_of(payload)


def image_config(architecture: str, layers: list[bytes]) -> bytes:
    """An image config with history (one empty step), env, labels, ports and a command."""
    return json.dumps(
        {
            "architecture": architecture,
            "os": "linux",
            "created": "2024-05-01T12:00:00Z",
            "config": {
                "Env": ["PATH=/bin", "APP_MODE=production"],
                "Entrypoint": ["/bin/sh", "-c"],
                "Cmd": ["python /app/server.py"],
                "WorkingDir": "/app",
                "ExposedPorts": {"8080/tcp": {}},
                "Labels": {"org.opencontainers.image.source": "https://example.com/app"},
            },
            "rootfs": {
                "type": "layers",
                "diff_ids": [digest_of(gzip.decompress(x)) for x in layers],
            },
            "history": [
                {
                    "created_by": "/bin/sh -c #(nop) ADD file:base in / ",
                    "created": "2024-05-01T11:00:00Z",
                },
                {"created_by": "/bin/sh -c #(nop)  ENV APP_MODE=production", "empty_layer": True},
                {"created_by": "COPY app /app # buildkit", "created": "2024-05-01T12:00:00Z"},
                {
                    "created_by": '/bin/sh -c #(nop)  CMD ["python /app/server.py"]',
                    "empty_layer": True,
                },
            ],
        },
        sort_keys=True,
    ).encode()


def push_rich_image(
    client: HttpClient, name: str, tag: str = "latest", token: str | None = None
) -> RichImage:
    """Push a two-platform image with real layers, and an SBOM referring to the amd64 image."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    layers = [tar_gz(BASE_LAYER), tar_gz(APP_LAYER)]
    layer_digests = tuple(_upload(client, name, layer, headers) for layer in layers)
    children: dict[str, str] = {}
    for architecture in ("amd64", "arm64"):
        config = image_config(architecture, layers)
        _upload(client, name, config, headers)
        doc = make_image_manifest(
            descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER, layer) for layer in layers]
        )
        children[architecture] = _put(
            client, name, digest_of(encode(doc)), doc, OCI_MANIFEST, headers
        )
    index = make_index(
        [
            {
                "mediaType": OCI_MANIFEST,
                "digest": children[arch],
                "size": len(
                    encode(
                        make_image_manifest(
                            descriptor(OCI_CONFIG, image_config(arch, layers)),
                            [descriptor(OCI_LAYER, layer) for layer in layers],
                        )
                    )
                ),
                "platform": {"os": "linux", "architecture": arch},
            }
            for arch in ("amd64", "arm64")
        ]
    )
    index_digest = _put(client, name, tag, index, OCI_INDEX, headers)
    sbom = json.dumps({"spdxVersion": "SPDX-2.3", "name": name}).encode()
    _upload(client, name, sbom, headers)
    _upload(client, name, b"{}", headers)
    amd64_size = _manifest_size(client, name, children["amd64"], headers)
    sbom_doc = make_image_manifest(
        {"mediaType": OCI_EMPTY, "digest": digest_of(b"{}"), "size": 2},
        [descriptor(SBOM_TYPE, sbom)],
        artifact_type=SBOM_TYPE,
        subject={"mediaType": OCI_MANIFEST, "digest": children["amd64"], "size": amd64_size},
        annotations={"org.opencontainers.image.created": "2024-05-01T12:00:00Z"},
    )
    sbom_digest = _put(client, name, digest_of(encode(sbom_doc)), sbom_doc, OCI_MANIFEST, headers)
    return RichImage(
        name, tag, index_digest, children["amd64"], children["arm64"], layer_digests, sbom_digest
    )


def _manifest_size(client: HttpClient, name: str, digest: str, headers: dict[str, str]) -> int:
    response = client.get(
        f"/v2/{name}/manifests/{digest}", headers={**headers, "Accept": OCI_MANIFEST}
    )
    assert response.status_code == 200, response.text
    return len(response.content)
