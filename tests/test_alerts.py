"""Ledger alerts: each kind fires past its boundary and not before; paused and ended
projects raise none; a bureau's own expected days; the region filter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from chainatlas.errors import ParameterError
from chainatlas.projects import alerts, ledger, targets
from chainatlas.store import Database

D0 = dt.date(2025, 1, 1)


def _project(db: Database, stage: str = "lead", region: str = "鹿泉区",
             day: dt.date = D0, **raw: Any) -> int:
    return int(ledger.create_project(db, {"name": f"项目{stage}{len(raw)}",
                                          "region_adcode": region, **raw},
                                     actor="cli:t", stage=stage, effective=day)["project_id"])


def _kinds(db: Database, day: dt.date, region: str | None = None) -> set[tuple[str, int]]:
    frame = alerts.alerts_frame(db, day, region=region)
    return {(row.kind, row.subject_id) for row in frame.itertuples()}


def test_stage_overdue_at_its_boundary(mini_db: Database) -> None:
    pid = _project(mini_db, "signed")  # 签约: 60 days expected
    assert ("stage_overdue", pid) not in _kinds(mini_db, D0 + dt.timedelta(days=60))
    assert ("stage_overdue", pid) in _kinds(mini_db, D0 + dt.timedelta(days=61))
    frame = alerts.alerts_frame(mini_db, D0 + dt.timedelta(days=61))
    row = frame[frame["kind"] == "stage_overdue"].iloc[0]
    assert row["days_over"] == 1 and "60" in row["message"] and "签约" in row["message"]


def test_a_bureau_sets_its_own_expected_days(mini_db: Database) -> None:
    pid = _project(mini_db, "signed")
    mini_db.set_setting("projects.expected_days.signed", "30")
    assert ("stage_overdue", pid) in _kinds(mini_db, D0 + dt.timedelta(days=31))
    mini_db.set_setting("projects.expected_days.signed", "soon")
    with pytest.raises(ParameterError, match="positive number of days"):
        alerts.alerts_frame(mini_db, D0)


def test_start_overdue(mini_db: Database) -> None:
    pid = _project(mini_db, "negotiating", planned_start_date="2025-03-01")
    assert ("start_overdue", pid) not in _kinds(mini_db, dt.date(2025, 3, 1))
    assert ("start_overdue", pid) in _kinds(mini_db, dt.date(2025, 3, 2))
    ledger.move_project(mini_db, pid, "开工", actor="cli:t", expected_version=1,
                        reason="已有本地主体", effective=dt.date(2025, 3, 2))
    assert ("start_overdue", pid) not in _kinds(mini_db, dt.date(2025, 3, 3))


def test_funds_lagging_against_the_expected_share(mini_db: Database) -> None:
    # signed 2025-01-01, agreed 10000 万元; at 12 months 25 % (2500) is expected, alert below
    low = _project(mini_db, "signed", agreed_wan="10000", in_place_wan="2400",
                   signed_date="2025-01-01")
    ok = _project(mini_db, "signed", agreed_wan="10000", in_place_wan="2500",
                  signed_date="2025-01-01", note="到位正常")
    found = _kinds(mini_db, dt.date(2026, 1, 1))
    assert ("funds_lagging", low) in found and ("funds_lagging", ok) not in found


def test_paused_and_ended_projects_raise_nothing(mini_db: Database) -> None:
    paused = _project(mini_db, "signed")
    ended = _project(mini_db, "lead", note="x")
    ledger.pause_project(mini_db, paused, actor="cli:t", expected_version=1, reason="待定")
    ledger.end_project(mini_db, ended, actor="cli:t", expected_version=1, reason="放弃")
    found = _kinds(mini_db, dt.date(2026, 1, 1))
    assert not {pid for _, pid in found} & {paused, ended}


def test_region_filter(mini_db: Database) -> None:
    here = _project(mini_db, "signed")
    there = _project(mini_db, "signed", region="桥西区", note="y")
    day = dt.date(2026, 1, 1)
    assert {p for _, p in _kinds(mini_db, day, "鹿泉区")} == {here}
    assert {p for _, p in _kinds(mini_db, day, "石家庄市")} == {here, there}


def test_a_target_behind_time_progress(mini_db: Database) -> None:
    tid = targets.add_target(mini_db, name="生物医药营收三年倍增", indicator="revenue",
                             region="石家庄市", chain="biomedicine", base_year=2023,
                             base_value=Decimal(100), target_value=Decimal(200),
                             period_start=dt.date(2024, 1, 1),
                             period_end=dt.date(2026, 12, 31), actor="cli:t")
    targets.record_snapshot(mini_db, tid, dt.date(2025, 6, 1), Decimal(120), actor="cli:t")
    # half the period gone, a fifth of the way: behind
    assert ("target_behind", tid) in _kinds(mini_db, dt.date(2025, 6, 30))
    targets.record_snapshot(mini_db, tid, dt.date(2025, 6, 1), Decimal(160), actor="cli:t")
    assert ("target_behind", tid) not in _kinds(mini_db, dt.date(2025, 6, 30))
