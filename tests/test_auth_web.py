"""Sign-in, roles, CSRF, Host and Origin checks of the web app (web/auth.py and friends)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.websockets import WebSocketDisconnect

from chainatlas.build import build_store
from chainatlas.errors import ChainAtlasError
from chainatlas.store import Database
from chainatlas.store import users as users_mod
from chainatlas.store.audit import audit_rows
from chainatlas.store.users import User, add_user, disable_user, issue_token
from chainatlas.web import auth
from chainatlas.web.app import create_app, serve_check
from chainatlas.web.pages import admin, firm, login
from tests.helpers import make_bundle, unpinned_bundle

BASE = "http://127.0.0.1:8000"
PASSWORDS = {"boss": "admin passphrase", "ana": "analyst passphrase",
             "vic": "viewer passphrase"}
ROLES = {"boss": "admin", "ana": "analyst", "vic": "viewer"}
BODY = {"firm": "以岭药业", "chain": "生物医药", "node": "bm_api", "action": "assign",
        "reason": "年报披露原料药产能"}
URL = "/api/v1/corrections"


@pytest.fixture(scope="module")
def fast_hashing() -> Iterator[None]:
    """Cheap argon2 costs for the module (the defaults take ~0.3 s per hash here)."""
    saved = users_mod._hasher
    users_mod._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    users_mod._hasher = saved


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, fast_hashing: None) -> dict[str, Any]:
    """A store file with an admin, an analyst, a viewer and tokens of the last two."""
    folder = tmp_path_factory.mktemp("auth")
    path = folder / "auth.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(make_bundle(folder / "bundle")))
        for name, password in PASSWORDS.items():
            add_user(db, name, ROLES[name], password, actor="test")
        tokens = {name: issue_token(db, name, actor="test") for name in ("ana", "vic")}
    return {"path": path, "tokens": tokens}


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A session secret from the environment, and no secret file in the user's home."""
    monkeypatch.setenv("CHAINATLAS_SECRET", "test-secret")
    monkeypatch.setenv("CHAINATLAS_HOME", str(tmp_path))
    monkeypatch.delenv(auth.ALLOWED_HOSTS_ENV, raising=False)


def _client(store: dict[str, Any], host: str = "127.0.0.1") -> TestClient:
    return TestClient(create_app(store["path"], host=host), base_url=BASE,
                      raise_server_exceptions=False, follow_redirects=False)


def _signed_in(store: dict[str, Any], name: str, host: str = "127.0.0.1") -> TestClient:
    client = _client(store, host)
    response = client.post("/login", data={"name": name, "password": PASSWORDS[name]})
    assert response.status_code == 303, response.text
    return client


def _csrf(client: TestClient) -> dict[str, str]:
    return {auth.CSRF_HEADER: str(client.cookies[auth.CSRF_COOKIE])}


# -- the roles matrix of POST /corrections -----------------------------------------------


def test_anonymous_write_is_401(store: dict[str, Any]) -> None:
    response = _client(store).post(URL, json=BODY)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert set(response.json()["error"]) == {"type", "message", "problems"}


@pytest.mark.parametrize(("who", "status"), [("vic", 403), ("ana", 201), ("boss", 201)])
def test_session_roles(store: dict[str, Any], who: str, status: int) -> None:
    client = _signed_in(store, who)
    response = client.post(URL, json=BODY, headers=_csrf(client))
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["author"] == who  # the signed-in user, not free text


@pytest.mark.parametrize(("who", "status"), [("vic", 403), ("ana", 201)])
def test_token_roles(store: dict[str, Any], who: str, status: int) -> None:
    response = _client(store).post(URL, json=BODY, headers={
        "Authorization": f"Bearer {store['tokens'][who]}"})
    assert response.status_code == status, response.text


@pytest.mark.parametrize("headers", [{}, {auth.CSRF_HEADER: "wrong"}])
def test_session_write_without_the_csrf_token_is_403(store: dict[str, Any],
                                                     headers: dict[str, str]) -> None:
    response = _signed_in(store, "ana").post(URL, json=BODY, headers=headers)
    assert response.status_code == 403 and "CSRF" in response.json()["error"]["message"]


