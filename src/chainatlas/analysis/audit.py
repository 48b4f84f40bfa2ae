"""Check a chain template's supply edges against the product graph.

Node A supplies node B when a product made by a firm on A supplies a product made by a
firm on B (the supply relation of :mod:`chainatlas.analysis.supply`). For every ordered
pair of nodes the audit counts those product relations and the firm pairs behind them,
then lists template edges with no evidence and strongly evidenced pairs the template
lacks.
"""

from __future__ import annotations

from typing import Any

from chainatlas.analysis.supply import edge_evidence
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, as_chain

# A pair the template lacks is reported when this much evidence backs it.
MIN_RELATIONS = 3
MIN_FIRM_PAIRS = 2
# Product pairs listed per evidenced node pair.
EXAMPLES = 5


def audit_chain(db: Database, chain: Chain | str) -> dict[str, Any]:
    """Template edges without evidence, and evidenced pairs missing from the template."""
    chain_id = as_chain(db, chain).chain_id
    evidence = edge_evidence(db, chain_id)
    evidence["examples"] = evidence["examples"].map(
        lambda s: "；".join(s.split("；")[:EXAMPLES]))
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
