"""The project ledger: events, versions, replay, conflicts, scopes and the audit log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainatlas.errors import ConflictError, ForbiddenError, ParameterError
from chainatlas.projects import ledger, queries, scopes
from chainatlas.store import Database
from chainatlas.store.users import add_user

BASE = {"name": "华药生物疫苗产业化项目", "region_adcode": "鹿泉区", "chain_id": "biomedicine",
        "node_id": "疫苗", "agreed_wan": "1.2亿元", "investor_name": "华北制药"}


def _audit(db: Database) -> list[tuple[str, str]]:
    return [(r["action"], r["target"]) for r in
            db.rows("SELECT action, target FROM audit_log ORDER BY id")]


def test_create_cleans_every_field(mini_db: Database) -> None:
    row = ledger.create_project(mini_db, {**BASE, "planned_start_date": "2027年6月",
                                          "signed_date": "2024/3/5", "in_place_wan": "3000000元",
                                          "code": "2024-130110-27-01-000123"},
                                actor="cli:ana")
    assert row["region_adcode"] == "130110" and row["node_id"] == "bm_vaccines"
    assert row["agreed_wan"] == Decimal("12000") and row["in_place_wan"] == Decimal("300")
    assert row["planned_start_date"] == dt.date(2027, 6, 1)
    assert row["signed_date"] == dt.date(2024, 3, 5)
    assert (row["stage"], row["version"], row["owner"]) == ("lead", 1, "ana")
    assert row["lead_date"] == dt.date.today()
    assert _audit(mini_db) == [("project.create", "project:1")]


def test_bad_fields_are_named_and_nothing_is_stored(mini_db: Database) -> None:
    with pytest.raises(ParameterError) as info:
        ledger.create_project(mini_db, {**BASE, "agreed_wan": "-5", "signed_date": "2099-01-01",
                                        "node_id": "不存在的环节"}, actor="cli:ana")
    text = str(info.value)
    assert "agreed_wan" in text and "signed_date" in text and "node_id" in text
    assert mini_db.scalar("SELECT count(*) FROM projects") == 0
    assert mini_db.scalar("SELECT count(*) FROM project_events") == 0
    with pytest.raises(ParameterError, match=r"amount .* USD"):
        ledger.create_project(mini_db, {**BASE, "agreed_wan": "100万美元"}, actor="cli:ana")


def test_duplicate_codes_are_refused(mini_db: Database) -> None:
    code = "2024-130110-27-01-000123"
    ledger.create_project(mini_db, {**BASE, "code": code}, actor="cli:a")
    with pytest.raises(ParameterError, match="already project 1"):
        ledger.create_project(mini_db, {**BASE, "code": code}, actor="cli:a")


def test_moves_fill_the_stage_dates(mini_db: Database) -> None:
    pid = ledger.create_project(mini_db, BASE, actor="cli:a")["project_id"]
    day = dt.date(2025, 5, 1)
    ledger.move_project(mini_db, pid, "洽谈", actor="cli:a", expected_version=1, effective=day)
    row = ledger.move_project(mini_db, pid, "开工", actor="cli:a", expected_version=2,
                              reason="已有本地主体", effective=dt.date(2025, 6, 1))
    assert row["stage"] == "started" and row["stage_since"] == dt.date(2025, 6, 1)
    assert row["started_date"] == dt.date(2025, 6, 1) and row["signed_date"] is None
    events = ledger.project_events(mini_db, pid)
    assert [e["kind"] for e in events] == ["create", "move", "move"]
    assert events[2]["changes"]["stage"] == ["negotiating", "started"]
    assert events[2]["reason"] == "已有本地主体"


def test_a_stale_write_is_refused_with_the_other_change(mini_db: Database) -> None:
    pid = ledger.create_project(mini_db, BASE, actor="cli:a")["project_id"]
    ledger.update_project(mini_db, pid, {"in_place_wan": 500}, actor="alice",
                          expected_version=1)
    with pytest.raises(ConflictError) as info:
        ledger.update_project(mini_db, pid, {"in_place_wan": 800}, actor="bob",
                              expected_version=1)
    assert "alice" in str(info.value) and "到位资金" in str(info.value)
    assert info.value.changes[0]["changes"] == {"in_place_wan": [None, "500"]}
    assert ledger.get_project(mini_db, pid)["in_place_wan"] == Decimal("500")
    assert mini_db.scalar("SELECT count(*) FROM project_events") == 2


def test_an_ended_project_stays_ended(mini_db: Database) -> None:
    pid = ledger.create_project(mini_db, BASE, actor="cli:a")["project_id"]
    ledger.pause_project(mini_db, pid, actor="cli:a", expected_version=1, reason="资金紧张")
    ledger.end_project(mini_db, pid, actor="cli:a", expected_version=2, reason="企业放弃")
    for call in (lambda: ledger.update_project(mini_db, pid, {"note": "x"}, actor="cli:a",
                                               expected_version=3),
                 lambda: ledger.resume_project(mini_db, pid, actor="cli:a",
                                               expected_version=3, reason="x")):
        with pytest.raises(ParameterError, match="ended"):
            call()
    assert not queries.projects_frame(mini_db).shape[0]
    assert queries.projects_frame(mini_db, queries.ProjectFilters(include_ended=True)).shape[0]


def test_changing_the_chain_drops_the_node(mini_db: Database) -> None:
    pid = ledger.create_project(mini_db, BASE, actor="cli:a")["project_id"]
    row = ledger.update_project(mini_db, pid, {"chain_id": "electronics"}, actor="cli:a",
                                expected_version=1)
    assert row["chain_id"] == "electronics" and row["node_id"] is None
    with pytest.raises(ParameterError, match="Nothing to change"):
        ledger.update_project(mini_db, pid, {"chain_id": "electronics"}, actor="cli:a",
                              expected_version=2)


def test_a_scoped_analyst_writes_in_the_scope_only(mini_db: Database) -> None:
    add_user(mini_db, "luquan", "analyst", "a-long-pass-phrase-1", actor="cli:admin")
    scopes.add_scope(mini_db, "luquan", "鹿泉区", actor="cli:admin")
    own = ledger.create_project(mini_db, BASE, actor="luquan")
    with pytest.raises(ForbiddenError, match="鹿泉区"):
        ledger.create_project(mini_db, {**BASE, "region_adcode": "桥西区"}, actor="luquan")
    other = ledger.create_project(mini_db, {**BASE, "region_adcode": "桥西区"}, actor="cli:a")
    with pytest.raises(ForbiddenError):
        ledger.update_project(mini_db, other["project_id"], {"note": "x"}, actor="luquan",
                              expected_version=1)
    with pytest.raises(ForbiddenError):  # nor move its own project out of the scope
        ledger.update_project(mini_db, own["project_id"], {"region_adcode": "桥西区"},
                              actor="luquan", expected_version=1)
    ledger.update_project(mini_db, own["project_id"], {"note": "ok"}, actor="luquan",
                          expected_version=1)


def test_a_park_scope(mini_db: Database) -> None:
    assert scopes.in_scope([{"region_adcode": "130100", "park": ""}], "130110", None)
    assert scopes.in_scope([{"region_adcode": "130000", "park": ""}], "130110", None)
    assert not scopes.in_scope([{"region_adcode": "130110", "park": "鹿泉经济开发区"}],
                               "130110", "高新区")
    assert scopes.in_scope([{"region_adcode": "130110", "park": "鹿泉经济开发区"}],
                           "130110", "鹿泉经济开发区")
    assert scopes.in_scope([], "440300", None)


_OPS = st.lists(st.one_of(
    st.tuples(st.just("move"), st.sampled_from(["洽谈", "签约", "注册", "开工", "投产",
                                                 "线索"])),
    st.tuples(st.just("update"), st.fixed_dictionaries({}, optional={
        "in_place_wan": st.decimals(0, 10**6, places=2),
        "park": st.sampled_from(["鹿泉经济开发区", "", "高新区"]),
        "note": st.text(max_size=8), "owner": st.sampled_from(["张三", "李四"])})),
    st.tuples(st.just("pause"), st.just(None)), st.tuples(st.just("resume"), st.just(None)),
    st.tuples(st.just("end"), st.just(None))), max_size=12)


def _apply(db: Database, pid: int, op: tuple[str, Any]) -> None:
    version = ledger.get_project(db, pid)["version"]
    kind, arg = op
    try:
        if kind == "move":
            ledger.move_project(db, pid, arg, actor="cli:h", expected_version=version,
                                reason="r")
        elif kind == "update":
            ledger.update_project(db, pid, arg, actor="cli:h", expected_version=version)
        else:
            getattr(ledger, f"{kind}_project")(db, pid, actor="cli:h",
                                                expected_version=version, reason="r")
    except ParameterError:
        pass  # a refused change must leave no event behind: checked by the replay


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_OPS)
def test_replaying_the_events_gives_the_row(mini_db: Database, ops: list[Any]) -> None:
    pid = ledger.create_project(mini_db, BASE, actor="cli:h")["project_id"]
    for op in ops:
        _apply(mini_db, pid, op)
    row = ledger.get_project(mini_db, pid)
    events = ledger.project_events(mini_db, pid)
    assert ledger.replay(events) == row
    assert row["version"] == len(events)
    # one audit line per stored event of this project, and no more
    assert mini_db.scalar("SELECT count(*) FROM audit_log WHERE target = ?",
                          [f"project:{pid}"]) == len(events)
