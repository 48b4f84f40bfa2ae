"""Backtest the target-firm ranking (招商清单, ``chainatlas.recommend.firms``) on the
registry's history.

Question: at T in {1995, 1998, 2001}, ranking outside firms for each city and chain with
only what was known at T, do we point at the firms that did set up in that city in
(T, 2004]?

- Truth. The registry (1978-2004) gives each branch (``companies.is_branch``, its
  ``parent_id`` resolved to a firm of the store) a registration year (its founded year)
  and a city. A POSITIVE of a unit (T, city C, chain) is a parent P with at least one
  branch in C registered in (T, 2004], P located outside C, existing at T and a candidate
  of the chain (the library's candidates at T). (parent, city) pairs are counted, not
  branches. A move (a firm re-registering in another city) cannot be seen: the registry
  keeps one address per firm and no address history, so only branches count.
- Data gaps. A province whose registry holds, in some year of (T, 2004], fewer than
  ``GAP_SHARE`` of its largest count of an earlier year has lost rows (Shandong has
  none for 2001-2004, Beijing and Guangdong none for 2004): its cities are left out as
  units at that T (printed), since their later branches cannot be seen. Their firms stay
  candidates: what they were at T is known.
- Candidates and scores come from the library (:mod:`chainatlas.recommend.firms`,
  universe ``registry``, as_of T, default filters): its query step ``firm_inputs`` once
  per (chain, T) for the whole country; per city the library's own pieces: proximity
  (``add_proximity``), links from template edges (``template_links`` on the city's
  standing, ``links_value``) and the score (TARGET_WEIGHTS · components × risk factor,
  ties broken by the scale figure as the library sorts). Three shortcuts keep the run
  within minutes: the city standing (强/弱/缺 per node) is counted for all cities in one
  query (:func:`city_standings`, the library's ``score_nodes`` rules) rather than one
  ``region_profile`` per city (0.1-0.7 s each); scope-item links are left out (about a
  second per city and chain, and rare: none for 石家庄); strength is scaled among the
  national candidates, not each city's (its own firms, a few percent, stay in). Product
  links are empty anyway: registry firms have no placing products. ``--check N`` ranks
  N sample units with the library's exact path (``firm_inputs`` for the city,
  ``region_profile``, ``target_firm_links``, ``score_firms``) and prints how far the
  two are apart, and whether the node classes agree.
- Methods: ``library`` (TARGET_WEIGHTS as shipped), ``tuned`` (the grid's best), ``size``
  (registered capital alone, the baseline) and each component alone (diagnostics).
- Metrics (:mod:`_firm_metrics`): precision@50 and recall@200 of every unit with >= 1
  positive, averaged over those units (their count printed), and pooled (hits over all
  units / positives of all units). Tied scores count their expected share (a random
  order inside a tie): a registered capital of 50 万 is shared by thousands of firms. The
  ratio to the size baseline has a 90 % bootstrap interval over units; a goal (>= 2x)
  is called met or missed only when the interval clears it, else the positives are too
  few to conclude; "a perfect ranking" is the ratio no ranking can beat (a unit with 2
  positives has at most 2 hits among 50).
- Views: ``all`` (every candidate, every parent); ``utility_misses`` (utility-like
  parents, the library's ``analysis.expansion.UTILITY_PATTERN``: oil, post, telecom,
  insurance, banks, grids, rail ..., are no positives but stay candidates, as the
  library keeps them: what its lists score once mandated branching is not counted as
  招商); ``no_utility`` (dropped from the candidates too: what a list without them
  would score).
- Tuning: a grid over the component weights (steps of ``GRID_STEP``, summing to 1) on
  ``TRAIN_YEAR`` only, maximising the smaller of the two ratios to the size baseline
  (precision@50, recall@200) in the ``TUNE_VIEW`` view (the library's own candidates,
  mandated branching not counted); the other years are reported with those weights,
  untouched.
- Limits. Firms' capital, scope and placements are the registry snapshot's, not as of T;
  firms gone before the snapshot are missing (survivorship). Without utilities the size
  baseline hits almost nothing in the top 50 (1-30 hits over 260-380 units), so the
  precision ratios are large and unstable: recall@200 is the figure to read. With them
  (``all``) the goal cannot be met: "a perfect ranking" reaches only ~2x the size
  baseline, big state networks being both the largest firms and most branches.

Usage: python benchmarks/backtest_firms.py [--db PATH] [--check N] [--train-year YEAR]
       [--years Y ...] [--grid-step STEP]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from _firm_metrics import (
    END,
    GAP_SHARE,
    GRID_STEP,
    K_PRECISION,
    K_RECALL,
    UnitHits,
    best_possible,
    bootstrap_ratio,
    gap_provinces,
    objective,
    scaled_to_library,
    summarise,
    truth_pairs,
    unit_hits,
    verdict,
    weight_grid,
)
from _firm_pool import (
    UNIVERSE,
    Unit,
    chain_year,
    empty_standing,
    evaluate,
    make_pool,
    make_units,
    unit_scores,
)

from chainatlas.analysis import expansion
from chainatlas.analysis.regional import region_profile
from chainatlas.analysis.weights import TARGET_WEIGHTS
from chainatlas.recommend import firms
from chainatlas.recommend.target_links import node_standing
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain
from chainatlas.store.query import compose, first_year, param

YEARS = (1995, 1998, 2001)
TRAIN_YEAR = 1995
#: Utility-like firms: the library's one definition (analysis.expansion)
UTILITY = expansion.UTILITY_PATTERN
VIEWS = ("all", "utility_misses", "no_utility")
TUNE_VIEW = "utility_misses"
#: The target score's components (TARGET_WEIGHTS); those of the city are computed per unit
COMPONENTS = ("fit", "strength", "links", "expansion", "proximity")
CITY_COMPONENTS = ("links", "proximity")


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


# --------------------------------------------------------------------------- one year


@dataclass
class YearData:
    """Every unit of one T, per view, and the truth's funnel."""

    year: int
    gaps: dict[str, list[int]]
    units: dict[str, list[Unit]]
    #: view -> (stage, pairs, parents) counts from all branch pairs to the units' positives
    funnel: dict[str, list[tuple[str, int, int]]]
    #: seconds: the library's query step with the standings, the units
    seconds: dict[str, float]


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
    truth = {"all": pairs, "no_utility": pairs[~pairs["parent"].isin(ctx.utilities)]}
    truth["utility_misses"] = truth["no_utility"]
    units: dict[str, list[Unit]] = {v: [] for v in VIEWS}
    placed: set[str] = set()
    seconds = {"query": 0.0, "units": 0.0}
    for chain in ctx.chains:
        start = time.perf_counter()
        source = chain_year(ctx.db, chain, year)
        seconds["query"] += time.perf_counter() - start
        start = time.perf_counter()
        placed.update(source.frame["company_id"].astype(str))
        whole = make_pool(source, "all")
        keep = ~source.frame["company_id"].isin(ctx.utilities).to_numpy()
        pools = {"all": whole, "utility_misses": whole,
                 "no_utility": make_pool(source, "no_utility", keep)}
        for view in VIEWS:
            units[view] += make_units(pools[view], truth[view], ctx.regions, gaps)
        seconds["units"] += time.perf_counter() - start
    return YearData(year, gaps, units, funnel(ctx, truth, placed, gaps, units), seconds)


