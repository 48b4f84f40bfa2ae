"""Backtest the node recommendation (``chainatlas.recommend.nodes.rank_nodes``) on the
registry's history.

Question: ranking each city's chain nodes with only what was known at T in {1995, 1998,
2001}, do we point at the nodes the city entered (its first firm on the node) by 2004?

- Universe ``all`` (listed + registry firms), as the library ranks by default once the
  registry is loaded; with every province loaded a city's LQ basis, its density and its
  place signals (peers, nearby, momentum) count registry firms, so the history the truth
  is read from is also the history the signals see. ``as_of=T`` everywhere.
- Candidates: city x LEAF node pairs of every built-in chain, PRODUCTION nodes only
  (``rank_nodes``' default ``kinds``), with no firm of the universe on the leaf at T, in
  cities with >= 1 located firm at T. An ENTRY is a candidate with >= 1 firm on the leaf
  founded in (T, 2004] (leaf presence as in ``relatedness.presence_all``, both origins).
- Data gaps: a province whose registry loses rows in some year of (T, 2004]
  (``_firm_metrics.gap_provinces`` on ``backtest_firms.registry_counts``, the rule of the
  firm backtest) is left out: its "no entry" would be lost rows. Its firms still count
  in every signal (what they were at T is known).
- Methods, all from the same ``rank_nodes`` call per (T, chain, city), with one
  ``chain_context`` per (chain, T) and one ``place_signals`` per T: ``full`` (the
  library's score), ``density`` (the density component alone: the percentile of the
  relatedness density), ``popularity`` (the number of cities having >= 1 firm on the node
  at T: an entry is a city-level event, so how many cities already made the move is its
  base rate; a firm count would favour nodes with a few big clusters, and it is the
  availability component already), ``tuned`` (the grid's best) and each other component
  alone (diagnostics).
- Metrics: precision@10 / @20 of every city with >= 1 entry over its candidates of all
  chains (averaged over those cities), precision@10 of every city-chain with >= 1 entry
  (the list an analyst reads), PR-AUC (scikit-learn average precision over every
  candidate of the T). Tied scores count their expected share (a random order inside a
  tie), so no method gains from an accidental order.
- Goal: per-city precision@10 and @20 >= ``GOAL_DENSITY`` x density and
  ``GOAL_POPULARITY`` x popularity at every T. Each ratio has a 90 % bootstrap interval
  over cities (``_firm_metrics.bootstrap_mean_ratio``, paired); it is met or missed only
  when the interval clears the goal, and a T with fewer than ``MIN_CITIES`` cities with an
  entry or ``MIN_POSITIVES`` entries is "too few to conclude" whatever the interval.
- Tuning: a grid over the six component weights (steps of ``GRID_STEP``, summing to 1) on
  ``TRAIN_YEAR`` only, maximising the smallest of the four goal ratios scaled by their
  goals (then their mean, then PR-AUC); the other years are reported untouched.
- Limits: placements come from the firms' registry scope (a snapshot of ~2019), and
  firms gone before the snapshot are missing (survivorship); an entry is a registration,
  not an investment project, so it is a proxy for what a 招商 team attracts.

Usage: python benchmarks/backtest_nodes.py [--db PATH] [--train-year YEAR] [--years Y ...]
       [--grid-step STEP] [--limit-cities N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from _firm_metrics import END, bootstrap_mean_ratio, gap_provinces, verdict, weight_grid
from backtest_firms import chains, registry_counts
from sklearn.metrics import average_precision_score

from chainatlas.analysis.regional import lq_origin, registry_provinces
from chainatlas.analysis.weights import NODE_WEIGHTS
from chainatlas.recommend import nodes
from chainatlas.recommend.node_context import ChainContext
from chainatlas.recommend.place_signals import PlaceSignals, place_signals
from chainatlas.recommend.relatedness import leaf_key, presence_all
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region
from chainatlas.store.query import compose, founded_by

YEARS = (1995, 1998, 2001)
#: the longest window (most entries, the steadiest tuning); 1998 and 2001 are later
TRAIN_YEAR = 1995
UNIVERSE = "all"
KS = (10, 20)
GRID_STEP = 0.1
GOAL_DENSITY, GOAL_POPULARITY = 1.3, 1.2
#: Below these a bootstrap over cities rests on too few distinct cities, and one hit
#: moves precision@20 by more than 1/(20 x 30) ~ 0.002, the size of the gaps measured.
MIN_CITIES, MIN_POSITIVES = 30, 100
COMPONENTS = tuple(NODE_WEIGHTS)
BASELINES = {"density": GOAL_DENSITY, "popularity": GOAL_POPULARITY}


# --------------------------------------------------------------------------- pure metrics


def group_hits(groups: np.ndarray, scores: np.ndarray, positive: np.ndarray, k: int,
               n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group (dense ids 0..n_groups-1): the expected positives among its ``k`` best
    scores, a random order inside ties, and how many rows it shows (min(k, size)).

    One sort for all groups: a tie block starting at position s of its group and holding
    n rows has max(0, min(n, k - s)) of its rows within the first k, each row with that
    share / n of being shown.
    """
    order = np.lexsort((-scores, groups))
    g, s, y = groups[order], scores[order], positive[order].astype(float)
    idx = np.arange(len(g))
    first = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, bool)
    pos = idx - np.maximum.accumulate(np.where(first, idx, 0))
    block_first = first | np.r_[True, s[1:] != s[:-1]] if len(g) else first
    block = np.cumsum(block_first) - 1
    size = np.bincount(block).astype(float)
    slots = np.clip(k - pos[block_first], 0, size)
    hits = np.bincount(g, weights=y * (slots / size)[block], minlength=n_groups)
    shown = np.minimum(np.bincount(g, minlength=n_groups), k)
    return hits, shown


