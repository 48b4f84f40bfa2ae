"""The lookups the web pages and the API show (chainatlas.analysis.overview), on a small store."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainatlas.analysis import overview
from chainatlas.build import build_store, refresh_derived
from chainatlas.chains.classify import classify_store
from chainatlas.chains.templates import load_templates
from chainatlas.errors import NotFoundError
from chainatlas.store import Database
from chainatlas.store.lookup import Region, chain_from_text, region_from_text
from tests.helpers import make_bundle, unpinned_bundle


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Database:
    """The small bundle's store, shared by the module (every test only reads)."""
    db = Database()
    build_store(db, unpinned_bundle(make_bundle(tmp_path_factory.mktemp("overview"))))
    return db


# -- regions ----------------------------------------------------------------------------


def test_search_regions_orders_exact_then_prefix_then_level(store: Database) -> None:
    hits = overview.search_regions(store, "石家庄")
    assert hits[0]["adcode"] == "130100" and set(hits[0]) == set(overview.REGION_FIELDS)
    hebei = overview.search_regions(store, "河北")
    assert [h["adcode"] for h in hebei[:2]] == ["130000", "120105"]  # 河北省, then 河北区
    assert overview.search_regions(store, "1301", limit=1)[0]["adcode"] == "130100"
    assert overview.search_regions(store, "  ") == overview.search_regions(store, None)


def test_search_regions_filters(store: Database) -> None:
    provinces = overview.search_regions(store, level="province", limit=100)
    assert len(provinces) == 34 and {r["level"] for r in provinces} == {"province"}
    assert [r["adcode"] for r in provinces] == sorted(r["adcode"] for r in provinces)
    cities = overview.search_regions(store, parent="130000", level="city")
    assert "石家庄市" in {r["name"] for r in cities} and {r["parent"] for r in cities} == {
        "130000"}
    assert overview.search_regions(store, "石家庄", level="district") == []
    assert len(overview.search_regions(store, limit=3)) == 3


def test_region_detail(store: Database) -> None:
    detail = overview.region_detail(store, "石家庄市")
    assert detail["adcode"] == "130100" and detail["parent_name"] == "河北省"
    assert list(detail)[:7] == list(overview.REGION_FIELDS)
    assert any(c["name"] == "长安区" for c in detail["children"])
    assert [c["adcode"] for c in detail["children"]] == sorted(
        c["adcode"] for c in detail["children"])
    province = overview.region_detail(store, region_from_text(store, "130000"))
    assert province["parent_name"] is None and province["parent"] is None
    with pytest.raises(NotFoundError):
        overview.region_detail(store, "无此地方")


def test_region_choices_put_provinces_first(store: Database) -> None:
    choices = overview.region_choices(store)
    levels = [c["level"] for c in choices]
    assert levels == sorted(levels, key=["province", "city", "district"].index)
    by_code = {c["adcode"]: c for c in choices}
    assert by_code["130000"]["parent_name"] is None
    assert by_code["130100"]["parent_name"] == "河北省"
    assert by_code["130102"]["parent_name"] == "石家庄市"


def test_region_lookups(store: Database) -> None:
    found = overview.region_by_adcode(store, "130100")
    assert isinstance(found, Region) and found.name == "石家庄市"
    assert overview.region_by_adcode(store, "13") is None  # exact adcodes only
    first = overview.first_region(store)
    assert first is not None and first.adcode == "110000"
    hebei = overview.province_named(store, "河北省")
    assert hebei is not None and hebei.level == "province"
    assert overview.province_named(store, "石家庄市") is None  # a city, not a province
    assert overview.first_region(Database()) is None


# -- chains -----------------------------------------------------------------------------


