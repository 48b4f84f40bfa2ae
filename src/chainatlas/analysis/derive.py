"""Derived tables for fast regional queries, rebuilt after classification or corrections.

- ``chain_firms``: each firm on each node, with every ancestor node too (a firm on 疫苗
  also counts for 生物药), its location and first year (founded or listed, whichever
  came first) for ``--as-of`` views. Roster twins of listed firms are left out.
- ``firm_supply``: the firm-level supply graph. Firm A supplies firm B when a product of A
  is an upstream material of a product of B; the weight sums share(A, p) * share(B, q)
  over such product pairs (missing shares count 1/n, as in classification).
- ``chain_centrality``: PageRank of each chain's firms in the supply graph restricted to
  that chain (igraph, weighted, damping 0.85). Edges point from supplier to buyer, so a
  firm many suppliers feed — the integrator a chain leader (链主) usually is — ranks high.
"""

from __future__ import annotations

import igraph as ig
import pandas as pd

from chainatlas.store import Database

_SUPPLY_SQL = """
WITH shares AS (
    SELECT cp.company_id, cp.product_id, cp.revenue_share,
           count(*) OVER (PARTITION BY cp.company_id) AS n,
           max(coalesce(cp.revenue_share, 0)) OVER (PARTITION BY cp.company_id) AS top
    FROM company_products cp JOIN products p USING (product_id)
    WHERE p.kind = 'product' AND coalesce(cp.revenue_share, 0) >= 0),
cp AS (SELECT company_id, product_id,
              CASE WHEN top > 0 THEN coalesce(revenue_share, 0) ELSE 1.0 / n END AS w
       FROM shares),
supply AS (
    SELECT to_product AS up, from_product AS down FROM product_relations
    WHERE relation = 'upstream_material'
    UNION SELECT from_product, to_product FROM product_relations
    WHERE relation = 'downstream_product')
SELECT a.company_id AS supplier, b.company_id AS buyer, sum(a.w * b.w) AS weight,
       count(*) AS relations,
       string_agg(pu.name || '→' || pd.name, '；' ORDER BY a.w * b.w DESC) AS examples
FROM supply s JOIN cp a ON a.product_id = s.up JOIN cp b ON b.product_id = s.down
JOIN products pu ON pu.product_id = s.up JOIN products pd ON pd.product_id = s.down
WHERE a.company_id <> b.company_id GROUP BY ALL
"""


def first_year_sql(alias: str) -> str:
    """SQL for a firm's first year: founded or listed, whichever came first."""
    return f"least(year({alias}.setup_date), year({alias}.listing_date))"


def refresh_chain_firms(db: Database) -> int:
    """Rebuild ``chain_firms`` from ``firm_nodes``; return its row count."""
    with db.transaction():
        db.execute("DELETE FROM chain_firms")
        db.execute(
            "INSERT INTO chain_firms WITH RECURSIVE up(chain_id, node_id, ancestor) AS ("
            "SELECT chain_id, node_id, node_id FROM chain_nodes UNION ALL "
            "SELECT u.chain_id, u.node_id, n.parent FROM up u JOIN chain_nodes n "
            "ON n.chain_id = u.chain_id AND n.node_id = u.ancestor WHERE n.parent IS NOT NULL) "
            "SELECT u.chain_id, u.ancestor, f.company_id, max(f.confidence), "
            "bool_or(u.ancestor = f.node_id), any_value(c.origin), "
            f"any_value({first_year_sql('c')}), "
            "any_value(c.province_adcode), any_value(c.city_adcode), "
            "any_value(c.region_adcode) FROM firm_nodes f JOIN up u ON u.chain_id = f.chain_id "
            "AND u.node_id = f.node_id JOIN companies c ON c.company_id = f.company_id "
            "WHERE c.same_as IS NULL GROUP BY u.chain_id, u.ancestor, f.company_id")
    return int(db.scalar("SELECT count(*) FROM chain_firms"))


def refresh_supply(db: Database) -> int:
    """Rebuild ``firm_supply`` from products and product relations; return its edges."""
    with db.transaction():
        db.execute("DELETE FROM firm_supply")
        db.execute(f"INSERT INTO firm_supply SELECT supplier, buyer, weight, relations, "
                   f"array_to_string(list_slice(string_split(examples, '；'), 1, 3), '；') "
                   f"FROM ({_SUPPLY_SQL})")
    return int(db.scalar("SELECT count(*) FROM firm_supply"))


def pagerank_frame(edges: pd.DataFrame, nodes: list[str]) -> pd.DataFrame:
    """Weighted PageRank (damping 0.85) of ``nodes`` over supplier -> buyer ``edges``."""
    if not nodes:
        return pd.DataFrame(columns=["company_id", "pagerank"])
    index = {name: i for i, name in enumerate(nodes)}
    graph = ig.Graph(n=len(nodes), directed=True)
    keep = edges[edges["supplier"].isin(index) & edges["buyer"].isin(index)]
    graph.add_edges([(index[a], index[b]) for a, b in
                     zip(keep["supplier"], keep["buyer"], strict=True)])
    weights = list(keep["weight"].astype(float)) if len(keep) else None
    ranks = graph.pagerank(weights=weights, damping=0.85, directed=True)
    return pd.DataFrame({"company_id": nodes, "pagerank": ranks})


def refresh_centrality(db: Database) -> int:
    """Rebuild ``chain_centrality`` for every chain; return its row count."""
    edges = db.df("SELECT supplier, buyer, weight FROM firm_supply WHERE weight > 0")
    frames = []
    for (chain_id,) in db.execute("SELECT chain_id FROM chains ORDER BY chain_id").fetchall():
        firms = [r[0] for r in db.execute(
            "SELECT DISTINCT company_id FROM chain_firms WHERE chain_id = ? ORDER BY 1",
            [chain_id]).fetchall()]
        frame = pagerank_frame(edges, firms)
        frame.insert(0, "chain_id", chain_id)
        frames.append(frame)
    with db.transaction():
        db.execute("DELETE FROM chain_centrality")
        for frame in frames:
            db.insert_df("chain_centrality", frame)
    return int(db.scalar("SELECT count(*) FROM chain_centrality"))


def refresh_derived(db: Database) -> dict[str, int]:
    """Rebuild every derived table (after a build, a classification or a correction)."""
    return {"chain_firms": refresh_chain_firms(db), "firm_supply": refresh_supply(db),
            "chain_centrality": refresh_centrality(db)}
