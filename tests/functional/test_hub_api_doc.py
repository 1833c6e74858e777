"""docs/hub-api.md: a curl example for every Hub API endpoint, and they all work as written.

The document's shell blocks run top to bottom in one bash against a live server with
authentication on (``HUB`` points at it; every curl fails the run on an HTTP error).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.functional.test_hub_openapi import documented_operations
from tests.support.accounts import AUTH_ON
from tests.support.backends import AppBackend
from tests.support.servers import LiveServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "hub-api.md"
#: Endpoints documented on their own pages, not with curl examples.
NOT_IN_CURL = {("GET", "/api/openapi.json"), ("GET", "/api/docs")}


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S)


def curl_commands() -> list[tuple[str, str]]:
    """``(METHOD, path)`` of every curl command in the document."""
    found = []
    for block in shell_blocks():
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            for command in re.findall(r"curl [^|)]*", line):
                method = re.search(r"-X (\w+)", command)
                url = re.search(r'"\$HUB(/[^"?]*)', command)
                if url:
                    found.append((method.group(1) if method else "GET", url.group(1)))
    return found


def test_every_endpoint_has_a_curl_example() -> None:
    commands = curl_commands()
    missing = []
    for method, template in sorted(documented_operations() - NOT_IN_CURL):
        pattern = re.compile("^" + re.sub(r"\\\{\w+\\\}", r"[^/]+", re.escape(template)) + "$")
        if not any(m == method and pattern.match(path) for m, path in commands):
            missing.append(f"{method} {template}")
    assert not missing, missing


@pytest.fixture
def server(tmp_path: Path, backend: AppBackend) -> Iterator[LiveServer]:
    live = LiveServer(data_dir=tmp_path / "data", env={**backend.env(), **AUTH_ON}).start()
    yield live
    live.stop()


def test_examples_work_as_written(server: LiveServer, backend: AppBackend) -> None:
    require_tool(shutil.which("curl") is not None, "curl")
    require_tool(shutil.which("sha256sum") is not None, "sha256sum (coreutils)")
    script = "\n".join(shell_blocks())
    # the admin CLI of this interpreter (the document names make's .venv)
    script = script.replace(".venv/bin/dockyard", f"{sys.executable} -m dockyard")
    prelude = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; echo; }\n'
    env = {
        **os.environ,
        **backend.env(),  # the admin CLI in the document must reach the server's database
        **AUTH_ON,
        "HUB": server.url,
        "DOCKYARD_DATA_DIR": str(server.data_dir),
    }
    result = subprocess.run(
        ["bash", "-c", prelude + script],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=DOC.parents[1],
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr}"
    assert '"repo_name":"alice/hello"' in result.stdout.replace(" ", "")
    assert '"num_results":1' in result.stdout.replace(" ", "")
