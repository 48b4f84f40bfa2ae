"""A 10,000-row roster import, end to end, against baselines measured in the same run.

Builds a store from the open-data mirror (listed firms; ``--registry 河北`` adds that
province's registry), writes a roster of ``--rows`` registry rows of a province the store
does not hold (``--province``, default 山西; the rows any strict reader rejects are left
out, so strict mode passes) — or synthetic rows with ``--synthetic`` — into a temporary
folder (never committed), then times ``chainatlas import roster FILE`` as a user runs it (a
new process: the CLI's own code path, import and placing the firms on the chains). Each run
starts from a fresh copy of the built store:

- cold: no text model beside the store (the import trains it: the one fixed cost);
- warm: the model kept beside the store by the cold run (every later import).

Printed: wall time, rows/s, peak RSS of the import process; and, measured in the same
run, DuckDB ``read_csv`` of the same file and the store's full chain step
(``classify(full=True)``: what a reclassification of the store costs), to show the import
is not one. ``--check`` also compares the import's placements with those a full
classification gives. Goal (issue 9): a 10,000-row roster import <= 15 s end to end.

Usage: python benchmarks/bench_roster.py [--mirror DIR] [--registry 河北] [--province 山西]
       [--rows 10000] [--synthetic] [--check]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from chainatlas.build import build_store, classify
from chainatlas.sources.fetch import resolve_bundle
from chainatlas.sources.registry import HEADER, parse_registry_text
from chainatlas.sources.registry_files import province_list, registry_files, scan_mirror
from chainatlas.sources.roster_values import uscc_check_digit
from chainatlas.store import Database

GOAL_S = 15.0
# Issue kinds after which a strict roster import would refuse the file.
_WRONG = {"garbled_text", "broken_row", "shifted_fields", "no_name", "uscc_check",
          "regno_check", "bad_code"}


def build(path: Path, mirror: str, registry: str | None) -> float:
    """Build the store at ``path``; return seconds."""
    provinces = province_list(registry) if registry else ()
    scan = scan_mirror(Path(mirror), registry_files(provinces)) if provinces else None
    start = time.perf_counter()
    with Database(path) as db:
        build_store(db, resolve_bundle(mirror), registry=scan)
    return time.perf_counter() - start


def registry_rows(mirror: str, province: str, n: int) -> list[list[str]]:
    """``n`` rows of the province's registry files, year by year, without the rows a
    strict roster import rejects and without repeated codes."""
    out: list[list[str]] = []
    seen: set[str] = set()
    for local in scan_mirror(Path(mirror), registry_files([province])).found:
        text = gzip.decompress(local.local.read_bytes()).decode("utf-8")
        parsed = parse_registry_text(text, local.spec.path)
        bad = {i.line for i in parsed.issues if i.kind in _WRONG}
        reader = csv.reader(text.splitlines())
        next(reader)
        for cells in reader:
            if reader.line_num in bad or cells[1] in seen:
                continue
            seen.add(cells[1])
            out.append(cells)
            if len(out) == n:
                return out
    sys.exit(f"only {len(out):,} usable rows of {province} in the mirror")


def synthetic_rows(n: int, seed: int = 0) -> list[list[str]]:
    """``n`` invented rows in the registry's layout (valid codes, mixed scopes)."""
    rng = random.Random(seed)
    scopes = ("生产：片剂、胶囊剂", "集成电路设计、封装测试", "物业管理；房屋租赁",
              "食品销售", "机械设备制造、销售", "软件开发；信息技术咨询", "N/A")
    rows = []
    for i in range(n):
        base = f"91140100MA{i:07d}"
        rows.append([f"山西示例{i}有限公司", base + uscc_check_digit(base), "2003-05-17",
                     "有限责任公司", "N/A", f"{rng.randint(1, 5000)}(万元人民币)",
                     rng.choice(scopes), "山西", "太原", f"太原市小店区示例路{i}号"])
    return rows


