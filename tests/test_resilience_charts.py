"""The 韧性分析 page's chart options (pure) and the status rule they colour by."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from chainatlas.analysis import resilience_report
from chainatlas.analysis.overview import chain_edges
from chainatlas.analysis.resilience_views import (
    resilience_view,
    theta_rows,
    unit_status,
    whatif_rows,
)
from chainatlas.store import Database
from chainatlas.store.lookup import as_chain
from chainatlas.web import resilience_charts as rc
from tests.resilience_helpers import TINY_POINTS
from tests.test_recommend_nodes import _build


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, list[dict[str, Any]],
                                                            list[dict[str, Any]]]:
    db = _build(Path(tmp_path_factory.mktemp("resilience-charts")))
    chain = as_chain(db, "tiny")
    return db, [dataclasses.asdict(n) for n in chain.nodes], chain_edges(db, chain)


@pytest.fixture(autouse=True)
def tiny_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resilience_report, "builtin_chokepoints", lambda: TINY_POINTS)


def _boxes(option: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in option["series"][0]["data"]
            if not d.get("port") and not str(d["id"]).startswith("__anchor")}


def test_unit_status_rule() -> None:
    assert unit_status({"local_firms": 0}) == "missing"
    assert unit_status({"local_firms": 1, "self_sufficient_0.5": True}) == "spof"
    assert unit_status({"local_firms": 3, "self_sufficient_0.5": True}) == "self"
    assert unit_status({"local_firms": 3, "self_sufficient_0.5": False}) == "dependent"
    assert unit_status({"local_firms": 3, "self_sufficient_1": True}, 1.0) == "self"
    assert unit_status({"local_firms": 3}, 0.5, {"lost_local": True}) == "lost_local"
    assert unit_status({"local_firms": 3}, 0.5, {"lost_domestic": True,
                                                 "lost_local": True}) == "lost_domestic"


def test_graph_is_coloured_by_resilience(tiny: Any) -> None:
    db, nodes, edges = tiny
    result = resilience_view(db, "石家庄市", "tiny")["resilience"]
    boxes = _boxes(rc.resilience_graph_option(nodes, edges, result))
    assert boxes["tn_w"]["status"] == "spof"
    assert boxes["tn_w"]["itemStyle"]["color"] == rc.STATUS_COLOURS["spof"]
    assert boxes["tn_b"]["status"] == "missing"
    assert boxes["tn_g"]["status"] == "outside"  # a parent: not in the model, named only
    assert boxes["tn_g"]["label"]["formatter"] == "{n|庚系统}"
    # 卡脖子 nodes carry the red tag; others do not
    assert boxes["tn_b"]["chokepoint"] and boxes["tn_b"]["label"]["formatter"].startswith("{k|卡}")
    assert "k" not in boxes["tn_w"]["label"]["rich"]
    assert "小戊配件" in boxes["tn_w"]["tip"] and "乙部件芯片" in boxes["tn_b"]["tip"]
    # the chain page's layout: columns by stage, supply edges kept
    assert len(rc.resilience_graph_option(nodes, edges, result)["series"][0]["links"]) == len(
        [e for e in edges if e["source"] != e["target"]])


def test_whatif_recolours_the_graph(tiny: Any) -> None:
    db, nodes, edges = tiny
    view = resilience_view(db, "石家庄市", "tiny", ["唐山市"])
    boxes = _boxes(rc.resilience_graph_option(nodes, edges, view["resilience"], view["whatif"]))
    assert {k for k, b in boxes.items() if b["status"] == "lost_domestic"} == {
        "tn_b", "tn_c", "tn_d"}
    assert boxes["tn_a"]["status"] == "spof"
    assert "推演：全国企业 1 → 0" in boxes["tn_b"]["tip"]
    counts = rc.status_counts(view["resilience"], view["whatif"])
    assert counts["lost_domestic"] == 3 and sum(counts.values()) == 8
    lenient = resilience_view(db, "石家庄市", "tiny", ["唐山市"], theta=1.0)
    soft = _boxes(rc.resilience_graph_option(nodes, edges, lenient["resilience"],
                                             lenient["whatif"]))
    assert soft["tn_c"]["status"] == "spof"  # θ = 1: 戊配件 alone keeps 丙整机 running


def test_tooltips_escape_names(tiny: Any) -> None:
    unit = {"name_zh": "<script>x</script>", "local_firms": 1, "province_firms": 1,
            "national_firms": 2, "single_local_firm": True, "sole_firm_name": "<b>y</b>",
            "chokepoints": ["<i>z</i>"], "influence": 0.5, "local_influence": 0.1}
    tip = rc.unit_tip(unit, "spof", 0.5)
    assert "<script>" not in tip and "&lt;script&gt;" in tip and "&lt;b&gt;y" in tip
    assert "&lt;i&gt;z" in tip


def test_curves_and_theta_options(tiny: Any) -> None:
    db = tiny[0]
    report = resilience_report.removal_curves_report(db, "tiny", "石家庄市", runs=4,
                                                     fractions=(0.0, 0.5, 1.0))
    option = rc.curves_option(report)
    names = [s["name"] for s in option["series"]]
    assert names[:3] == ["随机移除", "随机移除 5%", "随机移除 95%"] and len(names) == 5
    assert option["series"][0]["data"][0] == [0.0, 0.0]
    assert option["series"][0]["data"][-1] == [100.0, 100.0]
    assert "本地供应" in option["yAxis"]["name"]
    result = resilience_view(db, "石家庄市", "tiny")["resilience"]
    bars = rc.theta_option(theta_rows(result))
    assert bars["xAxis"]["data"] == ["θ=0.25", "θ=0.5", "θ=1"]
    assert [d["value"] for d in bars["series"][0]["data"]] == [3, 3, 5]
    assert bars["series"][0]["data"][1]["itemStyle"]["color"] == rc.charts.PRIMARY


def test_whatif_rows_per_theta(tiny: Any) -> None:
    view = resilience_view(tiny[0], "石家庄市", "tiny", ["唐乙"])
    rows = {r["theta"]: r for r in whatif_rows(view["whatif"])}
    assert rows[0.5]["lost_local_names"] == ["丙整机", "丁服务"] and rows[0.5]["chosen"]
    assert rows[1.0]["lost_local"] == 0 and rows[1.0]["lost_domestic_names"] == ["乙部件"]


def test_legend_lists_every_status() -> None:
    assert [s for s, *_ in rc.legend()] == list(rc.STATUS_COLOURS)