@pytest.mark.parametrize(("origin", "status"), [
    ("http://evil.example", 403), ("null", 403), ("http://127.0.0.1:9999", 403),
    ("http://127.0.0.1:8000", 201)])
def test_origin_of_writes(store: dict[str, Any], origin: str, status: int) -> None:
    response = _client(store).post(URL, json=BODY, headers={
        "Authorization": f"Bearer {store['tokens']['ana']}", "Origin": origin})
    assert response.status_code == status, response.text


@pytest.mark.parametrize("method", ["get", "post"])
def test_foreign_host_is_400(store: dict[str, Any], method: str) -> None:
    client = _client(store)
    response = client.request(method.upper(), "/api/v1/chains" if method == "get" else URL,
                              json=BODY if method == "post" else None, headers={
                                  "Host": "evil.example",
                                  "Authorization": f"Bearer {store['tokens']['ana']}"})
    assert response.status_code == 400 and "Host" in response.json()["error"]["message"]
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_allowed_hosts_from_the_environment(store: dict[str, Any],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.ALLOWED_HOSTS_ENV, "atlas.example, Other.Example.")
    client = _client(store)
    for host in ("atlas.example", "atlas.example:8000", "other.example", "localhost:1",
                 "[::1]:8000"):
        assert client.get("/api/v1/chains", headers={"Host": host}).status_code == 200, host
    assert client.get("/api/v1/chains", headers={"Host": "x.example"}).status_code == 400


def test_the_author_field_is_gone(store: dict[str, Any]) -> None:
    response = _client(store).post(URL, json={**BODY, "author": "冒名者"}, headers={
        "Authorization": f"Bearer {store['tokens']['ana']}"})
    assert response.status_code == 422


def test_invalid_bearer_token_is_401_even_for_reads(store: dict[str, Any]) -> None:
    client = _client(store)
    assert client.get("/api/v1/chains").status_code == 200  # anonymous reads on loopback
    for value in ("Bearer cat_nope", "Basic abc", "Bearer "):
        response = client.get("/api/v1/chains", headers={"Authorization": value})
        assert response.status_code == 401, value


def test_corrections_are_audited_with_the_user(store: dict[str, Any]) -> None:
    client = _signed_in(store, "ana")
    assert client.post(URL, json={**BODY, "node": "bm_vaccines"},
                       headers=_csrf(client)).status_code == 201
    with _reader(store) as db:
        line = audit_rows(db, action="correction.add")[0]
    assert line["actor"] == "ana" and line["after"]["node_id"] == "bm_vaccines"


def _reader(store: dict[str, Any]) -> Any:
    """A cursor of the store the app serves (the app holds the file open)."""
    from chainatlas.web.state import request_db

    return request_db()


# -- sessions -----------------------------------------------------------------------------


def test_login_sets_safe_cookies_and_logout_clears_them(store: dict[str, Any]) -> None:
    client = _client(store)
    bad = client.post("/login", data={"name": "ana", "password": "wrong password"})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    assert auth.SESSION_COOKIE not in client.cookies
    good = client.post("/login", data={"name": "ana", "password": PASSWORDS["ana"],
                                       "next": "/firm/002603.SZ"})
    assert good.status_code == 303 and good.headers["location"] == "/firm/002603.SZ"
    cookies = good.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(auth.SESSION_COOKIE + "="))
    assert "httponly" in session.lower() and "samesite=lax" in session.lower()
    assert f"max-age={auth.SESSION_MAX_AGE}" in session.lower()
    page = client.get("/logout")
    assert page.status_code == 200 and 'name="csrf"' in page.text
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    out = client.post("/logout", data={"csrf": client.cookies[auth.CSRF_COOKIE]})
    assert out.status_code == 303
    assert client.post(URL, json=BODY, headers={auth.CSRF_HEADER: "x"}).status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "\\\\x",
                                    "/\\evil", "", None, "javascript:alert(1)"])
def test_login_never_leads_off_site(target: str | None) -> None:
    assert login.safe_next(target) == "/"
    assert login.safe_next("/map?region=130100") == "/map?region=130100"


