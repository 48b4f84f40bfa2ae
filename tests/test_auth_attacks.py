"""Red-team probes of sign-in, roles, tokens, CSRF, Host and Origin checks (issue 10.1).

Each test is one attack. A passing test documents an attack the app refuses; a test
marked ``xfail(strict=True)`` asserts the right behaviour for an attack that currently
succeeds (its reason names the gap), so fixing the gap turns it into a failure to
un-mark. The app serves an in-memory store; the client speaks to ``http://127.0.0.1``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from starlette.requests import Request

from chainatlas.build import apply_correction, build_store
from chainatlas.errors import ChainAtlasError
from chainatlas.store import Database
from chainatlas.store import users as users_mod
from chainatlas.store.audit import audit_rows
from chainatlas.store.users import (
    add_user,
    disable_user,
    issue_token,
    revoke_token,
    set_password,
)
from chainatlas.web import auth
from chainatlas.web.app import create_app
from chainatlas.web.pages import firm, login
from chainatlas.web.state import request_db, write_db
from tests.helpers import WEB_MAIN, make_bundle, unpinned_bundle

BASE = "http://127.0.0.1"
ORIGIN = "http://127.0.0.1"
SECRET = "attack-test-secret"
PASSWORDS = {"boss": "admin passphrase", "ana": "analyst passphrase",
             "vic": "viewer passphrase"}
ROLES = {"boss": "admin", "ana": "analyst", "vic": "viewer"}
URL = "/api/v1/corrections"
BODY = {"firm": "以岭药业", "chain": "生物医药", "node": "bm_api", "action": "assign",
        "reason": "攻击测试"}
PAGE_ARGS = ("002603.SZ", "biomedicine", "bm_api", "assign", "页面攻击")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, fast_hashing: None) -> dict[str, Any]:
    """An in-memory store with an admin, an analyst, a viewer and tokens of each."""
    db = Database()
    build_store(db, unpinned_bundle(make_bundle(tmp_path_factory.mktemp("attack"))))
    for name, password in PASSWORDS.items():
        add_user(db, name, ROLES[name], password, actor="test")
    tokens = {name: issue_token(db, name, actor="test") for name in PASSWORDS}
    return {"db": db, "tokens": tokens}


@pytest.fixture(autouse=True)
def serving(store: dict[str, Any], secret: None) -> None:
    """The app serves the module's store before each test reads or changes it."""
    create_app(db=store["db"])


@pytest.fixture(autouse=True)
def fresh_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh sign-in throttle per test: the attacks' failed sign-ins must not add up."""
    monkeypatch.setattr(login, "THROTTLE", login.SignInThrottle())


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A session secret from the environment, and no secret file in the user's home."""
    monkeypatch.setenv("CHAINATLAS_SECRET", SECRET)
    monkeypatch.setenv("CHAINATLAS_HOME", str(tmp_path))
    monkeypatch.delenv(auth.ALLOWED_HOSTS_ENV, raising=False)


def _client(store: dict[str, Any], host: str = "127.0.0.1") -> TestClient:
    return TestClient(create_app(db=store["db"], host=host), base_url=BASE,
                      raise_server_exceptions=False, follow_redirects=False)


def _sign_in(client: TestClient, name: str, password: str) -> TestClient:
    response = client.post("/login", data={"name": name, "password": password})
    assert response.status_code == 303, response.text
    return client


def _signed_in(store: dict[str, Any], name: str, host: str = "127.0.0.1") -> TestClient:
    return _sign_in(_client(store, host), name, PASSWORDS[name])


def _csrf(client: TestClient) -> dict[str, str]:
    return {auth.CSRF_HEADER: str(client.cookies[auth.CSRF_COOKIE])}


def _bearer(store: dict[str, Any], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {store['tokens'][name]}"}


def _count(table: str) -> int:
    with request_db() as db:
        return int(db.scalar(f"SELECT count(*) FROM {table}"))  # table names are literals


_serial = iter(range(1, 10_000))


def _new_user(role: str = "analyst") -> tuple[str, str]:
    """A throw-away user for attacks that change it (the shared ones stay as they are)."""
    name, password = f"tmp{next(_serial)}", "a throw-away passphrase"
    with write_db() as db:
        add_user(db, name, role, password, actor="test")
    return name, password


def _page_request(cookies: dict[str, str]) -> Request:
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return Request({"type": "http", "method": "GET", "path": "/firm/002603.SZ",
                    "headers": [(b"host", b"127.0.0.1"), (b"cookie", cookie.encode())],
                    "query_string": b""})


# -- anonymous writes, by every path ------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("headers", [
    {}, {auth.CSRF_HEADER: "x"}, {"Cookie": f"{auth.CSRF_COOKIE}=x", auth.CSRF_HEADER: "x"},
    {"Origin": ORIGIN}, {"Authorization": "Bearer "}, {"Authorization": "Basic YTpi"}])