def funnel(ctx: Context, truth: Mapping[str, pd.DataFrame], placed: set[str],
           gaps: Mapping[str, list[int]], units: Mapping[str, list[Unit]]
           ) -> dict[str, list[tuple[str, int, int]]]:
    """From every branch pair to the units' positives, per view: (stage, pairs, parents)."""
    out = {}
    for view in VIEWS:
        p = truth[view]
        on_chain = p[p["parent"].isin(placed)]
        open_city = on_chain[on_chain["city"].map(
            lambda c: c in ctx.regions and ctx.regions[c].province_adcode not in gaps)]
        parents = {p for u in units[view] for p in u.pool.frame["company_id"][u.positive]}
        out[view] = [
            ("branch pairs (parent at T, other city, (T, 2004])", len(p), p["parent"].nunique()),
            ("parent a candidate of >= 1 chain", len(on_chain), on_chain["parent"].nunique()),
            ("city outside gap provinces", len(open_city), open_city["parent"].nunique()),
            ("unit positives (a pair counts once per chain)",
             sum(int(u.positive.sum()) for u in units[view]), len(parents))]
    return out


# --------------------------------------------------------------------------- tuning


def active_components(units: Sequence[Unit]) -> list[str]:
    """The components that vary somewhere (a constant one cannot change a ranking)."""
    pools = list({id(u.pool): u.pool for u in units}.values())
    out = []
    for name in COMPONENTS:
        arrays = ([getattr(u, name) for u in units] if name in CITY_COMPONENTS
                  else [p.components[name] for p in pools])
        if any(len(a) and np.ptp(a) > 0 for a in arrays):
            out.append(name)
    return out


