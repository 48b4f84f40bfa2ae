"""Regional profile (LQ, classes) and map data on hand-made regions (leaders:
test_leaders.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from chainatlas.analysis.mapdata import map_counts
from chainatlas.analysis.panorama import top_firms
from chainatlas.analysis.regional import (
    classify_node,
    coverage_zh,
    leader_pool,
    location_quotient,
    lq_origin,
    provinces_zh,
    region_profile,
    score_nodes,
    summarise,
)
from chainatlas.build import refresh_derived
from chainatlas.chains.classify import classify_store
from chainatlas.chains.templates import load_templates
from chainatlas.errors import ChainAtlasError, NotFoundError
from chainatlas.store import Database
from chainatlas.store.lookup import Region, region_from_text
from tests.helpers import add_firm

TEMPLATES = load_templates()
REGIONS = [("130000", "河北省", "province", None, 114.5, 38.0),
           ("130100", "石家庄市", "city", "130000", 114.5, 38.0),
           ("130200", "唐山市", "city", "130000", 118.2, 39.6),
           ("320000", "江苏省", "province", None, 118.8, 32.1),
           ("320500", "苏州市", "city", "320000", 120.6, 31.3)]
# firm, city, products, registered capital, setup year
FIRMS = [
    ("SJZ_API1", "130100", {"维生素C": 0.9}, 500.0, 2005),
    ("SJZ_API2", "130100", {"头孢菌素": 0.8}, 300.0, 2012),
    ("SJZ_TAB", "130100", {"片剂": 0.9}, 50.0, 2001),
    ("TS_VAC", "130200", {"流感疫苗": 0.9}, 80.0, 2003),
    ("SZ_API", "320500", {"维生素C": 0.9}, 900.0, 1999),
    ("SZ_TAB1", "320500", {"片剂": 0.9}, 700.0, 2000),
    ("SZ_TAB2", "320500", {"胶囊剂": 0.9}, 600.0, 2000),
    ("SZ_VAC", "320500", {"狂犬疫苗": 0.9}, 400.0, 2008),
    ("SZ_OTHER", "320500", {"房地产": 1.0}, 100.0, 2000),
    ("SZ_OTHER2", "320500", {"物业管理": 1.0}, 100.0, 2000),
]


@pytest.fixture
def region_db() -> Database:
    db = Database()
    for adcode, name, level, parent, lon, lat in REGIONS:
        db.execute("INSERT INTO regions VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                   [adcode, name, level, parent, adcode[:2] + "0000", lon, lat])
    for cid, city, products, capital, year in FIRMS:
        add_firm(db, cid, products=products)
        db.execute("UPDATE companies SET origin = 'listed', city_adcode = ?, region_adcode = ?, "
                   "province_adcode = left(?, 2) || '0000', registered_capital = ?, "
                   "setup_date = make_date(?, 1, 1) WHERE company_id = ?",
                   [city, city, city, capital, year, cid])
    classify_store(db, TEMPLATES)
    refresh_derived(db)
    return db


def _node(profile: dict[str, object], node_id: str) -> dict[str, object]:
    nodes = profile["nodes"]
    assert isinstance(nodes, list)
    return next(n for n in nodes if n["node_id"] == node_id)


def test_location_quotient_and_classes() -> None:
    assert location_quotient(2, 3, 3, 10) == pytest.approx((2 / 3) / (3 / 10))
    assert location_quotient(1, 0, 3, 10) == 0.0
    assert classify_node(0, 9.0, 0) == "缺"
    assert classify_node(2, 1.25, 0) == "强"
    assert classify_node(1, 5.0, 0) == "弱"  # one firm alone is not strong...
    assert classify_node(1, 0.5, 1) == "强"  # ...unless it is a national node leader


def test_region_profile_known_answers(region_db: Database) -> None:
    sjz = region_from_text(region_db, "石家庄")
    profile = region_profile(region_db, sjz, "biomedicine")
    assert profile["universe"] == "listed" and profile["universe_zh"] == "上市企业"
    basis = profile["lq_basis"]
    assert (basis["origin"], basis["local_total"], basis["national_total"]) == ("listed", 3, 10)
    api = _node(profile, "bm_api")
    # 2 of Shijiazhuang's 3 listed firms vs 3 of 10 nationally
    assert (api["local_firms"], api["national_firms"]) == (2, 3)
    assert api["lq"] == pytest.approx(round((2 / 3) / (3 / 10), 3))
    assert api["class"] == "强"
    assert [f["company_id"] for f in api["local_leaders"]] == ["SJZ_API1", "SJZ_API2"]
    assert _node(profile, "bm_vaccines")["class"] == "缺"
    # a node leader makes a one-firm node strong: SJZ_TAB is in the top 10 of its node
    assert _node(profile, "bm_oral_solid")["class"] == "强"


def test_province_level_profile(region_db: Database) -> None:
    hebei = region_from_text(region_db, "河北")
    profile = region_profile(region_db, hebei, "biomedicine")
    assert _node(profile, "bm_vaccines")["local_firms"] == 1  # 唐山's vaccine maker


def test_as_of_filters_later_firms(region_db: Database) -> None:
    sjz = region_from_text(region_db, "石家庄")
    profile = region_profile(region_db, sjz, "biomedicine", as_of=2010)
    assert _node(profile, "bm_api")["local_firms"] == 1  # SJZ_API2 was founded in 2012
    assert profile["lq_basis"]["local_total"] == 2


def test_map_counts(region_db: Database) -> None:
    provinces = map_counts(region_db, "biomedicine")
    assert {a["adcode"]: a["firms"] for a in provinces["areas"]} == {"320000": 4, "130000": 4}
    cities = map_counts(region_db, "生物医药", "bm_api", "city",
                        region_from_text(region_db, "河北"))
    assert cities["areas"] == [{"adcode": "130100", "name": "石家庄市", "lon": 114.5,
                                "lat": 38.0, "firms": 2, "top_firms": ["SJZ_API1", "SJZ_API2"]}]
    with pytest.raises(ChainAtlasError, match="province"):
        map_counts(region_db, "biomedicine", level="county")
    with pytest.raises(NotFoundError):
        map_counts(region_db, "biomedicine", "nope")


# ----------------------------------------------------------------- pure scoring steps


def _counts(rows: list[tuple[str, bool, int, int, int, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["node_id", "is_leaf", "lq_national", "local_firms",
                                        "lq_local", "local_node_leaders"])
    return frame.assign(national_firms=frame["lq_national"])


def test_score_nodes_by_hand() -> None:
    # L = 4 local listed firms of N = 100 nationally.
    counts = _counts([("a", True, 10, 2, 2, 0),   # (2/4) / (10/100) = 5.0 -> 强
                      ("b", True, 50, 3, 1, 0),   # (1/4) / (50/100) = 0.5 -> 弱
                      ("c", True, 20, 0, 0, 0),   # no local firm -> 缺
                      ("d", True, 40, 1, 1, 1),   # LQ 0.625 but a node leader -> 强
                      ("e", False, 5, 1, 1, 0)])  # LQ 5.0 with one firm -> 弱
    scored = score_nodes(counts, local_total=4, national_total=100)
    assert list(scored["lq"]) == [5.0, 0.5, 0.0, 0.625, 5.0]
    assert list(scored["class"]) == ["强", "弱", "缺", "强", "弱"]
    assert summarise(scored.to_dict("records")) == {"强": 2, "弱": 1, "缺": 1}


def test_top_firms_counts_and_keeps_order() -> None:
    # ranked rows as the panorama query returns them: k national, k_local among local ones
    firms = pd.DataFrame({
        "node_id": ["n1", "n1", "n1", "n2"], "company_id": ["x", "y", "z", "x"],
        "short_name": ["X", "Y", "Z", "X"], "origin": ["listed", "listed", "registry", "listed"],
        "registered_capital": [9.0, 5.0, None, 9.0],
        "employees": [None, 1.0, 2.0, None], "confidence": [0.9, 0.8, 0.7, 0.5],
        "is_local": [False, True, True, False], "k": [1, 2, 3, 1], "k_local": [1, 1, 2, 1],
        "national": [3, 3, 3, 1], "local": [2, 2, 2, 0]})
    national, local, counts = top_firms(firms, top=2)
    assert counts == {"n1": (3, 2), "n2": (1, 0)}
    assert [f["company_id"] for f in national["n1"]] == ["x", "y"]  # z ranks 3rd nationally
    assert [f["company_id"] for f in local["n1"]] == ["y", "z"]
    assert local.get("n2") is None and national["n1"][0]["employees"] is None
    assert local["n1"][1]["origin"] == "registry"


def test_a_side_line_places_a_firm_but_never_makes_it_a_leader(region_db: Database) -> None:
    add_firm(region_db, "SJZ_GAS", products={"流感疫苗": 0.22, "燃气": 0.78})
    region_db.execute("UPDATE companies SET origin = 'listed', city_adcode = '130100', "
                      "region_adcode = '130100', province_adcode = '130000', "
                      "registered_capital = 99999, setup_date = '1990-01-01' "
                      "WHERE company_id = 'SJZ_GAS'")
    classify_store(region_db, TEMPLATES)
    refresh_derived(region_db)
    sjz = region_from_text(region_db, "石家庄")
    node = _node(region_profile(region_db, sjz, "biomedicine"), "bm_vaccines")
    assert node["local_firms"] == 1  # placed: it does make vaccines
    assert node["local_leaders"] == []  # but a 22 % line does not lead the node
    assert node["class"] == "弱"  # the biggest capital of all would otherwise make it 强


# ----------------------------------------------------------------- firm universes

# registry firms (placed by their business scope): firm, city, scope, capital, setup year
REGISTRY = [
    ("REG_VAC1", "130100", "疫苗的研发、生产", 50.0, 1995),
    ("REG_VAC2", "130100", "流感疫苗生产", 40.0, 1998),
    ("REG_API", "130200", "维生素C原料药的生产、销售", 30.0, 1990),
    ("REG_TAB", "130200", "片剂、胶囊剂生产", 20.0, 2001),
    ("REG_SHOP1", "130200", "日用百货零售", 5.0, 1990),
    ("REG_SHOP2", "130200", "五金交电零售", 5.0, 1990),
]


def add_registry(db: Database, rows: list[tuple[str, str, str, float, int]]) -> None:
    """Registry-origin firms known by their scope only, then classify and derive."""
    for cid, city, scope, capital, year in rows:
        add_firm(db, cid, scope=scope)
        db.execute("UPDATE companies SET origin = 'registry', city_adcode = ?, "
                   "region_adcode = ?, province_adcode = left(?, 2) || '0000', "
                   "registered_capital = ?, setup_date = make_date(?, 1, 1) "
                   "WHERE company_id = ?", [city, city, city, capital, year, cid])
    classify_store(db, TEMPLATES)
    refresh_derived(db)


@pytest.fixture
def registry_db(region_db: Database) -> Database:
    add_registry(region_db, REGISTRY)
    return region_db


def test_registry_firms_turn_a_missing_node_strong(registry_db: Database) -> None:
    sjz = region_from_text(registry_db, "石家庄")
    listed = region_profile(registry_db, sjz, "biomedicine", universe="listed")
    assert _node(listed, "bm_vaccines")["class"] == "缺"
    everything = region_profile(registry_db, sjz, "biomedicine")  # default: all
    assert everything["universe"] == "all" and everything["universe_zh"] == "全部企业"
    assert [p["name"] for p in everything["registry_provinces"]] == ["河北省"]
    basis = everything["lq_basis"]
    # 石家庄 lies in the loaded registry (河北): LQ on registry counts against 河北
    assert (basis["origin"], basis["local_total"], basis["national_total"]) == (
        "registry", 2, 6)
    assert "河北省" in basis["note_zh"] and "工商登记" in everything["coverage_zh"]
    vaccines = _node(everything, "bm_vaccines")
    assert (vaccines["local_firms"], vaccines["lq_local"], vaccines["lq_national"]) == (2, 2, 2)
    assert vaccines["lq"] == pytest.approx(round((2 / 2) / (2 / 6), 3))
    assert vaccines["class"] == "强"
    assert {f["origin"] for f in vaccines["local_leaders"]} == {"registry"}
    # the listed firms still count under all, but not in the registry LQ
    api = _node(everything, "bm_api")
    assert (api["local_firms"], api["local_listed"], api["lq_local"]) == (2, 2, 0)
    assert everything["local_total"] == 5  # 3 listed + 2 registry firms of 石家庄


def test_registry_universe_counts_registry_firms_only(registry_db: Database) -> None:
    sjz = region_from_text(registry_db, "石家庄")
    profile = region_profile(registry_db, sjz, "biomedicine", universe="工商登记企业")
    assert profile["universe"] == "registry"
    assert _node(profile, "bm_api")["class"] == "缺"  # its two API makers are listed
    assert _node(profile, "bm_api")["national_firms"] == 1  # 唐山's registry API maker
    tangshan = region_profile(registry_db, region_from_text(registry_db, "唐山"),
                              "biomedicine", universe="registry")
    # the only registry API maker: LQ (1/4) / (1/6) = 1.5 but one firm alone, and with
    # a partial registry no registry firm is ranked for node leadership
    api = _node(tangshan, "bm_api")
    assert (api["lq"], api["class"]) == (1.5, "弱")
    assert tangshan["thresholds"]["node_leader_pool"] == []
    assert _node(tangshan, "bm_vaccines")["class"] == "缺"  # its vaccine maker is listed


def test_registry_firms_lead_once_every_province_is_loaded(
        registry_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # the test store's registry holds 河北 only: make 河北 the whole country
    monkeypatch.setattr("chainatlas.analysis.regional.PROVINCES", ("河北",))
    tangshan = region_profile(registry_db, region_from_text(registry_db, "唐山"),
                              "biomedicine", universe="registry")
    assert tangshan["thresholds"]["node_leader_pool"] == ["registry"]
    assert _node(tangshan, "bm_api")["class"] == "强"  # the country's only registry API maker


def test_leader_pool_by_hand() -> None:
    hebei = [{"adcode": "130000", "name": "河北省"}]
    every = [{"adcode": f"{i:02d}0000", "name": str(i)} for i in range(31)]
    assert leader_pool("listed", hebei) == ("listed",)
    assert leader_pool("registry", hebei) == ()
    assert leader_pool("all", hebei) == ("listed",)
    assert leader_pool("registry", every) == ("registry",)
    assert leader_pool("all", every) == ("listed", "registry")


def test_lq_basis_outside_the_registry_and_for_a_whole_baseline(registry_db: Database) -> None:
    suzhou = region_from_text(registry_db, "苏州")
    listed = region_profile(registry_db, suzhou, "biomedicine", universe="listed")
    everything = region_profile(registry_db, suzhou, "biomedicine", universe="all")
    # 江苏 has no registry firm: the LQ falls back to listed counts, the same figures
    assert everything["lq_basis"]["origin"] == "listed"
    assert [n["lq"] for n in everything["nodes"]] == [n["lq"] for n in listed["nodes"]]
    outside = region_profile(registry_db, suzhou, "biomedicine", universe="registry")
    assert outside["lq_basis"]["covered"] is False
    assert outside["summary"]["强"] == outside["summary"]["弱"] == 0
    # 河北省 is the whole registry baseline: its registry LQ would be 1 on every node
    hebei = region_profile(registry_db, region_from_text(registry_db, "河北"), "biomedicine")
    assert hebei["lq_basis"]["origin"] == "listed"


def test_roster_firms_count_locally_under_all_but_never_in_the_lq(
        registry_db: Database) -> None:
    add_firm(registry_db, "ROSTER_VAC", scope="疫苗的研发、生产")
    registry_db.execute("UPDATE companies SET city_adcode = '130100', region_adcode = "
                        "'130100', province_adcode = '130000' WHERE company_id = 'ROSTER_VAC'")
    classify_store(registry_db, TEMPLATES)
    refresh_derived(registry_db)
    sjz = region_from_text(registry_db, "石家庄")
    vaccines = _node(region_profile(registry_db, sjz, "biomedicine", universe="all"),
                     "bm_vaccines")
    assert (vaccines["local_firms"], vaccines["lq_local"], vaccines["lq_national"]) == (3, 2, 2)
    assert vaccines["national_firms"] == 5  # 2 registry, the roster firm, 2 listed
    listed = _node(region_profile(registry_db, sjz, "biomedicine", universe="listed"),
                   "bm_vaccines")
    assert listed["local_firms"] == 0


def test_lq_origin_and_wording_by_hand() -> None:
    hebei = [{"adcode": "130000", "name": "河北省"}]
    sjz = Region("130100", "石家庄市", "city", "130000", "130000")
    province = Region("130000", "河北省", "province", "130000")
    suzhou = Region("320500", "苏州市", "city", "320000", "320000")
    assert lq_origin("listed", sjz, hebei) == "listed"
    assert lq_origin("registry", suzhou, hebei) == "registry"
    assert lq_origin("all", sjz, hebei) == "registry"
    assert lq_origin("all", suzhou, hebei) == "listed"
    assert lq_origin("all", province, hebei) == "listed"
    two = [*hebei, {"adcode": "140000", "name": "山西省"}]
    assert lq_origin("all", province, two) == "registry"
    assert lq_origin("all", sjz, []) == "listed"
    many = [{"adcode": f"{i}0000", "name": f"省{i}"} for i in range(11, 20)]
    assert provinces_zh(two) == "河北省、山西省" and provinces_zh(many) == "省11、省12等 9 个省份"
    assert coverage_zh("registry", []) == "工商登记企业（尚未载入工商登记数据）"
    assert "河北省" in coverage_zh("all", hebei)
    assert coverage_zh("listed", hebei) == "全国 A 股上市企业"


def test_unknown_universe_is_refused(region_db: Database) -> None:
    with pytest.raises(NotFoundError, match="unknown firm universe"):
        region_profile(region_db, "石家庄", "biomedicine", universe="foreign")


def test_map_counts_the_chosen_universe(registry_db: Database) -> None:
    listed = map_counts(registry_db, "biomedicine", universe="listed")
    assert {a["adcode"]: a["firms"] for a in listed["areas"]} == {"320000": 4, "130000": 4}
    everything = map_counts(registry_db, "biomedicine")
    assert everything["universe"] == "all"
    assert {a["adcode"]: a["firms"] for a in everything["areas"]} == {"320000": 4, "130000": 8}
    registry = map_counts(registry_db, "biomedicine", level="city", universe="registry")
    assert {a["adcode"]: a["firms"] for a in registry["areas"]} == {"130100": 2, "130200": 2}
    assert registry["registry_provinces"] == [{"adcode": "130000", "name": "河北省"}]
