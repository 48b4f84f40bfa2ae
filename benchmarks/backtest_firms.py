"""Backtest the target-firm ranking (招商清单, ``chainatlas.recommend.firms``) on the
registry's history.

Question: at T in {1995, 1998, 2001}, ranking outside firms for each city and chain with
only what was known at T, do we point at the firms that did set up in that city in
(T, 2004]?

- Truth. The registry (1978-2004) gives each branch (``companies.is_branch``, its
  ``parent_id`` resolved to a firm of the store) a registration year (its founded year)
  and a city. A POSITIVE of a unit (T, city C, chain) is a parent P with at least one
  branch in C registered in (T, 2004], P located outside C, existing at T and a candidate
  of the chain (the library's candidate pool at T). (parent, city) pairs are counted, not
  branches. A move (a firm re-registering in another city) cannot be seen: the registry
  keeps one address per firm and no address history, so only branches count.
- Data gaps. A province whose registry holds, in some year of (T, 2004], fewer than
  ``GAP_SHARE`` of its largest count of an earlier year has lost rows (Shandong has
  none for 2001-2004, Beijing and Guangdong none for 2004): its cities are left out as
  units at that T (printed), since their later branches cannot be seen. Their firms stay
  candidates: what they were at T is known.
- Candidates and scores come from the library: the query step of
  :mod:`chainatlas.recommend.firms` once per (chain, T) over the whole country (universe
  ``registry``, as_of T), the component functions for each city (proximity differs per
  city, firms of the city itself are dropped). The strength percentiles are taken among
  the national pool rather than each city's (the city's own firms, a few percent, stay
  in): ``--check`` scores sample units with the library's ``score_firms`` on the exact
  city pool and prints how far the two are apart.
- Methods: ``library`` (the weights as shipped), ``tuned`` (the grid's best), ``size``
  (registered capital alone, the baseline) and each component alone (diagnostics).
- Metrics per T: precision@50 and recall@200 of every unit with >= 1 positive, averaged
  over those units (their count printed), and pooled (hits over all units / positives
  of all units). Tied scores count their expected share (a random order inside a tie): a
  registered capital of 50 万 is shared by thousands of firms, and no method may gain
  from an accidental order. The ratio to the size baseline has a 90 % bootstrap interval
  over units; a goal (>= 2x) is called met or missed only when the interval clears it,
  else the positives are too few to conclude.
- Views: all parents, and without utility-like firms (the library's
  ``analysis.expansion.UTILITY_PATTERN`` on the full name: oil, post, telecom,
  insurance, banks, tobacco, grids, rail ...), which are dropped from the candidates and
  from the truth alike: they open branches everywhere by mandate, not because a city
  courted them.
- Tuning: a grid over the component weights (steps of ``GRID_STEP``, summing to 1) on
  ``TRAIN_YEAR`` only, maximising the smaller of the two ratios to the size baseline
  (precision@50, recall@200) in the ``TUNE_VIEW`` view; the other years are reported
  with those weights, untouched.

Usage: python benchmarks/backtest_firms.py [--db PATH] [--check N] [--train-year YEAR]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from chainatlas.analysis import expansion
from chainatlas.analysis.weights import TARGET_WEIGHTS
from chainatlas.recommend import firms
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain
from chainatlas.store.query import compose, first_year, param

YEARS = (1995, 1998, 2001)
TRAIN_YEAR = 1995
END = 2004
K_PRECISION, K_RECALL = 50, 200
UNIVERSE = "registry"
GAP_SHARE = 0.2
GRID_STEP = 0.1
GOAL = 2.0
BOOTSTRAP = 2000
#: Utility-like firms: the library's one definition (analysis.expansion)
UTILITY = expansion.UTILITY_PATTERN
#: all: every candidate and every parent; no_utility: utility-like firms neither
#: candidates nor positives; utility_misses: they stay candidates but count as misses
#: (what a list that keeps them would score).
VIEWS = ("all", "no_utility", "utility_misses")
TUNE_VIEW = "no_utility"
#: The target score's components (TARGET_WEIGHTS), expansion included even before the
#: shipped weights give it one.
COMPONENTS = ("fit", "strength", "links", "expansion", "proximity")


# --------------------------------------------------------------------------- pure parts


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
    """Hits of one method on one unit (``positive`` a boolean mask of the candidates)."""
    return UnitHits(int(positive.sum()), expected_hits(scores, positive, K_PRECISION),
                    expected_hits(scores, positive, K_RECALL), min(K_PRECISION, len(scores)))


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

    m = np.array([per_unit(a) for a, _ in pairs])
    b = np.array([per_unit(z) for _, z in pairs])
    pick = np.random.default_rng(seed).integers(0, len(pairs), (rounds, len(pairs)))
    num, den = m[pick].mean(axis=1), b[pick].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(den > 0, num / den, np.inf)
    # a resample whose baseline has no hit gives an infinite ratio: take sample values
    # (no interpolation between inf and a number)
    lo, hi = np.percentile(ratios, [5, 95], method="inverted_cdf")
    return float(lo), float(hi)


def verdict(interval: tuple[float, float], goal: float = GOAL) -> str:
    """'met', 'missed' or 'too few to conclude' for a ratio interval against the goal."""
    lo, hi = interval
    if lo >= goal:
        return "met"
    if hi < goal:
        return "missed"
    return "too few to conclude"


def weight_grid(names: Sequence[str], step: float = GRID_STEP) -> Iterator[dict[str, float]]:
    """Every weight vector over ``names`` on a grid of ``step``, summing to 1."""
    n = round(1 / step)
    for parts in itertools.product(range(n + 1), repeat=len(names) - 1):
        if sum(parts) <= n:
            last = n - sum(parts)
            yield {k: round(v * step, 4) for k, v in zip(names, (*parts, last), strict=True)}


# --------------------------------------------------------------------------- the store


def registry_counts(db: Database) -> pd.DataFrame:
    """Registry firms founded per province and year (the data-gap check)."""
    return db.df(compose(
        "SELECT c.province_adcode AS province, {year} AS year, count(*) AS n "
        "FROM companies c WHERE c.origin = {registry} AND c.province_adcode IS NOT NULL "
        "AND {year} IS NOT NULL GROUP BY ALL",
        year=first_year("c"), registry=param("registry")))


def branch_rows(db: Database) -> pd.DataFrame:
    """Every branch whose parent is a firm of the store, with both cities and years."""
    return db.df(compose(
        "SELECT b.parent_id AS parent, p.city_adcode AS parent_city, "
        "{parent_first} AS parent_first, b.city_adcode AS city, "
        "year(b.setup_date) AS branch_year FROM companies b "
        "JOIN companies p ON p.company_id = b.parent_id WHERE b.is_branch",
        parent_first=first_year("p")))


def utility_ids(db: Database) -> set[str]:
    """Firms whose full name looks like a utility or state network (``UTILITY``)."""
    rows = db.execute(compose(
        "SELECT company_id FROM companies WHERE regexp_matches(coalesce(full_name, ''), "
        "{pattern})", pattern=param(UTILITY))).fetchall()
    return {str(r[0]) for r in rows}


def cities(db: Database) -> dict[str, Region]:
    """City regions with a centroid, by adcode."""
    return {str(r["adcode"]): Region.from_row(r) for r in db.rows(
        "SELECT * FROM regions WHERE level = 'city' AND lon IS NOT NULL AND lat IS NOT NULL")}


def chains(db: Database) -> list[Chain]:
    """Every stored chain."""
    return [as_chain(db, str(r[0])) for r in db.execute(
        "SELECT chain_id FROM chains ORDER BY 1").fetchall()]


# --------------------------------------------------------------------------- the pool

#: A city no firm lies in: the library's query step for it returns every located
#: candidate of the country, so the pool is read once per (chain, T), not once per city.
NOWHERE = Region(adcode="000000", name="全国", level="city", province_adcode="000000")
#: Score ties are broken by registered capital, as the library's sort does; this scale
#: keeps that tie-break below any real score difference (scores are rounded to 1e-6).
TIE_BREAK = 1e-8


def production_scope(chain: Chain) -> list[str]:
    """The chain's production nodes: chain-wide target lists come from those only."""
    return [n.node_id for n in chain.nodes if n.kind == "production"]


