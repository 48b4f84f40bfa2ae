"""The firm backtest (benchmarks/backtest_firms.py, _firm_metrics.py, _firm_pool.py): its
truth, data-gap rule, tie-aware metrics, city standings and units, on hand-made rows."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from chainatlas.analysis.regional import region_profile
from chainatlas.chains.direction import directions_from_edges
from chainatlas.recommend.target_links import EDGE_IMPORTANCE, node_standing
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, ChainNode, Region, as_chain
from tests.helpers import load_benchmark

fm = load_benchmark("_firm_metrics")
fp = load_benchmark("_firm_pool")
bt = load_benchmark("backtest_firms")


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
    assert fm.gap_provinces(counts, 1995, 1998) == {"A": [1998], "C": [1997], "D": [1996]}


def test_a_gap_before_the_window_does_not_count() -> None:
    counts = _counts({"D": {1995: 100, 1996: 15, 1997: 100, 1998: 100}})
    assert fm.gap_provinces(counts, 1996, 1998) == {}
    # every year of a long hole counts, not only its first
    counts = _counts({"S": {1999: 500, 2000: 600}})
    assert fm.gap_provinces(counts, 1999, 2002) == {"S": [2001, 2002]}


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
    pairs = fm.truth_pairs(branches, 1998, 2004)
    assert list(pairs.itertuples(index=False, name=None)) == [
        ("P", "130100", 2), ("P", "130600", 1)]


# --------------------------------------------------------------------------- metrics


def test_expected_hits_without_ties() -> None:
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    positive = np.array([True, False, False, True, False])
    assert fm.expected_hits(scores, positive, 2) == 1
    assert fm.expected_hits(scores, positive, 4) == 2
    assert fm.expected_hits(scores, positive, 50) == 2  # k beyond the candidates
    assert fm.expected_hits(scores[:0], positive[:0], 5) == 0


def test_a_tie_counts_its_expected_share() -> None:
    scores = np.array([3.0, 2.0, 2.0, 2.0, 1.0])
    positive = np.array([False, True, False, False, True])
    # one seat left for three tied firms, one of them positive
    assert fm.expected_hits(scores, positive, 2) == pytest.approx(1 / 3)
    assert fm.expected_hits(scores, positive, 3) == pytest.approx(2 / 3)
    # a method that ties everything scores the base rate, whatever the row order
    assert fm.expected_hits(np.zeros(5), positive, 2) == pytest.approx(2 * 2 / 5)


def test_missing_scores_rank_last() -> None:
    scores = np.array([np.nan, 1.0, 0.5])
    positive = np.array([True, False, False])
    assert fm.expected_hits(scores, positive, 2) == 0
    assert fm.expected_hits(scores, positive, 3) == 1


def test_unit_hits_equal_the_full_count_with_ties_at_the_cut() -> None:
    rng = np.random.default_rng(7)
    # 2,000 candidates on 40 score levels: ties straddle both cut-offs
    scores = rng.integers(0, 40, 2000).astype(float)
    positive = rng.random(2000) < 0.05
    got = fm.unit_hits(scores, positive)
    assert got.positives == int(positive.sum())
    assert got.hits_p == pytest.approx(fm.expected_hits(scores, positive, fm.K_PRECISION))
    assert got.hits_r == pytest.approx(fm.expected_hits(scores, positive, fm.K_RECALL))


def test_summarise_means_over_units_with_positives_and_pools() -> None:
    units = [fm.UnitHits(positives=2, hits_p=1.0, hits_r=2.0, shown=50),
             fm.UnitHits(positives=8, hits_p=0.0, hits_r=2.0, shown=50),
             fm.UnitHits(positives=0, hits_p=0.0, hits_r=0.0, shown=50)]
    got = fm.summarise(units)
    assert got["units"] == 2 and got["positives"] == 10
    assert got["p@50"] == pytest.approx((1 / 50 + 0) / 2)
    assert got["r@200"] == pytest.approx((2 / 2 + 2 / 8) / 2)
    assert got["pooled r@200"] == pytest.approx(4 / 10)
    assert math.isnan(fm.summarise(units[2:])["p@50"])


def test_best_possible_caps_precision_by_the_positives() -> None:
    units = [fm.UnitHits(positives=2, hits_p=0.0, hits_r=0.0, shown=50),
             fm.UnitHits(positives=300, hits_p=0.0, hits_r=0.0, shown=50)]
    best = fm.best_possible(units)
    assert best["p@50"] == pytest.approx((2 / 50 + 1) / 2)
    assert best["r@200"] == pytest.approx((1 + 200 / 300) / 2)


def test_bootstrap_interval_and_verdict() -> None:
    a = [fm.UnitHits(2, 1.0, 2.0, 50), fm.UnitHits(3, 2.0, 3.0, 50)]
    half = [fm.UnitHits(2, 0.5, 1.0, 50), fm.UnitHits(3, 1.0, 1.5, 50)]
    # every unit exactly twice as good: every resample gives 2
    assert fm.bootstrap_ratio(a, half, "p@50") == pytest.approx((2.0, 2.0))
    assert fm.bootstrap_ratio(a, half, "r@200") == pytest.approx((2.0, 2.0))
    # a baseline without any hit: an unbounded interval, not NaN
    zero = [fm.UnitHits(2, 0.0, 0.0, 50), fm.UnitHits(3, 0.0, 0.0, 50)]
    assert fm.bootstrap_ratio(a, zero, "p@50") == (np.inf, np.inf)
    assert fm.verdict((2.0, 2.5)) == "met"
    assert fm.verdict((1.2, 1.9)) == "missed"
    assert fm.verdict((1.5, 2.5)) == "inconclusive: the interval spans the goal"


def test_weight_grid_sums_to_one_and_covers_the_simplex() -> None:
    grid = list(fm.weight_grid(["a", "b", "c"], 0.1))
    assert len(grid) == math.comb(10 + 2, 2)
    assert all(sum(w.values()) == pytest.approx(1.0) for w in grid)
    assert {"a": 1.0, "b": 0.0, "c": 0.0} in grid
    assert len({tuple(w.values()) for w in grid}) == len(grid)


def test_untested_components_keep_their_library_weight() -> None:
    library = {"fit": 0.25, "strength": 0.30, "links": 0.25, "proximity": 0.20}
    tuned = {"fit": 0.0, "strength": 0.8, "proximity": 0.2}
    got = fm.scaled_to_library(tuned, library, ["fit", "strength", "proximity"])
    assert got == {"fit": 0.0, "strength": 0.6, "links": 0.25, "proximity": 0.15}
    # a component the shipped weights lack still gets its tuned share
    tuned = {"strength": 0.4, "expansion": 0.4, "proximity": 0.2}
    got = fm.scaled_to_library(tuned, library, ["strength", "expansion", "proximity"])
    assert got == {"fit": 0.25, "strength": 0.2, "links": 0.25, "proximity": 0.1,
                   "expansion": 0.2}


# --------------------------------------------------------------------------- standings

NOW = dt.datetime(2024, 1, 1)
# adcode, name, level, parent, province, lon, lat
REGIONS = [("130000", "河北省", "province", None, "130000", 114.50, 38.00),
           ("130100", "石家庄市", "city", "130000", "130000", 114.51, 38.04),
           ("130600", "保定市", "city", "130000", "130000", 115.46, 38.87),
           ("110000", "北京市", "province", None, "110000", 116.41, 39.90),
           ("110100", "北京市", "city", "110000", "110000", 116.41, 39.90)]
# id: node, city, capital 万元, setup year, primary (product_share None or 0.1)
PLACED = {"S1": ("A", "130100", 500.0, 1990, True), "S2": ("A", "130100", 80.0, 1999, True),
          "S3": ("B", "130100", 50.0, 1992, False), "B1": ("B", "130600", 900.0, 1991, True),
          "P1": ("A", "110100", 5000.0, 1985, True), "P2": ("B", "110100", 20.0, 2005, True),
          "P3": ("A", "110100", 60.0, 1993, True)}


def _store(all_provinces: bool) -> Database:
    """Two nodes, three cities, registry firms placed on them (and, with
    ``all_provinces``, one unplaced registry firm in each of 31 provinces, so registry
    firms can lead nodes)."""
    db = Database()
    db.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?, ?, ?, 1)", REGIONS)
    db.execute("INSERT INTO chains VALUES ('c', '测试链', 'test', NULL, 'c.yaml', 'x', ?)",
               [NOW])
    db.executemany("INSERT INTO chain_nodes VALUES ('c', ?, ?, ?, 'mid', NULL, 1, true, ?, "
                   "'production')", [("A", "甲", "a", 1), ("B", "乙", "b", 2)])
    for cid, (node, city, capital, year, primary) in PLACED.items():
        province = city[:2] + "0000"
        db.execute("INSERT INTO companies (company_id, origin, short_name, province_adcode, "
                   "city_adcode, region_adcode, registered_capital, setup_date, source_id, "
                   "updated_at) VALUES (?, 'registry', ?, ?, ?, ?, ?, ?, 1, ?)",
                   [cid, cid, province, city, city, capital, dt.date(year, 1, 1), NOW])
        db.execute("INSERT INTO chain_firms VALUES ('c', ?, ?, 0.9, true, 'registry', ?, ?, "
                   "?, ?, ?)", [node, cid, year, province, city, city,
                                None if primary else 0.1])
    extra = [(f"{i:02d}0000", f"省{i}") for i in range(50, 50 + 31)] if all_provinces else []
    for adcode, name in extra:
        db.execute("INSERT INTO regions VALUES (?, ?, 'province', NULL, ?, 100, 30, 1)",
                   [adcode, name, adcode])
        db.execute("INSERT INTO companies (company_id, origin, province_adcode, city_adcode, "
                   "region_adcode, setup_date, source_id, updated_at) VALUES "
                   "(?, 'registry', ?, ?, ?, ?, 1, ?)",
                   [f"X{adcode}", adcode, adcode[:4] + "01", adcode[:4] + "01",
                    dt.date(1980, 1, 1), NOW])
    return db


@pytest.mark.parametrize("all_provinces", [False, True])
@pytest.mark.parametrize("year", [1992, 1999, 2010])
def test_city_standings_equal_the_librarys_region_profile(all_provinces: bool,
                                                          year: int) -> None:
    db = _store(all_provinces)
    chain = as_chain(db, "c")
    batch = fp.city_standings(db, chain, year)
    for adcode in ("130100", "130600", "110100"):
        region = Region.from_row(db.rows("SELECT * FROM regions WHERE adcode = ?",
                                         [adcode])[0])
        library = node_standing(region_profile(db, region, chain, year, "registry"))
        mine = batch.get(adcode) or fp.empty_standing(chain)
        assert {n: (s["class"], s["lq"], s["local_firms"]) for n, s in mine.items()} == {
            n: (s["class"], s["lq"], s["local_firms"]) for n, s in library.items()}


# --------------------------------------------------------------------------- units

NODES = (ChainNode("A", "甲", "a", "mid", None, 1, True, 1),
         ChainNode("B", "乙", "b", "mid", None, 1, True, 2))
CITIES = {"130100": Region("130100", "石家庄市", "city", "130000", "130000", 114.51, 38.04),
          "320500": Region("320500", "苏州市", "city", "320000", "320000", 120.59, 31.30),
          "370100": Region("370100", "济南市", "city", "370000", "370000", 117.00, 36.65)}


def _source() -> object:
    """Five candidates; A supplies B; 石家庄 is 强 on B."""
    chain = Chain("c", "测试链", "test", None, NODES)
    frame = pd.DataFrame({
        "company_id": ["BIG", "NEAR", "LOCAL", "SMALL", "NOCAP"],
        "origin": "registry",
        "registered_capital": [9000.0, 100.0, 5000.0, 10.0, None],
        "employees": np.nan,
        "chain_revenue_share": np.nan,
        "province_adcode": ["110000", "130000", "130000", "650000", "650000"],
        "city_adcode": ["110100", "130600", "130100", "650100", "650100"],
        "lon": [116.41, 115.46, 114.51, 87.62, 87.62],
        "lat": [39.90, 38.87, 38.04, 43.83, 43.83],
        "fit": [0.5, 0.9, 0.9, 0.6, 0.6],
        "primary_nodes": [["B"], ["A"], ["A"], ["B"], ["A", "B"]],
        "factor": 1.0,
        # BIG opened branches in 3 other cities before T
        "expansion_cities": [3, 0, 0, 0, 0]})
    directions = directions_from_edges({"A": None, "B": None}, [("A", "B")])
    standing = {"A": {"class": "缺", "lq": 0.0, "local_firms": 0, "firms": []},
                "B": {"class": "强", "lq": 2.0, "local_firms": 3, "firms": []}}
    return fp.ChainYear(None, chain, 1998, frame, ("A", "B"), directions,
                        {"130100": standing})


def test_units_drop_the_citys_own_firms_and_gap_provinces() -> None:
    pool = fp.make_pool(_source(), "all")
    pairs = pd.DataFrame({"parent": ["NEAR", "LOCAL", "SMALL", "GONE", "BIG", "BIG"],
                          "city": ["130100", "130100", "320500", "130100", "370100",
                                   "999999"]})
    units = fp.make_units(pool, pairs, CITIES, {"370000": [2004]})
    assert [u.region.adcode for u in units] == ["130100", "320500"]
    sjz = units[0]
    ids = pool.frame["company_id"]
    assert list(ids[sjz.positive]) == ["NEAR"]  # LOCAL lies in the city itself
    assert list(ids[sjz.own]) == ["LOCAL"]
    for method in ("size", "fit", "links", {"fit": 0.5, "proximity": 0.5}):
        assert fp.unit_scores(sjz, method)[pool.index["LOCAL"]] == -np.inf


def test_each_method_ranks_by_its_own_figure() -> None:
    pool = fp.make_pool(_source(), "all")
    pairs = pd.DataFrame({"parent": ["NEAR"], "city": ["130100"]})
    (unit,) = fp.make_units(pool, pairs, CITIES, {})
    at = pool.index
    size = fp.unit_scores(unit, "size")
    assert np.argmax(size) == at["BIG"] and size[at["NOCAP"]] == -np.inf
    assert fm.expected_hits(size, unit.positive, 1) == 0
    near = fp.unit_scores(unit, {"proximity": 1.0})
    order = [pool.frame["company_id"][i] for i in np.argsort(-near)]
    assert order[:2] == ["NEAR", "BIG"]  # 130 km, then Beijing
    assert fm.expected_hits(near, unit.positive, 1) == 1
    grown = fp.unit_scores(unit, "expansion")
    assert np.argmax(grown) == at["BIG"]
    # the others have none (only the tie-break, far below any real difference)
    assert max(grown[[at[c] for c in ("NEAR", "SMALL", "NOCAP")]]) < 1e-6


def test_links_come_from_template_edges_to_the_citys_strong_nodes() -> None:
    pool = fp.make_pool(_source(), "all")
    (unit,) = fp.make_units(pool, pd.DataFrame({"parent": ["NEAR"], "city": ["130100"]}),
                            CITIES, {})
    links = dict(zip(pool.frame["company_id"], unit.links, strict=True))
    # A supplies B, where 石家庄 is 强; firms on B only have no node to supply there
    assert links["NEAR"] == pytest.approx(EDGE_IMPORTANCE["强"])
    assert links["NOCAP"] == pytest.approx(EDGE_IMPORTANCE["强"])
    assert links["BIG"] == 0 and links["SMALL"] == 0
    # a city without any chain firm: every node 缺, no link
    (suzhou,) = fp.make_units(pool, pd.DataFrame({"parent": ["NEAR"], "city": ["320500"]}),
                              CITIES, {})
    assert not suzhou.links.any()


def test_a_views_pool_keeps_the_citys_figures_row_for_row() -> None:
    source = _source()
    whole = fp.make_pool(source, "all")
    keep = np.array([True, True, True, False, True])
    part = fp.make_pool(source, "no_utility", keep)
    pairs = pd.DataFrame({"parent": ["NEAR"], "city": ["130100"]})
    (a,), (b,) = fp.make_units(whole, pairs, CITIES, {}), fp.make_units(part, pairs, CITIES, {})
    assert list(part.frame["company_id"]) == ["BIG", "NEAR", "LOCAL", "NOCAP"]
    assert b.proximity.tolist() == a.proximity[keep].tolist()
    assert b.links.tolist() == a.links[keep].tolist()


def test_tuning_sees_only_components_that_vary() -> None:
    pool = fp.make_pool(_source(), "all")
    units = fp.make_units(pool, pd.DataFrame({"parent": ["NEAR"], "city": ["130100"]}),
                          CITIES, {})
    assert set(bt.active_components(units)) == {"fit", "strength", "links", "expansion",
                                                "proximity"}
    pool.components["fit"] = np.full(len(pool.frame), 0.7)
    assert "fit" not in bt.active_components(units)