def per_group_precision(groups: np.ndarray, scores: np.ndarray, positive: np.ndarray,
                        k: int) -> np.ndarray:
    """Precision@k of every group with >= 1 positive (in group id order)."""
    n = int(groups.max()) + 1 if len(groups) else 0
    hits, shown = group_hits(groups, scores, positive, k, n)
    has = np.bincount(groups, weights=positive.astype(float), minlength=n) > 0
    out: np.ndarray = hits[has] / shown[has]
    return out


def best_precision(groups: np.ndarray, positive: np.ndarray, k: int) -> float:
    """Mean precision@k a perfect ranking reaches over the groups with >= 1 positive."""
    n = int(groups.max()) + 1 if len(groups) else 0
    pos = np.bincount(groups, weights=positive.astype(float), minlength=n)
    shown = np.minimum(np.bincount(groups, minlength=n), k)
    has = pos > 0
    return float(np.mean(np.minimum(pos[has], shown[has]) / shown[has])) if has.any() else 0.0


def safe_ratio(a: float, b: float) -> float:
    """a / b, inf when b is 0 and a is not, nan when both are."""
    if b > 0:
        return a / b
    return float("inf") if a > 0 else float("nan")


def too_few(positives: int, cities: int) -> bool:
    """Whether a view has too few entries, or cities with one, to conclude."""
    return positives < MIN_POSITIVES or cities < MIN_CITIES


# --------------------------------------------------------------------------- the frame


