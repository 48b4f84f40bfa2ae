"""The project sheet import (招商项目台账), the ledger export and the monthly report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from chainatlas.errors import InputError
from chainatlas.projects import excel, ledger
from chainatlas.store import Database

ACTOR = "cli:tester"
HEADER = ["序号", "项目名称", "投资主体", "县区", "所在园区", "所属产业", "产业环节",
          "总投资（亿元）", "到位资金(万元)", "推进阶段", "签约时间", "计划开工时间",
          "包联领导", "备案代码", "备注"]


def _sheet(path: Path, rows: list[list[object]], *, header: list[str] | None = None,
           title: bool = True) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    head = header or HEADER
    if title:
        ws.append(["2026年石家庄市重点招商项目台账"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(head))
        ws.append(["填报单位：市投资促进局", None, None, None, None, None, None, "单位：万元"])
    ws.append(head)
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


GOOD: list[list[object]] = [
    [1, "疫苗产业化项目", "华北制药", "鹿泉区", "鹿泉经济开发区", "生物医药", "人用疫苗",
     1.2, 3000, "签约", dt.datetime(2026, 3, 2), "2027年6月", "张三",
     "2024-130110-27-01-000123", "重点"],
    [2, "抗体药物项目", "石药集团", "桥西区", None, "biomedicine", None, "5000万元", None,
     "洽谈中", None, None, "李四", None, None],
    [3, "原料药项目", "某企业", None, None, None, None, 0.5, "1000", "在建",
     "2025/5/1", "2025.09", None, None, None],
    [4, "中药项目", "某药业", "鹿泉", None, None, None, 2, None, "签约（暂停）",
     "2025年3月8日", None, None, None, None],
    [5, "终止项目", "某公司", "长安区", None, None, None, None, None, "终止",
     20250102, None, None, None, None],
    ["合计", None, None, None, None, None, None, 4.7, 4000],
]


def test_import_reads_a_bureau_sheet(mini_db: Database, tmp_path: Path) -> None:
    path = _sheet(tmp_path / "台账.xlsx", GOOD)
    report = excel.import_projects(mini_db, path, region="石家庄市", actor=ACTOR)
    assert report["imported"] == 5 and report["totals_skipped"] == 1
    assert report["rejected"] == 0 and report["paused"] == 1 and report["ended"] == 1
    rows = {r["name"]: r for r in mini_db.rows("SELECT * FROM projects")}
    vaccine = rows["疫苗产业化项目"]
    assert vaccine["agreed_wan"] == Decimal("12000") and vaccine["in_place_wan"] == 3000
    assert vaccine["region_adcode"] == "130110" and vaccine["node_id"] is not None
    assert vaccine["stage"] == "signed" and vaccine["signed_date"] == dt.date(2026, 3, 2)
    assert vaccine["planned_start_date"] == dt.date(2027, 6, 1)
    assert vaccine["owner"] == "张三" and vaccine["origin"] == "import"
    assert vaccine["code"] == "2024-130110-27-01-000123"
    antibody = rows["抗体药物项目"]
    assert antibody["region_adcode"] == "130104"  # 桥西区 within 石家庄, not 邢台's
    assert antibody["agreed_wan"] == Decimal("5000") and antibody["stage"] == "negotiating"
    assert rows["原料药项目"]["region_adcode"] == "130100"  # the importing region
    assert rows["原料药项目"]["stage"] == "started"
    assert rows["原料药项目"]["planned_start_date"] == dt.date(2025, 9, 1)
    assert rows["中药项目"]["paused"] and rows["中药项目"]["stage"] == "signed"
    assert rows["中药项目"]["region_adcode"] == "130110"
    assert rows["终止项目"]["ended"] and rows["终止项目"]["stage"] == "signed"
    assert rows["终止项目"]["signed_date"] == dt.date(2025, 1, 2)
    imports = mini_db.rows("SELECT * FROM audit_log WHERE action = 'project.import'")
    assert len(imports) == 1 and "台账.xlsx" in imports[0]["target"]


def _bad_rows() -> list[list[object]]:
    return [*GOOD[:2],
            [9, "坏金额项目", "甲", "鹿泉区", None, None, None, "很多", None, "签约"],
            [10, "坏阶段项目", "乙", "火星区", None, None, None, 1, None, "快签了"],
            [11, "重复代码项目", "丙", "鹿泉区", None, None, None, 1, None, "签约", None,
             None, None, "2024-130110-27-01-000123"]]


def test_strict_bad_sheet_leaves_the_ledger_unchanged(mini_db: Database,
                                                      tmp_path: Path) -> None:
    path = _sheet(tmp_path / "bad.xlsx", _bad_rows())
    with pytest.raises(InputError) as info:
        excel.import_projects(mini_db, path, region="130100", actor=ACTOR)
    assert mini_db.scalar("SELECT count(*) FROM projects") == 0
    assert mini_db.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'project%'") == 0
    found = {(p.row, p.field) for p in info.value.problems}
    assert found == {(6, "总投资（亿元）"), (7, "县区"), (7, "推进阶段"), (8, "备案代码")}
    assert all(p.file == str(path) for p in info.value.problems)
    duplicate = next(p for p in info.value.problems if p.row == 8)
    assert "row 4" in duplicate.reason  # the first row holding the code
    assert "3 bad row(s)" in str(info.value)


def test_lenient_imports_the_good_rows(mini_db: Database, tmp_path: Path) -> None:
    path = _sheet(tmp_path / "bad.xlsx", _bad_rows())
    report = excel.import_projects(mini_db, path, region="130100", actor=ACTOR, lenient=True)
    assert report["imported"] == 2 and report["rejected"] == 3
    assert {p["row"] for p in report["problems"]} == {6, 7, 8}
    assert mini_db.scalar("SELECT count(*) FROM projects") == 2


def test_a_code_already_in_the_ledger(mini_db: Database, tmp_path: Path) -> None:
    ledger.create_project(mini_db, {"name": "已有项目", "region_adcode": "130110",
                                    "code": "2024-130110-27-01-000123"}, actor=ACTOR)
    path = _sheet(tmp_path / "again.xlsx", GOOD[:1])
    with pytest.raises(InputError) as info:
        excel.import_projects(mini_db, path, actor=ACTOR)
    (problem,) = info.value.problems
    assert problem.row == 4 and "project 1 (已有项目)" in problem.reason


def test_no_region_without_a_default(mini_db: Database, tmp_path: Path) -> None:
    path = _sheet(tmp_path / "s.xlsx", [[1, "无地区项目", "甲"], [2, "桥西项目", "乙", "桥西区"]])
    with pytest.raises(InputError) as info:
        excel.import_projects(mini_db, path, actor=ACTOR)
    reasons = {p.row: p.reason for p in info.value.problems}
    assert "no region" in reasons[4] and "several regions" in reasons[5]


def test_header_units_and_sections(mini_db: Database, tmp_path: Path) -> None:
    header = ["项目", "企业名称", "所在地", "计划总投资(元)", "年度计划投资", "累计完成投资",
              "项目进度", "开工时间", "投产时间"]
    rows: list[list[object]] = [
        ["一、生物医药产业"],
        ["甲项目", "甲公司", "鹿泉区", 30000000, 2, "1亿元", "投产", "2024-01-05",
         dt.date(2025, 6, 30)],
        ["小计", None, None, 30000000],
        ["乙项目", "乙公司", "长安区", None, None, None, None, "2025年4月"],
        ["总 计", None, None, 30000000]]
    path = _sheet(tmp_path / "u.xlsx", rows, header=header)
    report = excel.import_projects(mini_db, path, region="石家庄市", actor=ACTOR)
    assert report["imported"] == 2 and report["totals_skipped"] == 2
    assert report["sections_skipped"] == 1
    first, second = mini_db.rows("SELECT * FROM projects ORDER BY project_id")
    assert first["agreed_wan"] == Decimal("3000")  # 元 named in the header
    assert first["planned_year_wan"] == 2 and first["completed_wan"] == 10000
    assert first["stage"] == "producing" and first["production_date"] == dt.date(2025, 6, 30)
    assert second["stage"] == "started" and second["started_date"] == dt.date(2025, 4, 1)


def test_sheet_unit_line_and_two_row_header(mini_db: Database, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["重点项目推进表"])
    ws.append(["单位：亿元"])
    ws.append(["项目名称", "所在地", "投资情况", None, "状态"])
    ws.append([None, None, "总投资", "到位资金", None])
    ws.merge_cells("A3:A4")
    ws.merge_cells("B3:B4")
    ws.merge_cells("C3:D3")
    ws.merge_cells("E3:E4")
    ws.append(["丙项目", "鹿泉区", 1.5, 0.5, "线索"])
    book.save(tmp_path / "two.xlsx")
    report = excel.import_projects(mini_db, tmp_path / "two.xlsx", actor=ACTOR)
    assert report["imported"] == 1
    row = mini_db.rows("SELECT * FROM projects")[0]
    assert row["agreed_wan"] == 15000 and row["in_place_wan"] == 5000


def test_a_sheet_without_a_name_column(mini_db: Database, tmp_path: Path) -> None:
    path = _sheet(tmp_path / "n.xlsx", [["甲", "鹿泉区"]], header=["投资方", "所在地"])
    with pytest.raises(InputError, match="项目名称"):
        excel.import_projects(mini_db, path, actor=ACTOR)