@dataclass
class Pool:
    """One chain's candidates at T over the whole country, in one view."""

    chain: str
    year: int
    view: str
    #: the library's candidate rows with their components
    frame: pd.DataFrame
    #: the components that do not depend on the city, one array each
    components: dict[str, np.ndarray]
    index: dict[str, int] = field(init=False)
    city: np.ndarray = field(init=False)
    capital: np.ndarray = field(init=False)
    _tie: np.ndarray = field(init=False)
    _bases: dict[tuple[tuple[str, float], ...], np.ndarray] = field(default_factory=dict)
    #: city -> proximity of every row (shared by the views that share the pool)
    near: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {str(c): i for i, c in enumerate(self.frame["company_id"])}
        self.city = self.frame["city_adcode"].astype(str).to_numpy()
        self.capital = pd.to_numeric(self.frame["registered_capital"],
                                     errors="coerce").to_numpy(float)
        self._tie = TIE_BREAK * self.frame["capital_pct"].to_numpy(float)

    def base(self, weights: Mapping[str, float]) -> np.ndarray:
        """The weighted sum of the city-independent components (cached per weights)."""
        key = tuple(sorted(weights.items()))
        if key not in self._bases:
            total = np.zeros(len(self.frame))
            for name, w in weights.items():
                if name in self.components and w:
                    total += w * self.components[name]
            self._bases[key] = total
        return self._bases[key]

    def tie(self) -> np.ndarray:
        """The library's tie-break (registered capital) as a tiny score offset."""
        return self._tie


