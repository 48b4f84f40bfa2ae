"""Backtest the node recommendation (``chainatlas.recommend.nodes.rank_nodes``).

Question: using only firms founded or listed by year T, does the ranking point at the
nodes where a city gains its first listed firm within the next five years?

- Views: T = 2010 (TRAINING: the score weights are tuned here), 2013 and 2016 (HELD OUT).
- Units: city x LEAF node pairs over all five built-in chains. Candidates are the pairs
  without any listed firm on the leaf at T, in cities with at least one located listed
  firm (any industry) at T. An ENTRY is a candidate with >= 1 listed firm on the leaf by
  T + 5 (firms founded or listed in (T, T + 5]; presence as in ``presence_matrix``).
- Methods, all from the same ``rank_nodes`` call per (T, chain, city): (1) full = the
  library's score; (2) density = the raw relatedness density alone; (3) popularity = the
  node's national listed-firm count at T.
- Metrics: precision@K per city = for every city with >= 1 entry at T, the share of
  entries among its K best candidates over all five chains, averaged over those cities;
  per city-chain = the same within one chain (the list an analyst actually reads), over
  city-chains with >= 1 entry; global precision@K = the share of entries among the K best
  pairs of all cities together; PR-AUC = scikit-learn ``average_precision_score`` over all
  candidates. Tied scores count their expected share (a random order inside a tie), so no
  method gains from an accidental order. Pooled: per-city figures average all (T, city)
  units; global precision averages the three views; PR-AUC pools every candidate.
- Tuning: a grid over the component weights (steps of 0.05, summing to 1) on T = 2010
  only, maximising per-city precision@20; weights within one hit of the best count as
  tied, and the city-chain precision@10, then PR-AUC, break the tie. The library's
  ``WEIGHTS`` are set from it. 2013 and 2016 are reported with those weights, untouched.

Usage: python benchmarks/backtest_nodes.py [--db PATH] [--mirror DIR] [--evidence MODE]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import textwrap
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from chainatlas.recommend import nodes
from chainatlas.recommend.relatedness import presence_matrix
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain
from chainatlas.store.query import compose, founded_by

YEARS = (2010, 2013, 2016)
TRAIN_YEAR = 2010
HORIZON = 5
KS = (10, 20)
GRID_STEP = 0.05
METHODS = ("full", "density", "popularity")
COMPONENTS = ("density", "adjacency", "availability")


def open_store(path: Path, mirror: str | None) -> Database:
    """Open the store read-only, building it from the open-data mirror when missing."""
    if not path.exists():
        from chainatlas.build import build_store
        from chainatlas.sources.fetch import resolve_bundle

        print(f"building {path} from {mirror or 'the data cache'} ...", file=sys.stderr)
        with Database(path) as db:
            build_store(db, resolve_bundle(mirror))
    return Database(path, read_only=True)


def located_cities(db: Database, year: int) -> list[Region]:
    """City regions with at least one located listed firm founded or listed by ``year``."""
    return [Region.from_row(r) for r in db.rows(compose(
        "SELECT r.* FROM regions r WHERE r.level = 'city' AND r.adcode IN (SELECT "
        "c.city_adcode FROM companies c WHERE c.origin = 'listed' AND c.city_adcode IS NOT "
        "NULL AND {founded}) ORDER BY r.adcode", founded=founded_by(year, "c")))]


def _present(matrix: pd.DataFrame) -> set[tuple[str, str]]:
    return {(str(city), str(node)) for city, row in matrix.iterrows()
            for node, count in row.items() if count > 0}


def _entries(db: Database, chain: Chain, year: int) -> tuple[set[tuple[str, str]],
                                                              set[tuple[str, str]]]:
    """(city, leaf) pairs present at ``year``, and those first present by year + HORIZON."""
    present = _present(presence_matrix(db, chain, year))
    later = _present(presence_matrix(db, chain, year + HORIZON))
    return present, later - present


def candidate_rows(db: Database, year: int) -> pd.DataFrame:
    """Every candidate (city, chain, leaf) at ``year`` with its components and entry flag."""
    cities = located_cities(db, year)
    chains = [as_chain(db, str(r[0])) for r in db.execute(
        "SELECT chain_id FROM chains ORDER BY 1").fetchall()]
    rows = []
    for chain in chains:
        present, entries = _entries(db, chain, year)
        context = nodes.chain_context(db, chain, year, "city", universe="listed")
        for city in cities:
            for rec in nodes.rank_nodes(db, city, chain, year, context=context,
                                        universe="listed"):
                key = (city.adcode, str(rec["node_id"]))
                if key in present:
                    continue  # a 弱 node: the city already has it
                comp = rec["components"]
                rows.append({
                    "year": year, "city": key[0], "chain": chain.chain_id, "node": key[1],
                    "label": rec["label"], "entry": key in entries, "full": rec["score"],
                    "density_raw": comp["density"]["density"],
                    "popularity": comp["availability"]["national_firms"],
                    **{c: comp[c]["value"] for c in COMPONENTS}})
    frame = pd.DataFrame(rows)
    frame["density"] = frame.pop("density_raw")
    return frame


def expected_precision(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Precision@k with a random order inside tied scores (its expected value)."""
    k = min(k, len(scores))
    if k == 0:
        return 0.0
    frame = pd.DataFrame({"s": scores, "y": labels}).groupby("s", sort=True)["y"].agg(
        ["sum", "size"]).iloc[::-1]
    taken = hits = 0.0
    for pos, size in zip(frame["sum"], frame["size"], strict=True):
        room = k - taken
        if room <= 0:
            break
        share = min(1.0, room / size)
        hits += pos * share
        taken += size * share
    return hits / k


