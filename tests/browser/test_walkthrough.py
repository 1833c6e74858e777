"""A person's walk through the web pages in a real browser, with a real ``docker push``.

Sign up, create an access token, ``docker login`` with it and push, see the repository and its
tag appear, edit the README, star, search, open the image page and a layer's files, make the
repository private (another user no longer sees it), delete the tag. Screenshots of the main
pages are taken in light and dark themes along the way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.docker_engine import DockerEngine, write_busybox_context
from tests.support.servers import LiveServer
from tests.support.tools import run
from tests.support.web import SBOM_TYPE, RichImage, push_rich_image

pytestmark = [pytest.mark.realclient, pytest.mark.browser]

PASSWORD = "a long enough password"
README = """# webapp

A tiny **busybox** image, pushed by a real `docker push`.

## Run it

```sh
docker run --rm webapp
```

| Tag | Meaning |
| --- | --- |
| 1.0 | first release |

<script>document.title = "pwned"</script>
"""


class Person:
    """One browser context (its own cookies) looking at the live server."""

    def __init__(self, browser: Any, server: LiveServer, scheme: str = "light") -> None:
        self.server = server
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 900}, color_scheme=scheme
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)

    def go(self, path: str) -> Any:
        response = self.page.goto(self.server.url + path)
        return response

    def sign_up(self, username: str) -> None:
        self.go("/signup")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Email").fill(f"{username}@example.com")
        self.page.get_by_label("Password", exact=True).fill(PASSWORD)
        self.page.get_by_label("Password again").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign up").click()
        self.page.wait_for_url(f"**/u/{username}")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def person(chromium: Any, web_server: LiveServer) -> Iterator[Person]:
    visitor = Person(chromium, web_server)
    yield visitor
    visitor.close()


def shoot(
    chromium: Any, server: LiveServer, person: Person, folder: Path, pages: dict[str, str]
) -> None:
    """Screenshots of ``pages`` in the light and the dark theme, with ``person``'s session."""
    cookies = person.context.cookies()
    for scheme in ("light", "dark"):
        viewer = Person(chromium, server, scheme)
        viewer.context.add_cookies(cookies)
        for name, path in pages.items():
            viewer.go(path)
            viewer.page.screenshot(path=str(folder / f"{name}-{scheme}.png"), full_page=True)
        viewer.close()


def push_with_token(
    server: LiveServer, username: str, secret: str, name: str, tag: str
) -> RichImage:
    """Push a rich image over HTTP with a registry token got with an access token."""
    response = httpx.get(
        f"{server.url}/token",
        params={"service": "dockyard", "scope": f"repository:{name}:pull,push"},
        auth=(username, secret),
    )
    assert response.status_code == 200, response.text
    with httpx.Client(base_url=server.url, timeout=60) as http:
        return push_rich_image(http, name, tag, response.json()["token"])


