"""``dockyard build`` in process: instructions, COPY/ADD rules, stages, bases, reproducibility."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from dockyard.client.build import BuildOptions, BuildResult, build_image
from dockyard.client.errors import BuildError, NotFound
from dockyard.client.platforms import Platform
from dockyard.client.reference import Reference
from dockyard.client.store import ImageStore

PLATFORM = Platform("linux", "amd64")


def _no_pull(ref: Reference, platform: Platform) -> object:
    raise NotFound(f"image {ref.familiar()}: not found")


def _write(context: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = context / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _build(
    tmp_path: Path,
    dockerfile: str,
    files: dict[str, str | bytes] | None = None,
    *,
    store: ImageStore | None = None,
    context: Path | None = None,
    puller: Any = _no_pull,
    **options: Any,
) -> tuple[BuildResult, ImageStore]:
    context = context or tmp_path / "ctx"
    context.mkdir(parents=True, exist_ok=True)
    _write(context, files or {})
    (context / "Dockerfile").write_text(dockerfile)
    store = store or ImageStore(tmp_path / "home")
    options.setdefault("tags", ("app:1",))
    options.setdefault("platform", PLATFORM)
    result = build_image(store, BuildOptions(context=context, **options), puller)
    return result, store


def _image(store: ImageStore, digest: str) -> tuple[dict[str, Any], dict[str, Any]]:
    manifest = store.manifest(digest)
    config = json.loads(store.blobs.read(manifest["config"]["digest"]))
    return manifest, config


def _files(store: ImageStore, digest: str, layer: int = -1) -> dict[str, tuple[Any, ...]]:
    """One layer's entries: name -> (type, mode, uid, gid, content or link target)."""
    manifest, _ = _image(store, digest)
    blob = store.blobs.read(manifest["layers"][layer]["digest"])
    found = {}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as tar:
        for member in tar:
            if member.isfile():
                handle = tar.extractfile(member)
                assert handle is not None
                detail: Any = handle.read()
            else:
                detail = member.linkname
            kind = "dir" if member.isdir() else "link" if member.issym() else "file"
            found[member.name] = (kind, member.mode, member.uid, member.gid, detail)
    return found


# --- metadata -------------------------------------------------------------------------------
def test_metadata_instructions_make_a_docker_config(tmp_path: Path) -> None:
    result, store = _build(
        tmp_path,
        """\
FROM scratch
MAINTAINER someone
ENV A=1 B="two words"
ENV C $A-x
LABEL org.example.name="my app" version=1
EXPOSE 80 53/udp 8000-8001/tcp
USER app:app
VOLUME ["/data", "/cache"]
VOLUME /logs
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=1m30s --timeout=5s --start-period=1s --retries=4 CMD ["/bin/check"]
CMD echo hello
SHELL ["/bin/bash", "-eu", "-c"]
ENTRYPOINT exec run
ONBUILD COPY . /app
""",
    )
    manifest, config = _image(store, result.digest)
    assert manifest["layers"] == []
    assert config["created"] == "1970-01-01T00:00:00Z"
    assert (config["os"], config["architecture"], config["author"]) == ("linux", "amd64", "someone")
    cfg = config["config"]
    assert cfg["Env"] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "A=1",
        "B=two words",
        "C=1-x",
    ]
    assert cfg["Labels"] == {"org.example.name": "my app", "version": "1"}
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}}
    assert cfg["User"] == "app:app"
    assert cfg["Volumes"] == {"/data": {}, "/cache": {}, "/logs": {}}
    assert cfg["StopSignal"] == "SIGQUIT"
    assert cfg["Healthcheck"] == {
        "Test": ["CMD", "/bin/check"],
        "Interval": 90_000_000_000,
        "Timeout": 5_000_000_000,
        "StartPeriod": 1_000_000_000,
        "Retries": 4,
    }
    assert cfg["Cmd"] == ["/bin/sh", "-c", "echo hello"], "CMD set in this stage stays"
    assert cfg["Entrypoint"] == ["/bin/bash", "-eu", "-c", "exec run"]
    assert cfg["Shell"] == ["/bin/bash", "-eu", "-c"]
    assert cfg["OnBuild"] == ["COPY . /app"]
    history = config["history"]
    assert all(h["empty_layer"] for h in history)
    assert [h["created_by"] for h in history][:4] == [
        "MAINTAINER someone",
        "ENV A=1 B=two words",
        "ENV C=1-x",
        "LABEL org.example.name=my app version=1",
    ]
    assert 'CMD ["/bin/sh" "-c" "echo hello"]' in [h["created_by"] for h in history]
    assert result.image_id == manifest["config"]["digest"]
    assert store.find("docker.io/library/app:1") is not None


