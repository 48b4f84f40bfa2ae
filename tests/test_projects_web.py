"""The 项目库 (/projects, /project/{id}) and 目标监测 (/targets) pages and their chart
options, driven by NiceGUI's simulated user on the web store of tests/test_web_pages.py
with a few projects of 石家庄 and one target added; the 项目库 page's sheet upload
(web/pages/project_upload.py) on a copy of that store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from nicegui import app, ui
from nicegui.testing import User

from chainatlas.projects import ledger, targets
from chainatlas.store import Database
from chainatlas.web import project_charts as pc
from chainatlas.web.pages.project_upload import problem_rows, report_headline
from chainatlas.web.pages.projects import (
    changed_fields,
    conflict_lines,
    project_url,
    stage_text,
    text_of,
)
from chainatlas.web.state import request_db, write_db
from tests import test_web_pages as pages
from tests.helpers import XSS, copy_store
from tests.test_projects_excel import GOOD, _bad_rows, _sheet
from tests.test_web_pages import ANALYST, _one, eventually, sign_in

web_store, user, nicegui_storage = pages.web_store, pages.user, pages.nicegui_storage

pytestmark = pytest.mark.usefixtures("keep_modules")
anyio = pytest.mark.anyio


@pytest.fixture(scope="module")
def seeded(web_store: Path) -> Path:
    """The web store plus three projects (one named with markup) and a target behind."""
    with Database(web_store) as db:
        ledger.create_project(db, {"name": "华药新厂", "region_adcode": "130110",
                                   "investor_name": "华北制药", "agreed_wan": "1.5亿元",
                                   "chain_id": "biomedicine", "park": "鹿泉经开区"},
                              actor="test", stage="signed", reason="导入")
        ledger.create_project(db, {"name": XSS, "region_adcode": "130104",
                                   "agreed_wan": 800}, actor="test")
        ledger.create_project(db, {"name": "外省项目", "region_adcode": "420100"},
                              actor="test")
        year = dt.date.today().year
        tid = targets.add_target(db, name="生物医药营收", indicator="revenue",
                                 region="130100", base_year=year - 1, base_value=100,
                                 target_value=200, period_start=dt.date(year, 1, 1),
                                 period_end=dt.date(year, 12, 31), actor="test")
        targets.record_snapshot(db, tid, dt.date(year, 1, 1), 101, actor="test")
    return web_store


@pytest.fixture
def served_store(request: pytest.FixtureRequest, seeded: Path, tmp_path: Path) -> Path:
    """What the ``user`` fixture's app serves: the seeded store, or a copy of it for a
    test that imports projects (parametrised indirectly with ``"copy"``), so the other
    tests see the seeded projects only."""
    if getattr(request, "param", None) == "copy":
        return copy_store(seeded, tmp_path)
    return seeded


# -- pure pieces ----------------------------------------------------------------------------


def test_amounts_and_shares_in_chinese() -> None:
    assert pc.wan_zh(Decimal("15000.0000")) == "1.50亿元"
    assert pc.wan_zh(3500) == "3,500万元"
    assert pc.wan_zh(None) == "—" and pc.wan_zh(float("nan")) == "—"
    assert pc.share_zh(0.425) == "42.5%" and pc.share_zh(None) == "—"


def test_stage_board_has_every_stage_in_order() -> None:
    rows = [{"project_id": 1, "stage": "signed", "name": "甲", "agreed_wan": Decimal(100),
             "paused": False},
            {"project_id": 2, "stage": "signed", "name": "乙", "agreed_wan": 900,
             "paused": True},
            {"project_id": 3, "stage": "lead", "name": "丙", "agreed_wan": None}]
    board = pc.stage_board(rows)
    assert [c["label"] for c in board] == ["线索", "洽谈", "签约", "注册", "开工", "投产"]
    signed = board[2]
    assert (signed["count"], signed["agreed_wan"], signed["paused"]) == (2, 1000.0, 1)
    assert [i["name"] for i in signed["items"]] == ["乙", "甲"]  # largest first
    assert board[1]["count"] == 0 and board[1]["items"] == []


def test_stage_bar_option_lists_every_stage() -> None:
    option = pc.stage_bar_option([{"key": "signed", "projects": 2, "agreed_wan": 25000}])
    assert option["xAxis"]["data"] == ["线索", "洽谈", "签约", "注册", "开工", "投产"]
    bars, line = option["series"]
    assert [s["name"] for s in option["series"]] == ["项目数", "协议投资额（亿元）"]
    assert [d["value"] for d in bars["data"]] == [0, 0, 2, 0, 0, 0]
    assert line["data"][2]["value"] == 2.5 and line["yAxisIndex"] == 1
    assert "2.50亿元" in bars["data"][2]["tip"]


def test_breakdown_option_largest_on_top_and_escaped() -> None:
    option = pc.breakdown_option([{"label": "生物医药", "projects": 1, "agreed_wan": 100},
                                  {"label": XSS, "projects": 2, "agreed_wan": 50000}], "额")
    assert option["yAxis"]["data"] == ["生物医药", XSS]  # the last category is drawn on top
    assert "<script>" not in option["series"][0]["data"][1]["tip"]


def test_progress_option_colours_behind_targets() -> None:
    rows = [{"name": "营收", "progress": 0.2, "time_progress": 0.5, "behind": True,
             "latest_value": 120.0, "target_value": 200.0, "unit": "亿元"},
            {"name": "项目数", "progress": 0.8, "time_progress": 0.5, "behind": False},
            {"name": "未录入", "progress": None, "time_progress": 0.5, "behind": False}]
    option = pc.progress_option(rows)
    assert option["yAxis"]["data"] == ["未录入", "项目数", "营收"]
    done, due = option["series"]
    assert [s["name"] for s in option["series"]] == ["完成进度", "时序进度"]
    assert [d["value"] for d in done["data"]] == [None, 80.0, 20.0]
    assert done["data"][2]["itemStyle"]["color"] == pc.BEHIND_COLOUR
    assert done["data"][1]["itemStyle"]["color"] == pc.ON_TRACK_COLOUR
    assert [d["value"] for d in due["data"]] == [50.0, 50.0, 50.0]
    assert pc.progress_height(option) > pc.progress_height(pc.progress_option(rows[:1]))


def test_event_rows_name_fields_and_stages_in_chinese() -> None:
    events = [{"version": 1, "kind": "create", "at": "2026-01-02T03:04:05", "actor": "ana",
               "changes": {"name": [None, "甲"], "agreed_wan": [None, "15000"]},
               "reason": None},
              {"version": 2, "kind": "move", "at": "2026-02-02", "actor": "bo",
               "changes": {"stage": ["lead", "negotiating"]}, "reason": "见面"}]
    rows = pc.event_rows(events)
    assert [r["version"] for r in rows] == [2, 1]  # newest first
    assert rows[0]["kind"] == "推进阶段" and rows[0]["changes"] == "阶段：线索 → 洽谈"
    assert rows[1]["changes"] == "项目名称：甲；协议投资额(万元)：1.50亿元"
    assert rows[0]["reason"] == "见面"


def test_alert_and_target_rows() -> None:
    alerts = pc.alert_rows([{"kind": "stage_overdue", "severity": "high",
                             "subject": "project", "subject_id": 7, "name": "甲",
                             "owner": None, "days_over": 30, "message": "超期"},
                            {"kind": "target_behind", "severity": "medium",
                             "subject": "target", "subject_id": 1, "name": "营收",
                             "owner": "ana", "days_over": None, "message": "落后"}])
    assert (alerts[0]["severity"], alerts[0]["kind"], alerts[0]["href"],
            alerts[0]["days"]) == ("高", "阶段超期", "/project/7", "30 天")
    assert (alerts[1]["kind"], alerts[1]["href"], alerts[1]["days"]) == ("目标落后", "", "—")
    rows = pc.target_rows([{"target_id": 1, "name": "营收", "indicator_label": "营业收入",
                            "unit": "亿元", "target_value": 200.0, "latest_value": 120.5,
                            "latest_month": dt.date(2026, 3, 1), "progress": 0.2,
                            "time_progress": 0.25, "behind": True}])
    assert rows[0]["target"] == "200 亿元" and rows[0]["latest"] == "120.5 亿元"
    assert (rows[0]["month"], rows[0]["status"]) == ("2026-03", "落后")


def test_page_helpers() -> None:
    assert project_url(3) == "/project/3"
    assert text_of(None) == "" and text_of(dt.date(2026, 1, 2)) == "2026-01-02"
    assert text_of(float("nan")) == ""
    assert stage_text({"stage": "signed", "paused": True, "ended": False}) == "签约（暂停）"
    row = {"name": "甲", "owner": None, "agreed_wan": Decimal("100.0000")}
    assert changed_fields(row, {"name": "甲", "owner": " 张三 ", "agreed_wan": "100.0000"}) \
        == {"owner": "张三"}
    assert changed_fields(row, {"name": ""}) == {"name": None}
    lines = conflict_lines([{"version": 2, "at": "t", "actor": "bo", "kind": "update",
                             "changes": {"park": ["A", "B"]}, "reason": None}])
    assert lines == ["v2 · t · bo · 修改：所在园区：A → B"]


def test_upload_report_pieces() -> None:
    report = {"file": "台账.xlsx", "sheet": "Sheet", "rows": 5, "imported": 2, "paused": 0,
              "ended": 1, "rejected": 3, "totals_skipped": 1, "sections_skipped": 0}
    assert report_headline(report).startswith("台账.xlsx（工作表 Sheet）：共 5 行，已导入 2 个项目")
    rows = problem_rows([{"row": 7, "field": "县区", "reason": "a"},
                         {"row": 7, "field": None, "reason": "b"},
                         {"row": None, "field": None, "reason": "c"}])
    assert [(r["key"], r["row"], r["field"]) for r in rows] == [(0, 7, "县区"), (1, 7, "—"),
                                                                 (2, "—", "—")]


# -- pages --------------------------------------------------------------------------------


def _id(name: str) -> int:
    with request_db() as db:
        rows = [r for r in ledger_rows(db) if r["name"] == name]
    return int(rows[0]["project_id"])


def ledger_rows(db: Database) -> list[dict[str, Any]]:
    from chainatlas.projects.queries import ProjectFilters, projects_frame

    return list(projects_frame(db, ProjectFilters(include_ended=True)).to_dict("records"))


@anyio
async def test_ledger_page_kpis_board_and_table(user: User) -> None:
    await user.open("/projects")
    await user.should_see("阶段看板")
    table = _one(user, "ledger-table")
    names = {r["name"] for r in table.rows}
    assert names == {"华药新厂", XSS}  # 石家庄 and its districts only
    signed = next(r for r in table.rows if r["name"] == "华药新厂")
    assert (signed["stage"], signed["agreed"], signed["region"]) == ("签约", "1.50亿元",
                                                                     "鹿泉区")
    chart = _one(user, "stage-chart")
    assert [d["value"] for d in chart.options["series"][0]["data"]] == [1, 0, 1, 0, 0, 0]
    await user.should_see("签约 · 1 个", marker="board-signed")
    await user.should_see("在库项目")


@anyio
async def test_ledger_filters(user: User) -> None:
    await user.open("/projects")
    await user.should_see("阶段看板")
    with user:
        _one(user, "ledger-stage").value = "lead"
    await eventually(lambda: {r["name"] for r in _one(user, "ledger-table").rows} == {XSS})


@anyio
async def test_project_page_for_a_viewer_has_no_forms(user: User) -> None:
    await user.open(project_url(_id("华药新厂")))
    await user.should_see("项目动态")
    await user.should_see(marker="project-sign-in")
    events = _one(user, "project-events").rows
    assert events[0]["kind"] == "新建" and "华药新厂" in events[0]["changes"]
    await user.should_not_see(marker="edit-submit")


@anyio
async def test_missing_project(user: User) -> None:
    await user.open("/project/99999")
    await user.should_see("没有编号为 99999 的项目")


@anyio
async def test_an_analyst_edits_and_moves_a_project(user: User) -> None:
    pid = _id("华药新厂")
    await sign_in(user)
    await user.open(project_url(pid))
    await user.should_see("修改项目")
    user.find(marker="edit-owner").clear().type("李四")
    user.find(marker="edit-submit").click()
    await user.should_see("已保存", retries=50)
    with request_db() as db:
        row = ledger.get_project(db, pid)
    assert row["owner"] == "李四"
    version = int(row["version"])
    await eventually(lambda: _one(user, "project-events").rows[0]["kind"] == "修改")
    with user:
        _one(user, "move-stage").value = "registered"
    user.find(marker="move-submit").click()
    await user.should_see("已推进", retries=50)
    with request_db() as db:
        row = ledger.get_project(db, pid)
    assert (row["stage"], int(row["version"])) == ("registered", version + 1)
    with request_db() as db:
        actors = {e["actor"] for e in ledger.project_events(db, pid)[1:]}
    assert actors == {ANALYST}


@anyio
async def test_a_stale_form_is_refused_with_the_other_change(user: User) -> None:
    pid = _id(XSS)
    await sign_in(user)
    await user.open(project_url(pid))
    await user.should_see("修改项目")
    with write_db() as db:  # someone else changes the project after the page read it
        version = int(ledger.get_project(db, pid)["version"])
        ledger.update_project(db, pid, {"park": "高新区"}, actor="other",
                              expected_version=version)
    user.find(marker="edit-owner").clear().type("王五")
    user.find(marker="edit-submit").click()
    await user.should_see("未保存：项目已被他人修改", retries=50)
    await user.should_see("所在园区：高新区", marker="conflict")
    with request_db() as db:
        row = ledger.get_project(db, pid)
    assert row["park"] == "高新区" and row["owner"] != "王五"  # nothing lost, nothing over


@anyio
async def test_targets_page_progress_and_alerts(user: User) -> None:
    await user.open("/targets")
    await user.should_see("完成进度与时序进度")
    chart = _one(user, "progress-chart")
    assert chart.options["yAxis"]["data"] == ["生物医药营收"]
    rows = _one(user, "targets-table").rows
    assert rows[0]["progress"] == "1.0%" and rows[0]["indicator"] == "营业收入"
    await user.should_see("预警")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def drop_upload_routes() -> Iterator[None]:
    """Remove the POST routes the test's upload elements registered on NiceGUI's global
    app: NiceGUI drops them only when the next simulation starts, and a later module
    (tests/test_write_routes.py, tests/test_auth_attacks.py) checks that same app for
    write routes outside the API."""
    yield
    for route in list(app.routes):
        path = str(getattr(route, "path", ""))
        if path.startswith("/_nicegui/client/") and "/upload/" in path:
            app.remove_route(path)


async def _upload(user: User, content: bytes, name: str = "台账.xlsx") -> None:
    """Hand the page's upload element a file as the browser's upload would."""
    upload = _one(user, "upload-file")
    await upload.handle_uploads([ui.upload.SmallFileUpload(name, XLSX, content)])


def _count(sql: str) -> int:
    with request_db() as db:
        return int(db.scalar(sql))


@anyio
async def test_only_an_analyst_sees_the_sheet_upload(user: User) -> None:
    await user.open("/projects")
    await user.should_see("阶段看板")
    await user.should_not_see(marker="project-upload")


@anyio
@pytest.mark.usefixtures("drop_upload_routes")
@pytest.mark.parametrize("served_store", ["copy"], indirect=True)
async def test_an_analyst_uploads_a_project_sheet(user: User, tmp_path: Path) -> None:
    await sign_in(user)
    await user.open("/projects")
    await user.should_see(marker="project-upload")
    assert _one(user, "upload-region").value == "石家庄市"  # the page's region
    before = _count("SELECT count(*) FROM projects")
    bad = _sheet(tmp_path / "bad.xlsx", _bad_rows()).read_bytes()
    await _upload(user, bad)  # strict: nothing imported, every problem listed
    await user.should_see("整表未导入", retries=50)
    problems = _one(user, "upload-problems").rows
    assert {(r["row"], r["field"]) for r in problems} == {
        (6, "总投资（亿元）"), (7, "县区"), (7, "推进阶段"), (8, "备案代码")}
    assert _count("SELECT count(*) FROM projects") == before
    with user:
        _one(user, "upload-lenient").value = True
    await _upload(user, bad)
    await user.should_see(marker="upload-headline", content="已导入 2 个项目", retries=50)
    assert {r["row"] for r in _one(user, "upload-problems").rows} == {6, 7, 8}
    await eventually(lambda: "疫苗产业化项目" in {
        r["name"] for r in _one(user, "ledger-table").rows})  # the ledger redrawn
    assert _count("SELECT count(*) FROM projects") == before + 2
    assert _count("SELECT count(*) FROM audit_log WHERE action = 'project.import' "
                  f"AND actor = '{ANALYST}'") == 1


@anyio
@pytest.mark.usefixtures("drop_upload_routes")
@pytest.mark.parametrize("served_store", ["copy"], indirect=True)
async def test_a_good_sheet_uploads_in_the_chosen_region(user: User, tmp_path: Path) -> None:
    await sign_in(user)
    await user.open("/projects")
    await user.should_see(marker="project-upload")
    await _upload(user, _sheet(tmp_path / "good.xlsx", GOOD).read_bytes())
    await user.should_see(marker="upload-headline", content="已导入 5 个项目", retries=50)
    await user.should_not_see(marker="upload-problems")
    assert _count("SELECT count(*) FROM projects WHERE origin = 'import'") == 5
