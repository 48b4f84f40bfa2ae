"""链主 (/leaders): the firms that anchor the chain, nationally and in the region.

Each component shows its value × weight = points and the raw figure behind it (the
record's ``explain`` rows), and each firm its risk flags (the score is already multiplied
by the risk factor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nicegui import ui

from chainatlas.analysis import leaders as leader_scores
from chainatlas.analysis.weights import LEADER_WEIGHTS
from chainatlas.web import charts
from chainatlas.web.pages.layout import Frame, Selection
from chainatlas.web.pages.widgets import (
    capital_zh,
    echart,
    empty_note,
    explain_lines,
    link_table,
    load_cached,
    number_zh,
    section,
)

LEADER_LABELS = leader_scores.LABELS_ZH
TOP = 10
COLUMNS: list[dict[str, Any]] = [
    {"name": "rank", "label": "#", "field": "rank"},
    {"name": "name", "label": "企业", "field": "name", "align": "left"},
    {"name": "code", "label": "股票代码", "field": "code"},
    {"name": "score", "label": "链主得分", "field": "score"},
    *({"name": key, "label": f"{label}（权重 {LEADER_WEIGHTS[key]:.0%}）", "field": key,
       "wrap": True} for key, label in LEADER_LABELS.items()),
    {"name": "risk", "label": "风险提示", "field": "risk", "wrap": True},
    {"name": "employees", "label": "员工", "field": "employees"},
    {"name": "capital", "label": "注册资本", "field": "capital"},
    {"name": "nodes", "label": "主营环节", "field": "nodes", "wrap": True}]


def component_cells(explain: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """component -> "value × weight = points（raw figure）", one cell per component."""
    return {str(row["component"]): line
            for row, line in zip(explain, explain_lines(explain), strict=True)}


def risk_cell(record: Mapping[str, Any]) -> str:
    """The record's risk flags with the factor its score took, or — with none."""
    risk = record.get("risk") or {}
    flags = str(risk.get("flags_zh") or "")
    if not risk.get("flags"):
        return flags or "—"  # a lifted warning is named, though it costs nothing
    return f"{flags}（得分 × {float(risk.get('factor', 1.0)):.1f}）"


def leader_rows(leaders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows for chain_leaders entries."""
    return [{"company_id": r["company_id"], "rank": r["rank"],
             "name": str(r["short_name"] or r["full_name"] or r["company_id"]),
             "code": r.get("stock_code") or "—", "score": f"{float(r['score']):.3f}",
             **component_cells(r.get("explain") or []), "risk": risk_cell(r),
             "capital": capital_zh(r["raw"].get("registered_capital")),
             "employees": number_zh(r["raw"].get("employees"), " 人"),
             "nodes": r.get("nodes") or "—"} for r in leaders]


def _panel(title: str, subtitle: str, leaders: list[dict[str, Any]], marker: str) -> None:
    with section(title, subtitle).classes("w-full"):
        if not leaders:
            empty_note("暂无链上企业")
            return
        echart(charts.component_bars_option(leaders, list(LEADER_LABELS), LEADER_LABELS,
                                            LEADER_WEIGHTS, name_key="short_name"),
               48 + 30 * len(leaders), marker=f"{marker}-bars")
        link_table(COLUMNS, leader_rows(leaders), page=TOP, marker=f"{marker}-table")


async def _body(selection: Selection) -> None:
    data = await load_cached(leader_scores.chain_leaders, selection.chain, selection.region, TOP,
                             universe=selection.universe)
    ui.label(f"{data['method_zh']}各项为{data['universe_zh']}中的全国数值，本地与全国可比"
             f"（{data['coverage_zh']}）。{data['risk_note_zh']}。").classes("ca-note")
    # One panel under the other: the component columns carry their raw figures and need
    # the page's width.
    with ui.column().classes("w-full gap-4"):
        _panel("全国链主企业", f"{data['chain_name']}产业链 · {data['universe_zh']} · 全国前 {TOP}",
               data["national"], "national")
        _panel(f"{selection.region.name}链主企业", f"{data['universe_zh']} · 本地前 {TOP}",
               data.get("local", []), "local")


def page() -> Frame:
    """The leaders page's frame."""
    return Frame("/leaders", "链主企业", _body)