@dataclass(frozen=True)
class Scored:
    """One T's candidates with the arrays the metrics read."""

    year: int
    frame: pd.DataFrame
    city: np.ndarray  # dense city ids
    city_chain: np.ndarray  # dense city x chain ids
    entry: np.ndarray  # bool

    @classmethod
    def of(cls, year: int, frame: pd.DataFrame) -> Scored:
        """Index a candidate frame (columns city, chain, entry, the scores)."""
        city = pd.factorize(frame["city"])[0]
        pair = pd.factorize(frame["city"].astype(str) + "|" + frame["chain"].astype(str))[0]
        return cls(year, frame, city, pair, frame["entry"].to_numpy(bool))

    @property
    def positives(self) -> int:
        """Entries among the candidates."""
        return int(self.entry.sum())

    @property
    def positive_cities(self) -> int:
        """Cities with >= 1 entry."""
        return int(np.unique(self.city[self.entry]).size)

    def scores(self, method: str | Mapping[str, float]) -> np.ndarray:
        """A method's scores: a column, or a weight vector over the components (rounded
        to 4 places, as the library rounds its score)."""
        if isinstance(method, str):
            return self.frame[method].to_numpy(float)
        w = np.array([method.get(c, 0.0) for c in COMPONENTS])
        out: np.ndarray = np.round(self.frame[list(COMPONENTS)].to_numpy(float) @ w, 4)
        return out

    def per_city(self, scores: np.ndarray, k: int) -> np.ndarray:
        """Precision@k of every city with >= 1 entry."""
        return per_group_precision(self.city, scores, self.entry, k)

    def metrics(self, scores: np.ndarray) -> dict[str, float]:
        """Every reported metric of one score vector."""
        out = {f"p@{k}": float(np.mean(self.per_city(scores, k))) for k in KS}
        out["cc p@10"] = float(np.mean(per_group_precision(self.city_chain, scores,
                                                           self.entry, 10)))
        out["PR-AUC"] = float(average_precision_score(self.entry, scores))
        return out


# --------------------------------------------------------------------------- the store


def located_cities(db: Database, year: int) -> list[Region]:
    """City regions with >= 1 located firm of the universe founded or listed by ``year``."""
    return [Region.from_row(r) for r in db.rows(compose(
        "SELECT r.* FROM regions r WHERE r.level = 'city' AND r.adcode IN (SELECT "
        "c.city_adcode FROM companies c WHERE c.city_adcode IS NOT NULL AND "
        "c.origin IN ('listed', 'registry') AND {founded}) ORDER BY r.adcode",
        founded=founded_by(year, "c")))]


def presence(db: Database, year: int) -> pd.DataFrame:
    """City x leaf-key firm counts of the universe (listed + registry) by ``year``."""
    listed = presence_all(db, year, "city", "listed")
    registry = presence_all(db, year, "city", "registry")
    return listed.add(registry, fill_value=0).fillna(0)


def _held(matrix: pd.DataFrame) -> set[tuple[str, str]]:
    rows, cols = np.nonzero(matrix.to_numpy() > 0)
    index, columns = [str(i) for i in matrix.index], [str(c) for c in matrix.columns]
    return {(index[i], columns[j]) for i, j in zip(rows, cols, strict=True)}


@dataclass(frozen=True)
class YearInputs:
    """What every chain of one T reads: cities, presence now and at the end, signals."""

    year: int
    cities: list[Region]
    held: set[tuple[str, str]]
    later: set[tuple[str, str]]
    popularity: dict[str, int]
    signals: PlaceSignals
    provinces: list[dict[str, str]]


def year_inputs(db: Database, year: int, gaps: Mapping[str, list[int]],
                limit: int | None = None) -> YearInputs:
    """Read one T's cities (outside the gap provinces), presence (at T and at ``END``)
    and place signals (one set for every chain)."""
    now, end = presence(db, year), presence(db, END)
    cities = [c for c in located_cities(db, year) if c.province_adcode not in gaps]
    popularity = {str(k): int(v) for k, v in (now > 0).sum(axis=0).items()}
    return YearInputs(year, cities[:limit] if limit else cities, _held(now), _held(end),
                      popularity, place_signals(db, year, "city", "registry"),
                      registry_provinces(db))


def candidate_rows(db: Database, chain: Chain, city: Region, context: ChainContext,
                   inputs: YearInputs) -> list[dict[str, object]]:
    """The city's candidates on one chain, from the library's ranking."""
    rows: list[dict[str, object]] = []
    for rec in nodes.rank_nodes(db, city, chain, inputs.year, context=context,
                                universe=UNIVERSE):
        key = (city.adcode, leaf_key(chain.chain_id, str(rec["node_id"])))
        if key in inputs.held:
            continue  # a 弱 node: the city already has a firm on it
        comp = rec["components"]
        rows.append({"city": city.adcode, "chain": chain.chain_id,
                     "node": str(rec["node_id"]), "label": rec["label"],
                     "entry": key in inputs.later, "full": float(rec["score"]),
                     "density_raw": float(comp["density"]["density"]),
                     "popularity": float(inputs.popularity.get(key[1], 0)),
                     **{c: float(comp[c]["value"]) for c in COMPONENTS}})
    return rows


