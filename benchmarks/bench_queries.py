"""Latency of the regional queries after ``build``: p50 / p95 over 50 regions.

Regions: the 50 cities with the most located listed firms (so every query has work to do).
For each: the regional panorama (region_profile), the node ranking (rank_nodes) and the
firm ranking (rank_firms) for the two lead chains. The first call of each kind is a warm-up
and not counted (it fills in-process caches). Goals: p95 <= 100 ms panorama,
<= 300 ms firm ranking. Usage: python benchmarks/bench_queries.py [--db PATH] [--mirror DIR]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chainatlas.analysis.regional import region_profile
from chainatlas.build import build_store
from chainatlas.recommend.firms import rank_firms
from chainatlas.recommend.nodes import rank_nodes
from chainatlas.sources.fetch import resolve_bundle
from chainatlas.store import Database
from chainatlas.store.lookup import Region

CHAINS = ("biomedicine", "electronics")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def timed(fn: Callable[[], Any]) -> float:
    """Milliseconds one call takes."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def open_store(path: Path, mirror: str | None) -> Database:
    """Open the store, building it first when it does not exist."""
    if not path.exists():
        with Database(path) as db:
            build_store(db, resolve_bundle(mirror))
    return Database(path, read_only=True)


def main() -> None:
    """Run the benchmark and print p50/p95 per query."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=Path("/tmp/chainatlas-bench.duckdb"))
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--regions", type=int, default=50)
    args = parser.parse_args()
    db = open_store(args.db, args.mirror)
    regions = [Region.from_row(r) for r in db.rows(
        "SELECT r.* FROM regions r JOIN (SELECT city_adcode, count(*) AS n FROM companies "
        "WHERE origin = 'listed' AND city_adcode IS NOT NULL GROUP BY 1) c "
        "ON c.city_adcode = r.adcode ORDER BY n DESC, r.adcode LIMIT ?", [args.regions])]
    # regions are resolved once, as the CLI and the API do; chains are passed by id
    queries: dict[str, Callable[[Region, str], Any]] = {
        "panorama (region_profile)": lambda r, c: region_profile(db, r, c),
        "node ranking (rank_nodes)": lambda r, c: rank_nodes(db, r, c, top=10),
        "firm ranking (rank_firms)": lambda r, c: rank_firms(db, r, c, top=20),
    }
    print(f"{len(regions)} cities x {len(CHAINS)} chains; store {args.db}")
    for label, query in queries.items():
        query(regions[0], CHAINS[0])  # warm-up
        samples = [timed(functools.partial(query, r, c)) for r in regions for c in CHAINS]
        print(f"{label:28s} p50 {statistics.median(samples):7.1f} ms   "
              f"p95 {percentile(samples, 95):7.1f} ms   max {max(samples):7.1f} ms   "
              f"(n={len(samples)})")
    print("goals: p95 <= 100 ms panorama, <= 300 ms firm ranking")


if __name__ == "__main__":
    main()
