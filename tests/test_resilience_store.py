"""Resilience entry points on a tiny in-memory store (the chain of test_recommend_nodes).

    甲原料 -> 乙部件 -> 丙整机 -> 丁服务      戊配件 -> 丙整机      己孤件, 庚一, 庚二

石家庄 (130100) has 甲原料, 丙整机, 庚一, one 戊配件 and 丁服务; 乙部件 is made only in
唐山 (130200); 苏州 (320500) has eleven 戊配件 firms, 己孤件, 丁服务 and 庚二.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chainatlas.analysis.resilience_graph import chain_network, inner_rows, production_leaves
from chainatlas.analysis.resilience_report import (
    region_resilience,
    region_whatif,
    removal_curves_report,
    scan_regions,
)
from chainatlas.store import Database
from chainatlas.store.lookup import as_chain
from tests.test_recommend_nodes import _build


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    return _build(Path(tmp_path_factory.mktemp("resilience")))


def _units(items: list[dict[str, str]]) -> set[str]:
    return {i["unit_id"] for i in items}


def test_node_network_from_the_store(tiny_db: Database) -> None:
    net = chain_network(tiny_db, "tiny")
    assert list(net.units) == production_leaves(as_chain(tiny_db, "tiny"))
    by_unit = dict(zip(net.units, net.national.tolist(), strict=True))
    assert by_unit["tn_w"] == 12 and by_unit["tn_b"] == 1
    assert ("tn_b", "tn_c") in {(net.units[a], net.units[b]) for a, b in net.edges}
    assert (net.member_size > 0).all()  # capital read as staff for every firm


def test_region_resilience_of_shijiazhuang(tiny_db: Database) -> None:
    out = region_resilience(tiny_db, "石家庄市", "tiny")
    units = {u["unit_id"]: u for u in out["units"]}
    assert units["tn_b"]["local_firms"] == 0 and units["tn_b"]["national_firms"] == 1
    assert units["tn_w"]["local_firms"] == 1 and units["tn_w"]["single_local_firm"]
    assert units["tn_w"]["local_share_count"] == pytest.approx(1 / 12, abs=1e-4)
    assert units["tn_b"]["influence"] > 0  # 丙整机 and 丁服务 hang on 唐山's 乙部件
    assert not units["tn_c"]["self_sufficient_0.25"]  # 乙部件 comes from outside
    assert units["tn_a"]["self_sufficient_1"]  # a raw material needs nothing
    assert out["summary"]["single_points_of_failure"] == 5
    assert out["level"] == "node" and out["limits_zh"] and out["universe"] == "listed"


def test_whatif_removing_tangshan(tiny_db: Database) -> None:
    out = region_whatif(tiny_db, "石家庄市", "tiny", remove_regions=["唐山市"])
    half, lenient = out["by_theta"]["0.5"], out["by_theta"]["1"]
    # 乙部件 is gone nationally; 丙整机 loses one of its two inputs (≥ θ 0.5), then 丁服务
    assert _units(half["lost_domestic"]) == {"tn_b", "tn_c", "tn_d"}
    assert _units(half["lost_local"]) == {"tn_c", "tn_d"}
    assert _units(lenient["lost_local"]) == set()  # 戊配件 still feeds 丙整机
    assert out["removed"]["regions"][0]["name"] == "唐山市"
    firm = region_whatif(tiny_db, "石家庄市", "tiny", firms=["唐乙"])
    assert _units(firm["by_theta"]["0.5"]["lost_local"]) == {"tn_c", "tn_d"}


def test_curves_and_scan(tiny_db: Database) -> None:
    curves = removal_curves_report(tiny_db, "tiny", "石家庄市", runs=5,
                                   fractions=(0.0, 1.0))
    assert curves["population"] == 5
    assert {c["mean"] for c in curves["curves"] if c["fraction"] == 1.0} == {1.0}
    scan = scan_regions(tiny_db, "tiny", ["石家庄市", "苏州市"])
    assert set(scan["region_name"]) == {"石家庄市", "苏州市"}
    assert len(scan) == 2 * len(production_leaves(as_chain(tiny_db, "tiny")))


def test_product_level_uses_listed_products(tiny_db: Database) -> None:
    out = region_resilience(tiny_db, "石家庄市", "tiny", level="product")
    units = {u["unit_id"]: u for u in out["units"]}
    assert "丙整机" in units and units["丙整机"]["node_id"] == "tn_c"
    assert out["level_zh"] == "产品"
    net = chain_network(tiny_db, "tiny", "product")
    edges = {(net.units[a], net.units[b]) for a, b in net.edges}
    assert {("丙整机", "丁服务"), ("甲原料", "戊配件"), ("丙整机", "乙部件")} <= edges
    lost = region_whatif(tiny_db, "石家庄市", "tiny", firms=["甲源科技", "唐甲"],
                         level="product")["by_theta"]["0.5"]
    # 甲原料 gone, so 戊配件 (its product input) falls with it, nationally and locally
    assert _units(lost["lost_domestic"]) == {"甲原料", "戊配件"}
    assert _units(lost["lost_local"]) == {"甲原料", "戊配件"}
    assert not any("工商登记企业按" in t for t in out["limits_zh"])


def test_a_firm_known_only_on_an_inner_node_supplies_each_leaf_below_it() -> None:
    spread = pd.DataFrame([{"company_id": "HB", "inner_node": "fm", "share": 0.9,
                            "employees": 100.0, "registered_capital": None,
                            "firm_name": "华北制药", "province_adcode": "130000",
                            "city_adcode": "130100", "region_adcode": "130102"},
                           {"company_id": "X", "inner_node": "dev", "share": None,
                            "employees": 5.0, "registered_capital": None,
                            "firm_name": "某器械", "province_adcode": "110000",
                            "city_adcode": "110100", "region_adcode": "110105"}])
    rows = inner_rows(spread, {"fm": ["oral", "inj", "new"], "dev": ["img"]})
    assert list(zip(rows["company_id"], rows["unit"], strict=True)) == [
        ("HB", "oral"), ("HB", "inj"), ("HB", "new"), ("X", "img")]
    assert rows["share"].iloc[:3].tolist() == pytest.approx([0.3, 0.3, 0.3])
    assert pd.isna(rows["share"].iloc[3]) and "inner_node" not in rows.columns
    assert inner_rows(spread.iloc[:0], {}).empty


def test_firms_on_inner_nodes_only_are_counted_as_left_out(tiny_db: Database) -> None:
    out = region_resilience(tiny_db, "石家庄市", "tiny")
    assert out["inner_only_firms"] == 0  # every tiny firm sits on a leaf
    assert out["firms"] == len(chain_network(tiny_db, "tiny").firm_ids)
    assert any("inner_only_firms" in t for t in out["limits"])
