"""Analysts' corrections of placements: assign or unassign a firm to a node, with reasons.

Corrections live in their own table, which no rebuild, re-import or classification run
touches; the ``firm_nodes`` and ``firm_node_products`` views apply them over the
classifier's placements. A new correction of the same (firm, chain, node) retires the
previous one, which stays on record. Each correction also goes to the audit log
(:mod:`chainatlas.store.audit`): who, when, the active correction it retired (or null)
and the new one.

:func:`correct` only records the correction: the derived tables (``chain_firms``,
``chain_centrality``) are refreshed by the caller, normally through
:func:`chainatlas.build.apply_correction`.
"""

from __future__ import annotations

from typing import Any

from chainatlas.errors import ChainAtlasError
from chainatlas.store import Database
from chainatlas.store.audit import cli_actor, now_utc, record
from chainatlas.store.lookup import Chain, as_chain, firm_from_text

ACTIONS = ("assign", "unassign")


def correct(db: Database, firm: str, chain: Chain | str, node: str, action: str,
            reason: str, author: str | None = None) -> dict[str, Any]:
    """Record an 'assign' or 'unassign' correction and return it.

    ``firm`` is an id, stock code or name; ``chain`` a chain, its id or Chinese name;
    ``node`` a node id or Chinese name. ``author`` is the signed-in user (the web app)
    or, when None, the OS user as ``cli:<name>``. Derived tables are not refreshed here.
    """
    if action not in ACTIONS:
        raise ChainAtlasError(f"A correction is 'assign' or 'unassign', not {action!r}.")
    if not reason.strip():
        raise ChainAtlasError("Give a reason (--reason) for the correction.")
    resolved = as_chain(db, chain)
    node_id = resolved.node(node).node_id
    company = firm_from_text(db, firm)
    now = now_utc()
    who = author or cli_actor()
    key = [company["company_id"], resolved.chain_id, node_id]
    with db.transaction():
        before = _before(db, key)
        db.execute("UPDATE corrections SET active = false WHERE company_id = ? AND "
                   "chain_id = ? AND node_id = ?", key)
        new_id = int(db.scalar("SELECT coalesce(max(correction_id), 0) + 1 FROM corrections"))
        db.execute("INSERT INTO corrections VALUES (?, ?, ?, ?, ?, ?, ?, ?, true)",
                   [new_id, *key, action, reason.strip(), who, now])
        stored = db.rows("SELECT * FROM corrections WHERE correction_id = ?", [new_id])[0]
        record(db, who, "correction.add", f"{key[0]} {key[1]}/{key[2]}", before, stored)
    return {"correction_id": new_id, "company_id": company["company_id"],
            "short_name": company["short_name"], "chain_id": resolved.chain_id,
            "node_id": node_id, "action": action, "reason": reason.strip(), "author": who,
            "created_at": now.isoformat(timespec="seconds")}


def _before(db: Database, key: list[str]) -> dict[str, Any]:
    """What a correction of (firm, chain, node) changes, for the audit log: the active
    correction it retires, else the classifier's placement there (``placed`` false when
    there was none), so taking a firm off a node it was placed on keeps the placement."""
    retired = db.rows("SELECT * FROM corrections WHERE active AND company_id = ? AND "
                      "chain_id = ? AND node_id = ?", key)
    if retired:
        return retired[0]
    placed = db.rows("SELECT confidence, method, evidence FROM placements WHERE "
                     "company_id = ? AND chain_id = ? AND node_id = ?", key)
    return {"placed": True, **placed[0]} if placed else {"placed": False}


def corrections_list(db: Database, include_retired: bool = False) -> list[dict[str, Any]]:
    """Return the corrections, newest first."""
    return db.rows("SELECT * FROM corrections WHERE active OR ? "
                   "ORDER BY correction_id DESC", [include_retired])
