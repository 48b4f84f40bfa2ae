"""Business-scope reading: clauses, boilerplate, 主营/兼营 weights and activities."""

from __future__ import annotations

import pytest

from chainatlas.chains.scope import (
    PRODUCE,
    RANK_DECAY,
    SERVICE,
    TRADE,
    activities,
    main_activity,
    name_activity,
    scope_items,
    strip_boilerplate,
)


def test_boilerplate_and_licence_notes_are_dropped() -> None:
    text = ("片剂、胶囊剂生产（依法须经批准的项目，经相关部门批准后方可开展经营活动）；"
            "汽油(许可证有效期至2019年9月19日)零售")
    assert strip_boilerplate(text) == "片剂、胶囊剂生产；汽油零售"
    assert [i.text for i in scope_items("技术开发、技术咨询；销售五金交电")] == ["销售五金交电"]
    assert scope_items(None) == [] and scope_items("N") == []  # too short to be a line
    assert [i.text for i in scope_items("网络技术开发；汽车修理")] == ["汽车修理"]


def test_main_and_side_lines_are_weighted_by_rank() -> None:
    items = scope_items("主营：低压电器及元件。兼营：塑料制品；日用百货")
    assert [(i.text, i.side) for i in items] == [
        ("低压电器及元件", False), ("塑料制品", True), ("日用百货", True)]
    assert items[0].weight == 1.0
    assert items[1].weight == pytest.approx(0.5 / (1 + RANK_DECAY), abs=1e-4)
    assert items[2].weight < items[1].weight


@pytest.mark.parametrize(("text", "expected"), [
    ("生产、销售：活性炭", {PRODUCE, TRADE}), ("中成药、化学药制剂批发", {TRADE}),
    ("二类汽车维修", {SERVICE}), ("房地产开发", set()), ("生产资料销售", {TRADE}),
    ("技术开发、技术服务", set())])
def test_activities(text: str, expected: set[str]) -> None:
    assert activities(text) == expected


@pytest.mark.parametrize(("scope", "name", "expected"), [
    ("糕点、面包生产销售；兼营：日用百货", "某食品厂", PRODUCE),  # makes and sells its own
    ("中成药、抗生素批发", "某医药公司", TRADE),
    ("普通货运；货物仓储", "某运输公司", SERVICE),
    ("阀门制造；建材批发", "某阀门厂", "mixed"),
    ("主营：低压电器及元件", "某电器厂", PRODUCE),     # no verb: the name decides
    ("百货、烟酒", "某商店", TRADE),
    ("", "某实业有限公司", "unknown")])
def test_main_activity(scope: str, name: str, expected: str) -> None:
    assert main_activity(scope_items(scope), name) == expected


def test_name_activity() -> None:
    assert name_activity("某某大药房") == TRADE
    assert name_activity("某某制药厂") == PRODUCE
    assert name_activity("某某建筑公司") is None
