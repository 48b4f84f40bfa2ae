"""Import a pipeline run's outputs into the embedded store, and read them back.

A run at national scale lives in Parquet (a data lake); the web app reads the store. What
it needs of a run is small: the city x node figures (firms, LQ, relatedness density), a few
hundred thousand rows however many firms were placed, so that is what is imported; the
firm-level tables stay in Parquet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from chainatlas.errors import NotFoundError
from chainatlas.pipeline.engines import read_output
from chainatlas.store import Database, audit

_FIGURES = ("city_adcode", "chain_id", "node_id", "firms", "city_firms", "node_firms",
            "all_firms", "lq", "density")


def figures_from_outputs(out: str) -> pd.DataFrame:
    """A run's LQ rows with the relatedness density of leaf nodes (null elsewhere)."""
    lq = read_output(out, "lq")
    density = read_output(out, "relatedness")[["city_adcode", "chain_id", "node_id",
                                               "density"]]
    frame = lq.merge(density, on=["city_adcode", "chain_id", "node_id"], how="left")
    return frame[list(_FIGURES)]


def import_run(db: Database, out: str, *, actor: str,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """Store a run's city x node figures as a new run; return its id and row counts."""
    figures = figures_from_outputs(out)
    placed = read_output(out, "placements")
    firms = int(figures["all_firms"].max()) if len(figures) else 0
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with db.transaction():
        run_id = int(db.scalar("SELECT coalesce(max(run_id), 0) + 1 FROM pipeline_runs"))
        db.execute("INSERT INTO pipeline_runs VALUES (?, ?, ?, ?, ?, ?)",
                   [run_id, out, firms, len(placed), actor, now])
        frame = figures.assign(run_id=run_id)
        db.insert_df("pipeline_city_node", frame[["run_id", *_FIGURES]])
        audit.record(db, actor, "pipeline.import", f"run:{run_id}", None,
                     {"location": out, "rows": len(frame)})
    return {"run_id": run_id, "rows": {"city_node": len(figures), "placed_firms": len(placed)}}


def latest_run(db: Database) -> int:
    """The id of the latest imported run."""
    run = db.scalar("SELECT max(run_id) FROM pipeline_runs")
    if run is None:
        raise NotFoundError("No pipeline run imported: run 'chainatlas pipeline import OUT'.")
    return int(run)


def node_cities(db: Database, chain_id: str, node_id: str, run_id: int | None = None,
                limit: int = 50) -> pd.DataFrame:
    """The cities of a node in a run, strongest first (LQ, then firms)."""
    run = latest_run(db) if run_id is None else run_id
    return db.df("SELECT c.*, r.name AS city_name FROM pipeline_city_node c "
                 "LEFT JOIN regions r ON r.adcode = c.city_adcode "
                 "WHERE c.run_id = ? AND c.chain_id = ? AND c.node_id = ? "
                 "ORDER BY c.lq DESC, c.firms DESC, c.city_adcode LIMIT ?",
                 [run, chain_id, node_id, limit])
