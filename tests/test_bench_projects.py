"""The ledger benchmark's synthetic ledger is a real one: its rows replay from its events."""

from __future__ import annotations

from chainatlas.projects import ledger, queries
from chainatlas.store import Database
from tests.helpers import load_benchmark

bp = load_benchmark("bench_projects")


def test_the_seeded_ledger_replays_and_reads(mini_db: Database) -> None:
    bp.seed_ledger(mini_db, 60)
    assert mini_db.scalar("SELECT count(*) FROM projects") == 60
    assert mini_db.scalar("SELECT count(*) FROM project_events") == 60 * bp.EVENTS_PER_PROJECT
    assert bp.replay_mismatches(mini_db, 60) == 0
    assert queries.ledger_kpis(mini_db, queries.ProjectFilters(include_ended=True))[
        "projects"] == 60
    assert bp.one_write(mini_db) >= 0
    pid = mini_db.scalar("SELECT max(project_id) FROM project_events WHERE kind = 'move'")
    assert ledger.replay(ledger.project_events(mini_db, pid)) == ledger.get_project(mini_db,
                                                                                    pid)
