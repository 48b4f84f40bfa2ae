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


def runs_frame(db: Database) -> pd.DataFrame:
    """The imported runs, newest first: id, location, firms, placed firms, who, when."""
    return db.df("SELECT run_id, location, firms, placed, imported_by, imported_at "
                 "FROM pipeline_runs ORDER BY run_id DESC")


def node_cities(db: Database, chain_id: str, node_id: str | None = None,
                run_id: int | None = None, limit: int = 50) -> pd.DataFrame:
    """The cities of a node (of the whole chain when ``node_id`` is None) in a run, most
    firms first: firms, the city's and the nation's located firms, the node's firms
    nationally, the city's share of them, LQ, and (for a leaf node) the relatedness
    density. Ranked by firms, not LQ: a city with one firm of a rare node has a large
    LQ and says little."""
    run = latest_run(db) if run_id is None else run_id
    frame = db.df("""
WITH picked AS (
  SELECT * FROM pipeline_city_node
  WHERE run_id = ? AND chain_id = ? AND (CAST(? AS VARCHAR) IS NULL OR node_id = ?)
), city AS (
  SELECT city_adcode, CAST(sum(firms) AS BIGINT) AS firms, max(city_firms) AS city_firms,
         max(all_firms) AS all_firms, max(density) AS density
  FROM picked GROUP BY city_adcode
), ranked AS (
  SELECT c.*, CAST(sum(c.firms) OVER () AS BIGINT) AS node_firms FROM city c
)
SELECT r.city_adcode, g.name AS city_name, r.firms, r.city_firms, r.node_firms,
       r.all_firms, r.firms / r.node_firms AS share,
       (r.firms / r.city_firms) / (r.node_firms / r.all_firms) AS lq, r.density
FROM ranked r LEFT JOIN regions g ON g.adcode = r.city_adcode
ORDER BY r.firms DESC, lq DESC, r.city_adcode LIMIT ?""",
                  [run, chain_id, node_id, node_id, limit])
    if node_id is None:
        # A density is a leaf node's; a chain has none.
        frame["density"] = None
    return frame
