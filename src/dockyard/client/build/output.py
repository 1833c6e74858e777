"""Writing a built image into the local store: layers, config, manifest, then its names.

Everything is stored (verified, under its digest) before ``index.json`` names it, while garbage
collection waits, so an interrupted build leaves nothing half-visible.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dockyard.client.build.image import ImageState
from dockyard.client.build.layers import write_layer
from dockyard.client.build.tarfs import Contents
from dockyard.client.build.tree import Node
from dockyard.client.progress import human_size, short
from dockyard.client.store import ImageStore
from dockyard.oci import mediatypes as mt


@dataclass(frozen=True)
class Written:
    """The stored image: manifest digest, config digest (image ID), total size."""

    digest: str
    config_digest: str
    size: int


def write_image(
    store: ImageStore,
    image: ImageState,
    layers: Sequence[list[tuple[str, Node]]],
    *,
    contents: Contents,
    epoch: int,
    created: str,
    names: Sequence[str],
    progress: Callable[[str], None],
) -> Written:
    """Store the new layers, the config and an OCI manifest; point ``names`` at it."""
    blobs = store.blobs
    with store.writing():
        new = []
        for number, entries in enumerate(layers, start=1):
            layer = write_layer(blobs, contents.materialize(entries), epoch)
            progress(
                f"layer {number}/{len(layers)}: {short(layer.digest)} {human_size(layer.size)}"
            )
            new.append(layer)
        doc = image.document(created, [layer.diff_id for layer in new])
        config = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        config_digest = blobs.put(config)
        descriptors = [*image.layers, *(layer.descriptor() for layer in new)]
        manifest = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": descriptors,
        }
        data = json.dumps(manifest, separators=(",", ":")).encode()
        digest = blobs.put(data)
        descriptor = {
            "mediaType": mt.OCI_MANIFEST,
            "digest": digest,
            "size": len(data),
            "platform": {k: v for k, v in image.platform.items() if k != "os.features"},
        }
        for name in names or (None,):
            store.assign(name, descriptor)
    size = len(data) + len(config) + sum(int(d.get("size", 0)) for d in descriptors)
    return Written(digest, config_digest, size)
