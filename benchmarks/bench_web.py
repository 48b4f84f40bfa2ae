"""Latency of the web API behind each page, in-process (FastAPI TestClient), on the real store.

Pages and the requests their data needs (one "visit" of a page is all of them, in turn):

- overview: region-profile and leaders (with the region) for each of the 5 chains;
- chain map: panorama (with the region) and region-profile;
- investment map: map by province, map by city within the region's province, and the
  national and provincial boundaries (/geo);
- recommendations: recommend/nodes and recommend/firms;
- leaders: leaders with the region;
- firm profile: /firms/{id}; search: /search?q=.

Regions are the cities with the most located listed firms (30 by default), each visit on
one of the chains in turn; firms are a fixed pseudo-random sample of located listed firms;
search queries mix short names, pinyin initials, stock codes and parts of full names.
The boundaries are simplified and the search index built first, as ``chainatlas serve``
does at startup; then a first pass over one region, firm and query fills the remaining
in-process caches (relatedness tables): its times are printed as "cold" and not counted.
Goal: p95 <= 300 ms per request. Prints p50 / p95 / max per request kind and page.

Registry-loaded case (issue 9 point 7): ``--registry 河北`` builds (or expects) a store
with that province's enterprise registry; ``--universe listed|registry|all`` is sent
with every analysis and recommendation request (default: none, the store's default,
which is ``all`` once registry firms are loaded). Regions are then the cities of the
registry provinces first (where registry firms change the answers), then the others by
listed firms. Goal with the registry loaded: panorama and map p95 <= 150 ms.

``--baseline listed`` visits every region page a second time with that universe right
after, in the same run, and reports it apart (the figures before registry firms counted).

Usage: python benchmarks/bench_web.py [--db PATH] [--mirror DIR] [--regions 30] [--firms 50]
       [--registry 河北] [--universe all] [--baseline listed]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _common import percentile
from fastapi.testclient import TestClient

from chainatlas.analysis.search import initials
from chainatlas.build import build_store
from chainatlas.config import MIRROR_ENV
from chainatlas.sources.fetch import resolve_bundle
from chainatlas.sources.registry_files import province_list, resolve_registry
from chainatlas.store import Database
from chainatlas.web.app import create_app, warm_up

GOAL_MS = 300.0
#: The goal of the panorama and map requests with the registry loaded.
REGISTRY_GOAL_MS = 150.0
REGISTRY_KINDS = ("panorama", "map province", "map city")
Request = tuple[str, str]  # (kind, url)
#: The universe sent with every analysis request (None: the store's default).
UNIVERSE: dict[str, str | None] = {"value": None}


def ensure_store(path: Path, mirror: str | None, rebuild: bool,
                 registry: str | None = None) -> None:
    """Build the store from the open data (and the registry of ``registry``'s provinces)
    when it is missing (or when asked)."""
    if path.exists() and not rebuild:
        return
    path.unlink(missing_ok=True)
    print(f"building {path} from {mirror or 'the data cache'} ...", file=sys.stderr)
    start = time.perf_counter()
    provinces = province_list(registry)
    with Database(path) as db:
        build_store(db, resolve_bundle(mirror),
                    registry=resolve_registry(provinces, mirror) if provinces else None)
    print(f"built in {time.perf_counter() - start:.1f} s", file=sys.stderr)


def samples(path: Path, regions: int, firms: int) -> dict[str, Any]:
    """Regions, chains, firms and search queries to request (read before serving)."""
    with Database(path, read_only=True) as db:
        chains = [r[0] for r in db.execute("SELECT chain_id FROM chains ORDER BY chain_id")
                  .fetchall()]
        # cities of the registry's provinces first, then by listed firms
        cities = db.rows(
            "SELECT r.adcode, r.name, r.province_adcode FROM regions r JOIN (SELECT "
            "city_adcode, count(*) FILTER (WHERE origin = 'listed') AS n, "
            "count(*) FILTER (WHERE origin = 'registry') AS reg FROM companies GROUP BY 1) c "
            "ON c.city_adcode = r.adcode ORDER BY c.reg > 0 DESC, c.n DESC, r.adcode "
            "LIMIT ?", [regions])
        sample = db.rows(
            "SELECT company_id, short_name, full_name, stock_code FROM companies WHERE "
            "origin = 'listed' AND city_adcode IS NOT NULL AND same_as IS NULL "
            "ORDER BY hash(company_id), company_id LIMIT ?", [firms])
        registry = int(db.scalar("SELECT count(*) FROM companies WHERE origin = 'registry'"))
    kinds: list[Callable[[dict[str, Any]], str]] = [
        lambda f: str(f["short_name"]), lambda f: initials(str(f["short_name"])),
        lambda f: str(f["stock_code"]), lambda f: str(f["full_name"])[:4]]
    queries = [kinds[i % len(kinds)](f) for i, f in enumerate(sample)]
    return {"chains": chains, "cities": cities, "firms": [f["company_id"] for f in sample],
            "queries": queries, "registry_firms": registry}


def _url(path: str, **params: Any) -> str:
    params.setdefault("universe", UNIVERSE["value"])
    return f"/api/v1/{path}?" + urlencode({k: v for k, v in params.items() if v is not None})


def region_pages(city: dict[str, Any], chains: list[str], chain: str) -> dict[str, list[Request]]:
    """The requests of each region page for one city and chain."""
    region = city["adcode"]
    return {
        "overview": [req for c in chains for req in (
            ("region-profile", _url("region-profile", chain=c, region=region)),
            ("leaders", _url("leaders", chain=c, region=region, top=5)))],
        "chain map": [("panorama", _url("panorama", chain=chain, region=region)),
                      ("region-profile", _url("region-profile", chain=chain, region=region))],
        "investment map": [
            ("map province", _url("map", chain=chain, level="province", top=5)),
            ("map city", _url("map", chain=chain, level="city",
                              within=city["province_adcode"], top=5)),
            ("geo china", "/geo/china.json"),
            ("geo province", f"/geo/province/{city['province_adcode']}.json")],
        "recommendations": [
            ("recommend nodes", _url("recommend/nodes", chain=chain, region=region)),
            ("recommend firms", _url("recommend/firms", chain=chain, region=region))],
        "leaders": [("leaders", _url("leaders", chain=chain, region=region, top=20))],
    }


class Timer:
    """Requests the app and keeps each request's and each page visit's milliseconds."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.kinds: dict[str, list[float]] = defaultdict(list)
        self.pages: dict[str, list[float]] = defaultdict(list)

    def visit(self, page: str, requests: list[Request], count: bool = True) -> float:
        """Request a page's data in turn; return the visit's milliseconds."""
        total = 0.0
        for kind, url in requests:
            start = time.perf_counter()
            response = self.client.get(url)
            elapsed = (time.perf_counter() - start) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code} {response.text[:300]}")
            total += elapsed
            if count:
                self.kinds[kind].append(elapsed)
        if count:
            self.pages[page].append(total)
        return total


