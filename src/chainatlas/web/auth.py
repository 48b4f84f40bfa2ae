"""Who is asking, and may they: sessions, API tokens, CSRF, Host and Origin checks.

One ASGI middleware (:class:`AuthMiddleware`) sees every HTTP request and websocket
handshake before FastAPI or NiceGUI do:

1. ``Host`` must be a loopback name, the ``--host`` served on, or one of
   ``$CHAINATLAS_ALLOWED_HOSTS`` (comma-separated): anything else is a 400, which stops
   DNS-rebinding pages from talking to a server on loopback.
2. State-changing requests (POST, PUT, PATCH, DELETE) and NiceGUI's socket.io path (pages
   write through it) must not come from another origin: an ``Origin`` header, when
   present, must name this very host (403 otherwise). Scripts send none.
3. The caller is identified from ``Authorization: Bearer <token>`` (an API token) or the
   signed session cookie (signed with the app's storage secret through itsdangerous,
   HttpOnly, SameSite=Lax, expiring). A bad bearer token is a 401. The cookie carries
   the user row's ``updated_at`` stamp of sign-in and counts only while the row still
   has it: a password or role change (or disabling) ends every session of that user.
   Checking it is the same single read that already loads the user: no write per
   request.
4. A state-changing API request authenticated by the cookie must echo the session's CSRF
   token in ``X-CSRF-Token`` (double submit: the token is also in a readable cookie).
5. Served on a non-loopback host, every page and API route needs a signed-in user
   (pages redirect to /login, the API answers 401); on loopback reads stay anonymous.

Roles are checked where the write happens:
:func:`chainatlas.web.api.auth.require_role` for API routes (it also documents the
security schemes in OpenAPI) and :func:`page_user` for page forms, whose writes travel
over the websocket.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from chainatlas.store.users import User, get_user, user_from_token
from chainatlas.web import state

SESSION_COOKIE = "chainatlas_session"
CSRF_COOKIE = "chainatlas_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_MAX_AGE = 12 * 3600
ALLOWED_HOSTS_ENV = "CHAINATLAS_ALLOWED_HOSTS"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SOCKET_PREFIX = "/_nicegui_ws"
#: Reachable without signing in on a non-loopback host: the sign-in form itself.
OPEN_PATHS = frozenset({"/login", "/favicon.ico"})
SIGN_IN_HINT = "Sign in, or send an API token (Authorization: Bearer <token>)."
_NOT_IN_HOST = frozenset("/?#@\\")
_SALT = "chainatlas-session"
_STATE_KEY = "chainatlas_identity"


@dataclass(frozen=True)
class Identity:
    """The caller of one request: a user (or None), how they proved it, the CSRF token."""

    user: User | None = None
    via: str = "anonymous"  # "session", "token" or "anonymous"
    csrf: str | None = None


ANONYMOUS = Identity()


def is_loopback(host: str) -> bool:
    """Whether a listen address or host name is loopback only."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass
class Policy:
    """What the middleware enforces for one served app."""

    allowed_hosts: frozenset[str]
    require_login: bool
    secret: Callable[[], str]
    max_age: int = SESSION_MAX_AGE
    _signer: URLSafeTimedSerializer | None = field(default=None, init=False, repr=False)

    def host_allowed(self, header: str) -> bool:
        """Whether a ``Host`` header names this server."""
        name = host_name(header)
        return name is not None and (name in self.allowed_hosts or is_loopback(name))

    def serializer(self) -> URLSafeTimedSerializer:
        """The signer of session cookies (the secret is read when first needed: an app
        that never sees a session never makes one)."""
        if self._signer is None:
            self._signer = URLSafeTimedSerializer(self.secret(), salt=_SALT)
        return self._signer


def allowed_hosts_env() -> frozenset[str]:
    """Host names from ``$CHAINATLAS_ALLOWED_HOSTS`` (comma-separated, lower case)."""
    raw = os.environ.get(ALLOWED_HOSTS_ENV, "")
    return frozenset(part.strip().lower().strip("[]").rstrip(".")
                     for part in raw.split(",") if part.strip())


