"""The resilience analysis (韧性分析) as an Excel workbook, in the house style of
:mod:`chainatlas.recommend.excel` (its cell writer and table layout: strings never
evaluated as formulas, frozen headers, autofilters).

Sheets: 概要 (region, chain, level, universe, θ, the summary, the θ sensitivity, the
what-if's summary when one was run, what the data can and cannot show, the sources),
环节韧性 (one row per unit), 单点风险 (the single points of failure), 情景推演 (the
what-if per unit and per θ, only when something was removed) and 卡脖子 (the chain's
卡脖子 items with the region's local firms on their nodes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from chainatlas.analysis.resilience import THETAS
from chainatlas.analysis.resilience_views import (
    STATUS_HINTS_ZH,
    STATUS_ZH,
    firms_zh,
    removed_zh,
    theta_rows,
    unit_status,
    whatif_rows,
    whatif_units,
)
from chainatlas.recommend.excel import REGISTRY_SOURCE, SOURCES, Column, _put, _table

SHARE = "0.0%"
FIGURE = "0.000"

UNIT_COLUMNS: list[Column] = [
    ("名称", 26, None), ("编码", 18, None), ("所属环节", 18, None), ("韧性状态", 12, None),
    ("本地企业数", 10, "0"), ("本省企业数", 10, "0"), ("全国企业数", 10, "0"),
    ("上游投入数", 10, "0"), ("终端产品", 8, None), ("集中度 HHI（全国）", 12, FIGURE),
    ("本地 HHI", 10, FIGURE), ("本地份额（按规模）", 12, SHARE),
    ("本地份额（按数量）", 12, SHARE), ("外部依赖度", 10, SHARE),
    *((f"本地自给 θ={t:g}", 12, None) for t in THETAS), ("单点风险", 8, None),
    ("唯一本地企业", 24, None), ("受其支配的终端产品", 30, None), ("影响力", 9, FIGURE),
    ("本地影响力", 10, FIGURE), ("卡脖子技术", 40, None)]
SPOF_COLUMNS: list[Column] = [
    ("名称", 26, None), ("编码", 18, None), ("唯一本地企业", 26, None),
    ("全国企业数", 10, "0"), ("受其支配的终端产品数", 14, "0"), ("受其支配的终端产品", 40, None),
    ("本地影响力", 10, FIGURE), ("影响力", 9, FIGURE), ("卡脖子技术", 40, None)]
WHATIF_COLUMNS: list[Column] = [
    ("名称", 26, None), ("编码", 18, None), ("推演后状态", 12, None),
    ("全国企业数（前）", 12, "0"), ("全国企业数（后）", 12, "0"),
    ("本地企业数（前）", 12, "0"), ("本地企业数（后）", 12, "0"),
    ("被移除的规模份额", 12, SHARE), ("上游投入中被移除的最大份额", 16, SHARE),
    ("失去本地供应", 10, None), ("失去全国供应", 10, None), ("失去本地自给", 10, None)]
WHATIF_THETA_COLUMNS: list[Column] = [
    ("θ", 6, "0.00"), ("失去本地供应的单元数", 14, "0"), ("占本地有供应单元", 12, SHARE),
    ("失去全国供应的单元数", 14, "0"), ("占全链有供应单元", 12, SHARE),
    ("失去本地自给的单元数", 14, "0"), ("失去本地供应", 50, None)]
CHOKEPOINT_COLUMNS: list[Column] = [
    ("序号", 6, "0"), ("卡脖子技术", 30, None), ("对应环节", 40, None),
    ("本地企业数", 10, "0"), ("说明", 60, None)]


def _names(values: Sequence[Any]) -> str:
    return "、".join(str(v) for v in values)


def _unit_row(unit: Mapping[str, Any], theta: float, names: Mapping[str, str]) -> list[Any]:
    return [unit["name_zh"], unit["unit_id"], unit.get("node_id"),
            STATUS_ZH[unit_status(unit, theta)], unit["local_firms"], unit["province_firms"],
            unit["national_firms"], unit["inputs"], bool(unit["end_product"]), unit["hhi"],
            unit["hhi_local"], unit["local_share_size"], unit["local_share_count"],
            unit["outside_dependence"],
            *(bool(unit[f"self_sufficient_{t:g}"]) for t in THETAS),
            bool(unit["single_local_firm"]), unit.get("sole_firm_name"),
            _names([names.get(str(e), str(e)) for e in unit.get("dominates") or []]),
            unit["influence"], unit["local_influence"],
            _names(unit.get("chokepoints") or [])]


def _spof_row(unit: Mapping[str, Any], names: Mapping[str, str]) -> list[Any]:
    ends = [names.get(str(e), str(e)) for e in unit.get("dominates") or []]
    return [unit["name_zh"], unit["unit_id"], unit.get("sole_firm_name"),
            unit["national_firms"], len(ends), _names(ends), unit["local_influence"],
            unit["influence"], _names(unit.get("chokepoints") or [])]


def _whatif_row(unit: Mapping[str, Any], before: Mapping[str, Any] | None,
                theta: float) -> list[Any]:
    status = unit_status(before or {}, theta, unit)
    return [unit["name_zh"], unit["unit_id"], STATUS_ZH[status], unit["national_before"],
            unit["national_after"], unit.get("local_before"), unit.get("local_after"),
            unit["removed_share_size"], unit["input_removed_share"],
            bool(unit.get("lost_local")), bool(unit["lost_domestic"]),
            bool(unit.get("lost_self_sufficiency"))]


def _blocks(sheet: Worksheet, blocks: Sequence[tuple[str, Sequence[tuple[str, Any]]]]) -> None:
    """Titled blocks of (key, text) rows, as excel.py's 说明 sheet lays them out."""
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 110
    row = 1
    for title, items in blocks:
        _put(sheet, row, 1, title)
        sheet.cell(row=row, column=1).font = Font(bold=True, size=12)
        row += 1
        for key, text in items:
            _put(sheet, row, 1, key)
            _put(sheet, row, 2, text)
            sheet.cell(row=row, column=1).font = Font(bold=True)
            sheet.cell(row=row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
            row += 1
        row += 1


def _summary_items(result: Mapping[str, Any]) -> list[tuple[str, Any]]:
    s = result["summary"]
    return [("单元数", s["units"]), ("有国内供应的单元", s["units_with_domestic_supply"]),
            ("有本地供应的单元", s["units_with_local_supply"]),
            ("单点风险（本地仅一家企业）", s["single_points_of_failure"]),
            ("平均外部依赖度", s["outside_dependence_mean"]),
            ("涉及卡脖子技术的单元", s["chokepoint_units"]),
            ("其中本地无企业", s["chokepoint_units_without_local_supply"]),
            *((f"本地可自给单元 θ={r['theta']:g}" + ("（所选）" if r["chosen"] else ""),
               r["self_sufficient"]) for r in theta_rows(result))]


def _whatif_items(whatif: Mapping[str, Any]) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = [("移除", removed_zh(whatif))]
    missing = whatif["removed"].get("firms_not_in_network_names") or []
    if missing:
        items.append(("不在本链网络中的企业", _names(missing)))
    for row in whatif_rows(whatif):
        local = _names(row["lost_local_names"]) or "无"
        domestic = _names(row["lost_domestic_names"]) or "无"
        text = (f"失去本地供应 {row['lost_local']} 个（占本地有供应单元 "
                f"{(row['share_local_affected'] or 0):.0%}）：{local}；失去全国供应 "
                f"{row['lost_domestic']} 个（占全链 {row['share_chain_affected']:.0%}）："
                f"{domestic}")
        if row["feeding_region_names"]:
            text += f"；其中本地所需的上游投入：{_names(row['feeding_region_names'])}"
        items.append((f"θ={row['theta']:g}" + ("（所选）" if row["chosen"] else ""), text))
    return items


def _about(result: Mapping[str, Any], generated_at: dt.datetime | str) -> list[tuple[str, Any]]:
    when = (generated_at.strftime("%Y-%m-%d %H:%M") if isinstance(generated_at, dt.datetime)
            else str(generated_at))
    return [("地区", result["region"]["name"]), ("产业链", result["chain_name"]),
            ("分析层级", result["level_zh"]), ("企业范围", result.get("universe_zh", "")),
            ("数据覆盖", result.get("coverage_zh", "")), ("网络规模", firms_zh(result)),
            ("必要投入阈值 θ", f"{result['theta']:g}（结果另按 "
             + "、".join(f"{t:g}" for t in result["thetas"]) + " 报告）"),
            *([("截至年份", result["as_of"])] if result.get("as_of") else []),
            ("生成时间", when)]


def write_resilience_xlsx(path: str | Path, result: Mapping[str, Any],
                          whatif: Mapping[str, Any] | None = None,
                          generated_at: dt.datetime | str | None = None,
                          node_names: Mapping[str, str] | None = None) -> None:
    """Write ``result`` (:func:`~chainatlas.analysis.resilience_report.region_resilience`)
    and, when given, ``whatif`` (:func:`~chainatlas.analysis.resilience_report.
    region_whatif` at the same level and θ) as the workbook of the module docs;
    ``node_names`` (node id -> name) names the 卡脖子 items' nodes (ids otherwise)."""
    theta = float(result["theta"])
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "概要"
    sources = SOURCES + ([REGISTRY_SOURCE] if result.get("universe") != "listed" else [])
    _blocks(sheet, [
        ("基本信息", _about(result, generated_at or dt.datetime.now())),
        ("韧性概况", _summary_items(result)),
        *([("情景推演", _whatif_items(whatif))] if whatif is not None else []),
        ("数据能说明什么、不能说明什么", [(f"{i}", t) for i, t in
                                 enumerate(result["limits_zh"], start=1)]),
        ("状态说明", [(STATUS_ZH[k], v) for k, v in STATUS_HINTS_ZH.items()]),
        ("数据来源", sources)])
    units = list(result["units"])
    names = {str(u["unit_id"]): str(u["name_zh"]) for u in units}
    _table(book.create_sheet("环节韧性"), UNIT_COLUMNS,
           [_unit_row(u, theta, names) for u in units])
    spof = [u for u in units if u["single_local_firm"]]
    spof.sort(key=lambda u: (-len(u.get("dominates") or []), -float(u["local_influence"] or 0)))
    _table(book.create_sheet("单点风险"), SPOF_COLUMNS, [_spof_row(u, names) for u in spof])
    if whatif is not None:
        _whatif_sheet(book.create_sheet("情景推演"), whatif, units, theta)
    _table(book.create_sheet("卡脖子"), CHOKEPOINT_COLUMNS,
           _chokepoint_rows(result, node_names or {}))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)


