"""Time ``build`` on the open data against a raw DuckDB read of the same files.

Baseline, measured in the same run and process: DuckDB ``read_json`` of every chainkg file
and of the Tushare snapshot into tables, the GB/T ``category.js`` read as text, and the SZSE
xlsx read with openpyxl (DuckDB's excel extension cannot be installed offline).
Goal: build / baseline <= 3. Usage: python benchmarks/bench_build.py [--mirror DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd

from chainatlas.build import build_store
from chainatlas.sources.fetch import FetchedFile, resolve_bundle
from chainatlas.store import Database


def raw_read(bundle: list[FetchedFile], strict: bool = False) -> float:
    """Read every file as plainly as DuckDB (or openpyxl for xlsx) can; return seconds.

    With ``strict``, the Tushare dict-of-columns JSON (a shape DuckDB reads slowly) is read
    with json + pandas instead, giving the faster, stricter baseline.
    """
    start = time.perf_counter()
    con = duckdb.connect()
    for i, f in enumerate(bundle):
        path = str(f.local)
        if path.endswith(".json") and "chainkg" in path:
            con.execute(f"CREATE TABLE t{i} AS SELECT * FROM "
                        "read_json(?, format='newline_delimited')", [path])
        elif path.endswith(".json") and strict:
            pd.DataFrame(json.loads(Path(path).read_text(encoding="utf-8")))
        elif path.endswith(".json"):
            con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_json(?)", [path])
        elif path.endswith(".xlsx"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                book = openpyxl.load_workbook(path, read_only=True, data_only=True)
                sheet = book.worksheets[0]
                sheet.reset_dimensions()
                rows = list(sheet.iter_rows(values_only=True))
                book.close()
            assert rows
        else:
            Path(path).read_text(encoding="utf-8")
    con.close()
    return time.perf_counter() - start


STEP_SECONDS: dict[str, list[float]] = {}


def build_once(bundle: list[FetchedFile], folder: Path, run: int) -> float:
    """Build a fresh store file; return seconds (and keep each step's seconds)."""
    start = time.perf_counter()
    with Database(folder / f"bench{run}.duckdb") as db:
        report = build_store(db, bundle)
    for step, seconds in report.seconds.items():
        STEP_SECONDS.setdefault(step, []).append(seconds)
    return time.perf_counter() - start


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bundle = resolve_bundle(args.mirror)
    with tempfile.TemporaryDirectory() as tmp:
        build_once(bundle, Path(tmp), -1)  # warm imports and caches for both sides
        raw_read(bundle)
        builds, raws, stricts = [], [], []
        for run in range(args.runs):
            raws.append(raw_read(bundle))
            stricts.append(raw_read(bundle, strict=True))
            builds.append(build_once(bundle, Path(tmp), run))
    b, r, s = (statistics.median(x) for x in (builds, raws, stricts))
    print(f"build, fresh store file (median of {args.runs}): {b:.3f} s (min {min(builds):.3f})")
    print(f"raw DuckDB read of the same files:       {r:.3f} s (min {min(raws):.3f})")
    print(f"stricter baseline (Tushare via json):    {s:.3f} s (min {min(stricts):.3f})")
    print(f"ratio build / raw DuckDB read:           {b / r:.2f}  (goal <= 3)")
    print(f"ratio build / stricter baseline:         {b / s:.2f}")
    ingest = sum(statistics.median(v) for k, v in STEP_SECONDS.items() if k != "chains")
    print(f"  of the build: ingest {ingest:.3f} s (ratio {ingest / r:.2f} / {ingest / s:.2f}), "
          f"chains (classification, supply graph, PageRank) "
          f"{statistics.median(STEP_SECONDS.get('chains', [0.0])):.3f} s")


if __name__ == "__main__":
    main()
