"""A roster import and the classification it needs commit together (issue 10, point 6).

A kill -9 between the import and the classification used to leave the firms stored and
their placements stale, with nothing marking it.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chainatlas import build, cli
from chainatlas.build import CLASSIFIED_KEY, import_and_place
from chainatlas.errors import InputError
from chainatlas.sources.roster import uscc_check_digit
from chainatlas.store import Database
from tests.helpers import REPO, built_store, copy_store

HEADER = ["企业名称", "统一社会信用代码", "注册地址", "经营范围"]


def _uscc(n: int) -> str:
    base = f"91130100MA{n:07d}"
    return base + uscc_check_digit(base)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_store(tmp_path_factory.mktemp("import-tx"))


@pytest.fixture
def store(built: Path, tmp_path: Path) -> Path:
    return copy_store(built, tmp_path)


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    """Two invented firms a scope rule places (vaccines, integrated circuits)."""
    path = tmp_path / "roster.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([
            HEADER,
            ["河北甲生物科技有限公司", _uscc(1), "河北省石家庄市长安区中山东路1号",
             "疫苗研发、生产"],
            ["河北乙电子有限公司", _uscc(2), "河北省石家庄市桥西区自强路2号",
             "集成电路设计、制造"]])
    return path


def _snapshot(path: Path) -> dict[str, Any]:
    """What an interrupted import must not change: every table's rows, and the mark."""
    with Database(path, read_only=True) as db:
        return {"counts": db.table_counts(),
                "roster": db.scalar("SELECT count(*) FROM companies WHERE origin = 'roster'"),
                "mark": db.scalar("SELECT value FROM meta WHERE key = ?", [CLASSIFIED_KEY])}


def _fail(*args: object, **kwargs: object) -> dict[str, Any]:
    raise RuntimeError("classification failed")


def test_import_and_place_places_the_new_firms(store: Path, roster: Path) -> None:
    with Database(store) as db:
        report, summary = import_and_place(db, roster)
        assert report.inserted == 2 and summary["classified_firms"] == 2
        placed = db.scalar("SELECT count(DISTINCT company_id) FROM placements p JOIN "
                           "companies c USING (company_id) WHERE c.origin = 'roster'")
        assert placed == 2
        assert db.scalar("SELECT value FROM meta WHERE key = ?", [CLASSIFIED_KEY]) == str(
            db.scalar("SELECT max(source_id) FROM sources"))


def test_a_failed_classification_rolls_the_import_back(store: Path, roster: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshot(store)
    monkeypatch.setattr(build, "classify", _fail)
    with Database(store) as db, pytest.raises(RuntimeError):
        import_and_place(db, roster)
    assert _snapshot(store) == before


def test_the_cli_import_is_one_transaction(store: Path, roster: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshot(store)
    monkeypatch.setattr(build, "classify", _fail)
    result = CliRunner().invoke(cli.app, ["import", "roster", str(roster), "--db", str(store)])
    assert result.exit_code != 0
    assert _snapshot(store) == before


KILL_BETWEEN_STEPS = textwrap.dedent("""
    import os, sys
    from chainatlas import build
    from chainatlas.store import Database

    def killed(*args, **kwargs):
        os._exit(9)  # as kill -9: no rollback, no close, no atexit

    build.classify = killed
    db = Database(sys.argv[1])
    build.import_and_place(db, sys.argv[2])
""")


def test_a_kill_between_import_and_classification_leaves_the_store_unchanged(
        store: Path, roster: Path) -> None:
    before = _snapshot(store)
    done = subprocess.run([sys.executable, "-c", KILL_BETWEEN_STEPS, str(store), str(roster)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr
    assert _snapshot(store) == before


def test_import_is_audited_with_counts_before_and_after(store: Path, roster: Path) -> None:
    """Who imported what, and the firm count before and after, in the audit log."""
    from chainatlas.store.audit import audit_rows

    with Database(store) as db:
        before = int(db.scalar("SELECT count(*) FROM companies"))
        report, _ = import_and_place(db, roster, actor="alice")
        rows = audit_rows(db, action="roster.import")
    assert len(rows) == 1
    line = rows[0]
    assert line["actor"] == "alice" and line["target"] == str(roster.resolve())
    assert line["before"] == {"companies": before}
    after = line["after"]
    assert after["companies"] == before + report.inserted == before + 2
    assert after["rows"] == 2 and after["rejected"] == 0


def test_failed_import_leaves_no_audit_line(store: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("企业名称,统一社会信用代码\n河北丙公司,91130100MA0000000X\n", "utf-8")
    with Database(store) as db:
        with pytest.raises(InputError):
            import_and_place(db, bad, actor="alice")
        assert int(db.scalar("SELECT count(*) FROM audit_log")) == 0

