"""A team on one server: concurrent API clients and page loads against ``chainatlas serve``.

Starts ``chainatlas serve`` as a subprocess on loopback (a free port, its own
$CHAINATLAS_HOME) on a built store (built from the mirror first when missing), then:

1. warm-up: every URL of the mix once (not counted), as the first visitors would;
2. baseline: 1 API client for ``--baseline-seconds``;
3. load: ``--clients`` concurrent API clients for ``--seconds`` over a realistic mix
   (panorama, region profile, leaders, recommended nodes and firms, map by province and
   by city, search, firm profile; several cities, two chains);
4. pages: ``--pages`` concurrent page loads, each the page's HTML and then NiceGUI's
   socket.io handshake (Engine.IO long-polling, as a browser would before upgrading),
   waiting until the server has pushed the page body (a text only the body holds);
   while ``--clients`` API clients keep going (does a page load starve the API?);
5. memory: the server's RSS (psutil) sampled every 500 of ``--rss-requests`` requests.

Every phase is bounded in count and time. Prints req/s, p50/p95/max and errors per
phase, and the goals (API: 0 errors, p95 <= 1 s; pages: 0 errors, p95 <= 3 s).

Usage: python benchmarks/bench_load.py [--db PATH] [--mirror DIR] [--clients 50]
       [--seconds 60] [--pages 20] [--rss-requests 10000] [--src DIR]
``--src DIR`` serves the ChainAtlas source tree at DIR instead (a before/after run).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import psutil
from _common import add_store_args, build_into, percentile

from chainatlas.store import Database

API_GOAL_S = 1.0
PAGE_GOAL_S = 3.0
#: Per request: longer counts as an error (a browser gives up too).
TIMEOUT_S = 30.0
#: A text each page shows only once its body is built (sent over the socket).
PAGE_BODIES = {"/": "各产业链概况", "/chain": "全景图谱", "/map": "地区排名",
               "/recommend": "环节招商建议", "/leaders": "全国链主企业", "/firm": "上市企业"}
SOCKET = "/_nicegui_ws/socket.io/"


@dataclass
class Tally:
    """Seconds of each answered request and the errors, of one phase."""

    name: str
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0

    def report(self, goal: float | None = None) -> None:
        """One line: count, rate, p50/p95/max, errors, goal."""
        if not self.seconds:
            print(f"{self.name:<26} no answers; {len(self.errors)} errors {self.errors[:3]}")
            return
        p95 = percentile(self.seconds, 95)
        rate = len(self.seconds) / self.wall if self.wall else 0.0
        verdict = "" if goal is None else (
            "  ok" if p95 <= goal and not self.errors else "  MISSES GOAL")
        print(f"{self.name:<26} n={len(self.seconds):>6} {rate:>7.1f} req/s  p50 "
              f"{statistics.median(self.seconds) * 1000:>7.0f} ms  p95 {p95 * 1000:>7.0f} ms"
              f"  max {max(self.seconds) * 1000:>7.0f} ms  errors {len(self.errors)}{verdict}")
        for error in sorted(set(self.errors))[:5]:
            print(f"    error: {error}")


# -- the workload ---------------------------------------------------------------------


def workload(db_path: Path, cities: int, firms: int) -> list[str]:
    """The API URLs of the mix (read from the store before the server holds it)."""
    # read-write: a store of an older schema is migrated, as the server would
    with Database(db_path) as db:
        places = db.rows(
            "SELECT r.adcode, r.province_adcode FROM regions r JOIN (SELECT city_adcode, "
            "count(*) AS n FROM companies WHERE origin = 'listed' GROUP BY 1) c "
            "ON c.city_adcode = r.adcode ORDER BY c.n DESC, r.adcode LIMIT ?", [cities])
        sample = db.rows(
            "SELECT company_id, short_name FROM companies WHERE origin = 'listed' AND "
            "same_as IS NULL AND short_name IS NOT NULL ORDER BY hash(company_id), "
            "company_id LIMIT ?", [firms])
    chains = ["biomedicine", "electronics"]
    urls: list[str] = []
    for i, place in enumerate(places):
        chain = chains[i % len(chains)]
        region = place["adcode"]
        urls += [_api("panorama", chain=chain, region=region),
                 _api("region-profile", chain=chain, region=region),
                 _api("leaders", chain=chain, region=region),
                 _api("recommend/nodes", chain=chain, region=region),
                 _api("recommend/firms", chain=chain, region=region),
                 _api("map", chain=chain, level="city", within=place["province_adcode"])]
    urls += [_api("map", chain=c, level="province") for c in chains]
    for firm in sample:
        urls.append("/api/v1/firms/" + quote(str(firm["company_id"]), safe=""))
        urls.append(_api("search", q=str(firm["short_name"])[:2]))
    return urls


def _api(path: str, **params: str) -> str:
    return f"/api/v1/{path}?" + urlencode(params)


# -- the server -----------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db_path: Path, port: int, home: Path, src: Path | None) -> subprocess.Popen[str]:
    """``chainatlas serve`` on loopback in a child process (its output to home/serve.log)."""
    env = {**os.environ, "CHAINATLAS_DB": str(db_path), "CHAINATLAS_HOME": str(home),
           "CHAINATLAS_SECRET": "bench-load-secret"}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    log = (home / "serve.log").open("w", encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-c", "from chainatlas.cli import main; main()", "serve",
         "--port", str(port), "--db", str(db_path)],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True)


async def wait_ready(base: str, server: subprocess.Popen[str], limit: float = 120.0) -> float:
    """Seconds until the API answers (and the boundaries, which warm-up simplifies)."""
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=5.0) as client:
        while time.perf_counter() - start < limit:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}")
            try:
                if (await client.get("/api/v1/chains")).status_code == 200 and \
                        (await client.get("/geo/china.json")).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit(f"the server did not answer within {limit:.0f} s")


# -- API clients ----------------------------------------------------------------------


async def get(client: httpx.AsyncClient, url: str, tally: Tally) -> None:
    """One timed GET; a non-200 answer or a failure is an error."""
    start = time.perf_counter()
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        tally.errors.append(f"{type(exc).__name__} {url[:60]}")
        return
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        tally.errors.append(f"HTTP {response.status_code} {url[:60]}")
        return
    tally.seconds.append(elapsed)


async def api_clients(base: str, urls: list[str], clients: int, seconds: float,
                      tally: Tally, max_requests: int | None = None,
                      each: Callable[[], Awaitable[None]] | None = None) -> None:
    """``clients`` clients, each requesting the mix in its own order, until ``seconds``
    pass (or ``max_requests`` are made); ``each`` runs every 500 requests."""
    deadline = time.perf_counter() + seconds
    made = 0

    async def one(offset: int) -> None:
        nonlocal made
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S) as client:
            i = offset
            while time.perf_counter() < deadline and (max_requests is None
                                                      or made < max_requests):
                made += 1
                if each is not None and made % 500 == 0:
                    await each()
                await get(client, urls[i % len(urls)], tally)
                i += 7  # co-prime with most mix sizes: clients walk it differently

    start = time.perf_counter()
    await asyncio.gather(*(one(k * 13) for k in range(clients)))
    tally.wall += time.perf_counter() - start  # phases run in rounds add up


# -- page loads -----------------------------------------------------------------------


_QUERY = re.compile(r"query:\s*(\{.*?\}),\s*\n", re.S)


def _packets(payload: str) -> list[str]:
    # Engine.IO 4 long-polling joins packets with the record separator
    return [p for p in payload.split("\x1e") if p]


def _texts(packet: str) -> str:
    """The decoded text of a socket.io event packet (42[...]), '' for others."""
    if not packet.startswith("42"):
        return ""
    try:
        return json.dumps(json.loads(packet[2:]), ensure_ascii=False)
    except ValueError:
        return ""


async def page_load(base: str, path: str, tally: Tally, limit: float = TIMEOUT_S) -> None:
    """GET a page, then connect its socket as a browser would and wait for the body."""
    start = time.perf_counter()
    marker = PAGE_BODIES.get(path, "")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S) as client:
            page = await client.get(path)
            if page.status_code != 200:
                tally.errors.append(f"HTTP {page.status_code} {path}")
                return
            found = _QUERY.search(page.text)
            if found is None:
                tally.errors.append(f"no socket query in {path}")
                return
            # rendered as a Python dict literal (True, single quotes), not as JSON
            query = {k: str(v).lower() if isinstance(v, bool) else str(v)
                     for k, v in ast.literal_eval(found.group(1)).items()}
            query |= {"tab_id": str(uuid.uuid4()), "document_id": str(uuid.uuid4()),
                      "EIO": "4", "transport": "polling"}
            opened = await client.get(SOCKET, params=query)
            sid = json.loads(opened.text[1:])["sid"]
            query["sid"] = sid
            await client.post(SOCKET, params=query, content="40")
            while time.perf_counter() - start < limit:
                polled = await client.get(SOCKET, params=query)
                for packet in _packets(polled.text):
                    if packet == "2":  # ping: answer as a browser does
                        await client.post(SOCKET, params=query, content="3")
                    if packet.startswith("44"):
                        tally.errors.append(f"socket refused {path}: {packet[:80]}")
                        return
                    if marker and marker in _texts(packet):
                        tally.seconds.append(time.perf_counter() - start)
                        await client.post(SOCKET, params=query, content="41")
                        return
            tally.errors.append(f"no body within {limit:.0f} s {path}")
    except (httpx.HTTPError, ValueError, KeyError, SyntaxError) as exc:
        tally.errors.append(f"{type(exc).__name__} {path}")


async def page_loads(base: str, concurrent: int, rounds: int, tally: Tally) -> None:
    """``concurrent`` visitors, each loading ``rounds`` pages in turn."""
    paths = list(PAGE_BODIES)

    async def visitor(k: int) -> None:
        for r in range(rounds):
            await page_load(base, paths[(k + r) % len(paths)], tally)

    start = time.perf_counter()
    await asyncio.gather(*(visitor(k) for k in range(concurrent)))
    tally.wall = time.perf_counter() - start


# -- the run --------------------------------------------------------------------------


async def run(args: argparse.Namespace, base: str, urls: list[str],
              server: psutil.Process) -> None:
    """Every phase in turn, printing as it goes."""
    warm = Tally("warm-up (each URL once)")
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S) as client:
        for url in dict.fromkeys(urls):
            await get(client, url, warm)
    warm.wall = time.perf_counter() - start
    warm.report()
    baseline = Tally("baseline: 1 API client")
    await api_clients(base, urls, 1, args.baseline_seconds, baseline)
    baseline.report(API_GOAL_S)
    load = Tally(f"load: {args.clients} API clients")
    await api_clients(base, urls, args.clients, args.seconds, load)
    load.report(API_GOAL_S)
    alone = Tally(f"pages: {args.pages} at once")
    await page_loads(base, args.pages, args.page_rounds, alone)
    alone.report(PAGE_GOAL_S)
    pages, beside = Tally(f"pages beside {args.clients} API"), Tally(
        f"  API beside {args.pages} pages")
    page_task = asyncio.create_task(page_loads(base, args.pages, args.page_rounds, pages))
    await api_clients(base, urls, args.clients, 1.0, beside)  # at least a second
    while not page_task.done():
        await api_clients(base, urls, args.clients, 2.0, beside)
    await page_task
    pages.report(PAGE_GOAL_S)
    beside.report(API_GOAL_S)
    await memory(args, base, urls, server)


async def memory(args: argparse.Namespace, base: str, urls: list[str],
                 server: psutil.Process) -> None:
    """The server's RSS over ``--rss-requests`` requests (20 clients, bounded in time)."""
    samples = [server.memory_info().rss / 2**20]

    async def sample() -> None:
        samples.append(server.memory_info().rss / 2**20)

    tally = Tally(f"memory: {args.rss_requests} requests")
    await api_clients(base, urls, 20, 600.0, tally, args.rss_requests, sample)
    samples.append(server.memory_info().rss / 2**20)
    tally.report()
    print(f"server RSS over {len(tally.seconds) + len(tally.errors)} requests: start "
          f"{samples[0]:.0f} MiB, end {samples[-1]:.0f} MiB, max {max(samples):.0f} MiB "
          f"({len(samples)} samples)")


