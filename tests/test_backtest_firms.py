"""The firm backtest's truth, data-gap rule, tie-aware metrics and units
(benchmarks/backtest_firms.py), on hand-made frames."""

from __future__ import annotations

import importlib.util
import math
import sys
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from chainatlas.store.lookup import Region
from tests.helpers import REPO


def _load() -> ModuleType:
    """The benchmark module, imported by path (benchmarks/ is no package)."""
    path = REPO / "benchmarks" / "backtest_firms.py"
    spec = importlib.util.spec_from_file_location("backtest_firms", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up by name while the class bodies run
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bt = _load()


# --------------------------------------------------------------------------- data gaps


def _counts(rows: dict[str, dict[int, int]]) -> pd.DataFrame:
    return pd.DataFrame([{"province": p, "year": y, "n": n}
                         for p, years in rows.items() for y, n in years.items()])


def test_a_sudden_drop_is_a_gap_a_ramp_is_not() -> None:
    counts = _counts({
        "A": {1995: 100, 1996: 110, 1997: 120, 1998: 0},       # last year lost
        "B": {1995: 5, 1996: 10, 1997: 200, 1998: 2000},       # coverage ramps up
        "C": {1995: 100, 1996: 90, 1998: 100},                 # 1997 missing: 0 rows
        "D": {1995: 100, 1996: 15, 1997: 100, 1998: 100},      # a 85 % dip
    })
    assert bt.gap_provinces(counts, 1995, 1998) == {"A": [1998], "C": [1997], "D": [1996]}


def test_a_gap_before_the_window_does_not_count() -> None:
    counts = _counts({"D": {1995: 100, 1996: 15, 1997: 100, 1998: 100}})
    assert bt.gap_provinces(counts, 1996, 1998) == {}
    # every year of a long hole counts, not only its first
    counts = _counts({"S": {1999: 500, 2000: 600}})
    assert bt.gap_provinces(counts, 1999, 2002) == {"S": [2001, 2002]}


# --------------------------------------------------------------------------- truth


def _branches(rows: list[tuple[str, str | None, int, str | None, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["parent", "parent_city", "parent_first", "city",
                                       "branch_year"])


def test_truth_counts_pairs_of_outside_parents_existing_at_t() -> None:
    branches = _branches([
        ("P", "110100", 1990, "130100", 1999),    # counts
        ("P", "110100", 1990, "130100", 2003),    # same pair: one pair, two branches
        ("P", "110100", 1990, "130600", 2004),    # second city: second pair
        ("P", "110100", 1990, "110100", 2000),    # own city: no
        ("P", "110100", 1990, "320500", 1998),    # at T: no (window is (T, END])
        ("P", "110100", 1990, "320500", 2005),    # after the window: no
        ("LATE", "110100", 1999, "130100", 2001),  # parent founded after T: no
        ("Q", None, 1990, "130100", 2001),        # parent city unknown: no
        ("R", "110100", 1990, None, 2001),        # branch city unknown: no
    ])
    pairs = bt.truth_pairs(branches, 1998, 2004)
    assert list(pairs.itertuples(index=False, name=None)) == [
        ("P", "130100", 2), ("P", "130600", 1)]


# --------------------------------------------------------------------------- metrics


def test_expected_hits_without_ties() -> None:
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    positive = np.array([True, False, False, True, False])
    assert bt.expected_hits(scores, positive, 2) == 1
    assert bt.expected_hits(scores, positive, 4) == 2
    assert bt.expected_hits(scores, positive, 50) == 2  # k beyond the candidates
    assert bt.expected_hits(scores[:0], positive[:0], 5) == 0


def test_a_tie_counts_its_expected_share() -> None:
    scores = np.array([3.0, 2.0, 2.0, 2.0, 1.0])
    positive = np.array([False, True, False, False, True])
    # one seat left for three tied firms, one of them positive
    assert bt.expected_hits(scores, positive, 2) == pytest.approx(1 / 3)
    assert bt.expected_hits(scores, positive, 3) == pytest.approx(2 / 3)
    # a method that ties everything scores the base rate, whatever the row order
    flat = np.zeros(5)
    assert bt.expected_hits(flat, positive, 2) == pytest.approx(2 * 2 / 5)


def test_missing_scores_rank_last() -> None:
    scores = np.array([np.nan, 1.0, 0.5])
    positive = np.array([True, False, False])
    assert bt.expected_hits(scores, positive, 2) == 0
    assert bt.expected_hits(scores, positive, 3) == 1


def test_summarise_means_over_units_with_positives_and_pools() -> None:
    units = [bt.UnitHits(positives=2, hits_p=1.0, hits_r=2.0, shown=50),
             bt.UnitHits(positives=8, hits_p=0.0, hits_r=2.0, shown=50),
             bt.UnitHits(positives=0, hits_p=0.0, hits_r=0.0, shown=50)]
    got = bt.summarise(units)
    assert got["units"] == 2 and got["positives"] == 10
    assert got["p@50"] == pytest.approx((1 / 50 + 0) / 2)
    assert got["r@200"] == pytest.approx((2 / 2 + 2 / 8) / 2)
    assert got["pooled r@200"] == pytest.approx(4 / 10)
    assert math.isnan(bt.summarise(units[2:])["p@50"])


def test_bootstrap_interval_and_verdict() -> None:
    a = [bt.UnitHits(2, 1.0, 2.0, 50), bt.UnitHits(3, 2.0, 3.0, 50)]
    half = [bt.UnitHits(2, 0.5, 1.0, 50), bt.UnitHits(3, 1.0, 1.5, 50)]
    # every unit exactly twice as good: every resample gives 2
    assert bt.bootstrap_ratio(a, half, "p@50") == pytest.approx((2.0, 2.0))
    assert bt.bootstrap_ratio(a, half, "r@200") == pytest.approx((2.0, 2.0))
    assert bt.verdict((2.0, 2.5)) == "met"
    assert bt.verdict((1.2, 1.9)) == "missed"
    assert bt.verdict((1.5, 2.5)) == "too few to conclude"


def test_weight_grid_sums_to_one_and_covers_the_simplex() -> None:
    grid = list(bt.weight_grid(["a", "b", "c"], 0.1))
    assert len(grid) == math.comb(10 + 2, 2)
    assert all(sum(w.values()) == pytest.approx(1.0) for w in grid)
    assert {"a": 1.0, "b": 0.0, "c": 0.0} in grid and len({tuple(w.values()) for w in grid}) \
        == len(grid)


def test_untested_components_keep_their_library_weight() -> None:
    library = {"fit": 0.25, "strength": 0.30, "links": 0.25, "proximity": 0.20}
    tuned = {"fit": 0.0, "strength": 0.8, "proximity": 0.2}
    got = bt.scaled_to_library(tuned, library, ["fit", "strength", "proximity"])
    assert got == {"fit": 0.0, "strength": 0.6, "links": 0.25, "proximity": 0.15}
    # a component the shipped weights lack yet still gets its tuned share
    tuned = {"strength": 0.4, "expansion": 0.4, "proximity": 0.2}
    got = bt.scaled_to_library(tuned, library, ["strength", "expansion", "proximity"])
    assert got == {"fit": 0.25, "strength": 0.2, "links": 0.25, "proximity": 0.1,
                   "expansion": 0.2}


# --------------------------------------------------------------------------- units


def _region(adcode: str, province: str, lon: float, lat: float) -> Region:
    return Region(adcode=adcode, name=adcode, level="city", province_adcode=province,
                  lon=lon, lat=lat)


def _pool() -> object:
    frame = pd.DataFrame({
        "company_id": ["BIG", "NEAR", "LOCAL", "SMALL", "NOCAP"],
        "origin": "registry",
        "registered_capital": [9000.0, 100.0, 5000.0, 10.0, None],
        "employees": None,
        "province_adcode": ["110000", "130000", "130000", "650000", "650000"],
        "city_adcode": ["110100", "130600", "130100", "650100", "650100"],
        "lon": [116.41, 115.46, 114.51, 87.62, 87.62],
        "lat": [39.90, 38.87, 38.04, 43.83, 43.83],
        "fit": [0.5, 0.9, 0.9, 0.6, 0.6],
        "revenue_share": 0.0})
    # BIG opened branches in 3 other cities before T
    return bt.make_pool(frame, "chain", 1998, "all", pd.Series({"BIG": 3.0}))


REGIONS = {"130100": _region("130100", "130000", 114.51, 38.04),
           "320500": _region("320500", "320000", 120.59, 31.30),
           "370100": _region("370100", "370000", 117.00, 36.65)}


def test_units_drop_the_citys_own_firms_and_gap_provinces() -> None:
    pool = _pool()
    pairs = pd.DataFrame({"parent": ["NEAR", "LOCAL", "SMALL", "GONE", "BIG", "BIG"],
                          "city": ["130100", "130100", "320500", "130100", "370100",
                                   "999999"],
                          "branches": 1})
    units = bt.make_units(pool, pairs, REGIONS, {"370000": [2004]})
    assert [u.region.adcode for u in units] == ["130100", "320500"]
    sjz = units[0]
    ids = pool.frame["company_id"]
    assert list(ids[sjz.positive]) == ["NEAR"]  # LOCAL lies in the city itself
    assert list(ids[sjz.own]) == ["LOCAL"]
    for method in ("size", "fit", {"fit": 0.5, "proximity": 0.5}):
        scores = bt.unit_scores(sjz, method)
        assert scores[pool.index["LOCAL"]] == -np.inf


def test_size_ranks_by_capital_and_proximity_by_distance() -> None:
    pool = _pool()
    pairs = pd.DataFrame({"parent": ["NEAR"], "city": ["130100"], "branches": 1})
    (unit,) = bt.make_units(pool, pairs, REGIONS, {})
    size = bt.unit_scores(unit, "size")
    assert np.argmax(size) == pool.index["BIG"]
    assert bt.unit_hits(size, unit.positive).hits_p == 1  # all 4 candidates shown
    near = bt.unit_scores(unit, {"proximity": 1.0})
    order = [pool.frame["company_id"][i] for i in np.argsort(-near)]
    assert order[:2] == ["NEAR", "BIG"]  # same province and 130 km, then Beijing
    assert bt.expected_hits(near, unit.positive, 1) == 1
    assert bt.expected_hits(size, unit.positive, 1) == 0
    grown = bt.unit_scores(unit, "expansion")
    assert np.argmax(grown) == pool.index["BIG"]
    # the others have none (only the capital tie-break, far below any real difference)
    assert max(grown[[pool.index[c] for c in ("NEAR", "SMALL", "NOCAP")]]) < 1e-6


def test_best_possible_caps_precision_by_the_positives() -> None:
    units = [bt.UnitHits(positives=2, hits_p=0.0, hits_r=0.0, shown=50),
             bt.UnitHits(positives=300, hits_p=0.0, hits_r=0.0, shown=50)]
    best = bt.best_possible(units)
    assert best["p@50"] == pytest.approx((2 / 50 + 1) / 2)
    assert best["r@200"] == pytest.approx((1 + 200 / 300) / 2)
