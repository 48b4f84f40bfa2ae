"""招商清单: named lists of 精准招商 target firms, and a firm turned into a 线索 project.

A firm joins a list with what the recommender said of it for the list's region and chain
(its rank, score, the node it fits and the reasons, recomputed here: a client cannot
send reasons of its own). Turning an item into a lead creates a 线索 project that keeps
those reasons in its ``reasons`` field, and links the item to it: a second click returns
the same project. Every write is one transaction with one audit line (``list.create``,
``list.add``, ``list.note``, ``list.remove``, ``list.delete``, ``list.lead``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from chainatlas.errors import NotFoundError, ParameterError
from chainatlas.projects.ledger import create_project, get_project
from chainatlas.recommend.filters import TargetFilters
from chainatlas.recommend.firms import rank_firms
from chainatlas.store import Database, audit
from chainatlas.store.lookup import as_chain, as_region

#: How deep the recommender's ranking is searched for a firm being listed.
RANK_DEPTH = 2000


def get_list(db: Database, list_id: int) -> dict[str, Any]:
    """A list's row; NotFoundError when there is none."""
    rows = db.rows("SELECT * FROM lead_lists WHERE list_id = ?", [int(list_id)])
    if not rows:
        raise NotFoundError(f"No 招商清单 {list_id}.")
    return rows[0]


def create_list(db: Database, name: str, *, region: str, chain: str,
                note: str | None = None, actor: str) -> dict[str, Any]:
    """A new, empty list for a region and chain (the recommendation its firms come from)."""
    title = (name or "").strip()
    if not title:
        raise ParameterError("A 招商清单 needs a name.")
    row = {"name": title, "region_adcode": as_region(db, region).adcode,
           "chain_id": as_chain(db, chain).chain_id, "note": (note or "").strip() or None,
           "owner": actor.removeprefix("cli:")}
    with db.transaction():
        if db.scalar("SELECT count(*) FROM lead_lists WHERE name = ?", [title]):
            raise ParameterError(f"A 招商清单 named {title!r} already exists.")
        list_id = int(db.scalar("SELECT coalesce(max(list_id), 0) + 1 FROM lead_lists"))
        db.execute("INSERT INTO lead_lists VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [list_id, row["name"], row["region_adcode"], row["chain_id"], row["note"],
                    row["owner"], audit.now_utc()])
        audit.record(db, actor, "list.create", f"list:{list_id}", None, row)
    return get_list(db, list_id)


def recommended(db: Database, region: str, chain: str, company_ids: Sequence[str], *,
                universe: str | None = None,
                filters: TargetFilters | None = None) -> dict[str, dict[str, Any]]:
    """The recommender's record of each firm asked for (rank, score, nodes, reasons)
    among ``universe``'s firms under ``filters`` (those the analyst saw ranked);
    NotFoundError naming the firms it does not recommend for this region and chain."""
    wanted = {str(c) for c in company_ids}
    ranked = rank_firms(db, region, chain, top=RANK_DEPTH, universe=universe,
                        filters=filters)
    records = {r["company_id"]: r for r in ranked if r["company_id"] in wanted}
    missing = sorted(wanted - set(records))
    if missing:
        raise NotFoundError(f"Not among the recommended target firms of this region and "
                            f"chain: {', '.join(missing)}.")
    return records


def _reasons(record: dict[str, Any]) -> str:
    return json.dumps({"rank": record["rank"], "score": record["score"],
                       "reasons_zh": record.get("reasons_zh", []),
                       "nodes": record.get("nodes", [])}, ensure_ascii=False, default=str)


def add_to_list(db: Database, list_id: int, company_ids: Sequence[str], *, actor: str,
                universe: str | None = None,
                filters: TargetFilters | None = None) -> dict[str, list[str]]:
    """Add firms with the recommender's reasons (as ranked among ``universe``'s firms
    under ``filters``); firms already listed are left as they are. Returns the ids
    ``added`` and ``already`` listed."""
    lst = get_list(db, list_id)
    records = recommended(db, lst["region_adcode"], lst["chain_id"], company_ids,
                          universe=universe, filters=filters)
    out: dict[str, list[str]] = {"added": [], "already": []}
    with db.transaction():
        for cid, record in records.items():
            if db.scalar("SELECT count(*) FROM lead_list_items WHERE list_id = ? AND "
                         "company_id = ?", [int(list_id), cid]):
                out["already"].append(cid)
                continue
            node = (record.get("nodes") or [{}])[0].get("node_id")
            db.execute("INSERT INTO lead_list_items VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
                       [int(list_id), cid, node, float(record["score"]), _reasons(record),
                        actor.removeprefix("cli:"), audit.now_utc()])
            out["added"].append(cid)
        if out["added"]:
            audit.record(db, actor, "list.add", f"list:{list_id}", None,
                         {"company_ids": out["added"]})
    return out