def chain_rows(db: Database, chain: Chain, inputs: YearInputs) -> list[dict[str, object]]:
    """Every city's candidates on one chain at one T (one context per LQ basis)."""
    contexts: dict[str, ChainContext] = {}
    rows: list[dict[str, object]] = []
    for city in inputs.cities:
        basis = lq_origin(UNIVERSE, city, inputs.provinces)
        if basis not in contexts:
            shared = inputs.signals if basis == "registry" else None
            contexts[basis] = nodes.chain_context(db, chain, inputs.year, "city", UNIVERSE,
                                                  basis, signals=shared)
        rows += candidate_rows(db, chain, city, contexts[basis], inputs)
    return rows


# --------------------------------------------------------------------------- workers

#: per worker process: its store connection and each T's inputs
_WORKER: dict[str, Database] = {}
_INPUTS: dict[int, YearInputs] = {}


def _init_worker(db_path: str) -> None:
    _WORKER["db"] = Database(db_path, read_only=True)


def chain_task(year: int, chain_id: str, gaps: dict[str, list[int]],
               limit: int | None) -> tuple[int, str, int, list[dict[str, object]]]:
    """One (T, chain) in a worker: (T, chain, cities ranked, candidate rows)."""
    db = _WORKER["db"]
    if year not in _INPUTS:
        _INPUTS.clear()  # tasks come in T order: one T's inputs at a time
        _INPUTS[year] = year_inputs(db, year, gaps, limit)
    inputs = _INPUTS[year]
    chain = next(c for c in chains(db) if c.chain_id == chain_id)
    return year, chain_id, len(inputs.cities), chain_rows(db, chain, inputs)


def score_years(db_path: str, gaps: Mapping[int, dict[str, list[int]]],
                chain_ids: Sequence[str], limit: int | None, jobs: int,
                started: float) -> dict[int, Scored]:
    """Every candidate of every T with its scores and entry flags, ``jobs`` processes
    ranking one (T, chain) each; a line per finished task."""
    rows: dict[int, list[dict[str, object]]] = {y: [] for y in gaps}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker,
                             initargs=(db_path,)) as pool:
        futures = [pool.submit(chain_task, y, c, gaps[y], limit)
                   for y in gaps for c in chain_ids]
        for done, future in enumerate(as_completed(futures), start=1):
            year, chain_id, cities, got = future.result()
            rows[year] += got
            print(f"  [{time.perf_counter() - started:5.0f} s] {done}/{len(futures)} "
                  f"T={year} {chain_id}: {cities} cities, {len(got)} candidates",
                  flush=True)
    out = {}
    for year, got in rows.items():
        frame = pd.DataFrame(got).sort_values(["city", "chain", "node"], ignore_index=True)
        out[year] = Scored.of(year, frame)
    return out


# --------------------------------------------------------------------------- tuning


def goal_ratios(view: Scored, scores: np.ndarray,
                base: Mapping[str, Mapping[int, float]]) -> dict[str, float]:
    """The four goal ratios (p@10, p@20 over density and popularity), each / its goal."""
    out = {}
    for k in KS:
        p = float(np.mean(view.per_city(scores, k)))
        for name, goal in BASELINES.items():
            out[f"{name} p@{k}"] = safe_ratio(p, base[name][k]) / goal
    return out


def tune(view: Scored, step: float) -> list[tuple[tuple[float, float], dict[str, float]]]:
    """Every grid weight vector with (smallest scaled goal ratio, their mean), best
    first."""
    base = {name: {k: float(np.mean(view.per_city(view.scores(name), k))) for k in KS}
            for name in BASELINES}
    results = []
    for w in weight_grid(list(COMPONENTS), step):
        r = goal_ratios(view, view.scores(w), base)
        results.append(((min(r.values()), statistics.fmean(r.values())), w))
    return sorted(results, key=lambda x: (-x[0][0], -x[0][1]))


