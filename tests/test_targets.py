"""Industry targets: the pure math by hand, the writes with their audit lines, conflicts,
snapshots and the values the ledger and the placements compute."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainatlas.errors import ConflictError, NotFoundError, ParameterError
from chainatlas.projects import targets as tg
from chainatlas.store import Database
from tests.helpers import NOW, add_firm

D = dt.date
REGIONS = [("130000", "河北省", "province", None), ("130100", "石家庄市", "city", "130000"),
           ("130102", "长安区", "district", "130100"), ("130200", "唐山市", "city", "130000"),
           ("110000", "北京市", "province", None)]
NODES = [("bio_root", None), ("bio_api", "bio_root"), ("bio_leaf", "bio_api"),
         ("bio_other", "bio_root")]


def seed(db: Database) -> Database:
    """Regions and one chain (bio: root > api > leaf, root > other)."""
    for adcode, name, level, parent in REGIONS:
        db.execute("INSERT INTO regions VALUES (?, ?, ?, ?, ?, NULL, NULL, 1)",
                   [adcode, name, level, parent, adcode[:2] + "0000"])
    db.execute("INSERT INTO chains VALUES ('bio', '生物医药', 'Biomedicine', NULL, 'b.yaml', "
               "'', ?)", [NOW])
    for i, (node, parent) in enumerate(NODES):
        db.execute("INSERT INTO chain_nodes VALUES ('bio', ?, ?, ?, '上游', ?, ?, ?, ?, "
                   "'production')", [node, node, node, parent, 1 if parent is None else 2,
                                     node in ("bio_leaf", "bio_other"), i])
    return db


_PROJECT_IDS = iter(range(1, 10**6))


def add_project(db: Database, **fields: Any) -> int:
    """A projects row straight into the table (the ledger API is written elsewhere)."""
    pid = next(_PROJECT_IDS)
    row: dict[str, Any] = {
        "project_id": pid, "name": f"项目{pid}", "region_adcode": "130102",
        "chain_id": "bio", "node_id": "bio_leaf", "agreed_wan": Decimal(1000),
        "in_place_wan": Decimal(100), "stage": "signed", "stage_since": D(2025, 3, 1),
        "signed_date": D(2025, 3, 1), "origin": "test", "version": 1,
        "created_at": NOW, "updated_at": NOW} | fields
    db.execute(f"INSERT INTO projects ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
               list(row.values()))
    return pid


def audit_lines(db: Database, action: str) -> list[dict[str, Any]]:
    return db.rows("SELECT * FROM audit_log WHERE action = ? ORDER BY id", [action])


@pytest.fixture
def sdb(db: Database) -> Database:
    return seed(db)


def new_target(db: Database, **fields: Any) -> int:
    args: dict[str, Any] = {
        "name": "生物医药营收倍增", "indicator": "revenue", "region": "石家庄市",
        "chain": "bio", "base_year": 2024, "base_value": 100, "target_value": 200,
        "period_start": D(2025, 1, 1), "period_end": D(2026, 12, 31), "actor": "alice"}
    return tg.add_target(db, **(args | fields))


# --------------------------------------------------------------------------- pure math


@pytest.mark.parametrize(("as_of", "expected"), [
    (D(2024, 12, 31), 0.0), (D(2025, 1, 1), 1 / 365), (D(2025, 7, 2), 183 / 365),
    (D(2025, 12, 31), 1.0), (D(2026, 5, 1), 1.0)])
def test_time_progress_by_hand(as_of: dt.date, expected: float) -> None:
    assert tg.time_progress(D(2025, 1, 1), D(2025, 12, 31), as_of) == pytest.approx(expected)


def test_time_progress_of_a_one_day_period() -> None:
    assert tg.time_progress(D(2025, 1, 1), D(2025, 1, 1), D(2024, 12, 31)) == 0.0
    assert tg.time_progress(D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 1)) == 1.0


@given(st.dates(D(2020, 1, 1), D(2030, 1, 1)), st.integers(0, 3000),
       st.dates(D(2015, 1, 1), D(2040, 1, 1)), st.integers(1, 400))
def test_time_progress_is_a_clamped_rising_share(start: dt.date, days: int, as_of: dt.date,
                                                 step: int) -> None:
    end = start + dt.timedelta(days=days)
    now = tg.time_progress(start, end, as_of)
    later = tg.time_progress(start, end, as_of + dt.timedelta(days=step))
    assert 0.0 <= now <= later <= 1.0


@pytest.mark.parametrize(("base", "target", "current", "rate", "expected"), [
    (100, 200, 150, False, 0.5), (Decimal("100"), Decimal("200"), Decimal("250"), False, 1.5),
    (100, 200, 90, False, -0.1), (None, 50, 10, False, 0.2), (100, 100, 120, False, None),
    (100, 200, None, False, None), (None, 8, 6, True, 0.75), (5, 8, 6, True, 0.75),
    (None, 0, 6, True, None)])
def test_progress_by_hand(base: Any, target: Any, current: Any, rate: bool,
                          expected: float | None) -> None:
    got = tg.progress(base, target, current, rate=rate)
    assert got == (None if expected is None else pytest.approx(expected))


def test_growth_figures_by_hand() -> None:
    assert tg.doubling_rate(3) == pytest.approx(0.259921, abs=1e-6)
    assert tg.cagr(100, 200, 3) == pytest.approx(tg.doubling_rate(3))
    assert tg.cagr(Decimal("120"), Decimal("172.8"), 2) == pytest.approx(0.2)
    assert tg.cagr(0, 200, 3) is None
    assert tg.cagr(None, 200, 3) is None
    assert tg.cagr(100, 200, 0) is None
    assert tg.yoy(110, 100) == pytest.approx(0.1)
    assert tg.yoy(90, 100) == pytest.approx(-0.1)
    assert tg.yoy(-50, -100) == pytest.approx(0.5)
    assert tg.yoy(5, 0) is None
    assert tg.yoy(5, None) is None
    with pytest.raises(ParameterError, match="years"):
        tg.doubling_rate(0)


@given(st.floats(0.01, 1e9), st.floats(0.05, 20), st.floats(0.25, 30))
def test_cagr_compounds_back_to_the_value(base: float, ratio: float, years: float) -> None:
    value = base * ratio
    rate = tg.cagr(base, value, years)
    assert rate is not None
    assert base * (1 + rate) ** years == pytest.approx(value, rel=1e-6)


def test_plan_years_and_months() -> None:
    assert tg.plan_years(2023, D(2026, 12, 31)) == 3.0
    assert tg.plan_years(2023, D(2026, 6, 30)) == pytest.approx(2 + 181 / 365)
    assert tg.month_start("2025-03") == D(2025, 3, 1)
    assert tg.month_start(D(2025, 3, 17)) == D(2025, 3, 1)
    assert tg.month_start("2025-03-31") == D(2025, 3, 1)
    assert tg.month_end(D(2024, 2, 1)) == D(2024, 2, 29)
    with pytest.raises(ParameterError, match="month"):
        tg.month_start("三月")


def test_indicators_name_their_unit_and_label() -> None:
    assert {k: (i.label, i.unit) for k, i in tg.INDICATORS.items()} == {
        "revenue": ("营业收入", "亿元"), "project_count": ("项目数", "个"),
        "investment": ("投资额", "万元"), "funds_in_place": ("到位资金", "万元"),
        "growth_rate": ("增速", "%"), "firm_count": ("节点企业数", "家")}
    assert tg.indicator_of("到位资金").key == "funds_in_place"


# --------------------------------------------------------------------------- writes


def test_add_target_stores_it_with_one_audit_line(sdb: Database) -> None:
    tid = new_target(sdb, node="bio_api", base_value="100.5")
    row = tg.get_target(sdb, tid)
    assert (row["region_adcode"], row["chain_id"], row["node_id"], row["unit"]) == (
        "130100", "bio", "bio_api", "亿元")
    assert row["base_value"] == Decimal("100.5000") and row["version"] == 1
    lines = audit_lines(sdb, "target.add")
    assert len(lines) == 1 and lines[0]["target"] == f"target:{tid}"
    assert json.loads(lines[0]["after"])["target_value"] == "200.0000"
    frame = tg.targets_frame(sdb)
    assert frame.loc[0, "indicator_label"] == "营业收入"
    assert frame.loc[0, "region_name"] == "石家庄市"


@pytest.mark.parametrize(("fields", "field"), [
    ({"indicator": "利润"}, "indicator"), ({"target_value": "abc"}, "target_value"),
    ({"target_value": float("nan")}, "target_value"), ({"base_value": "1e20"}, "base_value"),
    ({"period_end": D(2024, 12, 1)}, "period_end"), ({"period_start": "明年"}, "period_start"),
    ({"chain": None, "node": "bio_api"}, "node"), ({"node": "没有"}, "node"),
    ({"chain": "没有"}, "chain"), ({"region": "火星市"}, "region"), ({"name": " "}, "name"),
    ({"base_year": 2030}, "base_year")])
def test_bad_values_name_their_field(sdb: Database, fields: dict[str, Any],
                                     field: str) -> None:
    with pytest.raises(ParameterError, match=field):
        new_target(sdb, **fields)
    assert sdb.scalar("SELECT count(*) FROM targets") == 0
    assert audit_lines(sdb, "target.add") == []


def test_update_bumps_the_version_and_audits_once(sdb: Database) -> None:
    tid = new_target(sdb)
    row = tg.update_target(sdb, tid, {"target_value": 240, "region": "130102"},
                           actor="bob", expected_version=1)
    assert row["version"] == 2 and row["target_value"] == Decimal(240)
    assert row["region_adcode"] == "130102"
    lines = audit_lines(sdb, "target.update")
    assert len(lines) == 1
    assert json.loads(lines[0]["before"]) == {"target_value": "200.0000",
                                              "region_adcode": "130100", "version": 1}
    # the same values again write nothing
    assert tg.update_target(sdb, tid, {"target_value": "240.0"}, actor="bob",
                            expected_version=2)["version"] == 2
    assert len(audit_lines(sdb, "target.update")) == 1


def test_a_stale_version_is_refused_with_the_other_changes(sdb: Database) -> None:
    tid = new_target(sdb)
    tg.update_target(sdb, tid, {"target_value": 240}, actor="bob", expected_version=1)
    tg.update_target(sdb, tid, {"owner": "王科长"}, actor="carol", expected_version=2)
    with pytest.raises(ConflictError) as caught:
        tg.update_target(sdb, tid, {"name": "改名"}, actor="alice", expected_version=1)
    changes = caught.value.changes
    assert [(c["actor"], c["version"], c["changes"]) for c in changes] == [
        ("bob", 2, {"target_value": ["200.0000", "240.0000"]}),
        ("carol", 3, {"owner": [None, "王科长"]})]
    assert tg.get_target(sdb, tid)["name"] == "生物医药营收倍增"
    assert len(audit_lines(sdb, "target.update")) == 2


def test_update_checks_fields(sdb: Database) -> None:
    tid = new_target(sdb, node="bio_api")
    with pytest.raises(ParameterError, match="version"):
        tg.update_target(sdb, tid, {"version": 9}, actor="bob", expected_version=1)
    with pytest.raises(ParameterError, match="period_end"):
        tg.update_target(sdb, tid, {"period_end": "2024-06-30"}, actor="bob",
                         expected_version=1)
    row = tg.update_target(sdb, tid, {"indicator": "项目数"}, actor="bob", expected_version=1)
    assert (row["indicator"], row["unit"]) == ("project_count", "个")
    with pytest.raises(NotFoundError):
        tg.update_target(sdb, 99, {"name": "x"}, actor="bob", expected_version=1)


def test_record_snapshot_replaces_a_month_and_audits_each_write(sdb: Database) -> None:
    tid = new_target(sdb)
    tg.record_snapshot(sdb, tid, D(2025, 3, 17), "130.5", actor="alice")
    tg.record_snapshot(sdb, tid, "2025-03", 131, actor="bob", note="修正")
    rows = sdb.rows("SELECT month, value, actor, note, origin FROM target_snapshots")
    assert rows == [{"month": D(2025, 3, 1), "value": Decimal(131), "actor": "bob",
                     "note": "修正", "origin": "manual"}]
    lines = audit_lines(sdb, "target.snapshot")
    assert len(lines) == 2
    assert lines[0]["before"] is None
    assert json.loads(lines[1]["before"])["value"] == "130.5000"
    with pytest.raises(ParameterError, match="value"):
        tg.record_snapshot(sdb, tid, "2025-04", "很多", actor="bob")
    with pytest.raises(NotFoundError):
        tg.record_snapshot(sdb, 42, "2025-04", 1, actor="bob")
    assert len(audit_lines(sdb, "target.snapshot")) == 2


# --------------------------------------------------------------------------- computed


def test_ledger_counts_signed_open_projects_of_the_region_chain_and_period(
        sdb: Database) -> None:
    count = new_target(sdb, indicator="project_count", base_value=0, target_value=10)
    money = new_target(sdb, indicator="investment", base_value=0, target_value=50000,
                       node="bio_api")
    funds = new_target(sdb, indicator="funds_in_place", base_value=0, target_value=9000,
                       region="河北省", chain=None)
    add_project(sdb)  # counts everywhere
    add_project(sdb, stage="producing", agreed_wan=Decimal("2500.5"), in_place_wan=None)
    add_project(sdb, region_adcode="130200")  # 唐山: only the province's
    add_project(sdb, node_id="bio_other")  # another branch of the chain
    add_project(sdb, chain_id=None, node_id=None)  # no chain: only the chainless target
    add_project(sdb, ended=True)
    add_project(sdb, stage="negotiating", signed_date=None)
    add_project(sdb, signed_date=D(2024, 12, 31))  # before the period
    add_project(sdb, signed_date=D(2025, 4, 1))  # after March
    add_project(sdb, region_adcode="110101")
    assert tg.auto_snapshots(sdb, "2025-03", actor="cli:test") == 3
    got = {r["target_id"]: r["value"] for r in sdb.rows("SELECT * FROM target_snapshots")}
    assert got == {count: Decimal(3), money: Decimal("3500.5"), funds: Decimal(400)}
    assert len(audit_lines(sdb, "target.snapshot")) == 3
    # nothing changed: nothing written; a month recorded by hand stands
    assert tg.auto_snapshots(sdb, "2025-03-20", actor="cli:test") == 0
    tg.record_snapshot(sdb, count, "2025-04", 99, actor="alice")
    assert tg.auto_snapshots(sdb, "2025-04", actor="cli:test") == 2
    assert sdb.scalar("SELECT value FROM target_snapshots WHERE target_id = ? AND "
                      "month = '2025-04-01'", [count]) == 99


def test_targets_outside_the_month_or_recorded_by_hand_are_not_computed(
        sdb: Database) -> None:
    new_target(sdb)  # revenue: recorded by hand only
    new_target(sdb, indicator="project_count", period_start=D(2026, 1, 1))
    add_project(sdb)
    assert tg.auto_snapshots(sdb, "2025-03", actor="cli:test") == 0
    with pytest.raises(ParameterError, match="indicator"):
        tg.ledger_value(sdb, tg.get_target(sdb, 1), D(2025, 3, 31))


def test_firm_count_uses_the_regional_node_counts(sdb: Database) -> None:
    tid = new_target(sdb, indicator="firm_count", node="bio_api", base_value=1,
                     target_value=5)
    for cid, city, district, node, year in [("A", "130100", "130102", "bio_leaf", 2001),
                                            ("B", "130100", "130104", "bio_api", 2024),
                                            ("C", "130200", "130202", "bio_leaf", 2001),
                                            ("E", "130100", "130102", "bio_other", 2001),
                                            ("F", "130100", "130102", "bio_leaf", 2026)]:
        add_firm(sdb, cid)
        sdb.execute("UPDATE companies SET origin = 'listed', province_adcode = '130000', "
                    "city_adcode = ?, region_adcode = ? WHERE company_id = ?",
                    [city, district, cid])
        ancestors = {"bio_leaf": ["bio_leaf", "bio_api", "bio_root"],
                     "bio_api": ["bio_api", "bio_root"], "bio_other": ["bio_other", "bio_root"]}
        for n in ancestors[node]:
            sdb.execute("INSERT INTO chain_firms VALUES ('bio', ?, ?, 0.9, ?, 'listed', ?, "
                        "'130000', ?, ?, 1.0)", [n, cid, n == node, year, city, district])
    assert tg.auto_snapshots(sdb, "2025-06", actor="cli:test") == 1
    assert sdb.scalar("SELECT value FROM target_snapshots WHERE target_id = ?", [tid]) == 2


# --------------------------------------------------------------------------- progress


def test_target_progress_by_hand(sdb: Database) -> None:
    tid = new_target(sdb)  # 100 -> 200 over 2025-2026
    rate = new_target(sdb, name="增速", indicator="growth_rate", base_value=None,
                      target_value=8)
    new_target(sdb, name="无数据")
    tg.record_snapshot(sdb, tid, "2024-06", 120, actor="a")
    tg.record_snapshot(sdb, tid, "2025-06", 150, actor="a")
    tg.record_snapshot(sdb, tid, "2025-09", 160, actor="a")  # after as_of: not seen
    tg.record_snapshot(sdb, rate, "2025-05", 6, actor="a")
    frame = tg.target_progress(sdb, D(2025, 7, 15)).set_index("target_id")
    assert list(frame.columns) == list(tg.PROGRESS_COLUMNS[1:])
    one = frame.loc[tid]
    assert (one["latest_month"], one["latest_value"], one["data_as_of"]) == (
        D(2025, 6, 1), 150.0, D(2025, 6, 30))
    assert one["progress"] == pytest.approx(0.5)
    assert one["time_progress"] == pytest.approx(181 / 730)
    assert not one["behind"]
    assert one["gap"] == pytest.approx(181 / 730 - 0.5)
    assert one["remaining"] == 50.0
    assert one["yoy"] == pytest.approx(0.25)
    assert one["required_growth"] == pytest.approx(2 ** 0.5 - 1)
    two = frame.loc[rate]
    # a rate is behind below its target, whatever the time: 6% of 8% is 25% short
    assert two["progress"] == pytest.approx(0.75) and bool(two["behind"])
    assert two["gap"] == pytest.approx(0.25)
    assert two["time_progress"] == pytest.approx(151 / 730)
    assert pd.isna(two["yoy"]) and pd.isna(two["required_growth"])
    three = frame.loc[3]
    assert pd.isna(three["progress"]) and not three["behind"]
    assert three["time_progress"] == pytest.approx(196 / 730)