def tune(units: Sequence[Unit], names: Sequence[str], base: Sequence[UnitHits],
         step: float) -> list[tuple[tuple[float, float, float], dict[str, float]]]:
    """Every grid weight vector over ``names`` with its objective, best first."""
    results = [(objective(evaluate(units, w), base), w) for w in weight_grid(names, step)]
    return sorted(results, key=lambda r: (-r[0][0], -r[0][1], -r[0][2]))


# --------------------------------------------------------------------------- check


@dataclass(frozen=True)
class Exact:
    """The library's exact path on one unit: hits, candidates, and how many nodes the
    batch standing classes differently from ``region_profile``."""

    hits_p: int
    hits_r: int
    candidates: int
    class_differs: int


def exact_hits(unit: Unit, weights: Mapping[str, float]) -> Exact:
    """The library's own path for the unit's city: firm_inputs, region_profile,
    target_firm_links (edges, product and scope links), score_firms (rank_firms without
    the labels)."""
    source, region = unit.pool.source, unit.region
    assert source.db is not None
    db, chain, year = source.db, source.chain, source.year
    inputs = firms.firm_inputs(db, region, chain, None, year, UNIVERSE)
    profile = region_profile(db, region, chain, year, UNIVERSE)
    standing = node_standing(profile)
    links = firms.target_firm_links(db, region, chain, inputs, standing,
                                    firms.local_roles(profile), year)
    ranked = firms.score_firms(inputs.candidates, links, centre=inputs.centre,
                               province=inputs.province, weights=weights)
    positive = set(unit.pool.frame["company_id"][unit.positive])
    hit = ranked["company_id"].isin(positive).to_numpy()
    batch = source.standings.get(region.adcode) or empty_standing(chain)
    differs = sum(batch[n]["class"] != st["class"] for n, st in standing.items())
    return Exact(int(hit[:K_PRECISION].sum()), int(hit[:K_RECALL].sum()), len(ranked),
                 differs)


def check(units: Sequence[Unit], weights: Mapping[str, float], n: int) -> str:
    """How far the fast path is from the library's exact path on ``n`` sample units of
    the ``all`` view."""
    if n <= 0 or not units:
        return "check skipped"
    rng = np.random.default_rng(1)
    sample = [units[i] for i in sorted(rng.choice(len(units), min(n, len(units)),
                                                  replace=False))]
    dp, dr, dn, dc = [], [], [], []
    for unit in sample:
        fast = unit_hits(unit_scores(unit, weights), unit.positive)
        exact = exact_hits(unit, weights)
        dp.append(abs(fast.hits_p - exact.hits_p))
        dr.append(abs(fast.hits_r - exact.hits_r))
        dn.append(abs(len(unit.pool.frame) - len(unit.own) - exact.candidates))
        dc.append(exact.class_differs)
    nodes = len(sample) * len(sample[0].pool.source.chain.nodes)
    return (f"check on {len(sample)} units (library weights; the library's exact path vs "
            f"the fast path): mean |delta hits@50| {statistics.fmean(dp):.3f} (max "
            f"{max(dp):.2f}), mean |delta hits@200| {statistics.fmean(dr):.3f} (max "
            f"{max(dr):.2f}); candidates differ by {max(dn)} at most; node classes "
            f"differ on {sum(dc)} of ~{nodes} nodes")


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


