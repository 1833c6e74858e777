"""One build stage: runs its instructions against its image state and filesystem.

Metadata instructions change the config and add an ``empty_layer`` history entry; ``COPY``,
``ADD`` and ``WORKDIR`` (when it creates the directory) add a layer. Layers are kept as entry
lists until the target image is written, so stages that only feed ``COPY --from`` store nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dockyard.client.build import dockerfile as df
from dockyard.client.build.copying import CopyRequest, plan_copy
from dockyard.client.build.image import (
    ImageState,
    check_signal,
    expose_ports,
    go_list,
    parse_duration,
)
from dockyard.client.build.shell import Lexer, SubstitutionError
from dockyard.client.build.tarfs import Contents, Spool
from dockyard.client.build.tree import DIR, Node, Tree, ancestors, norm
from dockyard.client.build.users import resolve_owner
from dockyard.client.errors import BuildError

Entries = list[tuple[str, Node]]
_URL_PREFIXES = ("http://", "https://", "git@", "git://", "ssh://")
_COPY_FLAGS = {"from", "chown", "chmod", "link"}
_ADD_FLAGS = {"chown", "chmod", "link", "checksum", "keep-git-dir"}
_HEALTH_FLAGS = {"interval", "timeout", "start-period", "start-interval", "retries"}
_NOT_ONBUILD = {"ONBUILD", "FROM", "MAINTAINER"}


class BuildEnv(Protocol):
    """What a stage needs from the build as a whole."""

    dockerfile: df.Dockerfile
    lexer: Lexer
    spool: Spool
    contents: Contents
    created: str

    def build_arg(self, name: str) -> str | None: ...

    def default_arg(self, name: str) -> str | None: ...

    def context_tree(self) -> Tree: ...

    def source_tree(self, name: str, stage: Stage, where: str) -> tuple[Tree, str]: ...

    def progress(self, text: str) -> None: ...


@dataclass
class Stage:
    """A stage being built: name, image state, new layers, filesystem (loaded when needed)."""

    index: int
    name: str | None
    image: ImageState
    env: BuildEnv
    load_tree: Callable[[], Tree]
    layers: list[Entries] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)
    cmd_set: bool = False
    _tree: Tree | None = None

    @property
    def label(self) -> str:
        return self.name or f"stage-{self.index}"

    @property
    def tree(self) -> Tree:
        if self._tree is None:
            self._tree = self.load_tree()
        return self._tree

    # --- running ----------------------------------------------------------------------
    def run(self, instructions: list[df.Instruction], from_line: int) -> None:
        """Run the base image's ONBUILD triggers, then ``instructions``."""
        self._onbuild_triggers(from_line)
        for number, instruction in enumerate(instructions, start=1):
            self.env.progress(f"[{self.label} {number}/{len(instructions)}] {instruction.original}")
            self.dispatch(instruction)

    def _onbuild_triggers(self, line: int) -> None:
        triggers = list(self.image.config.pop("OnBuild", None) or [])
        for text in triggers:
            self.env.progress(f"[{self.label}] ONBUILD {text}")
            try:
                self.dispatch(df.parse_line(str(text), line, self.env.dockerfile.name))
            except BuildError as exc:
                raise BuildError(f"{exc} (in the base image's ONBUILD {text!r})") from None

    def where(self, instruction: df.Instruction) -> str:
        return self.env.dockerfile.where(instruction)

    def dispatch(self, instruction: df.Instruction) -> None:
        handler = getattr(self, f"_do_{instruction.keyword.lower()}", None)
        if handler is None:
            raise BuildError(
                f"{self.where(instruction)}: {instruction.keyword} is not allowed here"
            )
        own_flags = ("COPY", "ADD", "HEALTHCHECK", "RUN")
        if instruction.flags and instruction.keyword not in own_flags:
            instruction.flag_values(self.where(instruction), set())
        handler(instruction)

    def vars(self) -> dict[str, str]:
        """The variables substitution sees: ARGs, overridden by ENV."""
        return {**self.args, **self.image.env()}

    def word(self, text: str, where: str, env: Mapping[str, str] | None = None) -> str:
        try:
            return self.env.lexer.word(text, self.vars() if env is None else env)
        except SubstitutionError as exc:
            raise BuildError(f"{where}: {exc}") from None

    def _history(self, created_by: str, *, empty: bool = True) -> None:
        self.image.add_history(created_by, self.env.created, empty=empty)

    def _layer(self, entries: Entries, created_by: str) -> None:
        for path, node in entries:
            self.tree.put(path, node)
        self.layers.append(entries)
        self._history(created_by, empty=False)

    # --- instructions -------------------------------------------------------------------
    def _do_run(self, instruction: df.Instruction) -> None:
        raise BuildError(
            f"{self.where(instruction)}: RUN needs a container; dockyard build runs without one"
        )

    def _do_arg(self, instruction: df.Instruction) -> None:
        where = self.where(instruction)
        shown = []
        for name, default in df.arg_definitions(
            instruction.args, self.env.dockerfile.escape, where
        ):
            value = self.env.build_arg(name)
            if value is None and default is not None:
                value = self.word(default, where)
            if value is None:
                value = self.env.default_arg(name)
            if value is None:
                self.args.pop(name, None)
                shown.append(name)
            else:
                self.args[name] = value
                shown.append(f"{name}={value}")
        self._history("ARG " + " ".join(shown))

    def _do_env(self, instruction: df.Instruction) -> None:
        where = self.where(instruction)
        pairs = df.key_values(instruction.args, self.env.dockerfile.escape, where, "ENV")
        scope = self.vars()
        expanded = [(self.word(k, where, scope), self.word(v, where, scope)) for k, v in pairs]
        for key, value in expanded:
            if not key:
                raise BuildError(f"{where}: ENV names cannot be empty")
            self.image.set_env(key, value)
        self._history("ENV " + " ".join(f"{k}={v}" for k, v in expanded))

    def _do_label(self, instruction: df.Instruction) -> None:
        where = self.where(instruction)
        pairs = df.key_values(instruction.args, self.env.dockerfile.escape, where, "LABEL")
        scope = self.vars()
        labels = dict(self.image.config.get("Labels") or {})
        expanded = [(self.word(k, where, scope), self.word(v, where, scope)) for k, v in pairs]
        for key, value in expanded:
            if not key:
                raise BuildError(f"{where}: LABEL names cannot be empty")
            labels[key] = value
        self.image.config["Labels"] = labels
        self._history("LABEL " + " ".join(f"{k}={v}" for k, v in expanded))

    def _do_maintainer(self, instruction: df.Instruction) -> None:
        self.image.author = instruction.args
        self._history(f"MAINTAINER {instruction.args}")

    def _do_user(self, instruction: df.Instruction) -> None:
        user = self.word(instruction.args, self.where(instruction))
        if not user:
            raise BuildError(f"{self.where(instruction)}: USER requires exactly one argument")
        self.image.config["User"] = user
        self._history(f"USER {user}")

    def _do_workdir(self, instruction: df.Instruction) -> None:
        where = self.where(instruction)
        path = self.word(instruction.args, where)
        if not path:
            raise BuildError(f"{where}: WORKDIR requires exactly one argument")
        current = str(self.image.config.get("WorkingDir") or "/")
        absolute = "/" + norm(path if path.startswith("/") else posixpath.join(current, path))
        self.image.config["WorkingDir"] = absolute
        created_by = f"WORKDIR {absolute}"
        resolved = self.tree.resolve(absolute)
        if not resolved or self.tree.get(resolved) is not None:
            self._history(created_by)
            return
        owner = self._owner(self.image.config.get("User"), where) or (0, 0)
        entries = [
            (p, Node(DIR, 0o755).owned(owner))
            for p in [*ancestors(resolved), resolved]
            if self.tree.get(p) is None
        ]
        self._layer(entries, created_by)

    def _owner(self, spec: object, where: str) -> tuple[int, int] | None:
        """The ``USER`` as numbers; root when the image cannot say (as docker's legacy builder)."""
        if not spec:
            return None
        try:
            return resolve_owner(str(spec), self.tree, self.env.contents, where)
        except BuildError:
            return None

    def _do_expose(self, instruction: df.Instruction) -> None:
        where = self.where(instruction)
        words = [w for raw in instruction.args.split() for w in self._words(raw, where)]
        if not words:
            raise BuildError(f"{where}: EXPOSE requires at least one argument")
        ports = expose_ports(words, where)
        exposed = dict(self.image.config.get("ExposedPorts") or {})
        for port in ports:
            exposed[port] = {}
        self.image.config["ExposedPorts"] = exposed
        self._history("EXPOSE map[" + " ".join(f"{p}:{{}}" for p in sorted(set(ports))) + "]")

    def _words(self, raw: str, where: str) -> list[str]:
        try:
            return self.env.lexer.words(raw, self.vars())
        except SubstitutionError as exc:
            raise BuildError(f"{where}: {exc}") from None

    def _do_volume(self, instruction: df.Instruction) -> None:
        where = self.where(instruction)
        paths = [self.word(w, where) for w in df.json_or_fields(instruction.args)]
        if not paths or any(not p.strip() for p in paths):
            raise BuildError(f"{where}: VOLUME specified can not be an empty string")
        volumes = dict(self.image.config.get("Volumes") or {})
        for path in paths:
            volumes[path] = {}
        self.image.config["Volumes"] = volumes
        self._history("VOLUME [" + " ".join(paths) + "]")

    def _do_stopsignal(self, instruction: df.Instruction) -> None:
        where = self.where(instruction)
        signal = check_signal(self.word(instruction.args, where), where)
        self.image.config["StopSignal"] = signal
        self._history(f"STOPSIGNAL {signal}")

    def _command(self, instruction: df.Instruction) -> list[str]:
        exec_form = df.json_or_none(instruction.args)
        if exec_form is not None:
            return exec_form
        if not instruction.args:
            raise BuildError(
                f"{self.where(instruction)}: {instruction.keyword} requires at least one argument"
            )
        return [*self.image.shell(), instruction.args]

    def _do_cmd(self, instruction: df.Instruction) -> None:
        command = self._command(instruction)
        self.image.config["Cmd"] = command
        self.cmd_set = True
        self._history(f"CMD {go_list(command)}")

    def _do_entrypoint(self, instruction: df.Instruction) -> None:
        command = self._command(instruction)
        self.image.config["Entrypoint"] = command
        if not self.cmd_set:
            self.image.config.pop("Cmd", None)
        self._history(f"ENTRYPOINT {go_list(command)}")

    def _do_shell(self, instruction: df.Instruction) -> None:
        shell = df.json_or_none(instruction.args)
        if not shell:
            raise BuildError(
                f"{self.where(instruction)}: SHELL requires the arguments to be in JSON form, "
                'e.g. SHELL ["/bin/bash", "-c"]'
            )
        self.image.config["Shell"] = shell
        self._history(f"SHELL [{' '.join(shell)}]")

    def _do_healthcheck(self, instruction: df.Instruction) -> None:
        where = self.where(instruction)
        flags = instruction.flag_values(where, _HEALTH_FLAGS)
        kind, *more = instruction.args.split(None, 1) or [""]
        kind, rest = kind.upper(), more[0] if more else ""
        if kind == "NONE":
            if rest.strip() or flags:
                raise BuildError(f"{where}: HEALTHCHECK NONE takes no arguments or options")
            self.image.config["Healthcheck"] = {"Test": ["NONE"]}
            self._history("HEALTHCHECK NONE")
            return
        if kind != "CMD" or not rest.strip():
            raise BuildError(f"{where}: HEALTHCHECK needs NONE or CMD and a command")
        exec_form = df.json_or_none(rest)
        test = ["CMD", *exec_form] if exec_form is not None else ["CMD-SHELL", rest.strip()]
        check: dict[str, Any] = {"Test": test}
        for flag, key in (
            ("interval", "Interval"),
            ("timeout", "Timeout"),
            ("start-period", "StartPeriod"),
            ("start-interval", "StartInterval"),
        ):
            if flags.get(flag):
                value = parse_duration(self.word(str(flags[flag]), where), where, flag)
                if value:
                    check[key] = value
        if flags.get("retries"):
            text = self.word(str(flags["retries"]), where)
            if not text.isdigit():
                raise BuildError(f"{where}: --retries must be a whole number, not {text!r}")
            if int(text):
                check["Retries"] = int(text)
        self.image.config["Healthcheck"] = check
        self._history(f"HEALTHCHECK {instruction.original.split(None, 1)[1]}")

    def _do_onbuild(self, instruction: df.Instruction) -> None:
        where = self.where(instruction)
        trigger = df.parse_line(instruction.args, instruction.line, self.env.dockerfile.name)
        if trigger.keyword in _NOT_ONBUILD:
            raise BuildError(f"{where}: {trigger.keyword} isn't allowed as an ONBUILD trigger")
        triggers = list(self.image.config.get("OnBuild") or [])
        triggers.append(instruction.args)
        self.image.config["OnBuild"] = triggers
        self._history(f"ONBUILD {instruction.args}")

    def _do_copy(self, instruction: df.Instruction) -> None:
        self._copy(instruction, _COPY_FLAGS)

    def _do_add(self, instruction: df.Instruction) -> None:
        self._copy(instruction, _ADD_FLAGS)

    def _copy(self, instruction: df.Instruction, allowed: set[str]) -> None:
        where = self.where(instruction)
        keyword = instruction.keyword
        flags = instruction.flag_values(where, allowed)
        raw = df.json_or_fields(instruction.args)
        if any(w.startswith("<<") for w in raw[:-1]):
            raise BuildError(f"{where}: heredocs are not supported by dockyard build")
        words = [self.word(w, where) for w in raw]
        if len(words) < 2:
            raise BuildError(f"{where}: {keyword} requires at least two arguments")
        sources, dest = words[:-1], words[-1]
        if keyword == "ADD":
            for text in sources:
                if text.startswith(_URL_PREFIXES):
                    raise BuildError(
                        f"{where}: ADD {text}: fetching URLs would download at build time, "
                        "which dockyard build does not do; download the file into the build "
                        "context and ADD (or COPY) it from there"
                    )
        shown_flags = []
        source_tree = None
        from_name = ""
        if flags.get("from"):
            from_name = self.word(str(flags["from"]), where)
            source_tree, from_name = self.env.source_tree(from_name, self, where)
            shown_flags.append(f"--from={flags['from']}")
        owner = None
        if flags.get("chown"):
            spec = self.word(str(flags["chown"]), where)
            owner = resolve_owner(spec, self.tree, self.env.contents, where)
            shown_flags.append(f"--chown={spec}")
        chmod = None
        if flags.get("chmod"):
            text = self.word(str(flags["chmod"]), where)
            chmod = _octal_mode(text, where)
            shown_flags.append(f"--chmod={text}")
        if "link" in flags:
            shown_flags.append("--link")
        request = CopyRequest(
            keyword=keyword,
            where=where,
            sources=tuple(sources),
            dest=dest,
            workdir=str(self.image.config.get("WorkingDir") or "/"),
            owner=owner,
            chmod=chmod,
            from_context=source_tree is None,
            from_name=from_name,
        )
        source = source_tree if source_tree is not None else self.env.context_tree()
        entries = plan_copy(request, source, self.tree, self.env.spool)
        created_by = " ".join([keyword, *shown_flags, *words]) + " # buildkit"
        self._layer(entries, created_by)


def _octal_mode(text: str, where: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise BuildError(f"{where}: invalid --chmod={text}: use an octal mode such as 755")
    return mode
