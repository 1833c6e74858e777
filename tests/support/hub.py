"""Content for Hub API tests: images, indexes and artifacts pushed through the registry API.

Every helper takes an ``httpx.Client`` with a ``base_url`` (Starlette's ``TestClient`` is one),
so the same code fills an in-process app and a live server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.testclient import TestClient

from dockyard.auth.credentials import principal_for
from dockyard.auth.scopes import Scope
from dockyard.auth.service import TokenService
from tests.support.auth import run, store
from tests.support.oci import (
    DOCKER_MANIFEST_LIST,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    descriptor,
    digest_of,
    encode,
)

OCI_EMPTY_BYTES = b"{}"

#: The fields of a repository in Hub API answers.
REPOSITORY_FIELDS = {
    "user",
    "name",
    "namespace",
    "repository_type",
    "status",
    "status_description",
    "description",
    "is_private",
    "is_automated",
    "is_official",
    "star_count",
    "pull_count",
    "last_updated",
    "date_registered",
    "affiliation",
    "has_starred",
    "full_description",
    "permissions",
}


@dataclass(frozen=True)
class Pushed:
    """A manifest in the registry: digest, media type and the compressed size of its image."""

    digest: str
    media_type: str
    payload: bytes
    #: config + layers for an image manifest; the payload's length for an index.
    total_size: int
    config_digest: str | None = None


def registry_token(
    http: httpx.Client, username: str, secret: str, name: str, actions: str = "pull,push"
) -> str:
    """A registry token for ``repository:<name>:<actions>`` (Basic credentials)."""
    response = http.get(
        "/token",
        params={"service": "dockyard", "scope": f"repository:{name}:{actions}"},
        auth=(username, secret),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def _headers(token: str | None, content_type: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def upload(http: httpx.Client, name: str, data: bytes, token: str | None) -> str:
    """A monolithic blob upload; the blob's digest."""
    digest = digest_of(data)
    response = http.post(
        f"/v2/{name}/blobs/uploads/",
        params={"digest": digest},
        content=data,
        headers=_headers(token, "application/octet-stream"),
    )
    assert response.status_code == 201, response.text
    return digest


def put(
    http: httpx.Client,
    name: str,
    reference: str,
    document: dict[str, Any],
    media_type: str,
    token: str | None,
) -> bytes:
    """``PUT`` a manifest document; its bytes."""
    payload = encode(document)
    response = http.put(
        f"/v2/{name}/manifests/{reference}", content=payload, headers=_headers(token, media_type)
    )
    assert response.status_code == 201, response.text
    return payload


def push_image(
    http: httpx.Client,
    name: str,
    tag: str | None,
    token: str | None = None,
    *,
    os: str = "linux",
    architecture: str = "amd64",
    variant: str | None = None,
    seed: str = "",
    layer_size: int = 100,
) -> Pushed:
    """An image whose config declares its platform, pushed under ``tag`` (or by digest)."""
    config: dict[str, Any] = {
        "architecture": architecture,
        "os": os,
        "rootfs": {"type": "layers", "diff_ids": []},
        "config": {"Labels": {"seed": seed or f"{name}:{tag}:{os}/{architecture}"}},
    }
    if variant:
        config["variant"] = variant
    config_bytes = json.dumps(config, sort_keys=True).encode()
    layer = (f"{seed or name}:{tag}:{os}/{architecture}/{variant}".encode() * layer_size)[
        :layer_size
    ]
    upload(http, name, config_bytes, token)
    upload(http, name, layer, token)
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config_bytes),
        "layers": [descriptor(OCI_LAYER, layer)],
    }
    payload = encode(document)
    put(http, name, tag or digest_of(payload), document, OCI_MANIFEST, token)
    return Pushed(
        digest_of(payload),
        OCI_MANIFEST,
        payload,
        len(config_bytes) + len(layer),
        digest_of(config_bytes),
    )


def push_attestation(http: httpx.Client, name: str, token: str | None, subject: str) -> Pushed:
    """A BuildKit-style attestation manifest (pushed by digest)."""
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "s": subject}).encode()
    upload(http, name, OCI_EMPTY_BYTES, token)
    upload(http, name, statement, token)
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, OCI_EMPTY_BYTES),
        "layers": [descriptor("application/vnd.in-toto+json", statement)],
    }
    payload = encode(document)
    put(http, name, digest_of(payload), document, OCI_MANIFEST, token)
    return Pushed(digest_of(payload), OCI_MANIFEST, payload, 2 + len(statement))


def push_index(
    http: httpx.Client,
    name: str,
    tag: str,
    token: str | None,
    children: list[tuple[Pushed, dict[str, str] | None]],
    *,
    attestations: Sequence[tuple[Pushed, str]] = (),
    docker: bool = False,
) -> Pushed:
    """An index (or Docker manifest list) of ``children`` with their platforms."""
    entries = [
        descriptor(child.media_type, child.payload, platform=platform)
        for child, platform in children
    ]
    for attestation, subject in attestations:
        entries.append(
            descriptor(
                attestation.media_type,
                attestation.payload,
                platform={"os": "unknown", "architecture": "unknown"},
                annotations={
                    "vnd.docker.reference.type": "attestation-manifest",
                    "vnd.docker.reference.digest": subject,
                },
            )
        )
    media_type = DOCKER_MANIFEST_LIST if docker else OCI_INDEX
    document = {"schemaVersion": 2, "mediaType": media_type, "manifests": entries}
    payload = put(http, name, tag, document, media_type, token)
    return Pushed(digest_of(payload), media_type, payload, len(payload))


def push_artifact(
    http: httpx.Client, name: str, tag: str, token: str | None, data: bytes = b"artifact"
) -> Pushed:
    """An OCI artifact: empty config, one blob, an ``artifactType``."""
    upload(http, name, OCI_EMPTY_BYTES, token)
    upload(http, name, data, token)
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.thing",
        "config": descriptor(OCI_EMPTY, OCI_EMPTY_BYTES),
        "layers": [descriptor("application/octet-stream", data)],
    }
    payload = put(http, name, tag, document, OCI_MANIFEST, token)
    return Pushed(digest_of(payload), OCI_MANIFEST, payload, 2 + len(data), digest_of(b"{}"))


def hub_call(
    http: httpx.Client,
    method: str,
    path: str,
    token: str | None = None,
    *,
    expect: int = 200,
    **kwargs: Any,
) -> Any:
    """One Hub API call; asserts the status and returns the JSON body (None when empty)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = http.request(method, path, headers=headers, **kwargs)
    assert response.status_code == expect, (
        f"{method} {path}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else None


def mint_hub_token(client: TestClient, username: str) -> str:
    """A Hub token for ``username`` minted in-process (no password check: argon2 is slow)."""
    user = run(client, store(client).user_by_name, username)
    assert user is not None
    tokens: TokenService = client.app.state.auth.tokens  # type: ignore[attr-defined]
    return tokens.hub_token(principal_for(user))


def mint_registry_token(
    client: TestClient, username: str, name: str, actions: str = "pull,push"
) -> str:
    """A registry token for ``repository:<name>:<actions>`` minted in-process, as ``/token``
    would grant it to ``username`` (without the password check)."""
    auth = client.app.state.auth  # type: ignore[attr-defined]
    token: str = auth.tokens.authority.issue(
        subject=username,
        audience=auth.service,
        access=[Scope("repository", name, frozenset(actions.split(",")))],
    )[0]
    return token
