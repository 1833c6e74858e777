"""The local image store: an OCI image layout at ``$DOCKYARD_HOME``.

``index.json`` names images with ``io.containerd.image.name`` (the full reference, as docker
25+ writes it) and ``org.opencontainers.image.ref.name`` (the tag). It is only ever replaced
whole, under a lock, after every blob it points at is in place.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.client.blobstore import BlobStore, atomic_write
from dockyard.client.errors import ClientError, InvalidReference, NotFound
from dockyard.client.reference import Reference, parse_reference
from dockyard.oci import mediatypes as mt

NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"
#: The digest of the index a single-platform image was picked from (what the registry showed).
SOURCE_DIGEST_ANNOTATION = "dev.dockyard.image.source.digest"
LAYOUT = {"imageLayoutVersion": "1.0.0"}


def default_home() -> Path:
    """``$DOCKYARD_HOME``, else ``$XDG_DATA_HOME/dockyard``, else ``~/.local/share/dockyard``."""
    if home := os.environ.get("DOCKYARD_HOME"):
        return Path(home)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "dockyard"


@dataclass(frozen=True)
class Entry:
    """One image of the store: its name (None when untagged) and its descriptor."""

    name: str | None
    descriptor: dict[str, Any]

    @property
    def digest(self) -> str:
        return str(self.descriptor["digest"])

    @property
    def media_type(self) -> str:
        return str(self.descriptor.get("mediaType", mt.OCI_MANIFEST))

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.descriptor.get("annotations") or {})

    @property
    def reference(self) -> Reference | None:
        """The parsed name (None when untagged or unparseable)."""
        if not self.name:
            return None
        try:
            return parse_reference(self.name)
        except InvalidReference:
            return None

    @property
    def repository(self) -> str:
        """The familiar repository name (``<none>`` when untagged)."""
        ref = self.reference
        return ref.familiar_name if ref else "<none>"

    @property
    def tag(self) -> str:
        ref = self.reference
        return ref.tag if ref and ref.tag else "<none>"


class ImageStore:
    """Blobs plus ``index.json``; safe against crashes and concurrent ``dockyard`` processes."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_home()).expanduser()
        self.blobs = BlobStore(self.root)
        self.index_path = self.root / "index.json"

    def ensure(self) -> ImageStore:
        """Create the layout if it does not exist yet."""
        self.blobs.ensure()
        layout = self.root / "oci-layout"
        if not layout.exists():
            atomic_write(layout, json.dumps(LAYOUT).encode(), self.blobs.tmp_dir)
        if not self.index_path.exists():
            with self.locked():
                if not self.index_path.exists():
                    self._write_index([])
        return self

    # --- locking -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _flock(self, name: str, mode: int) -> Iterator[bool]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / name).open("a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), mode)
            except BlockingIOError:
                yield False
                return
            yield True

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive access to ``index.json`` for a read-modify-write."""
        with self._flock("index.lock", fcntl.LOCK_EX):
            yield

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Held while blobs are added that nothing names yet: garbage collection waits."""
        self.ensure()
        with self._flock("gc.lock", fcntl.LOCK_SH):
            yield

    # --- index.json ----------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        try:
            doc = json.loads(self.index_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except ValueError as exc:
            raise ClientError(f"{self.index_path} is corrupt: {exc}") from None
        found = []
        for descriptor in doc.get("manifests") or []:
            annotations = descriptor.get("annotations") or {}
            found.append(Entry(annotations.get(NAME_ANNOTATION), descriptor))
        return found

    def _write_index(self, entries: list[Entry]) -> None:
        doc = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": [entry.descriptor for entry in entries],
        }
        data = json.dumps(doc, indent=2).encode() + b"\n"
        atomic_write(self.index_path, data, self.blobs.tmp_dir)

    def find(self, name: str) -> Entry | None:
        """The image stored under the full reference ``name``."""
        return next((e for e in self.entries() if e.name == name), None)

    def resolve(self, ref: Reference) -> Entry:
        """The image a reference names (``latest`` when it has no tag)."""
        ref = ref.tagged_or_latest()
        entry = self.find(str(ref))
        if entry is None and ref.tag and ref.digest:
            entry = self.find(str(ref.with_digest(ref.digest)))
        if entry is None:
            raise NotFound(f"image {ref.familiar()} is not in the local store ({self.root})")
        return entry

    def resolve_text(self, text: str, ref: Reference | None) -> Entry:
        """A reference, or an image ID / digest (or a unique prefix of one)."""
        if ref is not None:
            with contextlib.suppress(NotFound):
                return self.resolve(ref)
        needle = text.removeprefix("sha256:")
        if len(needle) >= 4 and all(c in "0123456789abcdef" for c in needle):
            matches = {e.digest: e for e in self.entries() if self._id_matches(e, needle)}
            if len(matches) == 1:
                return next(iter(matches.values()))
            if len(matches) > 1:
                raise ClientError(f"{text} is ambiguous: it matches {len(matches)} images")
        if ref is not None:
            return self.resolve(ref)
        raise NotFound(f"image {text} is not in the local store ({self.root})")

    def _id_matches(self, entry: Entry, needle: str) -> bool:
        ids = {entry.digest, self.image_id(entry)}
        return any(i.removeprefix("sha256:").startswith(needle) for i in ids)

    def assign(self, name: str | None, descriptor: dict[str, Any]) -> None:
        """Point ``name`` at ``descriptor`` (whose blobs must all be stored already)."""
        if not self.blobs.has(str(descriptor["digest"])):
            raise NotFound(f"cannot name {descriptor['digest']}: its manifest is not stored")
        annotations = dict(descriptor.get("annotations") or {})
        annotations.pop(NAME_ANNOTATION, None)
        annotations.pop(REF_ANNOTATION, None)
        if name:
            annotations[NAME_ANNOTATION] = name
            last = name.rsplit("/", 1)[-1]
            if "@" not in name and ":" in last:
                annotations[REF_ANNOTATION] = last.rsplit(":", 1)[1]
        entry_descriptor = {
            "mediaType": descriptor.get("mediaType", mt.OCI_MANIFEST),
            "digest": descriptor["digest"],
            "size": descriptor["size"],
        }
        if descriptor.get("platform"):
            entry_descriptor["platform"] = descriptor["platform"]
        if annotations:
            entry_descriptor["annotations"] = annotations
        with self.locked():
            kept = [
                e
                for e in self.entries()
                if (e.name != name if name else (e.name or e.digest != descriptor["digest"]))
            ]
            kept.append(Entry(name, entry_descriptor))
            self._write_index(kept)

    def untag(self, name: str) -> Entry:
        """Remove the name ``name``; the entry it pointed at."""
        with self.locked():
            entries = self.entries()
            found = next((e for e in entries if e.name == name), None)
            if found is None:
                raise NotFound(f"image {name} is not in the local store")
            self._write_index([e for e in entries if e is not found])
        return found

    def remove_digest(self, digest: str) -> list[Entry]:
        """Remove every name pointing at ``digest``; the removed entries."""
        with self.locked():
            entries = self.entries()
            gone = [e for e in entries if e.digest == digest]
            self._write_index([e for e in entries if e.digest != digest])
        return gone

    # --- content -------------------------------------------------------------------------
    def manifest(self, digest: str) -> dict[str, Any]:
        doc = json.loads(self.blobs.read(digest))
        if not isinstance(doc, dict):
            raise ClientError(f"stored manifest {digest} is not a JSON object")
        return doc

    def children(self, digest: str, media_type: str) -> list[dict[str, Any]]:
        """The descriptors a manifest or index points at."""
        if media_type not in mt.MANIFEST_TYPES or not self.blobs.has(digest):
            return []
        doc = self.manifest(digest)
        found: list[dict[str, Any]] = []
        if isinstance(doc.get("config"), dict):
            found.append(doc["config"])
        for key in ("layers", "manifests"):
            found.extend(d for d in doc.get(key) or [] if isinstance(d, dict))
        return found

    def reachable(self) -> set[str]:
        """Every stored digest reachable from a named or listed image."""
        seen: set[str] = set()
        stack = [(e.digest, e.media_type) for e in self.entries()]
        while stack:
            digest, media_type = stack.pop()
            if digest in seen:
                continue
            seen.add(digest)
            for child in self.children(digest, media_type):
                stack.append((str(child.get("digest")), str(child.get("mediaType", ""))))
        return seen

    def gc(self) -> int:
        """Delete unreachable blobs; bytes freed (0 while another process is adding blobs)."""
        with self._flock("gc.lock", fcntl.LOCK_EX | fcntl.LOCK_NB) as got:
            if not got:
                return 0
            keep = self.reachable()
            return sum(self.blobs.remove(d) for d in self.blobs.all_digests() if d not in keep)

    def image_id(self, entry: Entry) -> str:
        """Docker's image ID: the config digest of an image, the digest of an index."""
        if entry.media_type in mt.IMAGE_MANIFESTS and self.blobs.has(entry.digest):
            config = self.manifest(entry.digest).get("config") or {}
            return str(config.get("digest", entry.digest))
        return entry.digest

    def content_size(self, entry: Entry) -> int:
        """Bytes of every stored blob the image uses."""
        total = 0
        seen: set[str] = set()
        stack = [(entry.digest, entry.media_type)]
        while stack:
            digest, media_type = stack.pop()
            if digest in seen or not self.blobs.has(digest):
                continue
            seen.add(digest)
            total += self.blobs.size(digest)
            stack.extend(
                (str(c.get("digest")), str(c.get("mediaType", "")))
                for c in self.children(digest, media_type)
            )
        return total
