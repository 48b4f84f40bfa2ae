"""登录 / 退出 (/login, /logout): small server-rendered forms, not NiceGUI pages.

Signing in must answer with a ``Set-Cookie`` header (the HttpOnly session), which a
NiceGUI event over the websocket cannot do; a plain form POST can, and works without
JavaScript. Every value shown is HTML-escaped; ``next`` only ever leads back into this
site.

Guessing is throttled (:class:`SignInThrottle`, in memory): after
:data:`MAX_FAILURES` failed attempts within :data:`WINDOW_SECONDS` for one user name or
from one client address, further attempts are refused with HTTP 429 for
:data:`LOCK_SECONDS`, before any password is hashed.

What the audit log gets (decided with the cost of a store write in mind: the served
store is read-only, so each write swaps connections and holds every reader off):

- a successful sign-in (``auth.sign_in``: the user and the client address), one write per
  sign-in; only someone holding a password can cause it;
- the lockout of an existing user's name (``auth.lockout``), at most one per user per
  :data:`LOCK_SECONDS`: the signal an admin acts on.

A failed attempt is *not* a store write: anyone can send those, from as many addresses
as they have, and the throttle bounds them per name and per address, not in total. It
goes to the server log (``chainatlas.web.login``, with name and address), as do
address lockouts and lockouts of names that are no user. Ordinary requests never write:
sessions are checked by a read (:mod:`chainatlas.web.auth`).
"""

from __future__ import annotations

import html
import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from chainatlas.store.audit import record
from chainatlas.store.users import MAX_NAME, User, end_sessions, get_user, verify_password
from chainatlas.web import auth, state

log = logging.getLogger("chainatlas.web.login")

#: A sign-in form is a few hundred bytes; refuse bodies far past that unread.
MAX_FORM_BYTES = 8192
MAX_FORM_FIELDS = 10
MAX_FAILURES = 5
WINDOW_SECONDS = 10 * 60
LOCK_SECONDS = 15 * 60
LOCK_MINUTES = LOCK_SECONDS // 60
#: Counters kept per kind (names, addresses): ~1 KB each, so ~20 MiB when both are full,
#: whatever the traffic.
MAX_TRACKED = 10_000
#: Longer names cannot be users' (users.MAX_NAME): they are counted cut to this length.
MAX_NAME_KEPT = MAX_NAME + 1
TOO_MANY = "尝试次数过多，请 {minutes} 分钟后再试"
BAD_CREDENTIALS = "用户名或密码错误，或账号已停用"
_STYLE = """body{font-family:"PingFang SC","Microsoft YaHei",sans-serif;background:#F2F5F9;
margin:0;color:#1F2937}.box{max-width:360px;margin:12vh auto;background:#fff;padding:28px;
border-radius:10px;box-shadow:0 1px 3px rgba(15,35,70,.12)}h1{font-size:20px;color:#0F2F57}
label{display:block;margin:12px 0 4px;font-size:14px}input{width:100%;padding:8px;
box-sizing:border-box;border:1px solid #CBD5E1;border-radius:6px}button{margin-top:18px;
width:100%;padding:10px;background:#1F5FAD;color:#fff;border:0;border-radius:6px;
font-size:15px}.err{color:#B42318;font-size:14px}.muted{color:#6B7280;font-size:12px}"""


@dataclass
class _Counter:
    """Recent attempts of one key that are not known to have succeeded, and its lock."""

    attempts: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class _Table:
    """Counters of one kind of key, least recently touched first, at most ``capacity``.

    An entry is dead once both its window and its lock have passed; since both are
    measured from its last touch, dead entries gather at the front and are swept from
    there. When the table is full of live entries (a flood from more than ``capacity``
    names or addresses within a window), the least recently touched one is dropped: the
    memory bound wins over remembering the oldest guesser.
    """

    def __init__(self, capacity: int, window: float, lock: float) -> None:
        self.capacity, self.window, self.lock = capacity, window, lock
        self.rows: OrderedDict[str, _Counter] = OrderedDict()

    def wait(self, key: str, now: float, limit: int) -> float:
        """Seconds before ``key`` may try again (0: now)."""
        counter = self.rows.get(key)
        if counter is None:
            return 0.0
        while counter.attempts and counter.attempts[0] <= now - self.window:
            counter.attempts.popleft()
        if counter.locked_until > now:
            return counter.locked_until - now
        if len(counter.attempts) >= limit:  # attempts still in flight fill the quota
            return counter.attempts[0] + self.window - now
        return 0.0

    def count(self, key: str, now: float) -> None:
        """Count an attempt of ``key`` (as failed until it is known to have succeeded)."""
        counter = self.rows.get(key)
        if counter is None:
            self._make_room(now)
            counter = self.rows[key] = _Counter()
        counter.attempts.append(now)
        self.rows.move_to_end(key)

    def lock_if_full(self, key: str, now: float, limit: int) -> bool:
        """Lock ``key`` when its failures reached ``limit``; whether it was locked now."""
        counter = self.rows.get(key)
        if counter is None or len(counter.attempts) < limit or counter.locked_until > now:
            return False
        counter.attempts.clear()
        counter.locked_until = now + self.lock
        self.rows.move_to_end(key)
        return True

    def uncount(self, key: str, at: float) -> None:
        """Take back one attempt of ``key`` counted at ``at`` (it succeeded)."""
        counter = self.rows.get(key)
        if counter is not None and at in counter.attempts:
            counter.attempts.remove(at)

    def _make_room(self, now: float) -> None:
        dead_before = now - max(self.window, self.lock)
        while self.rows:
            oldest = next(iter(self.rows.values()))
            last = max(oldest.attempts[-1] if oldest.attempts else 0.0,
                       oldest.locked_until - self.lock)
            if last > dead_before and len(self.rows) < self.capacity:
                return
            self.rows.popitem(last=False)


