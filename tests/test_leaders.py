"""Chain leaders (链主): who can lead, the score components, risk flags, explanations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from chainatlas.analysis.leader_figures import (
    is_primary,
    known_share,
    most_specific,
    node_shares,
    production_first,
    set_share,
)
from chainatlas.analysis.leaders import (
    chain_leaders,
    leader_frame,
    log_scaled,
    raw_zh,
    scale_basis,
    score_leaders,
    staff_from_capital,
)
from chainatlas.analysis.weights import LEADER_WEIGHTS
from chainatlas.build import refresh_derived
from chainatlas.chains.classify import classify_store
from chainatlas.chains.templates import load_templates
from chainatlas.store import Database
from chainatlas.store.lookup import chain_from_text, region_from_text
from tests.helpers import add_firm

TEMPLATES = load_templates()
REGIONS = [("130000", "河北省", "province", None), ("130100", "石家庄市", "city", "130000"),
           ("320000", "江苏省", "province", None), ("320500", "苏州市", "city", "320000")]
# firm, city, products, employees, short name, still on the 2025 SZSE list
FIRMS = [
    ("BIG_API", "130100", {"维生素C": 0.9}, 20000, "大药", True),
    ("MID_TAB", "320500", {"片剂": 0.9}, 3000, "中药片", True),
    ("SMALL_TAB", "130100", {"胶囊剂": 0.9}, 300, "小药", True),
    ("ST_TAB", "320500", {"片剂": 0.9}, 20000, "ST风险", True),
    ("GONE_API", "320500", {"维生素C": 0.9}, 50000, "已退", False),
    # a pharmacy chain whose 中成药 is a sales line
    ("PHARMACY", "320500", {"医药零售": 0.95, "中成药": 0.6}, 30000, "药房", True),
    # a 22 % side line
    ("SIDE_GAS", "130100", {"流感疫苗": 0.22, "燃气": 0.78}, 90000, "燃气", True),
    # no employee count: capital only
    ("NO_STAFF", "130100", {"维生素C": 0.9}, None, "无员工", True),
]


@pytest.fixture
def leader_db() -> Database:
    db = Database()
    for adcode, name, level, parent in REGIONS:
        db.execute("INSERT INTO regions VALUES (?, ?, ?, ?, ?, 0, 0, 1)",
                   [adcode, name, level, parent, adcode[:2] + "0000"])
    for cid, city, products, staff, name, still in FIRMS:
        add_firm(db, cid, products=products)
        db.execute("UPDATE companies SET origin = 'listed', exchange = 'SZ', short_name = ?, "
                   "in_szse_2025 = ?, city_adcode = ?, region_adcode = ?, "
                   "province_adcode = left(?, 2) || '0000', employees = ?, "
                   "registered_capital = ?, setup_date = '2000-01-01' WHERE company_id = ?",
                   [name, still, city, city, city, staff, 2 * (staff or 500), cid])
    # a department store Shenwan files under 其他生物制品: placed on 生物药 by that code
    add_firm(db, "STORE", shenwan="370304", products={"百货": 0.9})
    db.execute("UPDATE companies SET origin = 'listed', employees = 80000, "
               "province_adcode = '320000', city_adcode = '320500', region_adcode = '320500' "
               "WHERE company_id = 'STORE'")
    classify_store(db, TEMPLATES)
    refresh_derived(db)
    return db


def _ids(records: list[dict[str, object]]) -> list[object]:
    return [r["company_id"] for r in records]


# ----------------------------------------------------------------- on a store


def test_who_leads_the_chain(leader_db: Database) -> None:
    result = chain_leaders(leader_db, "biomedicine", top=20)
    ids = _ids(result["national"])
    assert ids[0] == "BIG_API"
    assert {"BIG_API", "MID_TAB", "SMALL_TAB", "ST_TAB", "NO_STAFF"} <= set(ids)
    assert "GONE_API" not in ids  # gone from the 2025 list: excluded
    assert "PHARMACY" not in ids  # retail first: leads its own node only
    assert "SIDE_GAS" not in ids  # a side line
    assert "STORE" not in ids  # placed by its industry code, business elsewhere
    assert result["weights"] == LEADER_WEIGHTS
    assert "净资产" in result["risk_note_zh"]


def test_records_explain_every_component(leader_db: Database) -> None:
    national = chain_leaders(leader_db, "biomedicine", top=20)["national"]
    for r in national:
        assert set(r["components"]) == set(LEADER_WEIGHTS)
        assert all(0 <= v <= 1 for v in r["components"].values())
        points = sum(row["points"] for row in r["explain"])
        assert points == pytest.approx(r["score_before_risk"], abs=1e-3)
        assert r["score"] == pytest.approx(r["score_before_risk"] * r["risk"]["factor"],
                                           abs=1e-3)
        assert [row["component"] for row in r["explain"]] == list(LEADER_WEIGHTS)
        assert all(row["raw_zh"] for row in r["explain"])
    big = next(r for r in national if r["company_id"] == "BIG_API")
    assert big["raw"]["scale_basis"] == "employees×share"
    assert "员工 20,000 人" in big["explain"][0]["raw_zh"]
    assert big["nodes"] == "化学原料药"
    no_staff = next(r for r in national if r["company_id"] == "NO_STAFF")
    assert no_staff["raw"]["scale_basis"] == "capital×share"  # too few firms to read staff


def test_st_firms_are_halved_and_flagged(leader_db: Database) -> None:
    national = chain_leaders(leader_db, "biomedicine", top=20)["national"]
    st = next(r for r in national if r["company_id"] == "ST_TAB")
    assert st["risk"]["flags"] == ["ST"]
    assert st["risk"]["factor"] == 0.5
    assert "ST" in st["risk"]["flags_zh"]
    same_size = next(r for r in national if r["company_id"] == "BIG_API")
    assert st["score"] < same_size["score"]


def test_node_leaders(leader_db: Database) -> None:
    retail = chain_leaders(leader_db, "biomedicine", node="零售药店", top=5)
    assert retail["node"] == {"node_id": "bm_pharmacy_retail", "name_zh": "零售药店",
                              "kind": "retail"}
    assert _ids(retail["national"]) == ["PHARMACY"]
    api = chain_leaders(leader_db, "biomedicine", node="bm_api", top=5)
    assert set(_ids(api["national"])) == {"BIG_API", "NO_STAFF"}
    vaccines = chain_leaders(leader_db, "biomedicine", node="bm_vaccines")
    assert "SIDE_GAS" not in _ids(vaccines["national"])


def test_local_leaders_and_the_frame(leader_db: Database) -> None:
    sjz = region_from_text(leader_db, "石家庄")
    result = chain_leaders(leader_db, "biomedicine", sjz, top=10)
    assert set(_ids(result["local"])) == {"BIG_API", "SMALL_TAB", "NO_STAFF"}
    assert result["region"]["name"] == "石家庄市"
    frame = leader_frame(leader_db, "biomedicine")
    assert {"province_adcode", "city_adcode", "region_adcode", "score"} <= set(frame)
    assert list(frame["score"]) == sorted(frame["score"], reverse=True)
    assert frame.attrs["universe"] == "listed"


# ----------------------------------------------------------------- pure pieces


def _firms(**columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "company_id": ["A", "B", "C", "D"], "employees": [10000, 1000, 100, None],
        "registered_capital": [1e5, 1e4, 1e3, 5e4],
        "chain_revenue_share": [0.5, None, 1.0, None], "nodes_covered": [1, 2, 4, 1],
        "pagerank": [0.1, 0.1, 0.4, 0.2]}
    base.update(columns)
    return pd.DataFrame(base)


def test_scale_basis_names_the_measure() -> None:
    f = _firms()
    picked = scale_basis(f["employees"], f["registered_capital"], f["chain_revenue_share"])
    assert list(picked["scale_basis"]) == ["employees×share", "employees", "employees×share",
                                           "capital"]
    assert list(picked["scale_figure"]) == [5000.0, 1000.0, 100.0, 5e4]
    fit = scale_basis(f["employees"], f["registered_capital"], f["chain_revenue_share"],
                      (1.0, 0.5, 1e4))
    assert fit["scale_basis"].iloc[3] == "capital_staff"
    # capital read up to the largest capital of the fit only: exp(1 + 0.5 ln 1e4)
    assert fit["scale_figure"].iloc[3] == pytest.approx(math.exp(1 + 0.5 * math.log(1e4)))
    none = scale_basis(pd.Series([None]), pd.Series([None]), pd.Series([0.4]))
    assert none["scale_basis"].iloc[0] == "none" and pd.isna(none["scale_figure"].iloc[0])


def test_log_scaled_between_floor_and_top() -> None:
    x = pd.Series([100.0, 1000.0, 10.0, None])
    got = log_scaled(x, 100.0, 10000.0)
    expected = (math.log1p(1000) - math.log1p(100)) / (math.log1p(10000) - math.log1p(100))
    assert list(got.iloc[[0, 2, 3]]) == [0.0, 0.0, 0.0]
    assert got.iloc[1] == pytest.approx(expected)
    assert list(log_scaled(pd.Series([5.0, 3.0]), 5.0, 5.0)) == [1.0, 0.0]


def test_staff_from_capital_recovers_the_relation() -> None:
    capital = pd.Series(np.geomspace(100, 1e6, 40))
    staff = pd.Series(np.exp(1.0 + 0.5 * np.log(capital)))
    a, b, most = staff_from_capital(staff, capital) or (0.0, 0.0, 0.0)
    assert (a, b) == (pytest.approx(1.0), pytest.approx(0.5))
    assert most == pytest.approx(1e6)
    assert staff_from_capital(staff.head(10), capital.head(10)) is None  # too few
    assert staff_from_capital(staff[::-1].reset_index(drop=True), capital) is None  # b < 0


def test_score_leaders_by_hand() -> None:
    firms = _firms(factor=[1.0, 0.5, 1.0, 0.0])
    scored = score_leaders(firms).set_index("company_id")
    assert "D" not in scored.index  # factor 0: excluded
    assert list(scored["breadth"].loc[["A", "B", "C"]]) == [0.25, 0.5, 1.0]
    # A and B sit at PageRank's floor (0.1, no supply link): no centrality, no penalty
    assert list(scored["centrality"].loc[["A", "B"]]) == [0.0, 0.0]
    assert scored.loc["C", "centrality"] > 0
    for cid in "ABC":
        row = scored.loc[cid]
        raw = sum(w * row[k] for k, w in LEADER_WEIGHTS.items())
        assert row["raw_score"] == pytest.approx(raw)
        assert row["score"] == pytest.approx(raw * row["factor"])
    # employees-based figures: A 5,000 is the top, C 100 the floor quantile's side
    assert scored.loc["A", "scale"] == 1.0
    assert scored.loc["A", "scale"] > scored.loc["B", "scale"] > scored.loc["C", "scale"]
    assert list(scored.index) == list(scored.sort_values("score", ascending=False).index)
    assert score_leaders(firms.iloc[0:0]).empty


def test_primary_rules() -> None:
    share = pd.Series([0.5, 0.2, None, None])
    elsewhere = pd.Series([None, None, 0.9, 0.1])
    assert list(is_primary(share, elsewhere)) == [True, False, False, True]
    production = pd.Series({"A": 0.6, "B": None, "C": 0.2})
    other = pd.Series({"A": 1.0, "C": 0.1})
    assert list(production_first(production, other)) == [False, True, True]
    assert math.isnan(known_share(pd.Series([0.001])))  # the KG's "share not known"
    assert known_share(pd.Series([0.7, 0.5, 0.001])) == 1.0


def test_most_specific_and_shares(leader_db: Database) -> None:
    chain = chain_from_text(leader_db, "biomedicine")
    nodes = ["bm_formulations", "bm_injectables", "bm_api", "bm_chem_drugs"]
    assert most_specific(nodes, chain) == ["bm_api", "bm_injectables"]
    products = pd.DataFrame({
        "company_id": ["A", "A", "A", "B"],
        "node_id": ["bm_injectables", "bm_oral_solid", "bm_api", "bm_oral_solid"],
        "product": ["针剂", "片剂", "针剂", "片剂"], "share": [0.6, 0.2, 0.6, 0.001]})
    shares = node_shares(products, chain).set_index(["company_id", "node_id"])["share"]
    assert shares.loc[("A", "bm_formulations")] == pytest.approx(0.8)
    assert shares.loc[("A", "bm_chem_drugs")] == pytest.approx(0.8)  # 针剂 counts once
    assert math.isnan(shares.loc[("B", "bm_oral_solid")])
    by_set = set_share(products, ["bm_api", "bm_injectables"])
    assert by_set.loc["A"] == pytest.approx(0.6)


def test_raw_zh_names_the_figures() -> None:
    raw = {"scale_basis": "capital_staff×share", "chain_revenue_share": 0.5,
           "registered_capital": 12000.0, "staff_estimate": 800.0, "scale_figure": 400.0,
           "scale_floor": 50.0, "scale_top": 9000.0, "employees": None,
           "primary_nodes_zh": ["化学原料药"], "nodes_covered": 1, "pagerank": 0.0,
           "linked_firms": 0}
    text = raw_zh(raw)
    assert "注册资本 12,000 万元" in text["scale"] and "折合约 800 人" in text["scale"]
    assert "50%" in text["scale"]
    assert text["breadth"] == "主营 1 个环节：化学原料药"
    assert "不扣分" in text["centrality"]
