"""The supply graph: which products, firms and nodes supply which, and how strongly.

The rules, each in one place:

- **Supply relation** (:data:`SUPPLY_PAIRS`): product A supplies product B when the
  product graph says A is an ``upstream_material`` of B (the relation read backwards:
  ``B -upstream_material-> A``) or B is a ``downstream_product`` of A (read forwards).
- **Firm-product weights**: the store's ``product_weights`` view — a product's revenue
  share, or 1/n for each of a firm's n products when none has a positive share;
  negative shares (accounting offsets) and non-product rows are left out.
- **Firm supply graph** (``firm_supply``, :func:`refresh_supply`): firm A supplies firm B
  when a product of A supplies a product of B; the weight sums w(A, p) × w(B, q) over
  such product pairs, ``relations`` counts them and ``examples`` names the three
  heaviest.
- **Chain centrality** (``chain_centrality``, :func:`refresh_centrality`): PageRank of
  each chain's firms in the supply graph restricted to that chain (igraph, weighted,
  damping 0.85). Edges point from supplier to buyer, so a firm many suppliers feed — the
  integrator a chain leader (链主) usually is — ranks high.
- **Edge evidence** (:func:`edge_evidence`): node A supplies node B when a product of a
  firm on A supplies a product of a firm on B; per ordered node pair it counts those
  product relations and the firm pairs behind them.
- **Firm links** (:func:`firm_links`): the supply relations between firms placed on some
  nodes of a chain (through the products that placed them there) and the firms of a
  region (through any of their products).
"""

from __future__ import annotations

from collections.abc import Sequence

import igraph as ig
import pandas as pd

from chainatlas.store import Database
from chainatlas.store.query import Q, compose, founded_by, param, values

#: Product pairs (up, down): ``up`` supplies ``down`` (see the module docstring).
SUPPLY_PAIRS = Q(
    "SELECT to_product AS up, from_product AS down FROM product_relations "
    "WHERE relation = 'upstream_material' "
    "UNION SELECT from_product, to_product FROM product_relations "
    "WHERE relation = 'downstream_product'")

#: PageRank damping of chain centrality.
DAMPING = 0.85

# Examples keep the three heaviest product pairs (string_agg, then split and sliced).
_SUPPLY_SQL = """
INSERT INTO firm_supply
SELECT supplier, buyer, weight, relations,
       array_to_string(list_slice(string_split(examples, '；'), 1, 3), '；')
FROM (
    WITH supply AS ({supply})
    SELECT a.company_id AS supplier, b.company_id AS buyer, sum(a.w * b.w) AS weight,
           count(*) AS relations,
           string_agg(pu.name || '→' || pd.name, '；' ORDER BY a.w * b.w DESC) AS examples
    FROM supply s JOIN product_weights a ON a.product_id = s.up
    JOIN product_weights b ON b.product_id = s.down
    JOIN products pu ON pu.product_id = s.up JOIN products pd ON pd.product_id = s.down
    WHERE a.company_id <> b.company_id GROUP BY ALL)
"""


def refresh_supply(db: Database) -> int:
    """Rebuild ``firm_supply`` from products and product relations; return its edges."""
    with db.transaction():
        db.execute("DELETE FROM firm_supply")
        db.execute(compose(_SUPPLY_SQL, supply=SUPPLY_PAIRS))
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
    ranks = graph.pagerank(weights=weights, damping=DAMPING, directed=True)
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


# Which products of a node's firms count as edge evidence: every product the firm makes
# (any weighted product), or only those that placed it on the chain (cleaner, but it
# links few node pairs in the 2021 data).
_PRODUCT_SOURCES = {
    "all": Q("firm_nodes f JOIN product_weights w ON w.company_id = f.company_id "
             "JOIN products p ON p.product_id = w.product_id"),
    "placing": Q("firm_node_products f JOIN products p ON p.name = f.product"),
}

