"""The node backtest's pure metrics (benchmarks/backtest_nodes.py): tie-aware precision
per group, a perfect ranking's ceiling, the grid's scores and the paired bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers import load_benchmark

bn = load_benchmark("backtest_nodes")
fm = load_benchmark("_firm_metrics")


def test_group_hits_counts_each_group_on_its_own() -> None:
    groups = np.array([0, 0, 0, 1, 1])
    scores = np.array([3.0, 2.0, 1.0, 5.0, 5.0])
    positive = np.array([True, False, True, False, True])
    hits, shown = bn.group_hits(groups, scores, positive, 2, 2)
    # group 0 shows its scores 3 and 2 (one entry), group 1 both of its rows
    assert hits.tolist() == [1.0, 1.0]
    assert shown.tolist() == [2, 2]


def test_a_tie_across_the_cut_counts_its_expected_share() -> None:
    # one slot left for three tied rows, one of them an entry: 1/3 of a hit
    groups = np.zeros(4, dtype=int)
    hits, shown = bn.group_hits(groups, np.array([2.0, 1.0, 1.0, 1.0]),
                                np.array([False, True, False, False]), 2, 1)
    assert hits[0] == pytest.approx(1 / 3)
    assert shown[0] == 2
    # the row order inside a tie never matters
    again, _ = bn.group_hits(groups, np.array([1.0, 1.0, 2.0, 1.0]),
                             np.array([False, False, False, True]), 2, 1)
    assert again[0] == pytest.approx(1 / 3)


def test_per_group_precision_skips_groups_without_an_entry() -> None:
    groups = np.array([1, 1, 0, 0, 2])
    scores = np.array([0.9, 0.1, 0.5, 0.4, 0.3])
    positive = np.array([False, True, False, False, True])
    # group 0 has no entry; group 1 shows 1 of its 2 rows at k = 1 (a miss); group 2 has
    # one row, shown and an entry
    assert bn.per_group_precision(groups, scores, positive, 1).tolist() == [0.0, 1.0]
    assert bn.per_group_precision(groups, scores, positive, 2).tolist() == [0.5, 1.0]
    assert bn.best_precision(groups, positive, 2) == pytest.approx((0.5 + 1.0) / 2)


def test_scored_view_rounds_weighted_scores_like_the_library() -> None:
    frame = pd.DataFrame({"city": ["a", "a", "b"], "chain": ["x", "y", "x"],
                          "entry": [True, False, True], "popularity": [3.0, 9.0, 1.0],
                          **{c: [0.5, 0.25, 1.0] for c in bn.COMPONENTS}})
    view = bn.Scored.of(1995, frame)
    assert (view.positives, view.positive_cities) == (2, 2)
    w = dict.fromkeys(bn.COMPONENTS, 1 / len(bn.COMPONENTS))
    assert view.scores(w).tolist() == [0.5, 0.25, 1.0]
    # popularity puts city a's miss first: a at p@1 0, b at 1
    assert view.per_city(view.scores("popularity"), 1).tolist() == [0.0, 1.0]
    assert view.metrics(view.scores(w))["p@10"] == pytest.approx((0.5 + 1.0) / 2)


def test_bootstrap_of_a_constant_ratio_and_the_too_few_rule() -> None:
    m = np.array([0.2, 0.4, 0.6])
    assert fm.bootstrap_mean_ratio(m, m / 2) == pytest.approx((2.0, 2.0))
    assert fm.bootstrap_mean_ratio(m, np.zeros(3)) == (np.inf, np.inf)
    assert bn.too_few(bn.MIN_POSITIVES - 1, bn.MIN_CITIES)
    assert bn.too_few(bn.MIN_POSITIVES, bn.MIN_CITIES - 1)
    assert not bn.too_few(bn.MIN_POSITIVES, bn.MIN_CITIES)
    assert bn.safe_ratio(1.0, 0.0) == np.inf