def _item(db: Database, list_id: int, company_id: str) -> dict[str, Any]:
    rows = db.rows("SELECT * FROM lead_list_items WHERE list_id = ? AND company_id = ?",
                   [int(list_id), company_id])
    if not rows:
        raise NotFoundError(f"招商清单 {list_id} has no firm {company_id}.")
    return rows[0]


def set_item_note(db: Database, list_id: int, company_id: str, note: str | None, *,
                  actor: str) -> None:
    """Set (or clear) the note of a listed firm."""
    before = _item(db, list_id, company_id)["note"]
    with db.transaction():
        db.execute("UPDATE lead_list_items SET note = ? WHERE list_id = ? AND company_id = ?",
                   [(note or "").strip() or None, int(list_id), company_id])
        audit.record(db, actor, "list.note", f"list:{list_id}:{company_id}",
                     {"note": before}, {"note": note})


def remove_from_list(db: Database, list_id: int, company_id: str, *, actor: str) -> None:
    """Take a firm off a list (a project made from it stays in the ledger)."""
    item = _item(db, list_id, company_id)
    with db.transaction():
        db.execute("DELETE FROM lead_list_items WHERE list_id = ? AND company_id = ?",
                   [int(list_id), company_id])
        audit.record(db, actor, "list.remove", f"list:{list_id}:{company_id}",
                     {"project_id": item["project_id"]}, None)


def delete_list(db: Database, list_id: int, *, actor: str) -> None:
    """Delete a list and its items (projects made from them stay in the ledger)."""
    lst = get_list(db, list_id)
    with db.transaction():
        db.execute("DELETE FROM lead_list_items WHERE list_id = ?", [int(list_id)])
        db.execute("DELETE FROM lead_lists WHERE list_id = ?", [int(list_id)])
        audit.record(db, actor, "list.delete", f"list:{list_id}", {"name": lst["name"]}, None)


def _lead_raw(db: Database, record_reasons: str, company_id: str, node_id: str | None,
              region: str, chain: str) -> dict[str, object]:
    firm = db.rows("SELECT short_name, full_name FROM companies WHERE company_id = ?",
                   [company_id])[0]
    short = firm["short_name"] or firm["full_name"]
    node_name = db.scalar("SELECT name_zh FROM chain_nodes WHERE chain_id = ? AND "
                          "node_id = ?", [chain, node_id]) if node_id else None
    reasons = json.loads(record_reasons)
    return {"name": f"{short}·{node_name or '产业链'}项目",
            "investor_name": firm["full_name"] or short, "investor_company_id": company_id,
            "region_adcode": region, "chain_id": chain, "node_id": node_id,
            "reasons": "；".join(reasons.get("reasons_zh", [])) or None}


def lead_from_item(db: Database, list_id: int, company_id: str, *,
                   actor: str) -> dict[str, Any]:
    """The 线索 project of a listed firm: made on the first call, the same one after."""
    lst, item = get_list(db, list_id), _item(db, list_id, company_id)
    if item["project_id"] is not None:
        return get_project(db, item["project_id"])
    raw = _lead_raw(db, item["reasons"], company_id, item["node_id"], lst["region_adcode"],
                    lst["chain_id"])
    with db.transaction():
        row = create_project(db, raw, actor=actor, origin="recommendation",
                             reason=f"来自招商清单「{lst['name']}」")
        db.execute("UPDATE lead_list_items SET project_id = ? WHERE list_id = ? AND "
                   "company_id = ?", [row["project_id"], int(list_id), company_id])
        audit.record(db, actor, "list.lead", f"list:{list_id}:{company_id}", None,
                     {"project_id": row["project_id"]})
    return row


def lead_from_recommendation(db: Database, company_id: str, *, region: str, chain: str,
                             actor: str, universe: str | None = None,
                             filters: TargetFilters | None = None) -> dict[str, Any]:
    """A 线索 project straight from the recommendation (no list), keeping its reasons (as
    ranked among ``universe``'s firms under ``filters``); a firm that already has an
    open lead of this chain here gets that project back."""
    return leads_from_recommendation(db, [company_id], region=region, chain=chain,
                                     actor=actor, universe=universe, filters=filters)[0]


