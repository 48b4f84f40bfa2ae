"""Run the pipeline of :mod:`chainatlas.pipeline.steps` on DuckDB or on Apache Spark.

Both engines read the same Parquet input (a folder of files, or an object-store URI the
engine can read) and write one Parquet folder per output table, rows sorted by the table's
key so that two runs can be compared file for file:

- :func:`run_duckdb` executes each step's SQL as written, in an in-memory DuckDB (or the
  connection given), with a memory limit and a spill directory so that tens of millions
  of rows fit a small machine;
- :func:`run_spark` transpiles each step to Spark SQL with sqlglot and runs it on the
  ``SparkSession`` given — any cluster's, through ``spark-submit`` — or on a local one
  (:func:`local_spark`). pyspark is imported only here, and only when Spark is used.

The reference tables (:mod:`chainatlas.pipeline.reference`) are built in Python, written
to ``<out>/_reference`` (by DuckDB, or by Spark from the driver's rows, so an object-store
output works) and read from there by either engine, so a cluster reads them like any other
input.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from chainatlas.errors import InputError, NotFoundError, ParameterError, Problem
from chainatlas.pipeline.reference import reference_frames
from chainatlas.pipeline.steps import INPUT_COLUMNS, KEYS, Step, pipeline_steps, sql_literal
from chainatlas.store.database import quiet_connect

ENGINES = ("duckdb", "spark")
#: The steps in order (for progress bars).
STEP_NAMES = tuple(step.name for step in pipeline_steps())
REFERENCE = "_reference"
#: Called after each step: (step name, seconds it took).
Progress = Callable[[str, float], None]


@dataclass
class RunReport:
    """What a run did: the engine, rows per output table, seconds per step."""

    engine: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {"engine": self.engine, "rows": self.rows, "seconds": self.seconds,
                "total_seconds": round(sum(self.seconds.values()), 3)}


def _is_uri(location: str) -> bool:
    return "://" in location


def input_glob(location: str) -> str:
    """The Parquet files of an input folder (or a file / glob / URI as given)."""
    if _is_uri(location) or location.endswith(".parquet") or "*" in location:
        return location
    folder = Path(location)
    if not folder.is_dir():
        raise InputError([Problem(location, None, None, "no such folder of Parquet files")])
    if not any(folder.rglob("*.parquet")):
        raise InputError([Problem(location, None, None, "holds no .parquet file")])
    return str(folder / "**" / "*.parquet")


def write_reference(out: str, templates: Mapping[str, Any] | None = None) -> str:
    """Write the reference tables under ``<out>/_reference``; return that folder."""
    folder = Path(out) / REFERENCE
    if folder.exists():
        shutil.rmtree(folder)
    for name, frame in reference_frames(templates).items():
        (folder / name).mkdir(parents=True)
        write_parquet(frame, str(folder / name / "part-0.parquet"))
    return str(folder)


def write_parquet(frame: pd.DataFrame, path: str) -> None:
    """Write a frame as one Parquet file through DuckDB (no pyarrow needed)."""
    con = quiet_connect()
    try:
        con.register("frame", frame)
        con.execute(f"COPY frame TO {sql_literal(path)} (FORMAT parquet)")
    finally:
        con.close()


def _check_columns(columns: list[str], location: str) -> None:
    missing = [c for c in INPUT_COLUMNS if c not in columns]
    if missing:
        raise InputError([Problem(location, None, c, "the registry input lacks this column "
                                  f"(expected {', '.join(INPUT_COLUMNS)})") for c in missing])


def _prepare_out(out: str) -> None:
    if _is_uri(out):
        return
    Path(out).mkdir(parents=True, exist_ok=True)
    for step in pipeline_steps():
        target = Path(out) / step.name
        if target.exists():
            shutil.rmtree(target)


def run_duckdb(input_location: str, out: str, *, memory_limit: str = "3GB",
               threads: int | None = None, temp_directory: str | None = None,
               progress: Progress | None = None) -> RunReport:
    """Run every step on DuckDB; write the outputs under the folder ``out``."""
    if _is_uri(out):
        raise ParameterError(f"--out {out}: the DuckDB engine writes to a folder; write "
                             "to an object store with --engine spark")
    _prepare_out(out)
    reference = write_reference(out)
    con = quiet_connect()
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = false")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        spill = temp_directory or str(Path(out) / "_spill")
        con.execute(f"SET temp_directory = {sql_literal(spill)}")
        glob = input_glob(input_location)
        # A view's definition cannot hold a bound parameter: the path is quoted instead.
        con.execute(f"CREATE VIEW registry AS SELECT * FROM read_parquet({sql_literal(glob)})")
        _check_columns([r[0] for r in con.execute("DESCRIBE registry").fetchall()],
                       input_location)
        for name in reference_frames_names(reference):
            path = sql_literal(str(Path(reference) / name / "*.parquet"))
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({path})")
        report = RunReport("duckdb")
        for step in pipeline_steps():
            started = time.perf_counter()
            con.execute(f"CREATE TEMP TABLE {step.name} AS {step.sql}")
            if step.output:
                report.rows[step.name] = _write_duckdb(con, step, out)
            report.seconds[step.name] = round(time.perf_counter() - started, 3)
            if progress:
                progress(step.name, report.seconds[step.name])
        return report
    finally:
        con.close()
        shutil.rmtree(Path(out) / "_spill", ignore_errors=True)


def reference_frames_names(reference: str) -> list[str]:
    """The reference tables written under ``reference``."""
    return sorted(p.name for p in Path(reference).iterdir() if p.is_dir())


def _write_duckdb(con: duckdb.DuckDBPyConnection, step: Step, out: str) -> int:
    keys = ", ".join(KEYS[step.name])
    target = f"{out.rstrip('/')}/{step.name}"
    if not _is_uri(out):
        Path(target).mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY (SELECT * FROM {step.name} ORDER BY {keys}) TO "
                f"{sql_literal(target + '/part-0.parquet')} (FORMAT parquet)")
    count = con.execute(f"SELECT count(*) FROM {step.name}").fetchone()
    return int(count[0]) if count else 0


def spark_sql(step: Step) -> str:
    """The step's SQL in Spark's dialect."""
    import sqlglot

    return sqlglot.transpile(step.sql, read="duckdb", write="spark")[0]


def local_spark(cores: int = 2, memory: str = "4g", app: str = "chainatlas") -> Any:
    """A local-mode SparkSession (``local[cores]``) with ANSI SQL and UTC time."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ParameterError("the Spark engine needs pyspark: pip install "
                             "'chainatlas[spark]' (and a Java 17+ runtime)") from exc
    return (SparkSession.builder.master(f"local[{cores}]").appName(app)
            .config("spark.driver.memory", memory)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(max(4, cores * 4)))
            .config("spark.ui.enabled", "false")
            .config("spark.sql.ansi.enabled", "true")
            .getOrCreate())


