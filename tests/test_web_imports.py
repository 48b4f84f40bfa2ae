"""Uploads of a roster in the web app (issue 13 point 7): POST /api/v1/imports/roster and
the 导入数据 page's pure parts (web/api/imports.py, web/pages/imports.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainatlas.build import build_store
from chainatlas.store import Database
from chainatlas.store.users import add_user, issue_token
from chainatlas.web import state
from chainatlas.web.api import imports
from chainatlas.web.app import create_app
from tests.helpers import copy_store, make_bundle, unpinned_bundle
from tests.test_roster_import import HEADER, rows

BASE = "http://127.0.0.1:8000"
URL = "/api/v1/imports/roster"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, fast_hashing: None) -> dict[str, Any]:
    """A store with an analyst and a viewer, and their tokens."""
    folder = tmp_path_factory.mktemp("imports")
    path = folder / "store.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(make_bundle(folder / "bundle")))
        add_user(db, "ana", "analyst", "analyst passphrase", actor="test")
        add_user(db, "vic", "viewer", "viewer passphrase", actor="test")
        tokens = {name: issue_token(db, name, actor="test") for name in ("ana", "vic")}
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