def national_candidates(db: Database, chain: Chain, year: int) -> pd.DataFrame:
    """The library's query step at ``year`` for the whole country (see ``NOWHERE``)."""
    inputs = firms.firm_inputs(db, NOWHERE, chain, production_scope(chain), year, UNIVERSE)
    return inputs.candidates


def expansion_cities(db: Database, year: int) -> pd.Series:
    """company_id -> distinct other cities it opened branches in during the library's
    window up to ``year`` (``analysis.expansion.expansion_table``, as_of T)."""
    table = expansion.expansion_table(db, as_of=year)
    return pd.Series(table["cities"].to_numpy(float), index=table["company_id"].astype(str))


def make_pool(candidates: pd.DataFrame, chain: str, year: int, view: str,
              cities: pd.Series) -> Pool:
    """Add the library's city-independent components to the candidates."""
    frame = candidates.reset_index(drop=True).copy()
    firms.add_strength(frame)
    # registry firms have no products, so the library's links are 0 for all of them
    frame["links"] = 0.0
    frame["expansion"] = expansion.expansion_score(
        frame["company_id"].astype(str).map(cities))
    components = {name: frame[name].to_numpy(float)
                  for name in ("fit", "strength", "links", "expansion")}
    return Pool(chain, year, view, frame, components)


@dataclass
class Unit:
    """One (T, city, chain) with >= 1 positive: what every method is scored on."""

    pool: Pool
    region: Region
    #: the candidates that did open a branch in the city in (T, END]
    positive: np.ndarray
    #: rows of the city's own firms (not candidates of this city)
    own: np.ndarray
    proximity: np.ndarray


def city_proximity(pool: Pool, region: Region) -> np.ndarray:
    """The library's proximity component of every pool row for this city (cached)."""
    if region.adcode in pool.near:
        return pool.near[region.adcode]
    geo = pool.frame[["province_adcode", "lon", "lat"]].copy()
    centre = (region.lon, region.lat) if region.lon is not None and region.lat is not None \
        else None
    firms.add_proximity(geo, centre, region.province_adcode)
    pool.near[region.adcode] = geo["proximity"].to_numpy(float)
    return pool.near[region.adcode]


