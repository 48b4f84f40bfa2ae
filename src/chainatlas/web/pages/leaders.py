"""链主 (/leaders): the firms that anchor the chain, nationally and in the region."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from chainatlas.analysis import leaders as leader_scores
from chainatlas.web import charts
from chainatlas.web.pages.layout import Frame, Selection
from chainatlas.web.pages.widgets import (
    capital_zh,
    echart,
    empty_note,
    link_table,
    load_cached,
    number_zh,
    section,
)

LEADER_LABELS = {"scale": "规模", "breadth": "覆盖广度", "centrality": "供应链中心度"}
TOP = 10
COLUMNS: list[dict[str, Any]] = [
    {"name": "rank", "label": "#", "field": "rank"},
    {"name": "name", "label": "企业", "field": "name", "align": "left"},
    {"name": "code", "label": "股票代码", "field": "code"},
    {"name": "score", "label": "链主得分", "field": "score"},
    {"name": "capital", "label": "注册资本", "field": "capital"},
    {"name": "employees", "label": "员工", "field": "employees"},
    {"name": "nodes", "label": "所在环节", "field": "nodes", "wrap": True}]


def leader_rows(leaders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows for chain_leaders entries."""
    return [{"company_id": r["company_id"], "rank": r["rank"],
             "name": str(r["short_name"] or r["full_name"] or r["company_id"]),
             "code": r.get("stock_code") or "—", "score": f"{float(r['score']):.3f}",
             "capital": capital_zh(r["raw"].get("registered_capital")),
             "employees": number_zh(r["raw"].get("employees"), " 人"),
             "nodes": r.get("nodes") or "—"} for r in leaders]


def _panel(title: str, subtitle: str, leaders: list[dict[str, Any]], marker: str) -> None:
    with section(title, subtitle).classes("ca-f1"):
        if not leaders:
            empty_note("暂无链上企业")
            return
        echart(charts.component_bars_option(leaders, list(LEADER_LABELS), LEADER_LABELS,
                                            leader_scores.WEIGHTS, name_key="short_name"),
               48 + 30 * len(leaders), marker=f"{marker}-bars")
        link_table(COLUMNS, leader_rows(leaders), page=TOP, marker=f"{marker}-table")


async def _body(selection: Selection) -> None:
    data = await load_cached(leader_scores.chain_leaders, selection.chain, selection.region, TOP,
                      universe=selection.universe)
    weights = "、".join(f"{LEADER_LABELS[k]} {v:.0%}" for k, v in leader_scores.WEIGHTS.items())
    ui.label(f"链主得分 = {weights}；各项为{data['universe_zh']}中的全国百分位，本地与全国可比"
             f"（{data['coverage_zh']}）。").classes("ca-note")
    with ui.row().classes("w-full gap-4 flex-nowrap items-start"):
        _panel("全国链主企业", f"{data['chain_name']}产业链 · {data['universe_zh']} · 全国前 {TOP}",
               data["national"], "national")
        _panel(f"{selection.region.name}链主企业", f"{data['universe_zh']} · 本地前 {TOP}",
               data.get("local", []), "local")


def page() -> Frame:
    """The leaders page's frame."""
    return Frame("/leaders", "链主企业", _body)
