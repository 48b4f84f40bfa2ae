"""Reviewing a draft: each item accepted, edited or rejected, and what acceptance makes.

A draft is stored with its text (:func:`save_draft`), so every item's span can be shown
highlighted in its sentence; :func:`drafts_frame` lists the stored drafts and
:func:`stored_draft` reads one back to reopen it, :func:`item_rows` / :func:`draft_items`
its items (:func:`draft_item` one) with their review state. The analyst then reviews item
by item (:func:`review_item`, on the 政策解读 page or with ``chainatlas drafts``):

* an accepted **target** becomes a ledger target (:func:`chainatlas.projects.targets.
  add_target`): the indicator is read from the item's words (营业收入 → revenue, 到位资金 →
  funds in place, 项目 … 个 → project count, 企业 … 家 → firm count, 投资 … 亿元 →
  investment, 增长 … % → growth rate) or given in the edits; amounts in 亿元 become the
  ledger's 万元; the period is the item's (a year, or a range of years), else the draft's
  year; the chain is the one the sentence names, or the one given;
* an accepted **direction** mapped to a node becomes a priority node of the draft's
  region: node recommendations then rank it higher and say why, quoting the sentence;
* other kinds (achieved figures, places, firms, project batches) are marked accepted for
  the record and make nothing.

Every review is one transaction with one audit line (``intake.save``, ``intake.review``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pandas as pd

from chainatlas.errors import NotFoundError, ParameterError
from chainatlas.intake.draft import Draft
from chainatlas.projects.targets import add_target
from chainatlas.store import Database, audit

ACTIONS = ("accept", "edit", "reject")
_INDICATOR_RULES = (
    (re.compile(r"到位"), None, "funds_in_place"),
    (re.compile(r"营业收入|营收|主营业务收入|产值|产业规模|规模"), "亿元", "revenue"),
    (re.compile(r"项目"), "个", "project_count"),
    (re.compile(r"企业"), "家", "firm_count"),
    (re.compile(r"投资|签约额"), "亿元", "investment"),
    (re.compile(r"增长|增速"), "%", "growth_rate"),
)


def indicator_from_item(item: Mapping[str, Any]) -> str | None:
    """The ledger indicator an item's words and unit name, or None."""
    for pattern, unit, key in _INDICATOR_RULES:
        if pattern.search(str(item.get("indicator") or "")) and unit in (None, item["unit"]):
            return key
    return None


def save_draft(db: Database, draft: Draft, text: str, name: str, *,
               actor: str) -> int:
    """Store a draft and its items (all proposed); return the draft's id."""
    with db.transaction():
        draft_id = int(db.scalar("SELECT coalesce(max(draft_id), 0) + 1 FROM intake_drafts"))
        db.execute("INSERT INTO intake_drafts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [draft_id, name, (draft.region or {}).get("adcode"), draft.year, text,
                    hashlib.sha256(text.encode()).hexdigest(), actor, audit.now_utc()])
        db.executemany("INSERT INTO intake_items (draft_id, item_id, kind, start_at, end_at, "
                       "payload) VALUES (?, ?, ?, ?, ?, ?)",
                       [[draft_id, i, item["kind"], item["start"], item["end"],
                         json.dumps(item, ensure_ascii=False, default=str)]
                        for i, item in enumerate(draft.items, start=1)])
        audit.record(db, actor, "intake.save", f"draft:{draft_id}", None,
                     {"name": name, "items": len(draft.items)})
    return draft_id


#: The review columns of an item row (beside its decoded payload).
_REVIEW_COLUMNS = ("item_id", "status", "edited", "result", "reviewed_by")


