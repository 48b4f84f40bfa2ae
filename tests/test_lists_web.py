"""The 招商清单 page (/lists) and the 精准招商 page's 加入招商清单 / 转为线索, driven by
NiceGUI's simulated user on the web store of tests/test_web_pages.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nicegui.testing import User

from chainatlas.projects import ledger, lists
from chainatlas.store import Database
from chainatlas.web.pages.lists import (
    export_url,
    item_rows,
    lead_text,
    list_rows,
    list_url,
    wanted_list,
)
from chainatlas.web.state import request_db
from tests import test_web_pages as pages
from tests.helpers import XSS
from tests.test_web_pages import ANALYST, _one, eventually, sign_in

web_store, user, nicegui_storage = pages.web_store, pages.user, pages.nicegui_storage

pytestmark = pytest.mark.usefixtures("keep_modules")
anyio = pytest.mark.anyio
#: The web bundle's one target firm of 石家庄市 on biomedicine (named with markup).
TARGET = "300999.SZ"


@pytest.fixture(scope="module")
def seeded(web_store: Path) -> Path:
    """The web store plus a list of 石家庄 biomedicine holding its (one) target firm."""
    with Database(web_store) as db:
        made = lists.create_list(db, "生物医药重点", region="130100", chain="biomedicine",
                                 note="第一批", actor="test")
        lists.add_to_list(db, int(made["list_id"]), [TARGET], actor="test")
    return web_store


@pytest.fixture
def served_store(seeded: Path) -> Path:
    """What the ``user`` fixture's app serves."""
    return seeded


def _list_id(name: str) -> int:
    with request_db() as db:
        return int(db.scalar("SELECT list_id FROM lead_lists WHERE name = ?", [name]))


# -- pure pieces ----------------------------------------------------------------------------


def test_row_builders() -> None:
    rows = list_rows([{"list_id": 3, "name": "甲", "region_adcode": "130100",
                       "region_name": None, "chain_id": "biomedicine", "chain_name": "生物医药",
                       "firms": 2, "leads": 1, "owner": "ana",
                       "created_at": "2026-12-01 08:30:12.5"}])
    assert rows == [{"list_id": 3, "name": "甲", "region": "130100", "chain": "生物医药",
                     "firms": 2, "leads": 1, "owner": "ana", "created": "2026-12-01 08:30"}]
    base = {"company_id": "X", "short_name": None, "full_name": "某某有限公司",
            "node_name": None, "score": 0.51234, "reasons_zh": "理由一；理由二", "note": None,
            "added_at": "2026-12-01 08:30"}
    [plain] = item_rows([{**base, "project_id": float("nan"), "project_stage": None}])
    assert (plain["name"], plain["node"], plain["score"], plain["lead"], plain["href"]) == \
        ("某某有限公司", "—", "0.512", "—", "")
    [led] = item_rows([{**base, "project_id": 7.0, "project_stage": "negotiating"}])
    assert (led["lead"], led["href"]) == ("#7 · 洽谈", "/project/7")
    assert lead_text({"project_id": None}) == "—"


def test_urls_and_the_list_parameter() -> None:
    assert list_url(4) == "/lists?list=4" and export_url(4) == "/api/v1/lists/4/export.xlsx"
    assert wanted_list({"list": "12"}) == 12
    for bad in ({}, {"list": "x"}, {"list": "0"}, {"list": "-3"}, {"list": "9" * 20}):
        assert wanted_list(bad) is None


# -- the page -------------------------------------------------------------------------------


@anyio
async def test_a_viewer_reads_lists_but_cannot_change_them(user: User) -> None:
    await user.open("/lists")
    await user.should_see("清单：生物医药重点")
    names = {r["name"] for r in _one(user, "lists-table").rows}
    assert "生物医药重点" in names
    [item] = _one(user, "list-items").rows
    assert (item["company_id"], item["name"]) == (TARGET, XSS) and item["reasons"] != "—"
    assert _one(user, "list-export").props["href"].endswith("/export.xlsx")
    await user.should_see(marker="lists-sign-in")
    await user.should_not_see(marker="list-lead")
    await user.should_not_see(marker="list-create")