def test_healthcheck_none_and_bad_options(tmp_path: Path) -> None:
    result, store = _build(tmp_path, "FROM scratch\nHEALTHCHECK NONE\n")
    assert _image(store, result.digest)[1]["config"]["Healthcheck"] == {"Test": ["NONE"]}
    for line, message in [
        ("HEALTHCHECK --interval=10us CMD x", "cannot be less than 1ms"),
        ("HEALTHCHECK --interval=soon CMD x", "invalid duration"),
        ("HEALTHCHECK --retries=-1 CMD x", "whole number"),
        ("HEALTHCHECK --interval=1s NONE", "NONE takes no arguments"),
        ("HEALTHCHECK --bogus=1 CMD x", "unknown flag --bogus"),
        ("HEALTHCHECK RUN x", "needs NONE or CMD"),
    ]:
        with pytest.raises(BuildError, match=f"Dockerfile:2: .*{message}"):
            _build(tmp_path, f"FROM scratch\n{line}\n")


def test_args_env_and_build_args(tmp_path: Path) -> None:
    result, store = _build(
        tmp_path,
        """\
ARG NAME=global
ARG UNUSED_GLOBAL
FROM scratch AS build
ARG NAME
ARG GIVEN=default
ARG DERIVED=${GIVEN}-${NAME:-none}
ENV FROM_ARG=$DERIVED
ARG SHADOWED=arg
ENV SHADOWED=env
ENV SEEN=${SHADOWED} ARCH=${TARGETARCH:-unset}
ARG TARGETARCH
ENV ARCH2=$TARGETARCH
""",
        build_args={"GIVEN": "from-cli", "NOT_DECLARED": "x"},
    )
    env = _image(store, result.digest)[1]["config"]["Env"]
    assert "FROM_ARG=from-cli-global" in env
    assert "SEEN=env" in env, "ENV wins over ARG"
    assert "ARCH=unset" in env, "automatic platform ARGs need declaring in a stage"
    assert "ARCH2=amd64" in env
    assert result.warnings == ("one or more build-args [NOT_DECLARED] were not consumed",)


def test_entrypoint_clears_an_inherited_cmd(tmp_path: Path) -> None:
    _build(tmp_path, 'FROM scratch\nCMD ["base"]\n', tags=("base:1",))
    result, store = _build(
        tmp_path, 'FROM base:1\nENTRYPOINT ["/entry"]\n', store=ImageStore(tmp_path / "home")
    )
    cfg = _image(store, result.digest)[1]["config"]
    assert cfg["Entrypoint"] == ["/entry"]
    assert "Cmd" not in cfg


# --- COPY and ADD ---------------------------------------------------------------------------
PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1001:1002::/home/app:/bin/sh\n"
GROUP = "root:x:0:\napp:x:1002:\nstaff:x:50:\n"


