"""The step that stays in Python: the product-space density of each city around each leaf
node, from the pipeline's ``relatedness_inputs`` (the aggregated output, a few thousand
rows however large the registry).

It is the same computation the web app runs on the store
(:func:`chainatlas.recommend.relatedness.relatedness_density`, Harvard Growth Lab's
``ecomplexity``), one chain at a time: an iterative matrix method with no SQL form, and
cheap on a city x node matrix.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from chainatlas.pipeline.engines import read_output, spark_frame, spark_table, write_parquet
from chainatlas.pipeline.steps import KEYS
from chainatlas.recommend.relatedness import relatedness_density

COLUMNS = ("city_adcode", "chain_id", "node_id", "firms", "rca", "mcp", "density")


def relatedness_from_inputs(inputs: pd.DataFrame) -> pd.DataFrame:
    """City x leaf-node RCA, presence and density, per chain, from ``relatedness_inputs``."""
    out = []
    for chain_id, rows in inputs.groupby("chain_id", sort=True):
        counts = rows.pivot_table(index="city_adcode", columns="node_id", values="firms",
                                  aggfunc="sum", fill_value=0)
        density = relatedness_density(counts)
        density["chain_id"] = chain_id
        firms = rows.set_index(["city_adcode", "node_id"])["firms"]
        density["firms"] = [int(firms.get((c, n), 0)) for c, n in zip(
            density["city_adcode"], density["node_id"], strict=True)]
        out.append(density)
    if not out:
        return pd.DataFrame(columns=list(COLUMNS))
    frame = pd.concat(out, ignore_index=True)[list(COLUMNS)]
    return frame.sort_values(["city_adcode", "chain_id", "node_id"]).reset_index(drop=True)


def write_relatedness(out: str, spark: Any = None) -> int:
    """Compute the density from a run's outputs and write it as ``<out>/relatedness``;
    through the Spark session given (so ``out`` may be any URI it writes), else DuckDB."""
    folder = f"{out.rstrip('/')}/relatedness"
    if spark is not None:
        inputs = spark_table(spark, f"{out.rstrip('/')}/relatedness_inputs")
        frame = relatedness_from_inputs(
            inputs.sort_values(list(KEYS["relatedness_inputs"])).reset_index(drop=True))
        spark_frame(spark, frame).repartition(1).write.mode("overwrite").parquet(folder)
        return len(frame)
    frame = relatedness_from_inputs(read_output(out, "relatedness_inputs"))
    if "://" not in out:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True)
    write_parquet(frame, f"{folder}/part-0.parquet")
    return len(frame)