_EVIDENCE_SQL = """
WITH np AS (SELECT DISTINCT f.node_id, f.company_id, p.product_id FROM {products}
    JOIN companies c ON c.company_id = f.company_id
    WHERE f.chain_id = {chain} AND p.kind = 'product' AND {as_of}),
supply AS ({supply}),
pairs AS (SELECT a.node_id AS source, b.node_id AS target, s.up, s.down,
    a.company_id AS supplier, b.company_id AS buyer FROM supply s
    JOIN np a ON a.product_id = s.up JOIN np b ON b.product_id = s.down
    WHERE a.node_id <> b.node_id AND a.company_id <> b.company_id),
support AS (SELECT up, down, count(*) AS n FROM pairs GROUP BY up, down)
SELECT source, target, count(DISTINCT (pairs.up, pairs.down)) AS relations,
    count(DISTINCT (supplier, buyer)) AS firm_pairs,
    string_agg(DISTINCT pu.name || '→' || pd.name, '；') AS examples,
    arg_max(pu.name || '→' || pd.name, support.n) AS example
FROM pairs JOIN support USING (up, down)
JOIN products pu ON pu.product_id = pairs.up JOIN products pd ON pd.product_id = pairs.down
GROUP BY source, target ORDER BY relations DESC, firm_pairs DESC, source, target
"""


def edge_evidence(db: Database, chain_id: str, as_of: int | None = None,
                  products: str = "all") -> pd.DataFrame:
    """Evidence per ordered node pair: source, target, relations, firm_pairs, examples,
    example (the best-supported product pair).

    ``as_of`` counts only firms founded or listed by that year (backtests must not see
    later firms); ``products`` is "all" or "placing" (see ``_PRODUCT_SOURCES``).
    """
    return db.df(compose(_EVIDENCE_SQL, products=_PRODUCT_SOURCES[products],
                         chain=param(chain_id), as_of=founded_by(as_of, "c"),
                         supply=SUPPLY_PAIRS))


# The firm-level graph (firm_supply) links firms through ANY of their products, so a
# health-check chain would "buy cotton for its garments" from a local textile firm. Here
# a link counts only when the candidate's side is one of the products that placed it on
# the given nodes; the local side may be any product of any local firm. Weights as in
# firm_supply: share(candidate, p) × w(local, q) for every p upstream of q (or q of p).
_LINKS_SQL = """
WITH cand AS (
    SELECT DISTINCT company_id, product AS name, share AS w FROM firm_node_products
    WHERE chain_id = {chain} AND node_id IN (SELECT unnest({scope}))),
cand_p AS (SELECT c.company_id, p.product_id, c.name, c.w FROM cand c
           JOIN products p ON p.name = c.name AND p.kind = 'product'),
loc AS (SELECT company_id, short_name FROM companies l WHERE {local}),
loc_p AS (SELECT w.company_id, w.product_id, p.name, w.w FROM product_weights w
          JOIN loc ON loc.company_id = w.company_id
          JOIN products p ON p.product_id = w.product_id),
supply AS ({supply})
SELECT c.company_id AS candidate, 'supplies' AS direction, l.company_id AS partner,
       loc.short_name, c.name AS up, l.name AS down, c.w * l.w AS weight
FROM supply s JOIN cand_p c ON c.product_id = s.up JOIN loc_p l ON l.product_id = s.down
JOIN loc ON loc.company_id = l.company_id WHERE c.w * l.w > 0
UNION ALL
SELECT c.company_id, 'buys', l.company_id, loc.short_name, l.name, c.name, c.w * l.w
FROM supply s JOIN cand_p c ON c.product_id = s.down JOIN loc_p l ON l.product_id = s.up
JOIN loc ON loc.company_id = l.company_id WHERE c.w * l.w > 0
"""


def firm_links(db: Database, chain_id: str, nodes: Sequence[str], local: Q) -> pd.DataFrame:
    """Supply links between firms placed on ``nodes`` and the local firms ``local`` picks.

    ``local`` is a condition on ``companies l``. Columns: candidate, direction (supplies:
    the candidate's product ``up`` supplies the partner's ``down``; buys: the reverse),
    partner, short_name, up, down, weight.
    """
    return db.df(compose(_LINKS_SQL, chain=param(chain_id), scope=values(nodes),
                         local=local, supply=SUPPLY_PAIRS))
