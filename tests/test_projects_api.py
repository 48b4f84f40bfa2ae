"""/api/v1/projects, /targets and /alerts: reads, writes, the 409 race, scopes, audit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainatlas.projects import scopes
from chainatlas.store import Database
from chainatlas.store.users import add_user, issue_token
from chainatlas.web.app import create_app
from chainatlas.web.state import request_db
from tests.helpers import built_store, copy_store

BASE = "http://127.0.0.1:8000"
NAMES = {"ana": "analyst", "bob": "analyst", "luquan": "analyst", "vic": "viewer"}
PROJECT = {"name": "华药生物疫苗产业化项目", "region_adcode": "鹿泉区",
           "chain_id": "biomedicine", "node_id": "疫苗", "agreed_wan": "1.2亿元",
           "investor_name": "华北制药", "park": "鹿泉经济开发区"}
TARGET = {"name": "生物医药签约项目", "indicator": "project_count", "region": "石家庄市",
          "chain": "biomedicine", "base_year": 2024, "base_value": 0, "target_value": 10,
          "period_start": "2025-01-01", "period_end": "2025-12-31"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, fast_hashing: None) -> dict[str, Any]:
    """A store file with three analysts (luquan limited to 鹿泉区), a viewer, tokens."""
    path = built_store(tmp_path_factory.mktemp("projects-api"))
    with Database(path) as db:
        for name, role in NAMES.items():
            add_user(db, name, role, f"{name} passphrase", actor="test")
        tokens = {name: issue_token(db, name, actor="test") for name in NAMES}
        scopes.add_scope(db, "luquan", "鹿泉区", actor="test")
    return {"path": path, "tokens": tokens}


@pytest.fixture
def api(built: dict[str, Any], tmp_path: Path) -> Api:
    return Api(copy_store(built["path"], tmp_path), built["tokens"])


class Api:
    """A test client on a fresh copy of the store, speaking as one of the users."""

    def __init__(self, path: Path, tokens: dict[str, str]) -> None:
        self.client = TestClient(create_app(path), base_url=BASE,
                                 raise_server_exceptions=False)
        self.tokens = tokens

    def get(self, url: str, status: int = 200) -> Any:
        response = self.client.get(url)
        assert response.status_code == status, response.text
        return response.json()

    def send(self, method: str, url: str, body: dict[str, Any], who: str = "ana",
             status: int = 200) -> Any:
        response = self.client.request(method, url, json=body, headers={
            "Authorization": f"Bearer {self.tokens[who]}"})
        assert response.status_code == status, response.text
        return response.json()

    def create(self, who: str = "ana", **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = self.send("POST", "/api/v1/projects", {**PROJECT, **fields},
                                         who, 201)
        return body


def _audit() -> list[dict[str, Any]]:
    with request_db() as db:
        return db.rows("SELECT id, actor, action, target FROM audit_log ORDER BY id")


def test_create_read_and_list(api: Api) -> None:
    row = api.create()
    assert row["version"] == 1 and row["region_adcode"] == "130110"
    assert row["agreed_wan"] == 12000 and row["stage_label"] == "线索" and row["owner"] == "ana"
    one = api.get(f"/api/v1/projects/{row['project_id']}")
    assert one["project"]["node_id"] == "bm_vaccines"
    assert [e["kind"] for e in one["events"]] == ["create"]
    assert one["events"][0]["actor"] == "ana"
    api.create(name="桥西智能制造项目", region_adcode="桥西区", chain_id=None, node_id=None)
    page = api.get("/api/v1/projects?limit=1")
    assert page["total"] == 2 and len(page["items"]) == 1
    assert api.get("/api/v1/projects?region=鹿泉区")["total"] == 1
    assert api.get("/api/v1/projects?chain=生物医药&node=疫苗")["total"] == 1
    assert api.get("/api/v1/projects?search=桥西")["items"][0]["region_adcode"] == "130104"
    assert api.get("/api/v1/projects?stage=签约")["total"] == 0
    assert api.get("/api/v1/projects?offset=5")["items"] == []


def test_kpis_and_breakdown(api: Api) -> None:
    api.create()
    api.create(name="第二个项目", agreed_wan=3000, stage="signed")
    kpis = api.get("/api/v1/projects/kpis")
    assert kpis["projects"] == 2 and kpis["agreed_wan"] == 15000
    assert kpis["signed_or_later"] == 1
    stages = api.get("/api/v1/projects/breakdown?by=stage")
    assert [(s["key"], s["label"], s["projects"]) for s in stages] == [
        ("lead", "线索", 1), ("signed", "签约", 1)]
    assert api.get("/api/v1/projects/breakdown?by=park")[0]["label"] == "鹿泉经济开发区"
    assert api.get("/api/v1/projects/breakdown?by=nothing", 422)


def test_moves_pauses_and_ends(api: Api) -> None:
    pid = api.create()["project_id"]
    url = f"/api/v1/projects/{pid}"
    moved = api.send("POST", url + "/move", {"stage": "洽谈", "expected_version": 1})
    assert moved["stage"] == "negotiating" and moved["version"] == 2
    skip = api.send("POST", url + "/move", {"stage": "开工", "expected_version": 2}, status=422)
    assert "reason" in skip["error"]["message"]
    paused = api.send("POST", url + "/pause", {"expected_version": 2, "reason": "企业融资"})
    assert paused["paused"] is True
    resumed = api.send("POST", url + "/resume", {"expected_version": 3, "reason": "融资到位"})
    assert resumed["paused"] is False
    ended = api.send("POST", url + "/end", {"expected_version": 4, "reason": "企业撤资"})
    assert ended["ended"] is True
    api.send("PATCH", url, {"note": "x", "expected_version": 5}, status=422)
    events = api.get(url)["events"]
    assert [e["kind"] for e in events] == ["create", "move", "pause", "resume", "end"]
    assert events[-1]["reason"] == "企业撤资"


def test_a_stale_patch_is_409_with_the_first_change(api: Api) -> None:
    pid = api.create()["project_id"]
    url = f"/api/v1/projects/{pid}"
    # both analysts read version 1
    assert api.get(url)["project"]["version"] == 1
    assert api.get(url)["project"]["version"] == 1
    first = api.send("PATCH", url, {"in_place_wan": 500, "expected_version": 1}, "ana")
    assert first["version"] == 2
    refused = api.send("PATCH", url, {"in_place_wan": 800, "expected_version": 1}, "bob",
                       status=409)["error"]
    assert refused["type"] == "ConflictError"
    [change] = refused["changes"]
    assert change["actor"] == "ana" and change["version"] == 2
    assert change["changes"]["in_place_wan"][1] == "500"
    kept = api.get(url)["project"]
    assert kept["in_place_wan"] == 500 and kept["version"] == 2
    stale_move = api.send("POST", url + "/move", {"stage": "洽谈", "expected_version": 1},
                          "bob", status=409)
    assert stale_move["error"]["changes"][0]["actor"] == "ana"


def test_an_analyst_of_luquan_cannot_touch_qiaoxi(api: Api) -> None:
    own = api.create("luquan")
    assert own["region_adcode"] == "130110"
    other = api.create(name="桥西项目", region_adcode="桥西区", park=None)
    url = f"/api/v1/projects/{other['project_id']}"
    for method, path, body in (
            ("PATCH", url, {"note": "改", "expected_version": 1}),
            ("POST", url + "/move", {"stage": "洽谈", "expected_version": 1}),
            ("POST", url + "/pause", {"expected_version": 1, "reason": "暂缓"}),
            ("POST", url + "/end", {"expected_version": 1, "reason": "终止"})):
        error = api.send(method, path, body, "luquan", status=403)["error"]
        assert error["type"] == "ForbiddenError" and "鹿泉区" in error["message"]
    api.send("POST", "/api/v1/projects", {**PROJECT, "region_adcode": "桥西区"}, "luquan", 403)
    moved_out = {"region_adcode": "桥西区", "expected_version": 1}
    api.send("PATCH", f"/api/v1/projects/{own['project_id']}", moved_out, "luquan", 403)
    assert api.get(url)["project"]["version"] == 1


def test_every_write_leaves_one_audit_line(api: Api) -> None:
    before = _audit()
    pid = api.create()["project_id"]
    url = f"/api/v1/projects/{pid}"
    api.send("PATCH", url, {"in_place_wan": 100, "expected_version": 1})
    api.send("POST", url + "/move", {"stage": "negotiating", "expected_version": 2})
    api.send("POST", url + "/pause", {"expected_version": 3, "reason": "等待审批"})
    api.send("POST", url + "/resume", {"expected_version": 4, "reason": "审批通过"})
    target = api.send("POST", "/api/v1/targets", TARGET, status=201)
    turl = f"/api/v1/targets/{target['target_id']}"
    api.send("PATCH", turl, {"target_value": 12, "expected_version": 1})
    api.send("POST", turl + "/snapshots", {"month": "2025-03", "value": 4}, status=201)
    api.send("POST", url + "/end", {"expected_version": 5, "reason": "撤资"})
    # refused writes leave nothing
    api.send("PATCH", url, {"note": "x", "expected_version": 1}, status=409)
    api.send("POST", url + "/move", {"stage": "lead", "expected_version": 6}, "vic", 403)
    new = _audit()[len(before):]
    assert [(r["action"], r["actor"]) for r in new] == [
        ("project.create", "ana"), ("project.update", "ana"), ("project.move", "ana"),
        ("project.pause", "ana"), ("project.resume", "ana"), ("target.add", "ana"),
        ("target.update", "ana"), ("target.snapshot", "ana"), ("project.end", "ana")]
    assert {r["target"] for r in new if r["action"].startswith("project.")} == {
        f"project:{pid}"}


def test_targets_progress_and_alerts(api: Api) -> None:
    target = api.send("POST", "/api/v1/targets", TARGET, status=201)
    assert target["version"] == 1 and target["region_adcode"] == "130100"
    turl = f"/api/v1/targets/{target['target_id']}"
    api.send("POST", turl + "/snapshots", {"month": "2025-06", "value": 2}, status=201)
    listed = api.get("/api/v1/targets")
    assert listed[0]["indicator_label"] == "项目数"
    [row] = api.get("/api/v1/targets/progress?as_of=2025-06-30")
    assert row["progress"] == pytest.approx(0.2) and row["behind"] is True
    assert row["time_progress"] == pytest.approx(181 / 365)
    stale = api.send("PATCH", turl, {"name": "改名", "expected_version": 1})
    assert stale["version"] == 2
    conflict = api.send("PATCH", turl, {"name": "又改", "expected_version": 1}, "bob", 409)
    assert conflict["error"]["changes"][0]["actor"] == "ana"
    old = (dt.date.today() - dt.timedelta(days=400)).isoformat()
    api.create(lead_date=old)
    api.send("POST", "/api/v1/projects/1/move", {"stage": "洽谈", "expected_version": 1,
                                                 "effective": old})
    alerts = api.get("/api/v1/alerts?as_of=2025-06-30&region=石家庄市")
    assert {a["kind"] for a in alerts} == {"target_behind"}
    kinds = {a["kind"] for a in api.get("/api/v1/alerts")}
    assert "stage_overdue" in kinds
    assert api.get("/api/v1/alerts?region=桥西区") == []


@pytest.mark.parametrize(("url", "status"), [
    ("/api/v1/projects/99", 404), ("/api/v1/projects?region=火星市", 404),
    ("/api/v1/projects?stage=天上", 422), ("/api/v1/projects?limit=0", 422),
    ("/api/v1/targets/progress?as_of=yesterday", 422), ("/api/v1/alerts?region=火星市", 404),
])
def test_bad_reads_are_clean_errors(api: Api, url: str, status: int) -> None:
    assert set(api.get(url, status)["error"]) >= {"type", "message"}


def test_bad_writes_name_the_field(api: Api) -> None:
    error = api.send("POST", "/api/v1/projects", {**PROJECT, "agreed_wan": "-5"},
                     status=422)["error"]
    assert "agreed_wan" in error["message"]
    api.send("POST", "/api/v1/projects", {**PROJECT, "colour": "red"}, status=422)
    api.send("POST", "/api/v1/projects/1/move", {"stage": "洽谈", "expected_version": 1},
             status=404)
    api.send("POST", "/api/v1/targets", {**TARGET, "indicator": "幸福感"}, status=422)


def test_routes_are_documented(api: Api) -> None:
    paths = api.get("/openapi.json")["paths"]
    assert paths["/api/v1/projects"]["get"]["tags"] == ["projects 项目库"]
    assert "409" in paths["/api/v1/projects/{project_id}"]["patch"]["responses"]
    assert paths["/api/v1/alerts"]["get"]["tags"] == ["targets 目标监测"]


def test_the_ledger_and_the_monthly_report_download(api: Api) -> None:
    import io

    import openpyxl

    api.create()
    api.create(name="桥西项目", region_adcode="桥西区", park=None)
    response = api.client.get("/api/v1/projects/export.xlsx?region=鹿泉区")
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cells = {str(c.value) for row in sheet.iter_rows() for c in row if c.value}
    assert "华药生物疫苗产业化项目" in cells and "桥西项目" not in cells
    monthly = api.client.get("/api/v1/projects/report.xlsx?as_of=2026-06-30&region=石家庄市")
    assert monthly.status_code == 200, monthly.text
    names = openpyxl.load_workbook(io.BytesIO(monthly.content)).sheetnames
    assert len(names) >= 5
    assert api.get("/api/v1/projects/report.xlsx?region=火星市", 404)