def test_chain_summaries(store: Database) -> None:
    chains = {c["chain_id"]: c for c in overview.chain_summaries(store)}
    assert list(chains) == sorted(chains)
    bio = chains["biomedicine"]
    assert bio["name_zh"] == "生物医药" and bio["nodes"] > bio["leaves"] > 0
    assert bio["edges"] > 0 and bio["firms"] == 2  # 以岭药业 and 华北制药
    assert chains["advanced_equipment"]["firms"] == 0
    assert {"sha256", "loaded_at", "description_zh"} <= set(bio)


def test_chain_template(store: Database, tmp_path: Path) -> None:
    template = overview.chain_template(store, "生物医药")
    assert template["id"] == "biomedicine" and "path" not in template
    assert {"id", "name_zh", "stage", "parent", "keywords"} <= set(template["nodes"][0])
    template["nodes"].clear()  # the caller's copy: the cached one stays whole
    assert overview.chain_template(store, chain_from_text(store, "biomedicine"))["nodes"]
    with pytest.raises(NotFoundError, match="nochain"):
        overview.chain_template(store, "nochain")


def test_chain_template_file_gone(tmp_path: Path) -> None:
    db = Database()
    build_store(db, unpinned_bundle(make_bundle(tmp_path / "bundle")))
    db.execute("UPDATE chains SET path = ? WHERE chain_id = 'biomedicine'",
               [str(tmp_path / "gone.yaml")])
    with pytest.raises(NotFoundError, match="no longer there"):
        overview.chain_template(db, "biomedicine")


def test_chain_edges(store: Database) -> None:
    edges = overview.chain_edges(store, "生物医药")
    pairs = [(e["source"], e["target"]) for e in edges]
    assert pairs == sorted(pairs) and ("bm_api", "bm_injectables") in pairs
    assert set(edges[0]) == {"source", "target", "note_zh"}
    nodes = set(chain_from_text(store, "biomedicine").node_ids)
    assert {p for pair in pairs for p in pair} <= nodes


# -- key figures ------------------------------------------------------------------------


def test_firm_counts(store: Database) -> None:
    # five listed firms, all located; 以岭药业 and 华北制药 in 石家庄, both on biomedicine
    assert overview.firm_counts(store, "石家庄市") == {
        "listed_total": 5, "located_total": 5, "local_firms": 2, "local_listed": 2,
        "local_universe": 2, "on_chain": 2, "universe": "listed", "universe_zh": "上市企业",
        "coverage_zh": "全国 A 股上市企业", "registry_provinces": []}
    assert overview.firm_counts(store, "河北省")["local_firms"] == 2
    assert overview.firm_counts(store, "北京市")["local_firms"] == 0


def test_chain_local_firms(store: Database) -> None:
    assert overview.chain_local_firms(store, "河北省") == {"biomedicine": 2}
    assert overview.chain_local_firms(store, "北京市") == {}


def test_region_overview(store: Database) -> None:
    data = overview.region_overview(store, "130100")
    assert data["local_listed"] == 2 and data["on_chain"] == 2
    chains = {c["chain_id"]: c for c in data["chains"]}
    assert list(chains) == sorted(chains) and len(chains) == 5
    bio = chains["biomedicine"]
    assert bio["name"] == "生物医药" and bio["local_firms"] == 2
    assert set(bio["summary"]) == {"强", "弱", "缺"} and bio["summary"]["强"] > 0
    assert {leader["short_name"] for leader in bio["leaders"]} == {"以岭药业", "华北制药"}
    assert len(bio["leaders"]) <= overview.LEADERS_PER_CHAIN
    assert chains["advanced_equipment"]["local_firms"] == 0
    assert chains["advanced_equipment"]["leaders"] == []
    assert chains["advanced_equipment"]["strong_segments"] == []
    one = overview.region_overview(store, region_from_text(store, "石家庄"), leaders=1)
    assert len(next(c for c in one["chains"] if c["chain_id"] == "biomedicine")["leaders"]) == 1


def test_chain_standing_strong_segments_are_top_level(store: Database) -> None:
    region = region_from_text(store, "130100")
    chain = chain_from_text(store, "biomedicine")
    line = overview.chain_standing(store, region, chain, local_firms=2)
    roots = {n.name_zh for n in chain.nodes if n.level == 1}
    assert line["strong_segments"] and set(line["strong_segments"]) <= roots


