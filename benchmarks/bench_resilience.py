"""Time the resilience library (issue 12) on the full store.

Measured in one run and process:

- the full scan: every production node of 50 cities (the 50 with most located firms,
  石家庄市 among them) × 2 chains (biomedicine, electronics) at node level — networks
  built cold from the store, then the region-independent figures (influence per θ) and
  each city's frame (counts, HHI, self-sufficiency at three θ, SPOF, dominators, local
  influence). Goal: <= 60 s. ``--products`` adds the same scan at product level.
- one what-if: removing a random city, a random province, or 20 random firms, at every
  θ for a random one of the 50 cities on a random chain, with warm networks (the cache a
  long-running server holds). Goal: p95 <= 1 s. The first, cold what-if (network built
  from the store) is reported beside it.
- Monte-Carlo curves of 石家庄市's and of every firm on 新一代电子信息 (50 random runs,
  11 fractions, three strategies), for reference.
- baseline: a plain DuckDB scan of the placements of the two chains (firms per node and
  city), the least any per-node figure costs.

Usage: python benchmarks/bench_resilience.py --db /tmp/d/full.duckdb [--whatifs 100]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_store_args, open_store

from chainatlas.analysis import resilience_graph
from chainatlas.analysis.resilience import THETAS
from chainatlas.analysis.resilience_graph import chain_network
from chainatlas.analysis.resilience_report import (
    region_whatif,
    removal_curves_report,
    scan_regions,
)
from chainatlas.store import Database

CHAINS = ("biomedicine", "electronics")
CITIES = 50


def top_cities(db: Database, n: int = CITIES) -> list[str]:
    """The n cities with most located firms, 石家庄市 always among them."""
    rows = db.execute("SELECT city_adcode FROM companies WHERE city_adcode IS NOT NULL "
                      "AND same_as IS NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?",
                      [n]).fetchall()
    cities = [str(r[0]) for r in rows]
    if "130100" not in cities:
        cities[-1] = "130100"
    return cities


def baseline(db: Database) -> float:
    """Seconds for a plain DuckDB count of the two chains' firms per node and city."""
    start = time.perf_counter()
    db.execute("SELECT chain_id, node_id, city_adcode, count(*) FROM chain_firms "
               "WHERE list_contains(?, chain_id) GROUP BY ALL", [list(CHAINS)]).fetchall()
    return time.perf_counter() - start


def full_scan(db: Database, cities: list[str], level: str) -> dict[str, float]:
    """Seconds for the cold scan: building networks, then every city's frame."""
    resilience_graph._CACHE.clear()
    start = time.perf_counter()
    for chain in CHAINS:
        chain_network(db, chain, level)
    built = time.perf_counter() - start
    rows = 0
    for chain in CHAINS:
        rows += len(scan_regions(db, chain, cities, level))
    total = time.perf_counter() - start
    return {"build_s": round(built, 2), "total_s": round(total, 2), "rows": rows}


def one_whatif(db: Database, rng: random.Random, cities: list[str]) -> float:
    """Seconds for one random what-if (module docs)."""
    chain = rng.choice(CHAINS)
    region = rng.choice(cities)
    net = chain_network(db, chain)
    kind = rng.choice(("city", "province", "firms"))
    start = time.perf_counter()
    if kind == "firms":
        firms = rng.sample(net.firm_ids, 20)
        region_whatif(db, region, chain, firms=firms)
    else:
        other = rng.choice(cities)
        target = other if kind == "city" else other[:2] + "0000"
        region_whatif(db, region, chain, remove_regions=[target])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_store_args(parser)
    parser.add_argument("--whatifs", type=int, default=100)
    parser.add_argument("--products", action="store_true", help="scan products too")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    db = open_store(args.db, args.mirror, args.rebuild)
    cities = top_cities(db)
    out: dict[str, Any] = {"cities": len(cities), "chains": list(CHAINS),
                           "thetas": list(THETAS),
                           "registry_firms": int(db.scalar(
                               "SELECT count(*) FROM companies WHERE origin = 'registry'")),
                           "baseline_placement_scan_s": round(baseline(db), 3)}
    out["scan_node"] = full_scan(db, cities, "node")
    if args.products:
        out["scan_product"] = full_scan(db, cities, "product")
    for chain in CHAINS:
        net = chain_network(db, chain)
        out[f"{chain}_node_units"] = net.size
        out[f"{chain}_node_memberships"] = len(net.member_unit)
    resilience_graph._CACHE.clear()
    rng = random.Random(args.seed)
    start = time.perf_counter()
    region_whatif(db, "石家庄市", "biomedicine", remove_regions=["上海市"])
    out["whatif_cold_s"] = round(time.perf_counter() - start, 3)
    times = sorted(one_whatif(db, rng, cities) for _ in range(args.whatifs))
    out["whatif_runs"] = len(times)
    out["whatif_p50_s"] = round(statistics.median(times), 4)
    out["whatif_p95_s"] = round(times[max(0, int(0.95 * len(times)) - 1)], 4)
    for region in ("石家庄市", None):
        start = time.perf_counter()
        curves = removal_curves_report(db, "electronics", region, runs=50)
        out[f"curves_{region or 'national'}_s"] = round(time.perf_counter() - start, 3)
        out[f"curves_{region or 'national'}_population"] = curves["population"]
    out["goals"] = {"scan_le_60s": out["scan_node"]["total_s"] <= 60,
                    "whatif_p95_le_1s": out["whatif_p95_s"] <= 1.0}
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
