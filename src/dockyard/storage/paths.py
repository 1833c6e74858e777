"""Every storage key is built here, and only here.

Layout::

    blobs/<algorithm>/<first two hex chars>/<encoded>/data
    uploads/<upload id>/...            (driver-specific; listed by ``list_uploads``)
    cache/layer-files/v1/<algorithm>/<first two hex chars>/<encoded>.json
    health/                            (never written: readiness checks list it)

A valid key is slash-separated components matching ``[A-Za-z0-9_][A-Za-z0-9._-]*``: no empty
component, no ``.`` or ``..``, nothing absolute. Drivers refuse other keys.
"""

from __future__ import annotations

import re

from dockyard.oci.digest import Digest, InvalidDigest

_UPLOAD_ID_RE = re.compile(r"^[a-zA-Z0-9-]{1,64}$")
_KEY_COMPONENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
#: First component of every upload key; listing the whole store skips it.
UPLOADS_DIR = "uploads"
#: First component of every blob key (what garbage collection lists).
BLOBS_DIR = "blobs"


def is_valid_key(key: str) -> bool:
    """Whether ``key`` is a well-formed storage key (see the module docstring)."""
    return bool(key) and all(_KEY_COMPONENT_RE.fullmatch(part) for part in key.split("/"))


def blob_key(digest: Digest) -> str:
    """Key of the content-addressed blob ``digest``."""
    return f"blobs/{digest.algorithm}/{digest.encoded[:2]}/{digest.encoded}/data"


def digest_of_blob_key(key: str) -> Digest | None:
    """The digest whose :func:`blob_key` is ``key``; None for any other key."""
    parts = key.split("/")
    if len(parts) != 5 or parts[0] != BLOBS_DIR or parts[4] != "data":
        return None
    try:
        digest = Digest.parse(f"{parts[1]}:{parts[3]}")
    except InvalidDigest:
        return None
    return digest if blob_key(digest) == key else None


def is_valid_upload_id(upload_id: str) -> bool:
    """Whether ``upload_id`` may name an upload (see :func:`upload_prefix`)."""
    return bool(_UPLOAD_ID_RE.fullmatch(upload_id))


def upload_prefix(upload_id: str) -> str:
    """Prefix under which a driver keeps the parts of one upload."""
    if not _UPLOAD_ID_RE.fullmatch(upload_id):
        raise ValueError(f"invalid upload id {upload_id!r}")
    return f"{UPLOADS_DIR}/{upload_id}/"


def layer_listing_key(digest: Digest) -> str:
    """Key of the cached file listing of layer blob ``digest`` (the web pages' "files" view)."""
    return f"cache/layer-files/v1/{digest.algorithm}/{digest.encoded[:2]}/{digest.encoded}.json"


def health_probe_prefix() -> str:
    """A folder readiness checks list (it holds nothing) to see that storage answers.

    A listing, unlike a ``stat`` (an S3 HEAD has no error body), tells a missing bucket
    from a missing key.
    """
    return "health"
