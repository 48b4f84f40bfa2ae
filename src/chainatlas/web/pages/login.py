"""登录 / 退出 (/login, /logout): small server-rendered forms, not NiceGUI pages.

Signing in must answer with a ``Set-Cookie`` header (the HttpOnly session), which a
NiceGUI event over the websocket cannot do; a plain form POST can, and works without
JavaScript. Every value shown is HTML-escaped; ``next`` only ever leads back into this
site.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from chainatlas.store.users import User, verify_password
from chainatlas.web import auth, state

#: A sign-in form is a few hundred bytes; refuse bodies far past that unread.
MAX_FORM_BYTES = 8192
_STYLE = """body{font-family:"PingFang SC","Microsoft YaHei",sans-serif;background:#F2F5F9;
margin:0;color:#1F2937}.box{max-width:360px;margin:12vh auto;background:#fff;padding:28px;
border-radius:10px;box-shadow:0 1px 3px rgba(15,35,70,.12)}h1{font-size:20px;color:#0F2F57}
label{display:block;margin:12px 0 4px;font-size:14px}input{width:100%;padding:8px;
box-sizing:border-box;border:1px solid #CBD5E1;border-radius:6px}button{margin-top:18px;
width:100%;padding:10px;background:#1F5FAD;color:#fff;border:0;border-radius:6px;
font-size:15px}.err{color:#B42318;font-size:14px}.muted{color:#6B7280;font-size:12px}"""


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
    """The fields of a small urlencoded form (first value each); None when too large."""
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return {key: values[0] for key, values in fields.items() if values}


def _check(name: str, password: str) -> User | None:
    with state.request_db() as db:
        return verify_password(db, name, password)


async def get_login(request: Request) -> Response:
    """GET /login."""
    return login_form(request.query_params.get("next", "/"))


async def post_login(request: Request) -> Response:
    """POST /login: sign in and go on to ``next``, or show the form again (401)."""
    form = await read_form(request)
    if form is None:
        return login_form(error="请求过大", status=413)
    name, target = form.get("name", "").strip(), safe_next(form.get("next"))
    policy = auth.current_policy()
    user = await run_in_threadpool(_check, name, form.get("password", "")) \
        if name and policy is not None else None
    if user is None or policy is None:
        return login_form(target, "用户名或密码错误，或账号已停用", 401, name)
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
    response = RedirectResponse("/login", status_code=303)
    auth.clear_session_cookies(response)
    return response


def register() -> None:
    """Add the /login and /logout routes to NiceGUI's app (outside the OpenAPI document:
    they are forms for people, not API)."""
    from nicegui import app

    for path, get, post in (("/login", get_login, post_login),
                            ("/logout", get_logout, post_logout)):
        app.add_api_route(path, get, methods=["GET"], include_in_schema=False)
        app.add_api_route(path, post, methods=["POST"], include_in_schema=False)
