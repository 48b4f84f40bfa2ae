"""How pages write: as the signed-in analyst, checked against the store at submit time.

A form's events arrive over the websocket, where no middleware sees a role, so every page
write goes through :func:`write_as_page_user`; :func:`page_write` runs it off the event
loop and turns a refusal into a notice, and :func:`sign_in_note` is what a viewer sees in
place of the forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import run, ui
from starlette.requests import Request

from chainatlas.errors import ChainAtlasError, ForbiddenError
from chainatlas.store import Database
from chainatlas.store.users import User
from chainatlas.web import auth
from chainatlas.web.state import write_db

WRITER_ROLE = "analyst"
NO_RIGHT = "需要分析员或管理员账号：请先登录"


def page_writer(request: Request) -> User | None:
    """The page request's user when they may change projects."""
    user = auth.request_identity(request).user
    return user if user is not None and user.can(WRITER_ROLE) else None


def write_as_page_user(request: Request,
                       action: Callable[[Database, str], dict[str, Any]]) -> dict[str, Any]:
    """Run ``action(db, actor)`` as the page's signed-in user, checked against the store
    now (a form's events come over the websocket, where no middleware sees a role)."""
    user = auth.page_user(request)
    if user is None or not user.can(WRITER_ROLE):
        raise ForbiddenError(NO_RIGHT)
    with write_db() as db:  # the one way the web app writes
        return action(db, user.name)


async def page_write(action: Callable[[Database, str], dict[str, Any]],
                     failed: str = "未保存") -> dict[str, Any] | None:
    """Run ``action(db, actor)`` as the page's analyst in a worker thread; None when it
    was refused (said in a ``failed：…`` notice) or the app is shutting down."""
    try:
        done: dict[str, Any] | None = await run.io_bound(
            write_as_page_user, ui.context.client.request, action)
    except ChainAtlasError as exc:
        ui.notify(f"{failed}：{exc}", type="negative")
        return None
    return done


def sign_in_note(marker: str, back: str, text: str = NO_RIGHT) -> None:
    """What a viewer sees instead of the forms: ``text`` and a sign-in link back to
    ``back``."""
    with ui.row().classes("items-center gap-2").mark(marker):
        ui.label(text).classes("ca-muted")
        ui.link("登录", f"/login?next={back}")
