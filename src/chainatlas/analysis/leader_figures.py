"""Who can lead a chain or a node, and the raw figures leader scores are made of.

The rules (:mod:`chainatlas.analysis.leaders` scores the result):

- A placement is a primary business of its firm (:func:`is_primary`) when its placing
  products make at least :data:`chainatlas.chains.placements.PRIMARY_SHARE` of the firm's
  revenue, or when it has no product evidence and the firm's products do not put
  :data:`ELSEWHERE_SHARE` of its revenue on another chain (南京新百, a department store
  Shenwan files under 其他生物制品, is placed on 生物药 by that code alone while 百货 is
  89 % of its revenue).
- Product shares are read as the chain_firms product share is built (a product on two
  nodes counts once, the sum is capped at 1), except that a share of exactly
  :data:`UNKNOWN_SHARE` is a share not known: the knowledge graph writes 0.001 for a
  product it lists without a revenue share (14,714 of 53,202 firm-product rows; 鹏鼎控股's
  各类印刷电路板). A placement whose products all carry it has no share evidence.
- Chain-wide, a firm can lead when it has a primary production node and its production
  business weighs at least its trade, retail, service or operator business
  (:func:`production_first`: 益丰药房's 中成药 is a sales line of a pharmacy chain whose
  医药零售 is 98 %). On one node, a firm can lead when the node is a primary business.
- Breadth counts a firm's most specific primary nodes (:func:`most_specific`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from chainatlas.chains.placements import PRIMARY_SHARE, UNKNOWN_SHARE
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, ChainNode, as_universe
from chainatlas.store.query import compose, first_year_by, in_universe, param, values

#: A firm whose placing products put at least this share of its revenue on another chain
#: has its main business there: a placement here without product evidence is not one.
ELSEWHERE_SHARE = 0.5

FIGURE_COLUMNS = ["company_id", "origin", "province_adcode", "city_adcode", "region_adcode",
                  "registered_capital", "employees", "pagerank", "nodes_covered",
                  "primary_nodes", "chain_revenue_share"]

_ROWS_SQL = """
SELECT f.company_id, f.node_id, f.direct, f.origin, f.province_adcode, f.city_adcode,
    f.region_adcode, c.registered_capital, c.employees, coalesce(x.pagerank, 0) AS pagerank
FROM chain_firms f JOIN companies c ON c.company_id = f.company_id
LEFT JOIN chain_centrality x ON x.chain_id = f.chain_id AND x.company_id = f.company_id
WHERE f.chain_id = {chain} AND {as_of} AND {universe} AND list_contains({scope}, f.node_id)
"""

# The largest share of a firm's revenue its placing products put on one other chain.
_ELSEWHERE_SQL = """
SELECT company_id, max(share) AS share FROM (
    SELECT company_id, chain_id, least(1.0, sum(share)) AS share FROM (
        SELECT company_id, chain_id, product, max(share) AS share FROM firm_node_products
        WHERE chain_id <> {chain} AND abs(share - {unknown}) > 1e-12 GROUP BY ALL)
    GROUP BY ALL)
