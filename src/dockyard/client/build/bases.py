"""Base images of ``FROM`` and ``COPY --from``: from the local store, pulled when missing.

An image already in the store is used as it is (for the build's platform); otherwise, or with
``--pull``, it is pulled through the client first. Its filesystem is read from the stored
layers only when a step needs it, once per build.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockyard.client.build.tarfs import apply_layer
from dockyard.client.build.tree import Tree
from dockyard.client.errors import BuildError, ClientError, NotFound
from dockyard.client.platforms import Platform
from dockyard.client.reference import Reference, parse_reference
from dockyard.client.save import image_manifest
from dockyard.client.store import ImageStore
from dockyard.oci import mediatypes as mt

#: Pulls an image (one platform) into the store.
PullFunction = Callable[[Reference, Platform], object]


@dataclass(frozen=True)
class BaseImage:
    """A stored image: its name, manifest and config."""

    name: str
    digest: str
    manifest: dict[str, Any]
    config: dict[str, Any]

    @property
    def platform(self) -> Platform | None:
        return Platform.from_descriptor(self.config)


class Bases:
    """Finds (or pulls) base images and reads their filesystems, each once per build."""

    def __init__(self, store: ImageStore, pull: PullFunction, *, always_pull: bool) -> None:
        self.store = store
        self.pull = pull
        self.always_pull = always_pull
        self._images: dict[tuple[str, str], BaseImage] = {}
        self._trees: dict[str, Tree] = {}

    def get(self, text: str, platform: Platform, where: str) -> BaseImage:
        """The image ``text`` names, for ``platform``."""
        try:
            ref = parse_reference(text).tagged_or_latest()
        except ClientError as exc:
            raise BuildError(f"{where}: {exc}") from None
        key = (str(ref), str(platform))
        if key not in self._images:
            self._images[key] = self._find(ref, platform, where)
        return self._images[key]

    def _find(self, ref: Reference, platform: Platform, where: str) -> BaseImage:
        if not self.always_pull:
            found = self._stored(ref, platform)
            if found is not None:
                return found
        try:
            self.pull(ref, platform)
        except ClientError as exc:
            raise BuildError(f"{where}: cannot pull {ref.familiar()}: {exc}") from None
        found = self._stored(ref, platform)
        if found is None:
            raise BuildError(f"{where}: {ref.familiar()} has no image for {platform}")
        return found

    def _stored(self, ref: Reference, platform: Platform) -> BaseImage | None:
        try:
            entry = self.store.resolve(ref)
            digest = image_manifest(self.store, entry, platform)
            manifest = self.store.manifest(digest)
        except NotFound:
            return None
        if manifest.get("mediaType", mt.OCI_MANIFEST) not in mt.IMAGE_MANIFESTS and not (
            "config" in manifest and "layers" in manifest
        ):
            return None
        config_digest = str((manifest.get("config") or {}).get("digest"))
        if not self.store.blobs.has(config_digest):
            return None
        config = json.loads(self.store.blobs.read(config_digest))
        image = BaseImage(str(ref), digest, manifest, config)
        actual = image.platform
        if actual is not None and not platform.matches(actual):
            return None
        return image

    def tree(self, image: BaseImage) -> Tree:
        """The image's root filesystem (a copy the caller may change)."""
        if image.digest not in self._trees:
            tree = Tree()
            for layer in image.manifest.get("layers") or []:
                if layer.get("mediaType") in mt.FOREIGN_LAYERS:
                    raise BuildError(f"{image.name} has foreign layers, which cannot be read")
                if not self.store.blobs.has(str(layer["digest"])):
                    raise BuildError(f"layer {layer['digest']} of {image.name} is not stored")
                apply_layer(tree, self.store.blobs, layer)
            self._trees[image.digest] = tree
        return self._trees[image.digest].copy()
