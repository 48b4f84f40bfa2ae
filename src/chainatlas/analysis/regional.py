"""A region's standing on a chain: per node, local and national firms, LQ, 强/弱/缺.

Definitions (all counts are distinct firms on the node or any node below it):

- national_firms N_n: listed firms anywhere on the node; N: all located listed firms.
- local_firms: every local firm on the node: listed, from an imported roster or from the
  enterprise registry; local_listed L_n: the listed ones; L: all located listed firms of
  the region.
- Location quotient LQ = (L_n / L) / (N_n / N), on listed firms only: rosters exist for
  the user's own region and the registry may be loaded for some provinces only, so
  counting them would make the regions that have them look specialised.
- Class: 缺 (missing) when the region has no firm on the node; 强 (strong) when
  LQ >= 1.25 with at least 2 local firms, or when a local listed firm is one of the node's
  10 largest listed firms nationally (a node leader; roster and registry firms are not
  ranked nationally, for the same reason); otherwise 弱 (weak). Leaders, here and in
  ``local_leaders``, must have the node as a primary business: placing products of at
  least 30 % of revenue, or a placement without product evidence
  (``chains.placements.PRIMARY_SHARE``).
- ``as_of=YEAR`` keeps only firms founded or listed by that year (whichever came first);
  firms with neither date are left out of such views. Placements themselves come from the
  2021 product data: an as-of view shows where today's firms were, not what they made then.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from chainatlas.chains.placements import primary_sql
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, as_region
from chainatlas.store.query import Q, compose, first_year_by, founded_by, in_area, param, size_order

STRONG_LQ = 1.25
STRONG_MIN_FIRMS = 2
NODE_LEADER_RANK = 10
CLASSES = ("强", "弱", "缺")


# --------------------------------------------------------------------------- queries


def listed_total(db: Database, region: Region | None = None, as_of: int | None = None) -> int:
    """Located listed firms, nationally (N) or of a region (L), optionally as of a year."""
    where = (Q("c.region_adcode IS NOT NULL") if region is None
             else in_area(region.level, region.adcode, "c"))
    return int(db.scalar(compose(
        "SELECT count(*) FROM companies c WHERE c.origin = 'listed' AND {where} AND {as_of}",
        where=where, as_of=founded_by(as_of, "c"))))


def node_counts(db: Database, chain: Chain, region: Region,
                as_of: int | None = None) -> pd.DataFrame:
    """Per node: national_firms, local_firms, local_listed, local_node_leaders."""
    return db.df(compose(
        "WITH ranked AS (SELECT f.*, row_number() OVER (PARTITION BY f.node_id, "
        "f.origin = 'listed' AND {primary} ORDER BY {size}, f.company_id) AS size_rank, "
        "({local}) AS is_local, ({primary}) AS primary_line FROM chain_firms f "
        "JOIN companies c USING (company_id) WHERE f.chain_id = {chain} AND {as_of}) "
        "SELECT n.node_id, n.name_zh, n.stage, n.parent, n.level, n.is_leaf, n.ord, "
        "count(r.company_id) FILTER (WHERE r.origin = 'listed') AS national_firms, "
        "count(r.company_id) FILTER (WHERE r.is_local) AS local_firms, "
        "count(r.company_id) FILTER (WHERE r.is_local AND r.origin = 'listed') "
        "AS local_listed, "
        "count(r.company_id) FILTER (WHERE r.is_local AND r.origin = 'listed' "
        "AND r.size_rank <= {rank} AND r.primary_line) "
        "AS local_node_leaders "
        "FROM chain_nodes n LEFT JOIN ranked r ON r.node_id = n.node_id "
        "WHERE n.chain_id = {chain} GROUP BY ALL ORDER BY n.ord",
        size=size_order("c"), local=in_area(region.level, region.adcode, "f"),
        primary=primary_sql("f"), chain=param(chain.chain_id),
        as_of=first_year_by(as_of, "f"), rank=param(NODE_LEADER_RANK)))


def local_leaders(db: Database, chain: Chain, region: Region, as_of: int | None = None,
                  per_node: int = 3) -> dict[str, list[dict[str, Any]]]:
    """The largest local firms of each node (registered capital, then employees)."""
    frame = db.df(compose(
        "SELECT * FROM (SELECT f.node_id, c.company_id, c.short_name, c.registered_capital, "
        "c.employees, f.confidence, row_number() OVER (PARTITION BY f.node_id ORDER BY "
        "{size}, f.company_id) AS k FROM chain_firms f JOIN companies c USING (company_id) "
        "WHERE f.chain_id = {chain} AND {local} AND {as_of} AND {primary}) "
        "WHERE k <= {per_node}",
        size=size_order("c"), chain=param(chain.chain_id), primary=primary_sql("f"),
        local=in_area(region.level, region.adcode, "f"), as_of=first_year_by(as_of, "f"),
        per_node=param(per_node)))
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.to_dict("records"):
        out.setdefault(str(row["node_id"]), []).append({
            "company_id": row["company_id"], "short_name": row["short_name"],
            "registered_capital": None if pd.isna(row["registered_capital"])
            else float(row["registered_capital"]),
            "employees": None if pd.isna(row["employees"]) else int(row["employees"])})
    return out


# --------------------------------------------------------------------------- scoring


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


def score_nodes(counts: pd.DataFrame, local_total: int, national_total: int) -> pd.DataFrame:
    """Add ``lq`` (rounded to 3 places) and ``class`` to :func:`node_counts`' frame.

    Pure: the figures come in, the documented rules go out, no store involved.
    """
    out = counts.copy()
    lq = [location_quotient(int(listed), local_total, int(national), national_total)
          for listed, national in zip(out["local_listed"], out["national_firms"], strict=True)]
    out["lq"] = [round(v, 3) for v in lq]
    out["class"] = [classify_node(int(n), v, int(k)) for n, v, k in zip(
        out["local_firms"], lq, out["local_node_leaders"], strict=True)]
    return out


def summarise(nodes: list[dict[str, Any]]) -> dict[str, int]:
    """How many leaves are 强, 弱 and 缺."""
    leaves = [n for n in nodes if n["is_leaf"]]
    return {c: sum(1 for n in leaves if n["class"] == c) for c in CLASSES}


# --------------------------------------------------------------------------- the profile


def region_profile(db: Database, region: Region | str, chain: Chain | str,
                   as_of: int | None = None) -> dict[str, Any]:
    """The region's panorama on a chain: per node counts, LQ, class and local leaders."""
    region, chain = as_region(db, region), as_chain(db, chain)
    big_n = listed_total(db, None, as_of)
    big_l = listed_total(db, region, as_of)
    scored = score_nodes(node_counts(db, chain, region, as_of), big_l, big_n)
    leaders = local_leaders(db, chain, region, as_of)
    nodes = [{
        "node_id": row["node_id"], "name_zh": row["name_zh"], "stage": row["stage"],
        "parent": None if pd.isna(row["parent"]) else row["parent"],
        "level": int(row["level"]), "is_leaf": bool(row["is_leaf"]),
        "national_firms": int(row["national_firms"]),
        "local_firms": int(row["local_firms"]), "local_listed": int(row["local_listed"]),
        "lq": float(row["lq"]), "class": str(row["class"]),
        "local_leaders": leaders.get(str(row["node_id"]), [])}
        for row in scored.to_dict("records")]
    return {
        "region": region.summary(),
        "chain_id": chain.chain_id, "chain_name": chain.name_zh, "as_of": as_of,
        "national_listed_firms": big_n, "local_listed_firms": big_l,
        "summary": summarise(nodes),
        "thresholds": {"strong_lq": STRONG_LQ, "strong_min_firms": STRONG_MIN_FIRMS,
                       "node_leader_rank": NODE_LEADER_RANK},
        "nodes": nodes,
    }