def per_unit(frame: pd.DataFrame, method: str, k: int, keys: list[str]) -> list[float]:
    """Precision@k of every unit (group of ``keys``) with at least one entry."""
    out = []
    for _, unit in frame.groupby(keys):
        if unit["entry"].any():
            out.append(expected_precision(unit[method].to_numpy(float),
                                          unit["entry"].to_numpy(bool), k))
    return out


def metrics(frame: pd.DataFrame, method: str) -> dict[str, float]:
    """Every reported metric of one method on one view (or several pooled views)."""
    out: dict[str, float] = {}
    for k in KS:
        out[f"city p@{k}"] = statistics.fmean(per_unit(frame, method, k, ["year", "city"]))
    out["city-chain p@10"] = statistics.fmean(
        per_unit(frame, method, 10, ["year", "city", "chain"]))
    for k in KS:
        out[f"global p@{k}"] = statistics.fmean(
            expected_precision(v[method].to_numpy(float), v["entry"].to_numpy(bool), k)
            for _, v in frame.groupby("year"))
    out["PR-AUC"] = float(average_precision_score(frame["entry"], frame[method]))
    return out


def weight_grid(step: float = GRID_STEP) -> Iterable[tuple[float, float, float]]:
    """Every (density, adjacency, availability) weight triple on a grid summing to 1."""
    n = round(1 / step)
    for a, b in itertools.product(range(n + 1), repeat=2):
        if a + b <= n:
            yield round(a * step, 2), round(b * step, 2), round((n - a - b) * step, 2)


def tune(train: pd.DataFrame) -> list[tuple[float, float, float, tuple[float, ...]]]:
    """Grid results on the training view, best first: (city p@20, city-chain p@10,
    PR-AUC, weights).

    precision@20 moves in steps of one hit, so every weight triple within one hit of the
    best (1 / (20 x cities with an entry)) counts as tied; among the tied, the higher
    city-chain precision@10 (the list an analyst reads) wins, then the higher PR-AUC.
    """
    one_hit = 1 / (20 * train.loc[train["entry"], "city"].nunique())
    results = []
    for weights in weight_grid():
        score = train[list(COMPONENTS)].to_numpy(float) @ np.array(weights)
        view = train.assign(tuned=np.round(score, 6))
        results.append((
            statistics.fmean(per_unit(view, "tuned", 20, ["year", "city"])),
            statistics.fmean(per_unit(view, "tuned", 10, ["year", "city", "chain"])),
            float(average_precision_score(view["entry"], view["tuned"])), weights))
    best = max(r[0] for r in results)
    return sorted(results, key=lambda r: (r[0] < best - one_hit - 1e-12, -r[1], -r[2], -r[0]))