def test_anonymous_api_writes_are_refused(store: dict[str, Any], method: str,
                                          headers: dict[str, str]) -> None:
    client = _client(store)
    before = _count("corrections")
    response = client.request(method, URL, json=BODY, headers=headers)
    assert response.status_code in {401, 405}, response.text
    assert _count("corrections") == before


def test_the_app_has_no_write_route_but_the_known_ones(store: dict[str, Any]) -> None:
    """A route NiceGUI (or a later change) adds that takes writes would bypass the API's
    role check: outside the API only the sign-in forms take them (every API write route
    is refused without its role: tests/test_write_routes.py enumerates them)."""
    app = _client(store).app
    writes = set()
    for route in app.routes:  # type: ignore[attr-defined]
        methods = set(getattr(route, "methods", None) or ())
        if methods & auth.UNSAFE_METHODS:
            writes.add(route.path)
        included = getattr(route, "original_router", None)  # the API's included routers
        for inner in getattr(included, "routes", ()):
            if set(getattr(inner, "methods", None) or ()) & auth.UNSAFE_METHODS:
                writes.add(inner.path)
    assert {w for w in writes if not w.startswith("/api/v1/")} == {"/login", "/logout"}
    assert URL in writes


@pytest.mark.parametrize("path", [
    "/_nicegui/client/abc/upload/1", "/_nicegui/3.18.0/static/x.js", "/_nicegui/auto/x",
    "/_nicegui/3.18.0/libraries/x", "/firm/002603.SZ", "/admin", "/", "/openapi.json"])
def test_nicegui_and_page_routes_take_no_anonymous_post(store: dict[str, Any],
                                                        path: str) -> None:
    before = _count("corrections"), _count("audit_log")
    response = _client(store).post(path, json=BODY)
    # NiceGUI's own 404 page needs ui.run's configuration, which TestClient lacks (it
    # answers 500 here, 404 when served): what matters is that nothing was written.
    assert response.status_code in {404, 405, 500}, (path, response.status_code)
    assert (_count("corrections"), _count("audit_log")) == before


@pytest.mark.parametrize(("origin", "status"), [("http://evil.example", 403),
                                                ("null", 403)])
def test_socket_polling_posts_from_another_origin_are_refused(
        store: dict[str, Any], origin: str, status: int) -> None:
    response = _client(store).post(
        "/_nicegui_ws/socket.io/?EIO=4&transport=polling&sid=x", content=b"42",
        headers={"Origin": origin})
    assert response.status_code == status


def test_page_form_refuses_anonymous_viewer_and_disabled_users(store: dict[str, Any]) -> None:
    """The firm page's correction travels over the websocket: the role is checked at
    submit against the page request's cookie, re-read from the store."""
    name, password = _new_user()
    signed = _sign_in(_client(store), name, password)
    cookies = dict(signed.cookies)
    with write_db() as db:
        disable_user(db, name, actor="test")
    before = _count("corrections")
    for jar in ({}, dict(_signed_in(store, "vic").cookies), cookies,
                {auth.SESSION_COOKIE: "forged.cookie.value"}):
        with pytest.raises(ChainAtlasError, match="需要分析员"):
            firm._correct(_page_request(jar), *PAGE_ARGS)
    assert _count("corrections") == before


def test_failed_sign_ins_write_nothing(store: dict[str, Any]) -> None:
    client = _client(store)
    before = _count("audit_log")
    for name, password in (("ana", "wrong password"), ("nobody", "x" * 20), ("", "")):
        assert client.post("/login", data={"name": name, "password": password}) \
            .status_code == 401
    assert _count("audit_log") == before
    assert auth.SESSION_COOKIE not in client.cookies