def make_units(pool: Pool, pairs: pd.DataFrame, regions: Mapping[str, Region],
               gaps: Mapping[str, list[int]]) -> list[Unit]:
    """The pool's units: cities (outside gap provinces) with >= 1 positive candidate."""
    found = pairs[pairs["parent"].isin(pool.index)]
    out = []
    for city, group in found.groupby("city"):
        region = regions.get(str(city))
        if region is None or region.province_adcode in gaps:
            continue
        own = np.flatnonzero(pool.city == city)
        positive = np.zeros(len(pool.frame), dtype=bool)
        positive[[pool.index[p] for p in group["parent"]]] = True
        positive[own] = False  # a parent located in the city is no outside candidate
        if positive.any():
            out.append(Unit(pool, region, positive, own, city_proximity(pool, region)))
    return out


def unit_scores(unit: Unit, method: str | Mapping[str, float]) -> np.ndarray:
    """Scores of every pool row for this unit: a weight vector (the library's score),
    ``size`` (registered capital) or one component's name; the city's own firms -inf."""
    if method == "size":
        # a missing capital ranks last, as in the library's size order
        s = np.where(np.isnan(unit.pool.capital), -np.inf, unit.pool.capital)
    elif isinstance(method, str):
        s = (unit.proximity if method == "proximity" else unit.pool.components[method]).copy()
        s = s + unit.pool.tie()
    else:
        s = unit.pool.base(method) + method.get("proximity", 0.0) * unit.proximity
        s = np.round(s, 6) + unit.pool.tie()
    s[unit.own] = -np.inf
    return s


def evaluate(units: Iterable[Unit], method: str | Mapping[str, float]) -> list[UnitHits]:
    """Hits of one method on every unit."""
    return [unit_hits(unit_scores(u, method), u.positive) for u in units]


# --------------------------------------------------------------------------- one year


@dataclass
class YearData:
    """Every unit of one T, per view, and the truth's funnel."""

    year: int
    gaps: dict[str, list[int]]
    units: dict[str, list[Unit]]
    #: view -> (stage, pairs, parents) counts from all branch pairs to the units' positives
    funnel: dict[str, list[tuple[str, int, int]]]


@dataclass(frozen=True)
class Context:
    """What every year reads once: the branches, counts, cities, chains, utilities."""

    db: Database
    branches: pd.DataFrame
    counts: pd.DataFrame
    regions: dict[str, Region]
    chains: list[Chain]
    utilities: frozenset[str]


def year_data(ctx: Context, year: int) -> YearData:
    """Pools, units and funnel of one T (the library's query step once per chain)."""
    gaps = gap_provinces(ctx.counts, year, END)
    pairs = truth_pairs(ctx.branches, year)
    cities = expansion_cities(ctx.db, year)
    units: dict[str, list[Unit]] = {v: [] for v in VIEWS}
    placed: set[str] = set()
    truth = {"all": pairs, "no_utility": pairs[~pairs["parent"].isin(ctx.utilities)]}
    truth["utility_misses"] = truth["no_utility"]
    for chain in ctx.chains:
        candidates = national_candidates(ctx.db, chain, year)
        placed.update(candidates["company_id"].astype(str))
        whole = make_pool(candidates, chain.chain_id, year, "all", cities)
        pools = {"all": whole, "utility_misses": whole, "no_utility": make_pool(
            candidates[~candidates["company_id"].isin(ctx.utilities)], chain.chain_id,
            year, "no_utility", cities)}
        for view in VIEWS:
            units[view] += make_units(pools[view], truth[view], ctx.regions, gaps)
    funnel = {}
    for view in VIEWS:
        p = truth[view]
        on_chain = p[p["parent"].isin(placed)]
        open_city = on_chain[on_chain["city"].map(
            lambda c: c in ctx.regions and ctx.regions[c].province_adcode not in gaps)]
        positives = sum(int(u.positive.sum()) for u in units[view])
        funnel[view] = [
            ("branch pairs (parent at T, other city, (T, 2004])", len(p), p["parent"].nunique()),
            ("parent a candidate of >= 1 chain", len(on_chain), on_chain["parent"].nunique()),
            ("city outside gap provinces", len(open_city), open_city["parent"].nunique()),
            ("unit positives (a pair counts once per chain)", positives,
             len({p for u in units[view] for p in u.pool.frame["company_id"][u.positive]}))]
    return YearData(year, gaps, units, funnel)


# --------------------------------------------------------------------------- tuning


