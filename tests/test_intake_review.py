"""Reviewing a draft: accepted targets become ledger targets, accepted directions become
priority nodes that raise node recommendations with the plan's sentence as the reason."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import pytest

from chainatlas.errors import NotFoundError, ParameterError
from chainatlas.intake.draft import draft_from_text
from chainatlas.intake.review import (
    draft_item,
    draft_items,
    drafts_frame,
    indicator_from_item,
    item_rows,
    review_item,
    save_draft,
    stored_draft,
)
from chainatlas.recommend.nodes import rank_nodes
from chainatlas.recommend.priorities import PRIORITY_BONUS, raise_priorities
from chainatlas.store import Database
from chainatlas.store.lookup import NodeTree

PLAN = ("石家庄市2025年工作要点\n二、主要目标\n重点发展疫苗和抗体药物。力争生物医药产业营业收入"
        "突破1300亿元，到位资金150亿元。")


def _item(db: Database, draft_id: int, text: str, kind: str) -> int:
    items = draft_items(db, draft_id)
    return int(items[(items["text"] == text) & (items["kind"] == kind)]["item_id"].iloc[0])


def test_an_accepted_target_becomes_a_ledger_target(mini_db: Database) -> None:
    draft = draft_from_text(mini_db, PLAN, region="石家庄市")
    draft_id = save_draft(mini_db, draft, PLAN, "2025年工作要点", actor="ana")
    result = review_item(mini_db, draft_id, _item(mini_db, draft_id, "1300亿元", "target"),
                         "accept", actor="ana")
    target = mini_db.rows("SELECT * FROM targets")[0]
    assert result["result"] == f"target:{target['target_id']}"
    assert (target["indicator"], target["chain_id"], target["region_adcode"]) == (
        "revenue", "biomedicine", "130100")
    assert target["target_value"] == Decimal(1300) and target["period_end"].year == 2025
    assert "力争生物医药产业营业收入" in target["source"]
    funds = review_item(mini_db, draft_id, _item(mini_db, draft_id, "150亿元", "target"),
                        "accept", actor="ana")
    row = mini_db.rows("SELECT * FROM targets WHERE target_id = ?",
                       [int(funds["result"].split(":")[1])])[0]
    assert row["indicator"] == "funds_in_place" and row["target_value"] == Decimal(1500000)
    with pytest.raises(ParameterError, match="already reviewed"):
        review_item(mini_db, draft_id, _item(mini_db, draft_id, "1300亿元", "target"),
                    "reject", actor="ana")
    actions = [r["action"] for r in mini_db.rows("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["intake.save", "target.add", "intake.review", "target.add",
                       "intake.review"]


def test_an_unknown_indicator_must_be_named() -> None:
    assert indicator_from_item({"indicator": "生物医药产业营业收入", "unit": "亿元"}) == "revenue"
    assert indicator_from_item({"indicator": "签约项目", "unit": "个"}) == "project_count"
    assert indicator_from_item({"indicator": "城镇调查失业率", "unit": "%"}) is None


def test_an_accepted_direction_raises_its_node(mini_db: Database) -> None:
    draft = draft_from_text(mini_db, PLAN, region="石家庄市")
    draft_id = save_draft(mini_db, draft, PLAN, "2025年工作要点", actor="ana")
    before = {r["node_id"]: r for r in rank_nodes(mini_db, "石家庄市", "biomedicine")}
    review_item(mini_db, draft_id, _item(mini_db, draft_id, "疫苗", "direction"), "accept",
                actor="ana")
    after = {r["node_id"]: r for r in rank_nodes(mini_db, "石家庄市", "biomedicine")}
    assert after["bm_vaccines"]["score"] == pytest.approx(
        min(1.0, before["bm_vaccines"]["score"] + PRIORITY_BONUS), abs=1e-4)
    assert after["bm_vaccines"]["rank"] < before["bm_vaccines"]["rank"]
    assert any("2025年工作要点" in r for r in after["bm_vaccines"]["reasons_zh"])
    assert mini_db.scalar("SELECT node_id FROM priority_nodes") == "bm_vaccines"
    rejected = review_item(mini_db, draft_id, _item(mini_db, draft_id, "抗体药物", "direction"),
                           "reject", actor="ana")
    assert rejected == {"item_id": rejected["item_id"], "status": "rejected", "result": None}


def test_raise_priorities_is_pure_and_reranks() -> None:
    tree = NodeTree({"bio": None, "vac": "bio", "api": None})
    ranked = [{"node_id": "api", "score": 0.5, "rank": 1, "components": {}, "reasons_zh": []},
              {"node_id": "vac", "score": 0.45, "rank": 2, "components": {},
               "reasons_zh": []}]
    out = raise_priorities(ranked, {"bio": {"source": "三年行动计划", "sentence": "做强生物药"}},
                           tree)
    assert [r["node_id"] for r in out] == ["vac", "api"] and out[0]["rank"] == 1
    assert out[0]["score"] == pytest.approx(0.55)
    assert out[0]["reasons_zh"] == ["列入《三年行动计划》的重点发展方向：“做强生物药”"]
    assert ranked[1]["score"] == 0.45  # the input is not changed


def test_stored_drafts_are_listed_newest_first(mini_db: Database) -> None:
    assert drafts_frame(mini_db).empty
    first = save_draft(mini_db, draft_from_text(mini_db, PLAN, region="石家庄市"), PLAN,
                       "2025年工作要点", actor="ana")
    second = save_draft(mini_db, draft_from_text(mini_db, "重点发展疫苗。"), "重点发展疫苗。",
                        "短文", actor="bo")
    review_item(mini_db, first, _item(mini_db, first, "疫苗", "direction"), "accept",
                actor="ana")
    review_item(mini_db, first, _item(mini_db, first, "抗体药物", "direction"), "reject",
                actor="ana")
    frame = drafts_frame(mini_db)
    assert list(frame["draft_id"]) == [second, first]
    row = frame.iloc[1]
    total = len(draft_items(mini_db, first))
    assert (row["name"], row["region_adcode"], row["created_by"], row["chars"]) == (
        "2025年工作要点", "130100", "ana", len(PLAN))
    assert (row["items"], row["accepted"], row["rejected"], row["proposed"]) == (
        total, 1, 1, total - 2)
    assert pd.isna(frame.iloc[0]["region_adcode"]) and list(drafts_frame(mini_db, 1)[
        "draft_id"]) == [second]
    assert stored_draft(mini_db, first)["text"] == PLAN
    with pytest.raises(NotFoundError):
        stored_draft(mini_db, 999)


def test_a_batch_keeps_its_own_target_or_achieved_beside_the_review_status(
        mini_db: Database) -> None:
    """A project batch's payload says target or achieved under "status": stored items
    keep the review status as ``status`` and the batch's own as ``figure_kind``."""
    text = "石家庄市2025年工作要点\n二、主要目标\n签约项目48个、总投资215亿元。"
    draft = draft_from_text(mini_db, text, region="石家庄市")
    [batch] = [i for i in draft.items if i["kind"] == "project_batch"]
    assert batch["status"] == "target"  # the unsaved draft's item, as the extractor says
    draft_id = save_draft(mini_db, draft, text, "要点", actor="ana")
    items = draft_items(mini_db, draft_id)
    row = items[items["kind"] == "project_batch"].iloc[0]
    assert (row["status"], row["figure_kind"]) == ("proposed", "target")
    item_id = int(row["item_id"])
    review_item(mini_db, draft_id, item_id, "accept", actor="ana")
    stored = draft_item(mini_db, draft_id, item_id)
    assert (stored["status"], stored["figure_kind"], stored["result"]) == (
        "accepted", "target", None)
    assert stored == next(i for i in item_rows(mini_db, draft_id) if i["item_id"] == item_id)
    with pytest.raises(NotFoundError, match="no item 99"):
        draft_item(mini_db, draft_id, 99)
    with pytest.raises(NotFoundError, match="No intake draft 99"):
        item_rows(mini_db, 99)


def test_a_review_reason_is_kept_in_the_audit_line(mini_db: Database) -> None:
    draft_id = save_draft(mini_db, draft_from_text(mini_db, PLAN, region="石家庄市"), PLAN,
                          "2025年工作要点", actor="ana")
    review_item(mini_db, draft_id, _item(mini_db, draft_id, "疫苗", "direction"), "reject",
                reason="已有布局", actor="ana")
    after = mini_db.scalar("SELECT after FROM audit_log WHERE action = 'intake.review'")
    assert json.loads(after) == {"status": "rejected", "result": None, "reason": "已有布局"}
