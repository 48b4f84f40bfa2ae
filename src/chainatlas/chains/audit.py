"""Check a chain template's supply edges against the product graph.

Node A supplies node B when a product made by a firm on A is an upstream material of a
product made by a firm on B (``upstream_material`` relations read backwards,
``downstream_product`` relations read forwards). For every ordered pair of nodes the audit
counts those product relations and the firm pairs behind them, then lists template edges
with no evidence and strongly evidenced pairs the template lacks.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from chainatlas.analysis.panorama import chain_row
from chainatlas.analysis.regional import founded_by_sql
from chainatlas.store import Database

# A pair the template lacks is reported when this much evidence backs it.
MIN_RELATIONS = 3
MIN_FIRM_PAIRS = 2


# Which products of a node's firms count: every product, or only those that placed the
# firm on the chain (cleaner, but it links few node pairs in the 2021 data).
_PRODUCT_SOURCES = {
    "all": "firm_nodes f JOIN company_products cp ON cp.company_id = f.company_id "
           "JOIN products p ON p.product_id = cp.product_id AND "
           "coalesce(cp.revenue_share, 0) >= 0",
    "placing": "firm_nodes f, unnest(json_extract_string(f.evidence, "
               "'$.products[*].product')) AS u(name) JOIN products p ON p.name = u.name",
}

_EVIDENCE_SQL = """
WITH np AS (SELECT DISTINCT f.node_id, f.company_id, p.product_id FROM {products}
    JOIN companies c ON c.company_id = f.company_id
    WHERE f.chain_id = ? AND p.kind = 'product' AND {as_of}),
supply AS (SELECT to_product AS up, from_product AS down FROM product_relations
    WHERE relation = 'upstream_material' UNION SELECT from_product, to_product
    FROM product_relations WHERE relation = 'downstream_product'),
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
    return db.df(_EVIDENCE_SQL.format(products=_PRODUCT_SOURCES[products],
                                      as_of=founded_by_sql(as_of)),
                 [chain_id])


def audit_chain(db: Database, chain_id: str) -> dict[str, Any]:
    """Template edges without evidence, and evidenced pairs missing from the template."""
    chain_id = str(chain_row(db, chain_id)["chain_id"])
    evidence = edge_evidence(db, chain_id)
    evidence["examples"] = evidence["examples"].map(lambda s: "；".join(s.split("；")[:5]))
    edges = db.df("SELECT source, target, note_zh FROM chain_edges WHERE chain_id = ?",
                  [chain_id])
    merged = edges.merge(evidence, on=["source", "target"], how="left").fillna(
        {"relations": 0, "firm_pairs": 0})
    declared = set(zip(edges["source"], edges["target"], strict=True))
    strong = evidence[(evidence["relations"] >= MIN_RELATIONS)
                      & (evidence["firm_pairs"] >= MIN_FIRM_PAIRS)]
    missing = strong[[(s, t) not in declared for s, t in
                      zip(strong["source"], strong["target"], strict=True)]]
    return {
        "chain_id": chain_id,
        "edges": len(edges),
        "edges_with_evidence": int((merged["relations"] > 0).sum()),
        "edges_without_evidence": merged[merged["relations"] == 0][
            ["source", "target", "note_zh"]].to_dict("records"),
        "missing_edges": missing.to_dict("records"),
        "thresholds": {"relations": MIN_RELATIONS, "firm_pairs": MIN_FIRM_PAIRS},
    }
