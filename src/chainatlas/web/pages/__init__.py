"""The web app's pages (NiceGUI). ``register_pages()`` defines every page route.

Pages call the analysis and recommendation functions directly, on a per-call store cursor
(:func:`chainatlas.web.state.request_db`); the REST API serves the same data as JSON.
"""

from __future__ import annotations

from nicegui import ui

from chainatlas.web.pages import atlas, chain, firm, leaders, overview, recommend

#: Every page path, for navigation tests and the browser test.
PAGE_PATHS = ("/", "/chain", "/map", "/recommend", "/leaders", "/firm")


def register_pages() -> None:
    """Define every page with ``@ui.page``.

    Idempotent: ``ui.page`` replaces an earlier route of the same path, so calling this
    again (a second ``create_app()``, or each test's fresh app) redefines the same pages.
    """

    @ui.page("/")
    async def overview_page() -> None:
        """总览."""
        await overview.page().show()

    @ui.page("/chain")
    async def chain_page() -> None:
        """产业链全景图谱."""
        await chain.page().show()

    @ui.page("/map")
    async def map_page() -> None:
        """招商地图."""
        await atlas.page().show()

    @ui.page("/recommend")
    async def recommend_page() -> None:
        """精准招商."""
        await recommend.page().show()

    @ui.page("/leaders")
    async def leaders_page() -> None:
        """链主企业."""
        await leaders.page().show()

    @ui.page("/firm")
    async def firm_index_page() -> None:
        """企业画像: the region's firms."""
        await firm.index_page().show()

    @ui.page("/firm/{company_id}")
    async def firm_page(company_id: str) -> None:
        """企业画像 of one firm."""
        await firm.page(company_id).show()
