"""National scale: the batch pipeline on a synthetic registry, DuckDB and Spark local mode.

For each size it generates (or reuses, under --work) a synthetic registry
(``chainatlas.pipeline.synth``, distributions of the real registry, a known true node per
firm), then prints, measured in the same run:

- the baseline: a plain DuckDB scan of the same Parquet input (every row's scope read);
- DuckDB end to end (``chainatlas pipeline run``, all steps and the relatedness density)
  in a child process: wall time, firms/s, and the peak RSS of the child and everything it
  starts (sampled every 0.2 s with psutil);
- the same on Spark ``local[2]`` (the JVM included in the RSS);
- placement accuracy against the synthetic truth (firms placed on their true node over
  firms), and the cells the two engines' outputs differ in.

Goals (issue 15): 10 M firms on DuckDB <= 10 min on this 2-core machine, peak RSS <= 4 GB,
accuracy >= 0.95. ``--quick`` runs 1 M rows on both engines.

Usage: python benchmarks/bench_scale.py [--quick] [--firms 10000000] [--spark-firms N]
       [--work DIR] [--sample-files N] [--mirror DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import psutil

from chainatlas.config import MIRROR_ENV
from chainatlas.pipeline.steps import KEYS

SAMPLE_SECONDS = 0.2


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in (process, *process.children(recursive=True)):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_child(args: list[str]) -> dict[str, Any]:
    """Run ``chainatlas`` with ``args`` in a child; its JSON report, wall time, peak RSS."""
    command = [sys.executable, "-c", "from chainatlas.cli import main; main()", *args]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    watched, peak = psutil.Process(child.pid), [0]

    def sample() -> None:
        while child.poll() is None:
            try:
                peak[0] = max(peak[0], _tree_rss(watched))
            except psutil.Error:
                return
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    sampler.join()
    if child.returncode != 0:
        raise SystemExit(f"chainatlas {' '.join(args)} failed ({child.returncode})")
    report = json.loads(out)
    return {"report": report, "wall_seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(peak[0] / 2**20)}


def baseline_seconds(source: Path) -> float:
    """A plain scan of the input: every row's scope read once."""
    started = time.perf_counter()
    _query("SELECT count(*), sum(length(scope)) FROM read_parquet(?)",
           [str(source / "*.parquet")])
    return round(time.perf_counter() - started, 2)


def _query(sql: str, params: list[str]) -> tuple[Any, ...]:
    """The first row of ``sql`` on a fresh in-memory DuckDB."""
    con = duckdb.connect()
    try:
        row = con.execute(sql, params).fetchone()
    finally:
        con.close()
    return tuple(row) if row else ()


def accuracy(source: Path, out: Path) -> dict[str, Any]:
    """Firms placed on their true node, over firms (a duplicate row counts once)."""
    row = _query(
        "SELECT count(*), count(p.firm_id), "
        "count(*) FILTER (WHERE p.chain_id = t.true_chain_id AND p.node_id = t.true_node_id) "
        "FROM read_parquet(?) f JOIN read_parquet(?) t ON t.row_id = f.row_id "
        "LEFT JOIN read_parquet(?) p ON p.firm_id = f.firm_id",
        [str(out / "firms" / "*.parquet"), str(source / "*.parquet"),
         str(out / "placements" / "*.parquet")])
    firms, placed, right = (int(v) for v in row) if row else (0, 0, 0)
    return {"firms": firms, "placed": placed, "on_true_node": right,
            "accuracy": round(right / firms, 4) if firms else None}


def mismatches(left: Path, right: Path) -> dict[str, int]:
    """Rows of each output table present in one engine's output and not the other's."""
    out = {}
    for table in KEYS:
        a, b = (str(p / table / "*.parquet") for p in (left, right))
        row = _query("SELECT (SELECT count(*) FROM (SELECT * FROM read_parquet(?) EXCEPT ALL "
                     "SELECT * FROM read_parquet(?))) + (SELECT count(*) FROM (SELECT * "
                     "FROM read_parquet(?) EXCEPT ALL SELECT * FROM read_parquet(?)))",
                     [a, b, b, a])
        out[table] = int(row[0]) if row else -1
    return out


def synth(firms: int, work: Path, mirror: str, sample_files: int | None) -> Path:
    """The synthetic registry of ``firms`` rows under ``work`` (generated once)."""
    target = work / f"synth-{firms}"
    stamp = target / "_report.json"
    if not stamp.exists():
        report = run_child(["data", "synth", "--firms", str(firms), "--out", str(target),
                            "--mirror", mirror, "--json"]
                           + (["--sample-files", str(sample_files)] if sample_files else []))
        stamp.write_text(json.dumps(report), encoding="utf-8")
        print(f"synth {firms:,}: {report['wall_seconds']} s, peak {report['peak_rss_mb']} MB",
              file=sys.stderr)
    return target


def measure(firms: int, work: Path, mirror: str, sample_files: int | None,
            spark: bool) -> dict[str, Any]:
    """Every figure of one size."""
    source = synth(firms, work, mirror, sample_files)
    result: dict[str, Any] = {"firms": firms, "synth": json.loads(
        (source / "_report.json").read_text(encoding="utf-8"))["report"],
        "baseline_scan_seconds": baseline_seconds(source)}
    engines = ["duckdb", *(["spark"] if spark else [])]
    for engine in engines:
        out = work / f"run-{engine}-{firms}"
        child = run_child(["pipeline", "run", "--input", str(source), "--out", str(out),
                           "--engine", engine, "--cores", "2", "--json"]
                          + (["--memory", "3g"] if engine == "spark" else []))
        result[engine] = {"wall_seconds": child["wall_seconds"],
                          "steps_seconds": child["report"]["seconds"],
                          "peak_rss_mb": child["peak_rss_mb"],
                          "firms_per_second": round(firms / child["wall_seconds"]),
                          **accuracy(source, out)}
    if spark:
        result["mismatches"] = mismatches(work / f"run-duckdb-{firms}",
                                          work / f"run-spark-{firms}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 M rows on both engines")
    parser.add_argument("--firms", type=int, default=10_000_000)
    parser.add_argument("--spark-firms", type=int, default=None,
                        help="also run Spark at this size (default: --firms when --quick, "
                             "1 M otherwise)")
    parser.add_argument("--work", default="/tmp/chainatlas-scale")
    parser.add_argument("--sample-files", type=int, default=None,
                        help="registry files read for the distributions (default all)")
    parser.add_argument("--mirror", default=os.environ.get(MIRROR_ENV))
    args = parser.parse_args()
    if not args.mirror:
        raise SystemExit(f"set ${MIRROR_ENV} or pass --mirror (the real registry's "
                         "distributions feed the synthetic one)")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    firms = 1_000_000 if args.quick else args.firms
    spark_firms = args.spark_firms or (firms if args.quick else 1_000_000)
    figures = {"sizes": [measure(firms, work, args.mirror, args.sample_files,
                                 spark=spark_firms == firms)]}
    if spark_firms != firms:
        figures["sizes"].append(measure(spark_firms, work, args.mirror, args.sample_files,
                                        spark=True))
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