def make_policy(host: str, secret: Callable[[], str]) -> Policy:
    """The policy of a server listening on ``host``: non-loopback needs sign-in."""
    listen = host.strip("[]").lower()
    names = set(allowed_hosts_env())
    if listen not in {"0.0.0.0", "::", ""}:  # a wildcard names no host a client would use
        names.add(listen)
    return Policy(frozenset(names), require_login=not is_loopback(host), secret=secret)


def host_name(header: str) -> str | None:
    """The host name of a ``Host`` header without its port (None when malformed)."""
    if not header or len(header) > 255:
        return None
    # A URL parser would quietly drop a '?…' or '#…' tail ("127.0.0.1#@evil.example"
    # would read as loopback): a host, a port and brackets never hold these.
    if any(ch in _NOT_IN_HOST or not ch.isprintable() or ch.isspace() for ch in header):
        return None
    try:
        parts = urlsplit(f"//{header}")
        name, _ = parts.hostname, parts.port  # .port raises on a bad port
    except ValueError:
        return None
    if not name or parts.username is not None or parts.path:
        return None
    return name.rstrip(".").lower()


def origin_ok(origin: str | None, host: str) -> bool:
    """A request's ``Origin`` is absent (not a browser) or names this same host."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in {"http", "https"} and parts.netloc.lower() == host.lower()


# -- sessions ---------------------------------------------------------------------------


class Session(NamedTuple):
    """What a valid session cookie says: who, its CSRF token, the user row's stamp."""

    name: str
    csrf: str
    stamp: str


def new_session(policy: Policy, user: User) -> tuple[str, str]:
    """A signed session cookie value for ``user`` (bound to ``user.stamp``) and its CSRF
    token."""
    csrf = secrets.token_urlsafe(24)
    return policy.serializer().dumps({"u": user.name, "c": csrf, "g": user.stamp}), csrf


def read_session(policy: Policy, cookie: str) -> Session | None:
    """The :class:`Session` of a valid, unexpired session cookie; None otherwise (also for
    cookies from before sessions carried a stamp)."""
    try:
        data = policy.serializer().loads(cookie, max_age=policy.max_age)
    except BadSignature:  # also covers an expired signature
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "ucg"):
        return None
    return Session(data["u"], data["c"], data["g"])


def set_session_cookies(response: Response, policy: Policy, user: User,
                        secure: bool) -> None:
    """Sign ``user`` in on ``response``: the HttpOnly session and the readable CSRF cookie."""
    value, csrf = new_session(policy, user)
    response.set_cookie(SESSION_COOKIE, value, max_age=policy.max_age, httponly=True,
                        samesite="lax", secure=secure, path="/")
    # Readable by the page's scripts on purpose: they echo it in X-CSRF-Token.
    response.set_cookie(CSRF_COOKIE, csrf, max_age=policy.max_age, httponly=False,
                        samesite="lax", secure=secure, path="/")


def clear_session_cookies(response: Response) -> None:
    """Sign out on ``response``."""
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def identify(policy: Policy, headers: Headers, cookies: dict[str, str]) -> Identity | None:
    """Who sent a request (reads the store); None for a bearer token that is not valid."""
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        with state.request_db() as db:
            user = user_from_token(db, token.strip())
        return None if user is None else Identity(user, "token")
    cookie = cookies.get(SESSION_COOKIE)
    session = read_session(policy, cookie) if cookie else None
    if session is None:
        return ANONYMOUS
    with state.request_db() as db:
        user = get_user(db, session.name)
    # Disabled, or changed (password, role) since sign-in: anonymous again.
    if user is None or user.stamp != session.stamp:
        return ANONYMOUS
    return Identity(user, "session", session.csrf)


def csrf_ok(identity: Identity, sent: str | None) -> bool:
    """A cookie-authenticated write echoes its session's CSRF token; others need none."""
    if identity.via != "session":
        return True
    return sent is not None and identity.csrf is not None \
        and hmac.compare_digest(sent.encode(), identity.csrf.encode())


