"""Where each page lives: Docker-Hub-like URLs, built in one place."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from dockyard.oci.names import OFFICIAL_NAMESPACE


def repo_url(name: str) -> str:
    """``/_/<name>`` for an official image, ``/r/<namespace>/<name>`` otherwise."""
    namespace, _, rest = name.partition("/")
    if namespace == OFFICIAL_NAMESPACE:
        return f"/_/{quote(rest)}"
    return f"/r/{quote(namespace)}/{quote(rest)}"


def tag_url(name: str, tag: str, platform: str | None = None) -> str:
    """The page of one tag (``platform``: the digest of one of its images)."""
    url = f"{repo_url(name)}/tags/{quote(tag)}"
    return f"{url}?{urlencode({'platform': platform})}" if platform else url


def layer_url(name: str, tag: str, layer: str, platform: str | None = None, path: str = "") -> str:
    """The files page of a layer of a tag's image."""
    params = {k: v for k, v in (("platform", platform), ("path", path)) if v}
    url = f"{repo_url(name)}/tags/{quote(tag)}/layers/{quote(layer)}"
    return f"{url}?{urlencode(params)}" if params else url


def settings_url(name: str, section: str = "") -> str:
    """A repository's settings page (``section``: collaborators, webhooks, ...)."""
    url = f"{repo_url(name)}/settings"
    return f"{url}/{section}" if section else url


def profile_url(namespace: str) -> str:
    """The page of a user or organization."""
    return f"/u/{quote(namespace)}"


def pull_name(name: str) -> str:
    """The name to pull: official images without ``library/`` (as Docker Hub shows them)."""
    namespace, _, rest = name.partition("/")
    return rest if namespace == OFFICIAL_NAMESPACE else name


def page_url(path: str, params: dict[str, str], page: int) -> str:
    """``path`` with ``params`` and ``page``."""
    query = {k: v for k, v in params.items() if v and k != "page"}
    if page > 1:
        query["page"] = str(page)
    return f"{path}?{urlencode(query)}" if query else path


def safe_next(target: str | None) -> str:
    """A same-site path to return to after signing in (anything else: the home page)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
