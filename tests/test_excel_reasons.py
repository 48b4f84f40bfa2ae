"""The recommendations workbook explains every score: the reasons sheets hold, per firm
and per node, one row per score component (value, weight, points, raw figure), the score,
the risk flags and the reasons; 说明 states the weights and the filters in force."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from chainatlas.analysis.explain import explain
from chainatlas.analysis.risk import NOT_COVERED_ZH
from chainatlas.analysis.weights import NODE_WEIGHTS, TARGET_WEIGHTS
from chainatlas.recommend.excel import write_recommendations_xlsx
from chainatlas.recommend.filters import TargetFilters

HOSTILE = "=HYPERLINK(\"http://x\")"


def _explained(weights: dict[str, float], labels: dict[str, str],
               raw: dict[str, str], base: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values = {k: round(base - 0.05 * i, 2) for i, k in enumerate(weights)}
    rows = explain(values, weights, labels, raw)
    return {k: {"value": v} for k, v in values.items()}, rows


def firm(rank: int, name: str, flags_zh: str = "", raw_first: str = "") -> dict[str, Any]:
    labels = {k: f"分项{k}" for k in TARGET_WEIGHTS}
    first = next(iter(TARGET_WEIGHTS))
    components, rows = _explained(TARGET_WEIGHTS, labels, {first: raw_first or "员工 1,200 人"},
                                  0.9 - 0.1 * rank)
    factor = 0.5 if flags_zh else 1.0
    return {"rank": rank, "company_id": f"C{rank}", "short_name": name,
            "full_name": f"{name}股份有限公司", "stock_code": "600000.SH", "origin": "listed",
            "province": "湖北省", "city": "武汉市", "nodes": [{"name_zh": "化学原料药"}],
            "score": round(factor * sum(r["points"] for r in rows), 4),
            "components": components, "explain": rows,
            "risk": {"flags": ["ST"] if flags_zh else [], "flags_zh": flags_zh,
                     "factor": factor},
            "reasons_zh": [f"{name}理由一", f"{name}理由二"]}


def node(rank: int) -> dict[str, Any]:
    labels = {k: f"环节分项{k}" for k in NODE_WEIGHTS}
    components, rows = _explained(NODE_WEIGHTS, labels, {}, 0.8)
    return {"rank": rank, "node_id": f"n{rank}", "name_zh": f"环节{rank}", "stage": "中游",
            "class": "缺", "label": "补链", "components": components, "explain": rows,
            "score": round(sum(r["points"] for r in rows), 4), "reasons_zh": ["环节理由"]}


def _rows(book: Any, sheet: str) -> list[tuple[Any, ...]]:
    return list(book[sheet].iter_rows(values_only=True))


@pytest.fixture
def book(tmp_path: Path) -> Any:
    firms = [firm(1, "甲药业", raw_first=HOSTILE), firm(2, "乙制药", "ST（2021 简称）")]
    filters = TargetFilters(outside_province=True, sizes=("large",),
                            labels={"provinces": "湖北省"}, provinces=("420000",))
    path = tmp_path / "book.xlsx"
    write_recommendations_xlsx(path, region_name="石家庄市", chain_name="生物医药",
                               generated_at="2026-01-02", firms=firms, nodes=[node(1)],
                               universe="listed", filters_zh=filters.describe_zh())
    return openpyxl.load_workbook(path), firms, filters


def test_reasons_sheet_has_a_row_per_component_with_its_weight(book: Any) -> None:
    workbook, firms, _ = book
    rows = _rows(workbook, "推荐理由")
    assert rows[0] == ("排名", "名称", "类别", "项目", "分值", "权重", "得分", "原始数据 / 理由")
    for f in firms:
        parts = [r for r in rows[1:] if r[1] == f["short_name"] and r[2] == "评分构成"]
        assert [(r[3], r[4], r[5], r[6]) for r in parts] == [
            (e["label_zh"], e["value"], e["weight"], e["points"]) for e in f["explain"]]
        assert [r[5] for r in parts] == list(TARGET_WEIGHTS.values())  # the one place
        total = next(r for r in rows if r[1] == f["short_name"] and r[2] == "综合得分")
        assert total[6] == f["score"]
        reasons = [r[7] for r in rows if r[1] == f["short_name"] and r[2] == "推荐理由"]
        assert reasons == f["reasons_zh"]
    first = next(r for r in rows if r[1] == "乙制药" and r[2] == "评分构成")
    assert first[7] == "员工 1,200 人"  # the raw figure beside the value
    risk = [r for r in rows if r[2] == "风险提示"]
    assert risk == [(2, "乙制药", "风险提示", "风险系数", 0.5, None, None, "ST（2021 简称）")]
    flagged_total = next(r for r in rows if r[1] == "乙制药" and r[2] == "综合得分")
    assert "风险系数 0.5" in flagged_total[7]


def test_raw_figures_are_never_formulas(book: Any) -> None:
    workbook, _, _ = book
    cells = [c for row in workbook["推荐理由"].iter_rows() for c in row
             if HOSTILE in str(c.value)]
    assert cells and all(c.value == "'" + HOSTILE and c.data_type == "s" for c in cells)


def test_node_reasons_sheet_explains_the_node_score(book: Any) -> None:
    workbook, _, _ = book
    rows = _rows(workbook, "环节推荐理由")
    parts = [r for r in rows if r[2] == "评分构成"]
    expected = node(1)["explain"]
    assert [(r[3], r[4], r[5], r[6]) for r in parts] == [
        (e["label_zh"], e["value"], e["weight"], e["points"]) for e in expected]
    assert [r[5] for r in parts] == list(NODE_WEIGHTS.values())
    ranking = _rows(workbook, "重点发展环节")
    assert ranking[0][7:7 + len(NODE_WEIGHTS)] == tuple(e["label_zh"] for e in expected)
    assert ranking[1][7:7 + len(NODE_WEIGHTS)] == tuple(e["value"] for e in expected)


def test_ranking_sheet_has_a_column_per_component_and_the_flags(book: Any) -> None:
    workbook, firms, _ = book
    header, *rows = _rows(workbook, "招商企业排名")
    start = header.index("综合得分") + 1
    labels = [e["label_zh"] for e in firms[0]["explain"]]
    assert list(header[start:start + len(labels)]) == labels
    assert header[start + len(labels):] == ("风险提示", "主要理由")
    assert rows[1][start:start + len(labels)] == tuple(e["value"] for e in firms[1]["explain"])
    assert rows[1][-2] == "ST（2021 简称）" and rows[0][-2] is None


def test_notes_state_the_filters_the_weights_and_what_risk_cannot_see(book: Any) -> None:
    workbook, firms, filters = book
    notes = [c.value for row in workbook["说明"].iter_rows() for c in row]
    assert notes[notes.index("筛选条件") + 1] == filters.describe_zh()
    assert "限湖北省" in filters.describe_zh()
    text = "\n".join(str(v) for v in notes if v)
    formula = " + ".join(f"{e['weight']:.2f}×{e['label_zh']}" for e in firms[0]["explain"])
    assert f"综合得分 = {formula}" in text
    node_formula = " + ".join(f"{e['weight']:.2f}×{e['label_zh']}" for e in node(1)["explain"])
    assert f"环节综合得分 = {node_formula}" in text
    for e in firms[0]["explain"]:
        assert notes[notes.index(e["label_zh"]) + 1].startswith(f"权重 {e['weight']:.2f}")
    assert NOT_COVERED_ZH in text


def test_a_record_without_explain_rows_is_explained_from_its_components(
        tmp_path: Path) -> None:
    old = firm(1, "旧记录")
    del old["explain"], old["risk"]
    path = tmp_path / "old.xlsx"
    write_recommendations_xlsx(path, region_name="石家庄市", chain_name="生物医药",
                               generated_at="2026-01-02", firms=[old])
    rows = _rows(openpyxl.load_workbook(path), "推荐理由")
    parts = [r for r in rows if r[2] == "评分构成"]
    assert [r[4] for r in parts] == [c["value"] for c in old["components"].values()]
    assert [r[5] for r in parts] == list(TARGET_WEIGHTS.values())
    assert not [r for r in rows if r[2] == "风险提示"]


def test_an_empty_ranking_still_explains_its_score(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    write_recommendations_xlsx(path, region_name="石家庄市", chain_name="生物医药",
                               generated_at="2026-01-02", firms=[])
    workbook = openpyxl.load_workbook(path)
    assert workbook["推荐理由"].max_row == 1
    notes = [c.value for row in workbook["说明"].iter_rows() for c in row]
    formula = str(notes[notes.index("综合得分") + 1])
    assert formula.startswith("综合得分 = ")
    assert all(f"{w:.2f}×" in formula for w in TARGET_WEIGHTS.values())
    assert "筛选条件" not in notes


def test_workbook_layout_and_no_formula_anywhere(tmp_path: Path) -> None:
    hostile = firm(1, HOSTILE)
    path = tmp_path / "layout.xlsx"
    write_recommendations_xlsx(path, region_name="石家庄市", chain_name="生物医药",
                               generated_at="2026-01-02", firms=[hostile], nodes=[node(1)],
                               universe="all", coverage_zh="工商登记企业（已载入：河北省）")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["招商企业排名", "推荐理由", "重点发展环节", "环节推荐理由",
                                   "说明"]
    for sheet in workbook.worksheets[:4]:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    ranking = workbook["招商企业排名"]
    assert ranking.cell(row=2, column=2).value == "'" + HOSTILE
    assert ranking.cell(row=2, column=9).number_format == "0.000"
    assert ranking.cell(row=2, column=5).value == "上市企业"
    notes = "\n".join(str(c.value) for row in workbook["说明"].iter_rows() for c in row
                      if c.value)
    for text in ("ChainKnowledgeGraph", "Tushare", "全部企业", "CC BY-NC-SA",
                 "数据覆盖\n工商登记企业（已载入：河北省）"):
        assert text in notes
    empty = tmp_path / "empty-nodes.xlsx"
    write_recommendations_xlsx(empty, region_name="石家庄市", chain_name="生物医药",
                               generated_at="2026-01-02", firms=[])
    assert openpyxl.load_workbook(empty).sheetnames == ["招商企业排名", "推荐理由", "说明"]
