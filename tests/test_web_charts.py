"""ECharts option builders (chainatlas.web.charts): structure, colours, layout, escaping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chainatlas.web import charts

XSS = "<script>alert(1)</script>"


def _node(node_id: str, stage: str, cls: str, national: int, *, parent: str | None = None,
          level: int = 2, local: int = 0, leaders: list[dict[str, Any]] | None = None,
          name: str | None = None) -> dict[str, Any]:
    return {"node_id": node_id, "name_zh": name or f"环节{node_id}", "stage": stage,
            "parent": parent, "level": level, "is_leaf": level > 1, "class": cls,
            "national_firms": national, "local_firms": local, "local_listed": local,
            "lq": 1.5 if cls == "强" else 0.0, "local_leaders": leaders or []}


def _profile() -> dict[str, Any]:
    return {"chain_id": "demo", "chain_name": "示例", "nodes": [
        _node("u", "上游", "缺", 40, level=1),
        _node("u1", "上游", "缺", 10, parent="u"),
        _node("u2", "上游", "弱", 30, parent="u", local=1),
        _node("m", "中游", "强", 90, level=1, local=3),
        _node("m1", "中游", "强", 60, parent="m", local=3,
              leaders=[{"company_id": "x", "short_name": XSS}]),
        _node("m1a", "中游", "强", 5, parent="m1", level=3, local=1),
        _node("d1", "下游", "缺", 0, level=1, name=XSS)]}


EDGES = [{"source": "u1", "target": "m1", "note_zh": "原料"},
         {"source": "u2", "target": "m1", "note_zh": None},
         {"source": "m1", "target": "d1", "note_zh": "<b>供应</b>"},
         {"source": "u1", "target": "u2", "note_zh": "同段"},
         {"source": "u1", "target": "missing", "note_zh": "dangling"}]


def _boxes(option: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in option["series"][0]["data"] if not d.get("port")}


def test_chain_graph_structure_and_colours() -> None:
    option = charts.chain_graph_option(_profile(), EDGES)
    series = option["series"][0]
    assert series["type"] == "graph" and series["layout"] == "none"
    boxes = _boxes(option)
    assert set(boxes) == {"u", "u1", "u2", "m", "m1", "m1a", "d1"}
    for box in boxes.values():
        assert box["itemStyle"]["color"] == charts.CLASS_COLOURS[box["class"]]
    assert option["tooltip"][":formatter"] == charts.TIP_FORMATTER
    json.dumps(option)  # plain JSON: NiceGUI sends it as is


def test_chain_graph_columns_follow_stages() -> None:
    boxes = _boxes(charts.chain_graph_option(_profile(), EDGES))
    up, mid, down = boxes["u1"]["x"], boxes["m1"]["x"], boxes["d1"]["x"]
    assert up < mid < down
    # a parent sits above its children, children are indented under it
    assert boxes["m"]["y"] < boxes["m1"]["y"] < boxes["m1a"]["y"]
    assert boxes["m"]["symbolSize"][0] > boxes["m1"]["symbolSize"][0] > \
        boxes["m1a"]["symbolSize"][0]


def test_chain_graph_boxes_never_overlap() -> None:
    option = charts.chain_graph_option(_profile(), EDGES)
    boxes = list(_boxes(option).values())
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            (aw, ah), (bw, bh) = a["symbolSize"], b["symbolSize"]
            apart_x = abs(a["x"] - b["x"]) >= (aw + bw) / 2
            apart_y = abs(a["y"] - b["y"]) >= (ah + bh) / 2
            assert apart_x or apart_y, (a["id"], b["id"])
    width, height = charts.chart_size(option)
    for box in boxes:
        assert box["x"] - box["symbolSize"][0] / 2 >= 0
        assert box["x"] + box["symbolSize"][0] / 2 <= width
        assert box["y"] - box["symbolSize"][1] / 2 >= 0
        assert box["y"] + box["symbolSize"][1] / 2 <= height


def test_box_heights_grow_with_national_firms() -> None:
    boxes = _boxes(charts.chain_graph_option(_profile(), EDGES))
    by_firms = sorted(boxes.values(), key=lambda b: b["national_firms"])
    heights = [b["symbolSize"][1] for b in by_firms]
    assert heights == sorted(heights)
    assert heights[0] == charts.BOX_MIN_HEIGHT and heights[-1] == charts.BOX_MAX_HEIGHT
    assert charts.box_height(0, 0) == charts.BOX_MIN_HEIGHT


def test_chain_graph_edges_attach_to_ports() -> None:
    option = charts.chain_graph_option(_profile(), EDGES)
    ids = {d["id"] for d in option["series"][0]["data"]}
    links = option["series"][0]["links"]
    assert len(links) == 4  # the dangling edge is dropped
    for link in links:
        assert link["source"] in ids and link["target"] in ids
    across = next(k for k in links if k["edge"] == ["u1", "m1"])
    assert (across["source"], across["target"]) == ("u1::out", "m1::in")
    same = next(k for k in links if k["edge"] == ["u1", "u2"])
    assert same["target"] == "u2::out" and same["lineStyle"]["curveness"] > 0


def test_selected_node_highlights_its_edges() -> None:
    option = charts.chain_graph_option(_profile(), EDGES, selected="m1")
    links = {tuple(k["edge"]): k for k in option["series"][0]["links"]}
    assert links[("u1", "m1")]["lineStyle"]["color"] == charts.UPSTREAM_EDGE
    assert links[("m1", "d1")]["lineStyle"]["color"] == charts.DOWNSTREAM_EDGE
    assert links[("u1", "u2")]["lineStyle"]["opacity"] < 0.5
    boxes = _boxes(option)
    assert boxes["m1"]["itemStyle"]["shadowColor"] == charts.ACCENT
    assert boxes["m"]["itemStyle"]["opacity"] < 1  # unrelated boxes fade
    assert "opacity" not in boxes["u1"]["itemStyle"]  # linked ones do not


def test_chain_graph_escapes_names_in_tooltips() -> None:
    option = charts.chain_graph_option(_profile(), EDGES)
    boxes = _boxes(option)
    assert XSS not in boxes["d1"]["tip"] and "&lt;script&gt;" in boxes["d1"]["tip"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in boxes["m1"]["tip"]  # a local leader
    edge = next(k for k in option["series"][0]["links"] if k["edge"] == ["m1", "d1"])
    assert "<b>供应</b>" not in edge["tip"] and "&lt;b&gt;供应" in edge["tip"]
    # the canvas label keeps the text (ECharts draws it, never parses it as HTML)
    assert "alert(1)" in boxes["d1"]["label"]["formatter"]


def test_chain_graph_tooltips_name_the_universe_and_lq_basis() -> None:
    listed = _boxes(charts.chain_graph_option(_profile(), EDGES))
    assert "全国上市企业 60 家，本地上市企业 3 家" in listed["m1"]["tip"]
    assert "区位商 1.50<" in listed["m1"]["tip"]
    profile = {**_profile(), "universe": "all", "lq_basis": {"origin": "registry"}}
    everything = _boxes(charts.chain_graph_option(profile, EDGES))
    assert "全部企业 60 家，本地企业 3 家" in everything["m1"]["tip"]
    assert "区位商 1.50（按工商登记企业）" in everything["m1"]["tip"]
    registry = _boxes(charts.chain_graph_option({**_profile(), "universe": "registry"}, EDGES))
    assert "已载入工商登记企业 60 家" in registry["m1"]["tip"]  # never 全国: partial data
    assert charts.universe_of({"universe": "nonsense"}) == "listed"


def test_chain_graph_empty_profile() -> None:
    option = charts.chain_graph_option({"nodes": []}, [])
    boxes = _boxes(option)
    assert boxes == {}
    assert option["series"][0]["links"] == []
    width, height = charts.chart_size(option)
    assert width > 0 and height > 0
    assert [g["style"]["text"] for g in option["graphic"] if g["type"] == "text"
            and g["style"]["text"] in charts.STAGES] == list(charts.STAGES)


def test_stage_columns_keep_unknown_stages_last() -> None:
    nodes = [_node("a", "其他", "缺", 1, level=1), _node("b", "上游", "缺", 1, level=1)]
    assert [s for s, _ in charts.stage_columns(nodes)] == ["上游", "中游", "下游", "其他"]


MAP = {"chain_name": "生物医药", "node_name": None, "areas": [
    {"adcode": "440000", "name": "广东省", "firms": 57, "top_firms": ["康美", XSS]},
    {"adcode": "130000", "name": "河北省", "firms": 5, "top_firms": []}]}


def test_china_map_option() -> None:
    option = charts.china_map_option(MAP, "china", highlight="河北省")
    series = option["series"][0]
    assert series["type"] == "map" and series["map"] == "china"
    values = {d["name"]: d["value"] for d in series["data"]}
    assert values == {"广东省": 57, "河北省": 5}
    assert option["visualMap"]["max"] == 57
    hebei = next(d for d in series["data"] if d["name"] == "河北省")
    assert hebei["itemStyle"]["borderColor"] == charts.ACCENT
    canton = next(d for d in series["data"] if d["name"] == "广东省")
    assert "&lt;script&gt;" in canton["tip"] and XSS not in canton["tip"]
    assert option["tooltip"][":formatter"] == charts.MAP_TIP_FORMATTER


def test_map_highlight_without_firms_and_empty_map() -> None:
    option = charts.city_map_option({"chain_name": "x", "areas": []}, "province-130000",
                                    highlight="石家庄市")
    series = option["series"][0]
    assert series["map"] == "province-130000" and series["label"]["show"] is True
    assert series["data"] == [{"name": "石家庄市", "value": 0, "adcode": "",
                               "tip": "<b>石家庄市</b><br/>x上市企业 0 家",
                               "itemStyle": {"borderColor": charts.ACCENT,
                                             "borderWidth": 2.2}}]
    assert option["visualMap"]["max"] == 1


def test_map_tips_name_the_universe() -> None:
    registry = charts.china_map_option({**MAP, "universe": "registry"}, "china")
    tips = {d["name"]: d["tip"] for d in registry["series"][0]["data"]}
    assert "工商登记企业 5 家" in tips["河北省"]
    everything = charts.china_map_option({**MAP, "universe": "all"}, "china")
    assert "企业 57 家" in everything["series"][0]["data"][0]["tip"]
    assert "上市企业" not in everything["series"][0]["data"][0]["tip"]


def test_firm_pin_option() -> None:
    option = charts.firm_pin_option(XSS, 114.5, 38.0, "province-130000", "石家庄市", "河北省")
    assert option["geo"]["map"] == "province-130000"
    assert option["geo"]["regions"][0]["name"] == "石家庄市"
    pin = option["series"][0]
    assert pin["type"] == "scatter" and pin["coordinateSystem"] == "geo"
    assert pin["data"][0]["value"] == [114.5, 38.0]
    assert XSS not in pin["data"][0]["tip"]
    unplaced = charts.firm_pin_option("x", None, None, "china")
    assert unplaced["series"] == [] and "regions" not in unplaced["geo"]


RANKED = [{"name": XSS, "score": 0.8,
           "components": {"fit": {"value": 0.9, "weight": 0.25}, "strength": {"value": 0.5},
                          "links": {"value": 0.0}, "proximity": {"value": 1.2}}},
          {"name": "乙", "score": 0.4, "components": {"fit": 0.2, "strength": None}}]
WEIGHTS = {"fit": 0.25, "strength": 0.30, "links": 0.25, "proximity": 0.20}
LABELS = {"fit": "匹配", "strength": "实力", "links": "关联", "proximity": "邻近"}


def test_component_bars_option() -> None:
    option = charts.component_bars_option(RANKED, list(WEIGHTS), LABELS, WEIGHTS)
    assert [s["type"] for s in option["series"]] == ["bar"] * 4
    assert {s["stack"] for s in option["series"]} == {"score"}
    assert [s["name"] for s in option["series"]] == list(LABELS.values())
    # best on top: ECharts draws the first category at the bottom
    assert option["yAxis"]["data"] == ["乙", XSS]
    fit = option["series"][0]["data"]
    assert fit[1]["value"] == pytest.approx(0.25 * 0.9)
    proximity = option["series"][3]["data"]
    assert proximity[1]["value"] == pytest.approx(0.20)  # clipped to 1
    assert option["series"][1]["data"][0]["value"] == 0  # None counts 0
    assert option["xAxis"]["max"] == pytest.approx(1.0)
    tip = fit[1]["tip"]
    assert XSS not in tip and "&lt;script&gt;" in tip and "匹配：0.90" in tip


def test_component_bars_unweighted_and_empty() -> None:
    option = charts.component_bars_option(RANKED, ["fit"], LABELS)
    assert option["series"][0]["data"][1]["value"] == pytest.approx(0.9)
    empty = charts.component_bars_option([], list(WEIGHTS), LABELS, WEIGHTS)
    assert empty["yAxis"]["data"] == [] and all(s["data"] == [] for s in empty["series"])


def test_products_bar_option() -> None:
    products = [{"name": "甲", "revenue_share": 0.2, "kind": "product"},
                {"name": XSS, "revenue_share": 0.7, "kind": "product"},
                {"name": "抵销", "revenue_share": -0.1, "kind": "product"},
                {"name": "调整", "revenue_share": 0.1, "kind": "accounting"},
                {"name": "无", "revenue_share": None, "kind": "product"}]
    option = charts.products_bar_option(products)
    assert option["yAxis"]["data"] == ["甲", XSS]  # largest on top
    data = option["series"][0]["data"]
    assert [d["value"] for d in data] == [20.0, 70.0]
    assert XSS not in data[1]["tip"]
    assert charts.products_bar_option([])["series"][0]["data"] == []


def test_class_counts_option() -> None:
    chains = [{"chain_id": "a", "name": "甲链", "summary": {"强": 2, "弱": 1, "缺": 3}},
              {"chain_id": "b", "name": XSS, "summary": {"强": 0, "弱": 0, "缺": 1}}]
    option = charts.class_counts_option(chains)
    assert [s["itemStyle"]["color"] for s in option["series"]] == [
        charts.CLASS_COLOURS[c] for c in ("强", "弱", "缺")]
    assert option["yAxis"]["data"] == [XSS, "甲链"]
    strong = option["series"][0]["data"]
    assert [d["value"] for d in strong] == [0, 2]
    assert strong[1]["chain_id"] == "a" and "2 / 6" in strong[1]["tip"]
    assert XSS not in strong[0]["tip"]


def test_esc() -> None:
    assert charts.esc(None) == ""
    assert charts.esc("a<b>&'\"") == "a&lt;b&gt;&amp;&#x27;&quot;"