def test_sessions_expire_and_cannot_be_forged(store: dict[str, Any]) -> None:
    policy = auth.make_policy("127.0.0.1", lambda: "test-secret")
    cookie, csrf = auth.new_session(policy, User("ana", "analyst"))
    assert auth.read_session(policy, cookie) == ("ana", csrf)
    assert auth.read_session(policy, cookie[:-2] + "xx") is None
    other = auth.make_policy("127.0.0.1", lambda: "another secret")
    assert auth.read_session(other, cookie) is None
    expired = auth.Policy(policy.allowed_hosts, False, policy.secret, max_age=-1)
    assert auth.read_session(expired, cookie) is None


def test_a_disabled_users_session_stops_working(tmp_path: Path, fast_hashing: None) -> None:
    path = tmp_path / "small.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(make_bundle(tmp_path / "bundle")))
        add_user(db, "ana", "analyst", PASSWORDS["ana"], actor="test")
    client = _signed_in({"path": path}, "ana")
    from chainatlas.web.state import write_db

    with write_db() as db:
        disable_user(db, "ana", actor="test")
    assert client.post(URL, json=BODY, headers=_csrf(client)).status_code == 401


# -- off loopback -------------------------------------------------------------------------


def test_non_loopback_needs_sign_in_for_reads(store: dict[str, Any]) -> None:
    client = _client(store, host="0.0.0.0")
    assert client.get("/api/v1/chains").status_code == 401
    page = client.get("/map?region=130100")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fmap%3Fregion%3D130100"
    assert client.get("/login").status_code == 200
    assert client.get("/api/v1/chains", headers={
        "Authorization": f"Bearer {store['tokens']['vic']}"}).status_code == 200
    viewer = _signed_in(store, "vic", host="0.0.0.0")
    assert viewer.get("/api/v1/chains").status_code == 200


def test_serve_refuses_a_network_host_without_users(tmp_path: Path, fast_hashing: None) -> None:
    db = Database()
    assert serve_check(db, "127.0.0.1") is None and serve_check(db, "localhost") is None
    for host in ("0.0.0.0", "::", "192.168.1.20"):
        with pytest.raises(ChainAtlasError, match="users add NAME --role admin"):
            serve_check(db, host)
    add_user(db, "boss", "admin", PASSWORDS["boss"], actor="test")
    warning = serve_check(db, "0.0.0.0")
    assert warning is not None and "Warning" in warning and auth.ALLOWED_HOSTS_ENV in warning
    disable_user(db, "boss", actor="test")
    with pytest.raises(ChainAtlasError):
        serve_check(db, "0.0.0.0")


# -- pages and the websocket ---------------------------------------------------------------


@pytest.mark.parametrize(("origin", "host", "passed"), [
    (b"http://evil.example", b"127.0.0.1:8000", False),
    (b"http://127.0.0.1:8000", b"evil.example", False),
    (b"http://127.0.0.1:8000", b"127.0.0.1:8000", True)])
