"""ECharts options for the web pages: pure functions from analysis results to plain dicts.

Every function here is side-effect free and returns a JSON-able dict that ``ui.echart``
sends to the browser unchanged, so the charts are unit-tested without a browser.

Every figure is of one firm universe (listed, registry or all firms): the builders read
the result's ``universe`` (and the profile's ``lq_basis``) and label counts accordingly,
with :mod:`chainatlas.analysis.regional`'s wording.

Untrusted text (firm and product names) reaches two places in an option: canvas text
(axis labels, series labels), which ECharts draws as plain text, and tooltips, which
ECharts renders as HTML. Tooltips are therefore precomputed here as escaped HTML in each
data item's ``tip`` field, and the option's ``:formatter`` (a JavaScript function that
NiceGUI converts on the client) only returns that field.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chainatlas.analysis.regional import FIRMS_NOUN_ZH, NATIONAL_ZH

#: Local fonts only (nothing is loaded from outside the server); WenQuanYi on Debian.
FONT = ("'WenQuanYi Micro Hei', 'Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', "
        "'Helvetica Neue', Arial, sans-serif")
STAGES = ("上游", "中游", "下游")
#: Fill colour per node class: 强 green, 弱 amber, 缺 grey-red.
CLASS_COLOURS = {"强": "#2E9D5B", "弱": "#F0B429", "缺": "#EDE3E3"}
CLASS_BORDERS = {"强": "#1E7A43", "弱": "#C98A0B", "缺": "#CFAFAF"}
CLASS_TEXT = {"强": "#FFFFFF", "弱": "#4A3200", "缺": "#6B4848"}
CLASS_NAMES = {"强": "优势环节", "弱": "薄弱环节", "缺": "缺失环节"}
#: Series colours for score components and other categorical bars.
PALETTE = ("#1D4F91", "#3BA272", "#F0B429", "#EE6666", "#73C0DE", "#9A60B4", "#FC8452")
PRIMARY = "#1D4F91"
ACCENT = "#C8102E"
UPSTREAM_EDGE = "#2F6FD6"
DOWNSTREAM_EDGE = "#E5532D"

# The tooltip formatter: every data item carries its escaped HTML in ``tip``; an axis
# tooltip passes a list of items, whose first one speaks for the row.
TIP_FORMATTER = ("(p) => { const q = Array.isArray(p) ? p[0] : p; "
                 "return (q && q.data && q.data.tip) ? q.data.tip : ''; }")
# Map areas without data have no ``tip``: fall back to the area's name, escaped on the
# client too (the name comes from our own GeoJSON, but escaping costs nothing).
MAP_TIP_FORMATTER = (
    "(p) => (p && p.data && p.data.tip) ? p.data.tip : "
    "String((p && p.name) || '').replace(/[&<>\"']/g, "
    "(c) => '&#' + c.charCodeAt(0) + ';') + '<br/>暂无企业'")

# Chain graph geometry, in pixels: the option pins the graph to exactly this canvas, so
# boxes never overlap whatever the chain (see chain_graph_option).
COLUMN_WIDTH = 300
COLUMN_GAP = 110
ROW_HEIGHT = 28
GROUP_GAP = 8
INDENT = 14
PAD_X = 16
PAD_RIGHT = 52  # room for same-stage edges bowing right of the last column
HEADER_HEIGHT = 58
PAD_BOTTOM = 16
BOX_MIN_HEIGHT = 18
BOX_MAX_HEIGHT = 26
COUNT_WIDTH = 92


def esc(value: Any) -> str:
    """HTML-escape any value for a tooltip (None becomes an empty string)."""
    return "" if value is None else html.escape(str(value), quote=True)


def _base(**extra: Any) -> dict[str, Any]:
    """Options every chart shares: local font, no animation delay on first paint."""
    return {"textStyle": {"fontFamily": FONT}, "animationDuration": 400, **extra}


def _tooltip(formatter: str = TIP_FORMATTER, trigger: str = "item") -> dict[str, Any]:
    return {"trigger": trigger, "confine": True, ":formatter": formatter,
            "backgroundColor": "rgba(255,255,255,0.97)", "borderColor": "#D0D7E2",
            "textStyle": {"color": "#1F2937", "fontSize": 12, "fontFamily": FONT},
            "extraCssText": "max-width:360px;white-space:normal;"
                            "box-shadow:0 4px 14px rgba(15,35,70,.15);"}


# -- chain graph ------------------------------------------------------------------------
def ordered_nodes(nodes: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Nodes depth-first (each parent directly above its children), keeping file order."""
    ids = {str(n["node_id"]) for n in nodes}
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for node in nodes:
        parent = node.get("parent")
        key = str(parent) if parent is not None and str(parent) in ids else None
        children.setdefault(key, []).append(node)
    out: list[Mapping[str, Any]] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children.get(str(node["node_id"]), [])))
    return out