@dataclass(frozen=True)
class Attempt:
    """One admitted (``wait == 0``) or refused sign-in attempt."""

    name: str
    address: str
    at: float
    wait: int = 0  # whole seconds to wait when refused


class SignInThrottle:
    """Counts failed sign-ins per user name and per client address, in memory.

    An attempt is counted when admitted, before its password is checked, so guesses sent
    at once cannot slip past the limit while each waits for its hash. A success takes
    its count back from the address and clears the name's counter; a success does not
    clear the address's failures, or one valid account would reset a guesser's count.
    Per process: a server with several workers allows that many times the attempts.
    Thread-safe; ``clock`` (monotonic seconds) is injectable for tests.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 limit: int = MAX_FAILURES, window: float = WINDOW_SECONDS,
                 lock: float = LOCK_SECONDS, capacity: int = MAX_TRACKED) -> None:
        self.clock, self.limit = clock, limit
        self._names = _Table(capacity, window, lock)
        self._addresses = _Table(capacity, window, lock)
        self._mutex = threading.Lock()

    def admit(self, name: str, address: str) -> Attempt:
        """Admit and count an attempt, or refuse it (``wait`` > 0) while either key is
        locked or its quota is taken."""
        name = name[:MAX_NAME_KEPT]  # an over-long name cannot be a user: no need to keep it
        with self._mutex:
            now = self.clock()
            wait = max(self._names.wait(name, now, self.limit),
                       self._addresses.wait(address, now, self.limit))
            if wait > 0:
                return Attempt(name, address, now, max(1, math.ceil(wait)))
            self._names.count(name, now)
            self._addresses.count(address, now)
            return Attempt(name, address, now)

    def failed(self, attempt: Attempt) -> tuple[bool, bool]:
        """An admitted attempt failed: (name locked now, address locked now)."""
        with self._mutex:
            now = self.clock()
            return (self._names.lock_if_full(attempt.name, now, self.limit),
                    self._addresses.lock_if_full(attempt.address, now, self.limit))

    def succeeded(self, attempt: Attempt) -> None:
        """An admitted attempt succeeded: clear the name, uncount it for the address."""
        with self._mutex:
            self._names.rows.pop(attempt.name, None)
            self._addresses.uncount(attempt.address, attempt.at)

    def tracked(self) -> tuple[int, int]:
        """How many names and addresses are being counted (the memory bound's test)."""
        with self._mutex:
            return len(self._names.rows), len(self._addresses.rows)


#: The server's throttle (tests replace it with one on their own clock).
THROTTLE = SignInThrottle()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(ch) < 32 for ch in target):
        return "/"
    return target


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width,initial-scale=1">'
                f"<title>{html.escape(title)} · ChainAtlas 产业链招商图谱</title>"
                f"<style>{_STYLE}</style></head><body><div class=\"box\">{body}</div>"
                "</body></html>")
    # no-store: a page holding a CSRF token is not kept by caches.
    return HTMLResponse(document, status_code=status, headers={"Cache-Control": "no-store"})


def login_form(next_path: str = "/", error: str | None = None, status: int = 200,
               name: str = "") -> HTMLResponse:
    """The sign-in form (with an error line after a failed attempt)."""
    err = f'<p class="err" id="login-error">{html.escape(error)}</p>' if error else ""
    return _page("登录", f"""<h1>登录 ChainAtlas 产业链招商图谱</h1>{err}
<form method="post" action="/login">
<input type="hidden" name="next" value="{html.escape(safe_next(next_path))}">
<label for="name">用户名</label>
<input id="name" name="name" autocomplete="username" required value="{html.escape(name)}">
<label for="password">密码</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">登录</button></form>
<p class="muted">账号由管理员用 chainatlas users add 创建。</p>""", status)


async def read_form(request: Request) -> dict[str, str] | None:
    """The fields of a small urlencoded form (first value each); None when too large or
    holding more than :data:`MAX_FORM_FIELDS` fields."""
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # parse_qs refuses more fields than that by raising
        return None
    return {key: values[0] for key, values in fields.items() if values}


def _check(name: str, password: str) -> User | None:
    with state.request_db() as db:
        return verify_password(db, name, password)


async def get_login(request: Request) -> Response:
    """GET /login."""
    return login_form(request.query_params.get("next", "/"))