def pick(view: Scored, grid: Sequence[tuple[tuple[float, float], dict[str, float]]],
         top: int = 20) -> dict[str, float]:
    """Among the ``top`` grid points within 1 % of the best smallest ratio, the best
    PR-AUC (a tie-break: the precision ratios move in steps of one hit)."""
    best = grid[0][0][0]
    near = [w for (low, _), w in grid[:top] if low >= best - 0.01]
    return max(near, key=lambda w: view.metrics(view.scores(w))["PR-AUC"])


def print_grid(view: Scored, grid: Sequence[tuple[tuple[float, float], dict[str, float]]],
               chosen: Mapping[str, float]) -> None:
    """The grid's best five, the best with every component > 0, the shipped weights."""
    print(f"\nweight grid on T={view.year} ({len(grid)} points; the smallest goal ratio "
          "scaled by its goal, their mean):")
    for (low, mean), w in grid[:5]:
        print(f"  {_w(w)}: min {low:.3f}, mean {mean:.3f}")
    inner = next(((o, w) for o, w in grid if all(v > 0 for v in w.values())), None)
    if inner is not None:
        print(f"  best with every component > 0: {_w(inner[1])}: min {inner[0][0]:.3f}, "
              f"mean {inner[0][1]:.3f}")
    shipped = next(o for o, w in grid if all(abs(w[c] - NODE_WEIGHTS[c]) < 1e-9
                                             for c in COMPONENTS)) if all(
        round(v / GRID_STEP, 6).is_integer() for v in NODE_WEIGHTS.values()) else None
    if shipped is not None:
        print(f"  shipped NODE_WEIGHTS {_w(NODE_WEIGHTS)}: min {shipped[0]:.3f}, "
              f"mean {shipped[1]:.3f}")
    print(f"chosen (best PR-AUC among the near-best): {_w(chosen)}")


def _w(weights: Mapping[str, float]) -> str:
    return "{" + ", ".join(f"{k} {v:.2f}" for k, v in weights.items()) + "}"


# --------------------------------------------------------------------------- output


def methods_of(tuned: Mapping[str, float]) -> dict[str, str | Mapping[str, float]]:
    """The methods every T reports: the library, the tuned weights, the baselines, and
    the other components alone."""
    out: dict[str, str | Mapping[str, float]] = {
        "full": "full", "tuned": tuned, "density": "density", "popularity": "popularity",
        "density_raw": "density_raw"}
    out.update({c: c for c in COMPONENTS if c != "density"})
    return out


def describe(view: Scored, gaps: Mapping[str, list[int]], names: Mapping[str, str],
             label: str) -> None:
    """Candidates, entries, gaps and the label mix of one T."""
    left_out = ", ".join(f"{names.get(p, p)} {'/'.join(map(str, ys))}"
                         for p, ys in sorted(gaps.items()))
    f = view.frame
    mix = ", ".join(f"{lab} {int(r['size'])} ({r['mean']:.2%} enter)" for lab, r in
                    f.groupby("label")["entry"].agg(["size", "mean"]).iterrows())
    caps = ", ".join(f"p@{k} {best_precision(view.city, view.entry, k):.3f}" for k in KS)
    print(f"\nT={view.year} ({label}): provinces left out (registry gaps): "
          f"{left_out or 'none'}")
    print(f"  {len(f)} candidates in {f['city'].nunique()} cities; POSITIVES (entries) "
          f"{view.positives} in {view.positive_cities} cities; {mix}; a perfect ranking "
          f"reaches {caps}")
    if too_few(view.positives, view.positive_cities):
        print(f"  TOO FEW TO CONCLUDE: fewer than {MIN_POSITIVES} entries or "
              f"{MIN_CITIES} cities with one")


def print_table(view: Scored, methods: Mapping[str, str | Mapping[str, float]],
                label: str) -> dict[str, dict[str, float]]:
    """One row per method with its ratios to both baselines; returns the figures."""
    results = {m: view.metrics(view.scores(spec)) for m, spec in methods.items()}
    cols = list(results["full"])
    print(f"{'T':<12}{'method':<14}" + "".join(f"{c:>10}" for c in cols)
          + "".join(f"{'x' + b[:4] + ' ' + c:>15}" for b in BASELINES for c in cols))
    for m, r in results.items():
        ratios = "".join(f"{safe_ratio(r[c], results[b][c]):>15.2f}"
                         for b in BASELINES for c in cols)
        print(f"{label:<12}{m:<14}" + "".join(f"{r[c]:>10.4f}" for c in cols) + ratios)
    return results


