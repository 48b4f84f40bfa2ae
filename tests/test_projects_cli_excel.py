"""``chainatlas projects import|export|report``: a sheet in, the ledger out, the report."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from chainatlas.cli import app
from chainatlas.store import Database
from tests.helpers import built_store, copy_store


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_store(tmp_path_factory.mktemp("projects_cli_excel"))


@pytest.fixture
def store(built: Path, tmp_path: Path) -> Path:
    return copy_store(built, tmp_path)


def _run(store: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["projects", *args, "--db", str(store)])
    return result.exit_code, result.output


def _sheet(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["鹿泉区招商项目台账"])
    ws.merge_cells("A1:E1")
    ws.append(["项目名称", "投资方", "所在地", "总投资(亿元)", "推进阶段"])
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def _count(store: Path) -> int:
    with Database(store, read_only=True) as db:
        return int(db.scalar("SELECT count(*) FROM projects"))


def test_import_export_report(store: Path, tmp_path: Path) -> None:
    sheet = _sheet(tmp_path / "台账.xlsx", [["疫苗项目", "甲", "鹿泉区", 1.2, "签约"],
                                            ["抗体项目", "乙", None, 0.5, "暂停"],
                                            ["合计", None, None, 1.7]])
    code, out = _run(store, "import", str(sheet), "--region", "石家庄市", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["imported"] == 2 and report["paused"] == 1 and report["totals_skipped"] == 1
    exported = tmp_path / "ledger.xlsx"
    code, out = _run(store, "export", str(exported), "--region", "鹿泉区")
    assert code == 0 and "Wrote 1 projects" in out
    monthly = tmp_path / "月报.xlsx"
    code, out = _run(store, "report", str(monthly), "--as-of", "2026-11-30", "--json")
    assert code == 0, out
    assert json.loads(out)["projects"] == 2
    assert openpyxl.load_workbook(monthly).sheetnames[0] == "总览"


def test_strict_import_refuses_and_names_the_row(store: Path, tmp_path: Path) -> None:
    sheet = _sheet(tmp_path / "bad.xlsx", [["好项目", "甲", "鹿泉区", 1, "签约"],
                                          ["坏项目", "乙", "鹿泉区", "很多", "签约"]])
    code, out = _run(store, "import", str(sheet))
    assert code == 2 and "row 4" in out and "总投资(亿元)" in out
    assert _count(store) == 0
    code, out = _run(store, "import", str(sheet), "--lenient")
    assert code == 0 and "1 imported" in out and "1 rejected" in out
    assert _count(store) == 1
