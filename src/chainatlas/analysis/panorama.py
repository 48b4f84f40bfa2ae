"""The chain panorama (产业链全景): per node, how many firms nationally and in a region.

Counts are of distinct firms placed on the node or any node below it (``firm_nodes``:
the classifier's placements with analysts' corrections applied). A roster firm that is
also a listed firm (``same_as``) is counted once, as the listed firm.

Top firms are ranked by a size measure: registered capital (万元), then employees, then
placement confidence. It is the size figure the open data has for nearly every listed
firm; revenue is not in it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from chainatlas.analysis.regions import firms_in_region_sql
from chainatlas.errors import NotFoundError
from chainatlas.store import Database

_TOP_COLUMNS = ("company_id", "short_name", "registered_capital", "employees", "confidence")
SIZE_ORDER = ("c.registered_capital DESC NULLS LAST, c.employees DESC NULLS LAST, "
              "f.confidence DESC, c.company_id")


def chain_row(db: Database, chain_id: str) -> dict[str, Any]:
    """Return the stored chain, or raise NotFoundError naming the known chains."""
    rows = db.rows("SELECT * FROM chains WHERE chain_id = ? OR name_zh = ?", [chain_id, chain_id])
    if not rows:
        known = ", ".join(f"{r[0]} ({r[1]})" for r in db.execute(
            "SELECT chain_id, name_zh FROM chains ORDER BY chain_id").fetchall())
        raise NotFoundError(f"No chain {chain_id!r}. Known chains: {known or 'none (build)'}.")
    return rows[0]


def _subtree_sql(chain_id: str) -> str:
    # node -> every node at or below it (templates have at most three levels)
    return (
        "WITH RECURSIVE sub(ancestor, node_id) AS (SELECT node_id, node_id FROM chain_nodes "
        f"WHERE chain_id = '{chain_id}' UNION ALL SELECT s.ancestor, n.node_id FROM sub s "
        f"JOIN chain_nodes n ON n.parent = s.node_id AND n.chain_id = '{chain_id}') ")


def node_firms(db: Database, chain_id: str, region: dict[str, Any] | None = None,
               node_id: str | None = None) -> pd.DataFrame:
    """Firms on a chain's nodes (each node with its subtree), biggest first per node.

    Columns: node_id, company_id, short_name, full_name, city_adcode, registered_capital,
    employees, confidence, method, evidence, is_local.
    """
    local = firms_in_region_sql(region) if region else "false"
    where = f"AND s.ancestor = '{node_id}'" if node_id else ""
    return db.df(
        _subtree_sql(chain_id) +
        "SELECT s.ancestor AS node_id, c.company_id, c.short_name, c.full_name, c.origin, "
        "c.city_adcode, c.region_adcode, c.registered_capital, c.employees, "
        "max(f.confidence) AS confidence, any_value(f.method) AS method, "
        "arg_max(f.evidence, f.confidence) AS evidence, "
        f"({local}) AS is_local FROM sub s JOIN firm_nodes f ON f.node_id = s.node_id AND "
        f"f.chain_id = '{chain_id}' JOIN companies c ON c.company_id = f.company_id "
        f"AND c.same_as IS NULL WHERE true {where} GROUP BY ALL "
        "ORDER BY node_id, c.registered_capital DESC NULLS LAST, c.employees DESC NULLS LAST, "
        "confidence DESC, c.company_id")


def chain_panorama(db: Database, chain_id: str, region: dict[str, Any] | None = None,
                   top: int = 5) -> dict[str, Any]:
    """Return the chain's node tree with national and regional firm counts and top firms."""
    chain = chain_row(db, chain_id)
    chain_id = str(chain["chain_id"])
    nodes = db.df("SELECT node_id, name_zh, name_en, stage, parent, level, is_leaf, ord "
                  "FROM chain_nodes WHERE chain_id = ? ORDER BY ord", [chain_id])
    firms = node_firms(db, chain_id, region)
    # One pass over plain rows (already biggest first per node): slicing a DataFrame per
    # node cost most of the call.
    national: dict[str, list[dict[str, Any]]] = {}
    local: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, list[int]] = {}
    for row in firms[["node_id", *_TOP_COLUMNS, "is_local"]].to_dict("records"):
        node_id = str(row["node_id"])
        count = counts.setdefault(node_id, [0, 0])
        count[0] += 1
        firm = {k: (None if pd.isna(row[k]) else row[k]) for k in _TOP_COLUMNS}
        if count[0] <= top:
            national.setdefault(node_id, []).append(firm)
        if row["is_local"]:
            count[1] += 1
            if count[1] <= top:
                local.setdefault(node_id, []).append(firm)
    out_nodes = []
    for node in nodes.to_dict("records"):
        node_id = str(node["node_id"])
        out_nodes.append({
            **{k: node[k] for k in ("node_id", "name_zh", "name_en", "stage", "level")},
            "parent": None if pd.isna(node["parent"]) else node["parent"],
            "is_leaf": bool(node["is_leaf"]),
            "national_firms": counts.get(node_id, [0, 0])[0],
            "local_firms": counts.get(node_id, [0, 0])[1],
            "top_firms": national.get(node_id, []),
            "local_top_firms": local.get(node_id, []),
        })
    return {"chain_id": chain_id, "name_zh": chain["name_zh"], "name_en": chain["name_en"],
            "region": None if region is None else {k: region[k] for k in
                                                   ("adcode", "name", "level")},
            "size_measure": "registered capital (万元), then employees",
            "nodes": out_nodes}