def stage_columns(nodes: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """(stage, nodes depth-first) per column: 上游, 中游, 下游, then any other stage."""
    stages = list(STAGES) + sorted({str(n["stage"]) for n in nodes} - set(STAGES))
    ordered = ordered_nodes(nodes)
    columns = []
    for stage in stages:
        members = [n for n in ordered if str(n["stage"]) == stage]
        if members or stage in STAGES:
            columns.append((stage, members))
    return columns


def box_height(firms: int, most: int) -> float:
    """Box height grows with the square root of the national firm count (area-like)."""
    if most <= 0 or firms <= 0:
        return float(BOX_MIN_HEIGHT)
    share = min(1.0, firms / most)
    return round(BOX_MIN_HEIGHT + (BOX_MAX_HEIGHT - BOX_MIN_HEIGHT) * math.sqrt(share), 1)


def universe_of(result: Mapping[str, Any]) -> str:
    """The universe a result names (listed for results from before universes)."""
    universe = str(result.get("universe") or "listed")
    return universe if universe in NATIONAL_ZH else "listed"


def _lq_hint(profile: Mapping[str, Any]) -> str:
    basis = profile.get("lq_basis") or {}
    return "（按工商登记企业）" if basis.get("origin") == "registry" else ""


def _node_tip(node: Mapping[str, Any], universe: str = "listed", lq_hint: str = "") -> str:
    cls = str(node.get("class", "缺"))
    leaders = "、".join(esc(f.get("short_name") or f.get("company_id"))
                       for f in node.get("local_leaders", []))
    lines = [f"<b>{esc(node['name_zh'])}</b>",
             f"{esc(node['stage'])} · <span style='color:{CLASS_BORDERS.get(cls, '#666')}'>"
             f"{esc(cls)}（{esc(CLASS_NAMES.get(cls, ''))}）</span>",
             f"{NATIONAL_ZH[universe]} {int(node.get('national_firms', 0))} 家，"
             f"本地{FIRMS_NOUN_ZH[universe]} {int(node.get('local_firms', 0))} 家",
             f"区位商 {float(node.get('lq', 0.0)):.2f}{lq_hint}"]
    if leaders:
        lines.append(f"本地代表企业：{leaders}")
    lines.append("<span style='color:#6B7280'>点击查看企业名单</span>")
    return "<br/>".join(lines)


def _node_label(node: Mapping[str, Any], width: float) -> dict[str, Any]:
    cls = str(node.get("class", "缺"))
    colour = CLASS_TEXT.get(cls, "#333")
    local = int(node.get("local_firms", 0))
    counts = f"本地{local}·" if local else ""
    counts += f"全国{int(node.get('national_firms', 0))}"
    bold = "bold" if int(node.get("level", 1)) == 1 else "normal"
    return {
        "show": True, "position": "insideLeft", "padding": [0, 0, 0, 8],
        "formatter": "{n|" + _rich_safe(str(node["name_zh"])) + "}{c|" + counts + "}",
        "rich": {"n": {"width": max(40.0, width - COUNT_WIDTH - 22), "color": colour,
                       "fontSize": 12, "fontWeight": bold, "overflow": "truncate",
                       "ellipsis": "…", "fontFamily": FONT},
                 "c": {"width": COUNT_WIDTH, "align": "right", "color": colour,
                       "fontSize": 11, "opacity": 0.85, "fontFamily": FONT}}}


def _rich_safe(text: str) -> str:
    # ECharts rich text treats {name|...} as markup: keep braces and bars out of names
    return text.replace("{", "（").replace("}", "）").replace("|", "｜")


def _layout(columns: list[tuple[str, list[Mapping[str, Any]]]]) -> tuple[
        dict[str, tuple[float, float, float, int]], float, float]:
    """node_id -> (left x, centre y, width, column); canvas width and height."""
    spots: dict[str, tuple[float, float, float, int]] = {}
    bottom = float(HEADER_HEIGHT)
    for col, (_, members) in enumerate(columns):
        left = PAD_X + col * (COLUMN_WIDTH + COLUMN_GAP)
        y = HEADER_HEIGHT + ROW_HEIGHT / 2
        for i, node in enumerate(members):
            level = max(1, int(node.get("level", 1)))
            if level == 1 and i > 0:
                y += GROUP_GAP
            indent = INDENT * (level - 1)
            spots[str(node["node_id"])] = (left + indent, y, COLUMN_WIDTH - indent, col)
            y += ROW_HEIGHT
        bottom = max(bottom, y - ROW_HEIGHT / 2)
    width = (PAD_X + PAD_RIGHT + len(columns) * COLUMN_WIDTH
             + max(0, len(columns) - 1) * COLUMN_GAP)
    return spots, float(width), bottom + PAD_BOTTOM


def _stage_graphics(columns: list[tuple[str, list[Mapping[str, Any]]]],
                    height: float) -> list[dict[str, Any]]:
    """Column bands with stage headers, and arrows between them (drawn under the graph)."""
    out: list[dict[str, Any]] = []
    for col, (stage, members) in enumerate(columns):
        left = PAD_X + col * (COLUMN_WIDTH + COLUMN_GAP)
        out.append({"type": "rect", "z": -10, "silent": True,
                    "shape": {"x": left - 8, "y": 6, "width": COLUMN_WIDTH + 16,
                              "height": height - 10, "r": 8},
                    "style": {"fill": "#F5F8FC", "stroke": "#E3E9F2"}})
        out.append({"type": "text", "z": -5, "silent": True, "x": left + COLUMN_WIDTH / 2,
                    "y": 16, "style": {"text": stage, "fill": PRIMARY, "fontSize": 16,
                                       "fontWeight": "bold", "align": "center",
                                       "fontFamily": FONT}})
        leaves = sum(1 for n in members if n.get("is_leaf"))
        out.append({"type": "text", "z": -5, "silent": True, "x": left + COLUMN_WIDTH / 2,
                    "y": 38, "style": {"text": f"{leaves} 个细分环节", "fill": "#6B7280",
                                       "fontSize": 11, "align": "center", "fontFamily": FONT}})
        if col + 1 < len(columns):
            x = left + COLUMN_WIDTH + COLUMN_GAP / 2
            out.append({"type": "polygon", "z": -5, "silent": True,
                        "shape": {"points": [[x - 18, 20], [x + 6, 20], [x + 6, 14],
                                             [x + 18, 26], [x + 6, 38], [x + 6, 32],
                                             [x - 18, 32]]},
                        "style": {"fill": "#B8C6DB"}})
    return out


def _port(node_id: str, side: str, x: float, y: float) -> dict[str, Any]:
    # invisible anchor on a box edge, so edges meet box sides instead of hiding under
    # the box at its centre (where the arrow head would be covered)
    return {"id": f"{node_id}::{side}", "name": "", "x": x, "y": y, "symbolSize": 0,
            "label": {"show": False}, "tooltip": {"show": False}, "port": True}


def _edge_style(source: str, target: str, selected: str | None) -> tuple[dict[str, Any], int]:
    if selected is None:
        return {"color": "#8FA0B8", "opacity": 0.45, "width": 1.1}, 1
    if source == selected:
        return {"color": DOWNSTREAM_EDGE, "opacity": 0.95, "width": 2.2}, 3
    if target == selected:
        return {"color": UPSTREAM_EDGE, "opacity": 0.95, "width": 2.2}, 3
    return {"color": "#C5CFDD", "opacity": 0.18, "width": 1}, 0


def _links(edges: Iterable[Mapping[str, Any]], spots: Mapping[str, tuple[float, float, float, int]],
           names: Mapping[str, str], selected: str | None) -> list[dict[str, Any]]:
    out = []
    for edge in edges:
        s, t = str(edge["source"]), str(edge["target"])
        if s not in spots or t not in spots or s == t:
            continue
        (_, sy, _, scol), (_, ty, _, tcol) = spots[s], spots[t]
        style, z = _edge_style(s, t, selected)
        if scol == tcol:
            # same stage: leave and enter on the right side, bowing into the gap
            source, target = f"{s}::out", f"{t}::out"
            bow = min(0.6, 70.0 / max(abs(ty - sy), 1.0))
            style = {**style, "curveness": bow if ty > sy else -bow}
        elif scol < tcol:
            source, target = f"{s}::out", f"{t}::in"
        else:
            source, target = f"{s}::in", f"{t}::out"
        tip = f"<b>{esc(names[s])}</b> → <b>{esc(names[t])}</b>"
        if edge.get("note_zh"):
            tip += f"<br/>{esc(edge['note_zh'])}"
        out.append({"source": source, "target": target, "lineStyle": style, "z": z,
                    "tip": tip, "edge": [s, t]})
    return out


def _box(node: Mapping[str, Any], spot: tuple[float, float, float, int], most: int,
         selected: str | None, linked: set[str], tip: str) -> dict[str, Any]:
    left, y, width, _ = spot
    nid = str(node["node_id"])
    cls = str(node.get("class", "缺"))
    item: dict[str, Any] = {
        "id": nid, "name": str(node["name_zh"]), "x": left + width / 2, "y": y,
        "value": int(node.get("national_firms", 0)), "symbol": "rect",
        "symbolSize": [width, box_height(int(node.get("national_firms", 0)), most)],
        # no border: ECharts scales a symbol's stroke with its (very wide) box
        "itemStyle": {"color": CLASS_COLOURS.get(cls, "#DDD"), "borderWidth": 0},
        "label": _node_label(node, width), "tip": tip, "class": cls,
        "stage": str(node["stage"]), "level": int(node.get("level", 1)),
        "national_firms": int(node.get("national_firms", 0)),
        "local_firms": int(node.get("local_firms", 0))}
    if selected is not None:
        if nid == selected:
            item["itemStyle"].update({"shadowBlur": 12, "shadowColor": ACCENT})
        elif nid not in linked:
            item["itemStyle"]["opacity"] = 0.45
            item["label"]["opacity"] = 0.6
    return item


def chain_graph_option(profile: Mapping[str, Any], edges: Sequence[Mapping[str, Any]],
                       selected: str | None = None) -> dict[str, Any]:
    """The chain as a layered graph: columns 上游 → 中游 → 下游, parents above children.

    ``profile`` is :func:`~chainatlas.analysis.regional.region_profile` output; ``edges``
    the chain template's supply edges (source, target, note_zh). Boxes are coloured by
    class (强/弱/缺) and their height grows with the national firm count. The graph is
    pinned to a canvas of exactly ``series[0]['width']`` x ``series[0]['height']`` pixels
    (two invisible anchors fix the bounding box), so give the chart that size. Edges
    attach to invisible ports on the box sides; with ``selected`` the node's upstream
    edges turn blue, its downstream edges orange, and unrelated boxes fade.
    """
    nodes = list(profile.get("nodes", []))
    columns = stage_columns(nodes)
    spots, width, height = _layout(columns)
    names = {str(n["node_id"]): str(n["name_zh"]) for n in nodes}
    most = max((int(n.get("national_firms", 0)) for n in nodes), default=0)
    linked = {str(e["target"]) for e in edges if str(e["source"]) == selected} | {
        str(e["source"]) for e in edges if str(e["target"]) == selected}
    data: list[dict[str, Any]] = [
        {**_port("__anchor", "top", 0.0, 0.0), "id": "__anchor_tl"},
        {**_port("__anchor", "bottom", width, height), "id": "__anchor_br"}]
    for node in nodes:
        spot = spots[str(node["node_id"])]
        left, y, w, _ = spot
        nid = str(node["node_id"])
        tip = _node_tip(node, universe_of(profile), _lq_hint(profile))
        data.append(_box(node, spot, most, selected, linked, tip))
        data.append(_port(nid, "in", left, y))
        data.append(_port(nid, "out", left + w, y))
    series = {
        "type": "graph", "layout": "none", "left": 0, "top": 0, "width": width,
        "height": height, "roam": False, "draggable": False, "data": data,
        "links": _links(edges, spots, names, selected),
        "edgeSymbol": ["none", "arrow"], "edgeSymbolSize": [0, 7],
        "lineStyle": {"color": "#8FA0B8", "opacity": 0.45, "width": 1.1},
        "emphasis": {"scale": False, "focus": "none",
                     "itemStyle": {"shadowBlur": 8, "shadowColor": "rgba(29,79,145,.6)"}},
        "animation": False}
    return _base(tooltip=_tooltip(), graphic=_stage_graphics(columns, height),
                 series=[series])


def chart_size(option: Mapping[str, Any]) -> tuple[int, int]:
    """The pixel (width, height) a pinned graph option needs (see chain_graph_option)."""
    series = option["series"][0]
    return math.ceil(float(series["width"])), math.ceil(float(series["height"]))


# -- maps -------------------------------------------------------------------------------
def _area_tip(area: Mapping[str, Any], scope: str, noun: str = "企业") -> str:
    lines = [f"<b>{esc(area['name'])}</b>", f"{esc(scope)}{noun} {int(area['firms'])} 家"]
    top = [esc(name) for name in area.get("top_firms", []) if name]
    if top:
        lines.append("代表企业：" + "、".join(top))
    return "<br/>".join(lines)


def _choropleth(map_data: Mapping[str, Any], map_name: str, highlight: str | None,
                show_labels: bool) -> dict[str, Any]:
    areas = list(map_data.get("areas", []))
    scope = str(map_data.get("node_name") or map_data.get("chain_name") or "")
    noun = FIRMS_NOUN_ZH[universe_of(map_data)]
    data: list[dict[str, Any]] = []
    for area in areas:
        item: dict[str, Any] = {"name": str(area["name"]), "value": int(area["firms"]),
                                "adcode": str(area["adcode"]),
                                "tip": _area_tip(area, scope, noun)}
        data.append(item)
    if highlight and not any(d["name"] == highlight for d in data):
        data.append({"name": highlight, "value": 0, "adcode": "",
                     "tip": f"<b>{esc(highlight)}</b><br/>{esc(scope)}{noun} 0 家"})
    for item in data:
        if item["name"] == highlight:
            item["itemStyle"] = {"borderColor": ACCENT, "borderWidth": 2.2}
    most = max((int(a["firms"]) for a in areas), default=0)
    series = {
        "type": "map", "map": map_name, "data": data, "roam": False, "selectedMode": False,
        "layoutCenter": ["50%", "52%"], "layoutSize": "96%",
        "label": {"show": show_labels, "fontSize": 10, "color": "#374151"},
        "itemStyle": {"areaColor": "#EEF1F5", "borderColor": "#9AA8BA", "borderWidth": 0.6},
        "emphasis": {"label": {"show": True, "color": "#111827"},
                     "itemStyle": {"areaColor": "#FFD666"}}}
    visual = {"type": "continuous", "min": 0, "max": max(most, 1), "left": 12, "bottom": 12,
              "text": ["多", "少"], "calculable": True, "itemHeight": 110,
              "inRange": {"color": ["#E6EEF9", "#8DB0DE", "#3E72B8", "#123E7A"]},
              "textStyle": {"color": "#4B5563", "fontFamily": FONT}}
    return _base(tooltip=_tooltip(MAP_TIP_FORMATTER), visualMap=visual, series=[series])


def china_map_option(map_data: Mapping[str, Any], map_name: str = "china",
                     highlight: str | None = None) -> dict[str, Any]:
    """Choropleth of firm counts per province (:func:`~chainatlas.analysis.mapdata.map_counts`).

    ``highlight`` (a province name) is outlined in red: the user's own province.
    """
    return _choropleth(map_data, map_name, highlight, show_labels=False)


def city_map_option(map_data: Mapping[str, Any], map_name: str,
                    highlight: str | None = None) -> dict[str, Any]:
    """Choropleth of firm counts per city of one province, with city names shown."""
    return _choropleth(map_data, map_name, highlight, show_labels=True)


def firm_pin_option(name: str, lon: float | None, lat: float | None, map_name: str,
                    area: str | None = None, place: str | None = None) -> dict[str, Any]:
    """A map (province or China) with the firm's ``area`` shaded and a pin at (lon, lat)."""
    geo: dict[str, Any] = {
        "map": map_name, "roam": False, "layoutCenter": ["50%", "50%"], "layoutSize": "95%",
        "itemStyle": {"areaColor": "#EEF1F5", "borderColor": "#9AA8BA", "borderWidth": 0.6},
        "emphasis": {"disabled": True}, "label": {"show": False}}
    if area:
        geo["regions"] = [{"name": area, "itemStyle": {"areaColor": "#C9DBF2"}}]
    series: list[dict[str, Any]] = []
    if lon is not None and lat is not None:
        tip = f"<b>{esc(name)}</b>" + (f"<br/>{esc(place)}" if place else "")
        series.append({"type": "scatter", "coordinateSystem": "geo", "symbol": "pin",
                       "symbolSize": 38, "itemStyle": {"color": ACCENT},
                       "label": {"show": True, "position": "right", "formatter": "{b}",
                                 "color": "#111827", "fontSize": 12, "fontWeight": "bold",
                                 "backgroundColor": "rgba(255,255,255,.85)",
                                 "padding": [2, 4], "borderRadius": 3},
                       "data": [{"name": name, "value": [lon, lat], "tip": tip}]})
    return _base(tooltip=_tooltip(), geo=geo, series=series)


# -- bars -------------------------------------------------------------------------------
def component_bars_option(items: Sequence[Mapping[str, Any]], components: Sequence[str],
                          labels_zh: Mapping[str, str],
                          weights: Mapping[str, float] | None = None,
                          name_key: str = "name") -> dict[str, Any]:
    """Stacked horizontal bars of score components, one row per item, best on top.

    ``items`` carry ``components`` {key: value in [0, 1]} (or {key: {"value": ...}}, as
    rank_firms gives). With ``weights`` each segment is weight × value, so a row's length
    is its weighted score; the tooltip lists every component's value and contribution.
    """
    rows = list(items)
    names = [str(item.get(name_key) or "") for item in rows]
    series = []
    for i, key in enumerate(components):
        data = []
        for item, name in zip(rows, names, strict=True):
            value = component_value(item, key)
            weight = 1.0 if weights is None else float(weights.get(key, 0.0))
            data.append({"value": round(weight * value, 4), "tip": _bars_tip(
                name, item, components, labels_zh, weights)})
        series.append({"type": "bar", "name": labels_zh.get(key, key), "stack": "score",
                       "barMaxWidth": 18, "itemStyle": {"color": PALETTE[i % len(PALETTE)]},
                       "emphasis": {"focus": "series"}, "data": list(reversed(data))})
    height = max(1, len(rows))
    return _base(
        tooltip=_tooltip(trigger="axis") | {"axisPointer": {"type": "shadow"}},
        legend={"top": 0, "left": "center", "textStyle": {"fontFamily": FONT},
                "itemWidth": 14, "itemHeight": 10},
        grid={"left": 8, "right": 24, "top": 32, "bottom": 8, "containLabel": True},
        xAxis={"type": "value", "max": None if weights is None and len(components) > 1
               else _axis_max(weights, len(components)),
               "splitLine": {"lineStyle": {"color": "#EEF1F5"}},
               "axisLabel": {"color": "#6B7280"}},
        yAxis={"type": "category", "data": list(reversed(names)),
               "axisLabel": {"width": 110, "overflow": "truncate", "ellipsis": "…",
                             "color": "#1F2937", "fontSize": 12,
                             "interval": 0 if height <= 40 else "auto"},
               "axisTick": {"show": False}, "axisLine": {"lineStyle": {"color": "#D0D7E2"}}},
        series=series)


def _axis_max(weights: Mapping[str, float] | None, parts: int) -> float:
    return round(sum(weights.values()), 4) if weights else float(max(parts, 1))


def component_value(item: Mapping[str, Any], key: str) -> float:
    """A component's value in [0, 1], whether stored plainly or as {'value': ...}."""
    raw = item.get("components", {}).get(key, 0.0)
    value = raw.get("value", 0.0) if isinstance(raw, Mapping) else raw
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else min(1.0, max(0.0, number))


def _bars_tip(name: str, item: Mapping[str, Any], components: Sequence[str],
              labels_zh: Mapping[str, str], weights: Mapping[str, float] | None) -> str:
    lines = [f"<b>{esc(name)}</b>"]
    if item.get("score") is not None:
        lines.append(f"综合得分 <b>{float(item['score']):.3f}</b>")
    for i, key in enumerate(components):
        value = component_value(item, key)
        dot = (f"<span style='display:inline-block;width:8px;height:8px;border-radius:4px;"
               f"background:{PALETTE[i % len(PALETTE)]};margin-right:4px'></span>")
        part = f"{dot}{esc(labels_zh.get(key, key))}：{value:.2f}"
        if weights is not None:
            part += f"（权重 {float(weights.get(key, 0.0)):.2f}）"
        lines.append(part)
    return "<br/>".join(lines)


def products_bar_option(products: Sequence[Mapping[str, Any]], top: int = 12) -> dict[str, Any]:
    """Horizontal bars of a firm's products by revenue share (%), largest on top.

    Products without a positive share, and accounting lines (kind ≠ 'product'), are left
    out; at most ``top`` bars.
    """
    rows = [p for p in products if str(p.get("kind", "product")) == "product"
            and p.get("revenue_share") is not None and float(p["revenue_share"]) > 0]
    rows = sorted(rows, key=lambda p: -float(p["revenue_share"]))[:top]
    data = [{"value": round(100 * float(p["revenue_share"]), 1),
             "tip": f"<b>{esc(p['name'])}</b><br/>营收占比 "
                    f"{100 * float(p['revenue_share']):.1f}%"} for p in rows]
    return _base(
        tooltip=_tooltip(),
        grid={"left": 8, "right": 48, "top": 8, "bottom": 8, "containLabel": True},
        xAxis={"type": "value", "axisLabel": {"formatter": "{value}%", "color": "#6B7280"},
               "splitLine": {"lineStyle": {"color": "#EEF1F5"}}},
        yAxis={"type": "category", "data": [str(p["name"]) for p in reversed(rows)],
               "axisLabel": {"width": 140, "overflow": "truncate", "ellipsis": "…",
                             "interval": 0, "color": "#1F2937"},
               "axisTick": {"show": False}},
        series=[{"type": "bar", "data": list(reversed(data)), "barMaxWidth": 16,
                 "itemStyle": {"color": PRIMARY, "borderRadius": [0, 3, 3, 0]},
                 "label": {"show": True, "position": "right", "formatter": "{c}%",
                           "color": "#374151", "fontSize": 11}}])


def class_counts_option(chains: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stacked bars of leaf nodes per class (强/弱/缺), one row per chain.

    ``chains``: dicts with chain_id, name (Chinese) and summary {强, 弱, 缺}.
    """
    rows = list(reversed(list(chains)))
    series = []
    for cls in ("强", "弱", "缺"):
        data = []
        for chain in rows:
            summary = chain.get("summary", {})
            total = sum(int(v) for v in summary.values())
            count = int(summary.get(cls, 0))
            data.append({"value": count, "chain_id": str(chain["chain_id"]),
                         "tip": f"<b>{esc(chain['name'])}</b><br/>{cls}（{CLASS_NAMES[cls]}）"
                                f"：{count} / {total} 个细分环节"})
        series.append({"type": "bar", "name": f"{cls} · {CLASS_NAMES[cls]}", "stack": "n",
                       "barMaxWidth": 22, "data": data,
                       "itemStyle": {"color": CLASS_COLOURS[cls],
                                     "borderColor": CLASS_BORDERS[cls], "borderWidth": 0.5},
                       "label": {"show": True, "color": CLASS_TEXT[cls], "fontSize": 11,
                                 ":formatter": "(p) => p.value > 0 ? p.value : ''"}})
    return _base(
        tooltip=_tooltip(), legend={"top": 0, "textStyle": {"fontFamily": FONT}},
        grid={"left": 8, "right": 16, "top": 30, "bottom": 4, "containLabel": True},
        xAxis={"type": "value", "splitLine": {"lineStyle": {"color": "#EEF1F5"}},
               "axisLabel": {"color": "#6B7280"}},
        yAxis={"type": "category", "data": [str(c["name"]) for c in rows],
               "axisTick": {"show": False}, "axisLabel": {"color": "#1F2937", "fontSize": 12}},
        series=series)