def test_copy_rules(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "one.txt": "1",
        "two.txt": "2",
        "dir/a": "a",
        "dir/sub/b": "b",
        "etc/passwd": PASSWD,
        "etc/group": GROUP,
    }
    context = tmp_path / "ctx"
    _write(context, files)
    os.chmod(context / "two.txt", 0o755)
    (context / "link-to-one").symlink_to("one.txt")
    (context / "dir" / "inner-link").symlink_to("a")
    dockerfile = """\
FROM scratch
COPY etc/ /etc/
WORKDIR /app
COPY one.txt .
COPY two.txt renamed
COPY *.txt /multi/
COPY dir /tree
COPY link-to-one /followed
COPY --chown=app one.txt /owned/by/app
COPY --chown=1:staff --chmod=600 two.txt /owned/by-numbers/
COPY one.txt /etc
"""
    result, store = _build(tmp_path, dockerfile, context=context)
    layer = [_files(store, result.digest, i) for i in range(10)]
    assert layer[1] == {"app": ("dir", 0o755, 0, 0, "")}
    assert layer[2] == {"app/one.txt": ("file", 0o644, 0, 0, b"1")}
    assert layer[3] == {"app/renamed": ("file", 0o755, 0, 0, b"2")}
    assert set(layer[4]) == {"multi", "multi/one.txt", "multi/two.txt"}
    assert layer[5] == {
        "tree": ("dir", 0o755, 0, 0, ""),
        "tree/a": ("file", 0o644, 0, 0, b"a"),
        "tree/inner-link": ("link", 0o777, 0, 0, "a"),
        "tree/sub": ("dir", 0o755, 0, 0, ""),
        "tree/sub/b": ("file", 0o644, 0, 0, b"b"),
    }
    assert layer[6] == {"followed": ("file", 0o644, 0, 0, b"1")}
    assert layer[7] == {
        "owned": ("dir", 0o755, 1001, 1002, ""),
        "owned/by": ("dir", 0o755, 1001, 1002, ""),
        "owned/by/app": ("file", 0o644, 1001, 1002, b"1"),
    }
    assert layer[8] == {
        "owned/by-numbers": ("dir", 0o755, 1, 50, ""),
        "owned/by-numbers/two.txt": ("file", 0o600, 1, 50, b"2"),
    }
    assert layer[9] == {"etc/one.txt": ("file", 0o644, 0, 0, b"1")}, "into an existing dir"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("COPY one.txt two.txt /no-slash", "more than one source file"),
        ("COPY missing /x", "missing: not found in the build context"),
        ("COPY nothing* /x/", "not found in the build context"),
        ("COPY --chown=nobody one.txt /x", "unable to find user nobody"),
        ("COPY --chown=0:nogroup one.txt /x", "unable to find group nogroup"),
        ("COPY --chmod=u+x one.txt /x", "invalid --chmod=u\\+x"),
        ("COPY --from=later one.txt /x", "cannot pull later:latest: image later"),
        ("COPY --from=1 one.txt /x", "current or a later build stage"),
        ("COPY one.txt", "requires at least two arguments"),
        ("COPY <<EOF /x", "heredocs are not supported"),
        ("ADD https://example.com/file.tar.gz /x/", "fetching URLs would download at build"),
        ("ADD --checksum=sha256:00 git@github.com:a/b.git /x/", "fetching URLs"),
        ("COPY --mount=type=cache one.txt /x", "unknown flag --mount for COPY"),
    ],
)
def test_copy_errors_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(BuildError, match=f"^Dockerfile:3: .*{message}"):
        _build(
            tmp_path,
            f"FROM scratch AS first\n# comment\n{line}\nFROM scratch AS later\n",
            {"one.txt": "1", "two.txt": "2"},
            tags=(),
            target="first",
        )


