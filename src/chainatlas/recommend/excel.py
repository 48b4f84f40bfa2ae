"""The 招商 recommendations as an Excel workbook a reader new to ChainAtlas can follow.

Sheets: 招商企业排名 (one row per firm), 推荐理由 (per firm: one row per score component
with its value, weight, points and raw figure, a row for its risk flags, one row per
reason), optionally 重点发展环节 and 环节推荐理由 (the node ranking, alike), and 说明 (the
filters in force, what every score means, its weights, where the data comes from). The
weights are those of :mod:`chainatlas.analysis.weights`, as the records' ``explain`` rows
carry them. The workbook states its firm universe (企业范围)
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

from chainatlas.analysis.expansion import CITY_SCALE, EXPANSION_YEARS
from chainatlas.analysis.explain import explain
from chainatlas.analysis.regional import (
    FIRMS_NOUN_ZH,
    NODE_LEADER_RANK,
    STRONG_LQ,
    STRONG_MIN_FIRMS,
)
from chainatlas.analysis.risk import NOT_COVERED_ZH
from chainatlas.analysis.weights import NODE_WEIGHTS, TARGET_WEIGHTS
from chainatlas.recommend.firms import DISTANCE_SCALE_KM
from chainatlas.recommend.node_reasons import LABELS_ZH as NODE_LABELS_ZH
from chainatlas.recommend.place_signals import MOMENTUM_YEARS, NEAR_SCALE_KM, PEERS_SHARE
from chainatlas.recommend.target_links import (
    EDGE_IMPORTANCE,
    EDGES_COUNTED,
    IMPORTANCE,
    LINK_WEIGHT_SCALE,
    LOCAL_LEADERS,
    SCOPE_IMPORTANCE,
    SCOPES_COUNTED,
)
from chainatlas.recommend.target_reasons import LABELS_ZH as TARGET_LABELS_ZH
from chainatlas.sources.roster_values import formula_safe
from chainatlas.store.query import UNIVERSES
from chainatlas.store.stats import REGISTRY_LICENCE_ZH

SCORE = "0.000"
PART = "0.00"
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")

Column = tuple[str, int, str | None]
# (header, width, number format) per column; the score components' columns go between
# the lead and the tail, one per component of the score's weights
FIRM_LEAD: list[Column] = [
    ("排名", 6, "0"), ("企业简称", 14, None), ("企业全称", 34, None), ("股票代码", 10, None),
    ("企业类型", 12, None), ("所在省份", 10, None), ("所在城市", 12, None),
    ("所属环节", 30, None), ("综合得分", 10, SCORE)]
FIRM_TAIL: list[Column] = [("风险提示", 24, None), ("主要理由", 90, None)]
NODE_LEAD: list[Column] = [
    ("排名", 6, "0"), ("环节", 24, None), ("环节编码", 24, None), ("所处阶段", 9, None),
    ("本地现状", 9, None), ("建议方向", 9, None), ("综合得分", 10, SCORE)]
NODE_TAIL: list[Column] = [("主要理由", 90, None)]
#: The reasons sheets: per item, its score components, its risk flags, its reasons.
REASON_COLUMNS: list[Column] = [
    ("排名", 6, "0"), ("名称", 14, None), ("类别", 9, None), ("项目", 14, None),
    ("分值", 8, PART), ("权重", 8, PART), ("得分", 8, SCORE), ("原始数据 / 理由", 100, None)]
#: Component labels for records that carry no ``explain`` rows (their own labels win):
#: the rankings' own.
LABELS_ZH = {**TARGET_LABELS_ZH, **NODE_LABELS_ZH}

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


def explained(item: Mapping[str, Any], weights: Mapping[str, float]) -> list[dict[str, Any]]:
    """An item's ``explain`` rows; for one without them (a record of the shape before
    every score was explained), rows built from its component values, no raw figures."""
    if item.get("explain"):
        return [dict(row) for row in item["explain"]]
    components = item.get("components") or {}
    present = {k: w for k, w in weights.items() if _value(components.get(k)) is not None}
    values = {k: float(_value(components[k]) or 0.0) for k in present}
    return explain(values, present, LABELS_ZH, {})


def score_parts(items: Sequence[Mapping[str, Any]],
                weights: Mapping[str, float]) -> list[tuple[str, str, float]]:
    """(component, label, weight) of a ranking's score, as its first item explains it
    (all items of one ranking share them), else from ``weights``."""
    rows = explained(items[0], weights) if items else []
    if rows:
        return [(str(r["component"]), str(r["label_zh"]), float(r["weight"])) for r in rows]
    return [(k, LABELS_ZH.get(k, k), w) for k, w in weights.items()]


def _part_columns(parts: Sequence[tuple[str, str, float]]) -> list[Column]:
    return [(label, max(9, 2 * len(label) + 2), PART) for _, label, _ in parts]


def _part_values(item: Mapping[str, Any], parts: Sequence[tuple[str, str, float]],
                 weights: Mapping[str, float]) -> list[float | None]:
    values = {str(r["component"]): r["value"] for r in explained(item, weights)}
    return [values.get(key) for key, _, _ in parts]


def risk_of(item: Mapping[str, Any]) -> tuple[str, float | None]:
    """(flags in Chinese, score factor) of an item ('' and None when it carries none)."""
    risk = item.get("risk")
    if isinstance(risk, Mapping):
        factor = risk.get("factor")
        return str(risk.get("flags_zh") or ""), None if factor is None else float(factor)
    factor = item.get("risk_factor")
    return str(item.get("flags_zh") or ""), None if factor is None else float(factor)


def _firm_rows(firms: Sequence[Mapping[str, Any]],
               parts: Sequence[tuple[str, str, float]]) -> list[list[Any]]:
    rows = []
    for f in firms:
        nodes = f.get("nodes") or []
        rows.append([
            f.get("rank"), f.get("short_name"), f.get("full_name"), f.get("stock_code"),
            ORIGIN_ZH.get(str(f.get("origin")), f.get("origin")),
            f.get("province"), f.get("city"),
            "、".join(str(n["name_zh"]) for n in nodes) if isinstance(nodes, list) else nodes,
            f.get("score"), *_part_values(f, parts, TARGET_WEIGHTS),
            risk_of(f)[0] or None, "；".join(f.get("reasons_zh") or [])])
    return rows


def _node_rows(nodes: Sequence[Mapping[str, Any]],
               parts: Sequence[tuple[str, str, float]]) -> list[list[Any]]:
    rows = []
    for i, n in enumerate(nodes, start=1):
        rows.append([
            n.get("rank", i), n.get("name_zh"), n.get("node_id"), n.get("stage"),
            n.get("class"), n.get("label"), n.get("score"),
            *_part_values(n, parts, NODE_WEIGHTS), "；".join(n.get("reasons_zh") or [])])
    return rows


def reason_rows(items: Sequence[Mapping[str, Any]], name_key: str,
                weights: Mapping[str, float]) -> list[list[Any]]:
    """The reasons sheet of a ranking: per item, a row per score component (value,
    weight, points, raw figure), the score (the points' sum, times the risk factor), a
    row for its risk flags, then a row per reason."""
    rows: list[list[Any]] = []
    for i, item in enumerate(items, start=1):
        head = [item.get("rank", i), item.get(name_key)]
        parts = explained(item, weights)
        rows += [[*head, "评分构成", r["label_zh"], r["value"], r["weight"], r["points"],
                  r.get("raw_zh") or None] for r in parts]
        flags, factor = risk_of(item)
        total = "各分项得分之和" + (f" × 风险系数 {factor:g}" if flags and factor is not None
                                   else "")
        rows.append([*head, "综合得分", "综合得分", None, None, item.get("score"), total])
        if flags:
            rows.append([*head, "风险提示", "风险系数", factor, None, None, flags])
        rows += [[*head, "推荐理由", f"理由 {k}", None, None, None, reason]
                 for k, reason in enumerate(item.get("reasons_zh") or [], start=1)]
    return rows


def _formula(parts: Sequence[tuple[str, str, float]]) -> str:
    """A score's formula with the weights used: 0.25×匹配度 + 0.30×企业实力 + …"""
    return " + ".join(f"{w:.2f}×{label}" for _, label, w in parts)


def _firm_parts_zh() -> dict[str, str]:
    """How each component of the firm score is computed, by component key (as
    :mod:`chainatlas.recommend.firms` computes it)."""
    edge, role = EDGE_IMPORTANCE, IMPORTANCE
    return {
        "fit": "企业被归入其主营环节的置信度，取各主营环节中的最高值。依据主营产品及营收占比、"
        "申万行业、国民经济行业分类和经营范围关键词综合判断。",
        "strength": "企业在本链业务的规模：员工人数 × 本链相关产品营收占比；无产品数据时按员工"
        "人数；只有没有员工人数的企业（工商登记企业）才按注册资本折算（上市公司的注册资本是"
        "股本，不代表规模）。取对数后在候选企业中标度，最大者为 1。",
        "links": "企业与本地产业链的衔接，三类关联合并为 1 − Π(1 − 贡献)：① 产业链模板中的"
        f"上下游关系：其主营环节与本地强项环节（每条 {edge['强']}）或弱项环节"
        f"（{edge['弱']}）直接相连，计最强的 {EDGES_COUNTED} 条；② 产品供需关系：其本链产品"
        "可供应本地企业或可向本地企业采购，贡献 = 重要性 ×（1 − e^(−关联强度/"
        f"{LINK_WEIGHT_SCALE})），关联强度为双方相关产品营收占比之积，重要性：本地链主（本地"
        f"规模前 {LOCAL_LEADERS} 名）{role['leader']}、本地其他链上企业 {role['chain']}、"
        f"其他本地企业 {role['other']}；③ 工商登记企业经营范围所列产品与本地企业产品的供需"
        f"关系，每家 {SCOPE_IMPORTANCE}，计前 {SCOPES_COUNTED} 家。产品关系只计方向与产业链"
        "模板一致的。",
        "expansion": f"企业近 {EXPANSION_YEARS} 年在其所在城市以外新设分支机构的城市数 n："
        f"1 − e^(−n/{CITY_SCALE:g})。依据工商登记数据（1978–2004 年登记），石油、邮政、电信、"
        "银行、保险等全国网络型企业不计。",
        "proximity": f"区位邻近 = e^(−距离/{DISTANCE_SCALE_KM:.0f} 公里)，距离为企业所在城市"
        "中心与本地区中心的球面距离。与本地区同省的企业不加分，在理由中注明“同省”。",
    }


#: The 说明 row on risk flags (ST and the like), for the firm ranking.
RISK_NOTE_ZH = ("上市简称带 ST、*ST 的企业得分乘以风险系数 0.5；处于退市整理、PT 或 2025 年"
                "深交所名单中已无其代码的企业系数为 0。默认不列入风险警示企业；选择“含风险"
                "警示企业”时列出，并在「风险提示」列注明。" + NOT_COVERED_ZH + "。")


def _firm_notes(parts: Sequence[tuple[str, str, float]]) -> list[tuple[str, str]]:
    """The 说明 rows explaining the firm score, with the weights actually used."""
    described = _firm_parts_zh()
    return [
        ("招商企业排名", "列出所选产业链（或环节）上、位于本地区以外的企业，"
         "按综合得分从高到低排序。本地企业不在名单中；所在地不详的企业也不列入。"),
        ("综合得分", f"综合得分 = {_formula(parts)}。各项得分均在 0 到 1 之间，综合得分"
         "也在 0 到 1 之间，越高越值得优先接洽。各项的分值、权重、得分与原始数据见"
         "「推荐理由」表。"),
        *((label, f"权重 {weight:.2f}。" + described.get(
            key, "见「推荐理由」表中各企业该项的原始数据。"))
          for key, label, weight in parts),
        ("风险提示", RISK_NOTE_ZH),
        ("推荐理由", "「推荐理由」表按企业列出：每个评分分项一行（分值 × 权重 = 得分，及其"
         "原始数据），综合得分一行，风险提示（如有）一行，随后每条推荐理由一行。"),
    ]


def _node_parts_zh(universe: str) -> dict[str, str]:
    """How each component of the node score is computed, by component key (as
    :mod:`chainatlas.recommend.nodes` computes it)."""
    noun = FIRMS_NOUN_ZH.get(universe, "企业")
    return {
        "density": "本地现有产业与该环节的关联程度（产品空间“关联密度”，按各地企业在所有产业链"
        "末级环节上的分布计算），以在同类缺失情形中的百分位表示。",
        "peers": f"与本地产业结构最相近的地区（约占全部地区的 {PEERS_SHARE:.0%}）中已有该环节"
        "企业的比例。",
        "nearby": f"周边地区已有该环节企业的程度：各地区按 e^(−距离/{NEAR_SCALE_KM:.0f} 公里)"
        "加权后，有该环节企业的地区所占比例。",
        "momentum": f"近 {MOMENTUM_YEARS} 年该环节向新地区扩散的速度：此前没有该环节的地区中"
        "新出现该环节企业的比例，与扩散最快的环节相比。",
        "adjacency": "该环节与本地已有环节的上下游衔接程度：产业链模板中的上下游关系（产品"
        "关系只计方向一致的），本地强项计满分、弱项计一半。",
        "availability": f"本地区以外、该环节上的{noun}数量（取对数后与各产业链中企业最多的"
        "末级环节相比）。",
    }


def _node_notes(universe: str,
                parts: Sequence[tuple[str, str, float]]) -> list[tuple[str, str]]:
    """The 说明 rows for the node ranking (computed by chainatlas.recommend.nodes)."""
    described = _node_parts_zh(universe)
    return [
        ("重点发展环节", "本地区在该产业链上建议优先发展的环节（本地没有或较弱的末级环节），"
         f"按综合得分排序。环节综合得分 = {_formula(parts)}。各项的分值、权重、得分与原始"
         "数据见「环节推荐理由」表。"),
        ("本地现状", f"强：本地企业集聚明显（区位商≥{STRONG_LQ:g} 且至少 {STRONG_MIN_FIRMS} 家"
         f"企业，或拥有所选企业范围中规模前 {NODE_LEADER_RANK} 的企业）；弱：有企业但不突出；"
         "缺：本地没有该环节企业。区位商按上市企业计算；企业范围含工商登记企业且本地在已载入"
         "登记数据的省份内时，按工商登记企业计算，基准为已载入的省份。"),
        ("建议方向", "强链：本地已有企业但较弱，宜做大做强；补链：本地缺少该环节，而其上下游"
         "（或所属上级环节）已是本地强项，属于链条中间的缺口；延链：本地缺少该环节，"
         "向现有链条之外延伸。"),
        *((label, f"权重 {weight:.2f}。" + described.get(
            key, "见「环节推荐理由」表中各环节该项的原始数据。"))
          for key, label, weight in parts),
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
                               coverage_zh: str | None = None,
                               filters_zh: str | None = None) -> None:
    """Write the firm ranking (and optionally the node ranking) with reasons and notes.

    ``universe`` (listed, registry, all) is the firm universe the rankings counted,
    stated in 说明 with ``coverage_zh`` (what it covers); None takes it from the results'
    own ``universe`` field, and 上市企业 when they have none (rankings before universes).
    ``filters_zh`` (:meth:`~chainatlas.recommend.filters.TargetFilters.describe_zh`) is
    stated in 说明 as the filters the firm list was narrowed by.
    """
    universe = universe or next((str(r["universe"]) for r in [*firms, *(nodes or [])]
                                 if r.get("universe")), "listed")
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "招商企业排名"
    parts = score_parts(firms, TARGET_WEIGHTS)
    _table(sheet, [*FIRM_LEAD, *_part_columns(parts), *FIRM_TAIL], _firm_rows(firms, parts))
    _table(book.create_sheet("推荐理由"), REASON_COLUMNS,
           reason_rows(firms, "short_name", TARGET_WEIGHTS))
    notes = _firm_notes(parts)
    if nodes is not None:
        node_parts = score_parts(nodes, NODE_WEIGHTS)
        _table(book.create_sheet("重点发展环节"),
               [*NODE_LEAD, *_part_columns(node_parts), *NODE_TAIL],
               _node_rows(nodes, node_parts))
        _table(book.create_sheet("环节推荐理由"), REASON_COLUMNS,
               reason_rows(nodes, "name_zh", NODE_WEIGHTS))
        notes += _node_notes(universe, node_parts)
    when = (generated_at.strftime("%Y-%m-%d %H:%M") if isinstance(generated_at, dt.datetime)
            else str(generated_at))
    meta = [("地区", region_name), ("产业链", chain_name),
            ("企业范围", UNIVERSES.get(universe, universe)),
            *([("数据覆盖", coverage_zh)] if coverage_zh else []),
            *([("筛选条件", filters_zh)] if filters_zh else []),
            ("生成时间", when), ("企业数", str(len(firms)))]
    if nodes is not None:
        meta.append(("环节数", str(len(nodes))))
    sources = SOURCES + ([REGISTRY_SOURCE] if universe != "listed" else [])
    _write_notes(book.create_sheet("说明"), meta, notes, sources)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
