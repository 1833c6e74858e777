"""Every storage key is built here, and only here.

Layout::

    blobs/<algorithm>/<first two hex chars>/<encoded>/data
    uploads/<upload id>/...            (driver-specific)
    cache/layer-files/v1/<algorithm>/<first two hex chars>/<encoded>.json
"""

from __future__ import annotations

import re

from dockyard.oci.digest import Digest

_UPLOAD_ID_RE = re.compile(r"^[a-zA-Z0-9-]{1,64}$")


def blob_key(digest: Digest) -> str:
    """Key of the content-addressed blob ``digest``."""
    return f"blobs/{digest.algorithm}/{digest.encoded[:2]}/{digest.encoded}/data"


def upload_prefix(upload_id: str) -> str:
    """Prefix under which a driver keeps the parts of one upload."""
    if not _UPLOAD_ID_RE.fullmatch(upload_id):
        raise ValueError(f"invalid upload id {upload_id!r}")
    return f"uploads/{upload_id}/"


def layer_listing_key(digest: Digest) -> str:
    """Key of the cached file listing of layer blob ``digest`` (the web pages' "files" view)."""
    return f"cache/layer-files/v1/{digest.algorithm}/{digest.encoded[:2]}/{digest.encoded}.json"
