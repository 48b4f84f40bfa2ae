"""Clause-aware scope placement: sellers on trade nodes, makers on producer nodes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chainatlas.chains.scope import scope_items
from chainatlas.chains.scope_rules import ScopeReader
from chainatlas.chains.signals import PLACE_THRESHOLD
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


def test_goods_named_with_a_verb_word_stay_goods() -> None:
    # 检测试纸, 治疗设备 and 集成电路 are goods: the trailing 批发、零售 governs them all.
    got = chains_of("中成药、化学原料药、早早孕检测试纸、物理治疗设备、血压计的批发、零售")
    assert got == {"biomedicine": {"bm_distribution"}}
    assert chains_of("集成电路、电子元件销售") == {"commerce_logistics": {"cl_commerce"}}


def test_a_line_in_the_tail_of_a_long_list_weighs_half() -> None:
    scope = "网络技术服务、会务服务、婚庆礼仪服务、摄影服务、打字复印服务、健康咨询服务"
    hits = READER.read(scope)[("biomedicine", "bm_health_management")]
    assert hits[0].weight == 0.5
    assert READER.read("健康咨询服务、会务服务")[("biomedicine", "bm_health_management")][
        0].weight == 1.0


def test_a_veterinary_makers_dosage_forms_are_veterinary_drugs() -> None:
    got = chains_of("粉剂、散剂、片剂、最终灭菌小容量注射剂生产", "某某动物药业有限公司")
    assert got == {"biomedicine": {"bm_vet_biologics"}}
    assert "bm_vet_biologics" not in chains_of("片剂、小容量注射剂生产", "某某制药有限公司")[
        "biomedicine"]


SECURITY = ("electronics", "el_security_video")


def test_security_technology_among_guard_services_is_guarding_not_security_equipment() -> None:
    guards = "门卫、巡逻、守护、押运、随身护卫、安全检查以及安全技术防范、安全风险评估等服务"
    assert SECURITY not in READER.read(guards, "某某保安服务有限公司")
    assert SECURITY not in READER.read("保安服务（安全技术防范、安全风险评估）")
    # security systems engineering stays 安防, and so does its seller's trade line
    assert SECURITY in READER.read("安全技术防范工程设计与施工、安全防范咨询")
    assert chains_of("保安器材、监控设备销售") == {"commerce_logistics": {"cl_commerce"}}


def test_developing_equipment_only_is_no_line_of_goods() -> None:
    network = ("electronics", "el_network_equipment")
    developed = READER.read("机电设备、通讯设备的开发；技术服务、技术培训")[network][0]
    assert developed.strength < PLACE_THRESHOLD
    assert READER.read("通讯设备的开发、生产、销售")[network][0].weight == 1.0
    advised = READER.read("电子产品、通信设备的技术开发、技术转让、咨询服务")
    assert advised[("electronics", "el_components")][0].weight == 0.5
    # a firm whose name names the chain's goods makes what it develops there
    gears = READER.read("汽车变速器及相关零部件的开发", "某某齿轮有限公司")
    assert gears[("advanced_equipment", "ae_gears_transmission")][0].weight == 1.0
    # a software line developed is the line itself
    software = READER.read("计算机软件的开发")[("electronics", "el_software")][0]
    assert software.weight == 1.0


def test_trailing_verbs_with_a_catalogue_word_govern_the_goods_before_them() -> None:
    items = scope_items("汽车安全气囊总成和模块的开发、生产、销售及技术咨询")
    assert len(items) == 1 and "produce" in items[0].activities


def test_installing_or_repairing_goods_is_not_making_them() -> None:
    assert not READER.read("通信设备的维护")
    assert not READER.read("电子产品及通信设备维修及技术服务")
    # security systems engineering and computer repair services stay where they were
    assert SECURITY in READER.read("闭路电视监控、防盗报警系统的设计、施工、维修")
    assert ("electronics", "el_it_services") in READER.read("计算机维修")
    assert chains_of("二类汽车维修") == {"advanced_equipment": {"ae_services"}}


def test_a_landscaper_s_it_lines_are_side_lines_of_a_foreign_trade() -> None:
    cloud = ("electronics", "el_cloud_ai")
    scope = "信息化基础设施建设及运营服务；大数据处理和储存服务；数据库及计算机网络服务"
    own = READER.read(scope, "某某信息技术有限公司")[cloud][0]
    landscaper = READER.read(scope, "某某园林绿化工程集团有限公司")[cloud][0]
    assert landscaper.weight == own.weight * 0.5
    # the name naming the chain's goods keeps the line whole; food and trade lines too
    named = READER.read(scope, "某某园林大数据科技有限公司")[cloud][0]
    assert named.weight == own.weight
    hotel = READER.read("中餐、西餐制售", "某某酒店有限公司")
    assert hotel
    plain = READER.read("中餐、西餐制售", "某某有限公司")
    assert {k: [h.weight for h in v] for k, v in hotel.items()} == {
        k: [h.weight for h in v] for k, v in plain.items()}
