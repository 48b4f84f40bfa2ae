"""Uploads in the web app (web/api/imports.py): a roster (issue 13 point 7, POST
/api/v1/imports/roster) and a bureau's project sheet (POST /api/v1/imports/projects,
the web twin of ``chainatlas projects import``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainatlas.build import build_store
from chainatlas.projects.scopes import add_scope
from chainatlas.store import Database
from chainatlas.store.users import add_user, issue_token
from chainatlas.web import state
from chainatlas.web.api import imports
from chainatlas.web.app import create_app
from tests.helpers import copy_store, make_bundle, unpinned_bundle
from tests.test_projects_excel import GOOD, _bad_rows, _sheet
from tests.test_roster_import import HEADER, rows

BASE = "http://127.0.0.1:8000"
URL = "/api/v1/imports/roster"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, fast_hashing: None) -> dict[str, Any]:
    """A store with an analyst, an analyst of 鹿泉区 only and a viewer, and their
    tokens."""
    folder = tmp_path_factory.mktemp("imports")
    path = folder / "store.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(make_bundle(folder / "bundle")))
        add_user(db, "ana", "analyst", "analyst passphrase", actor="test")
        add_user(db, "vic", "viewer", "viewer passphrase", actor="test")
        add_user(db, "lu", "analyst", "luquan passphrase", actor="test")
        add_scope(db, "lu", "130110", actor="test")
        tokens = {name: issue_token(db, name, actor="test") for name in ("ana", "vic", "lu")}
    return {"path": path, "tokens": tokens}


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHAINATLAS_SECRET", "test-secret")
    monkeypatch.setenv("CHAINATLAS_HOME", str(tmp_path))


@pytest.fixture
def client(built: dict[str, Any], tmp_path: Path) -> Any:
    """A client of an app serving a copy of the store (each test may change it)."""
    path = copy_store(built["path"], tmp_path)
    yield TestClient(create_app(path), base_url=BASE, raise_server_exceptions=False)
    state._paths.clear()
    db = state._state.pop("db", None)
    if db is not None:
        db.close()


def _bearer(built: dict[str, Any], who: str = "ana") -> dict[str, str]:
    return {"Authorization": f"Bearer {built['tokens'][who]}"}


def _csv(data: list[list[object]]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, *data])
    return text.getvalue().encode("utf-8-sig")


def _bad() -> list[list[object]]:
    data = rows()
    data[1][6] = "2099-01-01"  # a founding date in the future
    return data


def _roster_count() -> int:
    with state.request_db() as db:
        return int(db.scalar("SELECT count(*) FROM companies WHERE origin = 'roster'"))


def _upload(client: TestClient, built: dict[str, Any], content: bytes,
            name: str = "石家庄名单.csv", who: str = "ana", **form: str) -> Any:
    return client.post(URL, files={"file": (name, content, "text/csv")}, data=form,
                       headers=_bearer(built, who))


def test_a_good_roster_is_imported_and_placed(client: TestClient,
                                              built: dict[str, Any]) -> None:
    response = _upload(client, built, _csv(rows()))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["file"] == "石家庄名单.csv"
    assert (body["rows"], body["inserted"], body["rejected"]) == (2, 2, 0)
    assert body["problems"] == [] and "classified" in body
    assert _roster_count() == 2
    with state.request_db() as db:  # audited as the signed-in user
        assert db.scalar("SELECT actor FROM audit_log WHERE action = 'roster.import'") \
            == "ana"


def test_a_bad_strict_upload_is_refused_and_changes_nothing(client: TestClient,
                                                            built: dict[str, Any]) -> None:
    response = _upload(client, built, _csv(_bad()))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "InputError" and "nothing imported" in error["message"]
    assert "chainatlas-upload" not in response.text  # names the user's file only
    assert [(p["file"], p["row"], p["field"]) for p in error["problems"]] == [
        ("石家庄名单.csv", 3, "成立日期")]
    assert _roster_count() == 0


def test_a_lenient_upload_imports_the_good_rows_and_lists_the_bad(
        client: TestClient, built: dict[str, Any]) -> None:
    response = _upload(client, built, _csv(_bad()), lenient="true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["inserted"], body["rejected"]) == (1, 1)
    assert [(p["file"], p["row"], p["field"]) for p in body["problems"]] == [
        ("石家庄名单.csv", 3, "成立日期")]
    assert "rejects_file" not in body and _roster_count() == 1


def test_the_cli_options_encoding_and_header_map(client: TestClient,
                                                built: dict[str, Any]) -> None:
    data: list[list[object]] = [["单位全称", *HEADER[1:]], *rows()]
    text = io.StringIO()
    csv.writer(text).writerows(data)
    content = text.getvalue().encode("gbk")
    response = _upload(client, built, content, name="gbk.csv", encoding="gbk",
                       map="单位全称=name")
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 2
    bad = _upload(client, built, content, encoding="rot13")
    assert bad.status_code == 422 and "not a text encoding" in bad.text
    bad = _upload(client, built, content, map="单位全称")
    assert bad.status_code == 422 and "HEADER=field" in bad.text


def test_a_file_type_the_importer_refuses_names_the_users_file(
        client: TestClient, built: dict[str, Any]) -> None:
    response = _upload(client, built, b"%PDF-1.4", name="C:\\Users\\me\\名单.pdf")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["problems"][0]["file"] == "名单.pdf"


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("vic", 403)])
def test_uploads_need_the_analyst_role(client: TestClient, built: dict[str, Any],
                                       who: str | None, status: int) -> None:
    headers = {} if who is None else _bearer(built, who)
    response = client.post(URL, files={"file": ("r.csv", _csv(rows()), "text/csv")},
                           headers=headers)
    assert response.status_code == status, response.text
    assert _roster_count() == 0


def test_upload_names_drop_folders() -> None:
    assert imports.upload_name("C:\\tmp\\a.xlsx") == "a.xlsx"
    assert imports.upload_name("../../etc/passwd") == "passwd"
    assert imports.upload_name("") == imports.upload_name("..") == "upload"


# -- the project sheet ------------------------------------------------------------------

PROJECTS_URL = "/api/v1/imports/projects"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _workbook(tmp_path: Path, data: list[list[object]]) -> bytes:
    return _sheet(tmp_path / "built.xlsx", data).read_bytes()


def _send_sheet(client: TestClient, built: dict[str, Any], content: bytes,
                who: str | None = "ana", name: str = "台账.xlsx", **form: str) -> Any:
    headers = {} if who is None else _bearer(built, who)
    return client.post(PROJECTS_URL, files={"file": (name, content, XLSX)}, data=form,
                       headers=headers)


def _project_count() -> int:
    with state.request_db() as db:
        return int(db.scalar("SELECT count(*) FROM projects"))


def _where(problems: list[dict[str, Any]]) -> set[tuple[str, int, str]]:
    return {(p["file"], p["row"], p["field"]) for p in problems}


def test_a_project_sheet_is_imported_as_the_user(client: TestClient, built: dict[str, Any],
                                                 tmp_path: Path) -> None:
    response = _send_sheet(client, built, _workbook(tmp_path, GOOD), region="石家庄市")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["file"] == "台账.xlsx" and body["problems"] == []
    assert (body["imported"], body["rejected"], body["totals_skipped"]) == (5, 0, 1)
    assert (body["paused"], body["ended"]) == (1, 1) and len(body["project_ids"]) == 5
    assert _project_count() == 5
    with state.request_db() as db:  # one audit line for the sheet, named after the user
        lines = db.rows("SELECT actor, target FROM audit_log WHERE action = 'project.import'")
        creators = {r["actor"] for r in db.rows("SELECT actor FROM project_events")}
    assert lines == [{"actor": "ana", "target": "file:台账.xlsx"}] and creators == {"ana"}


def test_a_bad_strict_sheet_is_refused_whole(client: TestClient, built: dict[str, Any],
                                             tmp_path: Path) -> None:
    response = _send_sheet(client, built, _workbook(tmp_path, _bad_rows()), region="130100")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "InputError" and "nothing imported" in error["message"]
    assert "chainatlas-upload" not in response.text  # the user's file name only
    assert _where(error["problems"]) == {
        ("台账.xlsx", 6, "总投资（亿元）"), ("台账.xlsx", 7, "县区"), ("台账.xlsx", 7, "推进阶段"),
        ("台账.xlsx", 8, "备案代码")}
    assert _project_count() == 0
    with state.request_db() as db:
        assert db.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'project%'") == 0


def test_a_lenient_sheet_imports_the_good_rows(client: TestClient, built: dict[str, Any],
                                               tmp_path: Path) -> None:
    response = _send_sheet(client, built, _workbook(tmp_path, _bad_rows()), region="130100",
                           lenient="true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["imported"], body["rejected"]) == (2, 3)
    assert {(p["file"], p["row"]) for p in body["problems"]} == {
        ("台账.xlsx", 6), ("台账.xlsx", 7), ("台账.xlsx", 8)}
    assert "chainatlas-upload" not in response.text and _project_count() == 2
    with state.request_db() as db:
        audit = db.rows("SELECT actor FROM audit_log WHERE action = 'project.import'")
    assert audit == [{"actor": "ana"}]


def test_a_scoped_analyst_imports_only_their_district(client: TestClient,
                                                      built: dict[str, Any],
                                                      tmp_path: Path) -> None:
    content = _workbook(tmp_path, GOOD)  # rows 4 and 7 are 鹿泉区's; 5, 6, 8 are not
    strict = _send_sheet(client, built, content, who="lu", region="石家庄市")
    assert strict.status_code == 422, strict.text
    problems = strict.json()["error"]["problems"]
    assert _where(problems) == {("台账.xlsx", row, "县区") for row in (5, 6, 8)}
    assert all("lu may change projects of 鹿泉区" in p["reason"] for p in problems)
    assert _project_count() == 0
    lenient = _send_sheet(client, built, content, who="lu", region="石家庄市", lenient="1")
    assert lenient.status_code == 200, lenient.text
    assert (lenient.json()["imported"], lenient.json()["rejected"]) == (2, 3)
    with state.request_db() as db:
        regions = {r["region_adcode"] for r in db.rows("SELECT region_adcode FROM projects")}
    assert regions == {"130110"}


def test_the_sheet_must_be_xlsx_and_the_region_known(client: TestClient,
                                                   built: dict[str, Any],
                                                   tmp_path: Path) -> None:
    wrong = _send_sheet(client, built, b"a,b\n", name="C:\\tmp\\台账.csv")
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["error"]["problems"][0]["file"] == "台账.csv"
    unknown = _send_sheet(client, built, _workbook(tmp_path, GOOD), region="没有这个地区")
    assert unknown.status_code == 404, unknown.text
    assert _project_count() == 0


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("vic", 403)])
def test_project_uploads_need_the_analyst_role(client: TestClient, built: dict[str, Any],
                                               tmp_path: Path, who: str | None,
                                               status: int) -> None:
    response = _send_sheet(client, built, _workbook(tmp_path, GOOD), who=who,
                           region="石家庄市")
    assert response.status_code == status, response.text
    assert _project_count() == 0
