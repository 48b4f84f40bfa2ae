"""Sign-in, roles, CSRF, Host and Origin checks of the web app (web/auth.py and friends)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.websockets import WebSocketDisconnect

from chainatlas.build import build_store
from chainatlas.errors import ChainAtlasError
from chainatlas.store import Database
from chainatlas.store.audit import audit_rows
from chainatlas.store.users import (
    User,
    add_user,
    disable_user,
    issue_token,
    set_password,
    set_role,
)
from chainatlas.web import auth, state
from chainatlas.web.app import create_app, serve_check
from chainatlas.web.pages import admin, firm, login
from chainatlas.web.state import write_db
from tests.helpers import WEB_MAIN, make_bundle, unpinned_bundle

BASE = "http://127.0.0.1:8000"
PASSWORDS = {"boss": "admin passphrase", "ana": "analyst passphrase",
             "vic": "viewer passphrase"}
ROLES = {"boss": "admin", "ana": "analyst", "vic": "viewer"}
BODY = {"firm": "以岭药业", "chain": "生物医药", "node": "bm_api", "action": "assign",
        "reason": "年报披露原料药产能"}
URL = "/api/v1/corrections"


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


class Clock:
    """A clock the tests move by hand (the throttle's time source)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A fresh sign-in throttle per test, on a hand-moved clock."""
    fake = Clock()
    monkeypatch.setattr(login, "THROTTLE", login.SignInThrottle(clock=fake))
    return fake


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
    cookie, csrf = auth.new_session(policy, User("ana", "analyst", "2026-01-02T03:04:05"))
    assert auth.read_session(policy, cookie) == ("ana", csrf, "2026-01-02T03:04:05")
    # One full-weight character of the signature changed (the last ones carry padding
    # bits: overwriting them can leave the signature's bytes as they were).
    tampered = cookie[:-5] + ("A" if cookie[-5] != "A" else "B") + cookie[-4:]
    assert auth.read_session(policy, tampered) is None
    other = auth.make_policy("127.0.0.1", lambda: "another secret")
    assert auth.read_session(other, cookie) is None
    expired = auth.Policy(policy.allowed_hosts, False, policy.secret, max_age=-1)
    assert auth.read_session(expired, cookie) is None


@pytest.fixture
def small(tmp_path: Path, fast_hashing: None) -> dict[str, Any]:
    """A store of its own (the test changes its users): ana (analyst) and her token."""
    path = tmp_path / "small.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(make_bundle(tmp_path / "bundle")))
        add_user(db, "ana", "analyst", PASSWORDS["ana"], actor="test")
        add_user(db, "boss", "admin", PASSWORDS["boss"], actor="test")
        token = issue_token(db, "ana", actor="test")
    return {"path": path, "tokens": {"ana": token}}


def test_a_disabled_users_session_stops_working(small: dict[str, Any]) -> None:
    client = _signed_in(small, "ana")
    with write_db() as db:
        disable_user(db, "ana", actor="test")
    assert client.post(URL, json=BODY, headers=_csrf(client)).status_code == 401


def _bearer(store: dict[str, Any], name: str = "ana") -> dict[str, str]:
    return {"Authorization": f"Bearer {store['tokens'][name]}"}


def test_a_password_change_ends_sessions_and_keeps_tokens(small: dict[str, Any]) -> None:
    client, other = _signed_in(small, "ana"), _signed_in(small, "ana")
    assert client.post(URL, json=BODY, headers=_csrf(client)).status_code == 201
    with write_db() as db:
        set_password(db, "ana", "a brand new passphrase", actor="boss")
    for session in (client, other):  # every session of hers, not only one
        assert session.post(URL, json=BODY, headers=_csrf(session)).status_code == 401
        assert session.get("/logout").status_code == 303  # signed out: back to /login
    assert _client(small).post(URL, json=BODY, headers=_bearer(small)).status_code == 201
    again = _client(small)
    assert again.post("/login", data={"name": "ana", "password": PASSWORDS["ana"]}) \
        .status_code == 401
    assert again.post("/login", data={"name": "ana", "password": "a brand new passphrase"}) \
        .status_code == 303
    assert again.post(URL, json=BODY, headers=_csrf(again)).status_code == 201


def test_a_role_change_ends_sessions_and_tokens_get_the_new_role(
        small: dict[str, Any]) -> None:
    client, admin_session = _signed_in(small, "ana"), _signed_in(small, "boss")
    with write_db() as db:
        set_role(db, "ana", "viewer", actor="boss")
    assert client.post(URL, json=BODY, headers=_csrf(client)).status_code == 401
    assert _client(small).post(URL, json=BODY, headers=_bearer(small)).status_code == 403
    # Another user's session is untouched.
    assert admin_session.post(URL, json=BODY, headers=_csrf(admin_session)).status_code == 201


def test_sessions_are_checked_by_reading_only(small: dict[str, Any],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The session check is a read: signed-in and token reads write nothing."""
    client = _signed_in(small, "ana")
    writes: list[str] = []
    real = state.write_db

    def counting() -> Any:
        writes.append("write")
        return real()

    monkeypatch.setattr(state, "write_db", counting)
    for _ in range(5):
        assert client.get("/api/v1/chains").status_code == 200
        assert _client(small).get("/api/v1/chains", headers=_bearer(small)).status_code == 200
    assert writes == []


# -- throttling sign-in -------------------------------------------------------------------

WAIT = f"尝试次数过多，请 {login.LOCK_SECONDS // 60} 分钟后再试"


def _try(client: TestClient, name: str, password: str = "wrong password") -> Any:
    return client.post("/login", data={"name": name, "password": password})


def test_five_failures_for_a_name_refuse_it_for_a_while(small: dict[str, Any],
                                                        clock: Clock) -> None:
    clients = [TestClient(create_app(small["path"]), base_url=BASE, follow_redirects=False,
                          client=(f"10.0.0.{i}", 5000)) for i in range(7)]
    for client in clients[:5]:  # five addresses: the name's counter trips, not theirs
        assert _try(client, "ana").status_code == 401
    refused = _try(clients[5], "ana", PASSWORDS["ana"])  # even the right password
    assert refused.status_code == 429 and WAIT in refused.text
    assert refused.headers["Retry-After"] == str(login.LOCK_SECONDS)
    clock.now += login.LOCK_SECONDS - 61
    assert "请 2 分钟后再试" in _try(clients[6], "ana", PASSWORDS["ana"]).text
    assert _try(clients[6], "boss", PASSWORDS["boss"]).status_code == 303  # other names pass
    clock.now += 61
    assert _try(clients[6], "ana", PASSWORDS["ana"]).status_code == 303


def test_five_failures_from_an_address_refuse_it(small: dict[str, Any]) -> None:
    client = _client(small)
    for name in ("x1", "x2", "x3", "x4", "ana"):  # random names count for the address
        assert _try(client, name).status_code == 401
    assert _try(client, "boss", PASSWORDS["boss"]).status_code == 429
    other = TestClient(create_app(small["path"]), base_url=BASE, follow_redirects=False,
                       client=("10.9.9.9", 5000))
    assert _try(other, "boss", PASSWORDS["boss"]).status_code == 303


def test_the_window_and_a_success_reset_the_count(clock: Clock) -> None:
    throttle = login.SignInThrottle(clock=clock)

    def fail(name: str, address: str) -> int:
        attempt = throttle.admit(name, address)
        if attempt.wait == 0:
            throttle.failed(attempt)
        return attempt.wait

    assert [fail("ana", f"a{i}") for i in range(4)] == [0] * 4
    throttle.succeeded(throttle.admit("ana", "b"))  # resets the name's counter
    assert [fail("ana", f"c{i}") for i in range(5)] == [0] * 5
    assert fail("ana", "d") == login.LOCK_SECONDS
    assert [fail("li", "e") for _ in range(4)] == [0] * 4
    clock.now += login.WINDOW_SECONDS + 1  # four failures, then a quiet window: no lock
    assert [fail("li", "e") for _ in range(4)] == [0] * 4
    assert fail("li", "e") == 0 and fail("li", "e") > 0


def test_attempts_in_flight_count(clock: Clock) -> None:
    """Guesses sent at once (each waits for its hash) cannot slip past the limit."""
    throttle = login.SignInThrottle(clock=clock)
    waits = [throttle.admit("ana", f"10.1.0.{i}").wait for i in range(20)]
    assert waits.count(0) == login.MAX_FAILURES


def test_a_flood_of_names_stays_bounded(clock: Clock) -> None:
    throttle = login.SignInThrottle(clock=clock, capacity=500)
    for i in range(20_000):
        attempt = throttle.admit(f"name{i}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
        if attempt.wait == 0:
            throttle.failed(attempt)
        clock.now += 0.01
    names, addresses = throttle.tracked()
    assert names <= 500 and addresses <= 500
    # The newest counters are the ones kept.
    for _ in range(4):
        throttle.failed(throttle.admit("name19999", "fresh"))
    assert throttle.admit("name19999", "fresh2").wait == login.LOCK_SECONDS


# -- sign-ins in the audit log ------------------------------------------------------------


def test_sign_ins_and_lockouts_are_audited_failures_only_logged(
        small: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    client = _client(small)
    assert _try(client, "ana", PASSWORDS["ana"]).status_code == 303
    clients = [TestClient(create_app(small["path"]), base_url=BASE, follow_redirects=False,
                          client=(f"10.0.0.{i}", 5000)) for i in range(5)]
    with caplog.at_level("WARNING", logger="chainatlas.web"):
        for each in clients:
            assert _try(each, "ana").status_code == 401
            assert _try(each, "nobody").status_code == 401
        for _ in range(10):  # refused attempts cost no write
            assert _try(clients[0], "ana").status_code == 429
    with state.request_db() as db:
        lines = audit_rows(db, since=None, limit=100)
    auth_lines = [r for r in lines if r["action"].startswith("auth.")]
    assert [r["action"] for r in auth_lines] == ["auth.lockout", "auth.sign_in"]
    lockout, sign_in = auth_lines
    assert sign_in["actor"] == "ana" and sign_in["after"] == {"address": "testclient"}
    assert lockout["target"] == "user:ana" and lockout["actor"] == "web:10.0.0.4"
    assert lockout["after"]["minutes"] == login.LOCK_SECONDS // 60
    failures = [r for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert len(failures) == 10 and "10.0.0.0" in failures[0].getMessage()


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
    ("", None), ("x/y", None), ("127.0.0.1#@evil.example", None),
    ("127.0.0.1?evil.example", None), ("127.0.0.1\\evil", None), ("127.0.0.1 x", None)])
def test_host_names(header: str, name: str | None) -> None:
    assert auth.host_name(header) == name


# -- the page form, end to end (NiceGUI's simulated user) ---------------------------------

@pytest.mark.anyio
async def test_page_form_needs_an_analyst(store: dict[str, Any], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          keep_modules: None) -> None:
    from nicegui import app as nicegui_app
    from nicegui.storage import Storage
    from nicegui.testing.user_simulation import user_simulation

    monkeypatch.setenv("CHAINATLAS_DB", str(store["path"]))
    monkeypatch.setenv(auth.ALLOWED_HOSTS_ENV, "test")  # the simulated browser's Host
    monkeypatch.setattr(Storage, "path", (tmp_path / "storage").resolve())
    monkeypatch.setattr(nicegui_app, "storage", Storage())
    async with user_simulation(main_file=WEB_MAIN) as user:
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


def test_a_sign_in_form_with_too_many_fields_is_413(store: dict[str, Any]) -> None:
    response = _client(store).post("/login", data={f"f{i}": "x" for i in range(11)})
    assert response.status_code == 413 and "请求过大" in response.text
