"""The 招商 recommendations as an Excel workbook a reader new to ChainAtlas can follow.

Sheets: 招商企业排名 (one row per firm), 推荐理由 (one row per reason), optionally
重点发展环节 and 环节推荐理由 (the node ranking), and 说明 (what every score means, how it
is computed, where the data comes from). The workbook states its firm universe (企业范围)
in 说明 and each firm's type (企业类型); with registry firms it carries the registry's
licence among the sources. Texts are written as plain strings; one starting
with = + - @ (or a tab / carriage return) is prefixed with an apostrophe so that no
spreadsheet program ever evaluates it as a formula (formula injection).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from chainatlas.analysis.regional import (
    FIRMS_NOUN_ZH,
    NODE_LEADER_RANK,
    STRONG_LQ,
    STRONG_MIN_FIRMS,
)
from chainatlas.recommend.firms import (
    DISTANCE_SCALE_KM,
    IMPORTANCE,
    LINK_WEIGHT_SCALE,
    LOCAL_LEADERS,
    SAME_PROVINCE_BONUS,
    STRENGTH_WEIGHTS,
    WEIGHTS,
)
from chainatlas.recommend.nodes import WEIGHTS as NODE_WEIGHTS
from chainatlas.sources.roster_values import formula_safe
from chainatlas.store.query import UNIVERSES
from chainatlas.store.stats import REGISTRY_LICENCE_ZH

SCORE = "0.000"
PART = "0.00"
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")

# (header, width, number format) per column
FIRM_COLUMNS = [("排名", 6, "0"), ("企业简称", 14, None), ("企业全称", 34, None),
                ("股票代码", 10, None), ("企业类型", 12, None), ("所在省份", 10, None),
                ("所在城市", 12, None),
                ("所属环节", 30, None), ("综合得分", 10, SCORE), ("匹配度", 9, PART),
                ("企业实力", 10, PART), ("产业链关联", 11, PART), ("区位邻近", 10, PART),
                ("主要理由", 90, None)]
NODE_COLUMNS = [("排名", 6, "0"), ("环节", 24, None), ("环节编码", 24, None),
                ("所处阶段", 9, None), ("本地现状", 9, None), ("建议方向", 9, None),
                ("综合得分", 10, SCORE), ("关联密度", 10, PART), ("供应链邻接", 11, PART),
                ("可招引", 9, PART), ("主要理由", 90, None)]
REASON_COLUMNS = [("排名", 6, "0"), ("企业简称", 14, None), ("理由序号", 9, "0"),
                  ("理由", 100, None)]
NODE_REASON_COLUMNS = [("排名", 6, "0"), ("环节", 24, None), ("理由序号", 9, "0"),
                       ("理由", 100, None)]

SOURCES = [
    ("A 股上市公司产业链知识图谱 ChainKnowledgeGraph（2021）",
     "上市公司的主营产品及其营收占比、产品之间的上下游关系、申万行业分类。"
     "企业所属环节、本链相关产品营收占比与产业链关联均由此推算。"),
    ("Tushare 上市公司基本信息（2024-05）",
     "注册资本、员工人数、成立日期、所在省市。"),
    ("深圳证券交易所 A 股列表（2025-10）", "上市日期、注册地址（补充所在地）。"),
    ("行政区划代码与中心点坐标（cpca 0.5.5 数据包）",
     "省、市、区县的名称、代码与中心点经纬度，用于计算距离。"),
]
#: The source line added when registry firms are in the universe.
REGISTRY_SOURCE = ("企业登记数据（1978–2004 年登记，Enterprise-Registration-Data）",
                   "工商登记企业的名称、经营范围、注册资本与所在地；其所属环节由经营范围推断。"
                   + REGISTRY_LICENCE_ZH)
#: Each firm origin as the 企业类型 column shows it.
ORIGIN_ZH = {"listed": "上市企业", "registry": "工商登记企业", "roster": "导入名录企业"}


def safe_text(value: str) -> str:
    """A string safe to put in a cell: no illegal control characters, never a formula."""
    return formula_safe(str(ILLEGAL_CHARACTERS_RE.sub("", value)))


def _put(sheet: Worksheet, row: int, column: int, value: Any,
         number_format: str | None = None) -> None:
    """Write one cell: strings guarded, numbers with their format, None left empty."""
    if value is None:
        return
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, bool):
        cell.value = "是" if value else "否"
    elif isinstance(value, int | float):
        cell.value = value
        if number_format:
            cell.number_format = number_format
    else:
        cell.value = safe_text(str(value))
        cell.data_type = "s"  # belt and braces: never let openpyxl infer a formula


def _table(sheet: Worksheet, columns: Sequence[tuple[str, int, str | None]],
           rows: Sequence[Sequence[Any]], wrap_last: bool = True) -> None:
    """Header, rows, widths, number formats, frozen header row and an autofilter."""
    for j, (header, width, _) in enumerate(columns, start=1):
        _put(sheet, 1, j, header)
        sheet.cell(row=1, column=j).font = Font(bold=True)
        sheet.cell(row=1, column=j).fill = HEADER_FILL
        sheet.column_dimensions[get_column_letter(j)].width = width
    for i, values in enumerate(rows, start=2):
        for j, value in enumerate(values, start=1):
            _put(sheet, i, j, value, columns[j - 1][2])
        if wrap_last:
            sheet.cell(row=i, column=len(columns)).alignment = Alignment(
                wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last}{max(len(rows) + 1, 1)}"


def _value(component: Any) -> float | None:
    """A component's value, whether given as a number or as {'value': ...}."""
    if isinstance(component, Mapping):
        component = component.get("value")
    return None if component is None else float(component)


