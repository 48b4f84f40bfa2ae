"""``chainatlas drafts``: list and show saved intake drafts, accept, edit and reject their
items from the command line (as ``cli:<os user>``), each write in the audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chainatlas.cli import app
from chainatlas.errors import ForbiddenError
from chainatlas.intake.draft import draft_from_text
from chainatlas.intake.review import draft_items, save_draft
from chainatlas.store import Database
from chainatlas.store.audit import cli_actor
from tests.helpers import built_store, copy_store

PLAN = ("石家庄市2025年工作要点\n二、主要目标\n重点发展疫苗和抗体药物。力争生物医药产业营业收入"
        "突破1300亿元，到位资金150亿元。签约项目48个、总投资215亿元。支持以岭药业做大做强。")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_store(tmp_path_factory.mktemp("intake_cli_review"))


@pytest.fixture
def store(built: Path, tmp_path: Path) -> Path:
    """A copy of the built store with PLAN saved as draft 1."""
    path = copy_store(built, tmp_path)
    with Database(path) as db:
        draft = draft_from_text(db, PLAN, region="石家庄市")
        assert save_draft(db, draft, PLAN, "2025年工作要点", actor="ana") == 1
    return path


def _run(store: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["drafts", *args, "--db", str(store)])


def _flat(result: Result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _item(store: Path, text: str, kind: str) -> str:
    with Database(store, read_only=True) as db:
        items = draft_items(db, 1)
    return str(int(items[(items["text"] == text) & (items["kind"] == kind)]["item_id"].iloc[0]))


def _audit(store: Path) -> list[dict[str, Any]]:
    with Database(store, read_only=True) as db:
        return db.rows("SELECT actor, action, target, after FROM audit_log ORDER BY id")


def test_list_shows_the_saved_drafts(built: Path, store: Path, tmp_path: Path) -> None:
    (folder := tmp_path / "empty").mkdir()
    empty = copy_store(built, folder)
    assert "No saved drafts" in _flat(_run(empty, "list"))
    assert _json(_run(empty, "list", "--json")) == []
    [row] = _json(_run(store, "list", "--json"))
    assert (row["draft_id"], row["name"], row["region_adcode"], row["region"], row["year"],
            row["created_by"]) == (1, "2025年工作要点", "130100", "石家庄市", 2025, "ana")
    assert row["proposed"] == row["items"] > 0 and row["accepted"] == row["rejected"] == 0
    assert row["created_at"][:2] == "20" and "T" in row["created_at"]
    shown = _run(store, "list")
    assert shown.exit_code == 0 and "已保存的草稿（1 份）" in _flat(shown)


def test_show_groups_the_items_by_kind(store: Path) -> None:
    shown = _json(_run(store, "show", "1", "--json"))
    assert shown["draft"]["name"] == "2025年工作要点" and shown["draft"]["text"] == PLAN
    assert shown["draft"]["region"] == "石家庄市" and shown["draft"]["chars"] == len(PLAN)
    items = {(i["kind"], i["text"]): i for i in shown["items"]}
    target = items["target", "1300亿元"]
    assert (target["status"], target["value"], target["unit"], target["period"]) == (
        "proposed", 1300, "亿元", "2025")
    assert target["excerpt"] == "力争生物医药产业营业收入突破1300亿元，到位资金150亿元。"
    assert items["direction", "疫苗"]["excerpt"] == "重点发展疫苗和抗体药物。"
    batch = next(i for i in shown["items"] if i["kind"] == "project_batch")
    assert (batch["status"], batch["figure_kind"]) == ("proposed", "target")
    text = _flat(_run(store, "show", "1"))
    for title in ("目标与实绩", "产业方向", "地区与园区", "企业", "项目批次", "待审"):
        assert title in text, title


def test_accept_makes_a_target_and_a_priority_node(store: Path) -> None:
    target = _item(store, "1300亿元", "target")
    done = _run(store, "accept", "1", target)
    assert done.exit_code == 0 and f"item {target} (target) accepted: target #1 created" \
        in _flat(done)
    vaccine = _item(store, "疫苗", "direction")
    state = _json(_run(store, "accept", "1", vaccine, "--json"))
    assert state == {"draft_id": 1, "item_id": int(vaccine), "status": "accepted",
                     "result": "priority:biomedicine/bm_vaccines", "kind": "direction",
                     "reviewed_by": cli_actor()}
    firm = _json(_run(store, "accept", "1", _item(store, "以岭药业", "firm"), "--json"))
    assert (firm["status"], firm["result"]) == ("accepted", None)
    with Database(store, read_only=True) as db:
        assert db.scalar("SELECT target_value FROM targets WHERE target_id = 1") == 1300
        assert db.scalar("SELECT node_id FROM priority_nodes") == "bm_vaccines"
    reviews = [r for r in _audit(store) if r["action"] == "intake.review"]
    assert [(r["actor"], r["target"]) for r in reviews] == [
        (cli_actor(), f"draft:1:{target}"), (cli_actor(), f"draft:1:{vaccine}"),
        (cli_actor(), f"draft:1:{_item(store, '以岭药业', 'firm')}")]
    assert [r["action"] for r in _audit(store)].count("target.add") == 1
    [row] = _json(_run(store, "list", "--json"))
    assert (row["accepted"], row["proposed"]) == (3, row["items"] - 3)
    assert "目标 #1" in _flat(_run(store, "show", "1"))


def test_edit_changes_a_target_and_maps_a_direction(store: Path) -> None:
    funds = _item(store, "150亿元", "target")
    state = _json(_run(store, "edit", "1", funds, "--value", "200", "--period", "2026-2027",
                       "--name", "到位资金目标", "--json"))
    assert (state["status"], state["result"]) == ("edited", "target:1")
    assert state["edits"] == {"name": "到位资金目标", "value": 200.0, "period": "2026-2027"}
    with Database(store, read_only=True) as db:
        row = db.rows("SELECT * FROM targets")[0]
        edited = db.scalar("SELECT edited FROM intake_items WHERE draft_id = 1 AND "
                           "item_id = ?", [int(funds)])
    assert (row["name"], row["indicator"], float(row["target_value"])) == (
        "到位资金目标", "funds_in_place", 2_000_000.0)
    assert (row["period_start"].year, row["period_end"].year) == (2026, 2027)
    assert json.loads(edited)["value"] == 200.0
    invest = _item(store, "215亿元", "target")
    state = _json(_run(store, "edit", "1", invest, "--indicator", "投资额", "--chain", "生物医药",
                       "--json"))
    assert state["edits"] == {"indicator_key": "investment", "chain_id": "biomedicine"}
    chain_only = _item(store, "生物医药", "direction")  # mapped to the chain, not a node
    done = _run(store, "edit", "1", chain_only, "--node", "人用疫苗")
    assert done.exit_code == 0, done.output
    assert "edited and accepted: priority node biomedicine/bm_vaccines set" in _flat(done)
    reviews = [r for r in _audit(store) if r["action"] == "intake.review"]
    assert [json.loads(r["after"])["status"] for r in reviews] == ["edited"] * 3


def test_reject_keeps_the_reason_in_the_audit_log(store: Path) -> None:
    antibody = _item(store, "抗体药物", "direction")
    done = _run(store, "reject", "1", antibody, "--reason", "已有布局 [内部]")
    assert done.exit_code == 0
    assert f"item {antibody} (direction) rejected (reason: 已有布局 [内部])." in _flat(done)
    [review] = [r for r in _audit(store) if r["action"] == "intake.review"]
    assert (review["actor"], json.loads(review["after"])) == (
        cli_actor(), {"status": "rejected", "result": None, "reason": "已有布局 [内部]"})
    state = _json(_run(store, "reject", "1", _item(store, "以岭药业", "firm"), "--json"))
    assert (state["status"], state["result"], "reason" in state) == ("rejected", None, False)
    with Database(store, read_only=True) as db:
        assert db.scalar("SELECT count(*) FROM priority_nodes") == 0


def _refused(result: Result, *words: str) -> None:
    """Exit 1 with one clean 'Error:' line naming ``words``, no traceback."""
    assert result.exit_code == 1, result.output
    text = _flat(result)
    assert text.startswith("Error:") and "Traceback" not in text
    for word in words:
        assert word in text, (word, text)


def test_errors_are_clean_messages(store: Path) -> None:
    before = len(_audit(store))
    _refused(_run(store, "show", "9"), "No intake draft 9")
    _refused(_run(store, "accept", "9", "1"), "No intake draft 9")
    _refused(_run(store, "reject", "1", "99"), "Draft 1 has no item 99")
    firm, target = _item(store, "以岭药业", "firm"), _item(store, "1300亿元", "target")
    _refused(_run(store, "edit", "1", firm, "--value", "3"), "is a firm", "accept or reject")
    _refused(_run(store, "edit", "1", target), "Nothing to change", "--value")
    _refused(_run(store, "edit", "1", target, "--node", "人用疫苗"), "A target has no --node")
    _refused(_run(store, "edit", "1", target, "--indicator", "利润"), "unknown indicator")
    _refused(_run(store, "edit", "1", _item(store, "疫苗", "direction"), "--node", "无此环节"),
             "has no node '无此环节'")
    _refused(_run(store, "edit", "1", _item(store, "生物医药", "direction"), "--chain",
                  "生物医药"), "give --node")
    _refused(_run(store, "accept", "1", _item(store, "生物医药", "direction")),
             "not mapped to a node")
    assert len(_audit(store)) == before  # nothing refused was written
    assert _run(store, "accept", "1", target).exit_code == 0
    _refused(_run(store, "reject", "1", target), "already reviewed (accepted)")
    _refused(_run(store, "edit", "1", target, "--value", "9"), "already reviewed")


def test_a_refused_right_is_a_clean_message(store: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A library refusal (ForbiddenError, as for an analyst outside their scope) is one
    clean message with a non-zero exit, and nothing is written."""
    def refuse(*args: object, **kwargs: object) -> dict[str, Any]:
        raise ForbiddenError("cli:x may change projects of 鹿泉区 only")

    monkeypatch.setattr("chainatlas.intake.review.review_item", refuse)
    before = _audit(store)
    _refused(_run(store, "accept", "1", _item(store, "1300亿元", "target")),
             "may change projects of 鹿泉区 only")
    assert _audit(store) == before
