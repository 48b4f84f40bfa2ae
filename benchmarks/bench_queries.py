"""Latency of the regional queries after ``build``: p50 / p95 over 50 regions.

Regions: the 50 cities with the most located listed firms (so every query has work to do);
with registry firms loaded, the cities of the registry's provinces come first (there the
registry changes the answers). For each: the regional panorama (region_profile), the
chain panorama (chain_panorama), the province map (map_counts), the node ranking
(rank_nodes) and the firm ranking (rank_firms) for the two lead chains.

Each query runs for every universe given (``--universes``, default ``listed,all``): in
one run on one store, the ``listed`` rows are the baseline (the work before registry firms
counted) for the others. The first call of each kind and universe is a warm-up and not
counted (it fills in-process caches). Goals: p95 <= 100 ms panorama, <= 300 ms firm
ranking; with the registry loaded panorama and map <= 150 ms.

Usage: python benchmarks/bench_queries.py [--db PATH] [--mirror DIR] [--registry 河北]
       [--universes listed,all]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import percentile

from chainatlas.analysis.mapdata import map_counts
from chainatlas.analysis.panorama import chain_panorama
from chainatlas.analysis.regional import region_profile
from chainatlas.build import build_store
from chainatlas.recommend.firms import rank_firms
from chainatlas.recommend.nodes import rank_nodes
from chainatlas.sources.fetch import resolve_bundle
from chainatlas.sources.registry_files import province_list, resolve_registry
from chainatlas.store import Database
from chainatlas.store.lookup import Region

CHAINS = ("biomedicine", "electronics")
Query = Callable[[Database, Region, str, str], Any]
QUERIES: dict[str, Query] = {
    "panorama (region_profile)": lambda db, r, c, u: region_profile(db, r, c, universe=u),
    "chain panorama": lambda db, r, c, u: chain_panorama(db, c, r, 5, universe=u),
    "map (province)": lambda db, r, c, u: map_counts(db, c, None, "province", None, 5,
                                                     universe=u),
    "node ranking (rank_nodes)": lambda db, r, c, u: rank_nodes(db, r, c, top=10, universe=u),
    "firm ranking (rank_firms)": lambda db, r, c, u: rank_firms(db, r, c, top=20, universe=u),
}


def timed(fn: Callable[[], Any]) -> float:
    """Milliseconds one call takes."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def open_store(path: Path, mirror: str | None, registry: str | None = None) -> Database:
    """Open the store, building it first (with the registry's provinces) when missing."""
    if not path.exists():
        provinces = province_list(registry)
        with Database(path) as db:
            build_store(db, resolve_bundle(mirror),
                        registry=resolve_registry(provinces, mirror) if provinces else None)
    return Database(path, read_only=True)


def cities(db: Database, limit: int) -> list[Region]:
    """The cities to query: registry provinces' cities first, then by listed firms."""
    return [Region.from_row(r) for r in db.rows(
        "SELECT r.* FROM regions r JOIN (SELECT city_adcode, count(*) FILTER (WHERE origin = "
        "'listed') AS n, count(*) FILTER (WHERE origin = 'registry') AS reg FROM companies "
        "WHERE city_adcode IS NOT NULL GROUP BY 1) c ON c.city_adcode = r.adcode "
        "ORDER BY c.reg > 0 DESC, n DESC, r.adcode LIMIT ?", [limit])]


def main() -> None:
    """Run the benchmark and print p50/p95 per query and universe."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=Path("/tmp/chainatlas-bench.duckdb"))
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--registry", default=None,
                        help="registry provinces to build a missing store with, e.g. 河北")
    parser.add_argument("--regions", type=int, default=50)
    parser.add_argument("--universes", default="listed,all")
    args = parser.parse_args()
    db = open_store(args.db, args.mirror, args.registry)
    regions = cities(db, args.regions)
    registry = int(db.scalar("SELECT count(*) FROM companies WHERE origin = 'registry'"))
    universes = [u.strip() for u in args.universes.split(",") if u.strip()]
    print(f"{len(regions)} cities x {len(CHAINS)} chains; store {args.db}; "
          f"{registry:,} registry firms")
    # regions are resolved once, as the CLI and the API do; chains are passed by id
    for label, query in QUERIES.items():
        for universe in universes:
            query(db, regions[0], CHAINS[0], universe)  # warm-up
            samples = [timed(functools.partial(query, db, r, c, universe))
                       for r in regions for c in CHAINS]
            print(f"{label:28s} {universe:8s} p50 {statistics.median(samples):7.1f} ms   "
                  f"p95 {percentile(samples, 95):7.1f} ms   max {max(samples):7.1f} ms   "
                  f"(n={len(samples)})")
    print("goals: p95 <= 100 ms panorama, <= 300 ms firm ranking; "
          "with the registry, panorama and map <= 150 ms")


if __name__ == "__main__":
    main()
