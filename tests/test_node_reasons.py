"""Node reasons agree with the direction model (chains/direction.py) on a hand-made chain.

    a -> b -> c -> d        t -> s        x (no edge)

Product evidence: c -> b (against the template), a -> x (a pair no path directs) and
a -> c (along the model's a -> b -> c). The region holds a, c and t strongly; s is 弱 with
one firm, and t's only local firm is that same firm (one firm placed on both nodes); d is
a retail node (零售). The checker of :mod:`chainatlas.recommend.claims` must find nothing
in the ranked records, and must find the faults planted by hand.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from chainatlas.chains.direction import Directions, directions_from_edges
from chainatlas.recommend.claims import check_reasons, check_record
from chainatlas.recommend.node_context import ChainContext, combine_links, keyed_links
from chainatlas.recommend.nodes import density_percentile, score_node_candidates
from chainatlas.store.lookup import NodeTree, Region

CITY = Region("130100", "石家庄市", "city", "130000", parent="130000")
EDGES = [("a", "b"), ("b", "c"), ("c", "d"), ("t", "s")]
# node_id: (class, local firm ids, national firms, kind)
NODES: dict[str, tuple[str, list[str], int, str]] = {
    "a": ("强", ["a0", "a1"], 9, "production"), "b": ("缺", [], 6, "production"),
    "c": ("强", ["c0"], 4, "production"), "d": ("缺", [], 5, "retail"),
    "t": ("强", ["shared"], 3, "production"), "s": ("弱", ["shared"], 8, "production"),
    "x": ("缺", [], 2, "production")}
LABELS = {n: f"{n}环节" for n in NODES}


def _directions() -> Directions:
    return directions_from_edges({n: None for n in NODES}, EDGES)


def _profile() -> list[dict[str, Any]]:
    return [{"node_id": n, "name_zh": LABELS[n], "stage": "中游", "parent": None,
             "is_leaf": True, "class": cls, "national_firms": national,
             "local_firms": len(firms), "local_listed": len(firms), "lq": 0.5,
             "local_leaders": [{"company_id": f, "short_name": f"{f}公司"} for f in firms]}
            for n, (cls, firms, national, _) in NODES.items()]


def _context() -> ChainContext:
    directions = _directions()
    edges = pd.DataFrame({"source": [a for a, _ in EDGES], "target": [b for _, b in EDGES],
                          "template": True})
    evidence = pd.DataFrame({"source": ["c", "a", "a"], "target": ["b", "x", "c"],
                             "relations": [3, 3, 2], "example": ["丙→乙", "甲→己", "甲→丙"]})
    incoming, outgoing = keyed_links(combine_links(edges, evidence, directions))
    held = [n for n in NODES if NODES[n][1]]
    density = pd.DataFrame({"city_adcode": CITY.adcode, "node_id": list(NODES),
                            "mcp": [int(n in held) for n in NODES],
                            "density": [0.1 * i for i in range(len(NODES))]})
    top = {n: [{"short_name": f"外地{n}", "city_adcode": "320500"}] for n in NODES}
    return ChainContext("hand", None, "city", density_percentile(density), incoming,
                        outgoing, NodeTree({n: None for n in NODES}), top, biggest_leaf=9,
                        directions=directions, kinds={n: v[3] for n, v in NODES.items()})


@pytest.fixture
def ranked() -> dict[str, dict[str, Any]]:
    records = score_node_candidates(_profile(), _context(), CITY, kinds=None)
    return {r["node_id"]: r for r in records}


def test_every_record_passes_the_checker(ranked: dict[str, dict[str, Any]]) -> None:
    assert set(ranked) == {"b", "d", "s", "x"}  # the 弱 and 缺 nodes
    directions = _directions()
    for node, record in ranked.items():
        assert record["reasons_zh"] and all(s.strip() for s in record["reasons_zh"]), node
        assert check_record(record, directions, LABELS, NODES[node][3]) == [], node


def test_direction_claims_follow_the_model(ranked: dict[str, dict[str, Any]]) -> None:
    directions = _directions()
    claims = [c for r in ranked.values() for c in r["claims"] if c["kind"] == "direction"]
    assert claims  # b, d and s have directed neighbours: the check is not vacuous
    for claim in claims:
        assert directions.of(claim["other"], claim["node"]) == claim["side"], claim
    b = {(c["other"], c["side"]) for c in ranked["b"]["claims"] if c["kind"] == "direction"}
    # the evidence c -> b runs against the template: c stays downstream of b
    assert b == {("a", "upstream"), ("c", "downstream")}
    assert ranked["b"]["label"] == "补链"


def test_evidence_without_a_direction_names_no_node(ranked: dict[str, dict[str, Any]]
                                                    ) -> None:
    x = ranked["x"]
    assert x["components"]["adjacency"]["upstream"] == []
    assert x["components"]["adjacency"]["downstream"] == []
    assert not any("a环节" in s or "上游" in s or "下游" in s for s in x["reasons_zh"])
    assert x["label"] == "延链"


def test_a_firm_is_never_strength_and_base(ranked: dict[str, dict[str, Any]]) -> None:
    s = ranked["s"]
    # t's only local firm is s's own firm: no separate strength upstream of s
    assert s["components"]["adjacency"]["upstream"] == []
    assert s["label"] == "强链"
    base = {f for c in s["claims"] if c["kind"] == "base" for f in c["firms"]}
    strength = {f for c in s["claims"] if c["kind"] in ("direction", "parent")
                for f in c["firms"]}
    assert base == {"shared公司"} and not base & strength
    assert not any("t环节" in sentence for sentence in s["reasons_zh"])


def test_a_retail_node_is_not_told_to_supply_or_extend(ranked: dict[str, dict[str, Any]]
                                                       ) -> None:
    d = ranked["d"]
    assert d["kind"] == "retail"
    assert d["reasons_zh"][0].startswith("上游「c环节」为本地强项（c0公司）")
    assert not any(w in s for s in d["reasons_zh"] for w in ("配套", "延伸"))


def test_the_checker_finds_planted_faults() -> None:
    directions = _directions()
    wrong_side = ["下游「a环节」为本地强项（a0公司），本地即有需求"]
    claim = {"kind": "direction", "other": "a", "side": "downstream", "firms": ["a0公司"],
             "reason": 0}
    assert len(check_reasons("b", wrong_side, [claim], directions, LABELS)) == 2
    unnamed = ["可从本地强项向下游延伸"]
    assert check_reasons("b", unnamed, [], directions, LABELS)
    assert check_reasons("b", [], [], directions, LABELS) == ["b has no reason"]
    assert check_reasons("b", [" "], [], directions, LABELS) == ["reason 0 is empty"]
    twice = [{"kind": "base", "firms": ["f"], "reason": 0},
             {"kind": "direction", "other": "a", "side": "upstream", "firms": ["f"],
              "reason": 1}]
    text = ["本地仅有 1 家企业（f）", "上游「a环节」为本地强项（f），可就近配套"]
    assert check_reasons("b", text, twice, directions, LABELS) == [
        "firm f is cited both as a strength and as the base of b"]
    retail = ["上游「c环节」为本地强项（c0公司），可就近配套"]
    assert check_reasons("d", retail, [], directions, LABELS, "retail")
