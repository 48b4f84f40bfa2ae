"""Target firms (招商清单) on hand-made firms with known answers: candidates and their
gates, the links, filters, risk, scores and reasons."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest

from chainatlas.analysis.weights import TARGET_WEIGHTS
from chainatlas.build import refresh_derived
from chainatlas.chains.classify import classify_store
from chainatlas.chains.direction import WORDS_ZH, directions_from_store
from chainatlas.chains.templates import load_templates
from chainatlas.errors import NotFoundError
from chainatlas.recommend.filters import TargetFilters
from chainatlas.recommend.firms import (
    DISTANCE_SCALE_KM,
    add_proximity,
    add_strength,
    firms_frame,
    haversine_km,
    rank_firms,
    score_firms,
)
from chainatlas.store import Database
from chainatlas.store.lookup import region_from_text
from tests.helpers import add_firm

TEMPLATES = load_templates()
INJECTION = '=HYPERLINK("http://evil.example","点我")'

# adcode, name, level, parent, province, lon, lat
REGIONS = [
    ("130000", "河北省", "province", None, "130000", 114.50, 38.00),
    ("130100", "石家庄市", "city", "130000", "130000", 114.51, 38.04),
    ("130600", "保定市", "city", "130000", "130000", 115.46, 38.87),
    ("110000", "北京市", "province", None, "110000", 116.41, 39.90),
    ("110100", "北京市", "city", "110000", "110000", 116.41, 39.90),
    ("320000", "江苏省", "province", None, "320000", 118.76, 32.06),
    ("320500", "苏州市", "city", "320000", "320000", 120.59, 31.30),
    ("650000", "新疆维吾尔自治区", "province", None, "650000", 87.62, 43.79),
    ("650100", "乌鲁木齐市", "city", "650000", "650000", 87.62, 43.83),
]

# id: (products, city, registered capital 万元, employees, setup year)
FIRMS: dict[str, tuple[dict[str, float], str, float, int, int]] = {
    "LEAD": ({"片剂": 0.9}, "130100", 80000.0, 6000, 1995),       # local leader
    "LOCAPI": ({"头孢菌素": 0.9}, "130100", 3000.0, 200, 2001),   # another local firm
    "LOCLATE": ({"淀粉": 0.9}, "130100", 1000.0, 100, 2020),      # local, founded late
    "SUP": ({"维生素C": 0.9}, "320500", 5000.0, 1000, 2000),      # supplies LEAD
    "TWIN": ({"维生素E": 0.9}, "320500", 5000.0, 1000, 2000),     # SUP without the link
    "NEAR": ({"维生素E": 0.9}, "110100", 2000.0, 500, 2000),      # ~270 km away
    "FAR": ({"维生素E": 0.9}, "650100", 2000.0, 500, 2000),       # ~2,400 km away
    "BAODING": ({"维生素E": 0.9}, "130600", 2000.0, 500, 2000),   # same province
    "LATE": ({"维生素E": 0.9}, "320500", 9000.0, 3000, 2020),     # founded after 2010
    "CAPS": ({"胶囊剂": 0.9}, "110100", 2000.0, 500, 2000),       # buys 淀粉 from LOCLATE
    "VAC": ({"流感疫苗": 0.9}, "110100", 2000.0, 500, 2000),      # another subtree
    "INJ": ({"维生素E": 0.5}, "110100", 100.0, 10, 2000),         # hostile name
    "SHOP": ({"药品零售": 0.95}, "110100", 2000.0, 500, 2000),    # a pharmacy chain
    "SIDE": ({"维生素E": 0.2, "钢材": 0.8}, "110100", 2000.0, 500, 2000),  # a side line
    "STAR": ({"维生素E": 0.9}, "110100", 2000.0, 500, 2000),      # *ST
    "INSURER": ({"维生素E": 0.9}, "110100", 2000.0, 500, 2000),   # an insurer (Shenwan)
    "TELCO": ({}, "110100", 9000.0, 9000, 2000),  # an operator by its scope (electronics)
}
#: business scopes (a firm without products is placed by its scope alone)
SCOPES = {"TELCO": "基础电信业务；互联网接入服务"}
NAMES = {"LEAD": "华北制药", "SUP": "维生素供应商", "INJ": INJECTION, "STAR": "*ST维生"}


def _relate(db: Database, product: str, upstream: str) -> None:
    """Record that ``upstream`` is an upstream material of ``product``."""
    ids = dict(db.execute("SELECT name, product_id FROM products").fetchall())
    db.execute("INSERT INTO product_relations VALUES (?, ?, 'upstream_material', 1)",
               [ids[product], ids[upstream]])


def _rec_store() -> Database:
    db = Database()
    db.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?, ?, ?, 1)", REGIONS)
    for cid, (products, city, capital, employees, year) in FIRMS.items():
        add_firm(db, cid, products=products, scope=SCOPES.get(cid),
                 shenwan="490201" if cid == "INSURER" else None)
        db.execute(
            "UPDATE companies SET origin = 'listed', short_name = ?, "
            "full_name = ? || '股份有限公司', stock_code = ?, city_adcode = ?, "
            "region_adcode = ?, province_adcode = left(?, 2) || '0000', "
            "registered_capital = ?, employees = ?, setup_date = ? WHERE company_id = ?",
            [NAMES.get(cid, cid), NAMES.get(cid, cid), f"{600000 + len(cid)}", city, city,
             city, capital, employees, dt.date(year, 1, 1), cid])
    _relate(db, "片剂", "维生素C")     # SUP's 维生素C feeds LEAD's 片剂
    _relate(db, "胶囊剂", "淀粉")      # CAPS's 胶囊剂 needs LOCLATE's 淀粉
    classify_store(db, TEMPLATES)
    refresh_derived(db)
    return db


@pytest.fixture(scope="module")
def rec_db() -> Database:
    return _rec_store()


def _by_id(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["company_id"]: r for r in results}


def _value(result: dict[str, Any], component: str) -> float:
    return float(result["components"][component]["value"])


def _sjz(db: Database, **kwargs: Any) -> list[dict[str, Any]]:
    return rank_firms(db, region_from_text(db, "石家庄市"), "biomedicine", top=100, **kwargs)


# --------------------------------------------------------------------------- candidates


def test_local_firms_never_appear(rec_db: Database) -> None:
    city = _sjz(rec_db)
    assert not {"LEAD", "LOCAPI", "LOCLATE"} & {r["company_id"] for r in city}
    assert all(r["city_adcode"] != "130100" for r in city)
    province = rank_firms(rec_db, region_from_text(rec_db, "河北省"), "biomedicine", top=100)
    ids = {r["company_id"] for r in province}
    assert "BAODING" not in ids and "SUP" in ids
    assert all(not r["same_province"] for r in province)


def test_gates_leave_out_side_lines_insurers_and_trade_firms(rec_db: Database) -> None:
    ids = {r["company_id"] for r in _sjz(rec_db, filters=TargetFilters(exclude_risk=False))}
    assert {"SUP", "TWIN", "CAPS", "VAC", "STAR"} <= ids
    # a 20 % side line is no primary business, an insurer no target, a pharmacy chain
    # no maker: none of them is on the chain-wide list
    assert not {"SIDE", "INSURER", "SHOP"} & ids
    region = region_from_text(rec_db, "石家庄市")
    on_api = {r["company_id"] for r in rank_firms(rec_db, region, "biomedicine", "bm_api")}
    assert "SIDE" not in on_api and "SUP" in on_api
    # the pharmacy chain is a target of its own node
    [shop] = rank_firms(rec_db, region, "biomedicine", "bm_pharmacy_retail")
    assert shop["company_id"] == "SHOP"
    assert [(n["node_id"], n["kind"]) for n in shop["nodes"]] == [
        ("bm_pharmacy_retail", "retail")]


def test_an_operator_is_no_maker_through_its_production_parent(rec_db: Database) -> None:
    # 通信运营与网络服务 (operator) lies under 现代通信 (production): the operator's row on
    # the parent must not put it on the chain-wide list (without product evidence the
    # parent row counts as a primary production business)
    placed = rec_db.execute("SELECT node_id, direct FROM chain_firms WHERE company_id = "
                            "'TELCO' ORDER BY node_id").fetchall()
    assert placed == [("el_communications", False), ("el_telecom_services", True)]
    region = region_from_text(rec_db, "石家庄市")
    assert "TELCO" not in {r["company_id"] for r in rank_firms(rec_db, region, "electronics")}
    own = rank_firms(rec_db, region, "electronics", "el_telecom_services")
    assert [r["company_id"] for r in own] == ["TELCO"]


def test_node_filter_keeps_the_subtree(rec_db: Database) -> None:
    region = region_from_text(rec_db, "石家庄市")
    api = {r["company_id"] for r in rank_firms(rec_db, region, "biomedicine", "bm_api")}
    assert "SUP" in api and "VAC" not in api and "CAPS" not in api
    chem = _by_id(rank_firms(rec_db, region, "biomedicine", "bm_chem_drugs", top=100))
    assert {"SUP", "CAPS"} <= set(chem) and "VAC" not in chem
    assert [n["node_id"] for n in chem["CAPS"]["nodes"]] == ["bm_oral_solid"]
    assert any("属「口服固体制剂」环节" in r for r in chem["CAPS"]["reasons_zh"])
    with pytest.raises(NotFoundError):
        rank_firms(rec_db, region, "biomedicine", "bm_nope")
    # Chinese node names and region text work like ids and typed values
    assert rank_firms(rec_db, "石家庄市", "生物医药", "化学原料药") == \
        rank_firms(rec_db, region, "biomedicine", "bm_api")


def test_as_of_drops_later_firms_on_both_sides(rec_db: Database) -> None:
    now, then = _by_id(_sjz(rec_db)), _by_id(_sjz(rec_db, as_of=2010))
    assert "LATE" in now and "LATE" not in then
    # CAPS buys 淀粉 from a local firm founded in 2020: the link exists now, not in 2010
    [partner] = now["CAPS"]["components"]["links"]["local_partners"]
    assert (partner["company_id"], partner["side"], partner["kind"]) == (
        "LOCLATE", "buys", "product")
    assert "其「胶囊剂」可采购本地「LOCLATE」的「淀粉」（产品关联）" in now["CAPS"]["reasons_zh"]
    assert then["CAPS"]["components"]["links"]["local_partners"] == []


# --------------------------------------------------------------------------- risk, filters


def test_risk_flagged_firms_are_dropped_or_shown_with_their_factor(rec_db: Database) -> None:
    assert "STAR" not in _by_id(_sjz(rec_db))
    shown = _by_id(_sjz(rec_db, filters=TargetFilters(exclude_risk=False)))
    star, near = shown["STAR"], shown["NEAR"]  # identical firms, but for the *ST name
    assert star["risk"]["flags"] == ["*ST"] and star["risk"]["factor"] == 0.5
    assert star["score_before_risk"] == pytest.approx(near["score_before_risk"], abs=1e-4)
    assert star["score"] == pytest.approx(near["score"] * 0.5, abs=1e-3)
    assert any(r.startswith("风险提示：*ST") for r in star["reasons_zh"])
    assert near["risk"] == {"flags": [], "flags_zh": "", "factor": 1.0}


def test_filters_narrow_the_list(rec_db: Database) -> None:
    every = {r["company_id"] for r in _sjz(rec_db)}
    beijing = {r["company_id"] for r in _sjz(rec_db, filters=TargetFilters(
        provinces=("110000",)))}
    assert beijing == {c for c in every if FIRMS[c][1] == "110100"} and beijing
    rest = {r["company_id"] for r in _sjz(rec_db, filters=TargetFilters(
        exclude_provinces=("110000",)))}
    assert rest == every - beijing
    outside = {r["company_id"] for r in _sjz(rec_db, filters=TargetFilters(
        outside_province=True))}
    assert outside == every - {"BAODING"}
    large = _sjz(rec_db, filters=TargetFilters(sizes=("large",)))
    assert {r["company_id"] for r in large} == {"SUP", "TWIN", "LATE"}  # >= 1,000 staff
    assert {r["size_band_zh"] for r in large} == {"大型"}
    assert _sjz(rec_db, filters=TargetFilters(listed="unlisted")) == []


# --------------------------------------------------------------------------- links, reasons


def test_supplier_of_the_local_leader_beats_its_unlinked_twin(rec_db: Database) -> None:
    results = _by_id(_sjz(rec_db))
    sup, twin = results["SUP"], results["TWIN"]
    assert sup["rank"] < twin["rank"]
    for component in ("fit", "strength", "proximity", "expansion"):
        assert _value(sup, component) == pytest.approx(_value(twin, component))
    # both supply 石家庄's strong 口服固体制剂 along the template; SUP also by product
    assert _value(twin, "links") == pytest.approx(0.35)
    product = [x for x in sup["components"]["links"]["links"] if x["kind"] == "product"]
    assert [(x["company_id"], x["side"], x["role"]) for x in product] == [
        ("LEAD", "supplies", "leader")]
    assert product[0]["examples"] == ["维生素C→片剂"]
    expected = 1 - (1 - 0.35) * (1 - (1 - math.exp(-0.81 / 0.02)))
    assert _value(sup, "links") == pytest.approx(expected, abs=1e-3)
    assert "其「维生素C」可供应本地链主「华北制药」的「片剂」（产品关联）" in sup["reasons_zh"]


def test_template_edges_are_named_in_the_direction_the_template_gives(
        rec_db: Database) -> None:
    directions = directions_from_store(rec_db, "biomedicine")
    results = _sjz(rec_db)
    edges = 0
    for record in results:
        for link in record["components"]["links"]["links"]:
            if link["kind"] != "edge":
                continue
            edges += 1
            assert link["position"] == directions.of(link["node"], link["local_node"])
            assert link["position_zh"] == WORDS_ZH[link["position"]]
            said = f"所在「{link['node_zh']}」是本地优势环节「{link['local_node_zh']}」" \
                f"的{link['position_zh']}"
            assert any(r.startswith(said) for r in record["reasons_zh"])
    assert edges
    twin = _by_id(results)["TWIN"]
    assert twin["reasons_zh"][0] == ("所在「化学原料药」是本地优势环节「口服固体制剂」的上游"
                                     "（「华北制药」），可为本地企业就近配套")


def test_no_firm_is_named_twice_and_reasons_are_never_empty(rec_db: Database) -> None:
    for record in _sjz(rec_db, filters=TargetFilters(exclude_risk=False)):
        assert record["reasons_zh"] and all(record["reasons_zh"])
        text = "；".join(record["reasons_zh"])
        assert text.count("「华北制药」") <= 1
        gap = [r for r in record["reasons_zh"] if r.startswith("本地尚无")]
        assert all("有「" not in r for r in gap)  # a gap names no local firm


def test_nearer_firm_beats_farther_identical_one(rec_db: Database) -> None:
    results = _by_id(_sjz(rec_db))
    near, far, baoding = results["NEAR"], results["FAR"], results["BAODING"]
    assert near["rank"] < far["rank"]
    assert _value(near, "strength") == pytest.approx(_value(far, "strength"))
    near_km = near["components"]["proximity"]["distance_km"]
    assert float(haversine_km(116.41, 39.90, 114.51, 38.04)) == pytest.approx(near_km, abs=0.1)
    assert _value(near, "proximity") == pytest.approx(math.exp(-near_km / DISTANCE_SCALE_KM),
                                                      abs=1e-3)
    # the same province is flagged, not rewarded: proximity is distance alone
    assert baoding["same_province"] and not near["same_province"]
    km = baoding["components"]["proximity"]["distance_km"]
    assert _value(baoding, "proximity") == pytest.approx(math.exp(-km / DISTANCE_SCALE_KM),
                                                         abs=1e-3)
    assert any(r.endswith("同属河北省（同省企业）") for r in baoding["reasons_zh"])
    assert not any("同省" in r for r in near["reasons_zh"])


def test_scores_explain_rows_and_frame(rec_db: Database) -> None:
    results = _sjz(rec_db, filters=TargetFilters(exclude_risk=False))
    assert [r["rank"] for r in results] == list(range(1, len(results) + 1))
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    for r in results:
        rows = r["explain"]
        assert [x["component"] for x in rows] == list(TARGET_WEIGHTS)
        assert all(x["weight"] == TARGET_WEIGHTS[x["component"]] for x in rows)
        assert all(x["value"] == _value(r, x["component"]) for x in rows)
        assert all(x["raw_zh"] and x["label_zh"] for x in rows)
        assert r["score_before_risk"] == pytest.approx(sum(x["points"] for x in rows),
                                                       abs=1e-3)
        assert r["score"] == pytest.approx(r["score_before_risk"] * r["risk"]["factor"],
                                           abs=1e-3)
        assert all(0.0 <= _value(r, k) <= 1.0 for k in TARGET_WEIGHTS)
    sup = _by_id(results)["SUP"]
    strength = sup["components"]["strength"]
    assert (strength["employees"], strength["capital"], strength["basis"]) == (
        1000, 5000.0, "employees×share")
    assert strength["chain_share"] == pytest.approx(0.9)
    assert "员工 1,000 人 × 链上产品营收占比 90%" in sup["explain"][1]["raw_zh"]
    frame = firms_frame(results)
    assert list(frame["rank"]) == list(range(1, len(results) + 1))
    assert {*TARGET_WEIGHTS, "local_partners", "reasons", "risk"} <= set(frame.columns)
    assert frame.set_index("company_id").loc["SUP", "local_partners"] == "华北制药"


# --------------------------------------------------------------------------- pure scoring


def _hand_candidates() -> pd.DataFrame:
    """Three candidates: A and C with employees, B (registry) with capital only."""
    return pd.DataFrame({
        "company_id": ["A", "B", "C"], "registered_capital": [100.0, 200.0, None],
        "employees": [1000, None, 100], "origin": ["listed", "registry", "listed"],
        "chain_revenue_share": [0.5, None, 1.0], "fit": [0.9, 0.5, 0.7],
        "province_adcode": ["130000", "110000", "320000"],
        "lon": [114.51, 114.51, None], "lat": [38.04, 38.04 + 7.1945728473498445, None]})


def test_strength_reads_employees_times_share_and_capital_only_without_staff() -> None:
    frame = _hand_candidates()
    add_strength(frame)
    assert list(frame["scale_basis"]) == ["employees×share", "capital", "employees×share"]
    assert list(frame["scale_figure"]) == pytest.approx([500.0, 200.0, 100.0])
    # log-scaled between the 10th percentile and the largest figure of each basis
    low, high = frame.loc[0, "scale_floor"], frame.loc[0, "scale_top"]
    assert high == 500.0 and 100.0 < low < 500.0
    assert frame.loc[0, "strength"] == 1.0 and frame.loc[2, "strength"] == 0.0
    assert list(frame["capital_pct"]) == [0.5, 1.0, 0.0]


def test_proximity_at_zero_and_800_km() -> None:
    frame = _hand_candidates()
    add_proximity(frame, (114.51, 38.04), "130000")
    assert list(frame["distance_km"][:2]) == pytest.approx([0.0, 800.0])
    # no bonus for the province: e^0, e^-1, and nothing for an unknown place
    assert list(frame["proximity"]) == pytest.approx([1.0, math.exp(-1), 0.0])
    assert list(frame["same_province"]) == [True, False, False]
    add_proximity(frame, None, "110000")  # a region without a centre
    assert list(frame["proximity"]) == pytest.approx([0.0, 0.0, 0.0])


def test_score_firms_weighs_links_expansion_and_risk() -> None:
    links = {"A": [{"contribution": 0.5}, {"contribution": 0.5}]}
    frame = _hand_candidates().assign(expansion_cities=[0, 2, 0])
    scored = score_firms(frame, links, centre=(114.51, 38.04),
                         province="130000").set_index("company_id")
    assert scored.loc["A", "links"] == pytest.approx(0.75)  # noisy-OR
    assert scored.loc["B", "expansion"] == pytest.approx(1 - math.exp(-1))
    for cid, row in scored.iterrows():
        assert row["score"] == pytest.approx(
            sum(w * row[k] for k, w in TARGET_WEIGHTS.items())), cid
    risky = score_firms(frame.assign(factor=[0.5, 1.0, 0.0]), links, centre=(114.51, 38.04),
                        province="130000").set_index("company_id")
    assert risky.loc["A", "score"] == pytest.approx(scored.loc["A", "score"] * 0.5)
    assert risky.loc["A", "score_before_risk"] == pytest.approx(scored.loc["A", "score"])
    assert risky.loc["C", "score"] == 0.0
    # a frame that brings its own expansion keeps it
    own = score_firms(frame.assign(expansion=[1.0, 0.0, 0.0]), {}, centre=None, province="",
                      weights={"expansion": 1.0})
    assert own["company_id"].iloc[0] == "A"


# ----------------------------------------------------------------- registry firms

# registry firms (placed by their scope): id, city, scope, capital 万元, setup year,
# parent (branches), individual
REGISTRY = [
    ("R_BIG", "130600", "维生素C原料药的生产、销售", 90000.0, 1995, None, False),
    ("R_LOCAL", "130100", "维生素C原料药的生产、销售", 90000.0, 1995, None, False),
    ("R_PARENT", "320500", "维生素C原料药的生产、销售", 3000.0, 1990, None, False),
    ("R_BR1", "110100", "维生素C原料药的销售", 10.0, 2003, "R_PARENT", False),
    ("R_BR2", "650100", "维生素C原料药的销售", 10.0, 2004, "R_PARENT", False),
    ("R_SOLO", "320500", "维生素C原料药的生产、销售", 3000.0, 1990, None, True),
    ("R_HOME", "110100", "维生素C原料药的生产；房地产开发", 3000.0, 1990, None, False),
]
REGISTRY_NAMES = {"R_PARENT": "苏州维生制药有限公司", "R_HOME": "北京维生置业有限公司"}


@pytest.fixture
def registry_db() -> Database:
    db = _rec_store()  # a store of its own: rec_db is shared by the module
    for cid, city, scope, capital, year, parent, solo in REGISTRY:
        add_firm(db, cid, scope=scope)
        db.execute("UPDATE companies SET origin = 'registry', city_adcode = ?, region_adcode = ?, "
                   "province_adcode = left(?, 2) || '0000', registered_capital = ?, "
                   "setup_date = ?, is_branch = ?, parent_id = ?, is_individual = ?, "
                   "full_name = ? WHERE company_id = ?",
                   [city, city, city, capital, dt.date(year, 6, 1), parent is not None,
                    parent, solo, REGISTRY_NAMES.get(cid, cid), cid])
    classify_store(db, TEMPLATES)
    refresh_derived(db)
    return db


def test_the_universe_picks_the_candidates(registry_db: Database) -> None:
    sjz = region_from_text(registry_db, "石家庄市")
    listed = rank_firms(registry_db, sjz, "biomedicine", universe="listed")
    assert {r["origin"] for r in listed} == {"listed"}
    assert {r["universe"] for r in listed} == {"listed"}
    everything = _by_id(rank_firms(registry_db, sjz, "biomedicine", top=100))  # all
    assert "R_BIG" in everything and "R_LOCAL" not in everything  # local firms never
    big = everything["R_BIG"]
    assert (big["universe"], big["universe_zh"]) == ("all", "全部企业")
    assert big["origin_zh"] == "工商登记企业" and big["reasons_zh"]
    # capital read as staff when enough listed firms fit the relation, else capital itself
    assert big["components"]["strength"]["basis"] in ("capital", "capital_staff")
    assert any("注册资本 9.0 亿元" in r for r in big["reasons_zh"])
    registry = rank_firms(registry_db, sjz, "biomedicine", universe="registry", top=100)
    assert {r["company_id"] for r in registry} == {"R_BIG", "R_PARENT"}


def test_a_firm_with_a_local_branch_is_named_as_present(registry_db: Database) -> None:
    add_firm(registry_db, "R_SJZ_BR", scope="维生素C原料药的销售")
    registry_db.execute(
        "UPDATE companies SET origin = 'registry', city_adcode = '130100', region_adcode = "
        "'130102', province_adcode = '130000', setup_date = DATE '2002-03-01', is_branch = "
        "true, parent_id = 'R_PARENT', full_name = '苏州维生制药有限公司石家庄分公司' "
        "WHERE company_id = 'R_SJZ_BR'")
    now = _by_id(_sjz(registry_db))
    assert now["R_PARENT"]["local_branches"] == ["苏州维生制药有限公司石家庄分公司"]
    assert any(r.startswith("已在石家庄市设有分支机构（苏州维生制药有限公司石家庄分公司，")
               for r in now["R_PARENT"]["reasons_zh"])
    assert now["R_BIG"]["local_branches"] == []
    assert not any("设有分支机构" in r for r in now["R_BIG"]["reasons_zh"])
    then = _by_id(_sjz(registry_db, as_of=2001))  # the branch came in 2002
    assert then["R_PARENT"]["local_branches"] == []
    province = _by_id(rank_firms(registry_db, region_from_text(registry_db, "河北省"),
                                 "biomedicine", top=100))
    assert province["R_PARENT"]["local_branches"] == ["苏州维生制药有限公司石家庄分公司"]


def test_branches_individuals_and_developers_are_no_targets(registry_db: Database) -> None:
    ids = {r["company_id"] for r in _sjz(registry_db)}
    assert "R_PARENT" in ids
    assert not {"R_BR1", "R_BR2", "R_SOLO", "R_HOME"} & ids


def test_a_parent_that_branched_out_shows_its_expansion(registry_db: Database) -> None:
    parent = _by_id(_sjz(registry_db))["R_PARENT"]
    expansion = parent["components"]["expansion"]
    assert (expansion["branches"], expansion["cities"]) == (2, 2)
    assert (expansion["first_year"], expansion["last_year"]) == (2003, 2004)
    assert (expansion["since"], expansion["until"]) == (2000, 2004)
    assert expansion["value"] == pytest.approx(1 - math.exp(-1), abs=1e-4)
    assert "近5年在外地新设2家分支机构（2003–2004），分布于 2 个外地城市（工商登记），扩张活跃" \
        in parent["reasons_zh"]
    assert "工商登记企业（登记数据截至 2004 年，需核实现状），注册资本 3,000 万元，中型企业" \
        "（按注册资本）" in parent["reasons_zh"]
    # as of 2003 only the first branch is seen
    then = _by_id(_sjz(registry_db, as_of=2003))["R_PARENT"]["components"]["expansion"]
    assert (then["branches"], then["until"]) == (1, 2003)
