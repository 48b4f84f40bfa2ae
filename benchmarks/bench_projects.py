"""Time the project ledger (issue 13) at a large zone's scale.

A copy of the store gets a synthetic ledger: 10,000 projects (70 % in 石家庄市's districts,
the rest in other cities of the store) on the five chains' nodes, at every stage, some
paused or ended, each with 20 events (its creation, its moves to its stage, then field
changes), 200,000 events in all; the ``projects`` rows are what the events replay to
(checked on a sample). Then 200 industry targets with 36 monthly snapshots each.

Measured in one run and process (best of ``--repeat``):

- every KPI: headline figures (all, one city, one district), the breakdowns per stage,
  chain, park and region, the first page of the project table, one project's timeline,
  the target progress frame; every alert (alerts_frame). Goal: each <= 1 s.
- one write (a move with its event, row and audit line) on the 200,000-event ledger.
- the monthly report workbook and the ledger export. Goal: report <= 5 s.
- baseline: a plain count and sum over ``projects`` and a full scan of ``project_events``,
  the least any ledger figure costs.

Usage: python benchmarks/bench_projects.py [--db /tmp/bench.duckdb] [--projects 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pandas as pd
from _common import add_store_args, build_into

from chainatlas.projects import fields, ledger, queries, targets
from chainatlas.projects.stages import STAGES
from chainatlas.store import Database

EVENTS_PER_PROJECT = 20
AS_OF = dt.date(2026, 11, 30)
PARKS = ("高新技术产业开发区", "经济技术开发区", "鹿泉经济开发区", "循环化工园区", None)


def _places(db: Database) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    local = [r[0] for r in db.execute(
        "SELECT adcode FROM regions WHERE parent = '130100' AND name <> '市辖区'").fetchall()]
    other = [r[0] for r in db.execute(
        "SELECT adcode FROM regions WHERE level = 'district' AND adcode NOT LIKE '1301%' "
        "ORDER BY adcode LIMIT 300").fetchall()]
    nodes = [(r[0], r[1]) for r in db.execute(
        "SELECT chain_id, node_id FROM chain_nodes WHERE is_leaf").fetchall()]
    return local, other, nodes


def _project(rng: random.Random, pid: int, places: tuple[list[str], list[str],
             list[tuple[str, str]]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One project's row and its events, the row being what the events replay to."""
    local, other, nodes = places
    chain, node = rng.choice(nodes)
    stage_rank = min(rng.choices(range(6), weights=(30, 20, 20, 10, 15, 5))[0],
                     EVENTS_PER_PROJECT - 2)
    start = dt.datetime(2023, 1, 1) + dt.timedelta(days=rng.randrange(1000))
    row: dict[str, Any] = {name: None for name in fields.EVENT_FIELDS}
    row.update(name=f"合成项目{pid:05d}", investor_name=f"投资方{pid % 3000:04d}",
               region_adcode=rng.choice(local if rng.random() < 0.7 else other),
               park=rng.choice(PARKS), chain_id=chain, node_id=node, owner=f"专员{pid % 40}",
               agreed_wan=Decimal(rng.randrange(500, 500_000)),
               planned_year_wan=Decimal(rng.randrange(100, 50_000)), stage="lead",
               stage_since=start.date(), lead_date=start.date(), paused=False, ended=False,
               origin="import",
               planned_start_date=(start + dt.timedelta(days=rng.randrange(60, 600))).date())
    events = [_event(pid, 1, "create", start,
                     {k: (None, v) for k, v in row.items() if v is not None and v is not False})]
    at = start
    for rank in range(1, stage_rank + 1):
        at += dt.timedelta(days=rng.randrange(10, 120))
        change = {"stage": (row["stage"], STAGES[rank]), "stage_since": (row["stage_since"],
                                                                         at.date())}
        date_field = fields.STAGE_DATES.get(STAGES[rank])
        if date_field:
            change[date_field] = (None, at.date())
        events.append(_event(pid, len(events) + 1, "move", at, change))
        row.update({k: new for k, (_, new) in change.items()})
    while len(events) < EVENTS_PER_PROJECT:
        at += dt.timedelta(days=rng.randrange(1, 30))
        kind, change = _later_change(rng, row, len(events) == EVENTS_PER_PROJECT - 1)
        events.append(_event(pid, len(events) + 1, kind, at, change))
        row.update({k: new for k, (_, new) in change.items()})
    row.update(project_id=pid, version=len(events), created_at=start, updated_at=at)
    return row, events


