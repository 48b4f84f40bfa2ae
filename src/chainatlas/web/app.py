"""The web app: NiceGUI pages and the REST API in one FastAPI process.

NiceGUI's ``app`` *is* a FastAPI instance. :func:`create_app` puts ChainAtlas on it (the
store, the API and geo routes, the error handlers, the OpenAPI document, the pages) and
:func:`serve` runs it. Swagger UI and ReDoc are not served: their pages load scripts from
a CDN and the app must not reach outside the server. ``/openapi.json`` is served.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import secrets
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from chainatlas.config import default_db_path, home_dir, secret_from_env
from chainatlas.errors import ChainAtlasError
from chainatlas.store import Database
from chainatlas.web import api, auth, state

log = logging.getLogger("chainatlas.web")

TITLE = "ChainAtlas 产业链招商图谱"
SECRET_FILE = "web-secret"

Handler = Callable[[Request, Any], Awaitable[Response]]


def _is_json_path(request: Request) -> bool:
    return request.url.path.startswith(api.JSON_PREFIXES)


async def _library_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ChainAtlasError)
    if exc.status_code >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    return api.library_error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return api.validation_error_response(exc)


def _http_error(fallback: Handler) -> Handler:
    """JSON errors for the API's paths; ``fallback`` (NiceGUI's pages) for the rest."""

    async def handler(request: Request, exc: Any) -> Response:
        if _is_json_path(request) and isinstance(exc, HTTPException):
            message = str(exc.detail) if exc.detail else "Error"
            response = api.error_response(exc.status_code, "HTTPError", message)
            # Allow (405) and WWW-Authenticate (401) belong to the answer: keep them.
            response.headers.update(exc.headers or {})
            return response
        return await fallback(request, exc)

    handler.chainatlas = True  # type: ignore[attr-defined]  # marks our wrapper
    return handler


def _server_error(fallback: Handler | None) -> Handler:
    """A generic JSON 500 for the API's paths; NiceGUI's error page for the rest."""

    async def handler(request: Request, exc: Any) -> Response:
        if _is_json_path(request) or fallback is None:
            log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
            return api.internal_error_response()
        return await fallback(request, exc)

    handler.chainatlas = True  # type: ignore[attr-defined]
    return handler


def _wrap(app: FastAPI, key: int | type[Exception],
          make: Callable[[Any], Handler], default: Handler | None) -> None:
    current = app.exception_handlers.get(key, default)
    if not getattr(current, "chainatlas", False):  # wrap NiceGUI's once, never our own
        app.exception_handlers[key] = make(current)


def register_error_handlers(app: FastAPI) -> None:
    """Library errors, bad parameters, unknown API paths and crashes as JSON errors."""
    app.exception_handlers[ChainAtlasError] = _library_error
    app.exception_handlers[RequestValidationError] = _validation_error
    # NiceGUI answers 404 with its page (int key, looked up before exception classes).
    _wrap(app, 404, _http_error, http_exception_handler)
    _wrap(app, HTTPException, _http_error, http_exception_handler)
    _wrap(app, Exception, _server_error, None)
    app.middleware_stack = None  # handlers are read when the stack is built


def _has_router(app: FastAPI, router: Any) -> bool:
    endpoints = {getattr(r, "endpoint", None) for r in router.routes} - {None}
    return any(getattr(route, "original_router", None) is router
               or getattr(route, "endpoint", None) in endpoints for route in app.routes)


async def _openapi(_: Request) -> Response:
    return api.ApiJSONResponse(api.openapi_document())


def _register_pages() -> None:
    # Looked up by name: the pages are built separately and the API works without them.
    try:
        pages = importlib.import_module("chainatlas.web.pages")
    except ImportError as exc:
        log.info("web pages not available (%s); serving the API only", exc)
        return
    register: Callable[[], object] | None = getattr(pages, "register_pages", None)
    if register is None:
        log.info("chainatlas.web.pages has no register_pages(); serving the API only")
        return
    register()


def _open_store(db_path: str | Path | None, db: Database | None) -> None:
    if db is not None:
        state.use_store(db)
    elif db_path is not None:
        state.open_web_store(db_path)
    elif not state.served():
        state.open_web_store(default_db_path())


def session_secret() -> str:
    """The secret signing session cookies: NiceGUI's storage secret once ``ui.run`` set
    it, else the same one :func:`storage_secret` keeps."""
    from nicegui.storage import Storage

    return Storage.secret or storage_secret()


def _install_auth(app: FastAPI, host: str) -> None:
    auth.install(auth.make_policy(host, session_secret))
    if not any(getattr(m, "cls", None) is auth.AuthMiddleware for m in app.user_middleware):
        app.middleware_stack = None  # the stack is rebuilt on the next request
        app.add_middleware(auth.AuthMiddleware)


def _register_auth_pages() -> None:
    # The sign-in form and the admin and account pages; looked up by name like the others.
    for name in ("login", "admin", "account"):
        try:
            module = importlib.import_module(f"chainatlas.web.pages.{name}")
        except ImportError as exc:
            log.info("page module %s not available (%s)", name, exc)
            continue
        module.register()


def create_app(db_path: str | Path | None = None, db: Database | None = None, *,
               host: str = "127.0.0.1") -> FastAPI:
    """Set up NiceGUI's app for ChainAtlas and return it.

    ``db`` (an open store) wins over ``db_path``; with neither, the store already served
    is kept, else the default store is opened ($CHAINATLAS_DB or the user data dir).
    ``host`` is the address served on: it sets the Host names answered and whether reads
    need a signed-in user (:mod:`chainatlas.web.auth`).
    Idempotent: routes and pages are added once per app, handlers are set, not stacked.
    """
    from nicegui import app

    _open_store(db_path, db)
    _install_auth(app, host)
    register_error_handlers(app)
    fresh = not _has_router(app, api.router)
    if fresh:
        app.include_router(api.router)
        app.include_router(api.geo_router)
        app.add_route("/openapi.json", _openapi, methods=["GET"], include_in_schema=False)
        _register_pages()
        _register_auth_pages()
    app.openapi_schema = None
    return app


def serve_check(db: Database, host: str) -> str | None:
    """Refuse a non-loopback ``host`` while the store has no enabled user (a clean
    :class:`ChainAtlasError` saying how to add the first admin); otherwise the warning to
    print for a non-loopback host, None on loopback."""
    from chainatlas.store.users import user_count

    if auth.is_loopback(host):
        return None
    if user_count(db) == 0:
        raise ChainAtlasError(
            f"Refusing to serve on {host}: the store has no users, so anyone on the network "
            "could write. Add the first admin with 'chainatlas users add NAME --role "
            "admin', or serve on 127.0.0.1.")
    names = sorted(auth.make_policy(host, str).allowed_hosts)
    return (f"Warning: serving on {host}, reachable from the network. Every page and API "
            "route needs a signed-in user. Host names answered: loopback"
            f"{''.join(', ' + n for n in names)}; set ${auth.ALLOWED_HOSTS_ENV}=name1,name2 "
            "to the names clients use.")


def storage_secret() -> str:
    """The secret signing browser storage: $CHAINATLAS_SECRET, else one made once and kept
    under $CHAINATLAS_HOME (so sessions survive restarts)."""
    env = secret_from_env()
    if env:
        return env
    file = home_dir() / SECRET_FILE
    if file.is_file():
        kept = file.read_text(encoding="ascii").strip()
        if kept:
            return kept
    file.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    # Created readable by its owner only: the secret signs every browser session.
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value)
    return value


def run_options(host: str = "127.0.0.1", port: int = 8000) -> dict[str, Any]:
    """The keyword arguments of ``ui.run`` for ChainAtlas.

    ``proxy_headers`` off: uvicorn trusts X-Forwarded-For from loopback by default, which
    let any local client choose the address the sign-in throttle counts and the audit log
    names.
    """
    return {"host": host, "port": port, "title": TITLE, "reload": False, "show": False,
            "storage_secret": storage_secret(), "show_welcome_message": False,
            "proxy_headers": False}


def url(host: str, port: int) -> str:
    """The address to open in a browser."""
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    return f"http://{shown}:{port}/"


def warm_up() -> None:
    """Fill the slow caches (map boundaries ~2 s, search index ~0.5 s) of the served store."""
    from chainatlas.analysis.search import search_index
    from chainatlas.web import geo

    try:
        geo.warm_up()
        with state.request_db() as db:
            search_index(db)
    except Exception:  # a cache left cold is only slower: report it, serve on
        log.exception("warming the caches failed")
    # The boundaries, the search index and the loaded modules live as long as the server:
    # frozen, the collector's full passes (~200 ms each, stalling every page and request)
    # no longer walk them.
    gc.freeze()


def _keep_storage_at_home() -> None:
    """Keep NiceGUI's browser-session files under $CHAINATLAS_HOME, not in the folder the
    server was started from (unless NICEGUI_STORAGE_PATH says where)."""
    if "NICEGUI_STORAGE_PATH" in os.environ:
        return
    from nicegui import app
    from nicegui.storage import Storage

    Storage.path = (home_dir() / "nicegui").resolve()
    app.storage = Storage()  # its files are opened on creation: rebuild it on the new path


def serve(db_path: str | Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Open the store, print the URL and serve the app until interrupted."""
    from nicegui import ui

    _keep_storage_at_home()
    create_app(db_path, host=host)
    with state.request_db() as db:
        warning = serve_check(db, host)
    if warning:
        print(warning, flush=True)
    # Done before the first visitor asks, in the background so the server starts at once.
    threading.Thread(target=warm_up, name="chainatlas-warm-up", daemon=True).start()
    print(f"ChainAtlas 产业链招商图谱: {url(host, port)}  (API: {url(host, port)}api/v1/, "
          "Ctrl+C to stop)", flush=True)
    ui.run(**run_options(host, port))
