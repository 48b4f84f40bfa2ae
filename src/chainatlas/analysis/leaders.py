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

Percentiles are national, so a local leader's score is comparable across regions, and
taken among the firms of one universe (``universe``: listed, registry or all; default
``all`` once registry firms are loaded, see :mod:`chainatlas.analysis.regional`), which the
output names. Registry firms have no products: their revenue share and centrality are 0,
so they lead on size and breadth alone (and registry firms often lack employee counts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from chainatlas.analysis.regional import describe_universe
from chainatlas.chains.placements import placing_products
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, as_region, as_universe
from chainatlas.store.query import compose, first_year_by, in_universe, param, values

WEIGHTS = {"scale": 0.5, "breadth": 0.2, "centrality": 0.3}


def percentile_rank(values: pd.Series) -> pd.Series:
    """Percentile rank within ``values``; a missing figure ranks 0."""
    return values.rank(pct=True, method="average", na_option="keep").fillna(0.0)


def num(value: Any) -> float | None:
    """A plain float, or None for missing values (NaN, NA, None)."""
    return None if value is None or pd.isna(value) else float(value)


def chain_firm_figures(db: Database, chain: Chain, as_of: int | None = None,
                       universe: str | None = None) -> pd.DataFrame:
    """Every firm of the universe on the chain with the raw figures leader scores are
    made of.

    Columns: company_id, origin, province_adcode, city_adcode, region_adcode,
    registered_capital, employees, pagerank, nodes_covered (nodes it is placed on
    directly), chain_revenue_share. Names come from :func:`firm_labels`, for the firms
    shown only: with the registry loaded a chain holds ten thousand firms and more, and
    reading all their names took most of the call.
    """
    firms = db.df(compose(
        "SELECT f.company_id, any_value(c.origin) AS origin, "
        "any_value(f.province_adcode) AS province_adcode, "
        "any_value(f.city_adcode) AS city_adcode, any_value(f.region_adcode) AS region_adcode, "
        "any_value(c.registered_capital) AS registered_capital, "
        "any_value(c.employees) AS employees, coalesce(any_value(x.pagerank), 0) AS pagerank, "
        "count(*) FILTER (WHERE f.direct) AS nodes_covered "
        "FROM chain_firms f JOIN companies c USING (company_id) LEFT JOIN chain_centrality x "
        "ON x.chain_id = f.chain_id AND x.company_id = f.company_id "
        "WHERE f.chain_id = {chain} AND {as_of} AND {universe} GROUP BY f.company_id",
        chain=param(chain.chain_id), as_of=first_year_by(as_of, "f"),
        universe=in_universe(as_universe(db, universe), "f")))
    shares = {cid: share for cid, (share, _) in placing_products(db, chain.chain_id).items()}
    firms["chain_revenue_share"] = firms["company_id"].map(shares).fillna(0.0).astype(float)
    return firms


def firm_labels(db: Database, chain: Chain, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """company_id -> short_name, full_name, stock_code and nodes (the chain's nodes it is
    placed on directly, in template order, joined by 、) for the given firms."""
    rows = db.rows(compose(
        "SELECT c.company_id, c.short_name, c.full_name, c.stock_code, "
        "string_agg(n.name_zh, '、' ORDER BY n.ord) FILTER (WHERE f.direct) AS nodes "
        "FROM companies c JOIN chain_firms f ON f.company_id = c.company_id "
        "AND f.chain_id = {chain} JOIN chain_nodes n ON n.chain_id = f.chain_id "
        "AND n.node_id = f.node_id WHERE list_contains({ids}, c.company_id) GROUP BY ALL",
        chain=param(chain.chain_id), ids=values(ids)))
    return {str(r["company_id"]): r for r in rows}


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


def leader_frame(db: Database, chain: Chain | str, as_of: int | None = None,
                 universe: str | None = None) -> pd.DataFrame:
    """Every firm of the universe on the chain with its score components (national
    percentiles); ``attrs`` names the universe."""
    chosen = as_universe(db, universe)
    frame = score_leaders(chain_firm_figures(db, as_chain(db, chain), as_of, chosen))
    frame.attrs["universe"] = chosen
    return frame


def chain_leaders(db: Database, chain: Chain | str, region: Region | str | None = None,
                  top: int = 10, as_of: int | None = None,
                  universe: str | None = None) -> dict[str, Any]:
    """National leaders of a chain, and the region's own when a region is given, among
    the firms of ``universe`` (None: the default)."""
    chain = as_chain(db, chain)
    about = describe_universe(db, universe)
    frame = leader_frame(db, chain, as_of, about["universe"])
    place = None if region is None else as_region(db, region)
    local = None if place is None else (
        frame[frame[place.column] == place.adcode].head(top) if len(frame) else frame)
    shown = [*frame.head(top)["company_id"], *([] if local is None else local["company_id"])]
    labels = firm_labels(db, chain, [str(c) for c in shown]) if shown else {}
    out: dict[str, Any] = {"chain_id": chain.chain_id, "chain_name": chain.name_zh,
                           **about, "weights": WEIGHTS, "as_of": as_of,
                           "national": leader_records(frame.head(top), labels)}
    if place is not None and local is not None:
        out["region"] = place.summary()
        out["local"] = leader_records(local, labels)
    return out


def leader_records(frame: pd.DataFrame,
                   labels: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Ranked leader dicts (components and raw figures) from a scored frame, named by
    :func:`firm_labels`."""
    out = []
    for rank, row in enumerate(frame.to_dict("records"), start=1):
        label = labels.get(str(row["company_id"]), {})
        out.append({
            "rank": rank, "company_id": row["company_id"],
            "short_name": label.get("short_name"), "full_name": label.get("full_name"),
            "stock_code": label.get("stock_code"), "origin": row["origin"],
            "nodes": label.get("nodes"), "score": round(float(row["score"]), 4),
            "components": {k: round(float(row[k]), 4) for k in WEIGHTS},
            "raw": {"registered_capital": num(row["registered_capital"]),
                    "employees": num(row["employees"]),
                    "chain_revenue_share": round(float(row["chain_revenue_share"]), 4),
                    "nodes_covered": int(row["nodes_covered"]),
                    "pagerank": round(float(row["pagerank"]), 6)}})
    return out