def _tar(entries: dict[str, bytes], compress: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.uid, info.gid, info.mode = len(data), 7, 8, 0o640
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("./pkg/hard")
        link.type, link.linkname = tarfile.LNKTYPE, "./pkg/file"
        tar.addfile(link)
    data = raw.getvalue()
    return {
        "gz": gzip.compress,
        "bz2": bz2.compress,
        "xz": lzma.compress,
        "tar": lambda d: d,
    }[compress](data)


@pytest.mark.parametrize("compress", ["gz", "bz2", "xz", "tar"])
def test_add_extracts_local_archives(tmp_path: Path, compress: str) -> None:
    archive = _tar({"./pkg/file": b"payload"}, compress)
    result, store = _build(
        tmp_path,
        f"FROM scratch\nADD archive.{compress} /opt\n"
        f"ADD --chown=3:4 --chmod=700 archive.{compress} /o2/\n",
        {f"archive.{compress}": archive},
    )
    assert _files(store, result.digest, -2) == {
        "opt": ("dir", 0o755, 0, 0, ""),
        "opt/pkg": ("dir", 0o755, 0, 0, ""),
        "opt/pkg/file": ("file", 0o640, 7, 8, b"payload"),
        "opt/pkg/hard": ("file", 0o640, 7, 8, b"payload"),
    }
    owned = _files(store, result.digest, -1)
    assert {v[2:4] for v in owned.values()} == {(3, 4)}
    assert owned["o2/pkg/file"][1] == 0o640, "an archive keeps its modes"


def test_add_copies_what_is_not_an_archive_and_copy_never_extracts(tmp_path: Path) -> None:
    not_tar = gzip.compress(b"just text", mtime=0)
    archive = _tar({"f": b"x"}, "gz")
    result, store = _build(
        tmp_path,
        "FROM scratch\nADD notes.gz /n/\nCOPY archive.tar.gz /c/\n",
        {"notes.gz": not_tar, "archive.tar.gz": archive},
    )
    assert _files(store, result.digest, -2)["n/notes.gz"][4] == not_tar
    assert _files(store, result.digest, -1)["c/archive.tar.gz"][4] == archive


def test_dockerignore_hides_files(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        ".dockerignore": "secret*\n**/*.log\n!keep.log\n",
        "app.py": "print()",
        "secret.key": "k",
        "logs/a.log": "a",
        "keep.log": "kept",
    }
    result, store = _build(tmp_path, "FROM scratch\nCOPY . /src/\n", files)
    assert sorted(_files(store, result.digest)) == [
        "src",
        "src/.dockerignore",
        "src/Dockerfile",
        "src/app.py",
        "src/keep.log",
        "src/logs",
    ]
    with pytest.raises(BuildError, match=r"secret\.key: not found in the build context"):
        _build(tmp_path, "FROM scratch\nCOPY secret.key /\n")


# --- stages and bases -----------------------------------------------------------------------
def test_multi_stage_copy_from_and_target(tmp_path: Path) -> None:
    dockerfile = """\
FROM scratch AS Builder
COPY one.txt /out/one.txt
COPY two.txt /out/two.txt
FROM builder AS derived
LABEL derived=yes
FROM scratch AS unused
RUN this stage is never needed
FROM scratch
COPY --from=BUILDER /out/ /final/
COPY --from=0 /out/one.txt /again
"""
    files: dict[str, str | bytes] = {"one.txt": "1", "two.txt": "2"}
    result, store = _build(tmp_path, dockerfile, files)
    manifest, config = _image(store, result.digest)
    assert len(manifest["layers"]) == 2
    assert set(_files(store, result.digest, 0)) == {"final", "final/one.txt", "final/two.txt"}
    derived, _ = _build(tmp_path, dockerfile, files, target="derived", tags=("derived:1",))
    manifest, config = _image(store, derived.digest)
    assert len(manifest["layers"]) == 2, "FROM a stage keeps that stage's layers"
    assert config["config"]["Labels"] == {"derived": "yes"}
    with pytest.raises(BuildError, match=r"^Dockerfile:7: RUN needs a container; dockyard"):
        _build(tmp_path, dockerfile, files, target="unused")
    with pytest.raises(BuildError, match="target stage 'nope' could not be found"):
        _build(tmp_path, dockerfile, files, target="nope")


def test_run_in_a_needed_stage_fails_before_pulling(tmp_path: Path) -> None:
    calls: list[str] = []

    def pull(ref: Reference, platform: Platform) -> object:
        calls.append(str(ref))
        raise AssertionError("must not pull")

    with pytest.raises(BuildError) as caught:
        _build(
            tmp_path,
            "FROM example.com/base:1 AS a\nRUN make\nFROM scratch\nCOPY --from=a /x /x\n",
            puller=pull,
        )
    assert (
        str(caught.value) == "Dockerfile:2: RUN needs a container; dockyard build runs without one"
    )
    assert calls == []


def _layer(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    plain = raw.getvalue()
    return gzip.compress(plain, mtime=0), "sha256:" + hashlib.sha256(plain).hexdigest()


def _member(name: str, kind: bytes = tarfile.REGTYPE, **fields: Any) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def _store_image(store: ImageStore, name: str, layers: list[tuple[bytes, str]]) -> None:
    """A base image as a pull would store it (docker media types)."""
    store.ensure()
    descriptors = []
    for blob, _ in layers:
        digest = store.blobs.put(blob)
        descriptors.append(
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": digest,
                "size": len(blob),
            }
        )
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"], "OnBuild": ["LABEL onbuild=ran"]},
            "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in layers]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": store.blobs.put(config),
                "size": len(config),
            },
            "layers": descriptors,
        }
    ).encode()
    store.assign(
        name,
        {
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "digest": store.blobs.put(manifest),
            "size": len(manifest),
        },
    )


