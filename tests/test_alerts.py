"""Alerts: each kind fires past its boundary and not at it, paused and ended projects
raise none, settings override the expected days, region filters, and the benchmark size."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

from chainatlas.errors import ParameterError
from chainatlas.projects import alerts as al
from chainatlas.projects import targets as tg
from chainatlas.store import Database
from tests.test_targets import add_project, new_target, seed

D = dt.date


@pytest.fixture
def sdb(db: Database) -> Database:
    return seed(db)


def kinds(db: Database, as_of: dt.date, region: str | None = None) -> list[tuple[str, int]]:
    frame = al.alerts_frame(db, as_of, region=region)
    return sorted(zip(frame["kind"], frame["subject_id"], strict=True))


def test_stage_overdue_fires_the_day_after_the_expected_days(sdb: Database) -> None:
    pid = add_project(sdb, stage="negotiating", stage_since=D(2025, 1, 1), signed_date=None)
    assert kinds(sdb, D(2025, 1, 1) + dt.timedelta(days=180)) == []
    frame = al.alerts_frame(sdb, D(2025, 1, 1) + dt.timedelta(days=181))
    assert list(frame.columns) == list(al.ALERT_COLUMNS)
    row = frame.iloc[0]
    assert (row["kind"], row["subject"], row["subject_id"], row["days_over"],
            row["severity"]) == ("stage_overdue", "project", pid, 1, "medium")
    assert row["message"] == "洽谈阶段已停留 181 天，超过预期 180 天"
    assert al.alerts_frame(sdb, D(2026, 1, 1))["severity"].iloc[0] == "high"  # 365 >= 360


def test_signed_message_and_producing_never_overdue(sdb: Database) -> None:
    add_project(sdb, stage="signed", stage_since=D(2025, 1, 1), agreed_wan=None)
    add_project(sdb, stage="producing", stage_since=D(2020, 1, 1), agreed_wan=None)
    frame = al.alerts_frame(sdb, D(2025, 4, 6))
    assert list(frame["message"]) == ["签约阶段已停留 95 天，超过预期 60 天"]


def test_settings_override_expected_days(sdb: Database) -> None:
    add_project(sdb, stage="signed", stage_since=D(2025, 1, 1), agreed_wan=None)
    assert al.expected_days(sdb) == al.EXPECTED_DAYS
    sdb.set_setting("projects.expected_days.signed", "120")
    assert al.expected_days(sdb)["signed"] == 120
    assert kinds(sdb, D(2025, 4, 6)) == []
    pid = int(sdb.scalar("SELECT project_id FROM projects"))
    assert kinds(sdb, D(2025, 5, 2)) == [("stage_overdue", pid)]
    sdb.set_setting("projects.expected_days.signed", "很久")
    with pytest.raises(ParameterError, match=r"projects\.expected_days\.signed"):
        al.expected_days(sdb)
    sdb.set_setting("projects.expected_days.signed", "30")
    sdb.set_setting("projects.expected_days.producing", "30")
    with pytest.raises(ParameterError, match="producing"):
        al.expected_days(sdb)


def test_start_overdue_at_its_boundary(sdb: Database) -> None:
    pid = add_project(sdb, stage="registered", stage_since=D(2025, 5, 1),
                      planned_start_date=D(2025, 6, 1), agreed_wan=None)
    started = add_project(sdb, stage="started", stage_since=D(2025, 5, 1),
                          planned_start_date=D(2025, 6, 1), agreed_wan=None)
    assert kinds(sdb, D(2025, 6, 1)) == []
    frame = al.alerts_frame(sdb, D(2025, 6, 11))
    assert list(frame["subject_id"]) == [pid] and started not in list(frame["subject_id"])
    assert frame["message"].iloc[0] == "计划开工日期 2025-06-01 已过 10 天，仍处于注册阶段"
    assert frame["days_over"].iloc[0] == 10


def test_funds_lagging_at_its_boundary(sdb: Database) -> None:
    # 12 months after signing a quarter of the agreed amount is expected
    on_line = add_project(sdb, stage="started", stage_since=D(2024, 1, 15),
                          signed_date=D(2024, 1, 15), agreed_wan=Decimal(10000),
                          in_place_wan=Decimal(2500))
    under = add_project(sdb, stage="started", stage_since=D(2024, 1, 15),
                        signed_date=D(2024, 1, 15), agreed_wan=Decimal(10000),
                        in_place_wan=Decimal("2499"))
    add_project(sdb, stage="negotiating", stage_since=D(2025, 1, 1), signed_date=D(2024, 1, 15),
                agreed_wan=Decimal(10000), in_place_wan=None)  # not signed: no funds alert
    add_project(sdb, stage="started", stage_since=D(2024, 1, 15), signed_date=D(2024, 1, 15),
                agreed_wan=Decimal(0), in_place_wan=None)  # nothing agreed
    frame = al.alerts_frame(sdb, D(2025, 1, 15))
    funds = frame[frame["kind"] == "funds_lagging"]
    assert list(funds["subject_id"]) == [under] and on_line not in list(funds["subject_id"])
    assert funds["message"].iloc[0] == ("到位资金 2,499 万元，仅为协议投资额 10,000 万元的 "
                                        "25.0%；签约 12 个月，应不低于 25.0%")
    assert funds["severity"].iloc[0] == "medium"
    assert al.funds_expected_share(12) == 0.25
    assert al.funds_expected_share(24) == al.funds_expected_share(60) == 0.5
    assert al.funds_expected_share(-3) == 0.0


def test_paused_and_ended_projects_raise_no_alert(sdb: Database) -> None:
    for flags in ({"paused": True}, {"ended": True}):
        add_project(sdb, stage="signed", stage_since=D(2020, 1, 1),
                    planned_start_date=D(2020, 6, 1), signed_date=D(2020, 1, 1),
                    in_place_wan=None, **flags)
    assert kinds(sdb, D(2025, 1, 1)) == []
    live = add_project(sdb, stage="signed", stage_since=D(2020, 1, 1),
                       planned_start_date=D(2020, 6, 1), signed_date=D(2020, 1, 1),
                       in_place_wan=None)
    assert kinds(sdb, D(2025, 1, 1)) == [("funds_lagging", live), ("stage_overdue", live),
                                         ("start_overdue", live)]


def test_target_behind_and_region_filter(sdb: Database) -> None:
    tid = new_target(sdb)  # 100 -> 200 over 2025-2026, 石家庄市
    ahead = new_target(sdb, name="唐山", region="唐山市")
    tg.record_snapshot(sdb, tid, "2025-12", 140, actor="a")  # 40% at 50.07% time
    tg.record_snapshot(sdb, ahead, "2025-12", 160, actor="a")
    frame = al.alerts_frame(sdb, D(2026, 1, 10))
    assert list(zip(frame["kind"], frame["subject_id"], strict=True)) == [
        ("target_behind", tid)]
    row = frame.iloc[0]
    assert row["subject"] == "target" and row["severity"] == "medium"
    assert row["message"] == "营业收入完成进度 40.0%，落后于时序进度 50.0%（截至 2025-12-31）"
    assert row["days_over"] == round((365 / 730 - 0.4) * 730)
    add_project(sdb, region_adcode="130202", stage="signed", stage_since=D(2020, 1, 1),
                agreed_wan=None)
    assert [k for k, _ in kinds(sdb, D(2026, 1, 10), region="唐山市")] == ["stage_overdue"]
    assert [k for k, _ in kinds(sdb, D(2026, 1, 10), region="长安区")] == []
    assert len(kinds(sdb, D(2026, 1, 10), region="河北省")) == 2
    # before its period begins a target raises nothing
    assert [k for k, _ in kinds(sdb, D(2024, 6, 1))] == ["stage_overdue"]


def test_ten_thousand_projects_in_under_a_second(sdb: Database) -> None:
    sdb.execute("INSERT INTO projects (project_id, name, region_adcode, chain_id, stage, "
                "stage_since, planned_start_date, signed_date, agreed_wan, in_place_wan, "
                "origin, version, created_at, updated_at) "
                "SELECT i, '项目' || i, '130102', 'bio', ['lead', 'signed', 'started'][i % 3 + 1], "
                "DATE '2020-01-01' + (i % 2000)::INTEGER, DATE '2021-01-01', DATE '2020-01-01', "
                "1000, i % 700, 'bench', 1, now(), now() FROM range(1, 10001) t(i)")
    al.alerts_frame(sdb, D(2025, 6, 1))  # warm up
    start = time.perf_counter()
    frame = al.alerts_frame(sdb, D(2025, 6, 1))
    assert time.perf_counter() - start < 1.0
    assert len(frame) > 5000