GROUP BY company_id
"""

# --------------------------------------------------------------------------- pure rules


def is_primary(share: pd.Series, elsewhere: pd.Series) -> pd.Series:
    """Whether each placement is a primary business of its firm: a known product share
    of at least PRIMARY_SHARE (the rule of :func:`chainatlas.chains.placements.
    primary_sql`), or none known while the firm's products do not put ELSEWHERE_SHARE of
    its revenue on another chain (``elsewhere``, NaN: none). Pure."""
    evidence_free = share.isna() & ~elsewhere.fillna(0.0).ge(ELSEWHERE_SHARE)
    return share.ge(PRIMARY_SHARE).fillna(False).astype(bool) | evidence_free


def production_first(production: pd.Series, other: pd.Series) -> pd.Series:
    """Whether a firm's measured business on a chain is production: its known product
    share on production nodes is at least the one on other nodes (NaN counts 0).
    ``production`` is indexed by every firm to judge. Pure."""
    return production.fillna(0.0) >= other.reindex(production.index).fillna(0.0)


def most_specific(nodes: Sequence[str], chain: Chain) -> list[str]:
    """The nodes of ``nodes`` no other one of them lies below, in template order. Pure."""
    given = set(nodes)
    covered = {a for n in given for a in chain.tree.ancestors(n)}
    return [n for n in chain.node_ids if n in given and n not in covered]


def known_share(shares: pd.Series) -> float:
    """The summed share of distinct products, capped at 1, over shares that are known
    (not UNKNOWN_SHARE); NaN when none is. Pure."""
    known = [float(s) for s in shares if not math.isclose(float(s), UNKNOWN_SHARE)]
    return min(1.0, sum(known)) if known else math.nan


def node_shares(products: pd.DataFrame, chain: Chain) -> pd.DataFrame:
    """Known product share per (company_id, node_id), for every node at or above a
    placing product's node (``products``: company_id, node_id, product, share), as
    chain_firms.product_share folds subtrees in. Pure."""
    if products.empty:
        return pd.DataFrame(columns=["company_id", "node_id", "share"])
    lineage = pd.Series([[n, *chain.tree.ancestors(n)] for n in products["node_id"]],
                        index=products.index)
    up = products.assign(node_id=lineage).explode("node_id")
    distinct = up.groupby(["company_id", "node_id", "product"])["share"].max()
    shares = distinct.groupby(level=["company_id", "node_id"]).agg(known_share)
    return shares.rename("share").reset_index()


def set_share(products: pd.DataFrame, nodes: Sequence[str]) -> pd.Series:
    """company_id -> known share of the products placing it on any of ``nodes``. Pure."""
    chosen = products[products["node_id"].isin(list(nodes))]
    if chosen.empty:
        return pd.Series(dtype=float)
    distinct = chosen.groupby(["company_id", "product"])["share"].max()
    return distinct.groupby(level="company_id").agg(known_share).astype(float)


# --------------------------------------------------------------------------- queries


def _node_ids(chain: Chain, production: bool) -> list[str]:
    return [n.node_id for n in chain.nodes if (n.kind == "production") == production]


def _chain_products(db: Database, chain: Chain) -> pd.DataFrame:
    return db.df("SELECT company_id, node_id, product, share FROM firm_node_products "
                 "WHERE chain_id = ?", [chain.chain_id])


def _by_company(shares: pd.DataFrame) -> pd.Series:
    return shares.set_index("company_id")["share"].astype(float)


def placement_rows(db: Database, chain: Chain, as_of: int | None, universe: str,
                   node: ChainNode | None, products: pd.DataFrame) -> pd.DataFrame:
    """chain_firms rows in scope (the production nodes, or the node's subtree) with
    their known ``share`` and ``primary`` (:func:`is_primary`)."""
    scope = _node_ids(chain, True) if node is None else list(chain.subtree(node.node_id))
    rows = db.df(compose(_ROWS_SQL, chain=param(chain.chain_id),
                         as_of=first_year_by(as_of, "f"), universe=in_universe(universe, "f"),
                         scope=values(scope)))
    rows = rows.merge(node_shares(products, chain), on=["company_id", "node_id"], how="left")
    away = db.df(compose(_ELSEWHERE_SQL, chain=param(chain.chain_id),
                         unknown=param(UNKNOWN_SHARE)))
    elsewhere = rows["company_id"].map(_by_company(away)).astype(float)
    rows["primary"] = is_primary(rows["share"].astype(float), elsewhere)
    return rows


def chain_firm_figures(db: Database, chain: Chain, as_of: int | None = None,
                       universe: str | None = None, node: ChainNode | None = None
                       ) -> pd.DataFrame:
    """The firms of the universe that can lead the chain (or ``node``), with the raw
    figures their scores are made of (:data:`FIGURE_COLUMNS`): ``chain_revenue_share``
    (known share of the products placing it on the production nodes, or on the node;
    NaN without one), ``primary_nodes`` (the nodes breadth counts) and ``nodes_covered``.
    """
    products = _chain_products(db, chain)
    rows = placement_rows(db, chain, as_of, as_universe(db, universe), node, products)
    if node is None:
        share = set_share(products, _node_ids(chain, True))
        firms = sorted(set(rows["company_id"]))
        first = production_first(share.reindex(firms),
                                 set_share(products, _node_ids(chain, False)))
        lead = rows["primary"] & rows["company_id"].map(first).astype(bool)
    else:
        on_node = rows["node_id"].eq(node.node_id)
        lead = rows["primary"] & on_node
        share = rows[on_node].set_index("company_id")["share"].astype(float)
    rows = rows[rows["company_id"].isin(rows.loc[lead, "company_id"])]
    if rows.empty:
        return pd.DataFrame(columns=FIGURE_COLUMNS)
    return _figures(chain, rows, share)


def _figures(chain: Chain, rows: pd.DataFrame, share: pd.Series) -> pd.DataFrame:
    firms = rows.groupby("company_id", sort=True).agg(
        origin=("origin", "first"), province_adcode=("province_adcode", "first"),
        city_adcode=("city_adcode", "first"), region_adcode=("region_adcode", "first"),
        registered_capital=("registered_capital", "first"),
        employees=("employees", "first"), pagerank=("pagerank", "first"))
    # Primary rows above the direct ones count too: two side lines under one parent can
    # make the parent a primary business; the most specific of them are kept.
    nodes = specific_nodes(rows.loc[rows["primary"], ["company_id", "node_id"]], chain)
    firms["primary_nodes"] = [nodes.get(cid, []) for cid in firms.index]
    firms["nodes_covered"] = firms["primary_nodes"].map(len)
    firms["chain_revenue_share"] = share.reindex(firms.index)
    return firms.reset_index()[FIGURE_COLUMNS]


def specific_nodes(placed: pd.DataFrame, chain: Chain) -> dict[str, list[str]]:
    """company_id -> :func:`most_specific` of its (company_id, node_id) rows, for many
    firms at once (one merge, not a loop per firm). Pure."""
    pairs = placed.drop_duplicates()
    lineage = pd.DataFrame([(n, a) for n in chain.node_ids for a in chain.tree.ancestors(n)],
                           columns=["node_id", "ancestor"])
    covered = pairs.merge(lineage, on="node_id")[["company_id", "ancestor"]].rename(
        columns={"ancestor": "node_id"}).drop_duplicates()
    kept = pairs.merge(covered, on=["company_id", "node_id"], how="left", indicator=True)
    kept = kept[kept["_merge"] == "left_only"]
    order = {n: i for i, n in enumerate(chain.node_ids)}
    kept = kept.assign(ord=kept["node_id"].map(order)).sort_values(["company_id", "ord"])
    out: dict[str, list[str]] = {}
    # A plain loop over sorted rows: pandas' per-group list building took seconds for
    # the 55,000 firms of a chain with the registry loaded.
    for cid, node in zip(kept["company_id"].tolist(), kept["node_id"].tolist(), strict=True):
        out.setdefault(str(cid), []).append(str(node))
    return out
