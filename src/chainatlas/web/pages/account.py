"""我的账号 (/account) and the header's account menu (登录 / 用户名 · 退出)."""

from __future__ import annotations

from nicegui import ui
from starlette.requests import Request
from starlette.responses import Response

from chainatlas.web import auth
from chainatlas.web.pages.admin import ROLE_ZH, gate
from chainatlas.web.pages.layout import CSS


def account_menu() -> None:
    """The header's account corner (for layout's header): a sign-in link, or the user's
    name linking to /account. Call inside the header row."""
    user = auth.request_identity(ui.context.client.request).user
    if user is None:
        ui.link("登录", "/login").classes("ca-nav").mark("account-sign-in")
    else:
        ui.link(f"{user.name}（{ROLE_ZH.get(user.role, user.role)}）", "/account") \
            .classes("ca-nav").mark("account-menu")


def register() -> None:
    """Define the /account page."""
    @ui.page("/account")
    async def account_page(request: Request) -> Response | None:
        """我的账号：用户名、角色、退出登录."""
        user, redirect = gate(request, "viewer", "/account")
        if redirect is not None or user is None:
            return redirect
        ui.add_css(CSS)
        ui.page_title("我的账号 · ChainAtlas 产业链招商图谱")
        with ui.column().classes("w-full px-5 py-4 gap-3"):
            ui.label("我的账号").classes("ca-title")
            ui.label(f"用户名：{user.name}").mark("account-name")
            ui.label(f"角色：{ROLE_ZH.get(user.role, user.role)}").mark("account-role")
            with ui.row().classes("gap-4"):
                ui.link("返回首页", "/").classes("ca-link")
                if user.can("admin"):
                    ui.link("管理", "/admin").classes("ca-link")
                ui.link("退出登录", "/logout").classes("ca-link").mark("account-logout")
        return None
