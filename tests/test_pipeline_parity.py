"""Parity: the same pipeline on DuckDB and on Spark local mode gives identical tables.

100,000 synthetic registry rows (real distributions, a known true node) run through both
engines; every output table must be equal cell for cell — 0 mismatches. The engine
differences this met, and how the SQL avoids them, are listed in
:mod:`chainatlas.pipeline.steps` and docs/scale.md: 1-based lists against 0-based arrays
(no arrays are used), ``regexp_replace`` first-match against all-matches (always ``'g'``),
``split`` taking a regex on Spark (``split_part`` instead), ``trim`` stripping U+3000 on
DuckDB only (a regex instead), ``QUALIFY`` keeping its row number on Spark (written as a
subquery), BIGINT sums widened to HUGEINT on DuckDB (cast back), ANSI casts on Spark 4
(``TRY_CAST``), engine-specific ``hash`` (``md5``), RE2 against Java regexes (no
look-around).

Skipped, with the reason, where pyspark or a Java runtime is missing or the registry
mirror is absent (`make test` installs all three: the spark extra, Debian's JRE through
scripts/install-system-deps.sh, the mirror is ../shared/data).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pandas as pd
import pytest

from chainatlas.pipeline.engines import read_output, run_duckdb
from chainatlas.pipeline.relatedness import write_relatedness
from chainatlas.pipeline.steps import KEYS
from tests.helpers import mirror_path

ROWS = 100_000
MIRROR = mirror_path()
pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("pyspark") is None,
                       reason="pyspark is not installed (pip install '.[spark]')"),
    pytest.mark.skipif(shutil.which("java") is None,
                       reason="no Java runtime (scripts/install-system-deps.sh installs it)"),
    pytest.mark.skipif(MIRROR is None, reason="no open-data mirror (CHAINATLAS_MIRROR)"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    from chainatlas.pipeline.submit import main as submit_main
    from chainatlas.pipeline.synth import synth_pools, synth_registry

    folder = tmp_path_factory.mktemp("parity")
    assert MIRROR is not None
    pools = synth_pools(MIRROR, sample_files=12)
    synth_registry(folder / "in", ROWS, pools, seed=15, files=4)
    run_duckdb(str(folder / "in"), str(folder / "duckdb"))
    write_relatedness(str(folder / "duckdb"))
    # The Spark run goes through the spark-submit entry point, on a local session, and
    # writes to a URI (file://, as a cluster writes to s3a:// or hdfs://).
    out = (folder / "spark").as_uri()
    assert submit_main(["--input", str(folder / "in"), "--out", out]) == 0
    return folder / "in", folder / "duckdb", folder / "spark"


@pytest.mark.parametrize("table", list(KEYS))
def test_every_table_is_identical(runs: tuple[Path, Path, Path], table: str) -> None:
    _, duck, spark = runs
    left, right = read_output(str(duck), table), read_output(str(spark), table)
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right) and len(left) > 0
    pd.testing.assert_frame_equal(left, right, check_dtype=False, check_exact=True)


def test_the_synthetic_truth_is_recovered(runs: tuple[Path, Path, Path]) -> None:
    source, duck, _ = runs
    truth = pd.concat([_truth(p) for p in sorted(source.glob("*.parquet"))])
    firms = read_output(str(duck), "firms")[["firm_id", "row_id"]]
    placed = read_output(str(duck), "placements")
    joined = firms.merge(truth, on="row_id").merge(placed, on="firm_id", how="left")
    right = (joined["chain_id"] == joined["true_chain_id"]) & (
        joined["node_id"] == joined["true_node_id"])
    assert len(joined) > 0.98 * ROWS  # duplicates are one firm
    assert right.mean() >= 0.95


def _truth(path: Path) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    try:
        frame: pd.DataFrame = con.execute(
            "SELECT row_id, true_chain_id, true_node_id FROM read_parquet(?)",
            [str(path)]).df()
    finally:
        con.close()
    return frame