def active_spark() -> Any:
    """The SparkSession already running in this process (spark-submit's), or None."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    return SparkSession.getActiveSession()


def run_spark(input_location: str, out: str, *, spark: Any = None,
              progress: Progress | None = None) -> RunReport:
    """Run every step on Spark (the session given, else a local one). ``out`` may be a
    folder or any URI the session writes (``s3a://``, ``hdfs://``, ``file://``): Spark
    writes every table, the reference tables included."""
    _prepare_out(out)
    session = spark or local_spark()
    registry = session.read.parquet(_spark_input(input_location))
    _check_columns(list(registry.columns), input_location)
    registry.createOrReplaceTempView("registry")
    for name, frame in reference_frames().items():
        target = f"{out.rstrip('/')}/{REFERENCE}/{name}"
        spark_frame(session, frame).write.mode("overwrite").parquet(target)
        session.read.parquet(target).createOrReplaceTempView(name)
    report = RunReport("spark")
    for step in pipeline_steps():
        started = time.perf_counter()
        frame = session.sql(spark_sql(step))
        target = f"{out.rstrip('/')}/{step.name}"
        # Written once and read back: later steps start from the file, not from a
        # recomputation of the whole plan.
        (frame.repartition(1).sortWithinPartitions(*KEYS[step.name])
         .write.mode("overwrite").parquet(target))
        written = session.read.parquet(target)
        written.createOrReplaceTempView(step.name)
        if step.output:
            report.rows[step.name] = int(written.count())
        report.seconds[step.name] = round(time.perf_counter() - started, 3)
        if progress:
            progress(step.name, report.seconds[step.name])
    return report


#: DuckDB's types of a registered frame, as Spark DDL.
_SPARK_TYPES = {"INTEGER": "INT", "BIGINT": "BIGINT", "DOUBLE": "DOUBLE",
                "VARCHAR": "STRING", "BOOLEAN": "BOOLEAN"}


def spark_frame(session: Any, frame: pd.DataFrame) -> Any:
    """``frame`` as a Spark DataFrame with the types and values DuckDB gives it (so both
    engines read the same reference rows: null where DuckDB reads null). No pyarrow, and
    no pandas conversion inside pyspark."""
    con = quiet_connect()
    try:
        con.register("frame", frame)
        columns = con.execute("DESCRIBE frame").fetchall()
        rows = con.execute("SELECT * FROM frame").fetchall()
    finally:
        con.close()
    unknown = [f"{c[0]} {c[1]}" for c in columns if c[1] not in _SPARK_TYPES]
    if unknown:
        raise ParameterError(f"no Spark type for the columns {', '.join(unknown)}")
    schema = ", ".join(f"`{c[0]}` {_SPARK_TYPES[c[1]]}" for c in columns)
    return session.createDataFrame(rows, schema=schema)


def spark_table(session: Any, location: str) -> pd.DataFrame:
    """A small Parquet table read by Spark, as a pandas frame (collected, no pyarrow)."""
    table = session.read.parquet(location)
    return pd.DataFrame([tuple(r) for r in table.collect()], columns=table.columns)


def _spark_input(location: str) -> str:
    if _is_uri(location) or location.endswith(".parquet"):
        return location
    input_glob(location)  # the same check as DuckDB's: a folder holding Parquet files
    return location


def run_pipeline(input_location: str, out: str, engine: str = "duckdb", *,
                 progress: Progress | None = None, **options: Any) -> RunReport:
    """Run the pipeline on ``engine`` (duckdb or spark)."""
    if engine not in ENGINES:
        raise ParameterError(f"unknown engine {engine!r} (choose {' or '.join(ENGINES)})")
    runner = run_duckdb if engine == "duckdb" else run_spark
    return runner(input_location, out, progress=progress, **options)


def read_output(out: str, table: str) -> pd.DataFrame:
    """One output table, sorted by its key (for comparing runs and importing)."""
    if not _is_uri(out) and not any((Path(out) / table).glob("*.parquet")):
        raise NotFoundError(f"{out}: no {table} output (run 'chainatlas pipeline run "
                            f"--out {out}' to the end)")
    con = quiet_connect()
    try:
        frame: pd.DataFrame = con.execute("SELECT * FROM read_parquet(?)", [
            f"{out.rstrip('/')}/{table}/*.parquet"]).df()
    finally:
        con.close()
    return frame.sort_values(list(KEYS[table])).reset_index(drop=True)