def test_socket_handshakes_are_checked(store: dict[str, Any], origin: bytes, host: bytes,
                                       passed: bool) -> None:
    _client(store)  # installs the policy
    reached: list[str] = []
    sent: list[dict[str, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    scope = {"type": "websocket", "path": "/_nicegui_ws/socket.io/", "query_string": b"",
             "headers": [(b"host", host), (b"origin", origin)]}
    asyncio.run(auth.AuthMiddleware(inner)(scope, receive, send))
    assert bool(reached) is passed
    assert (sent == [{"type": "websocket.close", "code": 1008}]) is not passed


def test_cross_origin_socket_requests_are_refused(store: dict[str, Any]) -> None:
    client = _client(store)
    path = "/_nicegui_ws/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(
            path, headers={"Origin": "http://evil.example"}):
        pass
    polling = client.get("/_nicegui_ws/socket.io/?EIO=4&transport=polling",
                         headers={"Origin": "http://evil.example"})
    assert polling.status_code == 403


def _page_request(cookies: dict[str, str]) -> Request:
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return Request({"type": "http", "method": "GET", "path": "/firm/002603.SZ",
                    "headers": [(b"host", b"127.0.0.1:8000"), (b"cookie", cookie.encode())],
                    "query_string": b""})


def test_the_page_form_checks_the_role_at_submit(store: dict[str, Any]) -> None:
    viewer = _signed_in(store, "vic")
    args = ("002603.SZ", "biomedicine", "bm_api", "assign", "页面校正")
    for cookies in ({}, dict(viewer.cookies)):
        with pytest.raises(ChainAtlasError, match="需要分析员"):
            firm._correct(_page_request(cookies), *args)
    analyst = _signed_in(store, "ana")
    row = firm._correct(_page_request(dict(analyst.cookies)), *args)
    assert row["author"] == "ana"


def test_admin_page_rows_and_gate(store: dict[str, Any]) -> None:
    _client(store)
    with _reader(store) as db:
        view = admin.admin_view(db)
    assert {u["name"] for u in view["users"]} == set(PASSWORDS)
    assert "argon2" not in str(view) and view["audit"]
    anonymous = _page_request({})
    user, redirect = admin.gate(anonymous, "admin", "/admin")
    assert user is None and redirect is not None and redirect.status_code == 303
    for who, role, allowed in (("vic", "viewer", False), ("boss", "admin", True)):
        request = _page_request({})
        request.scope["state"] = {auth._STATE_KEY: auth.Identity(User(who, role), "session")}
        user, redirect = admin.gate(request, "admin", "/admin")
        assert redirect is None and (user is not None) is allowed


# -- the app ------------------------------------------------------------------------------


def test_405_keeps_its_allow_header(store: dict[str, Any]) -> None:
    response = _client(store).delete("/api/v1/chains")
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert response.json()["error"]["type"] == "HTTPError"


def test_openapi_documents_the_security_schemes(store: dict[str, Any]) -> None:
    doc = _client(store).get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http",
                                      "scheme": "bearer"}
    assert schemes["sessionCookie"]["in"] == "cookie"
    post = doc["paths"][URL]["post"]
    assert post["security"] == [{"bearerToken": []}, {"sessionCookie": []}]
    assert {"401", "403"} <= set(post["responses"])
    assert any(p["name"] == auth.CSRF_HEADER and p["in"] == "header"
               for p in post["parameters"])
    assert "author" not in doc["components"]["schemas"]["CorrectionIn"]["properties"]


@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:8000", "127.0.0.1"), ("LOCALHOST", "localhost"), ("[::1]:80", "::1"),
    ("example.org.", "example.org"), ("a@evil:80", None), ("host:notaport", None),
    ("", None), ("x/y", None)])
def test_host_names(header: str, name: str | None) -> None:
    assert auth.host_name(header) == name


# -- the page form, end to end (NiceGUI's simulated user) ---------------------------------

MAIN = Path(__file__).resolve().parents[1] / "src" / "chainatlas" / "web" / "main.py"


@pytest.fixture
def anyio_backend() -> str:
    """NiceGUI runs on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_page_form_needs_an_analyst(store: dict[str, Any], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from nicegui import app as nicegui_app
    from nicegui.storage import Storage
    from nicegui.testing.user_simulation import user_simulation

    monkeypatch.setenv("CHAINATLAS_DB", str(store["path"]))
    monkeypatch.setenv(auth.ALLOWED_HOSTS_ENV, "test")  # the simulated browser's Host
    monkeypatch.setattr(Storage, "path", (tmp_path / "storage").resolve())
    monkeypatch.setattr(nicegui_app, "storage", Storage())
    async with user_simulation(main_file=MAIN) as user:
        user.javascript_rules[re.compile(r".*registerMap.*")] = lambda _: "ok"
        await user.open("/firm/300054.SZ")
        await user.should_see(marker="fix-sign-in", retries=50)
        await user.should_not_see(marker="fix-submit")
        signed = await user.http_client.post("/login", data={
            "name": "ana", "password": PASSWORDS["ana"]})
        assert signed.status_code == 303
        await user.open("/firm/300054.SZ")
        await user.should_see(marker="fix-submit", retries=50)
        await user.should_see("校正人：ana")
        user.find(marker="fix-reason").type("页面端到端校正")
        user.find(marker="fix-submit").click()
        await user.should_see("校正已保存", retries=50)
    with _reader(store) as db:
        rows = db.rows("SELECT author, reason FROM corrections WHERE company_id = ?",
                       ["300054.SZ"])
        line = audit_rows(db, action="correction.add")[0]
    assert ("ana", "页面端到端校正") in {(r["author"], r["reason"]) for r in rows}
    assert line["actor"] == "ana" and line["after"]["reason"] == "页面端到端校正"
