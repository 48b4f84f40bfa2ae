"""Building blocks the pages share: store access, cards, chips, tables, maps, text.

Everything shown comes from the store and may contain markup (firm and product names are
untrusted), so text goes through ``ui.label`` and table cells, which render it as text;
nothing here puts data into ``ui.html``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from nicegui import Client, run, ui

from chainatlas.store import Database
from chainatlas.web import charts
from chainatlas.web.cache import cached
from chainatlas.web.state import request_db

T = TypeVar("T")

LABEL_COLOURS = {"补链": "#C8102E", "延链": "#1D4F91", "强链": "#2E9D5B"}
LABEL_HINTS = {"补链": "补齐本地链条缺口", "延链": "向上下游延伸", "强链": "做大做强已有基础"}


async def load(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(db, *args, **kwargs)`` on a fresh store cursor in a worker thread.

    Queries take up to a few hundred milliseconds; running them off the event loop keeps
    every other open page responsive meanwhile.
    """
    def work() -> T:
        with request_db() as db:
            return fn(db, *args, **kwargs)
    result = await run.io_bound(work)
    if result is None:
        # io_bound gives None only while the app shuts down: end the task quietly
        raise asyncio.CancelledError
    return result


async def load_cached(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """As :func:`load`, through the store-versioned cache the API shares
    (:func:`chainatlas.web.cache.cached`): the result must not be changed."""
    return await load(functools.partial(cached, fn), *args, **kwargs)


def with_db(fn: Callable[[Database], T]) -> T:
    """Run ``fn(db)`` on a fresh store cursor, on the calling thread.

    Not for page code on the event loop (use :func:`load`): a query there, however
    small, waits for the store while every other page and request waits for it.
    """
    with request_db() as db:
        return fn(db)


# -- text -------------------------------------------------------------------------------
def capital_zh(wan: Any) -> str:
    """Registered capital (万元) as Chinese text: 12.3 亿元, 5,000 万元, or —."""
    if wan is None:
        return "—"
    try:
        value = float(wan)
    except (TypeError, ValueError):
        return "—"
    if value != value:  # NaN
        return "—"
    return f"{value / 10000:,.1f} 亿元" if value >= 10000 else f"{value:,.0f} 万元"


def explain_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """A score's explanation, a line per component: 匹配度 0.82 × 0.25 = 0.21（置信度 0.82）
    (value × weight = points, then the raw figure), from ``explain`` rows."""
    return [f"{r['label_zh']} {float(r['value']):.2f} × {float(r['weight']):.2f} = "
            f"{float(r['points']):.2f}" + (f"（{r['raw_zh']}）" if r.get("raw_zh") else "")
            for r in rows]


def number_zh(value: Any, unit: str = "") -> str:
    """An integer with thousands separators and a unit, or — when missing."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    return f"{int(value):,}{unit}"


# -- elements ---------------------------------------------------------------------------
def section(title: str, subtitle: str | None = None) -> ui.card:
    """A white card with a title bar; use it as a context manager."""
    card = ui.card().classes("ca-card w-full")
    with card, ui.row().classes("items-baseline gap-3 w-full"):
        ui.label(title).classes("ca-card-title")
        if subtitle:
            ui.label(subtitle).classes("ca-card-sub")
    return card


def stat_card(label: str, value: str, hint: str | None = None,
              colour: str = charts.PRIMARY) -> None:
    """A key figure: big number, label and a small hint."""
    with ui.card().classes("ca-card ca-stat"):
        ui.label(value).classes("ca-stat-value").style(f"color:{colour}")
        ui.label(label).classes("ca-stat-label")
        if hint:
            ui.label(hint).classes("ca-stat-hint")


def chip(text: str, colour: str, solid: bool = True, text_colour: str = "#FFFFFF") -> ui.label:
    """A small rounded tag."""
    style = (f"background:{colour};color:{text_colour}" if solid
             else f"color:{colour};border:1px solid {colour};background:#FFFFFF")
    return ui.label(text).classes("ca-chip").style(style)


def class_chip(cls: str) -> ui.label:
    """强 / 弱 / 缺 in the chain graph's colours."""
    return chip(f"{cls} · {charts.CLASS_NAMES.get(cls, '')}", charts.CLASS_COLOURS.get(cls, "#999"),
                text_colour=charts.CLASS_TEXT.get(cls, "#333"))


def label_chip(label: str) -> ui.label:
    """补链 / 延链 / 强链."""
    return chip(label, LABEL_COLOURS.get(label, "#6B7280")).tooltip(LABEL_HINTS.get(label, ""))


def class_legend() -> None:
    """The 强/弱/缺 colour legend."""
    with ui.row().classes("gap-2 items-center"):
        for cls in ("强", "弱", "缺"):
            class_chip(cls)


def echart(option: dict[str, Any], height: int, width: int | None = None,
           marker: str | None = None) -> ui.echart:
    """An ECharts element of a fixed height (and width, for pinned graphs)."""
    chart = ui.echart(option)
    size = f"height:{height}px;" + (f"width:{width}px;min-width:{width}px;" if width else
                                    "width:100%;")
    chart.style(size)
    if marker:
        chart.mark(marker)
    return chart


def explain_label(rows: Sequence[Mapping[str, Any]], marker: str = "explain") -> ui.label:
    """One label, a line per score component (:func:`explain_lines`): one element
    whatever the number of components, since cards are built on the shared event loop."""
    return ui.label("\n".join(explain_lines(rows))) \
        .classes("ca-muted whitespace-pre-line").mark(marker)


def empty_note(text: str) -> None:
    """A grey centred note for empty results."""
    ui.label(text).classes("ca-empty w-full")


def data_table(columns: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]],
               row_key: str, page: int = 10, marker: str | None = None) -> ui.table:
    """A compact table with Chinese pagination labels.

    Columns marked ``"wrap": True`` (long text: reasons, evidence) wrap; the others keep
    to one line, so short values like 河北省 never break in two.
    """
    cols = []
    for column in columns:
        col = dict(column)
        wrap = bool(col.pop("wrap", False))
        col.setdefault("style", "white-space:normal;min-width:160px" if wrap
                       else "white-space:nowrap")
        col.setdefault("align", "left" if wrap else "center")
        cols.append(col)
    table = ui.table(columns=cols, rows=[dict(r) for r in rows], row_key=row_key,
                     pagination=page if len(rows) > page else None)
    table.classes("ca-table w-full").props(
        'flat dense rows-per-page-label="每页" no-data-label="暂无数据" '
        ':rows-per-page-options="[10,20,50,0]"')
    table.props[":pagination-label"] = "(a, b, n) => a + '-' + b + ' / 共 ' + n + ' 条'"
    if marker:
        table.mark(marker)
    return table


