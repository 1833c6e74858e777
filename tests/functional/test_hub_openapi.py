"""The OpenAPI document of the Hub API: complete, served with its docs page, and true.

A bounded schemathesis run against a live server (authentication on, some content made
first) checks that no generated request causes a server error and that every response has a
documented status, content type and body shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route
from starlette.testclient import TestClient

from dockyard.web.api.openapi import openapi_document
from dockyard.web.api.routes import ROUTES
from tests.support.accounts import AUTH_ON
from tests.support.backends import AppBackend
from tests.support.hub import hub_call, push_image, registry_token
from tests.support.servers import LiveServer

#: Examples per operation: ~60 operations stay well under a minute on two shared cores.
MAX_EXAMPLES = 12

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def documented_operations() -> set[tuple[str, str]]:
    """``(METHOD, path)`` of every operation in the document."""
    doc = openapi_document()
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }


def routed_operations() -> set[tuple[str, str]]:
    """``(METHOD, path)`` of every Hub API route (path converters dropped: ``{id:int}``)."""
    found = set()
    for route in ROUTES:
        assert isinstance(route, Route)
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, path))
    return found


def test_every_route_is_documented_and_nothing_else() -> None:
    assert documented_operations() == routed_operations()


def test_document_is_valid_openapi_3_1() -> None:
    doc = openapi_document()
    assert doc["openapi"] == "3.1.0"
    schema = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(documented_operations())
    # Every $ref resolves.
    text = repr(doc)
    for kind, name in re.findall(r"#/components/(schemas|responses)/(\w+)", text):
        assert name in doc["components"][kind], name


def test_served_document_and_docs_page(client: TestClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == openapi_document()

    page = client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert html.startswith("<!doctype html>")
    # Self-contained: no script, no external stylesheet, font or image.
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html
    assert "@import" not in html
    assert "url(" not in html
    for method, path in documented_operations():
        assert f"{method}</span><code>{path}</code>" in html.replace("&#x27;", "'"), path


# --- a bounded schemathesis run --------------------------------------------------------------
#: Operations that check a password (argon2 is slow by design) get fewer examples.
FEWER_EXAMPLES = {
    "POST /v2/users/signup": 4,
    "POST /v2/users/login": 3,
    "POST /v2/auth/token": 3,
    "POST /v2/user/password": 3,
}
PASSWORD = "openapi-Secret-9"


@pytest.fixture(scope="module")
def seeded_server(
    tmp_path_factory: pytest.TempPathFactory, module_backend: AppBackend
) -> Iterator[tuple[LiveServer, str]]:
    """A live Dockyard (auth on) holding the objects the document's examples name."""
    server = LiveServer(
        data_dir=tmp_path_factory.mktemp("openapi") / "data",
        env={**module_backend.env(), **AUTH_ON},
    )
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            body = {"username": "alice", "email": "alice@example.test", "password": PASSWORD}
            hub_call(http, "POST", "/v2/users/signup", json=body, expect=201)
            login = {"username": "alice", "password": PASSWORD}
            token = hub_call(http, "POST", "/v2/users/login", json=login)["token"]
            repo = {"namespace": "alice", "name": "app", "is_private": False}
            hub_call(http, "POST", "/v2/repositories/", token, json=repo, expect=201)
            push_image(
                http, "alice/app", "v1", registry_token(http, "alice", PASSWORD, "alice/app")
            )
            hub_call(http, "POST", "/v2/orgs/", token, json={"orgname": "acmeco"}, expect=201)
            hub_call(
                http, "POST", "/v2/orgs/acmeco/groups", token, json={"name": "devs"}, expect=201
            )
            hook = {"name": "ci", "webhook_url": "http://127.0.0.1:9/hook"}
            hub_call(
                http, "POST", "/v2/repositories/alice/app/webhooks/", token, json=hook, expect=201
            )
        yield server, token
    finally:
        server.stop()


def test_schemathesis_finds_no_server_errors(seeded_server: tuple[LiveServer, str]) -> None:
    server, token = seeded_server
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    statuses: dict[str, set[int]] = {}

    def check(strategy: Any, max_examples: int) -> None:
        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            response = case.call(base_url=server.url, headers=headers)
            statuses.setdefault(case.operation.label, set()).add(response.status_code)
            case.validate_response(response, checks=CHECKS, headers=headers)

        run()

    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions last, so that the other operations meet the objects the examples name.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    failures: list[str] = []
    for operation in operations:
        try:
            # The documented examples name real objects: their 200 bodies get checked too.
            for example in schema.get_strategies_from_examples(operation):
                check(example, 1)
            check(operation.as_strategy(), FEWER_EXAMPLES.get(operation.label, MAX_EXAMPLES))
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    succeeded = sorted(label for label, seen in statuses.items() if any(s < 300 for s in seen))
    print(f"{len(succeeded)} of {len(operations)} operations answered 2xx:", *succeeded, sep="\n")
    assert len(succeeded) >= 30, statuses