def print_table(results: dict[str, dict[str, dict[str, float]]]) -> None:
    """One row per (view, method), one column per metric."""
    names = list(next(iter(next(iter(results.values())).values())))
    print(f"{'view':<14}{'method':<12}" + "".join(f"{n:>17}" for n in names))
    for view, by_method in results.items():
        for method, values in by_method.items():
            print(f"{view:<14}{method:<12}" + "".join(f"{values[n]:>17.4f}" for n in names))


def describe(frame: pd.DataFrame) -> None:
    """Candidates, entries and the label mix per view."""
    for year, view in frame.groupby("year"):
        cities = view.loc[view["entry"], "city"].nunique()
        hit = view.groupby("label")["entry"].agg(["size", "mean"])
        mix = ", ".join(f"{lab} {int(r['size'])} ({r['mean']:.3%} enter)"
                        for lab, r in hit.iterrows())
        print(f"T={year}: {len(view)} candidates in {view['city'].nunique()} cities, "
              f"{int(view['entry'].sum())} entries in {cities} cities; {mix}")


def caveats(frame: pd.DataFrame) -> str:
    """What this backtest can and cannot show, with the run's own entry counts."""
    counts = "; ".join(f"T={y}: {int(v['entry'].sum())} entries in "
                       f"{v.loc[v['entry'], 'city'].nunique()} cities"
                       for y, v in frame.groupby("year"))
    return (
        "What the listed-firm data can and cannot show. An entry here is a listed firm "
        "founded or listed in the window on a node its city lacked, not an investment "
        "project, a branch plant or a non-listed firm, so it is a thin proxy for what a "
        f"招商 team attracts; and entries are rare ({counts}), so one hit moves per-city "
        "precision@20 by 1/(20 x cities): differences of a few thousandths are noise, and "
        "the held-out views rest on a dozen cities each. Placements come from the firms' "
        "2021 products, so a 2010 view places a firm by what it makes in 2021 and the "
        "product evidence behind adjacency is 2021's too (only firms founded by T count). "
        "Firms delisted before the data was collected are missing altogether "
        "(survivorship), which hides failed entries and older clusters. The global "
        "top-K precision looks at 10-20 pairs among ~49,000 and is mostly 0 for every "
        "method. What the data does show: the national popularity of a node is the "
        "strongest single signal of where new listed firms appear; relatedness density "
        "adds to it (PR-AUC well above popularity), and supply adjacency adds little "
        "beyond density, so the score leans on density and availability while adjacency "
        "mainly drives the 补链/延链 labels and the reasons.")


def main() -> None:
    """Run the backtest and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="/tmp/nodes.duckdb")
    parser.add_argument("--mirror", default=os.environ.get("CHAINATLAS_MIRROR"))
    parser.add_argument("--evidence", choices=("placing", "all", "none"),
                        default=nodes.EVIDENCE_PRODUCTS, help="product evidence variant")
    args = parser.parse_args()
    nodes.EVIDENCE_PRODUCTS = args.evidence
    db = open_store(Path(args.db), args.mirror)
    start = time.perf_counter()
    frame = pd.concat([candidate_rows(db, year) for year in YEARS], ignore_index=True)
    print(f"scored {len(frame)} candidates in {time.perf_counter() - start:.0f} s "
          f"(evidence: {args.evidence}, weights: {nodes.WEIGHTS})")
    describe(frame)
    grid = tune(frame[frame["year"] == TRAIN_YEAR])
    print(f"\nweight grid on T={TRAIN_YEAR} (density, adjacency, availability), best 5:")
    for p20, p10, ap, weights in grid[:5]:
        print(f"  {weights}: city p@20 {p20:.4f}, city-chain p@10 {p10:.4f}, PR-AUC {ap:.4f}")
    views = {f"T={y}" + (" train" if y == TRAIN_YEAR else " held"): frame[frame["year"] == y]
             for y in YEARS}
    views["pooled"] = frame
    views["held pooled"] = frame[frame["year"] != TRAIN_YEAR]
    results = {v: {m: metrics(f, m) for m in METHODS} for v, f in views.items()}
    print()
    print_table(results)
    print("\nfull / density, city p@20: " + ", ".join(
        f"{v} {r['full']['city p@20'] / r['density']['city p@20']:.2f}x"
        for v, r in results.items()))
    print()
    print(textwrap.fill(caveats(frame), width=100))


if __name__ == "__main__":
    main()
