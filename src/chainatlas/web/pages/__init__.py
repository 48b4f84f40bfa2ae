"""The web app's pages (NiceGUI). ``register_pages()`` defines every page route.

Pages call the analysis and recommendation functions directly, on a per-call store cursor
(:func:`chainatlas.web.state.request_db`); the REST API serves the same data as JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from nicegui import ui

from chainatlas.web.pages import (
    atlas,
    chain,
    firm,
    intake,
    leaders,
    lists,
    national,
    overview,
    projects,
    recommend,
    resilience,
    targets,
)
from chainatlas.web.pages.layout import NAV


class _Page(Protocol):
    def show(self) -> Awaitable[None]: ...


#: Each navigation path's page builder.
_PAGES: dict[str, Callable[[], _Page]] = {
    "/": overview.page, "/chain": chain.page, "/map": atlas.page,
    "/recommend": recommend.page, "/resilience": resilience.page, "/leaders": leaders.page,
    "/firm": firm.index_page, "/lists": lists.page, "/projects": projects.page,
    "/targets": targets.page, "/intake": intake.page, "/national": national.page,
}

#: Every page path, for navigation tests and the browser test.
PAGE_PATHS = tuple(path for path, _, _ in NAV)


def _route(make: Callable[[], _Page]) -> Callable[[], Awaitable[None]]:
    async def handler() -> None:
        await make().show()
    return handler


def register_pages() -> None:
    """Define every page with ``@ui.page``.

    Idempotent: ``ui.page`` replaces an earlier route of the same path, so calling this
    again (a second ``create_app()``, or each test's fresh app) redefines the same pages.
    """
    for path in PAGE_PATHS:
        ui.page(path)(_route(_PAGES[path]))
    projects.register()  # /project/{id}

    # ":path": a firm without a USCC is keyed by its name, which may hold "/" (links quote
    # it as %2F, which the server decodes back to "/" before routing).
    @ui.page("/firm/{company_id:path}")
    async def firm_page(company_id: str) -> None:
        """企业画像 of one firm."""
        await firm.page(company_id).show()