@anyio
async def test_an_analyst_notes_leads_and_removes(user: User) -> None:
    list_id = _list_id("生物医药重点")
    await sign_in(user)
    await user.open(list_url(list_id))
    await user.should_see(marker="list-controls")
    user.find(marker="list-lead").click()  # nothing ticked: nothing happens
    await user.should_see("请先勾选企业", retries=50)
    with user:
        table = _one(user, "list-items")
        table.selected = list(table.rows)
    user.find(marker="item-note").type("已电话联系")
    user.find(marker="item-note-submit").click()
    await user.should_see("备注已保存", retries=50)
    with user:
        table = _one(user, "list-items")
        table.selected = list(table.rows)
    user.find(marker="list-lead").click()
    await user.should_see("已转为线索", retries=50)
    with request_db() as db:
        [item] = lists.list_items_frame(db, list_id).to_dict(orient="records")
        project = ledger.get_project(db, int(item["project_id"]))
    assert item["note"] == "已电话联系"
    assert project["stage"] == "lead" and project["reasons"]
    await eventually(lambda: _one(user, "list-items").rows[0]["href"] ==
                     f"/project/{project['project_id']}")
    with user:
        table = _one(user, "list-items")
        table.selected = list(table.rows)
    user.find(marker="item-remove").click()
    await user.should_see("已移出 1 家企业", retries=50)
    with request_db() as db:
        left = len(lists.list_items_frame(db, list_id))
        kept = ledger.get_project(db, int(project["project_id"]))  # the lead stays
        actions = [r["action"] for r in db.rows(
            "SELECT action FROM audit_log WHERE actor = ? AND target LIKE ? ORDER BY id",
            [ANALYST, f"list:{list_id}%"])]
    assert left == 0 and kept["stage"] == "lead"
    assert actions == ["list.note", "list.lead", "list.remove"]


@anyio
async def test_an_analyst_creates_and_deletes_a_list(user: User) -> None:
    await sign_in(user)
    await user.open("/lists")
    await user.should_see(marker="list-create")
    user.find(marker="list-name").type(f"新清单{XSS}")
    user.find(marker="list-create-submit").click()
    await user.should_see(f"清单：新清单{XSS}", retries=50)
    await user.should_see("清单中还没有企业")
    user.find(marker="list-delete").click()
    user.find(marker="list-delete-confirm").click()
    await user.should_see("清单已删除", retries=50)
    with request_db() as db:
        assert not db.scalar("SELECT count(*) FROM lead_lists WHERE name = ?",
                             [f"新清单{XSS}"])


@anyio
async def test_recommend_page_adds_ticked_firms_to_a_new_list_and_makes_leads(
        user: User) -> None:
    await sign_in(user)
    await user.open("/recommend")
    await user.should_see(marker="rec-actions")
    await user.should_see(marker="firm-table")
    table = _one(user, "firm-table")
    assert table.selection == "multiple"
    ticked = [r for r in table.rows if r["company_id"] == TARGET]
    with user:
        table.selected = ticked
    user.find(marker="rec-list-name").type("推荐页新建")
    user.find(marker="rec-add-to-list").click()
    await user.should_see("已加入 1 家企业", retries=50)
    await user.should_see("查看清单", marker="rec-result")
    list_id = _list_id("推荐页新建")
    with request_db() as db:
        kept = lists.list_items_frame(db, list_id).to_dict(orient="records")
    assert [r["company_id"] for r in kept] == [TARGET]
    assert all(r["reasons_zh"] for r in kept)  # the recommender's words, not the page's
    with user:
        _one(user, "firm-table").selected = ticked
    user.find(marker="rec-lead").click()
    await user.should_see("已转为线索项目", retries=50)
    user.find(marker="rec-lead").click()  # a second click returns the same project
    await eventually(lambda: user.notify.messages.count("已转为线索项目：") == 2)
    with request_db() as db:
        made: list[Any] = db.rows(
            "SELECT project_id, reasons FROM projects WHERE investor_company_id = ? "
            "AND region_adcode = '130100' AND chain_id = 'biomedicine'",
            [TARGET])
    assert len(made) == 1 and made[0]["reasons"]


@anyio
async def test_recommend_page_offers_viewers_a_sign_in_instead(user: User) -> None:
    await user.open("/recommend")
    await user.should_see(marker="rec-sign-in")
    await user.should_see(marker="firm-table")
    assert _one(user, "firm-table").selection is None
    await user.should_not_see(marker="rec-add-to-list")
