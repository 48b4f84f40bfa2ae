"""Every state-changing route of the app needs a signed-in analyst (or higher).

The routes are enumerated from the app itself (its OpenAPI document and its route table),
not listed by hand: a write route added later is checked without anyone remembering to
add it here. A route that must answer anonymous callers is exempt only when it is named
in :data:`ANONYMOUS` with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from chainatlas.store import Database
from chainatlas.store.users import add_user, issue_token
from chainatlas.web.app import create_app
from tests.helpers import built_store

BASE = "http://127.0.0.1:8000"
WRITES = ("post", "put", "patch", "delete")
#: Write routes an anonymous caller must reach, and why.
ANONYMOUS = {
    ("post", "/login"): "signing in is how an anonymous caller becomes a user",
    ("post", "/logout"): "signing out must work with an expired or missing session",
}
#: Routes known to write (a floor: the enumeration must find at least these).
KNOWN = {("post", "/api/v1/corrections"), ("post", "/api/v1/projects"),
         ("patch", "/api/v1/projects/{project_id}"),
         ("post", "/api/v1/projects/{project_id}/move"),
         ("post", "/api/v1/projects/{project_id}/pause"),
         ("post", "/api/v1/projects/{project_id}/resume"),
         ("post", "/api/v1/projects/{project_id}/end"), ("post", "/api/v1/targets"),
         ("patch", "/api/v1/targets/{target_id}"),
         ("post", "/api/v1/targets/{target_id}/snapshots")}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, fast_hashing: None) -> dict[str, Any]:
    """A store file with a viewer and an analyst, and their API tokens."""
    path = built_store(tmp_path_factory.mktemp("write-routes"))
    with Database(path) as db:
        add_user(db, "vic", "viewer", "viewer passphrase", actor="test")
        add_user(db, "ana", "analyst", "analyst passphrase", actor="test")
        tokens = {name: issue_token(db, name, actor="test") for name in ("vic", "ana")}
    return {"path": path, "tokens": tokens}


@pytest.fixture(scope="module")
def client(store: dict[str, Any]) -> TestClient:
    return TestClient(create_app(store["path"]), base_url=BASE,
                      raise_server_exceptions=False, follow_redirects=False)


def _documented(client: TestClient) -> set[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return {(method, path) for path, item in paths.items() for method in item
            if method in WRITES}


def _routed(client: TestClient) -> set[tuple[str, str]]:
    app: Any = client.app
    return {(method.lower(), route.path) for route in app.routes
            if isinstance(route, APIRoute) for method in route.methods or ()
            if method.lower() in WRITES}


def _writes(client: TestClient) -> list[tuple[str, str]]:
    found = _documented(client) | _routed(client)
    return sorted(found - set(ANONYMOUS))


def _url(path: str) -> str:
    """The path with every parameter filled (1: a project, target… that may not exist;
    the role is checked before the route looks it up)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_enumeration_finds_every_known_write(client: TestClient) -> None:
    found = set(_writes(client))
    assert found >= KNOWN, KNOWN - found
    assert set(ANONYMOUS) <= _routed(client), "an exempt route is gone: drop it here"


@pytest.mark.parametrize("who", [None, "vic"])
def test_every_write_refuses_anonymous_and_viewers(client: TestClient, store: dict[str, Any],
                                                   who: str | None) -> None:
    headers = {} if who is None else {"Authorization": f"Bearer {store['tokens'][who]}"}
    expected = 401 if who is None else 403
    wrong = {}
    for method, path in _writes(client):
        response = client.request(method.upper(), _url(path), json={}, headers=headers)
        if response.status_code != expected:
            wrong[f"{method.upper()} {path}"] = response.status_code
    assert not wrong, f"expected {expected} from every write route: {wrong}"


def test_an_analyst_gets_past_the_role_check(client: TestClient,
                                             store: dict[str, Any]) -> None:
    # the same empty bodies: an analyst is refused by validation (422), not by role
    headers = {"Authorization": f"Bearer {store['tokens']['ana']}"}
    for method, path in _writes(client):
        response = client.request(method.upper(), _url(path), json={}, headers=headers)
        assert response.status_code not in (401, 403), f"{method} {path}: {response.text}"


def test_the_exempt_routes_answer_anonymous_callers(client: TestClient) -> None:
    assert client.post("/logout").status_code == 303
    # an anonymous caller signs in (a wrong password is the form's 401, not a role's)
    good = client.post("/login", data={"name": "ana", "password": "analyst passphrase"})
    assert good.status_code == 303
    client.cookies.clear()


def test_write_routes_document_their_auth_answers(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for method, path in _documented(client) - set(ANONYMOUS):
        responses = paths[path][method]["responses"]
        assert {"401", "403"} <= set(responses), f"{method} {path}"


def test_store_unchanged_by_refused_writes(store: dict[str, Any], client: TestClient) -> None:
    from chainatlas.web.state import request_db

    for method, path in _writes(client):
        client.request(method.upper(), _url(path), json={})
    with request_db() as db:
        assert db.scalar("SELECT count(*) FROM projects") == 0
        assert db.scalar("SELECT count(*) FROM targets") == 0


def test_the_path_filler() -> None:
    assert _url("/api/v1/projects/{project_id}/move") == "/api/v1/projects/1/move"
    assert Path(_url("/x/{a}/{b:path}")).parts[-2:] == ("1", "1")
