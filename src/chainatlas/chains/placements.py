"""Placements as the rest of the stack reads them: firms per node, and their products.

Two things derive from ``firm_nodes`` (the classifier's placements with analysts'
corrections applied) and belong to the chains stage:

- ``chain_firms``, a derived table rebuilt after every classification or correction:
  each firm on each node, with every ancestor node too (a firm on 疫苗 also counts for
  生物药), its location and first year (founded or listed, whichever came first:
  :func:`chainatlas.store.query.first_year`) for ``--as-of`` views. Roster twins of
  listed firms are left out.
- the products behind each placement: classification writes them to the
  ``placement_products`` table, and the ``firm_node_products`` view drops those of
  placements an active correction voids, exactly as ``firm_nodes`` does. Every reader of
  placement products goes through that view (:func:`placing_products` here), never
  through the evidence JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from chainatlas.chains.signals import PLACE_THRESHOLD, Evidence
from chainatlas.store import Database
from chainatlas.store.lookup import NodeTree
from chainatlas.store.query import TRUE, Q, compose, first_year, ident, param, values

PRODUCT_COLUMNS = ["company_id", "chain_id", "node_id", "product", "share"]

#: A product line under this revenue share is a side line: it places the firm on the node
#: but never makes it one of the node's leaders (新奥股份's 22 % 农兽药 line).
PRIMARY_SHARE = 0.30

#: The knowledge graph's revenue share for a product it lists without one (14,714 of
#: 53,202 firm-product rows; 鹏鼎控股's 各类印刷电路板): not a share, so it never makes a
#: placement a side line. A placement whose products all carry it has no share (NULL).
UNKNOWN_SHARE = 0.001

_CHAIN_FIRMS_SQL = """
INSERT INTO chain_firms (chain_id, node_id, company_id, confidence, direct, origin,
    first_year, province_adcode, city_adcode, region_adcode, product_share)
WITH up AS (
    SELECT unnest({chains}) AS chain_id, unnest({nodes}) AS node_id,
           unnest({ancestors}) AS ancestor),
shares AS (
    -- not least(1.0, …): DuckDB's least skips NULL, and NULL (no known share) must stay
    SELECT chain_id, ancestor, company_id, CASE WHEN known > 1.0 THEN 1.0 ELSE known END
        AS share FROM (SELECT chain_id, ancestor, company_id,
           sum(share) FILTER (WHERE abs(share - {unknown}) > 1e-9) AS known FROM (
        SELECT DISTINCT u.chain_id, u.ancestor, p.company_id, p.product, p.share
        FROM firm_node_products p JOIN up u ON u.chain_id = p.chain_id
        AND u.node_id = p.node_id) GROUP BY ALL))
SELECT u.chain_id, u.ancestor, f.company_id, max(f.confidence),
    bool_or(u.ancestor = f.node_id), any_value(c.origin), any_value({first_year}),
    any_value(c.province_adcode), any_value(c.city_adcode), any_value(c.region_adcode),
    any_value(s.share)
FROM firm_nodes f JOIN up u ON u.chain_id = f.chain_id AND u.node_id = f.node_id
JOIN companies c ON c.company_id = f.company_id
LEFT JOIN shares s ON s.chain_id = u.chain_id AND s.ancestor = u.ancestor
    AND s.company_id = f.company_id
WHERE c.same_as IS NULL GROUP BY u.chain_id, u.ancestor, f.company_id
"""


def primary_sql(alias: str = "f") -> Q:
    """Condition on a ``chain_firms`` row: the node is a primary business of the firm (no
    product evidence, or placing products of at least :data:`PRIMARY_SHARE`)."""
    return Q(f"coalesce({ident(alias).text}.product_share, 1.0) >= ?", (PRIMARY_SHARE,))


def node_ancestry(db: Database) -> list[tuple[str, str, str]]:
    """(chain_id, node_id, ancestor) for every stored node and each node at or above it
    (a firm on 疫苗 also counts for 生物药), walked by the one tree walk (NodeTree)."""
    parents: dict[str, dict[str, str | None]] = {}
    for chain_id, node_id, parent in db.execute(
            "SELECT chain_id, node_id, parent FROM chain_nodes ORDER BY chain_id, ord"
    ).fetchall():
        parents.setdefault(str(chain_id), {})[str(node_id)] = parent
    out: list[tuple[str, str, str]] = []
    for chain_id, tree in ((c, NodeTree(p)) for c, p in parents.items()):
        for node_id in parents[chain_id]:
            out.extend((chain_id, node_id, a) for a in (node_id, *tree.ancestors(node_id)))
    return out


def refresh_chain_firms(db: Database) -> int:
    """Rebuild ``chain_firms`` from ``firm_nodes``; return its row count."""
    pairs = node_ancestry(db)
    with db.transaction():
        db.execute("DELETE FROM chain_firms")
        db.execute(compose(_CHAIN_FIRMS_SQL, first_year=first_year("c"),
                           chains=values(p[0] for p in pairs),
                           nodes=values(p[1] for p in pairs),
                           ancestors=values(p[2] for p in pairs),
                           unknown=param(UNKNOWN_SHARE)))
    return int(db.scalar("SELECT count(*) FROM chain_firms"))


def products_from_evidence(evidence: Mapping[tuple[str, str], Evidence],
                           chain_id: str) -> pd.DataFrame:
    """Rows for ``placement_products``: the products of every placement that is stored
    (confidence at or above the threshold), each with the share its evidence records."""
    rows = [(cid, chain_id, node_id, str(p["product"]), float(p["share"]))
            for (cid, node_id), ev in sorted(evidence.items(), key=lambda item: item[0])
            if ev.products and ev.confidence() >= PLACE_THRESHOLD
            for p in ev.products]
    return pd.DataFrame(rows, columns=PRODUCT_COLUMNS)


def placing_products(db: Database, chain_id: str, nodes: Sequence[str] | None = None
                     ) -> dict[str, tuple[float, list[str]]]:
    """company_id -> (revenue share of the products that placed it on the chain, or on
    ``nodes``, capped at 1; those products, largest share first).

    A product that placed the firm on two nodes is one product: its share counts once.
    Ties keep a fixed order (by product name), so results do not depend on row order.
    """
    scope: Q = TRUE if nodes is None else compose("list_contains({nodes}, node_id)",
                                                  nodes=values(nodes))
    rows = db.execute(compose(
        "SELECT company_id, product, max(share) AS share FROM firm_node_products "
        "WHERE chain_id = {chain} AND {scope} GROUP BY company_id, product "
        "ORDER BY company_id, share DESC, product",
        chain=param(chain_id), scope=scope)).fetchall()
    found: dict[str, list[tuple[str, float]]] = {}
    for cid, product, share in rows:
        found.setdefault(str(cid), []).append((str(product), float(share)))
    return {cid: (min(1.0, sum(share for _, share in products)), [p for p, _ in products])
            for cid, products in found.items()}