def _audit(actor: str, action: str, target: str, after: dict[str, object]) -> None:
    """Write one sign-in line to the audit log (call off the event loop).

    Best effort, on purpose: signing in changes nothing in the store, so a store busy
    with another process must not lock everyone out; the miss goes to the server log.
    """
    try:
        with state.write_db() as db:
            record(db, actor, action, target, None, after)
    except Exception:  # any failure: the sign-in itself stands
        log.exception("could not write the audit line %s %s", action, target)


def _failed(attempt: Attempt) -> None:
    """Count a failed attempt; log it, and audit the lockout of an existing user."""
    name_locked, address_locked = THROTTLE.failed(attempt)
    # %r: a typed name is anyone's text; repr keeps control characters out of the log.
    log.warning("sign-in failed for %r from %s", attempt.name, attempt.address)
    if address_locked:
        log.warning("sign-in locked for %d minutes from %s", LOCK_MINUTES, attempt.address)
    if not name_locked:
        return
    log.warning("sign-in locked for %d minutes for %r", LOCK_MINUTES, attempt.name)
    with state.request_db() as db:
        known = get_user(db, attempt.name) is not None
    if known:  # bounded: one line per user per lock, whoever floods
        _audit(f"web:{attempt.address}", "auth.lockout", f"user:{attempt.name}",
               {"failures": MAX_FAILURES, "minutes": LOCK_MINUTES,
                "address": attempt.address})


def client_address(request: Request) -> str:
    """The address a request came from (behind a reverse proxy: the proxy's)."""
    return request.client.host if request.client is not None else "unknown"


def too_many(target: str, attempt: Attempt, name: str) -> HTMLResponse:
    """The 429 answer to a throttled attempt, with the wait in minutes."""
    message = TOO_MANY.format(minutes=max(1, math.ceil(attempt.wait / 60)))
    response = login_form(target, message, 429, name)
    response.headers["Retry-After"] = str(attempt.wait)
    return response


async def post_login(request: Request) -> Response:
    """POST /login: sign in and go on to ``next``, or show the form again (401, or 429
    while throttled)."""
    form = await read_form(request)
    if form is None:
        return login_form(error="请求过大", status=413)
    name, target = form.get("name", "").strip(), safe_next(form.get("next"))
    policy = auth.current_policy()
    if not name or policy is None:
        return login_form(target, BAD_CREDENTIALS, 401, name)
    attempt = THROTTLE.admit(name, client_address(request))
    if attempt.wait:
        return too_many(target, attempt, name)
    user = await run_in_threadpool(_check, name, form.get("password", ""))
    if user is None:
        await run_in_threadpool(_failed, attempt)
        return login_form(target, BAD_CREDENTIALS, 401, name)
    THROTTLE.succeeded(attempt)
    await run_in_threadpool(_audit, user.name, "auth.sign_in", f"user:{user.name}",
                            {"address": attempt.address})
    response = RedirectResponse(target, status_code=303)
    auth.set_session_cookies(response, policy, user, secure=request.url.scheme == "https")
    return response


async def get_logout(request: Request) -> Response:
    """GET /logout: a confirmation button (signing out is a POST with the CSRF token)."""
    identity = auth.request_identity(request)
    if identity.via != "session" or identity.csrf is None or identity.user is None:
        return RedirectResponse("/login", status_code=303)
    return _page("退出登录", f"""<h1>退出登录</h1>
<p>当前用户：{html.escape(identity.user.name)}（{html.escape(identity.user.role)}）</p>
<form method="post" action="/logout">
<input type="hidden" name="csrf" value="{html.escape(identity.csrf)}">
<button type="submit" id="logout">退出登录</button></form>""")


async def post_logout(request: Request) -> Response:
    """POST /logout: clear the session cookies when the form's CSRF token matches."""
    identity = auth.request_identity(request)
    form = await read_form(request) or {}
    if not auth.csrf_ok(identity, form.get("csrf")):
        return _page("退出登录", '<p class="err">请求无效，请从“退出登录”页面重试。</p>', 403)
    if identity.via == "session" and identity.user is not None:
        await run_in_threadpool(_end_sessions, identity.user.name)
    response = RedirectResponse("/login", status_code=303)
    auth.clear_session_cookies(response)
    return response


def _end_sessions(name: str) -> None:
    """End the user's sessions on the server too (call off the event loop): clearing the
    browser's cookies alone left a copied cookie, or a page still open, writing for 12 h.
    A store that cannot be written now (busy) is logged: the cookies are cleared anyway."""
    try:
        with state.write_db() as db:
            end_sessions(db, name, actor=name)
    except Exception:
        log.exception("could not end the sessions of %r on the server", name)


def register() -> None:
    """Add the /login and /logout routes to NiceGUI's app (outside the OpenAPI document:
    they are forms for people, not API)."""
    from nicegui import app

    for path, get, post in (("/login", get_login, post_login),
                            ("/logout", get_logout, post_logout)):
        app.add_api_route(path, get, methods=["GET"], include_in_schema=False)
        app.add_api_route(path, post, methods=["POST"], include_in_schema=False)