def leads_from_recommendation(db: Database, company_ids: Sequence[str], *, region: str,
                              chain: str, actor: str, universe: str | None = None,
                              filters: TargetFilters | None = None) -> list[dict[str, Any]]:
    """:func:`lead_from_recommendation` of each firm (once each, in order), ranking the
    firms that need a new lead in one pass: a ranking takes seconds, a lead does not."""
    place, chain_id = as_region(db, region).adcode, as_chain(db, chain).chain_id
    open_leads = {cid: db.scalar(
        "SELECT min(project_id) FROM projects WHERE investor_company_id = ? AND "
        "region_adcode = ? AND chain_id = ? AND NOT ended", [cid, place, chain_id])
        for cid in dict.fromkeys(str(c) for c in company_ids)}
    fresh = [cid for cid, pid in open_leads.items() if pid is None]
    records = recommended(db, place, chain_id, fresh, universe=universe,
                          filters=filters) if fresh else {}
    out = []
    for cid, existing in open_leads.items():
        if existing is not None:
            out.append(get_project(db, int(existing)))
            continue
        node = (records[cid].get("nodes") or [{}])[0].get("node_id")
        raw = _lead_raw(db, _reasons(records[cid]), cid, node, place, chain_id)
        out.append(create_project(db, raw, actor=actor, origin="recommendation",
                                  reason="来自精准招商推荐"))
    return out


def lists_frame(db: Database) -> pd.DataFrame:
    """Every list with its item and lead counts."""
    return db.df("SELECT l.*, r.name AS region_name, c.name_zh AS chain_name, "
                 "count(i.company_id) AS firms, count(i.project_id) AS leads "
                 "FROM lead_lists l LEFT JOIN lead_list_items i USING (list_id) "
                 "LEFT JOIN regions r ON r.adcode = l.region_adcode "
                 "LEFT JOIN chains c ON c.chain_id = l.chain_id "
                 "GROUP BY ALL ORDER BY l.created_at DESC")


def list_items_frame(db: Database, list_id: int) -> pd.DataFrame:
    """A list's firms: names, node, score, the reasons in one line, note, lead."""
    get_list(db, list_id)
    frame = db.df(
        "SELECT i.company_id, c.short_name, c.full_name, i.node_id, n.name_zh AS node_name, "
        "i.score, i.reasons, i.note, i.project_id, p.stage AS project_stage, i.added_by, "
        "i.added_at FROM lead_list_items i JOIN lead_lists l USING (list_id) "
        "JOIN companies c USING (company_id) "
        "LEFT JOIN chain_nodes n ON n.chain_id = l.chain_id AND n.node_id = i.node_id "
        "LEFT JOIN projects p ON p.project_id = i.project_id "
        "WHERE i.list_id = ? ORDER BY i.score DESC, i.company_id", [int(list_id)])
    frame["reasons_zh"] = ["；".join(json.loads(r).get("reasons_zh", [])) if r else ""
                           for r in frame["reasons"]]
    return frame


_HEADERS = (("short_name", "企业简称", 16), ("full_name", "企业全称", 32),
            ("node_name", "环节", 18), ("score", "推荐得分", 10),
            ("reasons_zh", "推荐理由", 80), ("note", "备注", 24),
            ("project_id", "线索项目编号", 12), ("project_stage", "项目阶段", 10))


def list_workbook(db: Database, list_id: int, path: Path) -> Path:
    """The list as a formatted workbook (title, Chinese headers, wrapped reasons)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    lst, frame = get_list(db, list_id), list_items_frame(db, list_id)
    book = Workbook()
    sheet = book.active
    sheet.title = "招商清单"
    sheet.append([f"招商清单：{lst['name']}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"备注：{lst['note'] or ''}"])
    sheet.append([label for _, label, _ in _HEADERS])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in frame.to_dict(orient="records"):
        sheet.append([None if pd.isna(row[key]) else row[key] for key, _, _ in _HEADERS])
    for i, (_, _, width) in enumerate(_HEADERS, start=1):
        sheet.column_dimensions[sheet.cell(3, i).column_letter].width = width
    for cells in sheet.iter_rows(min_row=4, min_col=5, max_col=5):
        cells[0].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A4"
    book.save(path)
    return path