_policy: dict[str, Policy] = {}


def install(policy: Policy) -> None:
    """Enforce ``policy`` from the next request on (create_app calls it)."""
    _policy["current"] = policy


def current_policy() -> Policy | None:
    """The policy in force (None before create_app)."""
    return _policy.get("current")


# -- the middleware ---------------------------------------------------------------------


def _is_json_path(path: str) -> bool:
    # Imported here: the API package imports this module (its routes check roles).
    from chainatlas.web.api.common import JSON_PREFIXES

    return path.startswith(JSON_PREFIXES)


def _refusal(scope: Scope, status: int, message: str) -> Response:
    from chainatlas.web.api.common import error_response

    if status == 401 and _is_json_path(scope["path"]):
        response = error_response(401, "Unauthorized", message)
        response.headers["WWW-Authenticate"] = "Bearer"  # the scheme a script can use
        return response
    if status == 401 and scope["type"] == "http" and not scope["path"].startswith(
            SOCKET_PREFIX):
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return error_response(status, {400: "BadRequest", 401: "Unauthorized",
                                       403: "Forbidden"}.get(status, "Error"), message)


class AuthMiddleware:
    """The checks of this module's docstring, in that order, for every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check one request or websocket handshake, then pass it on or refuse it."""
        policy = current_policy()
        if scope["type"] not in {"http", "websocket"} or policy is None:
            await self.app(scope, receive, send)
            return
        refusal, identity = await self._check(policy, scope)
        if refusal is not None:
            if scope["type"] == "websocket":  # closing before accept refuses the handshake
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _refusal(scope, *refusal)(scope, receive, send)
            return
        scope.setdefault("state", {})[_STATE_KEY] = identity
        await self.app(scope, receive, send)

    @staticmethod
    async def _check(policy: Policy, scope: Scope) -> tuple[tuple[int, str] | None, Identity]:
        headers = Headers(scope=scope)
        host, path = headers.get("host", ""), str(scope["path"])
        if not policy.host_allowed(host):
            return (400, "Invalid Host header: this server does not answer for that name "
                         f"(add it to ${ALLOWED_HOSTS_ENV})."), ANONYMOUS
        writes = scope["type"] == "websocket" or scope.get("method") in UNSAFE_METHODS \
            or path.startswith(SOCKET_PREFIX)
        if writes and not origin_ok(headers.get("origin"), host):
            return (403, "Cross-origin request refused (Origin does not match Host)."), \
                ANONYMOUS
        identity = await _identity(policy, headers)
        if identity is None:
            return (401, "Invalid or revoked API token."), ANONYMOUS
        if writes and _is_json_path(path) and not csrf_ok(identity, headers.get(CSRF_HEADER)):
            return (403, f"Missing or wrong {CSRF_HEADER} header (the value of the "
                         f"{CSRF_COOKIE} cookie)."), identity
        if policy.require_login and identity.user is None and path not in OPEN_PATHS:
            return (401, f"{SIGN_IN_HINT} This server is not on loopback: reading needs "
                         "a signed-in user too."), identity
        return None, identity


async def _identity(policy: Policy, headers: Headers) -> Identity | None:
    from starlette.requests import cookie_parser

    cookies = cookie_parser(headers.get("cookie", ""))
    if "authorization" not in headers and SESSION_COOKIE not in cookies:
        return ANONYMOUS  # no credentials: no store lookup
    # A store lookup: off the event loop, like every other query of the app.
    return await run_in_threadpool(identify, policy, headers, cookies)


def request_identity(request: Request) -> Identity:
    """The caller the middleware identified for this request (anonymous without it)."""
    found = request.scope.get("state", {}).get(_STATE_KEY)
    return found if isinstance(found, Identity) else ANONYMOUS


def page_user(request: Request) -> User | None:
    """The signed-in user of a page, checked against the store now (call off the loop):
    a page's forms write over the websocket, long after the page request."""
    policy = current_policy()
    if policy is None:
        return None
    found = identify(policy, request.headers, dict(request.cookies))
    return None if found is None else found.user