def test_base_image_layers_whiteouts_links_and_users(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "home")
    lower = _layer(
        [
            (_member("etc", tarfile.DIRTYPE), None),
            (_member("etc/passwd"), PASSWD.encode()),
            (_member("etc/group"), GROUP.encode()),
            (_member("a", tarfile.DIRTYPE), None),
            (_member("a/x", uid=5, gid=6), b"x-content"),
            (_member("a/gone"), b"deleted later"),
            (_member("a/hard", tarfile.LNKTYPE, linkname="a/x"), None),
            (_member("opaque", tarfile.DIRTYPE), None),
            (_member("opaque/old"), b"hidden by an opaque whiteout"),
            (_member("bin", tarfile.SYMTYPE, linkname="usr/bin"), None),
            (_member("usr/bin", tarfile.DIRTYPE), None),
            (_member("tmp", tarfile.DIRTYPE, mode=0o1777), None),
        ]
    )
    upper = _layer(
        [
            (_member("a/.wh.gone"), b""),
            (_member("opaque/.wh..wh..opq"), b""),
            (_member("opaque/new"), b"new"),
        ]
    )
    _store_image(store, "docker.io/library/base:1", [lower, upper])
    result, store = _build(
        tmp_path,
        """\
FROM base:1 AS base
FROM scratch
COPY --from=base / /root/
COPY --from=base:1 /bin /viabin
""",
        store=store,
        tags=("copied:1",),
    )
    copied = _files(store, result.digest, 0)
    assert copied["root/a/x"] == ("file", 0o644, 5, 6, b"x-content")
    assert copied["root/a/hard"][4] == b"x-content"
    assert "root/a/gone" not in copied
    assert sorted(p for p in copied if p.startswith("root/opaque/")) == ["root/opaque/new"]
    assert copied["root/bin"] == ("link", 0o644, 0, 0, "usr/bin")
    assert set(_files(store, result.digest, 1)) == {"viabin"}, "a followed link to a dir"

    result, store = _build(
        tmp_path,
        """\
FROM base:1
USER app
WORKDIR /tmp
WORKDIR /home/app/work
COPY --chown=app:staff one.txt /bin/
COPY one.txt /tmp/
""",
        {"one.txt": "1"},
        store=store,
    )
    manifest, config = _image(store, result.digest)
    assert [d["mediaType"] for d in manifest["layers"][:2]] == [
        "application/vnd.oci.image.layer.v1.tar+gzip"
    ] * 2
    assert config["config"]["Labels"] == {"onbuild": "ran"}, "base ONBUILD triggers run"
    assert "OnBuild" not in config["config"]
    assert config["config"]["Env"] == ["PATH=/bin"]
    assert [h.get("empty_layer", False) for h in config["history"]] == [
        False,
        False,
        True,  # the ONBUILD trigger's LABEL
        True,  # USER
        True,  # WORKDIR /tmp exists already
        False,
        False,
        False,
    ]
    assert _files(store, result.digest, 2) == {
        "home": ("dir", 0o755, 1001, 1002, ""),
        "home/app": ("dir", 0o755, 1001, 1002, ""),
        "home/app/work": ("dir", 0o755, 1001, 1002, ""),
    }
    assert _files(store, result.digest, 3) == {
        "usr/bin/one.txt": ("file", 0o644, 1001, 50, b"1"),
    }, "through the /bin symbolic link, existing parents untouched"
    assert _files(store, result.digest, 4) == {"tmp/one.txt": ("file", 0o644, 0, 0, b"1")}


