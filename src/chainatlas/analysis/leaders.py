"""Chain leaders (链主): the firms that anchor a chain, nationally or in a region.

Score = 0.5 × scale + 0.2 × breadth + 0.3 × centrality, each component in [0, 1]:

- scale: the mean of the firm's percentile ranks, among all firms on the chain, of
  registered capital, employees and chain revenue share (the revenue share of its products
  that placed it on the chain's nodes; firms placed without product evidence get 0);
- breadth: nodes of the chain the firm is placed on, divided by the most any firm of the
  chain covers;
- centrality: percentile rank of the firm's PageRank in the chain's firm-level supply
  graph (``chain_centrality``; edges point from supplier to buyer), among firms with at
  least one supply link; firms with none get 0.

Percentiles are national, so a local leader's score is comparable across regions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from chainatlas.chains.placements import placing_products
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, as_region
from chainatlas.store.query import compose, first_year_by, param

WEIGHTS = {"scale": 0.5, "breadth": 0.2, "centrality": 0.3}


def percentile_rank(values: pd.Series) -> pd.Series:
    """Percentile rank within ``values``; a missing figure ranks 0."""
    return values.rank(pct=True, method="average", na_option="keep").fillna(0.0)


def num(value: Any) -> float | None:
    """A plain float, or None for missing values (NaN, NA, None)."""
    return None if value is None or pd.isna(value) else float(value)


def chain_firm_figures(db: Database, chain: Chain, as_of: int | None = None) -> pd.DataFrame:
    """Every firm on the chain with the raw figures leader scores are made of.

    Columns: company_id, short_name, full_name, stock_code, origin, province_adcode,
    city_adcode, region_adcode, registered_capital, employees, pagerank, nodes_covered
    (nodes it is placed on directly), nodes (their names), chain_revenue_share.
    """
    firms = db.df(compose(
        "SELECT f.company_id, c.short_name, c.full_name, c.stock_code, c.origin, "
        "f.province_adcode, f.city_adcode, f.region_adcode, c.registered_capital, "
        "c.employees, coalesce(x.pagerank, 0) AS pagerank, "
        "count(*) FILTER (WHERE f.direct) AS nodes_covered, "
        "string_agg(n.name_zh, '、' ORDER BY n.ord) FILTER (WHERE f.direct) AS nodes "
        "FROM chain_firms f JOIN companies c USING (company_id) JOIN chain_nodes n "
        "ON n.chain_id = f.chain_id AND n.node_id = f.node_id LEFT JOIN chain_centrality x "
        "ON x.chain_id = f.chain_id AND x.company_id = f.company_id "
        "WHERE f.chain_id = {chain} AND {as_of} GROUP BY ALL",
        chain=param(chain.chain_id), as_of=first_year_by(as_of, "f")))
    shares = {cid: share for cid, (share, _) in placing_products(db, chain.chain_id).items()}
    firms["chain_revenue_share"] = firms["company_id"].map(shares).fillna(0.0).astype(float)
    return firms


def score_leaders(firms: pd.DataFrame, weights: Mapping[str, float] = WEIGHTS
                  ) -> pd.DataFrame:
    """Add scale, breadth, centrality and score to :func:`chain_firm_figures`' frame and
    sort best first. Pure: ranks are among the frame's own firms."""
    if firms.empty:
        return firms
    firms = firms.copy()
    ranks = [percentile_rank(firms[col])
             for col in ("registered_capital", "employees", "chain_revenue_share")]
    firms["scale"] = sum(ranks) / len(ranks)
    most = max(int(firms["nodes_covered"].max()), 1)
    firms["breadth"] = firms["nodes_covered"] / most
    # Firms with no supply edge all sit at PageRank's floor: they get 0, not a median rank.
    linked = firms["pagerank"] > firms["pagerank"].min() * (1 + 1e-9)
    firms["centrality"] = firms["pagerank"].where(linked).rank(pct=True).fillna(0.0)
    firms["score"] = sum(w * firms[k] for k, w in weights.items())
    return firms.sort_values(["score", "company_id"], ascending=[False, True])


def leader_frame(db: Database, chain: Chain | str, as_of: int | None = None) -> pd.DataFrame:
    """Every firm on the chain with its score components (national percentiles)."""
    return score_leaders(chain_firm_figures(db, as_chain(db, chain), as_of))


def chain_leaders(db: Database, chain: Chain | str, region: Region | str | None = None,
                  top: int = 10, as_of: int | None = None) -> dict[str, Any]:
    """National leaders of a chain, and the region's own when a region is given."""
    chain = as_chain(db, chain)
    frame = leader_frame(db, chain, as_of)
    out: dict[str, Any] = {"chain_id": chain.chain_id, "chain_name": chain.name_zh,
                           "weights": WEIGHTS, "as_of": as_of,
                           "national": leader_records(frame.head(top))}
    if region is not None:
        place = as_region(db, region)
        local = frame[frame[place.column] == place.adcode] if len(frame) else frame
        out["region"] = place.summary()
        out["local"] = leader_records(local.head(top))
    return out


def leader_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Ranked leader dicts (components and raw figures) from a scored frame."""
    out = []
    for rank, row in enumerate(frame.to_dict("records"), start=1):
        out.append({
            "rank": rank, "company_id": row["company_id"], "short_name": row["short_name"],
            "full_name": row["full_name"], "stock_code": row["stock_code"],
            "nodes": row["nodes"], "score": round(float(row["score"]), 4),
            "components": {k: round(float(row[k]), 4) for k in WEIGHTS},
            "raw": {"registered_capital": num(row["registered_capital"]),
                    "employees": num(row["employees"]),
                    "chain_revenue_share": round(float(row["chain_revenue_share"]), 4),
                    "nodes_covered": int(row["nodes_covered"]),
                    "pagerank": round(float(row["pagerank"]), 6)}})
    return out
