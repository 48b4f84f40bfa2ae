"""Whole-registry build: mirror scan + ingest + classify + derive, against a raw read.

Builds a fresh store from the open-data mirror with the enterprise registry of the given
provinces (default all 31: ~1.1 million rows) and prints the wall time of each build
step, the peak RSS, and, measured in the same run, the baseline: DuckDB's own
``read_csv`` of the same registry files (all columns as text), with the ratio of the two.
Goals (issue 9): whole registry <= 5 min on this 2-core machine, peak RSS <= 4 GB,
ratio <= 4x.

Usage: python benchmarks/bench_registry.py [--mirror DIR] [--registry all|河北,...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import duckdb
from _common import peak_rss_mb

from chainatlas.build import build_store
from chainatlas.sources.fetch import resolve_bundle
from chainatlas.sources.registry_files import (
    province_list,
    registry_files,
    scan_mirror,
)
from chainatlas.store import Database


def raw_read_seconds(paths: list[str]) -> tuple[float, int]:
    """DuckDB reading the same files, every column as text (the baseline)."""
    start = time.perf_counter()
    con = duckdb.connect()
    rows = con.execute("SELECT count(*) FROM read_csv(?, all_varchar = true, "
                       "ignore_errors = true, strict_mode = false)", [paths]).fetchone()
    con.close()
    return time.perf_counter() - start, int(rows[0]) if rows else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirror", default=os.environ.get("CHAINATLAS_MIRROR"))
    parser.add_argument("--registry", default="all")
    args = parser.parse_args()
    if not args.mirror:
        sys.exit("set --mirror or CHAINATLAS_MIRROR")
    mirror = Path(args.mirror)
    provinces = province_list(args.registry)
    scan = scan_mirror(mirror, registry_files(provinces))
    raw_s, raw_rows = raw_read_seconds([str(f.local) for f in scan.found])
    print(f"registry files: {len(scan.found)} found, {len(scan.missing)} missing")
    print(f"baseline: DuckDB read_csv of the same files: {raw_s:.1f} s ({raw_rows:,} rows)")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        with Database(Path(folder) / "registry.duckdb") as db:
            report = build_store(db, resolve_bundle(mirror), registry=scan)
        total = time.perf_counter() - start
    print(f"build with the registry: {total:.1f} s; peak RSS {peak_rss_mb():,.0f} MiB")
    if report.registry is not None:
        print(f"  registry firms stored: {report.registry.firms_stored:,}; issues: "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(report.registry.issues.items())))
    for label, seconds in report.seconds.items():
        print(f"  step {label:20} {seconds:7.1f} s")
    print(f"ratio build / raw read: {total / raw_s:.1f}x (goal <= 4x; "
          f"time goal <= 300 s: {'MET' if total <= 300 else 'NOT MET'}; "
          f"RSS goal <= 4096 MiB: {'MET' if peak_rss_mb() <= 4096 else 'NOT MET'})")


if __name__ == "__main__":
    main()