def test_missing_base_is_pulled_for_the_platform(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "home")
    pulled: list[tuple[str, str]] = []

    def pull(ref: Reference, platform: Platform) -> object:
        pulled.append((str(ref), str(platform)))
        _store_image(store, str(ref), [_layer([(_member("f"), b"f")])])
        return None

    text = "FROM 127.0.0.1:5000/team/base\nCOPY --from=127.0.0.1:5000/team/base /f /g\n"
    _build(tmp_path, text, store=store, puller=pull)
    assert pulled == [("127.0.0.1:5000/team/base:latest", "linux/amd64")]
    _build(tmp_path, text, store=store, puller=pull)
    assert len(pulled) == 1, "a stored base is used as it is"
    _build(tmp_path, text, store=store, puller=pull, pull=True)
    assert len(pulled) == 2, "--pull pulls a stored base again (once per build)"
    with pytest.raises(BuildError, match=r"Dockerfile:1: cannot pull example\.com/x:1: image"):
        _build(tmp_path, "FROM example.com/x:1\n", store=store)


def test_from_errors(tmp_path: Path) -> None:
    for text, message in [
        ("ENV A=1\nFROM scratch\n", "Dockerfile:1: ENV before the first FROM"),
        ("ARG B\nFROM ${B}\n", "Dockerfile:2: base name \\(\\${B}\\) should not be blank"),
        ("FROM scratch AS a\nFROM scratch AS A\n", "Dockerfile:2: duplicate stage name 'a'"),
        ("FROM scratch AS\n", "Dockerfile:1: FROM requires either one or three"),
        ("FROM scratch AS 1x\n", "invalid stage name"),
        ("# only a comment\n", "no FROM instruction"),
        ("FROM --platform=a/b/c/d scratch\n", "Dockerfile:1: --platform: invalid platform"),
    ]:
        with pytest.raises(BuildError, match=message):
            _build(tmp_path, text)


# --- reproducibility ------------------------------------------------------------------------
def test_same_inputs_same_digest(tmp_path: Path) -> None:
    dockerfile = 'FROM scratch\nCOPY . /src/\nWORKDIR /src/work\nCMD ["x"]\n'
    files: dict[str, str | bytes] = {"a.txt": "a", "dir/b.txt": "b"}
    first, _ = _build(tmp_path / "one", dockerfile, files)
    again, _ = _build(tmp_path / "one", dockerfile, files)
    for path in (tmp_path / "one" / "ctx").rglob("*"):
        os.utime(path, (1_600_000_000, 1_600_000_000), follow_symlinks=False)
    touched, _ = _build(tmp_path / "one", dockerfile, files)
    elsewhere, _ = _build(tmp_path / "two", dockerfile, files)
    assert first.digest == again.digest == touched.digest == elsewhere.digest
    epoch, store = _build(tmp_path / "one", dockerfile, files, source_date_epoch=1_700_000_000)
    assert epoch.digest != first.digest
    config = _image(store, epoch.digest)[1]
    assert config["created"] == "2023-11-14T22:13:20Z"
    assert {h["created"] for h in config["history"]} == {"2023-11-14T22:13:20Z"}
    as_arg, _ = _build(
        tmp_path / "one", dockerfile, files, build_args={"SOURCE_DATE_EPOCH": "1700000000"}
    )
    assert as_arg.digest == epoch.digest
    assert as_arg.warnings == ()


def test_workdir_of_an_unknown_user_belongs_to_root(tmp_path: Path) -> None:
    result, store = _build(tmp_path, "FROM scratch\nUSER nobody\nWORKDIR /work\n")
    assert _files(store, result.digest) == {"work": ("dir", 0o755, 0, 0, "")}
    assert _image(store, result.digest)[1]["config"]["User"] == "nobody"
