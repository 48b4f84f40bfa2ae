"""招商清单 routes: lists, firms added with the recommender's reasons, one-click leads,
the Excel export; writes need the analyst role and land in the audit log."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from chainatlas.web.state import request_db
from tests.test_projects_api import Api, built  # noqa: F401  (the shared store fixture)

FIRM = "300054.SZ"  # 鼎龙股份 (武汉): a target of 石家庄市 on 新一代电子信息


@pytest.fixture
def lists_api(built: dict[str, Any], tmp_path: Path) -> Api:  # noqa: F811
    from tests.helpers import copy_store

    return Api(copy_store(built["path"], tmp_path), built["tokens"])


def _data(body: Any) -> Any:
    return body["data"] if isinstance(body, dict) and "data" in body else body


def test_a_list_from_creation_to_lead_and_export(lists_api: Api) -> None:
    created = _data(lists_api.send("POST", "/api/v1/lists", {
        "name": "电子信息重点企业", "region": "石家庄市", "chain": "electronics"}, status=201))
    list_id = created["list_id"]
    added = _data(lists_api.send("POST", f"/api/v1/lists/{list_id}/items",
                                 {"company_ids": [FIRM]}))
    assert added == {"added": [FIRM], "already": []}
    shown = _data(lists_api.get(f"/api/v1/lists/{list_id}"))
    assert shown["items"][0]["company_id"] == FIRM and shown["items"][0]["reasons_zh"]
    lists_api.send("PATCH", f"/api/v1/lists/{list_id}/items/{FIRM}", {"note": "已联系"})
    lead = _data(lists_api.send("POST", f"/api/v1/lists/{list_id}/items/{FIRM}/lead", {}))
    again = _data(lists_api.send("POST", f"/api/v1/lists/{list_id}/items/{FIRM}/lead", {}))
    assert lead["project_id"] == again["project_id"] and lead["stage"] == "lead"
    assert lead["reasons"]
    response = lists_api.client.get(f"/api/v1/lists/{list_id}/export.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet["A4"].value == "鼎龙股份" and sheet["F4"].value == "已联系"
    with request_db() as db:
        actions = [r["action"] for r in db.rows("SELECT action FROM audit_log WHERE actor = "
                                                "'ana' ORDER BY id")]
    assert actions == ["list.create", "list.add", "list.note", "project.create", "list.lead"]


def test_client_sent_reasons_are_refused_and_roles_checked(lists_api: Api) -> None:
    body = {"name": "x", "region": "石家庄市", "chain": "electronics"}
    lists_api.send("POST", "/api/v1/lists", body, who="vic", status=403)
    created = _data(lists_api.send("POST", "/api/v1/lists", body, status=201))
    lists_api.send("POST", f"/api/v1/lists/{created['list_id']}/items",
                   {"company_ids": [FIRM], "reasons": ["我说的"]}, status=422)
    lists_api.send("POST", f"/api/v1/lists/{created['list_id']}/items",
                   {"company_ids": ["002603.SZ"]}, status=404)  # a local firm: no target


def test_a_lead_straight_from_the_recommendation(lists_api: Api) -> None:
    body = {"company_id": FIRM, "region": "石家庄市", "chain": "electronics"}
    first = _data(lists_api.send("POST", "/api/v1/recommend/lead", body))
    second = _data(lists_api.send("POST", "/api/v1/recommend/lead", body))
    assert first["project_id"] == second["project_id"]
    assert first["investor_company_id"] == FIRM and first["origin"] == "recommendation"


def test_firms_are_ranked_in_the_universe_the_analyst_saw(lists_api: Api) -> None:
    created = _data(lists_api.send("POST", "/api/v1/lists", {
        "name": "上市企业", "region": "石家庄市", "chain": "electronics"}, status=201))
    items = f"/api/v1/lists/{created['list_id']}/items"
    lists_api.send("POST", items, {"company_ids": [FIRM], "universe": "星系"}, status=422)
    added = _data(lists_api.send("POST", items, {"company_ids": [FIRM],
                                                 "universe": "listed"}))
    assert added["added"] == [FIRM]
    lead = {"company_id": FIRM, "region": "石家庄市", "chain": "electronics",
            "universe": "上市企业"}
    assert _data(lists_api.send("POST", "/api/v1/recommend/lead", lead))["stage"] == "lead"
