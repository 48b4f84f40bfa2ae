"""The pure parts of the firm backtest (benchmarks/backtest_firms.py): data gaps, the
truth, tie-aware hits, per-unit and pooled figures, bootstrap intervals, the weight grid.

No store, no library: every function takes plain frames or arrays, so the tests check
them on hand-made rows (tests/test_backtest_firms.py).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

END = 2004
K_PRECISION, K_RECALL = 50, 200
GAP_SHARE = 0.2
GRID_STEP = 0.1
GOAL = 2.0
BOOTSTRAP = 2000


def gap_provinces(counts: pd.DataFrame, start: int, end: int,
                  share: float = GAP_SHARE) -> dict[str, list[int]]:
    """Provinces with a year in (start, end] holding fewer than ``share`` of their
    largest yearly registry count of any earlier year -> those years.

    A registry does not shrink by four fifths in a year: such a drop is lost rows. The
    rule compares with earlier years only, so the ramp of a province whose rows grow
    tenfold in 1999 is no gap. ``counts``: province, year, n (registry firms founded
    that year); a year absent from ``counts`` counts as 0.
    """
    out: dict[str, list[int]] = {}
    for province, rows in counts.groupby("province"):
        by_year = dict(zip(rows["year"].astype(int), rows["n"].astype(float), strict=True))
        low = [y for y in range(start + 1, end + 1)
               if by_year.get(y, 0.0) < share * max(
                   (n for year, n in by_year.items() if year < y), default=0.0)]
        if low:
            out[str(province)] = low
    return out


def truth_pairs(branches: pd.DataFrame, year: int, end: int = END) -> pd.DataFrame:
    """(parent, city) pairs a parent existing at ``year`` opened in (year, end] in a city
    other than its own, with the number of branches behind each pair.

    ``branches``: parent, parent_city, parent_first (the parent's first year), city,
    branch_year, one row per branch.
    """
    b = branches
    keep = (b["city"].notna() & b["parent_city"].notna() & (b["city"] != b["parent_city"])
            & (b["branch_year"] > year) & (b["branch_year"] <= end)
            & (b["parent_first"] <= year))
    pairs = b[keep].groupby(["parent", "city"]).size().rename("branches").reset_index()
    return pairs.sort_values(["city", "parent"], ignore_index=True)


def expected_hits(scores: np.ndarray, positive: np.ndarray, k: int) -> float:
    """Positives among the ``k`` best scores, a random order inside ties (its expected
    value). NaN scores rank last (as -inf)."""
    s = np.where(np.isnan(scores), -np.inf, scores)
    k = min(k, len(s))
    if k == 0:
        return 0.0
    kth = np.partition(s, len(s) - k)[len(s) - k]
    above, tied = s > kth, s == kth
    room = k - int(above.sum())
    return float(positive[above].sum() + positive[tied].sum() * room / int(tied.sum()))


@dataclass(frozen=True)
class UnitHits:
    """One unit's positives and hits of one method."""

    positives: int
    hits_p: float  # expected positives in the K_PRECISION best
    hits_r: float  # expected positives in the K_RECALL best
    shown: int  # min(K_PRECISION, candidates)


def unit_hits(scores: np.ndarray, positive: np.ndarray) -> UnitHits:
    """Hits of one method on one unit (``positive`` a boolean mask of the candidates).

    One partition serves both cut-offs: every row that can count among the best
    ``K_PRECISION`` or ``K_RECALL`` (ties included) scores at least the K_RECALL-th best.
    """
    total = int(positive.sum())
    s = np.where(np.isnan(scores), -np.inf, scores)
    if len(s) > K_RECALL:
        top = s >= np.partition(s, len(s) - K_RECALL)[len(s) - K_RECALL]
        s, positive = s[top], positive[top]
    return UnitHits(total, expected_hits(s, positive, K_PRECISION),
                    expected_hits(s, positive, K_RECALL), min(K_PRECISION, len(scores)))


def summarise(units: Sequence[UnitHits]) -> dict[str, float]:
    """Per-unit means and pooled figures over the units with >= 1 positive."""
    used = [u for u in units if u.positives > 0]
    if not used:
        return {"units": 0, "positives": 0, "hits@50": 0, "p@50": float("nan"),
                "r@200": float("nan"), "pooled p@50": float("nan"),
                "pooled r@200": float("nan")}
    return {"units": len(used), "positives": sum(u.positives for u in used),
            "hits@50": sum(u.hits_p for u in used),
            "p@50": statistics.fmean(u.hits_p / u.shown for u in used),
            "r@200": statistics.fmean(u.hits_r / u.positives for u in used),
            "pooled p@50": sum(u.hits_p for u in used) / sum(u.shown for u in used),
            "pooled r@200": sum(u.hits_r for u in used) / sum(u.positives for u in used)}


def best_possible(units: Sequence[UnitHits]) -> dict[str, float]:
    """The per-unit means a perfect ranking would reach: a unit with 2 positives has at
    most 2 hits among 50, and a ratio to a baseline is capped by these."""
    used = [u for u in units if u.positives > 0]
    if not used:
        return {"p@50": float("nan"), "r@200": float("nan")}
    return {"p@50": statistics.fmean(min(u.positives, u.shown) / u.shown for u in used),
            "r@200": statistics.fmean(min(u.positives, K_RECALL) / u.positives
                                      for u in used)}


def bootstrap_ratio(method: Sequence[UnitHits], base: Sequence[UnitHits], metric: str,
                    seed: int = 0, rounds: int = BOOTSTRAP) -> tuple[float, float]:
    """90 % interval of the ratio method / base of a per-unit mean (``p@50`` or
    ``r@200``), resampling the units with >= 1 positive (paired: the same units for
    both)."""
    pairs = [(m, b) for m, b in zip(method, base, strict=True) if m.positives > 0]
    if not pairs:
        return float("nan"), float("nan")

    def per_unit(u: UnitHits) -> float:
        return u.hits_p / u.shown if metric == "p@50" else u.hits_r / u.positives

    return bootstrap_mean_ratio(np.array([per_unit(a) for a, _ in pairs]),
                                np.array([per_unit(z) for _, z in pairs]), seed, rounds)


def bootstrap_mean_ratio(m: np.ndarray, b: np.ndarray, seed: int = 0,
                         rounds: int = BOOTSTRAP) -> tuple[float, float]:
    """90 % interval of mean(m) / mean(b), resampling the paired units (rows of both
    arrays together); the node backtest passes per-city precisions."""
    if len(m) == 0:
        return float("nan"), float("nan")
    pick = np.random.default_rng(seed).integers(0, len(m), (rounds, len(m)))
    num, den = m[pick].mean(axis=1), b[pick].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(den > 0, num / den, np.inf)
    # a resample whose baseline has no hit gives an infinite ratio: take sample values
    # (no interpolation between inf and a number)
    lo, hi = np.percentile(ratios, [5, 95], method="inverted_cdf")
    return float(lo), float(hi)


def verdict(interval: tuple[float, float], goal: float = GOAL) -> str:
    """'met', 'missed' or 'inconclusive' (the interval spans the goal) for a ratio
    interval against the goal; "too few to conclude" is the caller's word for views with
    too few positives, whatever the interval."""
    lo, hi = interval
    if lo >= goal:
        return "met"
    if hi < goal:
        return "missed"
    return "inconclusive: the interval spans the goal"


def weight_grid(names: Sequence[str], step: float = GRID_STEP) -> Iterator[dict[str, float]]:
    """Every weight vector over ``names`` on a grid of ``step``, summing to 1."""
    n = round(1 / step)
    for parts in itertools.product(range(n + 1), repeat=len(names) - 1):
        if sum(parts) <= n:
            last = n - sum(parts)
            yield {k: round(v * step, 4) for k, v in zip(names, (*parts, last), strict=True)}


def objective(method: Sequence[UnitHits], base: Sequence[UnitHits]) -> tuple[float, float,
                                                                               float]:
    """(the smaller ratio to the baseline, p@50 ratio, r@200 ratio)."""
    m, b = summarise(method), summarise(base)
    p = m["p@50"] / b["p@50"] if b["p@50"] > 0 else float("inf")
    r = m["r@200"] / b["r@200"] if b["r@200"] > 0 else float("inf")
    return min(p, r), p, r


def scaled_to_library(tuned: Mapping[str, float], library: Mapping[str, float],
                      active: Sequence[str]) -> dict[str, float]:
    """The tuned weights as a full library weight vector: components the registry cannot
    test (constant over its firms) keep the library's weight, the tested ones share the
    rest in the tuned proportions (the registry ranking is the same)."""
    fixed = {k: w for k, w in library.items() if k not in active}
    rest = 1.0 - sum(fixed.values())
    return {k: round(fixed[k] if k in fixed else rest * tuned.get(k, 0.0), 4)
            for k in dict.fromkeys([*library, *active])}
