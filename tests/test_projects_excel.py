"""The project sheet import (招商项目台账), the ledger export and the monthly report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from chainatlas.build import build_store
from chainatlas.errors import InputError
from chainatlas.projects import excel, fields, ledger, report, targets
from chainatlas.projects.queries import ProjectFilters
from chainatlas.store import Database
from tests.helpers import make_bundle, unpinned_bundle

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
        ["总 计", None, None, 30000000],
        ["注：金额按签约口径填报"],
        ["填表人：王五", None, "审核人：赵六"]]
    path = _sheet(tmp_path / "u.xlsx", rows, header=header)
    report = excel.import_projects(mini_db, path, region="石家庄市", actor=ACTOR)
    assert report["imported"] == 2 and report["totals_skipped"] == 2
    assert report["sections_skipped"] == 3
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


def test_the_more_specific_of_two_columns_wins(mini_db: Database, tmp_path: Path) -> None:
    header = ["项目名称", "所在地", "本年完成投资", "累计完成投资", "项目进度", "推进阶段"]
    rows: list[list[object]] = [["丁项目", "鹿泉区", 10, 30, "正在办理环评手续", "洽谈"]]
    path = _sheet(tmp_path / "two.xlsx", rows, header=header, title=False)
    result = excel.import_projects(mini_db, path, actor=ACTOR)
    assert result["imported"] == 1
    assert any("本年完成投资" in n and "项目进度" in n for n in result["notes"])
    row = mini_db.rows("SELECT * FROM projects")[0]
    assert row["completed_wan"] == 30 and row["stage"] == "negotiating"
    same = _sheet(tmp_path / "same.xlsx", rows, header=["项目名称", "所在地", "所在地"],
                  title=False)
    with pytest.raises(InputError, match="both give region_adcode"):
        excel.import_projects(mini_db, same, actor=ACTOR)


def test_a_sheet_without_a_name_column(mini_db: Database, tmp_path: Path) -> None:
    path = _sheet(tmp_path / "n.xlsx", [["甲", "鹿泉区"]], header=["投资方", "所在地"])
    with pytest.raises(InputError, match="项目名称"):
        excel.import_projects(mini_db, path, actor=ACTOR)


# --------------------------------------------------------------------------- export


def _fresh(tmp_path: Path) -> Database:
    store = Database()
    build_store(store, unpinned_bundle(make_bundle(tmp_path / "fresh")))
    return store


_STATE = (*(f.name for f in fields.FIELDS), "stage", "paused", "ended")


def _projects(db: Database) -> list[dict[str, object]]:
    rows = db.rows("SELECT * FROM projects ORDER BY project_id")
    return [{k: row[k] for k in _STATE} for row in rows]


def test_round_trip_export_then_import(mini_db: Database, tmp_path: Path) -> None:
    excel.import_projects(mini_db, _sheet(tmp_path / "in.xlsx", GOOD), region="石家庄市",
                          actor=ACTOR)
    ledger.create_project(mini_db, {"name": "=HYPERLINK(\"x\")", "region_adcode": "130104",
                                    "agreed_wan": "1234.5678", "note": "甲\n乙",
                                    "reasons": "链主企业"}, actor=ACTOR, stage="lead")
    out = tmp_path / "ledger.xlsx"
    assert report.ledger_workbook(mini_db, out, ProjectFilters(include_ended=True)) == 6
    fresh = _fresh(tmp_path)
    result = excel.import_projects(fresh, out, actor=ACTOR)
    assert result["imported"] == 6 and result["rejected"] == 0
    assert _projects(fresh) == _projects(mini_db)


def test_ledger_sheet_is_formatted(mini_db: Database, tmp_path: Path) -> None:
    excel.import_projects(mini_db, _sheet(tmp_path / "in.xlsx", GOOD), region="石家庄市",
                          actor=ACTOR)
    out = tmp_path / "ledger.xlsx"
    assert report.ledger_workbook(mini_db, out, ProjectFilters(region="130110")) == 2
    ws = openpyxl.load_workbook(out).active
    headers = [c.value for c in ws[3]]
    assert headers[:3] == ["项目代码", "项目名称", "投资方"]
    assert "协议投资额(万元)" in headers and "项目阶段" in headers
    assert ws.freeze_panes == "A4" and ws.auto_filter.ref.startswith("A3:")
    agreed = headers.index("协议投资额(万元)") + 1
    stage = headers.index("项目阶段") + 1
    values = {ws.cell(r, 2).value: r for r in (4, 5)}
    row = values["疫苗产业化项目"]
    assert ws.cell(row, agreed).value == 12000 and ws.cell(row, agreed).number_format == \
        report.WAN_FORMAT
    assert ws.cell(values["中药项目"], stage).value == "签约（暂停）"
    assert ws.column_dimensions["B"].width >= 14
    assert ws.page_setup.orientation == "landscape"


def test_monthly_report_sheets_and_figures(mini_db: Database, tmp_path: Path) -> None:
    excel.import_projects(mini_db, _sheet(tmp_path / "in.xlsx", GOOD), region="石家庄市",
                          actor=ACTOR)
    tid = targets.add_target(mini_db, name="生物医药签约项目", indicator="project_count",
                             region="石家庄市", base_year=2025, base_value=0,
                             target_value=40, period_start=dt.date(2026, 1, 1),
                             period_end=dt.date(2026, 12, 31), actor=ACTOR)
    targets.record_snapshot(mini_db, tid, dt.date(2026, 10, 1), 4, actor=ACTOR)
    out = tmp_path / "月报.xlsx"
    result = report.monthly_report(mini_db, out, as_of=dt.date(2026, 11, 30),
                                   region="石家庄市")
    assert result["projects"] == 4 and result["targets_behind"] == 1
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["总览", "按阶段", "按产业链", "按园区", "目标进度", "预警"]
    overview = {r[0]: r[1] for r in book["总览"].iter_rows(min_row=4, values_only=True)}
    assert overview["在库项目"] == 4
    assert overview["协议投资额"] == (12000 + 5000 + 5000 + 20000) / 10000  # 亿元
    assert overview["暂停项目"] == 1
    stages_ = list(book["按阶段"].iter_rows(min_row=3, values_only=True))
    assert stages_[0][:2] == ("阶段", "项目数(个)")
    assert stages_[-1][0] == "合计" and stages_[-1][1] == 4
    assert {r[0] for r in stages_[1:-1]} == {"洽谈", "签约", "开工"}
    parks = list(book["按园区"].iter_rows(min_row=4, values_only=True))
    assert ("鹿泉经济开发区", 1) in {r[:2] for r in parks}
    target_sheet = book["目标进度"]
    header = [c.value for c in target_sheet[3]]
    row = [c.value for c in target_sheet[4]]
    assert row[header.index("状态")] == "落后于时序进度"
    assert row[header.index("完成进度(%)")] == pytest.approx(0.1)
    assert target_sheet.cell(4, 1).fill.fgColor.rgb.endswith(report._BEHIND_FILL)
    alerts = list(book["预警"].iter_rows(min_row=4, values_only=True))
    assert any(r[1] == "目标落后于时序进度" for r in alerts)
    assert book["目标进度"].page_setup.orientation == "landscape"
    assert book["总览"].sheet_properties.pageSetUpPr.fitToPage
