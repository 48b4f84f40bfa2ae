"""A region's standing on a chain: per node, local and national firms, LQ, 强/弱/缺.

Definitions (all counts are distinct firms on the node or any node below it):

- national_firms N_n: listed firms anywhere on the node; N: all located listed firms.
- local_firms: every local firm on the node, listed or from an imported roster;
  local_listed L_n: the listed ones; L: all located listed firms of the region.
- Location quotient LQ = (L_n / L) / (N_n / N), on listed firms only: rosters exist for
  the user's own region, so counting them would make every region look specialised.
- Class: 缺 (missing) when the region has no firm on the node; 强 (strong) when
  LQ >= 1.25 with at least 2 local firms, or when a local firm is one of the node's 10
  largest nationally (a node leader); otherwise 弱 (weak).
- ``as_of=YEAR`` keeps only firms founded or listed by that year (whichever came first);
  firms with neither date are left out of such views. Placements themselves come from the
  2021 product data: an as-of view shows where today's firms were, not what they made then.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from chainatlas.analysis.derive import first_year_sql
from chainatlas.analysis.panorama import chain_row
from chainatlas.analysis.regions import firms_in_region_sql
from chainatlas.store import Database

STRONG_LQ = 1.25
STRONG_MIN_FIRMS = 2
NODE_LEADER_RANK = 10
CLASSES = ("强", "弱", "缺")


def as_of_sql(as_of: int | None, alias: str = "f") -> str:
    """SQL condition keeping firms founded or listed by ``as_of`` (true when None)."""
    return "true" if as_of is None else f"{alias}.first_year <= {int(as_of)}"


def founded_by_sql(as_of: int | None, alias: str = "c") -> str:
    """SQL condition on a ``companies`` row: founded or listed by ``as_of`` (true if None).

    The same rule ``chain_firms.first_year`` stores (see :func:`as_of_sql`), for queries
    that read ``companies`` directly.
    """
    if as_of is None:
        return "true"
    return f"{first_year_sql(alias)} <= {int(as_of)}"


def national_listed_total(db: Database, as_of: int | None = None) -> int:
    """N: located listed firms (optionally as of a year)."""
    return int(db.scalar("SELECT count(*) FROM companies c WHERE c.origin = 'listed' AND "
                         f"c.region_adcode IS NOT NULL AND {founded_by_sql(as_of)}"))


def local_listed_total(db: Database, region: dict[str, Any], as_of: int | None = None) -> int:
    """L: located listed firms of the region."""
    return int(db.scalar(f"SELECT count(*) FROM companies c WHERE c.origin = 'listed' AND "
                         f"{firms_in_region_sql(region)} AND {founded_by_sql(as_of)}"))


def node_counts(db: Database, chain_id: str, region: dict[str, Any],
                as_of: int | None = None) -> pd.DataFrame:
    """Per node: national_firms, local_firms, local_listed, node leader presence."""
    local = firms_in_region_sql(region, "f")
    return db.df(
        "WITH ranked AS (SELECT f.*, row_number() OVER (PARTITION BY f.node_id ORDER BY "
        "c.registered_capital DESC NULLS LAST, c.employees DESC NULLS LAST, f.company_id) "
        f"AS size_rank, ({local}) AS is_local FROM chain_firms f JOIN companies c "
        f"USING (company_id) WHERE f.chain_id = ? AND {as_of_sql(as_of)}) "
        "SELECT n.node_id, n.name_zh, n.stage, n.parent, n.level, n.is_leaf, n.ord, "
        "count(r.company_id) FILTER (WHERE r.origin = 'listed') AS national_firms, "
        "count(r.company_id) FILTER (WHERE r.is_local) AS local_firms, "
        "count(r.company_id) FILTER (WHERE r.is_local AND r.origin = 'listed') "
        "AS local_listed, "
        f"count(r.company_id) FILTER (WHERE r.is_local AND r.size_rank <= {NODE_LEADER_RANK})"
        " AS local_node_leaders "
        "FROM chain_nodes n LEFT JOIN ranked r ON r.node_id = n.node_id "
        "WHERE n.chain_id = ? GROUP BY ALL ORDER BY n.ord", [chain_id, chain_id])


def classify_node(local_firms: int, lq: float, local_leaders: int) -> str:
    """强 / 弱 / 缺 by the documented thresholds."""
    if local_firms == 0:
        return "缺"
    if (lq >= STRONG_LQ and local_firms >= STRONG_MIN_FIRMS) or local_leaders > 0:
        return "强"
    return "弱"


def location_quotient(local_n: int, local_total: int, national_n: int,
                      national_total: int) -> float:
    """(L_n / L) / (N_n / N); 0 when any share is undefined."""
    if local_total <= 0 or national_n <= 0 or national_total <= 0:
        return 0.0
    return (local_n / local_total) / (national_n / national_total)


def local_leaders(db: Database, chain_id: str, region: dict[str, Any],
                  as_of: int | None = None, per_node: int = 3) -> dict[str, list[dict[str, Any]]]:
    """The largest local firms of each node (registered capital, then employees)."""
    frame = db.df(
        "SELECT * FROM (SELECT f.node_id, c.company_id, c.short_name, c.registered_capital, "
        "c.employees, f.confidence, row_number() OVER (PARTITION BY f.node_id ORDER BY "
        "c.registered_capital DESC NULLS LAST, c.employees DESC NULLS LAST, f.company_id) AS k "
        f"FROM chain_firms f JOIN companies c USING (company_id) WHERE f.chain_id = ? AND "
        f"{firms_in_region_sql(region, 'f')} AND {as_of_sql(as_of)}) WHERE k <= ?",
        [chain_id, per_node])
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.to_dict("records"):
        out.setdefault(str(row["node_id"]), []).append({
            "company_id": row["company_id"], "short_name": row["short_name"],
            "registered_capital": None if pd.isna(row["registered_capital"])
            else float(row["registered_capital"]),
            "employees": None if pd.isna(row["employees"]) else int(row["employees"])})
    return out


def region_profile(db: Database, region: dict[str, Any], chain_id: str,
                   as_of: int | None = None) -> dict[str, Any]:
    """The region's panorama on a chain: per node counts, LQ, class and local leaders."""
    chain = chain_row(db, chain_id)
    chain_id = str(chain["chain_id"])
    big_n = national_listed_total(db, as_of)
    big_l = local_listed_total(db, region, as_of)
    counts = node_counts(db, chain_id, region, as_of)
    leaders = local_leaders(db, chain_id, region, as_of)
    nodes = []
    for row in counts.to_dict("records"):
        lq = location_quotient(int(row["local_listed"]), big_l, int(row["national_firms"]),
                               big_n)
        nodes.append({
            "node_id": row["node_id"], "name_zh": row["name_zh"], "stage": row["stage"],
            "parent": None if pd.isna(row["parent"]) else row["parent"],
            "level": int(row["level"]), "is_leaf": bool(row["is_leaf"]),
            "national_firms": int(row["national_firms"]),
            "local_firms": int(row["local_firms"]), "local_listed": int(row["local_listed"]),
            "lq": round(lq, 3),
            "class": classify_node(int(row["local_firms"]), lq,
                                   int(row["local_node_leaders"])),
            "local_leaders": leaders.get(str(row["node_id"]), [])})
    leaves = [n for n in nodes if n["is_leaf"]]
    return {
        "region": {k: region[k] for k in ("adcode", "name", "level")},
        "chain_id": chain_id, "chain_name": chain["name_zh"], "as_of": as_of,
        "national_listed_firms": big_n, "local_listed_firms": big_l,
        "summary": {c: sum(1 for n in leaves if n["class"] == c) for c in CLASSES},
        "thresholds": {"strong_lq": STRONG_LQ, "strong_min_firms": STRONG_MIN_FIRMS,
                       "node_leader_rank": NODE_LEADER_RANK},
        "nodes": nodes,
    }
