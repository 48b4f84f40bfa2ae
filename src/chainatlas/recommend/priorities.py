"""Priority nodes from policy texts: a node the region's plan names ranks higher.

When an analyst accepts a direction read from a plan (``chainatlas intake``; table
``priority_nodes``), node recommendations for that region and chain add
:data:`PRIORITY_BONUS` to the score of the node and of every leaf below it (a plan that
names 生物药 names 人用疫苗 too), capped at 1, and say why, quoting the plan's sentence.
The bonus is a tie-breaker among candidates of similar merit, not a trump: a strong
candidate the plan does not name can still rank above a weak one it names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chainatlas.store import Database
from chainatlas.store.lookup import NodeTree

#: What a priority adds to a node's score (scores are in [0, 1]).
PRIORITY_BONUS = 0.1
_QUOTE = 60


def priorities_of(db: Database, region: str, chain: str) -> dict[str, dict[str, Any]]:
    """The priority nodes of a region on a chain, by node id."""
    rows = db.rows("SELECT node_id, source, sentence FROM priority_nodes WHERE "
                   "region_adcode = ? AND chain_id = ?", [region, chain])
    return {str(r["node_id"]): r for r in rows}


def _reason(priority: Mapping[str, Any]) -> str:
    sentence = str(priority.get("sentence") or "").strip()
    quoted = sentence if len(sentence) <= _QUOTE else sentence[:_QUOTE] + "…"
    return f"列入《{priority['source']}》的重点发展方向：“{quoted}”"


def raise_priorities(ranked: Sequence[dict[str, Any]],
                     priorities: Mapping[str, Mapping[str, Any]],
                     tree: NodeTree) -> list[dict[str, Any]]:
    """The ranking with priority nodes (or their descendants) raised and re-ranked (pure)."""
    out = []
    for record in ranked:
        node = str(record["node_id"])
        hit = next((priorities[n] for n in (node, *tree.ancestors(node)) if n in priorities),
                   None)
        if hit is None:
            out.append(record)
            continue
        score = min(1.0, float(record["score"]) + PRIORITY_BONUS)
        raised = {**record, "score": round(score, 4),
                  "components": {**record["components"], "policy": {
                      "value": 1.0, "weight": PRIORITY_BONUS, "source": hit["source"],
                      "sentence": hit.get("sentence")}},
                  "reasons_zh": [*record["reasons_zh"], _reason(hit)],
                  "explain": [*record.get("explain", []), {
                      "component": "policy", "label_zh": "政策重点方向", "value": 1.0,
                      "weight": PRIORITY_BONUS, "points": PRIORITY_BONUS,
                      "raw_zh": _reason(hit)}]}
        out.append(raised)
    out.sort(key=lambda r: -float(r["score"]))  # stable: ties keep their order
    for rank, record in enumerate(out, start=1):
        record["rank"] = rank
    return out