def write_roster(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([list(HEADER), *rows])


def duckdb_read(path: Path) -> float:
    """The baseline: DuckDB reading the same file, every column as text."""
    start = time.perf_counter()
    duckdb.connect().execute("SELECT count(*) FROM read_csv(?, all_varchar = true)",
                             [str(path)]).fetchone()
    return time.perf_counter() - start


def cli_import(db: Path, roster: Path, home: Path) -> tuple[float, float, str]:
    """Run ``chainatlas import roster`` in a new process; (seconds, peak RSS MiB, output)."""
    cli = Path(sys.executable).with_name("chainatlas")
    env = os.environ | {"CHAINATLAS_HOME": str(home), "CHAINATLAS_DB": str(db)}
    start = time.perf_counter()
    with subprocess.Popen([str(cli), "import", "roster", str(roster), "--json"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as child:
        output = child.stdout.read() if child.stdout else ""
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if child.returncode:
        sys.exit(f"import failed:\n{output}")
    return seconds, usage.ru_maxrss / 1024, output


def placements(db: Path, prefix: str) -> list[tuple[object, ...]]:
    with Database(db, read_only=True) as store:
        return sorted(store.execute(
            "SELECT company_id, chain_id, node_id, confidence, method, evidence FROM "
            "placements WHERE starts_with(company_id, ?)", [prefix]).fetchall(), key=repr)


def compare(incremental: list[tuple[object, ...]], full: list[tuple[object, ...]]) -> None:
    """Print how the import's placements compare with a full classification's, apart for
    those the text model backs (a full run's model varies from run to run while
    ``chains.classify.firms_from_db`` leaves equal product shares in no fixed order)."""
    Rows = set[tuple[object, ...]]

    def split(rows: list[tuple[object, ...]]) -> tuple[Rows, Rows]:
        model = {r for r in rows if '"model"' in str(r[5])}
        return set(rows) - model, model

    rules_a, model_a = split(incremental)
    rules_b, model_b = split(full)
    print(f"check: rule placements identical to a full classification's: "
          f"{rules_a == rules_b} ({len(rules_a):,}); model-backed: {len(model_a & model_b):,} "
          f"identical, {len(model_a ^ model_b):,} differ")


def _firms(db: Path) -> int:
    with Database(db, read_only=True) as store:
        return int(store.scalar("SELECT count(*) FROM companies"))


def _placed_now(db: Path, base: Path) -> int:
    """Firms whose placements the import wrote: those classified after the build's run
    (a later ``classified_at``); a full reclassification would count every placed firm."""
    with Database(base, read_only=True) as store:
        built = store.scalar("SELECT max(classified_at) FROM placements")
    with Database(db, read_only=True) as store:
        return int(store.scalar("SELECT count(DISTINCT company_id) FROM placements "
                                "WHERE classified_at > ?", [built]))


def full_chain_step(db: Path) -> tuple[float, int]:
    """The store's full chain step (every firm placed again); (seconds, firms)."""
    with Database(db) as store:
        start = time.perf_counter()
        classify(store, full=True)
        seconds = time.perf_counter() - start
        return seconds, int(store.scalar("SELECT count(*) FROM companies"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirror", default=os.environ.get("CHAINATLAS_MIRROR"))
    parser.add_argument("--registry", default=None, help="registry provinces in the store")
    parser.add_argument("--province", default="山西", help="province the roster comes from")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--check", action="store_true",
                        help="compare the import's placements with a full classification")
    args = parser.parse_args()
    if not args.mirror:
        sys.exit("set --mirror or CHAINATLAS_MIRROR")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = work / "base.duckdb"
        print(f"build (listed firms{', registry ' + args.registry if args.registry else ''}):"
              f" {build(base, args.mirror, args.registry):.1f} s")
        rows = (synthetic_rows(args.rows) if args.synthetic
                else registry_rows(args.mirror, args.province, args.rows))
        roster = work / "roster.csv"
        write_roster(roster, rows)
        origin = "synthetic" if args.synthetic else f"registry rows of {args.province}"
        print(f"roster: {len(rows):,} {origin}, {roster.stat().st_size / 2**20:.1f} MiB")
        print(f"baseline: DuckDB read_csv of the file: {duckdb_read(roster):.2f} s")
        for run in ("cold", "warm"):
            db = work / f"{run}.duckdb"
            shutil.copy(base, db)
            seconds, peak, _ = cli_import(db, roster, work / "home")
            verdict = "meets" if seconds <= GOAL_S else "misses"
            print(f"import ({run} text model): {seconds:.1f} s end to end, "
                  f"{len(rows) / seconds:,.0f} rows/s, peak RSS {peak:,.0f} MiB "
                  f"({verdict} the {GOAL_S:.0f} s goal)")
            model = db.with_name(db.name + ".textmodel.npz")
            if run == "cold" and model.exists():  # absent when the rules placed every firm
                shutil.copy(model, work / "warm.duckdb.textmodel.npz")
            print(f"  firms placed by this import: {_placed_now(db, base):,} of "
                  f"{_firms(db):,} in the store")
        warm = work / "warm.duckdb"
        before = placements(warm, "USCC:") if args.check else []
        seconds, firms = full_chain_step(warm)
        print(f"baseline: the store's full chain step: {seconds:.1f} s for {firms:,} firms")
        if args.check:
            compare(before, placements(warm, "USCC:"))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this (build and baseline) process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
