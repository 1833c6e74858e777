"""``dockyard build`` end to end: images a real Docker engine runs, pushed to a live Dockyard.

- FROM scratch + busybox: ``dockyard save`` -> ``docker load`` -> ``docker run``;
- the README's workflow with only ``dockyard``: build, push, build ``FROM`` the pushed image
  (pulled by the build), push, then ``docker pull`` + ``docker run`` and ``skopeo inspect``;
- the same inputs give the same digest (other file times, another store);
- ``RUN`` fails with the line; multi-stage ``COPY --from``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.support.docker_engine import BUSYBOX, DockerEngine, write_busybox_context
from tests.support.dyclient import DockyardCLI
from tests.support.images import host_architecture, manifest_digest
from tests.support.servers import LiveServer
from tests.support.tools import run, which

pytestmark = pytest.mark.realclient


def _context(directory: Path, dockerfile: str, files: dict[str, str] | None = None) -> Path:
    """A build context holding busybox, ``files`` and the Dockerfile."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUSYBOX, directory / "busybox")
    (directory / "busybox").chmod(0o755)
    for name, content in (files or {}).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(content)
    (directory / "Dockerfile").write_text(dockerfile)
    return directory


def _digest(out: str) -> str:
    """The digest ``dockyard build`` printed."""
    match = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
    assert match, out
    return match.group(1)


SCRATCH_DOCKERFILE = """\
# syntax=docker/dockerfile:1
FROM scratch
ARG WHO=docker
ENV WHO=${WHO} \\
    GREETING="hello from"
COPY busybox /bin/busybox
COPY --chmod=0644 message.txt /etc/
WORKDIR /srv
ENTRYPOINT ["/bin/busybox"]
CMD ["sh", "-c", "echo $GREETING $WHO; cat /etc/message.txt; pwd"]
"""


def test_scratch_build_is_saved_loaded_and_run_by_docker(
    docker_engine: DockerEngine, registry: LiveServer, tmp_path: Path
) -> None:
    context = _context(tmp_path / "ctx", SCRATCH_DOCKERFILE, {"message.txt": "built by dockyard\n"})
    dy = DockyardCLI(tmp_path / "client")
    ref = f"{registry.host}/built/scratch:1"
    dy("build", "-t", ref, "--build-arg", "WHO=a real engine", context)
    archive = tmp_path / "image.tar"
    dy("save", ref, "-o", archive)

    assert f"Loaded image: {ref}" in docker_engine.docker("load", "-i", archive).stdout
    out = docker_engine.run_container(ref)
    assert out.splitlines() == ["hello from a real engine", "built by dockyard", "/srv"]
    inspected = json.loads(docker_engine.docker("image", "inspect", ref).stdout)[0]
    assert inspected["Architecture"] == host_architecture()
    assert inspected["Config"]["WorkingDir"] == "/srv"
    assert inspected["Config"]["Entrypoint"] == ["/bin/busybox"]
    assert "WHO=a real engine" in inspected["Config"]["Env"]
    assert inspected["Created"].startswith("1970-01-01T00:00:00")
    history = docker_engine.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", ref)
    assert "COPY busybox /bin/busybox # buildkit" in history.stdout
    docker_engine.remove_images(ref)


def test_readme_workflow_with_only_dockyard(
    docker_engine: DockerEngine, registry: LiveServer, tmp_path: Path
) -> None:
    base_ref = f"{registry.host}/yourusername/base:1"
    base = _context(
        tmp_path / "base",
        'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "true"]\n',
    )
    builder = DockyardCLI(tmp_path / "builder")
    out = builder("build", "-t", base_ref, "--push", base).stdout
    assert f"{base_ref}: pushed" in out

    app_ref = f"{registry.host}/yourusername/app:1"
    app = tmp_path / "app"
    app.mkdir()
    (app / "hello.txt").write_text("on top of a pushed image\n")
    (app / "Dockerfile").write_text(
        f"FROM {base_ref}\n"
        "COPY hello.txt /srv/hello.txt\n"
        'CMD ["/bin/busybox", "cat", "/srv/hello.txt"]\n'
    )
    # A second machine: an empty store, so the build pulls the base from Dockyard.
    other = DockyardCLI(tmp_path / "other")
    built = other("build", "-t", app_ref, "--push", app)
    digest = _digest(built.stdout)
    assert f"{app_ref}: pushed" in built.stdout
    assert f"Pulling from {registry.host}/yourusername/base" in built.stderr
    with httpx.Client(base_url=registry.url, timeout=30) as http:
        assert manifest_digest(http, "yourusername/app", "1") == digest

    assert docker_engine.pull(app_ref) == digest
    assert docker_engine.run_container(app_ref).strip() == "on top of a pushed image"

    skopeo = which("skopeo")
    require_tool(skopeo is not None, "skopeo (Debian package skopeo)")
    info = json.loads(
        run([str(skopeo), "inspect", "--tls-verify=false", f"docker://{app_ref}"]).stdout
    )
    assert info["Digest"] == digest
    assert len(info["Layers"]) == 2, "the base layer, then the COPY"
    assert info["Architecture"] == host_architecture()
    assert info["Created"].startswith("1970-01-01T00:00:00")
    docker_engine.remove_images(app_ref)