def test_region_firms(store: Database) -> None:
    rows = overview.region_firms(store, "石家庄市")
    assert [r["company_id"] for r in rows] == ["002603.SZ", "600812.SH"]  # capital first
    assert rows[0] == {"company_id": "002603.SZ", "name": "以岭药业",
                       "full_name": "石家庄以岭药业股份有限公司", "code": "002603",
                       "city": "石家庄市", "origin": "listed"}
    assert len(overview.region_firms(store, "河北省", limit=1)) == 1
    assert overview.region_firms(store, "北京市") == []


@pytest.fixture
def registry_store(tmp_path: Path) -> Database:
    """The small bundle's store plus two registry firms of 石家庄 on biomedicine."""
    db = Database()
    build_store(db, unpinned_bundle(make_bundle(tmp_path / "bundle")))
    for cid, scope, capital in (("R1", "疫苗的研发、生产", 10.0),
                                ("R2", "维生素C原料药的生产、销售", 20.0)):
        db.execute("INSERT INTO companies (company_id, origin, short_name, full_name, "
                   "business_scope, province_adcode, city_adcode, region_adcode, "
                   "registered_capital, source_id, updated_at) VALUES (?, 'registry', ?, ?, ?, "
                   "'130000', '130100', '130100', ?, 1, now())", [cid, cid, cid, scope, capital])
    classify_store(db, load_templates())
    refresh_derived(db)
    return db


def test_key_figures_count_the_chosen_universe(registry_store: Database) -> None:
    listed = overview.firm_counts(registry_store, "石家庄市", "listed")
    everything = overview.firm_counts(registry_store, "石家庄市")  # default: all
    assert (listed["local_universe"], listed["on_chain"]) == (2, 2)
    assert (everything["universe"], everything["local_universe"], everything["on_chain"]) == (
        "all", 4, 4)
    assert everything["local_listed"] == 2 and "河北省" in everything["coverage_zh"]
    assert overview.chain_local_firms(registry_store, "河北省", "registry") == {"biomedicine": 2}
    data = overview.region_overview(registry_store, "130100", universe="registry")
    bio = next(c for c in data["chains"] if c["chain_id"] == "biomedicine")
    assert data["universe"] == "registry" and bio["local_firms"] == 2
    assert {leader["short_name"] for leader in bio["leaders"]} == {"R1", "R2"}
    assert [r["origin"] for r in overview.region_firms(registry_store, "石家庄市",
                                                       universe="registry")] == ["registry"] * 2
    summaries = {c["chain_id"]: c for c in overview.chain_summaries(registry_store, "registry")}
    assert (summaries["biomedicine"]["firms"], summaries["biomedicine"]["universe"]) == (
        2, "registry")
    assert overview.chain_summaries(registry_store)[0]["universe"] == "all"


# -- firms and industries ---------------------------------------------------------------


def test_firm_name_and_province(store: Database) -> None:
    assert overview.firm_name(store, "002603.SZ") == "以岭药业"
    assert overview.firm_province(store, "002603.SZ") == "130000"
    assert overview.firm_name(store, "以岭药业") is None  # exact ids only
    assert overview.firm_province(store, "NOPE") is None


def test_industry_codes(store: Database) -> None:
    shenwan = overview.industry_codes(store, "sw2021")
    assert {"370000", "370101"} <= shenwan
    assert "2710" in overview.industry_codes(store, "gbt2017")
    assert overview.industry_codes(store, "nothing") == set()


def test_registry_loaded() -> None:
    db = Database()
    assert not overview.registry_loaded(db)
    db.execute("INSERT INTO companies (company_id, origin, full_name, source_id, updated_at) "
               "VALUES ('R1', 'registry', '某公司', 1, now())")
    assert overview.registry_loaded(db)