def _later_change(rng: random.Random, row: dict[str, Any],
                  last: bool) -> tuple[str, dict[str, tuple[Any, Any]]]:
    if last and rng.random() < 0.05:
        return "end", {"ended": (False, True)}
    if last and rng.random() < 0.05:
        return "pause", {"paused": (False, True)}
    column = rng.choice(("in_place_wan", "completed_wan"))
    new = (row[column] or Decimal(0)) + Decimal(rng.randrange(10, 2_000))
    return "update", {column: (row[column], new)}


def _event(pid: int, version: int, kind: str, at: dt.datetime,
           changes: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    return {"project_id": pid, "version": version, "kind": kind, "at": at,
            "effective": at.date(), "actor": "bench", "changes": fields.changes_json(changes),
            "reason": None}


def seed_ledger(db: Database, count: int, seed: int = 13) -> float:
    """Write ``count`` synthetic projects and their events; return the seconds taken."""
    start = time.perf_counter()
    rng = random.Random(seed)
    places = _places(db)
    rows, events = [], []
    for pid in range(1, count + 1):
        row, project_events = _project(rng, pid, places)
        rows.append(row)
        events.extend(project_events)
    frame = pd.DataFrame(rows)[list(ledger.COLUMNS)]
    for column in fields.AMOUNTS:
        frame[column] = frame[column].map(lambda v: None if v is None else float(v))
    log = pd.DataFrame(events)
    log.insert(0, "event_id", range(1, len(log) + 1))
    with db.transaction():
        db.conn.register("seed_projects", frame)
        db.conn.register("seed_events", log)
        db.execute(f"INSERT INTO projects ({', '.join(ledger.COLUMNS)}) "
                   f"SELECT {', '.join(ledger.COLUMNS)} FROM seed_projects")
        db.execute("INSERT INTO project_events SELECT * FROM seed_events")
        db.conn.unregister("seed_projects")
        db.conn.unregister("seed_events")
    return time.perf_counter() - start


def seed_targets(db: Database, count: int = 200) -> None:
    """Industry targets with 36 monthly snapshots each (so year-on-year figures exist)."""
    local, _, _ = _places(db)
    indicators = ("revenue", "project_count", "investment", "funds_in_place", "firm_count")
    for i in range(count):
        region = local[i % len(local)]
        tid = targets.add_target(
            db, name=f"目标{i}", indicator=indicators[i % len(indicators)], region=region,
            chain=("biomedicine", "electronics")[i % 2], base_year=2023,
            base_value=Decimal(100 + i), target_value=Decimal(200 + 2 * i),
            period_start=dt.date(2024, 1, 1), period_end=dt.date(2026, 12, 31), actor="bench")
        db.execute("INSERT INTO target_snapshots SELECT ?, (DATE '2023-12-01' + "
                   "INTERVAL (m) MONTH)::DATE, ? + m * ?, 'manual', 'bench', now(), NULL "
                   "FROM range(36) t(m)", [tid, 100 + i, 2.5 + i / 100])


def best(call: Callable[[], Any], repeat: int) -> float:
    """The fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def kpi_calls(db: Database) -> dict[str, Callable[[], Any]]:
    """Every figure the ledger and target pages show, by name."""
    calls: dict[str, Callable[[], Any]] = {
        "kpis_all": lambda: queries.ledger_kpis(db),
        "kpis_city": lambda: queries.ledger_kpis(db, queries.ProjectFilters(region="130100")),
        "kpis_district": lambda: queries.ledger_kpis(
            db, queries.ProjectFilters(region="130110")),
        "table_first_page": lambda: queries.projects_frame(db, limit=50),
        "table_search": lambda: queries.projects_frame(
            db, queries.ProjectFilters(search="合成项目0042")),
        "timeline_one": lambda: ledger.project_events(db, 4242),
        "target_progress": lambda: targets.target_progress(db, AS_OF),
    }
    for by in ("stage", "chain", "park", "region"):
        calls[f"breakdown_{by}"] = lambda by=by: queries.ledger_breakdown(db, by)
    try:
        from chainatlas.projects.alerts import alerts_frame
    except ImportError:
        return calls
    calls["alerts_all"] = lambda: alerts_frame(db, AS_OF)
    calls["alerts_city"] = lambda: alerts_frame(db, AS_OF, region="130100")
    return calls


def report_calls(db: Database, folder: Path) -> dict[str, Callable[[], Any]]:
    """The workbooks a leader gets (when the report module is installed)."""
    try:
        from chainatlas.projects import report
    except ImportError:
        return {}
    return {"monthly_report": lambda: report.monthly_report(db, folder / "report.xlsx",
                                                            as_of=AS_OF),
            "ledger_export": lambda: report.ledger_workbook(db, folder / "ledger.xlsx",
                                                            queries.ProjectFilters())}


def baseline(db: Database) -> float:
    """Seconds for a plain count and sum over projects plus a scan of every event."""
    start = time.perf_counter()
    db.execute("SELECT count(*), sum(agreed_wan) FROM projects").fetchall()
    db.execute("SELECT count(*), sum(length(changes)) FROM project_events").fetchall()
    return time.perf_counter() - start


def replay_mismatches(db: Database, sample: int = 50) -> int:
    """Projects of a sample whose row is not what their events replay to (must be 0)."""
    ids = [r[0] for r in db.execute("SELECT project_id FROM projects ORDER BY hash(project_id) "
                                    "LIMIT ?", [sample]).fetchall()]
    return sum(ledger.replay(ledger.project_events(db, pid)) != ledger.get_project(db, pid)
               for pid in ids)


def one_write(db: Database) -> float:
    """Seconds for one move (event, row rewrite and audit line in one transaction)."""
    pid = int(db.scalar("SELECT min(project_id) FROM projects WHERE stage = 'lead' "
                        "AND NOT paused AND NOT ended"))
    version = int(ledger.get_project(db, pid)["version"])
    start = time.perf_counter()
    ledger.move_project(db, pid, "negotiating", actor="bench", expected_version=version)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_store_args(parser)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    source = Path(args.db)
    if not source.exists() or args.rebuild:
        build_into(source, args.mirror)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.duckdb"
        shutil.copy(source, path)
        with Database(path) as db:
            figures = run(db, args.projects, args.repeat, Path(tmp))
    print(json.dumps(figures, ensure_ascii=False, indent=2))


def run(db: Database, count: int, repeat: int, folder: Path) -> dict[str, Any]:
    """Seed the ledger, then time every figure, one write and the workbooks."""
    seed_s = seed_ledger(db, count)
    seed_targets(db)
    events = int(db.scalar("SELECT count(*) FROM project_events"))
    timed = {name: round(best(call, repeat), 4) for name, call in kpi_calls(db).items()}
    reports = {name: round(best(call, 1), 3) for name, call in
               report_calls(db, folder).items()}
    return {"projects": count, "events": events, "seed_s": round(seed_s, 2),
            "replay_mismatches_in_sample": replay_mismatches(db),
            "baseline_s": round(best(lambda: baseline(db), repeat), 4),
            "kpis_s": timed, "kpi_worst_s": max(timed.values()), "kpi_goal_s": 1.0,
            "one_write_s": round(one_write(db), 4),
            "reports_s": reports, "report_goal_s": 5.0}


if __name__ == "__main__":
    main()
