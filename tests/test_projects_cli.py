"""``chainatlas projects``: add, list, show, move (and a stale move), pause, alerts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chainatlas.cli import app
from chainatlas.projects import ledger
from chainatlas.store import Database
from tests.helpers import built_store, copy_store


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_store(tmp_path_factory.mktemp("projects_cli"))


@pytest.fixture
def store(built: Path, tmp_path: Path) -> Path:
    return copy_store(built, tmp_path)


def _run(store: Path, *args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, ["projects", *args, "--db", str(store)])
    return result.exit_code, result.output, result.exception


def test_add_list_show_move(store: Path) -> None:
    code, out, _ = _run(store, "add", "--name", "疫苗产业化项目", "--region", "鹿泉区",
                        "--set", "chain_id=biomedicine", "--set", "node_id=疫苗",
                        "--set", "agreed_wan=1.2亿元")
    assert code == 0 and "Added project 1" in out
    code, out, _ = _run(store, "list", "--json")
    rows = json.loads(out)
    assert [(r["name"], r["node_id"], float(r["agreed_wan"])) for r in rows] == [
        ("疫苗产业化项目", "bm_vaccines", 12000.0)]
    code, out, _ = _run(store, "move", "1", "洽谈", "--version", "1")
    assert code == 0 and "version 2: negotiating" in out
    code, out, _ = _run(store, "show", "1", "--json")
    shown = json.loads(out)
    assert shown["project"]["stage"] == "negotiating"
    assert [e["kind"] for e in shown["events"]] == ["create", "move"]
    code, out, _ = _run(store, "show", "1")
    assert code == 0 and "协议投资额" in out and "move" in out


def test_a_stale_move_is_refused_with_the_other_change(store: Path) -> None:
    assert _run(store, "add", "--name", "芯片项目", "--region", "桥西区")[0] == 0
    assert _run(store, "pause", "1", "--version", "1", "--reason", "资金紧张")[0] == 0
    code, out, _ = _run(store, "move", "1", "洽谈", "--version", "1")
    assert code == 1 and "version 2, not 1" in out
    assert "pause" in out and "资金紧张" in out and "Traceback" not in out
    code, out, _ = _run(store, "move", "1", "洽谈", "--version", "2")
    assert code == 1 and "paused" in out


def test_bad_fields_are_refused(store: Path) -> None:
    code, out, _ = _run(store, "add", "--name", "x", "--region", "鹿泉区", "--set", "agreed")
    assert code == 1 and "name=value" in out
    code, out, _ = _run(store, "add", "--name", "x", "--region", "鹿泉区",
                        "--set", "agreed_wan=-3")
    assert code == 1 and "agreed_wan" in out
    with Database(store) as db:
        assert db.scalar("SELECT count(*) FROM projects") == 0


def test_alerts(store: Path) -> None:
    with Database(store) as db:
        ledger.create_project(db, {"name": "久拖项目", "region_adcode": "鹿泉区"},
                              actor="cli:t", stage="signed", effective=dt.date(2025, 1, 2))
    code, out, _ = _run(store, "alerts", "--as-of", "2025-12-01", "--json")
    assert code == 0
    kinds = {(a["kind"], a["name"]) for a in json.loads(out)}
    assert ("stage_overdue", "久拖项目") in kinds
    code, out, _ = _run(store, "alerts", "--as-of", "2025-01-10", "--json")
    assert ("stage_overdue", "久拖项目") not in {(a["kind"], a["name"])
                                               for a in json.loads(out)}
    assert _run(store, "alerts", "--region", "鹿泉区", "--as-of", "2025-12-01")[0] == 0