def active_components(units: Sequence[Unit], names: Iterable[str]) -> list[str]:
    """The components that vary over some pool (a constant one cannot change a ranking)."""
    pools = {id(u.pool): u.pool for u in units}.values()
    out = []
    for name in names:
        if name == "proximity" or any(
                name in p.components and np.ptp(p.components[name]) > 0 for p in pools):
            out.append(name)
    return out


def objective(method: Sequence[UnitHits], base: Sequence[UnitHits]) -> tuple[float, float,
                                                                               float]:
    """(the smaller ratio to the baseline, p@50 ratio, r@200 ratio)."""
    m, b = summarise(method), summarise(base)
    p = m["p@50"] / b["p@50"] if b["p@50"] > 0 else float("inf")
    r = m["r@200"] / b["r@200"] if b["r@200"] > 0 else float("inf")
    return min(p, r), p, r


def tune(units: Sequence[Unit], names: Sequence[str],
         base: Sequence[UnitHits]) -> list[tuple[tuple[float, float, float], dict[str, float]]]:
    """Every grid weight vector over ``names`` with its objective, best first."""
    results = [(objective(evaluate(units, w), base), w) for w in weight_grid(names)]
    return sorted(results, key=lambda r: (-r[0][0], -r[0][1], -r[0][2]))


def scaled_to_library(tuned: Mapping[str, float], library: Mapping[str, float],
                      active: Sequence[str]) -> dict[str, float]:
    """The tuned weights as a full library weight vector: components the registry cannot
    test (constant over its firms) keep the library's weight, the tested ones share the
    rest in the tuned proportions (the registry ranking is the same)."""
    fixed = {k: w for k, w in library.items() if k not in active}
    rest = 1.0 - sum(fixed.values())
    return {k: round(fixed[k] if k in fixed else rest * tuned.get(k, 0.0), 4)
            for k in dict.fromkeys([*library, *active])}


# --------------------------------------------------------------------------- check


def exact_hits(unit: Unit, weights: Mapping[str, float]) -> tuple[int, int]:
    """Hits@50 and @200 of the library's own ``score_firms`` order on the unit's exact
    candidate pool (the city's firms removed, percentiles among the rest)."""
    keep = np.ones(len(unit.pool.frame), dtype=bool)
    keep[unit.own] = False
    frame = unit.pool.frame[keep]
    region = unit.region
    centre = (region.lon, region.lat) if region.lon is not None and region.lat is not None \
        else None
    ranked = firms.score_firms(frame, {}, centre=centre, province=region.province_adcode,
                               weights=weights)
    positive = set(unit.pool.frame["company_id"][unit.positive])
    hit = ranked["company_id"].isin(positive).to_numpy()
    return int(hit[:K_PRECISION].sum()), int(hit[:K_RECALL].sum())


def check(units: Sequence[Unit], weights: Mapping[str, float], n: int) -> str:
    """How far the fast path (national percentiles) is from the library's exact order on
    ``n`` sample units."""
    if n <= 0 or not units:
        return "check skipped"
    rng = np.random.default_rng(1)
    sample = [units[i] for i in sorted(rng.choice(len(units), min(n, len(units)),
                                                  replace=False))]
    dp, dr = [], []
    for unit in sample:
        fast = unit_hits(unit_scores(unit, weights), unit.positive)
        hp, hr = exact_hits(unit, weights)
        dp.append(abs(fast.hits_p - hp))
        dr.append(abs(fast.hits_r - hr))
    return (f"check on {len(sample)} units (library weights, exact score_firms vs the fast "
            f"path): mean |delta hits@50| {statistics.fmean(dp):.3f}, max {max(dp):.2f}; "
            f"mean |delta hits@200| {statistics.fmean(dr):.3f}, max {max(dr):.2f}")


# --------------------------------------------------------------------------- output

COLUMNS = ("units", "positives", "hits@50", "p@50", "r@200", "pooled p@50", "pooled r@200")
COUNTS = ("units", "positives", "hits@50")


