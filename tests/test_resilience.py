"""Resilience measures on toy networks with known answers (issue 12).

Networks are built by the library's own builder (``network_from_rows``) from a few hand
rows: units, (up, down) edges and (firm, unit, city, size) memberships. City 130100 is
石家庄 (province 130000), 310100 上海 (310000), 320500 苏州 (320000).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from chainatlas.analysis.resilience import (
    THETAS,
    Network,
    Place,
    check_theta,
    dominated_ends,
    fixed_point,
    hhi,
    limits,
    region_frame,
    spof_table,
    unit_influence,
)
from chainatlas.analysis.resilience_graph import network_from_rows

SJZ = Place("city", "130100", "130000")


def toy(units: Sequence[str], edges: Sequence[tuple[str, str]],
        firms: Sequence[tuple[str, str, str, float]]) -> Network:
    """A network of ``units``; ``firms`` are (firm id, unit, city adcode, employees)."""
    rows = pd.DataFrame([{
        "company_id": f, "unit": u, "share": None, "employees": size,
        "registered_capital": None, "firm_name": f"企业{f}", "city_adcode": city,
        "province_adcode": city[:2] + "0000", "region_adcode": city}
        for f, u, city, size in firms])
    return network_from_rows("node", list(units), [f"环节{u}" for u in units],
                             list(edges), rows)


def supplied(net: Network, theta: float = 0.5, drop: Sequence[str] = ()) -> set[str]:
    keep = ~net.firm_rows([net.firm_ids.index(f) for f in drop])
    ok, _ = fixed_point(net, net.counts(keep), theta)
    return {net.units[i] for i in np.flatnonzero(ok)}


def test_one_supplier_cascades_downstream() -> None:
    net = toy("ABC", [("A", "B"), ("B", "C")],
              [("a1", "A", "310100", 100), ("b1", "B", "130100", 50),
               ("c1", "C", "130100", 80)])
    assert supplied(net) == {"A", "B", "C"}
    for theta in THETAS:  # one input: lost at every θ
        assert supplied(net, theta, ["a1"]) == set()
    frame = region_frame(net, SJZ).set_index("unit_id")
    assert frame.loc["B", "single_local_firm"] and frame.loc["B", "sole_firm_id"] == "b1"
    assert not frame.loc["A", "single_local_firm"] and frame.loc["A", "local_firms"] == 0
    assert frame.loc["A", "influence"] == pytest.approx(1.0)  # B and C of the others
    assert frame.loc["C", "influence"] == 0
    assert frame.loc["A", "downstream_share"] == pytest.approx(1.0)
    # 石家庄 lacks A: B and C run on an input bought outside, never self-sufficient
    assert not frame.loc["B", "self_sufficient_0.5"]
    assert frame.loc["A", "outside_dependence"] == 1.0
    assert frame.loc["B", "outside_dependence"] == pytest.approx(0.0)


def test_two_substitutes_keep_supply() -> None:
    net = toy("AB", [("A", "B")],
              [("a1", "A", "310100", 100), ("a2", "A", "320500", 100),
               ("b1", "B", "130100", 50)])
    assert supplied(net, 1.0, ["a1"]) == {"A", "B"}
    assert supplied(net, 0.25, ["a2"]) == {"A", "B"}
    assert supplied(net, 0.5, ["a1", "a2"]) == set()
    frame = region_frame(net, SJZ).set_index("unit_id")
    assert frame.loc["A", "influence"] == pytest.approx(1.0)  # the node, not one firm
    assert frame.loc["A", "hhi"] == pytest.approx(0.5)


def test_cycle_sustains_itself_and_falls_together() -> None:
    # A and B feed each other; C needs B. The greatest fixed point keeps the cycle up.
    net = toy("ABC", [("A", "B"), ("B", "A"), ("B", "C")],
              [("a1", "A", "130100", 1), ("b1", "B", "130100", 1),
               ("c1", "C", "130100", 1)])
    assert supplied(net) == {"A", "B", "C"}
    assert supplied(net, 0.5, ["a1"]) == set()
    assert supplied(net, 0.5, ["c1"]) == {"A", "B"}
    frame = region_frame(net, SJZ).set_index("unit_id")
    assert frame["self_sufficient_0.5"].all()  # the region holds the whole cycle
    assert frame.loc["A", "local_influence"] == pytest.approx(1.0)


def test_theta_counts_the_share_of_failed_inputs() -> None:
    inputs = ["I1", "I2", "I3", "I4"]
    net = toy([*inputs, "D"], [(i, "D") for i in inputs],
              [*((f"f{i}", i, "310100", 1.0) for i in inputs), ("d", "D", "130100", 1)])
    assert "D" not in supplied(net, 0.25, ["fI1"])
    assert "D" in supplied(net, 0.5, ["fI1"])
    assert "D" not in supplied(net, 0.5, ["fI1", "fI2"])
    assert "D" in supplied(net, 1.0, ["fI1", "fI2", "fI3"])
    assert "D" not in supplied(net, 1.0, ["fI1", "fI2", "fI3", "fI4"])
    with pytest.raises(ValueError, match="θ"):
        check_theta(0)


def test_input_nobody_makes_comes_from_outside_the_data() -> None:
    net = toy("AB", [("A", "B")], [("b1", "B", "130100", 1)])
    assert net.degree.tolist() == [0, 0]  # A has no firm: not a counted input
    assert supplied(net, 0.25) == {"B"}


def test_hhi_by_size() -> None:
    net = toy("AB", [], [("x", "A", "130100", 3), ("y", "A", "310100", 1),
                         ("z", "B", "130100", 5)])
    value, firms = hhi(net)
    assert value[0] == pytest.approx(0.75 ** 2 + 0.25 ** 2) and firms[0] == 2
    assert value[1] == pytest.approx(1.0)
    local, _ = hhi(net, net.in_area("city", "130100"))
    assert local[0] == pytest.approx(1.0)
    frame = region_frame(net, SJZ).set_index("unit_id")
    assert frame.loc["A", "local_share_size"] == pytest.approx(0.75)
    assert frame.loc["A", "local_share_count"] == pytest.approx(0.5)
    assert frame.loc["A", "outside_dependence"] == pytest.approx(0.25)
    assert frame.loc["A", "province_firms"] == 1


def test_dominators_toward_end_products() -> None:
    # A -> B -> D, A -> C -> D, D -> E (end). A, D dominate E; B and C do not.
    net = toy("ABCDE", [("A", "B"), ("A", "C"), ("B", "D"), ("C", "D"), ("D", "E")],
              [(f"f{u}", u, "130100", 1) for u in "ABCDE"])
    present = np.ones(net.size, dtype=bool)
    found = {net.units[k]: [net.units[e] for e in v]
             for k, v in dominated_ends(net, present).items()}
    assert found == {"A": ["E"], "D": ["E"]}
    table = spof_table(region_frame(net, SJZ))
    assert list(table["unit_id"][:2]) == ["A", "D"]


def test_influence_at_local_scope() -> None:
    net = toy("ABC", [("A", "B"), ("B", "C")],
              [("a1", "A", "130100", 1), ("a2", "A", "310100", 1),
               ("b1", "B", "130100", 1), ("c1", "C", "130100", 1)])
    local = net.counts(net.in_area("city", "130100"))
    assert unit_influence(net, 0.5, local)[0] == pytest.approx(1.0)  # local A holds B, C
    assert unit_influence(net, 0.5)[0] == pytest.approx(1.0)  # all of A nationally
    assert math.isclose(unit_influence(net, 0.5, local)[2], 0.0)


def test_limits_say_what_the_data_cannot_show() -> None:
    node, product = limits("node"), limits("product")
    assert any("不带权重" in t for t in node["limits_zh"])
    assert any("工商登记" in t for t in node["limits_zh"])
    assert not any("工商登记企业按" in t for t in product["limits_zh"])
    assert len(node["limits"]) == len(node["limits_zh"])


def test_outside_dependence_falls_back_to_counts_without_sizes() -> None:
    rows = pd.DataFrame([{
        "company_id": f, "unit": "A", "share": None, "employees": None,
        "registered_capital": None, "firm_name": f, "city_adcode": city,
        "province_adcode": city[:2] + "0000", "region_adcode": city}
        for f, city in (("x", "130100"), ("y", "310100"), ("z", "310100"), ("w", "310100"))])
    net = network_from_rows("node", ["A"], ["甲"], [], rows)
    frame = region_frame(net, SJZ)
    assert math.isnan(frame.loc[0, "hhi"]) and frame.loc[0, "hhi_firms"] == 0
    assert frame.loc[0, "outside_dependence"] == pytest.approx(0.75)