def _whatif_sheet(sheet: Worksheet, whatif: Mapping[str, Any],
                  units: Sequence[Mapping[str, Any]], theta: float) -> None:
    before = {str(u["unit_id"]): u for u in units}
    rows = [_whatif_row(u, before.get(k), theta) for k, u in whatif_units(whatif).items()]
    _table(sheet, WHATIF_COLUMNS, rows, wrap_last=False)
    # the θ sensitivity under the unit rows, with its own header
    start = len(rows) + 3
    for j, (header, _, _) in enumerate(WHATIF_THETA_COLUMNS, start=1):
        _put(sheet, start, j, header)
        sheet.cell(row=start, column=j).font = Font(bold=True)
    for i, row in enumerate(whatif_rows(whatif), start=start + 1):
        values = [row["theta"], row["lost_local"], row["share_local_affected"],
                  row["lost_domestic"], row["share_chain_affected"],
                  row["lost_self_sufficiency"], _names(row["lost_local_names"])]
        for j, value in enumerate(values, start=1):
            _put(sheet, i, j, value, WHATIF_THETA_COLUMNS[j - 1][2])


def _chokepoint_rows(result: Mapping[str, Any],
                     names: Mapping[str, str]) -> list[list[Any]]:
    rows = []
    for item in result["chokepoints"]:
        local = item.get("local_firms") or {}
        nodes = [names.get(n, n) for n in local]
        rows.append([item.get("ordinal"), item["name_zh"], _names(nodes),
                     sum(int(v) for v in local.values()), item.get("note_zh")])
    return rows