def _firm_rows(firms: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    rows = []
    for f in firms:
        c = f.get("components", {})
        nodes = f.get("nodes") or []
        rows.append([
            f.get("rank"), f.get("short_name"), f.get("full_name"), f.get("stock_code"),
            ORIGIN_ZH.get(str(f.get("origin")), f.get("origin")),
            f.get("province"), f.get("city"),
            "、".join(str(n["name_zh"]) for n in nodes) if isinstance(nodes, list) else nodes,
            f.get("score"), *(_value(c.get(k)) for k in WEIGHTS),
            "；".join(f.get("reasons_zh") or [])])
    return rows


def _node_rows(nodes: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    rows = []
    for i, n in enumerate(nodes, start=1):
        c = n.get("components", {})
        rows.append([
            n.get("rank", i), n.get("name_zh"), n.get("node_id"), n.get("stage"),
            n.get("class"), n.get("label"), n.get("score"),
            *(_value(c.get(k)) for k in ("density", "adjacency", "availability")),
            "；".join(n.get("reasons_zh") or [])])
    return rows


def _reason_rows(items: Sequence[Mapping[str, Any]], name_key: str) -> list[list[Any]]:
    return [[item.get("rank", i), item.get(name_key), k, reason]
            for i, item in enumerate(items, start=1)
            for k, reason in enumerate(item.get("reasons_zh") or [], start=1)]


def _firm_notes() -> list[tuple[str, str]]:
    """The 说明 rows explaining the firm score, with the weights actually used."""
    w, s = WEIGHTS, STRENGTH_WEIGHTS
    return [
        ("招商企业排名", "列出所选产业链（或环节）上、位于本地区以外的企业，"
         "按综合得分从高到低排序。本地企业不在名单中；所在地不详的企业也不列入。"),
        ("综合得分", f"综合得分 = {w['fit']:.2f}×匹配度 + {w['strength']:.2f}×企业实力 + "
         f"{w['links']:.2f}×产业链关联 + {w['proximity']:.2f}×区位邻近。"
         "四项得分均在 0 到 1 之间，综合得分也在 0 到 1 之间，越高越值得优先接洽。"),
        ("匹配度", "企业被归入该产业链（或环节）的置信度，取其所在各环节中的最高值。"
         "依据其主营产品及营收占比、申万行业、国民经济行业分类和经营范围关键词综合判断。"),
        ("企业实力", f"企业实力 = {s['capital']:.2f}×注册资本百分位 + "
         f"{s['employees']:.2f}×员工人数百分位 + {s['listed']:.2f}×是否上市（是为 1）+ "
         f"{s['revenue_share']:.2f}×本链相关产品营收占比。"
         "百分位为在全部候选企业中的排位（最大者接近 1），缺少数据按 0 计。"),
        ("产业链关联", "企业与本地企业之间是否存在产品上下游关系：其本链产品可供应本地企业，"
         "或其本链产品的原料可向本地企业采购。每家本地伙伴的贡献 = 重要性 ×"
         f"（1 − e^(−关联强度/{LINK_WEIGHT_SCALE})），关联强度为双方相关产品营收占比之积；"
         f"重要性：本地链主（本地该链综合实力前 {LOCAL_LEADERS} 名）{IMPORTANCE['leader']}，"
         f"本地其他链上企业 {IMPORTANCE['chain']}，本地其他企业 {IMPORTANCE['other']}。"
         "多家伙伴合并为 1 − Π(1 − 贡献)。没有已知上下游关系时为 0（产品关系数据较稀疏，"
         "0 不代表没有合作可能）。"),
        ("区位邻近", f"区位邻近 = {1 - SAME_PROVINCE_BONUS:.1f}×"
         f"e^(−距离/{DISTANCE_SCALE_KM:.0f} 公里) + {SAME_PROVINCE_BONUS:.1f}（与本地区同省时）。"
         "距离为企业所在城市中心与本地区中心的直线（球面）距离。"),
        ("推荐理由", "每家企业的主要理由：与本地哪些企业存在上下游关系、主营产品与所属环节、"
         "企业规模、与本地的距离。"),
    ]


def _node_weights() -> str:
    """The node score's formula, read from the node ranking so the notes never go stale."""
    names = {"density": "关联密度", "adjacency": "供应链邻接", "availability": "可招引"}
    terms = " + ".join(f"{w:.2f}×{names.get(k, k)}" for k, w in NODE_WEIGHTS.items())
    return f"环节综合得分 = {terms}。"


def _node_notes(universe: str) -> list[tuple[str, str]]:
    """The 说明 rows for the node ranking (computed by chainatlas.recommend.nodes)."""
    noun = FIRMS_NOUN_ZH.get(universe, "企业")
    return [
        ("重点发展环节", "本地区在该产业链上建议优先发展的环节（本地没有或较弱的末级环节），"
         "按综合得分排序。" + _node_weights()),
        ("本地现状", f"强：本地企业集聚明显（区位商≥{STRONG_LQ:g} 且至少 {STRONG_MIN_FIRMS} 家"
         f"企业，或拥有所选企业范围中规模前 {NODE_LEADER_RANK} 的企业）；弱：有企业但不突出；"
         "缺：本地没有该环节企业。区位商按上市企业计算；企业范围含工商登记企业且本地在已载入"
         "登记数据的省份内时，按工商登记企业计算，基准为已载入的省份。"),
        ("建议方向", "强链：本地已有企业但较弱，宜做大做强；补链：本地缺少该环节，而其上下游"
         "（或所属上级环节）已是本地强项，属于链条中间的缺口；延链：本地缺少该环节，"
         "向现有链条之外延伸。"),
        ("关联密度", "本地现有产业与该环节的关联程度（产品空间“关联密度”，按全国各城市的"
         "企业分布计算），以在全国同类情形中的百分位表示。"),
        ("供应链邻接", "该环节与本地已有环节的上下游衔接程度：产业链模板中的上下游关系或"
         "企业产品间的原料关系，本地强项计满分、弱项计一半。"),
        ("可招引", f"本地区以外、该环节上的{noun}数量（取对数后与各产业链中企业最多的"
         "末级环节相比）。"),
    ]


def _write_notes(sheet: Worksheet, meta: list[tuple[str, str]],
                 notes: list[tuple[str, str]], sources: list[tuple[str, str]]) -> None:
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 110
    row = 1
    for block_title, block in (("基本信息", meta), ("得分说明", notes),
                               ("数据来源", sources)):
        _put(sheet, row, 1, block_title)
        sheet.cell(row=row, column=1).font = Font(bold=True, size=12)
        row += 1
        for key, text in block:
            _put(sheet, row, 1, key)
            _put(sheet, row, 2, text)
            sheet.cell(row=row, column=1).font = Font(bold=True)
            sheet.cell(row=row, column=2).alignment = Alignment(wrap_text=True,
                                                                vertical="top")
            row += 1
        row += 1


def write_recommendations_xlsx(path: str | Path, *, region_name: str, chain_name: str,
                               generated_at: dt.datetime | str,
                               firms: list[dict[str, Any]],
                               nodes: list[dict[str, Any]] | None = None,
                               universe: str | None = None,
                               coverage_zh: str | None = None) -> None:
    """Write the firm ranking (and optionally the node ranking) with reasons and notes.

    ``universe`` (listed, registry, all) is the firm universe the rankings counted,
    stated in 说明 with ``coverage_zh`` (what it covers); None takes it from the results'
    own ``universe`` field, and 上市企业 when they have none (rankings before universes).
    """
    universe = universe or next((str(r["universe"]) for r in [*firms, *(nodes or [])]
                                 if r.get("universe")), "listed")
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "招商企业排名"
    _table(sheet, FIRM_COLUMNS, _firm_rows(firms))
    _table(book.create_sheet("推荐理由"), REASON_COLUMNS, _reason_rows(firms, "short_name"))
    notes = _firm_notes()
    if nodes is not None:
        _table(book.create_sheet("重点发展环节"), NODE_COLUMNS, _node_rows(nodes))
        _table(book.create_sheet("环节推荐理由"), NODE_REASON_COLUMNS,
               _reason_rows(nodes, "name_zh"))
        notes += _node_notes(universe)
    when = (generated_at.strftime("%Y-%m-%d %H:%M") if isinstance(generated_at, dt.datetime)
            else str(generated_at))
    meta = [("地区", region_name), ("产业链", chain_name),
            ("企业范围", UNIVERSES.get(universe, universe)),
            *([("数据覆盖", coverage_zh)] if coverage_zh else []),
            ("生成时间", when), ("企业数", str(len(firms)))]
    if nodes is not None:
        meta.append(("环节数", str(len(nodes))))
    sources = SOURCES + ([REGISTRY_SOURCE] if universe != "listed" else [])
    _write_notes(book.create_sheet("说明"), meta, notes, sources)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