def _item_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored item as one dict: its payload and its review columns. The review status
    is ``status``; a payload's own ``status`` (a project batch's target or achieved) is
    kept as ``figure_kind``."""
    payload = json.loads(row["payload"])
    if "status" in payload:
        payload["figure_kind"] = payload.pop("status")
    return {**payload, **{k: row[k] for k in _REVIEW_COLUMNS}}


def _check_draft(db: Database, draft_id: int) -> None:
    if not db.scalar("SELECT count(*) FROM intake_drafts WHERE draft_id = ?", [draft_id]):
        raise NotFoundError(f"No intake draft {draft_id}.")


def item_rows(db: Database, draft_id: int) -> list[dict[str, Any]]:
    """A stored draft's items in order, each its payload and its review state (see
    :func:`draft_item`); NotFoundError for an unknown draft."""
    _check_draft(db, draft_id)
    rows = db.rows("SELECT * FROM intake_items WHERE draft_id = ? ORDER BY item_id",
                   [draft_id])
    return [_item_row(r) for r in rows]


def draft_item(db: Database, draft_id: int, item_id: int) -> dict[str, Any]:
    """One stored item: its payload, ``item_id``, ``status`` (proposed, accepted, edited,
    rejected), ``edited`` (the edits as JSON), ``result`` and ``reviewed_by``, and a
    batch's own target/achieved as ``figure_kind``; NotFoundError when there is none."""
    _check_draft(db, draft_id)
    rows = db.rows("SELECT * FROM intake_items WHERE draft_id = ? AND item_id = ?",
                   [draft_id, item_id])
    if not rows:
        raise NotFoundError(f"Draft {draft_id} has no item {item_id}.")
    return _item_row(rows[0])


def draft_items(db: Database, draft_id: int) -> pd.DataFrame:
    """A stored draft's items with their status, payload decoded into columns (the rows
    of :func:`item_rows`)."""
    return pd.DataFrame(item_rows(db, draft_id))


def stored_draft(db: Database, draft_id: int) -> dict[str, Any]:
    """A stored draft's row: name, region, year, its text (the items' offsets point into
    it) and who saved it when."""
    rows = db.rows("SELECT * FROM intake_drafts WHERE draft_id = ?", [draft_id])
    if not rows:
        raise NotFoundError(f"No intake draft {draft_id}.")
    return rows[0]


def drafts_frame(db: Database, limit: int = 200) -> pd.DataFrame:
    """The stored drafts, newest first, without their texts: name, region, year, who saved
    them when, their length and their items by review status."""
    return db.df(
        "SELECT d.draft_id, d.name, d.region_adcode, d.year, d.created_by, d.created_at, "
        "length(d.text) AS chars, count(i.item_id) AS items, "
        "count(i.item_id) FILTER (WHERE i.status = 'proposed') AS proposed, "
        "count(i.item_id) FILTER (WHERE i.status IN ('accepted', 'edited')) AS accepted, "
        "count(i.item_id) FILTER (WHERE i.status = 'rejected') AS rejected "
        "FROM intake_drafts d LEFT JOIN intake_items i USING (draft_id) "
        "GROUP BY ALL ORDER BY d.draft_id DESC LIMIT ?", [int(limit)])


