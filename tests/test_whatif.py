"""What-if removals and Monte-Carlo curves on toy networks with known answers (issue 12)."""

from __future__ import annotations

import pandas as pd
import pytest

from chainatlas.analysis.resilience import Place
from chainatlas.analysis.whatif import Removal, removal_curves, whatif_result
from tests.test_resilience import SJZ, toy

# A (上海 only) -> B (石家庄, 苏州) -> C (石家庄); W (苏州) -> C as a second input.
NET = toy("ABWC", [("A", "B"), ("B", "C"), ("W", "C")],
          [("a1", "A", "310100", 10), ("b1", "B", "130100", 5), ("b2", "B", "320500", 5),
           ("w1", "W", "320500", 3), ("c1", "C", "130100", 8)])


def _ids(items: list[dict[str, str]]) -> list[str]:
    return [i["unit_id"] for i in items]


def test_region_removal_propagates_by_theta() -> None:
    out = whatif_result(NET, Removal(areas=(("city", "310100"),)), SJZ)
    half = out["by_theta"]["0.5"]
    # A gone nationally; B starved (its one input); C loses half its inputs (B of B, W)
    assert _ids(half["lost_domestic"]) == ["A", "B", "C"]
    assert _ids(half["lost_local"]) == ["B", "C"]
    assert _ids(half["lost_domestic_feeding_region"]) == ["A", "B"]  # inputs of B, C
    assert half["share_chain_affected"] == pytest.approx(3 / 4)
    assert half["share_local_affected"] == pytest.approx(1.0)
    lenient = out["by_theta"]["1"]  # C keeps W: only A and B fall
    assert _ids(lenient["lost_domestic"]) == ["A", "B"]
    assert _ids(lenient["lost_local"]) == ["B"]
    assert out["removed"]["firms_removed"] == 1
    assert "limits_zh" in out


def test_firm_removal_with_a_substitute_loses_nothing() -> None:
    out = whatif_result(NET, Removal(firms=("b2",)), SJZ)
    assert out["by_theta"]["0.25"]["lost_domestic"] == []
    units = pd.DataFrame(out["units"]).set_index("unit_id")
    assert units.loc["B", "removed_share_size"] == pytest.approx(0.5)
    assert units.loc["C", "input_removed_share"] == pytest.approx(0.5)
    assert units.loc["B", "local_after"] == 1


def test_removing_the_region_itself() -> None:
    out = whatif_result(NET, Removal(areas=(("province", "130000"),)), SJZ)
    half = out["by_theta"]["0.5"]
    assert _ids(half["lost_local"]) == ["B", "C"]
    assert _ids(half["lost_domestic"]) == ["C"]  # B keeps 苏州's firm
    assert half["self_sufficient_before"] == 0  # A is made outside 石家庄


def test_curves_are_seeded_and_bounded() -> None:
    one = removal_curves(NET, None, fractions=(0.0, 0.4, 1.0), runs=20, seed=7)
    two = removal_curves(NET, None, fractions=(0.0, 0.4, 1.0), runs=20, seed=7)
    pd.testing.assert_frame_equal(one, two)
    start = one[one["fraction"] == 0.0]
    assert (start["mean"] == 0).all()
    assert (one[one["fraction"] == 1.0]["mean"] == 1).all()
    targeted = one[(one["strategy"] == "influence") & (one["fraction"] == 0.4)]
    # 5 firms, 2 removed: a1 first (everything falls through A), then any
    assert float(targeted["mean"].iloc[0]) == pytest.approx(1.0)
    assert one.attrs["population"] == 5


def test_regional_curve_counts_local_supply() -> None:
    curve = removal_curves(NET, SJZ, fractions=(0.0, 0.5, 1.0), runs=10, seed=1,
                           strategies=("size",))
    assert curve.attrs["population"] == 2 and curve.attrs["baseline_units"] == 2
    # size first: c1 (8) before b1 (5); removing c1 loses C only
    assert curve.set_index("fraction").loc[0.5, "mean"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="strategy"):
        removal_curves(NET, Place("city", "130100", "130000"), strategies=("oops",))


def test_unknown_firms_are_named_not_dropped_silently() -> None:
    out = whatif_result(NET, Removal(firms=("a1", "nobody")), SJZ)
    assert out["removed"]["firms_not_in_network"] == ["nobody"]
    assert out["removed"]["firms_removed"] == 1
