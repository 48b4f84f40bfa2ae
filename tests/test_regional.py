"""Regional profile (LQ, classes), leaders and map data on hand-made regions."""

from __future__ import annotations

import pandas as pd
import pytest

from chainatlas.analysis.leaders import chain_leaders, score_leaders
from chainatlas.analysis.mapdata import map_counts
from chainatlas.analysis.panorama import top_firms
from chainatlas.analysis.regional import (
    classify_node,
    location_quotient,
    region_profile,
    score_nodes,
    summarise,
)
from chainatlas.build import refresh_derived
from chainatlas.chains.classify import classify_store
from chainatlas.chains.templates import load_templates
from chainatlas.errors import ChainAtlasError, NotFoundError
from chainatlas.store import Database
from chainatlas.store.lookup import region_from_text
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
    assert profile["local_listed_firms"] == 3 and profile["national_listed_firms"] == 10
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
    assert profile["local_listed_firms"] == 2


def test_leaders_components(region_db: Database) -> None:
    sjz = region_from_text(region_db, "石家庄")
    result = chain_leaders(region_db, "biomedicine", sjz)
    national = result["national"]
    assert national[0]["company_id"] in {"SZ_API", "SZ_TAB1"}
    for row in national:
        assert set(row["components"]) == {"scale", "breadth", "centrality"}
        assert all(0 <= v <= 1 for v in row["components"].values())
        assert row["score"] == pytest.approx(
            sum(w * row["components"][k] for k, w in result["weights"].items()), abs=1e-3)
    assert {r["company_id"] for r in result["local"]} == {"SJZ_API1", "SJZ_API2", "SJZ_TAB"}


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
    return pd.DataFrame(rows, columns=["node_id", "is_leaf", "national_firms", "local_firms",
                                       "local_listed", "local_node_leaders"])


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


def test_score_leaders_by_hand() -> None:
    firms = pd.DataFrame({
        "company_id": ["A", "B", "C"], "registered_capital": [300.0, 100.0, None],
        "employees": [10.0, 30.0, 20.0], "chain_revenue_share": [0.9, 0.0, 0.5],
        "nodes_covered": [2, 1, 4], "pagerank": [0.5, 0.2, 0.2]})
    scored = score_leaders(firms).set_index("company_id")
    # scale: mean percentile of capital (A 1, B 0.5, C 0), employees (A 1/3, B 1, C 2/3),
    # share (A 1, B 1/3, C 2/3)
    assert scored.loc["A", "scale"] == pytest.approx((1 + 1 / 3 + 1) / 3)
    assert scored.loc["C", "scale"] == pytest.approx((0 + 2 / 3 + 2 / 3) / 3)
    assert list(scored["breadth"].loc[["A", "B", "C"]]) == [0.5, 0.25, 1.0]
    # B and C sit at PageRank's floor (no supply link): centrality 0; A alone ranks 1
    assert list(scored["centrality"].loc[["A", "B", "C"]]) == [1.0, 0.0, 0.0]
    a = scored.loc["A"]
    assert a["score"] == pytest.approx(0.5 * a["scale"] + 0.2 * 0.5 + 0.3 * 1.0)
    assert list(scored.index) == ["A", "C", "B"]


def test_top_firms_counts_and_keeps_order() -> None:
    firms = pd.DataFrame({
        "node_id": ["n1", "n1", "n1", "n2"], "company_id": ["x", "y", "z", "x"],
        "short_name": ["X", "Y", "Z", "X"], "registered_capital": [9.0, 5.0, None, 9.0],
        "employees": [None, 1.0, 2.0, None], "confidence": [0.9, 0.8, 0.7, 0.5],
        "is_local": [False, True, True, False]})
    national, local, counts = top_firms(firms, top=2)
    assert counts == {"n1": [3, 2], "n2": [1, 0]}
    assert [f["company_id"] for f in national["n1"]] == ["x", "y"]
    assert [f["company_id"] for f in local["n1"]] == ["y", "z"]
    assert local.get("n2") is None and national["n1"][0]["employees"] is None


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
