"""``chainatlas pipeline run|import`` and ``chainatlas data synth|registry``: the batch pipeline at
national scale (thin shells over :mod:`chainatlas.pipeline`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from chainatlas.cli_common import (
    DbOption,
    JsonOption,
    MirrorOption,
    console,
    open_store,
    print_json,
    progress_bar,
)
from chainatlas.config import mirror_from_env
from chainatlas.errors import ParameterError

pipeline_app = typer.Typer(help="The batch pipeline (registry Parquet in, placements and "
                                "city x node figures out) on DuckDB or Spark.",
                           no_args_is_help=True)


@pipeline_app.command("run")
def pipeline_run(
        input_dir: Annotated[str, typer.Option(
            "--input", help="Folder (or URI) of registry Parquet files.")],
        out: Annotated[str, typer.Option(
            "--out", help="Folder (or, with Spark, URI) to write one Parquet folder per "
            "output table into.")],
        engine: Annotated[str, typer.Option(
            "--engine", help="duckdb (embedded, default) or spark.")] = "duckdb",
        memory: Annotated[str, typer.Option(
            "--memory", help="DuckDB memory limit, or the local Spark driver's memory.")
        ] = "3GB",
        cores: Annotated[int, typer.Option(
            "--cores", help="Threads (DuckDB) or local[N] cores (Spark).")] = 2,
        master: Annotated[str | None, typer.Option(
            "--master", help="Spark master URL (default local[--cores]); under "
            "spark-submit the session it configured is used.")] = None,
        as_json: JsonOption = False) -> None:
    """Run the pipeline: normalise, cut scopes into items, place firms, count city x node,
    LQ and relatedness inputs (then the relatedness density, in Python)."""
    from chainatlas.pipeline.engines import STEP_NAMES, run_pipeline
    from chainatlas.pipeline.relatedness import write_relatedness

    options: dict[str, Any] = {}
    if engine == "duckdb":
        options = {"memory_limit": memory, "threads": cores}
    elif engine == "spark":
        options = {"spark": _spark_session(master, cores, memory)}
    with progress_bar(len(STEP_NAMES) + 1) as (bar, task):
        bar.update(task, description=f"{engine}: {STEP_NAMES[0]}")

        def tick(step: str, seconds: float) -> None:
            bar.update(task, advance=1, description=f"{engine}: {step} done ({seconds:.1f} s)")

        report = run_pipeline(input_dir, out, engine, progress=tick, **options)
        bar.update(task, description="relatedness density (Python, ecomplexity)")
        report.rows["relatedness"] = write_relatedness(out, spark=options.get("spark"))
        bar.update(task, advance=1, description="done")
    if as_json:
        print_json(report.as_dict())
        return
    table = Table("table", "rows", "seconds")
    for name, rows in report.rows.items():
        table.add_row(name, f"{rows:,}", f"{report.seconds.get(name, 0):.1f}")
    console.print(table)
    console.print(f"{engine}: {report.as_dict()['total_seconds']:.1f} s; outputs in {out}",
                  highlight=False)


def _spark_session(master: str | None, cores: int, memory: str) -> Any:
    from chainatlas.pipeline.engines import active_spark, local_spark

    session = active_spark()
    if session is not None:  # under spark-submit: the cluster's session
        return session
    if master and not master.startswith("local"):
        raise ParameterError("submit to a cluster with spark-submit (docs/scale.md); "
                             "--master takes local[N] here")
    return local_spark(cores=cores, memory=memory.lower().replace("gb", "g"))


@pipeline_app.command("import")
def pipeline_import(
        out: Annotated[str, typer.Argument(help="The --out folder of a pipeline run.")],
        db: DbOption = None, as_json: JsonOption = False) -> None:
    """Load a run's city x node figures into the store, for the web app and the CLI."""
    from chainatlas.pipeline.store import import_run
    from chainatlas.store.audit import cli_actor

    with open_store(db) as store:
        result = import_run(store, out, actor=cli_actor())
    if as_json:
        print_json(result)
        return
    console.print(f"Imported run {result['run_id']}: " + ", ".join(
        f"{k} {v:,}" for k, v in result["rows"].items()), highlight=False)


def _registry_root(mirror: Path | None) -> Path:
    """The folder holding ``registry/csv``: the mirror, else the download cache."""
    from chainatlas.config import cache_dir

    root = mirror_from_env(mirror) or cache_dir()
    if not any((root / "registry" / "csv").glob("*/*.csv*")):
        raise ParameterError(f"no registry files under {root / 'registry' / 'csv'}: set "
                             "CHAINATLAS_MIRROR or run 'chainatlas data fetch --registry "
                             "<provinces>' first")
    return root


def synth_command(
        firms: Annotated[int, typer.Option("--firms", min=1, help="Rows to generate.")],
        out: Annotated[Path, typer.Option("--out", help="Folder for the Parquet files.")],
        seed: Annotated[int, typer.Option("--seed", help="Same seed, same rows.")] = 0,
        sample_files: Annotated[int | None, typer.Option(
            "--sample-files", help="Read only this many registry files for the "
            "distributions (default all).")] = None,
        mirror: MirrorOption = None, as_json: JsonOption = False) -> None:
    """Generate a synthetic registry of any size, with a known true node per firm, from
    the real registry's distributions."""
    from chainatlas.pipeline.synth import synth_pools, synth_registry

    root = _registry_root(mirror)
    with progress_bar() as (bar, task):
        def tick(stage: str, seconds: float) -> None:
            bar.update(task, description=f"{stage} ({seconds:.1f} s)")

        pools = synth_pools(root, sample_files=sample_files, progress=tick)
        report = synth_registry(out, firms, pools, seed=seed, progress=tick)
        bar.update(task, description="done")
    if as_json:
        print_json(report.as_dict())
        return
    console.print(f"{report.rows:,} rows in {report.files} files under {out} "
                  f"({report.seconds:.1f} s)", highlight=False)


def registry_command(
        out: Annotated[Path, typer.Option("--out", help="Folder for the Parquet files.")],
        registry: Annotated[str, typer.Option(
            "--registry", help="Provinces: 河北, 河北,山西 or all.")] = "all",
        mirror: MirrorOption = None, as_json: JsonOption = False) -> None:
    """Write the real registry (CC BY-NC-SA 4.0) as the pipeline's Parquet input, cells as
    written; records that are not rows go to <out>/_rejects.jsonl with file and line."""
    from chainatlas.pipeline.registry_input import registry_input
    from chainatlas.sources.registry_files import province_list, registry_files

    provinces = province_list(registry)
    with progress_bar(len(registry_files(provinces))) as (bar, task):
        def tick(path: str, rows: int) -> None:
            bar.update(task, advance=1, description=f"{path}: {rows:,} rows")

        report = registry_input(out, provinces, mirror=mirror, progress=tick)
        bar.update(task, description="done")
    if as_json:
        print_json(report.as_dict())
        return
    console.print(f"{report.rows:,} rows from {report.files_read} files in {report.parts} "
                  f"parts under {out} ({report.seconds:.1f} s); {report.rejected_rows:,} "
                  f"records not rows (listed in {out}/_rejects.jsonl); "
                  f"{len(report.files_missing)} files missing, "
                  f"{len(report.files_skipped)} skipped", highlight=False)
