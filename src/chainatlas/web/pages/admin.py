"""管理 (/admin): the users and the audit log, read-only, for admins only.

Users are added, disabled and given tokens with ``chainatlas users``; this page shows
who exists and who changed what (the audit log), newest first.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from chainatlas.store import Database
from chainatlas.store.audit import audit_rows
from chainatlas.store.users import User, list_users
from chainatlas.web import auth
from chainatlas.web.pages.layout import CSS
from chainatlas.web.pages.widgets import data_table, empty_note, load, section

AUDIT_SHOWN = 200
ROLE_ZH = {"viewer": "只读", "analyst": "分析员", "admin": "管理员"}
ACTION_ZH = {"correction.add": "环节校正", "user.add": "新增用户", "user.password": "修改密码",
             "user.role": "修改角色", "user.disable": "停用用户", "user.enable": "启用用户",
             "token.issue": "签发令牌", "token.revoke": "吊销令牌", "roster.import": "名录导入",
             "auth.sign_in": "登录", "auth.lockout": "登录锁定",
             "auth.sign_out": "退出登录"}


def admin_view(db: Database) -> dict[str, list[dict[str, Any]]]:
    """The page's rows: users (never hashes) and the newest audit lines, as text."""
    users = [{"name": u["name"], "role": ROLE_ZH.get(str(u["role"]), str(u["role"])),
              "disabled": "已停用" if u["disabled"] else "正常",
              "created": str(u["created_at"])[:19], "tokens": int(u["tokens"])}
             for u in list_users(db)]
    audit = [{"id": r["id"], "at": str(r["at"])[:19], "actor": r["actor"],
              "action": ACTION_ZH.get(str(r["action"]), str(r["action"])),
              "target": r["target"], "before": _text(r["before"]), "after": _text(r["after"])}
             for r in audit_rows(db, limit=AUDIT_SHOWN)]
    return {"users": users, "audit": audit}


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return "，".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def gate(request: Request, role: str, path: str) -> tuple[User | None, Response | None]:
    """The page's user when they hold ``role``; else a redirect to sign in (anonymous)
    or None with no redirect (signed in, role too low: the page says so)."""
    user = auth.request_identity(request).user
    if user is None:
        return None, RedirectResponse(f"/login?next={path}", status_code=303)
    return (user if user.can(role) else None), None


def register() -> None:
    """Define the /admin page."""
    @ui.page("/admin")
    async def admin_page(request: Request) -> Response | None:
        """管理：用户与审计日志."""
        user, redirect = gate(request, "admin", "/admin")
        if redirect is not None:
            return redirect
        ui.add_css(CSS)
        ui.page_title("管理 · ChainAtlas 产业链招商图谱")
        with ui.column().classes("w-full px-5 py-4 gap-4"):
            with ui.row().classes("items-center gap-4"):
                ui.label("管理：用户与审计日志").classes("ca-title")
                ui.link("返回首页", "/").classes("ca-link")
                ui.link("我的账号", "/account").classes("ca-link")
            if user is None:
                empty_note("需要管理员权限")
                return None
            await _tables()
        return None


async def _tables() -> None:
    view = await load(admin_view)
    with section("用户", "用 chainatlas users add / disable / token 管理"):
        data_table([{"name": k, "label": v, "field": k} for k, v in (
            ("name", "用户名"), ("role", "角色"), ("disabled", "状态"),
            ("created", "创建时间 (UTC)"), ("tokens", "有效令牌"))],
            view["users"], "name", marker="admin-users")
    with section("审计日志", f"最近 {AUDIT_SHOWN} 条，最新在前"):
        data_table([{"name": k, "label": v, "field": k, "wrap": k in {"before", "after"}}
                    for k, v in (("at", "时间 (UTC)"), ("actor", "操作人"), ("action", "操作"),
                                 ("target", "对象"), ("before", "修改前"), ("after", "修改后"))],
                   view["audit"], "id", page=20, marker="admin-audit")