def print_goals(view: Scored, methods: Mapping[str, str | Mapping[str, float]],
                label: str) -> None:
    """The goals of full and tuned at one T, with 90 % bootstrap intervals over cities."""
    few = too_few(view.positives, view.positive_cities)
    for name in ("full", "tuned"):
        parts = []
        for base, goal in BASELINES.items():
            for k in KS:
                m = view.per_city(view.scores(methods[name]), k)
                b = view.per_city(view.scores(base), k)
                point = safe_ratio(float(m.mean()), float(b.mean()))
                lo, hi = bootstrap_mean_ratio(m, b)
                said = "too few to conclude" if few else verdict((lo, hi), goal)
                parts.append(f"p@{k} / {base} {point:.2f}x [{lo:.2f}, {hi:.2f}] "
                             f"(goal {goal}x: {said})")
        print(f"  {label:<12}{name:<6}" + "; ".join(parts))


# --------------------------------------------------------------------------- main


def run(db_path: str, train_year: int, years: Iterable[int], step: float,
        limit: int | None, jobs: int, frames: str | None = None) -> None:
    """Score every T, tune on ``train_year``, print every table."""
    started = time.perf_counter()
    with Database(db_path, read_only=True) as db:
        names = {str(r["adcode"]): str(r["name"]) for r in db.rows(
            "SELECT adcode, name FROM regions WHERE level = 'province'")}
        counts = registry_counts(db)
        chain_ids = [c.chain_id for c in chains(db)]
    order = [train_year, *[y for y in years if y != train_year]]
    gaps = {y: gap_provinces(counts, y, END) for y in order}
    if frames and Path(frames).exists():  # a re-tuning run: the candidates of an earlier one
        views = {y: Scored.of(y, f) for y, f in pd.read_pickle(frames).items() if y in gaps}
    else:
        views = score_years(db_path, gaps, chain_ids, limit, jobs, started)
        if frames:
            pd.Series({y: v.frame for y, v in views.items()}).to_pickle(frames)
    train = views[train_year]
    grid = tune(train, step)
    tuned = pick(train, grid)
    print_grid(train, grid, tuned)
    methods = methods_of(tuned)
    print(f"\nuniverse {UNIVERSE}, window (T, {END}], library NODE_WEIGHTS {_w(NODE_WEIGHTS)}")
    labels = {y: f"{y} " + ("train" if y == train_year else "held") for y in views}
    for year in sorted(views):
        describe(views[year], gaps[year], names, labels[year])
        print_table(views[year], methods, labels[year])
    print(f"\ngoals: per-city p@10 and p@20 >= {GOAL_DENSITY}x density and "
          f">= {GOAL_POPULARITY}x popularity (90 % bootstrap interval over cities):")
    for year in sorted(views):
        print_goals(views[year], methods, labels[year])
    print(f"\nwall time {time.perf_counter() - started:.0f} s")


def main() -> None:
    """Parse the options, check the store, run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--db", default="/tmp/bt/full.duckdb",
                        help="a built store with the whole registry (opened read-only)")
    parser.add_argument("--train-year", type=int, default=TRAIN_YEAR)
    parser.add_argument("--years", type=int, nargs="+", default=list(YEARS))
    parser.add_argument("--grid-step", type=float, default=GRID_STEP)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--limit-cities", type=int, default=None,
                        help="rank only the first N cities per T (a quick check)")
    parser.add_argument("--frames", default=None,
                        help="pickle of the candidate frames: written when missing, read "
                        "(no ranking; the 'full' column is then that run's) when present")
    args = parser.parse_args()
    if not Path(args.db).exists():
        sys.exit(f"no store at {args.db}: build one with `chainatlas build --registry all`")
    run(args.db, args.train_year, args.years, args.grid_step, args.limit_cities, args.jobs,
        args.frames)


if __name__ == "__main__":
    main()