def print_table(results: Mapping[tuple[str, str, str], Sequence[UnitHits]]) -> None:
    """One row per (T, view, method), with the ratios to the size baseline."""
    print(f"{'T':<12}{'view':<16}{'method':<12}" + "".join(f"{c:>13}" for c in COLUMNS)
          + f"{'x size p@50':>13}{'x size r@200':>13}")
    for (year, view, method), hits in results.items():
        m, b = summarise(hits), summarise(results[(year, view, "size")])
        ratio = [m[k] / b[k] if b[k] > 0 else float("nan") for k in ("p@50", "r@200")]
        cells = "".join(f"{m[c]:>13.0f}" if c in COUNTS else f"{m[c]:>13.4f}"
                        for c in COLUMNS)
        print(f"{year:<12}{view:<16}{method:<12}{cells}{ratio[0]:>13.2f}{ratio[1]:>13.2f}")


def print_goals(results: Mapping[tuple[str, str, str], Sequence[UnitHits]],
                methods: Sequence[str]) -> None:
    """The goal (>= 2x size) per T, view and method, with 90 % bootstrap intervals."""
    for (year, view, method), hits in results.items():
        if method not in methods:
            continue
        base = results[(year, view, "size")]
        best, size = best_possible(hits), summarise(base)
        parts = []
        for metric in ("p@50", "r@200"):
            lo, hi = bootstrap_ratio(hits, base, metric)
            point = objective(hits, base)[1 if metric == "p@50" else 2]
            cap = best[metric] / size[metric] if size[metric] > 0 else float("inf")
            parts.append(f"{metric} {point:.2f}x [{lo:.2f}, {hi:.2f}] "
                         f"{verdict((lo, hi))} (a perfect ranking: {cap:.2f}x)")
        print(f"  {year:<12}{view:<16}{method:<10}" + "; ".join(parts))


def print_chains(results: Mapping[tuple[str, str, str], Sequence[UnitHits]],
                 chains_of: Mapping[tuple[str, str], Sequence[str]]) -> None:
    """Per chain: units, positives, p@50 and r@200 of the tuned score and of size."""
    print(f"{'T':<12}{'view':<16}{'chain':<20}{'units':>7}{'pos':>7}"
          f"{'tuned p@50':>12}{'size p@50':>11}{'tuned r@200':>13}{'size r@200':>12}")
    for (label, view), labels in chains_of.items():
        for chain in sorted(set(labels)):
            pick = [i for i, c in enumerate(labels) if c == chain]
            t = summarise([results[(label, view, "tuned")][i] for i in pick])
            s = summarise([results[(label, view, "size")][i] for i in pick])
            print(f"{label:<12}{view:<16}{chain:<20}{t['units']:>7.0f}"
                  f"{t['positives']:>7.0f}{t['p@50']:>12.4f}{s['p@50']:>11.4f}"
                  f"{t['r@200']:>13.4f}{s['r@200']:>12.4f}")


def print_year(d: YearData, names: Mapping[str, str]) -> None:
    """The truth's funnel and the data gaps of one T."""
    gaps = ", ".join(f"{names.get(p, p)} {'/'.join(map(str, ys))}"
                     for p, ys in sorted(d.gaps.items()))
    print(f"T={d.year}: provinces left out as units (registry years with < "
          f"{GAP_SHARE:.0%} of an earlier year's count): {gaps or 'none'}")
    for view in VIEWS:
        for stage, pairs, parents in d.funnel[view]:
            print(f"  {view:<16}{stage:<52}{pairs:>7} pairs {parents:>6} parents")
        units = d.units[view]
        per_unit = [int(u.positive.sum()) for u in units]
        if per_unit:
            print(f"  {view:<16}{len(units)} units (city x chain) with >= 1 positive; "
                  f"positives per unit: median {statistics.median(per_unit):.0f}, "
                  f"max {max(per_unit)}; candidates per pool: "
                  f"{min(len(u.pool.frame) for u in units)}-"
                  f"{max(len(u.pool.frame) for u in units)}")


# --------------------------------------------------------------------------- main


def library_weights() -> dict[str, float]:
    """The target weights the library ships (analysis.weights.TARGET_WEIGHTS)."""
    return dict(TARGET_WEIGHTS)


def load_context(db: Database) -> Context:
    """Read what every year shares."""
    return Context(db, branch_rows(db), registry_counts(db), cities(db), chains(db),
                   frozenset(utility_ids(db)))