def test_sign_up_push_browse_and_manage(
    chromium: Any,
    web_server: LiveServer,
    person: Person,
    docker_engine: DockerEngine,
    tmp_path: Path,
    screenshot_dir: Path,
) -> None:
    page = person.page
    host = web_server.host
    person.sign_up("alice")
    assert page.get_by_role("heading", name="alice").is_visible()

    # An access token, shown once.
    person.go("/settings/tokens")
    page.get_by_label("Description").fill("laptop docker login")
    page.get_by_label(re.compile("repo:write")).check()
    page.get_by_role("button", name="Generate token").click()
    secret = page.locator(".secret-box .command code").first.inner_text()
    assert secret.startswith("dy_pat_")
    shoot(chromium, web_server, person, screenshot_dir, {"tokens": "/settings/tokens"})

    # A real docker login with the token, and a push.
    config = tmp_path / "docker-config"
    config.mkdir()
    env = {**docker_engine.env, "DOCKER_CONFIG": str(config)}
    login = run(
        [docker_engine.docker_cli, "login", "--username", "alice", "--password", secret, host],
        env=env,
    )
    assert "Login Succeeded" in login.stdout
    context = write_busybox_context(
        tmp_path / "ctx", files={"hello.txt": "hello from the browser test\n"},
        cmd=["/bin/busybox", "cat", "/hello.txt"],
    )  # fmt: skip
    ref = f"{host}/alice/webapp:1.0"
    docker_engine.build(context, ref)
    run([docker_engine.docker_cli, "push", ref], env=env, timeout=300)
    docker_engine.docker("rmi", "--force", ref, check=False)

    # The repository and its tag appear.
    person.go("/u/alice")
    page.get_by_role("link", name="alice/webapp").click()
    page.wait_for_url("**/r/alice/webapp")
    assert page.get_by_role("link", name="1.0", exact=True).is_visible()
    assert page.get_by_text("linux/amd64").first.is_visible()
    assert f"docker pull {host}/alice/webapp" in page.locator(".command code").first.inner_text()

    # Edit the description and README.
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Short description").fill("A tiny busybox web app")
    page.get_by_label("README (Markdown)").fill(README)
    page.get_by_role("button", name="Save").click()
    person.go("/r/alice/webapp")
    assert page.get_by_role("heading", name="Run it").is_visible()
    assert page.title() != "pwned"
    assert page.locator(".markdown script").count() == 0

    # Star it, then find it from the search box.
    page.get_by_role("button", name=re.compile("Star")).click()
    assert page.get_by_role("button", name=re.compile("Starred · 1")).is_visible()
    page.get_by_label("Search repositories").fill("busybox web")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    assert page.get_by_role("link", name="alice/webapp").is_visible()

    # The image page: history, config; then the files of the layer with hello.txt.
    person.go("/r/alice/webapp")
    page.get_by_role("link", name="1.0", exact=True).click()
    page.wait_for_url("**/tags/1.0")
    assert page.get_by_text("hello.txt").first.is_visible()
    assert page.get_by_text("cat /hello.txt").first.is_visible()
    tag_url = page.url
    page.get_by_role("link", name=re.compile("Files of layer 2")).click()
    page.wait_for_url("**/layers/**")
    assert page.get_by_text("hello.txt").first.is_visible()
    assert page.get_by_text("added").first.is_visible()
    page.get_by_role("link", name="Layer 1", exact=True).click()
    page.get_by_role("link", name="bin/").click()
    assert page.get_by_text("busybox").first.is_visible()

    # A second, multi-platform image with an SBOM attached, pushed over HTTP with the token,
    # so the screenshots show the platform selector, referrers and changed/deleted files.
    rich = push_with_token(web_server, "alice", secret, "alice/toolbox", "2.1")
    person.go("/r/alice/toolbox/settings")
    page.get_by_label("Short description").fill("Multi-platform tools with an SBOM attached")
    page.get_by_role("button", name="Save").click()
    person.go(f"/r/alice/toolbox/tags/2.1?platform={rich.arm64_digest}")
    assert page.get_by_label("Platform").input_value() == rich.arm64_digest
    person.go("/r/alice/toolbox/tags/2.1")
    assert page.get_by_text(SBOM_TYPE).first.is_visible()
    shoot(
        chromium, web_server, person, screenshot_dir,
        {"explore": "/explore", "repository": "/r/alice/webapp", "tag": "/r/alice/toolbox/tags/2.1",
         "layer": f"/r/alice/toolbox/tags/2.1/layers/{rich.layers[1]}?path=etc"},
    )  # fmt: skip

    # Private: another user no longer sees it, not even in search.
    person.go("/r/alice/webapp/settings")
    page.get_by_label(re.compile("Private")).check()
    page.get_by_role("button", name="Save").click()
    other = Person(chromium, web_server)
    try:
        other.sign_up("bobby")
        assert other.go("/r/alice/webapp").status == 404
        assert other.page.get_by_role("heading", name="Page not found").is_visible()
        other.go("/search?q=webapp")
        assert other.page.get_by_role("link", name="alice/webapp").count() == 0
    finally:
        other.close()

    # Delete the tag from its page; the repository shows how to push again.
    page.goto(tag_url)
    page.get_by_label("Type 1.0 to confirm").fill("1.0")
    page.get_by_role("button", name="Delete tag").click()
    page.wait_for_url("**/r/alice/webapp")
    assert page.get_by_text("Tag 1.0 deleted.").is_visible()
    assert page.get_by_role("heading", name="This repository is empty").is_visible()
    assert f"docker push {host}/alice/webapp:latest" in page.content()


def test_keyboard_and_phone(chromium: Any, web_server: LiveServer) -> None:
    """Forms are reachable by keyboard, and pages fit a phone's width."""
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = phone.new_page()
        page.goto(web_server.url + "/explore")
        page.keyboard.press("Tab")  # the skip link comes first
        assert page.evaluate("document.activeElement.className") == "skip-link"
        page.goto(web_server.url + "/login")
        assert page.evaluate("document.activeElement.id") == "username"  # autofocus
        page.keyboard.type("nobody1")
        page.keyboard.press("Tab")
        page.keyboard.type("wrong password")
        page.keyboard.press("Enter")
        page.get_by_text("Incorrect username or password.").wait_for()
        for path in ("/explore", "/login", "/signup"):
            page.goto(web_server.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
    finally:
        phone.close()
