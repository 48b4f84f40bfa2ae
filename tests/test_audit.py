"""The audit log (store/audit.py): every write says who, when, what, before and after."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from chainatlas.build import apply_correction
from chainatlas.chains.corrections import correct
from chainatlas.cli_users import audit_command
from chainatlas.errors import ChainAtlasError
from chainatlas.store import Database
from chainatlas.store.audit import audit_rows, cli_actor, record
from chainatlas.store.users import add_user, disable_user, issue_token, set_password

PASSWORD = "correct horse battery"


pytestmark = pytest.mark.usefixtures("fast_hashing")  # cheap argon2 costs (conftest)


def test_record_and_filter(db: Database) -> None:
    first = record(db, "wang", "roster.import", "roster.xlsx", None, {"rows": 3})
    second = record(db, "li", "user.add", "user:x", None, {"name": "x", "at": dt.date(2026, 1, 2)})
    assert second == first + 1
    rows = audit_rows(db)
    assert [r["id"] for r in rows] == [second, first]  # newest first
    assert rows[1]["before"] is None and rows[1]["after"] == {"rows": 3}
    assert rows[0]["after"]["at"] == "2026-01-02"  # dates kept as text
    assert [r["actor"] for r in audit_rows(db, actor="wang")] == ["wang"]
    assert [r["action"] for r in audit_rows(db, action="user.add")] == ["user.add"]
    assert len(audit_rows(db, limit=1)) == 1
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert audit_rows(db, since=now + dt.timedelta(minutes=1)) == []
    assert len(audit_rows(db, since=now - dt.timedelta(minutes=1))) == 2
    assert abs((rows[0]["at"] - now).total_seconds()) < 60  # UTC, not local time
    with pytest.raises(ValueError):
        record(db, "", "x", "y")


def test_record_rolls_back_with_the_callers_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction():
        record(db, "wang", "roster.import", "f.csv", None, {"rows": 1})
        raise RuntimeError("import failed")
    assert audit_rows(db) == []


def test_a_correction_logs_the_row_it_retires_and_the_new_one(mini_db: Database) -> None:
    first = apply_correction(mini_db, "002603", "biomedicine", "bm_api", "assign", "年报",
                             "wang")
    second = apply_correction(mini_db, "002603", "biomedicine", "bm_api", "unassign",
                              "复核后移出", "li")
    lines = audit_rows(mini_db, action="correction.add")
    assert [r["actor"] for r in lines] == ["li", "wang"]
    assert lines[1]["before"] == {"placed": False}  # the classifier had not placed it there
    assert lines[1]["after"]["correction_id"] == first["correction_id"]
    assert lines[1]["after"]["author"] == "wang" and lines[1]["after"]["active"] is True
    assert lines[0]["before"]["correction_id"] == first["correction_id"]
    assert lines[0]["before"]["reason"] == "年报"
    assert lines[0]["after"]["correction_id"] == second["correction_id"]
    assert lines[0]["target"] == "002603.SZ biomedicine/bm_api"


def test_a_failed_correction_logs_nothing(mini_db: Database) -> None:
    with pytest.raises(ChainAtlasError):
        correct(mini_db, "002603", "biomedicine", "bm_api", "assign", "   ")
    assert audit_rows(mini_db) == []


def test_cli_corrections_name_the_os_user(mini_db: Database,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "zhang")
    row = correct(mini_db, "002603", "biomedicine", "bm_api", "assign", "年报")
    assert row["author"] == "cli:zhang" == cli_actor()
    assert audit_rows(mini_db)[0]["actor"] == "cli:zhang"


def test_user_changes_are_logged_without_secrets(db: Database) -> None:
    add_user(db, "bot", "analyst", PASSWORD, actor="admin1")
    set_password(db, "bot", "a new passphrase", actor="admin1")
    token = issue_token(db, "bot", "ci", actor="admin1")
    disable_user(db, "bot", actor="admin1")
    lines = audit_rows(db)
    assert [r["action"] for r in lines] == ["user.disable", "token.issue", "user.password",
                                            "user.add"]
    assert lines[0]["before"]["disabled"] is False and lines[0]["after"]["disabled"] is True
    hashes = [str(h) for (h,) in db.execute("SELECT password_hash FROM users").fetchall()]
    raw = json.dumps(db.rows('SELECT "before", "after" FROM audit_log'))
    for secret in (PASSWORD, "a new passphrase", token, *hashes, "argon2"):
        assert secret not in raw


def test_audit_command(tmp_path: Path) -> None:
    path = tmp_path / "audit.duckdb"
    with Database(path) as db:
        record(db, "wang", "roster.import", "a.csv", None, {"rows": 1})
        record(db, "li", "roster.import", "b.csv", None, {"rows": 2})
    app = typer.Typer()
    app.command("audit")(audit_command)
    app.command("unused")(lambda: None)  # two commands: 'audit' stays a subcommand
    result = CliRunner().invoke(app, ["audit", "--db", str(path), "--json", "--actor", "li"])
    assert result.exit_code == 0, result.output
    assert [(r["actor"], r["target"]) for r in json.loads(result.output)] == [("li", "b.csv")]
    result = CliRunner().invoke(app, ["audit", "--db", str(path), "--limit", "1"])
    assert result.exit_code == 0 and "b.csv" in result.output and "a.csv" not in result.output
    result = CliRunner().invoke(app, ["audit", "--db", str(path), "--since", "soon"])
    assert isinstance(result.exception, ChainAtlasError)
    result = CliRunner().invoke(app, ["audit", "--db", str(path), "--json",
                                      "--since", "2000-01-01T08:00+08:00"])
    assert len(json.loads(result.output)) == 2


# -- the token path under concurrency (web/state.write_db serialises the writes) ---------


def test_concurrent_token_corrections_are_all_stored_and_audited(
        mini_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """20 threads POST corrections with a token at once: every one is a 201, each has its
    audit line, and DuckDB reports no transaction conflict."""
    import threading

    from fastapi.testclient import TestClient

    from chainatlas.web.app import create_app

    monkeypatch.setenv("CHAINATLAS_SECRET", "test-secret")
    monkeypatch.setenv("CHAINATLAS_HOME", str(tmp_path))
    add_user(mini_db, "ana", "analyst", PASSWORD, actor="test")
    token = issue_token(mini_db, "ana", actor="test")
    app = create_app(db=mini_db)
    start = threading.Barrier(THREADS)
    answers: list[tuple[int, str]] = []

    def post(index: int) -> None:
        client = TestClient(app, base_url="http://127.0.0.1:8000",
                            raise_server_exceptions=False)
        body = {"firm": "以岭药业", "chain": "生物医药", "node": NODES[index % len(NODES)],
                "action": "assign" if index % 3 else "unassign", "reason": f"并发校正 {index}"}
        start.wait()
        response = client.post("/api/v1/corrections", json=body,
                               headers={"Authorization": f"Bearer {token}"})
        answers.append((response.status_code, response.text))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(status for status, _ in answers) == [201] * THREADS, answers
    assert not any("onflict" in text for _, text in answers)
    stored = mini_db.rows("SELECT correction_id, reason FROM corrections")
    lines = audit_rows(mini_db, action="correction.add", limit=1000)
    assert len(stored) == len(lines) == THREADS
    assert {r["after"]["correction_id"] for r in lines} == {r["correction_id"] for r in stored}
    assert {r["actor"] for r in lines} == {"ana"}
    active = mini_db.rows("SELECT node_id, count(*) AS n FROM corrections WHERE active "
                          "GROUP BY node_id")
    assert {r["node_id"]: r["n"] for r in active} == {node: 1 for node in NODES}


THREADS = 20
NODES = ("bm_api", "bm_vaccines", "bm_chem_drugs")