def test_the_same_inputs_give_the_same_digest(registry: LiveServer, tmp_path: Path) -> None:
    files = {"message.txt": "same every time\n", "conf/app.conf": "x=1\n"}
    dockerfile = SCRATCH_DOCKERFILE + "COPY conf /etc/app/\n"
    first = _context(tmp_path / "one", dockerfile, files)
    second = _context(tmp_path / "two", dockerfile, files)
    for path in second.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    ref = f"{registry.host}/repro/app:1"
    one = _digest(DockyardCLI(tmp_path / "c1")("build", "-t", ref, first).stdout)
    again = _digest(DockyardCLI(tmp_path / "c1")("build", "-t", ref, first).stdout)
    two = _digest(DockyardCLI(tmp_path / "c2")("build", "-t", ref, second).stdout)
    assert one == again == two
    later = DockyardCLI(tmp_path / "c3", extra_env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert _digest(later("build", "-t", ref, first).stdout) != one, "the epoch is an input"


def test_run_stops_the_build_naming_the_line(tmp_path: Path) -> None:
    context = _context(
        tmp_path / "ctx",
        "FROM scratch\n# a comment\nCOPY busybox /bin/busybox\nRUN /bin/busybox true\n",
    )
    message = DockyardCLI(tmp_path / "client").fails("build", "-t", "app:1", context)
    assert message == (
        "Error: Dockerfile:4: RUN needs a container; dockyard build runs without one"
    )


def test_multi_stage_copy_from(
    docker_engine: DockerEngine, registry: LiveServer, tmp_path: Path
) -> None:
    context = _context(
        tmp_path / "ctx",
        "FROM scratch AS tools\n"
        "COPY busybox /bin/busybox\n"
        "COPY site/ /out/site/\n"
        "FROM scratch AS unused\n"
        "RUN never runs: this stage is not needed\n"
        "FROM scratch\n"
        "COPY --from=tools /bin/busybox /bin/\n"
        "COPY --from=tools --chown=1000:1000 /out/ /var/\n"
        "USER 1000\n"
        'CMD ["/bin/busybox", "sh", "-c", "cat /var/site/index.html; '
        'stat -c %u:%g /var/site/index.html; id -u"]\n',
        {"site/index.html": "<h1>multi-stage</h1>\n"},
    )
    dy = DockyardCLI(tmp_path / "client")
    ref = f"{registry.host}/built/multi:1"
    dy("build", "-t", ref, "--push", context)
    assert docker_engine.pull(ref)
    out = docker_engine.run_container(ref).splitlines()
    assert out == ["<h1>multi-stage</h1>", "1000:1000", "1000"]
    docker_engine.remove_images(ref)


def test_cli_reads_the_dockerfile_from_stdin_and_args_from_the_environment(
    tmp_path: Path,
) -> None:
    context = _context(tmp_path / "ctx", "FROM scratch\nRUN ignored: the file is not used\n")
    dy = DockyardCLI(tmp_path / "client", extra_env={"FROM_ENV": "from the environment"})
    result = dy(
        "build",
        "-q",
        "-f",
        "-",
        "--build-arg",
        "FROM_ENV",
        "--build-arg",
        "NOBODY=declares this",
        context,
        stdin="FROM scratch\nARG FROM_ENV\nLABEL value=$FROM_ENV\n",
    )
    assert re.fullmatch(r"digest: sha256:[0-9a-f]{64}\n", result.stdout), result.stdout
    assert "Warning: one or more build-args [NOBODY] were not consumed" in result.stderr
    image_id = json.loads(dy("images", "--json").stdout)[0]["image_id"]
    config = json.loads((dy.home / "blobs" / "sha256" / image_id[7:]).read_text())
    assert config["config"]["Labels"] == {"value": "from the environment"}
    usage = dy("build", "--push", context, check=False)
    assert usage.returncode == 2
    assert "Error: --push needs at least one -t/--tag" in usage.stderr


def test_build_on_an_image_docker_built_and_pushed(
    docker_engine: DockerEngine, registry: LiveServer, tmp_path: Path
) -> None:
    base_ref = f"{registry.host}/docker/base:1"
    base = write_busybox_context(
        tmp_path / "base",
        files={"etc-motd": "from docker build\n"},
        cmd=["/bin/busybox", "cat", "/etc-motd"],
    )
    docker_engine.build(base, base_ref)
    docker_engine.push(base_ref)
    docker_engine.remove_images(base_ref)

    app_ref = f"{registry.host}/docker/app:1"
    app = _context(
        tmp_path / "app",
        f"FROM {base_ref}\n"
        "COPY note.txt /home/user/\n"
        "WORKDIR /home/user\n"
        "USER 4242\n"
        'CMD ["/bin/busybox", "sh", "-c", "cat /etc-motd note.txt; id -u; pwd"]\n',
        {"note.txt": "and from dockyard build\n"},
    )
    dy = DockyardCLI(tmp_path / "client")
    digest = _digest(dy("build", "-t", app_ref, "--push", app).stdout)
    assert docker_engine.pull(app_ref) == digest
    out = docker_engine.run_container(app_ref).splitlines()
    assert out == ["from docker build", "and from dockyard build", "4242", "/home/user"]
    history = json.loads(docker_engine.docker("image", "inspect", app_ref).stdout)[0]
    layers = history["RootFS"]["Layers"]
    assert len(layers) == 3, "docker's two layers, then COPY (WORKDIR exists: no layer)"
    docker_engine.remove_images(app_ref)
