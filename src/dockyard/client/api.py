"""The client's front door: one object for login, pull, push, copy, save, load and friends."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dockyard.client.build import BuildOptions, BuildResult, build_image
from dockyard.client.credentials import Credentials, DockerConfig
from dockyard.client.errors import (
    ClientError,
    InvalidReference,
    NotFound,
    RegistryError,
    Unauthorized,
    Unsupported,
)
from dockyard.client.inspect import RemoteImage, inspect_remote
from dockyard.client.load import Loaded, load
from dockyard.client.platforms import Platform
from dockyard.client.progress import QuietReporter, Reporter
from dockyard.client.reference import (
    DEFAULT_DOMAIN,
    LEGACY_DEFAULT_DOMAIN,
    Reference,
    parse_reference,
    parse_repository,
)
from dockyard.client.registry import Registry, SearchResult
from dockyard.client.retry import RetryPolicy
from dockyard.client.save import SaveItem, save
from dockyard.client.session import RegistryPool
from dockyard.client.store import Entry, ImageStore
from dockyard.client.transfer import PullResult, Transfers
from dockyard.oci import mediatypes as mt

#: Where ``docker search`` sends Docker Hub searches.
DOCKER_HUB_INDEX = "index.docker.io"


def server_domain(server: str | None) -> str:
    """``dockyard login`` argument -> registry domain (``https://host/v2/`` -> ``host``)."""
    if not server:
        return DEFAULT_DOMAIN
    text = server.strip()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    host = text.split("/", 1)[0]
    if host in (LEGACY_DEFAULT_DOMAIN, "registry-1.docker.io", DEFAULT_DOMAIN):
        return DEFAULT_DOMAIN
    if not host:
        raise ClientError(f"invalid registry address {server!r}")
    return host


def split_search_term(term: str) -> tuple[str, str]:
    """Docker's ``splitReposSearchTerm``: ``(registry domain, term)``."""
    first, slash, rest = term.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        return DOCKER_HUB_INDEX, term
    return first, rest


@dataclass(frozen=True)
class ImageRow:
    """One line of ``dockyard images``."""

    repository: str
    tag: str
    digest: str
    image_id: str
    created: str
    size: int
    platform: str | None


class Client:
    """A daemonless registry client with a local OCI image store."""

    def __init__(
        self,
        *,
        home: Path | None = None,
        docker_config: Path | None = None,
        insecure: bool = False,
        jobs: int = 3,
        reporter: Reporter | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = DockerConfig(docker_config)
        self.store = ImageStore(home)
        self.insecure = insecure
        self.retry = retry or RetryPolicy()
        self.reporter = reporter or QuietReporter()
        self.registries = RegistryPool(self.config, insecure=insecure, retry=self.retry)
        self.transfers = Transfers(self.registries, self.store, self.reporter, jobs)

    def close(self) -> None:
        self.registries.close()
        self.reporter.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- credentials ---------------------------------------------------------------------
    def login(self, server: str | None, username: str, password: str) -> str:
        """Check the credentials against the registry, then store them; the domain."""
        domain = server_domain(server)
        if not username or not password:
            raise ClientError("username and password are required")
        credentials = Credentials(username, password)
        with Registry(
            domain, credentials=credentials, insecure=self.insecure, retry=self.retry
        ) as registry:
            registry.ping()
            challenge = registry.auth.challenge
            if challenge is not None and challenge.scheme == "bearer":
                registry.auth.fetch_token(challenge, ())
            elif challenge is not None:
                response = registry.request("GET", "/v2/", what="the registry API", ok=(200, 401))
                if response.status_code == 401:
                    raise Unauthorized(f"unauthorized: incorrect username or password for {domain}")
        self.config.store(domain, credentials)
        return domain

    def logout(self, server: str | None) -> tuple[str, bool]:
        """Forget the credentials of a registry; ``(domain, whether there were any)``."""
        domain = server_domain(server)
        return domain, self.config.erase(domain)

    # --- remote --------------------------------------------------------------------------
    def pull(
        self,
        image: str | Reference,
        *,
        platform: str | Platform | None = None,
        all_platforms: bool = False,
    ) -> PullResult:
        wanted = Platform.parse(platform) if isinstance(platform, str) else platform
        return self.transfers.pull(_ref(image), platform=wanted, all_platforms=all_platforms)

    def push(self, image: str | Reference) -> str:
        return self.transfers.push(_ref(image))

    def copy(self, source: str | Reference, destination: str | Reference) -> str:
        return self.transfers.copy(_ref(source), _ref(destination))

    def tags(self, repository: str | Reference, page_size: int | None = None) -> list[str]:
        ref = parse_repository(repository) if isinstance(repository, str) else repository
        return self.registries.get(ref.domain).tags(ref.path, page_size)

    def inspect(self, image: str | Reference) -> RemoteImage:
        ref = _ref(image)
        return inspect_remote(self.registries.get(ref.domain), ref)

    def delete(self, image: str | Reference) -> str:
        """Delete a tag, or a manifest by digest; a line saying what went."""
        ref = _ref(image).tagged_or_latest()
        registry = self.registries.get(ref.domain)
        if ref.digest:
            registry.delete_manifest(ref.path, ref.digest)
            return f"Deleted: {ref.name}@{ref.digest}"
        try:
            registry.delete_manifest(ref.path, str(ref.tag))
        except RegistryError as exc:
            # Distribution answers 405 UNSUPPORTED (or 400 DIGEST_INVALID) to a tag delete.
            if not isinstance(exc, Unsupported) and exc.status != 400:
                raise
            digest = registry.head_manifest(ref.path, str(ref.tag))
            if digest is None:
                raise NotFound(f"image {ref.familiar()}: not found") from None
            registry.delete_manifest(ref.path, digest)
            return (
                f"Deleted: {ref.name}@{digest} (the registry cannot delete a tag alone, so "
                "the manifest and every tag of it went)"
            )
        return f"Deleted: {ref}"

    def search(self, term: str, limit: int = 25) -> list[SearchResult]:
        domain, query = split_search_term(term)
        return self.registries.get(domain).search(query, limit)

    # --- local ---------------------------------------------------------------------------
    def images(self) -> list[ImageRow]:
        rows = []
        for entry in self.store.entries():
            created, platform = self._config_facts(entry)
            rows.append(
                ImageRow(
                    repository=entry.repository,
                    tag=entry.tag,
                    digest=entry.digest,
                    image_id=self.store.image_id(entry),
                    created=created,
                    size=self.store.content_size(entry),
                    platform=platform,
                )
            )
        return rows

    def _config_facts(self, entry: Entry) -> tuple[str, str | None]:
        if entry.media_type not in mt.IMAGE_MANIFESTS or not self.store.blobs.has(entry.digest):
            return "", None
        config_digest = str(self.store.manifest(entry.digest).get("config", {}).get("digest"))
        try:
            config = json.loads(self.store.blobs.read(config_digest))
        except (ValueError, ClientError):
            return "", None
        found = Platform.from_descriptor(config)
        return str(config.get("created") or ""), str(found) if found else None

    def tag(self, source: str, target: str | Reference) -> str:
        """Give a stored image another name; the new full name."""
        entry = self.store.resolve_text(source, _maybe_ref(source))
        ref = _ref(target)
        if ref.digest:
            raise InvalidReference("refusing to create a tag with a digest reference")
        name = str(ref.tagged_or_latest())
        self.store.assign(name, entry.descriptor)
        return name

    def remove(self, image: str, *, force: bool = False) -> list[str]:
        """``rmi``: untag, and delete the content nothing names any more; lines to print."""
        ref = _maybe_ref(image)
        entry = self.store.resolve_text(image, ref)
        lines = []
        if entry.name and ref is not None and entry.name in _names_of(ref):
            self.store.untag(entry.name)
            lines.append(f"Untagged: {ref.tagged_or_latest().familiar()}")
        else:
            named = [e for e in self.store.entries() if e.digest == entry.digest]
            if len(named) > 1 and not force:
                raise ClientError(
                    f"image {image} is referenced in {len(named)} names; "
                    "remove them by name or use --force"
                )
            for gone in self.store.remove_digest(entry.digest):
                if gone.reference is not None:
                    lines.append(f"Untagged: {gone.reference.familiar()}")
        if not any(e.digest == entry.digest for e in self.store.entries()):
            self.store.gc()
            lines.append(f"Deleted: {entry.digest}")
        return lines

    def save(
        self,
        images: list[str],
        output: Path | IO[bytes],
        *,
        format: str = "docker",
        platform: str | None = None,
    ) -> None:
        items: dict[str, SaveItem] = {}
        for text in images:
            ref = _maybe_ref(text)
            entry = self.store.resolve_text(text, ref)
            refs = [ref.tagged_or_latest()] if ref is not None and entry.name else []
            if ref is None or entry.name is None or entry.name not in _names_of(ref):
                refs = [
                    e.reference
                    for e in self.store.entries()
                    if e.digest == entry.digest and e.reference is not None
                ]
            old = items.get(entry.digest)
            merged = (old.refs if old else ()) + tuple(r for r in refs if r is not None)
            items[entry.digest] = SaveItem(entry, merged)
        wanted = Platform.parse(platform) if platform else None
        save(self.store, list(items.values()), output, format=format, platform=wanted)

    def load(self, source: Path | IO[bytes]) -> list[Loaded]:
        return load(self.store, source)

    def build(
        self,
        context: Path,
        *,
        tags: Sequence[str] = (),
        dockerfile: Path | None = None,
        dockerfile_text: str | None = None,
        build_args: Mapping[str, str] | None = None,
        platform: str | Platform | None = None,
        target: str | None = None,
        pull: bool = False,
        source_date_epoch: int | None = None,
    ) -> BuildResult:
        """Build a Dockerfile (no ``RUN``) into the local store under ``tags``."""
        options = BuildOptions(
            context=context,
            dockerfile=dockerfile,
            dockerfile_text=dockerfile_text,
            tags=tuple(tags),
            build_args=dict(build_args or {}),
            platform=Platform.parse(platform) if isinstance(platform, str) else platform,
            target=target,
            pull=pull,
            source_date_epoch=source_date_epoch,
        )
        return build_image(self.store, options, self._pull_base, self.reporter)

    def _pull_base(self, ref: Reference, platform: Platform) -> PullResult:
        return self.transfers.pull(ref, platform=platform)


def _ref(value: str | Reference) -> Reference:
    return parse_reference(value) if isinstance(value, str) else value


def _maybe_ref(text: str) -> Reference | None:
    try:
        return parse_reference(text)
    except InvalidReference:
        return None


def _names_of(ref: Reference) -> set[str]:
    full = ref.tagged_or_latest()
    names = {str(full)}
    if full.digest:
        names.add(f"{full.name}@{full.digest}")
    return names