def link_table(columns: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]],
               link_field: str = "name", row_key: str = "company_id", page: int = 10,
               marker: str | None = None) -> ui.table:
    """A table whose ``link_field`` cells link to /firm/<row_key> (text stays escaped)."""
    table = data_table(columns, rows, row_key, page, marker)
    return link_cells(table, link_field,
                      f"'/firm/' + encodeURIComponent(props.row.{row_key})")


def link_cells(table: ui.table, column: str, href: str = "props.row.href") -> ui.table:
    """Make ``column``'s cells links to ``href``, a JavaScript expression of the row
    (``props.row``); a cell whose href is empty stays plain text."""
    # {{ }} interpolation is text: Vue escapes it, so values with markup stay inert
    table.add_slot(f"body-cell-{column}", f"""
        <q-td :props="props">
          <a v-if="{href}" class="ca-link" :href="{href}">{{{{ props.value }}}}</a>
          <span v-else>{{{{ props.value }}}}</span>
        </q-td>""")
    return table


def register_map_js(name: str, url: str) -> str:
    """JavaScript that registers the GeoJSON at ``url`` as ECharts map ``name`` (once).

    It imports ECharts from NiceGUI's import map ("nicegui-echart") and reports 'ok' or
    the error as text, so a missing file never leaves the page waiting.
    """
    return ("(async () => { try { const m = await import('nicegui-echart'); "
            f"if (!m.echarts.getMap({json.dumps(name)})) {{ "
            f"const r = await fetch({json.dumps(url)}); "
            "if (!r.ok) { return 'HTTP ' + r.status; } "
            f"m.echarts.registerMap({json.dumps(name)}, await r.json()); }} "
            "return 'ok'; } catch (e) { return 'error: ' + e; } })() /* registerMap */")


async def ensure_map(name: str, url: str, client: Client | None = None) -> bool:
    """Register a map in the browser before any chart uses it; False when it failed.

    Pass ``client`` from event handlers whose element may have been replaced meanwhile
    (its slot, and so ``ui.context``, is gone then).
    """
    client = client or ui.context.client
    await client.connected()
    try:
        result = await client.run_javascript(register_map_js(name, url), timeout=20)
    except TimeoutError:
        return False
    return bool(result == "ok")


def china_map_url() -> str:
    """The provinces' GeoJSON, served by the web app (see chainatlas.web.geo)."""
    return "/geo/china.json"


def province_map_url(adcode: str) -> str:
    """The GeoJSON of one province's cities."""
    return f"/geo/province/{adcode}.json"
