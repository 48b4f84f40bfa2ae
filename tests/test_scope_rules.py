"""Clause-aware scope placement: sellers on trade nodes, makers on producer nodes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chainatlas.chains.scope_rules import ScopeReader
from chainatlas.chains.templates import load_templates

READER = ScopeReader(load_templates())


def chains_of(scope: str, name: str | None = None) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for (chain, node), _ in READER.read(scope, name).items():
        out.setdefault(chain, set()).add(node)
    return out


def test_a_drug_seller_lands_on_drug_circulation_not_on_a_producer_node() -> None:
    got = READER.read("中成药、化学药制剂、抗生素批发")
    assert set(got) == {("biomedicine", "bm_distribution")}
    hit = got[("biomedicine", "bm_distribution")][0]
    assert hit.activity == "trade" and hit.moved_from is not None


def test_a_maker_keeps_its_producer_node() -> None:
    got = chains_of("片剂、胶囊剂生产")
    assert "biomedicine" in got and "bm_circulation" not in got["biomedicine"]


def test_any_other_goods_sold_go_to_general_commerce() -> None:
    assert chains_of("销售五金交电、电子产品") == {"commerce_logistics": {"cl_commerce"}}
    assert chains_of("日用百货、针纺织品零售")["commerce_logistics"]


def test_equipment_repair_is_an_after_market_service() -> None:
    got = chains_of("二类汽车维修")
    assert got.get("advanced_equipment") == {"ae_services"}


def test_side_lines_weigh_less_and_boilerplate_places_nobody() -> None:
    main = READER.read("主营：片剂生产；兼营：胶囊剂生产")
    hits = [h for hs in main.values() for h in hs]
    assert max(h.weight for h in hits) == 1.0 and min(h.weight for h in hits) < 0.5
    assert READER.read("依法须经批准的项目，经相关部门批准后方可开展经营活动") == {}
    assert READER.read("物业管理；房屋租赁") == {}


def test_a_firm_without_scope_is_read_from_its_name() -> None:
    got = READER.read(None, "某某县人民医院")
    assert ("biomedicine", "bm_hospitals") in got
    assert got[("biomedicine", "bm_hospitals")][0].weight < 1.0
    assert READER.read(None, None) == {} and READER.read("", "某某实业有限公司") == {}


CLAUSES = ["片剂、胶囊剂生产", "技术服务", "中成药、化学药制剂、抗生素批发", "人参茎叶提取物",
           "日用百货销售", "集成电路设计", "普通货运", "注射液、人参", "", "软件开发；技术服务"]


@given(st.lists(st.sampled_from(CLAUSES), max_size=8))
def test_one_pass_over_all_clauses_matches_each_clause_alone(clauses: list[str]) -> None:
    matcher = READER.matcher
    assert matcher.match_clauses(clauses) == [matcher.match(c) for c in clauses]
