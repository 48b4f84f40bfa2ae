"""Analysts' corrections of placements: assign or unassign a firm to a node, with reasons.

Corrections live in their own table, which no rebuild, re-import or classification run
touches; the ``firm_nodes`` view applies them over the classifier's placements. A new
correction of the same (firm, chain, node) retires the previous one, which stays on record.
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Any

from chainatlas.analysis.derive import refresh_centrality, refresh_chain_firms
from chainatlas.analysis.firms import firm_from_text
from chainatlas.errors import ChainAtlasError, NotFoundError
from chainatlas.store import Database


def _check_node(db: Database, chain_id: str, node_id: str) -> None:
    if not db.scalar("SELECT count(*) FROM chains WHERE chain_id = ?", [chain_id]):
        known = ", ".join(r[0] for r in db.execute("SELECT chain_id FROM chains").fetchall())
        raise NotFoundError(f"No chain {chain_id!r} in the store (known: {known}).")
    if not db.scalar("SELECT count(*) FROM chain_nodes WHERE chain_id = ? AND node_id = ?",
                     [chain_id, node_id]):
        raise NotFoundError(f"Chain {chain_id!r} has no node {node_id!r}; see "
                            f"'chainatlas chains show {chain_id}'.")


def correct(db: Database, firm: str, chain_id: str, node_id: str, action: str, reason: str,
            author: str | None = None) -> dict[str, Any]:
    """Record an 'assign' or 'unassign' correction and return it."""
    if action not in {"assign", "unassign"}:
        raise ChainAtlasError(f"A correction is 'assign' or 'unassign', not {action!r}.")
    if not reason.strip():
        raise ChainAtlasError("Give a reason (--reason) for the correction.")
    _check_node(db, chain_id, node_id)
    company = firm_from_text(db, firm)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    who = author or getpass.getuser()
    with db.transaction():
        db.execute("UPDATE corrections SET active = false WHERE company_id = ? AND "
                   "chain_id = ? AND node_id = ?", [company["company_id"], chain_id, node_id])
        new_id = int(db.scalar("SELECT coalesce(max(correction_id), 0) + 1 FROM corrections"))
        db.execute("INSERT INTO corrections VALUES (?, ?, ?, ?, ?, ?, ?, ?, true)",
                   [new_id, company["company_id"], chain_id, node_id, action, reason.strip(),
                    who, now])
        refresh_chain_firms(db)
        refresh_centrality(db)
    return {"correction_id": new_id, "company_id": company["company_id"],
            "short_name": company["short_name"], "chain_id": chain_id, "node_id": node_id,
            "action": action, "reason": reason.strip(), "author": who,
            "created_at": now.isoformat(timespec="seconds")}


def corrections_list(db: Database, include_retired: bool = False) -> list[dict[str, Any]]:
    """Return the corrections, newest first."""
    where = "" if include_retired else "WHERE active"
    return db.rows(f"SELECT * FROM corrections {where} ORDER BY correction_id DESC")
