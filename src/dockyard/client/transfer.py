"""Pull, push and copy: manifests in order, layers in parallel, every byte verified."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from dockyard.client.errors import ClientError, NotFound, Unreachable, VerificationFailed
from dockyard.client.platforms import Platform, host_platform, pick
from dockyard.client.progress import QuietReporter, Reporter, short
from dockyard.client.reference import Reference
from dockyard.client.registry import FetchedManifest, Registry
from dockyard.client.retry import with_retries
from dockyard.client.session import RegistryPool, run_parallel
from dockyard.client.store import SOURCE_DIGEST_ANNOTATION, ImageStore
from dockyard.oci import mediatypes as mt

_CHUNK = 1 << 20


@dataclass(frozen=True)
class PullResult:
    """What a pull stored: the local name, the digest it names, the registry's digest."""

    name: str
    digest: str
    remote_digest: str
    platform: str | None


def blob_descriptors(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The config and the (distributable) layers of an image manifest."""
    found = [manifest["config"]] if isinstance(manifest.get("config"), dict) else []
    for layer in manifest.get("layers") or []:
        if isinstance(layer, dict) and layer.get("mediaType") not in mt.FOREIGN_LAYERS:
            found.append(layer)
    return found


def _layers(manifest: dict[str, Any]) -> set[str]:
    return {str(d["digest"]) for d in manifest.get("layers") or [] if isinstance(d, dict)}


class Transfers:
    """Moves images between registries and the local store."""

    def __init__(
        self,
        registries: RegistryPool,
        store: ImageStore | None = None,
        reporter: Reporter | None = None,
        jobs: int = 3,
    ) -> None:
        self.registries = registries
        self._store = store
        self.reporter = reporter or QuietReporter()
        self.jobs = max(1, jobs)

    @property
    def store(self) -> ImageStore:
        if self._store is None:
            raise ClientError("this operation needs a local image store")
        return self._store

    # --- pull ----------------------------------------------------------------------------
    def pull(
        self, ref: Reference, *, platform: Platform | None = None, all_platforms: bool = False
    ) -> PullResult:
        """Pull ``ref`` into the local store (one platform, or all of an index)."""
        ref = ref.tagged_or_latest()
        registry = self.registries.get(ref.domain)
        top = registry.get_manifest(ref.path, ref.reference, what=f"image {ref.familiar()}")
        self.reporter.message(f"{ref.reference}: Pulling from {ref.familiar_name}")
        name = f"{ref.name}@{ref.digest}" if ref.digest else str(ref)
        with self.store.writing():
            if top.media_type in mt.INDEXES and all_platforms:
                self._pull_tree(registry, ref.path, top)
                descriptor = {
                    "mediaType": top.media_type,
                    "digest": top.digest,
                    "size": len(top.data),
                }
                chosen = None
            elif top.media_type in mt.INDEXES:
                wanted = platform or host_platform()
                entry = self._choose(top, wanted, ref)
                image = registry.get_manifest(ref.path, str(entry["digest"]))
                self._pull_image(registry, ref.path, image)
                descriptor = {
                    "mediaType": image.media_type,
                    "digest": image.digest,
                    "size": len(image.data),
                    "platform": entry.get("platform"),
                    "annotations": {SOURCE_DIGEST_ANNOTATION: top.digest},
                }
                chosen = str(Platform.from_descriptor(entry.get("platform")))
            else:
                self._pull_image(registry, ref.path, top, platform)
                descriptor = {
                    "mediaType": top.media_type,
                    "digest": top.digest,
                    "size": len(top.data),
                }
                chosen = str(platform) if platform else None
            self.store.assign(name, descriptor)
        self.reporter.message(f"Digest: {top.digest}")
        return PullResult(name, str(descriptor["digest"]), top.digest, chosen)

    def _choose(self, index: FetchedManifest, wanted: Platform, ref: Reference) -> dict[str, Any]:
        entries = [e for e in index.json().get("manifests") or [] if isinstance(e, dict)]
        found = pick(((Platform.from_descriptor(e.get("platform")), e) for e in entries), wanted)
        if found is None:
            raise NotFound(
                f"no matching manifest for {wanted} in the manifest list entries of "
                f"{ref.familiar()}"
            )
        return dict(found)

    def _pull_tree(self, registry: Registry, name: str, index: FetchedManifest) -> None:
        """Every manifest an index names (recursively), with all their blobs."""
        for entry in index.json().get("manifests") or []:
            child = registry.get_manifest(name, str(entry["digest"]))
            if child.media_type in mt.INDEXES:
                self._pull_tree(registry, name, child)
            else:
                self._pull_image(registry, name, child)
        self.store.blobs.put(index.data, index.digest)

    def _pull_image(
        self,
        registry: Registry,
        name: str,
        image: FetchedManifest,
        platform: Platform | None = None,
    ) -> None:
        doc = image.json()
        blobs = blob_descriptors(doc)
        config = blobs[0] if blobs and "config" in doc else None
        if config is not None:
            self._download(registry, name, config, show=False)
            if platform is not None:
                self._check_platform(config, platform)
        layers = _layers(doc)
        run_parallel(
            [d for d in blobs if d["digest"] in layers],
            lambda d: self._download(registry, name, d, show=True),
            self.jobs,
        )
        self.store.blobs.put(image.data, image.digest)

    def _check_platform(self, config: dict[str, Any], wanted: Platform) -> None:
        try:
            doc = json.loads(self.store.blobs.read(str(config["digest"])))
        except ValueError:
            return
        actual = Platform.from_descriptor(doc if isinstance(doc, dict) else None)
        if actual is not None and not wanted.matches(actual):
            raise NotFound(
                f"image does not match the specified platform: wanted {wanted}, actual: {actual}"
            )

    def _download(self, registry: Registry, name: str, desc: dict[str, Any], *, show: bool) -> None:
        digest, size = str(desc["digest"]), int(desc["size"])
        blobs = self.store.blobs
        if blobs.has(digest):
            if show:
                self.reporter.message(f"{short(digest)}: Already exists")
            return
        task = self.reporter.task(short(digest), "Downloading", size) if show else None

        def attempt() -> None:
            with blobs.ingest(digest, size) as ingest:
                if ingest.done:
                    return
                if ingest.offset == size:
                    try:
                        ingest.commit()
                        return
                    except VerificationFailed:
                        pass
                if task is not None:
                    task.reset(ingest.offset)
                response = registry.open_blob(name, digest, ingest.offset, retry=False)
                if response.status_code != 206 and ingest.offset:
                    ingest.reset()
                    if task is not None:
                        task.reset(0)
                    if response.status_code == 416:
                        response.close()
                        response = registry.open_blob(name, digest, 0, retry=False)
                try:
                    for chunk in response.iter_bytes():  # unbuffered: a break keeps all
                        ingest.write(chunk)
                        if task is not None:
                            task.advance(len(chunk))
                except httpx.TransportError as exc:
                    raise Unreachable(f"download of {short(digest)} broke off: {exc}") from None
                finally:
                    response.close()
                ingest.commit()

        try:
            with_retries(attempt, registry.retry)
        except VerificationFailed:
            with_retries(attempt, registry.retry)  # the partial was bad: once more from scratch
        if task is not None:
            task.finish("Pull complete")

    # --- push ----------------------------------------------------------------------------
    def push(self, ref: Reference) -> str:
        """Push a local image (or a complete index) to its registry; the manifest digest."""
        ref = ref.tagged_or_latest()
        entry = self.store.resolve(ref)
        registry = self.registries.get(ref.domain)
        self.reporter.message(f"The push refers to repository [{ref.name}]")
        data = self.store.blobs.read(entry.digest)
        if entry.media_type in mt.INDEXES:
            self._push_index_children(registry, ref, entry.digest)
        else:
            self._push_blobs(registry, ref.path, json.loads(data))
        digest = registry.put_manifest(ref.path, ref.reference, data, entry.media_type)
        self.reporter.message(f"{ref.reference}: digest: {digest} size: {len(data)}")
        return digest

    def _push_index_children(self, registry: Registry, ref: Reference, digest: str) -> None:
        manifests = self.store.manifest(digest).get("manifests") or []
        missing = [m for m in manifests if not self.store.blobs.has(str(m["digest"]))]
        if missing:
            raise ClientError(
                f"{ref.familiar()} is an index with {len(missing)} platform(s) not in the local "
                "store; pull it with --all-platforms before pushing it"
            )
        for child in manifests:
            child_digest, media_type = str(child["digest"]), str(child["mediaType"])
            data = self.store.blobs.read(child_digest)
            if media_type in mt.INDEXES:
                self._push_index_children(registry, ref, child_digest)
            else:
                self._push_blobs(registry, ref.path, json.loads(data))
            registry.put_manifest(ref.path, child_digest, data, media_type)

    def _push_blobs(self, registry: Registry, name: str, manifest: dict[str, Any]) -> None:
        layers = _layers(manifest)
        run_parallel(
            blob_descriptors(manifest),
            lambda d: self._upload(registry, name, d, show=d["digest"] in layers),
            self.jobs,
        )

    def _upload(self, registry: Registry, name: str, desc: dict[str, Any], *, show: bool) -> None:
        digest, size = str(desc["digest"]), int(desc["size"])
        if registry.has_blob(name, digest):
            if show:
                self.reporter.message(f"{short(digest)}: Layer already exists")
            return
        if not self.store.blobs.has(digest):
            raise NotFound(f"blob {digest} is missing from the local store")
        task = self.reporter.task(short(digest), "Pushing", size) if show else None

        def body() -> Iterator[bytes]:
            if task is not None:
                task.reset(0)
            for chunk in self.store.blobs.iter_chunks(digest):
                if task is not None:
                    task.advance(len(chunk))
                yield chunk

        registry.upload_blob(name, digest, size, body)
        if task is not None:
            task.finish("Pushed")

    # --- copy ----------------------------------------------------------------------------
    def copy(self, src: Reference, dst: Reference) -> str:
        """Registry to registry, every platform; nothing is written to local disk."""
        src, dst = src.tagged_or_latest(), dst.tagged_or_latest()
        source = self.registries.get(src.domain)
        target = self.registries.get(dst.domain)
        top = source.get_manifest(src.path, src.reference, what=f"image {src.familiar()}")
        if dst.digest and dst.digest != top.digest:
            raise ClientError(f"{src.familiar()} is {top.digest}, not {dst.digest}")
        self.reporter.message(f"Copying {src.familiar()} to {dst.familiar()}")
        self._copy_manifest(source, src.path, target, dst.path, top, top_level=False)
        digest = target.put_manifest(dst.path, dst.reference, top.data, top.media_type)
        self.reporter.message(f"{dst.reference}: digest: {digest} size: {len(top.data)}")
        return digest

    def _copy_manifest(
        self,
        source: Registry,
        src_name: str,
        target: Registry,
        dst_name: str,
        manifest: FetchedManifest,
        *,
        top_level: bool = True,
    ) -> None:
        if manifest.media_type in mt.INDEXES:
            for entry in manifest.json().get("manifests") or []:
                child = source.get_manifest(src_name, str(entry["digest"]))
                self._copy_manifest(source, src_name, target, dst_name, child)
        else:
            doc = manifest.json()
            layers = _layers(doc)
            run_parallel(
                blob_descriptors(doc),
                lambda d: self._copy_blob(
                    source, src_name, target, dst_name, d, show=d["digest"] in layers
                ),
                self.jobs,
            )
        if top_level:
            target.put_manifest(dst_name, manifest.digest, manifest.data, manifest.media_type)

    def _copy_blob(
        self,
        source: Registry,
        src_name: str,
        target: Registry,
        dst_name: str,
        desc: dict[str, Any],
        *,
        show: bool,
    ) -> None:
        digest, size = str(desc["digest"]), int(desc["size"])
        if target.has_blob(dst_name, digest):
            if show:
                self.reporter.message(f"{short(digest)}: Layer already exists")
            return
        if (
            source is target
            and src_name != dst_name
            and target.mount_blob(dst_name, digest, src_name)
        ):
            if show:
                self.reporter.message(f"{short(digest)}: Mounted from {src_name}")
            return
        task = self.reporter.task(short(digest), "Copying", size) if show else None

        def body() -> Iterator[bytes]:
            if task is not None:
                task.reset(0)
            hasher = hashlib.new(digest.partition(":")[0])
            response = source.open_blob(src_name, digest, retry=False)
            try:
                for chunk in response.iter_bytes(_CHUNK):
                    hasher.update(chunk)
                    if task is not None:
                        task.advance(len(chunk))
                    yield chunk
            finally:
                response.close()
            if f"{hasher.name}:{hasher.hexdigest()}" != digest:
                raise VerificationFailed(f"blob {digest} from {source.host} failed verification")

        target.upload_blob(dst_name, digest, size, body)
        if task is not None:
            task.finish("Copied")