def test_a_sign_in_form_with_many_fields_is_refused_cleanly(store: dict[str, Any]) -> None:
    """Found in this review: parse_qs raised ValueError past 10 fields (a 500)."""
    response = _client(store).post("/login", data={f"f{i}": "x" for i in range(11)})
    assert response.status_code in {400, 413}


def test_an_oversized_sign_in_form_is_refused_unread(store: dict[str, Any]) -> None:
    client = _client(store)
    assert client.post("/login", content=b"name=ana&password=" + b"x" * 9000, headers={
        "Content-Type": "application/x-www-form-urlencoded"}).status_code == 413
    assert client.post("/login", content=b"name=ana", headers={
        "Content-Length": "-1"}).status_code in {400, 413}


# -- Host header spoofing -----------------------------------------------------------------

FOREIGN_HOSTS = ["evil.example", "evil.example:8000", "EVIL.EXAMPLE", "evil.example.",
                 "127.0.0.1.evil.example", "localhost.evil.example", "127.0.0.1.nip.io",
                 "0.0.0.0:8000", "[::]:8000", "[::2]", "127.0.0.1@evil.example",
                 "evil.example@127.0.0.1", "127.0.0.1:notaport", "127.0.0.1:99999",
                 "evil.example/127.0.0.1", "", "a" * 300]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_foreign_or_malformed_hosts_are_400(store: dict[str, Any], host: str) -> None:
    client = _client(store)
    for method, path in (("GET", "/api/v1/chains"), ("GET", "/"), ("POST", URL),
                         ("POST", "/login")):
        response = client.request(method, path, json=BODY, headers={
            "Host": host, **_bearer(store, "ana")})
        assert response.status_code == 400, (host, method, path)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8000", "LOCALHOST:8000",
                                  "localhost.", "[::1]:8000", "127.0.0.2"])
def test_loopback_spellings_are_answered(store: dict[str, Any], host: str) -> None:
    assert _client(store).get("/api/v1/chains", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1#@evil.example", "127.0.0.1?evil.example",
                                  "127.0.0.1#", "127.0.0.1\\evil", "127.0.0.1\t",
                                  "127.0.0.1 :80"])
def test_a_host_with_a_fragment_or_query_is_400(store: dict[str, Any], host: str) -> None:
    """Found in this review: the URL parser dropped a '#...' or '?...' tail, so
    "127.0.0.1#@evil.example" passed as loopback."""
    assert _client(store).get("/api/v1/chains", headers={"Host": host}).status_code == 400


def test_x_forwarded_host_is_not_believed(store: dict[str, Any]) -> None:
    client = _client(store)
    assert client.get("/api/v1/chains", headers={
        "Host": "evil.example", "X-Forwarded-Host": "127.0.0.1"}).status_code == 400
    # Nor does it make a foreign Origin match.
    response = client.post(URL, json=BODY, headers={
        "X-Forwarded-Host": "evil.example", "Origin": "http://evil.example",
        **_bearer(store, "ana")})
    assert response.status_code == 403


def test_a_wildcard_listen_address_answers_no_wildcard_host(store: dict[str, Any]) -> None:
    for listen in ("0.0.0.0", "::"):
        policy = auth.make_policy(listen, lambda: SECRET)
        assert not policy.host_allowed("0.0.0.0:8000") and not policy.host_allowed("[::]")
        assert policy.require_login
    assert auth.make_policy("192.168.1.20", lambda: SECRET).host_allowed("192.168.1.20:80")


# -- Origin on writes, on /login and on the socket.io handshake ---------------------------


@pytest.mark.parametrize(("origin", "status"), [
    (None, 201), ("null", 403), ("http://evil.example", 403), ("http://127.0.0.1:9999", 403),
    ("http://localhost", 403), ("http://127.0.0.1@evil.example", 403),
    ("file://", 403), ("chrome-extension://abc", 403), (ORIGIN, 201)])
def test_origin_of_token_writes(store: dict[str, Any], origin: str | None,
                                status: int) -> None:
    """Scripts send no Origin (allowed with a token); a browser's must be this site."""
    headers = _bearer(store, "ana") | ({"Origin": origin} if origin is not None else {})
    assert _client(store).post(URL, json=BODY, headers=headers).status_code == status


