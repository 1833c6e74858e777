"""``dockyard build``: a Dockerfile and a context in, an image in the local store out.

Stages are built on demand, from the target back through ``FROM <stage>`` and
``COPY --from``, so a stage nothing needs is never built. ``RUN`` in a needed stage stops the
build before anything is pulled. The result is written once at the end: layers, config,
manifest, then the names in ``index.json``.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from dockyard.client.build import dockerfile as df
from dockyard.client.build.bases import Bases, PullFunction
from dockyard.client.build.context import ignore_file, load_context
from dockyard.client.build.ignore import IgnoreRules
from dockyard.client.build.image import ImageState, rfc3339
from dockyard.client.build.output import write_image
from dockyard.client.build.shell import Lexer, SubstitutionError
from dockyard.client.build.stage import Entries, Stage
from dockyard.client.build.tarfs import Contents, Spool
from dockyard.client.build.tree import Tree
from dockyard.client.errors import BuildError, ClientError, InvalidReference
from dockyard.client.platforms import Platform, host_platform
from dockyard.client.progress import QuietReporter, Reporter
from dockyard.client.reference import parse_reference
from dockyard.client.store import ImageStore

_STAGE_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


@dataclass(frozen=True)
class BuildOptions:
    """What to build: the context, the Dockerfile (a path, or its text), names and arguments."""

    context: Path
    dockerfile: Path | None = None
    dockerfile_text: str | None = None
    tags: tuple[str, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    target: str | None = None
    pull: bool = False
    source_date_epoch: int | None = None


@dataclass(frozen=True)
class BuildResult:
    """The built image: manifest digest, image ID (config digest), names, warnings."""

    digest: str
    image_id: str
    names: tuple[str, ...]
    platform: str
    size: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _StageDef:
    index: int
    name: str | None
    base: str
    instruction: df.Instruction
    body: list[df.Instruction]


def build_image(
    store: ImageStore,
    options: BuildOptions,
    pull: PullFunction,
    reporter: Reporter | None = None,
) -> BuildResult:
    """Build ``options`` into ``store``; base images missing from it come through ``pull``."""
    store.ensure()
    with tempfile.TemporaryDirectory(prefix="build-", dir=store.blobs.tmp_dir) as scratch:
        return _Build(store, options, pull, reporter or QuietReporter(), Path(scratch)).run()


class _Build:
    """One build: the parsed Dockerfile, arguments, stages and what they share."""

    def __init__(
        self,
        store: ImageStore,
        options: BuildOptions,
        pull: PullFunction,
        reporter: Reporter,
        scratch: Path,
    ) -> None:
        self.store = store
        self.options = options
        self.reporter = reporter
        self.dockerfile = self._parse()
        self.lexer = Lexer(self.dockerfile.escape)
        self.spool = Spool(scratch)
        self.contents = Contents(store.blobs, self.spool)
        self.bases = Bases(store, pull, always_pull=options.pull)
        self.platform = options.platform or host_platform()
        self.consumed: set[str] = set()
        self.epoch = self._epoch()
        self.created = rfc3339(self.epoch)
        self.automatic = _platform_args(self.platform, host_platform())
        self.global_args: dict[str, str] = {}
        self.defs: list[_StageDef] = []
        self._stages: dict[int, Stage] = {}
        self._building: set[int] = set()
        self._context: Tree | None = None

    # --- setup --------------------------------------------------------------------------
    def _parse(self) -> df.Dockerfile:
        options = self.options
        if options.dockerfile_text is not None:
            return df.parse(options.dockerfile_text, "Dockerfile")
        path = options.dockerfile or options.context / "Dockerfile"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BuildError(f"cannot read the Dockerfile {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise BuildError(f"the Dockerfile {path} is not UTF-8 text") from None
        return df.parse(text, path.name)

    def _epoch(self) -> int:
        if self.options.source_date_epoch is not None:
            return self.options.source_date_epoch
        text = self.build_arg(SOURCE_DATE_EPOCH)
        if text is None:
            return 0
        if not text.strip().isdigit():
            raise BuildError(f"SOURCE_DATE_EPOCH={text!r} is not a whole number of seconds")
        return int(text)

    def _names(self) -> tuple[str, ...]:
        names = []
        for tag in self.options.tags:
            try:
                ref = parse_reference(tag)
            except InvalidReference as exc:
                raise BuildError(f"invalid tag {tag!r}: {exc}") from None
            if ref.digest:
                raise BuildError(f"invalid tag {tag!r}: a tag cannot contain a digest")
            names.append(str(ref.tagged_or_latest()))
        return tuple(dict.fromkeys(names))

    def _split(self) -> None:
        """Global ARGs (before the first FROM), then one definition per stage."""
        current: _StageDef | None = None
        seen: set[str] = set()
        for instruction in self.dockerfile.instructions:
            where = self.dockerfile.where(instruction)
            if instruction.keyword == "FROM":
                current = self._stage_def(instruction, len(self.defs), seen)
                self.defs.append(current)
            elif current is not None:
                current.body.append(instruction)
            elif instruction.keyword == "ARG":
                self._global_arg(instruction)
            else:
                raise BuildError(f"{where}: {instruction.keyword} before the first FROM")
        if not self.defs:
            raise BuildError(f"{self.dockerfile.name}: no FROM instruction, nothing to build")

    def _stage_def(self, instruction: df.Instruction, index: int, seen: set[str]) -> _StageDef:
        where = self.dockerfile.where(instruction)
        instruction.flag_values(where, {"platform"})
        words = instruction.args.split()
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
            raise BuildError(
                f"{where}: FROM requires either one or three arguments (IMAGE AS name)"
            )
        name = words[2].lower() if len(words) == 3 else None
        if name is not None:
            if not name[0].isalpha() or not set(name) <= _STAGE_NAME_CHARS:
                raise BuildError(f"{where}: invalid stage name {words[2]!r}")
            if name in seen:
                raise BuildError(f"{where}: duplicate stage name {name!r}")
            seen.add(name)
        return _StageDef(index, name, words[0], instruction, [])

    def _global_arg(self, instruction: df.Instruction) -> None:
        where = self.dockerfile.where(instruction)
        for name, default in df.arg_definitions(instruction.args, self.dockerfile.escape, where):
            value = self.build_arg(name)
            if value is None and default is not None:
                value = self._global_word(default, where)
            if value is not None:
                self.global_args[name] = value

    def _global_word(self, text: str, where: str) -> str:
        try:
            return self.lexer.word(text, {**self.automatic, **self.global_args})
        except SubstitutionError as exc:
            raise BuildError(f"{where}: {exc}") from None

    # --- what a stage asks of the build (stage.BuildEnv) ---------------------------------
    def build_arg(self, name: str) -> str | None:
        if name in self.options.build_args:
            self.consumed.add(name)
            return self.options.build_args[name]
        return None

    def default_arg(self, name: str) -> str | None:
        return self.global_args.get(name, self.automatic.get(name))

    def context_tree(self) -> Tree:
        if self._context is None:
            context = self.options.context
            path = ignore_file(context, self.options.dockerfile)
            rules = IgnoreRules.from_text(path.read_text("utf-8")) if path else IgnoreRules([])
            self._context = load_context(context, rules)
        return self._context

    def source_tree(self, name: str, stage: Stage, where: str) -> tuple[Tree, str]:
        """The filesystem ``COPY --from=name`` reads: an earlier stage, or an image."""
        index = self._stage_index(name, before=stage.index)
        if index is None and name.isdigit():
            if int(name) >= stage.index:
                raise BuildError(
                    f"{where}: --from={name} refers to the current or a later build stage"
                )
            index = int(name)
        if index is not None:
            source = self._stage(index)
            return source.tree, f"stage {source.label}"
        platform = stage.image.platform_value or self.platform
        image = self.bases.get(name, platform, where)
        return self.bases.tree(image), image.name

    def progress(self, text: str) -> None:
        self.reporter.message(text)

    # --- stages -------------------------------------------------------------------------
    def _stage_index(self, name: str, *, before: int) -> int | None:
        wanted = name.lower()
        for definition in self.defs[:before]:
            if definition.name == wanted:
                return definition.index
        return None

    def _stage(self, index: int) -> Stage:
        if index in self._stages:
            return self._stages[index]
        if index in self._building:
            raise BuildError(f"build stage {index} depends on itself")
        self._building.add(index)
        definition = self.defs[index]
        where = self.dockerfile.where(definition.instruction)
        platform = self._stage_platform(definition, where)
        base = self._global_word(definition.base, where)
        if not base:
            raise BuildError(f"{where}: base name ({definition.base}) should not be blank")
        parent_index = self._stage_index(base, before=index)
        layers: list[Entries] = []
        load_tree: Callable[[], Tree]
        if base == "scratch":
            image = ImageState.scratch(platform)
            load_tree = Tree
        elif parent_index is not None:
            parent = self._stage(parent_index)
            image = parent.image.clone()
            layers = list(parent.layers)
            load_tree = partial(_copy_tree, parent)
        else:
            found = self.bases.get(base, platform, where)
            image = ImageState.from_base(found.manifest, found.config)
            load_tree = partial(self.bases.tree, found)
        if not image.platform.get("os"):
            image.platform.update(ImageState.scratch(platform).platform)
        image.ensure_path()
        stage = Stage(index, definition.name, image, self, load_tree, layers=layers)
        self.progress(f"[{stage.label}] FROM {base}")
        stage.run(definition.body, definition.instruction.line)
        self._building.discard(index)
        self._stages[index] = stage
        return stage

    def _stage_platform(self, definition: _StageDef, where: str) -> Platform:
        flags = definition.instruction.flag_values(where, {"platform"})
        text = flags.get("platform")
        if not text:
            return self.platform
        try:
            return Platform.parse(self._global_word(text, where))
        except ClientError as exc:
            raise BuildError(f"{where}: --platform: {exc}") from None

    def _target(self) -> int:
        wanted = self.options.target
        if not wanted:
            return len(self.defs) - 1
        index = self._stage_index(wanted, before=len(self.defs))
        if index is None:
            raise BuildError(f"target stage {wanted!r} could not be found")
        return index

    def _refuse_run(self, target: int) -> None:
        """Fail before any work when a stage the target needs has a RUN."""
        needed: set[int] = set()
        pending = [target]
        while pending:
            index = pending.pop()
            if index in needed:
                continue
            needed.add(index)
            definition = self.defs[index]
            with contextlib.suppress(BuildError):
                base = self._global_word(definition.base, "")
                parent = self._stage_index(base, before=index)
                if parent is not None:
                    pending.append(parent)
            for instruction in definition.body:
                source = _literal_from(instruction)
                if source is None:
                    continue
                found = self._stage_index(source, before=index)
                if found is None and source.isdigit() and int(source) < index:
                    found = int(source)
                if found is not None:
                    pending.append(found)
        runs = [
            instruction
            for index in needed
            for instruction in self.defs[index].body
            if instruction.keyword == "RUN"
        ]
        if runs:
            first = min(runs, key=lambda instruction: instruction.line)
            raise BuildError(
                f"{self.dockerfile.where(first)}: RUN needs a container; "
                "dockyard build runs without one"
            )

    # --- the whole build ----------------------------------------------------------------
    def run(self) -> BuildResult:
        names = self._names()
        self._split()
        target = self._target()
        self._refuse_run(target)
        stage = self._stage(target)
        written = write_image(
            self.store,
            stage.image,
            stage.layers,
            contents=self.contents,
            epoch=self.epoch,
            created=self.created,
            names=names,
            progress=self.progress,
        )
        unused = sorted(set(self.options.build_args) - self.consumed - {SOURCE_DATE_EPOCH})
        warnings = (f"one or more build-args [{' '.join(unused)}] were not consumed",)
        return BuildResult(
            digest=written.digest,
            image_id=written.config_digest,
            names=names,
            platform=str(stage.image.platform_value or self.platform),
            size=written.size,
            warnings=warnings if unused else (),
        )


def _copy_tree(stage: Stage) -> Tree:
    return stage.tree.copy()


def _literal_from(instruction: df.Instruction) -> str | None:
    """The ``--from`` of a ``COPY`` when it holds no variable."""
    if instruction.keyword != "COPY":
        return None
    for flag in instruction.flags:
        name, _, value = flag[2:].partition("=")
        if name == "from" and value and "$" not in value:
            return value.lower()
    return None


def _platform_args(target: Platform, build: Platform) -> dict[str, str]:
    """The automatic ``TARGET*`` and ``BUILD*`` arguments."""
    found = {}
    for prefix, platform in (("TARGET", target), ("BUILD", build)):
        found[f"{prefix}PLATFORM"] = str(platform)
        found[f"{prefix}OS"] = platform.os
        found[f"{prefix}ARCH"] = platform.architecture
        found[f"{prefix}VARIANT"] = platform.variant or ""
    return found