def main() -> None:
    """Build or reuse the store, serve it, load it, print the figures, stop the server."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_store_args(parser)
    parser.set_defaults(db="/tmp/chainatlas-bench-load.duckdb")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--page-rounds", type=int, default=3,
                        help="pages each concurrent visitor loads in turn")
    parser.add_argument("--rss-requests", type=int, default=10_000)
    parser.add_argument("--cities", type=int, default=8)
    parser.add_argument("--firms", type=int, default=20)
    parser.add_argument("--src", type=Path, default=None,
                        help="serve the ChainAtlas source tree at this folder instead")
    args = parser.parse_args()
    db_path = Path(args.db)
    if args.rebuild or not db_path.exists():
        build_into(db_path, args.mirror)
    urls = workload(db_path, args.cities, args.firms)
    print(f"{len(urls)} API URLs ({len(set(urls))} distinct), {args.clients} clients")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="chainatlas-bench-load-") as home:
        server = start_server(db_path, port, Path(home), args.src)
        try:
            ready = asyncio.run(wait_ready(base, server))
            print(f"server ready in {ready:.1f} s (pid {server.pid})")
            asyncio.run(run(args, base, urls, psutil.Process(server.pid)))
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        lines = (Path(home) / "serve.log").read_text(encoding="utf-8").splitlines()
        failures = [i for i, line in enumerate(lines) if "Traceback" in line or "ERROR" in line]
        print(f"server log: {len(failures)} error lines")
        raised = re.compile(r"^[\s|]*([\w.]+(Error|Exception|Timeout)\b.*)")
        kinds = {m.group(1)[:200] for line in lines if (m := raised.match(line))}
        for kind in sorted(kinds)[:10]:
            print(f"    raised: {kind}")


if __name__ == "__main__":
    main()