@pytest.mark.parametrize("origin", [None, "null", "http://evil.example"])
def test_a_session_write_needs_the_csrf_token_whatever_the_origin(
        store: dict[str, Any], origin: str | None) -> None:
    client = _signed_in(store, "ana")
    headers = {"Origin": origin} if origin is not None else {}
    response = client.post(URL, json=BODY, headers=headers)
    assert response.status_code == 403


@pytest.mark.parametrize("origin", ["null", "http://evil.example", "http://127.0.0.1:9999"])
def test_login_csrf_from_another_origin_is_refused(store: dict[str, Any], origin: str) -> None:
    """A foreign page must not sign the victim's browser in as the attacker."""
    client = _client(store)
    before = _count("audit_log")
    response = client.post("/login", data={"name": "ana", "password": PASSWORDS["ana"]},
                           headers={"Origin": origin})
    assert response.status_code == 403
    assert auth.SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert _count("audit_log") == before


def _passes(kind: str, path: str, headers: list[tuple[bytes, bytes]]) -> bool:
    """Run one request or websocket handshake through the auth middleware alone: whether
    it was passed on to the app (refused ones are answered or closed by the middleware)."""
    reached: list[str] = []
    sent: list[dict[str, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect" if kind == "websocket" else "http.request"}

    scope = {"type": kind, "path": path, "query_string": b"", "headers": headers,
             "method": "GET"}
    asyncio.run(auth.AuthMiddleware(inner)(scope, receive, send))
    assert bool(reached) != bool(sent)  # passed on, or refused: never both
    return bool(reached)


def _handshake(origin: bytes | None, host: bytes = b"127.0.0.1",
               cookie: bytes | None = None) -> bool:
    """Whether a socket.io websocket handshake gets past the middleware."""
    headers = [(b"host", host)] + ([(b"origin", origin)] if origin is not None else []) \
        + ([(b"cookie", cookie)] if cookie is not None else [])
    return _passes("websocket", "/_nicegui_ws/socket.io/", headers)


@pytest.mark.parametrize(("origin", "host", "passed"), [
    (None, b"127.0.0.1", True),  # not a browser: browsers always send Origin on websockets
    (b"null", b"127.0.0.1", False), (b"http://evil.example", b"127.0.0.1", False),
    (b"http://127.0.0.1:9999", b"127.0.0.1", False),
    (b"http://localhost", b"127.0.0.1", False),
    (b"http://evil.example", b"evil.example", False), (None, b"evil.example", False),
    (b"HTTP://LOCALHOST:8000", b"localhost:8000", True), (b"http://127.0.0.1", b"127.0.0.1",
                                                          True)])
def test_socket_handshake_origin(store: dict[str, Any], origin: bytes | None, host: bytes,
                                 passed: bool) -> None:
    _client(store)  # installs the loopback policy
    assert _handshake(origin, host) is passed


def test_off_loopback_an_anonymous_socket_or_asset_is_refused(store: dict[str, Any]) -> None:
    _client(store, host="0.0.0.0")
    assert not _handshake(b"http://127.0.0.1")
    for path in ("/_nicegui/3.18.0/static/socket.io.min.js", "/_nicegui_ws/socket.io/",
                 "/_nicegui/3.18.0/libraries/x", "/admin", "/openapi.json", "/logout"):
        assert not _passes("http", path, [(b"host", b"127.0.0.1")]), path
    assert _passes("http", "/login", [(b"host", b"127.0.0.1")])
    viewer = _signed_in(store, "vic", host="0.0.0.0")
    session = f"{auth.SESSION_COOKIE}={viewer.cookies[auth.SESSION_COOKIE]}".encode()
    assert _handshake(b"http://127.0.0.1", cookie=session)


# -- logout CSRF --------------------------------------------------------------------------


def test_logout_csrf_is_refused_and_the_session_stands(store: dict[str, Any]) -> None:
    client, other = _signed_in(store, "ana"), _signed_in(store, "ana")
    for form, headers in (({}, {}), ({"csrf": "forged"}, {}),
                          ({"csrf": other.cookies[auth.CSRF_COOKIE]}, {}),
                          ({"csrf": client.cookies[auth.CSRF_COOKIE]},
                           {"Origin": "http://evil.example"})):
        response = client.post("/logout", data=form, headers=headers)
        assert response.status_code == 403, (form, headers)
        assert auth.SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert client.post(URL, json=BODY, headers=_csrf(client)).status_code == 201


# -- cookies: forging and replay ----------------------------------------------------------


def _forged(payload: dict[str, Any], secret: str = SECRET, salt: str = "chainatlas-session"
            ) -> str:
    return URLSafeTimedSerializer(secret, salt=salt).dumps(payload)


def test_forged_session_cookies_are_anonymous(store: dict[str, Any]) -> None:
    with request_db() as db:
        stamp = users_mod.get_user(db, "boss").stamp  # type: ignore[union-attr]
    genuine = _signed_in(store, "ana").cookies[auth.SESSION_COOKIE]
    payload, signature = genuine.rsplit(".", 1)
    forgeries = [
        _forged({"u": "boss", "c": "x", "g": stamp}, secret="guessed secret"),
        _forged({"u": "boss", "c": "x", "g": stamp}, salt="itsdangerous"),  # other salt
        _forged({"u": "boss", "c": "x"}),  # no stamp: a cookie of before stamps
        payload + "." + signature[::-1],
        json.dumps({"u": "boss", "c": "x", "g": stamp}),
        "",
    ]
    for cookie in forgeries:
        client = _client(store)
        client.cookies.set(auth.SESSION_COOKIE, cookie)
        # 401, not 403: the middleware found no user in it at all.
        assert client.post(URL, json=BODY, headers={auth.CSRF_HEADER: "x"}).status_code == 401


def test_a_session_cookie_replayed_after_disable_and_re_enable_is_refused(
        store: dict[str, Any]) -> None:
    name, password = _new_user()
    client = _sign_in(_client(store), name, password)
    stolen, csrf = dict(client.cookies), _csrf(client)
    with write_db() as db:
        disable_user(db, name, actor="test")
    replay = _client(store)
    replay.cookies.update(stolen)
    assert replay.post(URL, json=BODY, headers=csrf).status_code == 401
    with write_db() as db:
        disable_user(db, name, actor="test", disabled=False)
    assert replay.post(URL, json=BODY, headers=csrf).status_code == 401
    # A fresh sign-in works again.
    again = _sign_in(_client(store), name, password)
    assert again.post(URL, json=BODY, headers=_csrf(again)).status_code == 201


def test_a_session_cookie_is_refused_after_a_password_change(store: dict[str, Any]) -> None:
    name, password = _new_user()
    client = _sign_in(_client(store), name, password)
    with write_db() as db:
        set_password(db, name, "another passphrase", actor="test")
    assert client.post(URL, json=BODY, headers=_csrf(client)).status_code == 401


def test_a_session_cookie_replayed_after_logout_is_refused(store: dict[str, Any]) -> None:
    client = _signed_in(store, "ana")
    stolen, csrf = dict(client.cookies), _csrf(client)
    assert client.post("/logout", data={"csrf": csrf[auth.CSRF_HEADER]}).status_code == 303
    replay = _client(store)
    replay.cookies.update(stolen)
    assert replay.post(URL, json=BODY, headers=csrf).status_code == 401


def test_an_open_page_cannot_write_after_logout(store: dict[str, Any]) -> None:
    client = _signed_in(store, "ana")
    page_cookies = dict(client.cookies)
    client.post("/logout", data={"csrf": client.cookies[auth.CSRF_COOKIE]})
    with pytest.raises(ChainAtlasError):
        firm._correct(_page_request(page_cookies), *PAGE_ARGS)


# -- tokens -------------------------------------------------------------------------------


def test_a_disabled_users_token_is_refused_even_for_reads(store: dict[str, Any]) -> None:
    name, _ = _new_user()
    with write_db() as db:
        token = issue_token(db, name, actor="test")
    client = _client(store)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(URL, json=BODY, headers=headers).status_code == 201
    with write_db() as db:
        disable_user(db, name, actor="test")
    for method, path in (("POST", URL), ("GET", "/api/v1/chains")):
        assert client.request(method, path, json=BODY, headers=headers).status_code == 401
    with write_db() as db, pytest.raises(ChainAtlasError, match="disabled"):
        issue_token(db, name, actor="test")


def test_revoked_altered_and_foreign_tokens_are_refused(store: dict[str, Any]) -> None:
    name, _ = _new_user()
    with write_db() as db:
        token = issue_token(db, name, actor="test")
        token_id = int(db.scalar("SELECT max(token_id) FROM api_tokens"))
        revoke_token(db, token_id, actor="test")
    good = store["tokens"]["ana"]
    for value in (token, good[:-1] + ("A" if good[-1] != "A" else "B"), good.upper(),
                  "cat_" + "x" * 200, hashlib.sha256(good.encode()).hexdigest(),
                  good.removeprefix("cat_")):
        response = _client(store).post(URL, json=BODY, headers={
            "Authorization": f"Bearer {value}"})
        assert response.status_code == 401, value


def test_tokens_and_passwords_are_kept_only_as_digests(store: dict[str, Any]) -> None:
    with request_db() as db:
        kept = json.dumps(db.rows("SELECT * FROM api_tokens"), default=str) \
            + json.dumps(db.rows("SELECT * FROM users"), default=str)
    for token in store["tokens"].values():
        assert token not in kept and token.removeprefix("cat_") not in kept
        assert hashlib.sha256(token.encode()).hexdigest() in kept
    for password in PASSWORDS.values():
        assert password not in kept


def test_sign_in_verifies_one_hash_whoever_is_asked(store: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown or disabled name costs the same argon2 verification as a wrong password:
    timing does not tell which names exist."""
    name, password = _new_user()
    with write_db() as db:
        disable_user(db, name, actor="test")
    calls: list[str] = []
    real = users_mod._hasher

    class Counting:
        def verify(self, digest: str, secret: str) -> bool:
            calls.append(digest[:9])
            return real.verify(digest, secret)

    monkeypatch.setattr(users_mod, "_hasher", Counting())
    client = _client(store)
    for who, secret in (("ana", "wrong password"), ("nobody-here", "wrong password"),
                        (name, password)):
        calls.clear()
        assert client.post("/login", data={"name": who, "password": secret}) \
            .status_code == 401
        assert calls == ["$argon2id"], who


def test_csrf_tokens_are_compared_in_constant_time(store: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    client = _signed_in(store, "ana")
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return bool(real(a, b))

    monkeypatch.setattr(hmac, "compare_digest", counting)  # the module auth.py calls
    assert client.post(URL, json=BODY, headers={auth.CSRF_HEADER: "guess"}).status_code == 403
    assert (b"guess", client.cookies[auth.CSRF_COOKIE].encode()) in seen


# -- open redirect via next= --------------------------------------------------------------

OFF_SITE = ["//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
            "https://evil.example", "http:evil.example", "/\t/evil.example",
            "/\r\nLocation: http://evil.example", " //evil.example", "javascript:alert(1)",
            "data:text/html,x", "evil.example", "/\x00/evil.example", "\\/evil.example"]


def _lands_on_site(location: str) -> bool:
    parts = urlsplit(location)
    return location.startswith("/") and not location.startswith("//") \
        and not parts.scheme and not parts.netloc and "\\" not in location


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_off_site(store: dict[str, Any], target: str) -> None:
    client = _client(store)
    response = client.post("/login", data={"name": "vic", "password": PASSWORDS["vic"],
                                           "next": target})
    assert response.status_code == 303
    assert _lands_on_site(response.headers["location"]), response.headers["location"]
    form = client.get("/login", params={"next": target})
    hidden = re.search(r'name="next" value="([^"]*)"', form.text)
    assert hidden is not None and _lands_on_site(hidden.group(1))


def test_the_sign_in_form_escapes_what_it_echoes(store: dict[str, Any]) -> None:
    script = '"><script>alert(1)</script>'
    response = _client(store).post("/login", data={"name": script, "password": "x",
                                                   "next": "/" + script})
    assert response.status_code == 401 and "<script>" not in response.text


def test_the_off_loopback_redirect_keeps_next_on_site(store: dict[str, Any]) -> None:
    client = _client(store, host="0.0.0.0")
    response = client.get("/map", params={"region": "//evil.example"})
    location = response.headers["location"]
    assert response.status_code == 303 and location.startswith("/login?next=%2F")
    next_value = dict(p.split("=", 1) for p in urlsplit(location).query.split("&"))["next"]
    assert "/" not in next_value  # fully quoted: one query value, not a path


# -- the audit log ------------------------------------------------------------------------


def test_audit_lines_name_the_user_and_hold_no_secret(store: dict[str, Any]) -> None:
    name, password = _new_user()
    with write_db() as db:
        token = issue_token(db, name, label="script", actor="boss")
        set_password(db, name, "a second passphrase", actor="boss")
    client = _sign_in(_client(store), name, "a second passphrase")
    assert client.post(URL, json=BODY, headers=_csrf(client)).status_code == 201
    with request_db() as db:
        lines = [r for r in audit_rows(db, limit=1000)
                 if name in str(r["target"]) or r["actor"] == name
                 or name in json.dumps(r["after"], ensure_ascii=False, default=str)]
        digest = db.scalar("SELECT password_hash FROM users WHERE name = ?", [name])
    actions = {r["action"] for r in lines}
    assert {"user.add", "token.issue", "user.password", "auth.sign_in",
            "correction.add"} <= actions
    text = json.dumps(lines, ensure_ascii=False, default=str)
    for secret in (password, "a second passphrase", token, token.removeprefix("cat_"),
                   hashlib.sha256(token.encode()).hexdigest(), str(digest), "$argon2"):
        assert secret not in text
    correction = next(r for r in lines if r["action"] == "correction.add")
    assert correction["actor"] == name and correction["after"]["author"] == name


def test_a_second_correction_keeps_the_first_as_before(store: dict[str, Any]) -> None:
    client = _signed_in(store, "ana")
    first = {**BODY, "node": "bm_vaccines"}
    assert client.post(URL, json=first, headers=_csrf(client)).status_code == 201
    second = {**first, "action": "unassign", "reason": "撤销"}
    assert client.post(URL, json=second, headers=_csrf(client)).status_code == 201
    with request_db() as db:
        line = audit_rows(db, action="correction.add", limit=1)[0]
    assert line["before"]["action"] == "assign" and line["after"]["action"] == "unassign"


def test_unassigning_a_classified_placement_records_it_as_before(
        store: dict[str, Any]) -> None:
    with request_db() as db:
        placed = db.rows("SELECT company_id, chain_id, node_id FROM firm_nodes f WHERE "
                         "NOT EXISTS (SELECT 1 FROM corrections c WHERE c.company_id = "
                         "f.company_id AND c.chain_id = f.chain_id AND c.node_id = "
                         "f.node_id) ORDER BY ALL LIMIT 1")[0]
    with write_db() as db:
        apply_correction(db, placed["company_id"], placed["chain_id"], placed["node_id"],
                         "unassign", "审计测试", "ana")
    with request_db() as db:
        line = audit_rows(db, action="correction.add", limit=1)[0]
    assert line["before"]["placed"] is True and line["before"]["method"] != "manual"


# -- /admin for the wrong people ----------------------------------------------------------

@pytest.mark.anyio
async def test_viewers_and_analysts_see_no_admin_data(store: dict[str, Any], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      keep_modules: None) -> None:
    from nicegui import app as nicegui_app
    from nicegui.storage import Storage
    from nicegui.testing.user_simulation import user_simulation

    create_app(db=store["db"])  # the main file keeps the store already served
    monkeypatch.delenv("CHAINATLAS_DB", raising=False)
    monkeypatch.setenv(auth.ALLOWED_HOSTS_ENV, "test")  # the simulated browser's Host
    monkeypatch.setattr(Storage, "path", (tmp_path / "storage").resolve())
    monkeypatch.setattr(nicegui_app, "storage", Storage())
    for who in ("vic", "ana"):
        async with user_simulation(main_file=WEB_MAIN) as user:
            signed = await user.http_client.post("/login", data={
                "name": who, "password": PASSWORDS[who]})
            assert signed.status_code == 303
            await user.open("/admin")
            await user.should_see("需要管理员权限", retries=50)
            await user.should_not_see(marker="admin-users")
            await user.should_not_see(marker="admin-audit")
    async with user_simulation(main_file=WEB_MAIN) as user:
        await user.http_client.post("/login", data={"name": "boss",
                                                    "password": PASSWORDS["boss"]})
        await user.open("/admin")
        await user.should_see(marker="admin-users", retries=50)


def test_the_server_ignores_forwarded_headers(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    """uvicorn trusts X-Forwarded-For from loopback unless told not to: a local client
    could then pick the address the sign-in throttle counts."""
    from chainatlas.web.app import run_options

    monkeypatch.setenv("CHAINATLAS_HOME", str(tmp_path))
    assert run_options()["proxy_headers"] is False