def run(client: TestClient, data: dict[str, Any],
        baseline: str | None = None) -> tuple[Timer, Timer | None]:
    """Warm up (printing the cold times), then time every page visit; with ``baseline``
    (a universe) each region page is visited a second time with it, right after, so both
    share the machine's load, and timed apart."""
    timer = Timer(client)
    other = None if baseline is None else Timer(client)
    universe = UNIVERSE["value"]
    chains, cities = data["chains"], data["cities"]
    firm_page = [("firm profile", f"/api/v1/firms/{data['firms'][0]}")]
    search_page = [("search", _url("search", q=data["queries"][0], universe=None))]
    cold = {page: timer.visit(page, requests, count=False) for page, requests in
            [*region_pages(cities[0], chains, chains[0]).items(), ("firm profile", firm_page),
             ("search", search_page)]}
    print("cold (first visit, fills caches): " + ", ".join(
        f"{page} {ms:.0f} ms" for page, ms in cold.items()))
    for i, city in enumerate(cities):
        for timed, chosen in ((timer, universe), (other, baseline)):
            if timed is None:
                continue
            UNIVERSE["value"] = chosen
            for page, requests in region_pages(city, chains, chains[i % len(chains)]).items():
                timed.visit(page, requests)
    UNIVERSE["value"] = universe
    for company_id in data["firms"]:
        timer.visit("firm profile", [("firm profile", f"/api/v1/firms/{company_id}")])
    for query in data["queries"]:
        timer.visit("search", [("search", _url("search", q=query, universe=None))])
    return timer, other


def report(title: str, rows: dict[str, list[float]], goal: float | None) -> None:
    """Print n, p50, p95 and max per row."""
    print(f"\n{title:<18} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, values in rows.items():
        mark = "" if goal is None else ("  ok" if percentile(values, 95) <= goal else
                                        "  OVER GOAL")
        print(f"{name:<18} {len(values):>5} {statistics.median(values):>8.1f} "
              f"{percentile(values, 95):>8.1f} {max(values):>8.1f}{mark}")


def main() -> None:
    """Build or reuse the store, time the requests, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=Path("/tmp/chainatlas-bench-web.duckdb"),
                        help="store file; built from the mirror when missing")
    parser.add_argument("--mirror", default=os.environ.get(MIRROR_ENV),
                        help="open-data mirror folder (default $CHAINATLAS_MIRROR)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the store first")
    parser.add_argument("--regions", type=int, default=30)
    parser.add_argument("--firms", type=int, default=50)
    parser.add_argument("--registry", default=None,
                        help="registry provinces to build the store with, e.g. 河北")
    parser.add_argument("--universe", default=None, choices=["listed", "registry", "all"],
                        help="universe sent with every analysis request (default: none)")
    parser.add_argument("--baseline", default=None, choices=["listed", "registry", "all"],
                        help="also time every region page with this universe, in the same "
                             "run (e.g. listed: the work before registry firms counted)")
    args = parser.parse_args()
    ensure_store(args.db, args.mirror, args.rebuild, args.registry)
    UNIVERSE["value"] = args.universe
    data = samples(args.db, args.regions, args.firms)
    print(f"{len(data['cities'])} cities, {len(data['chains'])} chains, "
          f"{len(data['firms'])} firms, {len(data['queries'])} search queries; "
          f"universe {args.universe or 'default'}; registry firms "
          f"{data['registry_firms']:,}")
    # Not entered as a context manager: NiceGUI's startup wants ui.run(); the API does not.
    client = TestClient(create_app(args.db))
    start = time.perf_counter()
    warm_up()  # as 'chainatlas serve' does in the background before the first visit
    print(f"start-up warm-up (boundaries, search index): {time.perf_counter() - start:.1f} s")
    timer, baseline = run(client, data, args.baseline)
    report("request", dict(timer.kinds), GOAL_MS)
    report("page (sum)", dict(timer.pages), None)
    if data["registry_firms"]:
        report("registry goal", {k: timer.kinds[k] for k in REGISTRY_KINDS}, REGISTRY_GOAL_MS)
    if baseline is not None:
        print(f"\nbaseline: the same region pages with universe {args.baseline}, same run")
        report("request", dict(baseline.kinds), GOAL_MS)
        report("page (sum)", dict(baseline.pages), None)


if __name__ == "__main__":
    main()