def load_context(db: Database) -> Context:
    """Read what every year shares."""
    return Context(db, branch_rows(db), registry_counts(db), cities(db), chains(db),
                   frozenset(utility_ids(db)))


def train(data: YearData, step: float, check_units: int) -> dict[str, str | Mapping[str, float]]:
    """Tune on the training year, print the grid and the check; the methods to score."""
    library = dict(TARGET_WEIGHTS)
    start = time.perf_counter()
    units = data.units[TUNE_VIEW]
    active = active_components(units)
    size = evaluate(units, "size")
    grid = tune(units, active, size, step)
    best = grid[0][1]
    print(f"\n[{time.perf_counter() - start:.0f} s] weight grid on T={data.year}, view "
          f"{TUNE_VIEW}, over {active} (step {step}; the smaller ratio to size, then "
          f"p@50, r@200), best 5 of {len(grid)}:")
    for (low, p, r), w in grid[:5]:
        print(f"  {w}: min {low:.3f}, p@50 {p:.3f}x, r@200 {r:.3f}x")
    inner = next(((o, w) for o, w in grid if all(v > 0 for v in w.values())), None)
    if inner is not None:
        (low, p, r), w = inner
        print(f"  best with every tested component > 0: {w}: min {low:.3f}, "
              f"p@50 {p:.3f}x, r@200 {r:.3f}x")
    low, p, r = objective(evaluate(units, library), size)
    print(f"  shipped TARGET_WEIGHTS {library}: min {low:.3f}, p@50 {p:.3f}x, r@200 {r:.3f}x")
    print(f"chosen (tested components): {best}")
    print(f"as library weights (untested components keep theirs): "
          f"{scaled_to_library(best, library, active)}")
    start = time.perf_counter()
    print(check(data.units["all"], library, check_units)
          + f" [{time.perf_counter() - start:.0f} s]")
    return {"library": library, "tuned": best, "size": "size", **{c: c for c in active}}


def run(ctx: Context, train_year: int, years: Sequence[int], step: float,
        check_units: int) -> None:
    """Tune on ``train_year``, score every year, print every table."""
    names = {str(r["adcode"]): str(r["name"]) for r in ctx.db.rows(
        "SELECT adcode, name FROM regions WHERE level = 'province'")}
    results: dict[tuple[str, str, str], list[UnitHits]] = {}
    chains_of: dict[tuple[str, str], list[str]] = {}
    methods: dict[str, str | Mapping[str, float]] = {}
    for year in [train_year, *[y for y in years if y != train_year]]:
        start = time.perf_counter()
        data = year_data(ctx, year)
        print(f"\n[{time.perf_counter() - start:.0f} s] pools and units of T={year} (query "
              f"step and standings {data.seconds['query']:.0f} s, units "
              f"{data.seconds['units']:.0f} s)")
        print_year(data, names)
        if year == train_year:
            methods = train(data, step, check_units)
        label = f"{year} " + ("train" if year == train_year else "held")
        start = time.perf_counter()
        for view in VIEWS:
            chains_of[(label, view)] = [u.pool.source.chain.chain_id
                                        for u in data.units[view]]
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
    parser.add_argument("--grid-step", type=float, default=GRID_STEP)
    parser.add_argument("--check", type=int, default=20,
                        help="units to rank with the library's exact path (0: none)")
    args = parser.parse_args()
    if not Path(args.db).exists():
        sys.exit(f"no store at {args.db}: build one with the registry first")
    start = time.perf_counter()
    with Database(args.db, read_only=True) as db:
        ctx = load_context(db)
        print(f"[{time.perf_counter() - start:.0f} s] {len(ctx.branches)} branches with a "
              f"known parent, {len(ctx.utilities)} utility-like firms, {len(ctx.chains)} "
              f"chains; universe {UNIVERSE}, window (T, {END}]")
        run(ctx, args.train_year, args.years, args.grid_step, args.check)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