def run(ctx: Context, train_year: int, years: Sequence[int], check_units: int) -> None:
    """Tune on ``train_year``, score every year, print every table."""
    library = library_weights()
    names = {str(r["adcode"]): str(r["name"]) for r in ctx.db.rows(
        "SELECT adcode, name FROM regions WHERE level = 'province'")}
    results: dict[tuple[str, str, str], list[UnitHits]] = {}
    chains_of: dict[tuple[str, str], list[str]] = {}
    best: dict[str, float] = {}
    methods: dict[str, str | Mapping[str, float]] = {}
    for year in [train_year, *[y for y in years if y != train_year]]:
        start = time.perf_counter()
        data = year_data(ctx, year)
        print(f"\n[{time.perf_counter() - start:.0f} s] pools and units of T={year}")
        print_year(data, names)
        if year == train_year:
            start = time.perf_counter()
            units = data.units[TUNE_VIEW]
            active = active_components(units, COMPONENTS)
            grid = tune(units, active, evaluate(units, "size"))
            best = grid[0][1]
            print(f"\n[{time.perf_counter() - start:.0f} s] weight grid on T={year}, view "
                  f"{TUNE_VIEW}, over {active} (step {GRID_STEP}; the smaller ratio to "
                  f"size, then p@50, r@200), best 5 of {len(grid)}:")
            for (low, p, r), w in grid[:5]:
                print(f"  {w}: min {low:.3f}, p@50 {p:.3f}x, r@200 {r:.3f}x")
            inner = next((w for _, w in grid if all(v > 0 for v in w.values())), None)
            if inner is not None:
                found = next(o for o, w in grid if w == inner)
                print(f"  best with every tested component > 0: {inner}: min "
                      f"{found[0]:.3f}, p@50 {found[1]:.3f}x, r@200 {found[2]:.3f}x")
            print(f"chosen (tested components): {best}")
            print(f"as library weights (untested components keep theirs): "
                  f"{scaled_to_library(best, library, active)}; shipped: {library}")
            start = time.perf_counter()
            print(check(data.units["all"], library, check_units)
                  + f" [{time.perf_counter() - start:.0f} s]")
            methods = {"library": library, "tuned": best, "size": "size",
                       **{c: c for c in active}}
        label = f"{year} " + ("train" if year == train_year else "held")
        start = time.perf_counter()
        for view in VIEWS:
            chains_of[(label, view)] = [u.pool.chain for u in data.units[view]]
            for name, spec in methods.items():
                results[(label, view, name)] = evaluate(data.units[view], spec)
        print(f"[{time.perf_counter() - start:.0f} s] scored T={year}")
        del data  # the pools of one year are large; keep only the hits
    held = [k for k in results if k[0].endswith("held")]
    for view in VIEWS if held else ():
        for name in methods:
            results[("held pooled", view, name)] = [
                h for k in held if k[1:] == (view, name) for h in results[k]]
    print()
    print_table(results)
    print("\ngoal: >= 2x the size baseline (90 % bootstrap interval over units):")
    print_goals(results, ("library", "tuned"))
    print()
    print_chains(results, chains_of)


def main() -> None:
    """Parse the options, open the store read-only, run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--db", default="/tmp/bt/full.duckdb",
                        help="a built store with the registry (opened read-only)")
    parser.add_argument("--train-year", type=int, default=TRAIN_YEAR)
    parser.add_argument("--years", type=int, nargs="+", default=list(YEARS))
    parser.add_argument("--check", type=int, default=20,
                        help="units to score with the library's exact order (0: none)")
    args = parser.parse_args()
    if not Path(args.db).exists():
        sys.exit(f"no store at {args.db}: build one with the registry first")
    start = time.perf_counter()
    with Database(args.db, read_only=True) as db:
        ctx = load_context(db)
        print(f"[{time.perf_counter() - start:.0f} s] {len(ctx.branches)} branches with a "
              f"known parent, {len(ctx.utilities)} utility-like firms, {len(ctx.chains)} "
              f"chains; universe {UNIVERSE}, window (T, {END}]")
        run(ctx, args.train_year, args.years, args.check)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