def _item(db: Database, draft_id: int, item_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = db.rows("SELECT * FROM intake_items i JOIN intake_drafts d USING (draft_id) "
                   "WHERE draft_id = ? AND item_id = ?", [draft_id, item_id])
    if not rows:
        raise NotFoundError(f"Draft {draft_id} has no item {item_id}.")
    return rows[0], json.loads(rows[0]["payload"])


def _period(item: Mapping[str, Any], year: int | None) -> tuple[dt.date, dt.date]:
    period = str(item.get("period") or year or "")
    years = [int(y) for y in re.findall(r"\d{4}", period)]
    if not years:
        raise ParameterError("The target has no period: give period as 2025 or 2026-2028.")
    return dt.date(min(years), 1, 1), dt.date(max(years), 12, 31)


def _sentence_chain(db: Database, draft_id: int, item: Mapping[str, Any]) -> str | None:
    rows = db.rows("SELECT payload FROM intake_items WHERE draft_id = ? AND kind = "
                   "'direction' ORDER BY item_id", [draft_id])
    for row in rows:
        found = json.loads(row["payload"])
        if found.get("chain_id") and item.get("sentence_start", -1) <= found["start"] \
                < item.get("sentence_end", -1):
            return str(found["chain_id"])
    return None


def _make_target(db: Database, row: Mapping[str, Any], item: Mapping[str, Any], *,
                 actor: str) -> str:
    indicator = item.get("indicator_key") or indicator_from_item(item)
    if indicator is None:
        raise ParameterError(f"Which indicator is {item.get('indicator')!r}? Edit the item "
                             "with indicator_key: revenue, project_count, investment, "
                             "funds_in_place, growth_rate or firm_count.")
    if not row["region_adcode"]:
        raise ParameterError("The draft has no region: save it with --region.")
    value = item["value"][-1] if isinstance(item["value"], list) else item["value"]
    amount = Decimal(str(value))
    if item["unit"] == "亿元" and indicator in ("investment", "funds_in_place"):
        amount *= 10000  # the ledger keeps 万元
    start, end = _period(item, row["year"])
    target_id = add_target(
        db, name=str(item.get("name") or item.get("indicator") or indicator),
        indicator=indicator, region=str(row["region_adcode"]),
        chain=item.get("chain_id") or _sentence_chain(db, row["draft_id"], item),
        base_year=start.year - 1, base_value=item.get("base_value"), target_value=amount,
        period_start=start, period_end=end, source=f"{row['name']}：{item.get('sentence')}",
        actor=actor)
    return f"target:{target_id}"


def _make_priority(db: Database, row: Mapping[str, Any], item: Mapping[str, Any], *,
                   actor: str) -> str:
    if not item.get("node_id") or not item.get("chain_id"):
        raise ParameterError("This direction is not mapped to a node: edit it with chain_id "
                             "and node_id first.")
    if not row["region_adcode"]:
        raise ParameterError("The draft has no region: save it with --region.")
    db.execute("INSERT OR REPLACE INTO priority_nodes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               [row["region_adcode"], item["chain_id"], item["node_id"], row["name"],
                item.get("sentence") or item.get("text"), row["draft_id"], actor,
                audit.now_utc()])
    return f"priority:{item['chain_id']}/{item['node_id']}"


def review_item(db: Database, draft_id: int, item_id: int, action: str, *,
                edits: Mapping[str, Any] | None = None, reason: str | None = None,
                actor: str) -> dict[str, Any]:
    """Accept, edit (and accept) or reject one item; return its new state. ``reason``
    (why, e.g. of a rejection) is kept in the audit line."""
    if action not in ACTIONS:
        raise ParameterError(f"Unknown review action {action!r}: use {', '.join(ACTIONS)}.")
    row, item = _item(db, draft_id, item_id)
    if row["status"] != "proposed":
        raise ParameterError(f"Item {item_id} was already reviewed ({row['status']}).")
    merged = {**item, **(edits or {})}
    result = None
    with db.transaction():
        if action != "reject":
            if merged["kind"] == "target":
                result = _make_target(db, row, merged, actor=actor)
            elif merged["kind"] == "direction":
                result = _make_priority(db, row, merged, actor=actor)
        status = {"accept": "accepted", "edit": "edited", "reject": "rejected"}[action]
        db.execute("UPDATE intake_items SET status = ?, edited = ?, result = ?, "
                   "reviewed_by = ?, reviewed_at = ? WHERE draft_id = ? AND item_id = ?",
                   [status, json.dumps(edits, ensure_ascii=False) if edits else None, result,
                    actor, audit.now_utc(), draft_id, item_id])
        after = {"status": status, "result": result, **({"reason": reason} if reason else {})}
        audit.record(db, actor, "intake.review", f"draft:{draft_id}:{item_id}",
                     {"status": "proposed"}, after)
    return {"item_id": item_id, "status": status, "result": result}


def priority_nodes(db: Database, region: str, chain: str) -> list[dict[str, Any]]:
    """The priority nodes a region's accepted texts name on a chain."""
    return db.rows("SELECT * FROM priority_nodes WHERE region_adcode = ? AND chain_id = ? "
                   "ORDER BY node_id", [region, chain])
