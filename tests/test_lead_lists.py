"""招商清单: firms listed with the recommender's reasons, one click to a 线索 project."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from chainatlas.errors import NotFoundError, ParameterError
from chainatlas.projects import lists
from chainatlas.projects.ledger import get_project
from chainatlas.store import Database

FIRM = "300054.SZ"  # 鼎龙股份 (武汉): a target of 石家庄市 on 新一代电子信息 in the mini store


def _audit(db: Database) -> list[str]:
    return [r["action"] for r in db.rows("SELECT action FROM audit_log ORDER BY id")]


def test_a_listed_firm_keeps_the_recommenders_reasons(mini_db: Database) -> None:
    lst = lists.create_list(mini_db, "电子信息重点企业", region="石家庄市",
                            chain="electronics", note="第一批", actor="ana")
    assert lists.add_to_list(mini_db, lst["list_id"], [FIRM], actor="ana") == {
        "added": [FIRM], "already": []}
    assert lists.add_to_list(mini_db, lst["list_id"], [FIRM], actor="ana") == {
        "added": [], "already": [FIRM]}
    item = lists.list_items_frame(mini_db, lst["list_id"]).iloc[0]
    assert item["short_name"] == "鼎龙股份" and item["node_id"]
    reasons = json.loads(item["reasons"])
    assert reasons["rank"] == 1 and reasons["reasons_zh"] and item["reasons_zh"]
    with pytest.raises(NotFoundError, match="Not among the recommended"):
        lists.add_to_list(mini_db, lst["list_id"], ["002603.SZ"], actor="ana")  # local firm
    with pytest.raises(ParameterError, match="already exists"):
        lists.create_list(mini_db, "电子信息重点企业", region="石家庄市", chain="electronics",
                          actor="ana")


def test_one_click_to_a_lead_twice_gives_one_project(mini_db: Database) -> None:
    lst = lists.create_list(mini_db, "清单", region="石家庄市", chain="electronics", actor="ana")
    lists.add_to_list(mini_db, lst["list_id"], [FIRM], actor="ana")
    first = lists.lead_from_item(mini_db, lst["list_id"], FIRM, actor="ana")
    again = lists.lead_from_item(mini_db, lst["list_id"], FIRM, actor="ana")
    assert first["project_id"] == again["project_id"]
    project = get_project(mini_db, first["project_id"])
    assert project["stage"] == "lead" and project["origin"] == "recommendation"
    assert project["investor_company_id"] == FIRM and project["name"].startswith("鼎龙股份·")
    assert project["reasons"] and project["region_adcode"] == "130100"
    assert mini_db.scalar("SELECT count(*) FROM projects") == 1
    item = lists.list_items_frame(mini_db, lst["list_id"]).iloc[0]
    assert item["project_id"] == first["project_id"] and item["project_stage"] == "lead"
    assert _audit(mini_db) == ["list.create", "list.add", "project.create", "list.lead"]


def test_a_lead_straight_from_the_recommendation(mini_db: Database) -> None:
    row = lists.lead_from_recommendation(mini_db, FIRM, region="石家庄市", chain="electronics",
                                         actor="ana")
    same = lists.lead_from_recommendation(mini_db, FIRM, region="130100", chain="electronics",
                                          actor="ana")
    assert row["project_id"] == same["project_id"] and row["reasons"]


def test_notes_removal_deletion_and_export(mini_db: Database, tmp_path: Path) -> None:
    lst = lists.create_list(mini_db, "清单", region="石家庄市", chain="electronics", actor="ana")
    lists.add_to_list(mini_db, lst["list_id"], [FIRM], actor="ana")
    lists.set_item_note(mini_db, lst["list_id"], FIRM, "已电话联系", actor="ana")
    path = lists.list_workbook(mini_db, lst["list_id"], tmp_path / "list.xlsx")
    sheet = openpyxl.load_workbook(path).active
    assert sheet["A1"].value == "招商清单：清单" and sheet["A3"].value == "企业简称"
    assert sheet["A4"].value == "鼎龙股份" and sheet["F4"].value == "已电话联系"
    assert sheet["E4"].value  # the reasons
    assert lists.lists_frame(mini_db).iloc[0]["firms"] == 1
    lists.remove_from_list(mini_db, lst["list_id"], FIRM, actor="ana")
    lists.delete_list(mini_db, lst["list_id"], actor="ana")
    with pytest.raises(NotFoundError):
        lists.get_list(mini_db, lst["list_id"])
    assert _audit(mini_db)[-3:] == ["list.note", "list.remove", "list.delete"]
