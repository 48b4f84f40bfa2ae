"""ECharts options of the 韧性分析 page: pure functions from resilience results to dicts.

The chain graph is :func:`chainatlas.web.charts.chain_graph_option` (the layered 上游 →
中游 → 下游 layout of the chain page) recoloured: each production leaf by its status
(:func:`chainatlas.analysis.resilience_views.unit_status`: 单点风险 red, 依赖外部投入
orange, 本地可自给 green, 本地缺失 grey; after a what-if 本地断供 / 全国断供), 卡脖子
nodes with a red 「卡」 tag, and every other node (parents, trade and service nodes: not in
the model) pale and named only. Tooltips are escaped HTML in each item's ``tip``, as in
:mod:`chainatlas.web.charts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chainatlas.analysis.resilience import THETAS
from chainatlas.analysis.resilience_views import (
    STATUS_HINTS_ZH,
    STATUS_ZH,
    STATUSES,
    unit_status,
)
from chainatlas.web import charts
from chainatlas.web.charts import FONT, PALETTE, esc

STATUS_COLOURS = {"lost_domestic": "#6A1B9A", "lost_local": "#C2185B", "spof": "#D93025",
                  "dependent": "#F08C00", "self": "#2E9D5B", "missing": "#D5D9E0",
                  "outside": "#F3F5F8"}
STATUS_TEXT = {"lost_domestic": "#FFFFFF", "lost_local": "#FFFFFF", "spof": "#FFFFFF",
               "dependent": "#FFFFFF", "self": "#FFFFFF", "missing": "#4B5563",
               "outside": "#9AA3B2"}
CHOKEPOINT_TAG = {"backgroundColor": "#FFFFFF", "color": charts.ACCENT, "borderColor":
                  charts.ACCENT, "borderWidth": 1, "borderRadius": 3, "padding": [1, 3],
                  "fontSize": 10, "fontWeight": "bold", "fontFamily": FONT}
TAG_WIDTH = 24


def legend() -> list[tuple[str, str, str, str]]:
    """(status, name, fill colour, text colour) in legend order."""
    return [(s, STATUS_ZH[s], STATUS_COLOURS[s], STATUS_TEXT[s]) for s in STATUSES]


def _share(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1%}"


def unit_tip(unit: Mapping[str, Any], status: str, theta: float,
             after: Mapping[str, Any] | None = None) -> str:
    """A unit's tooltip: status, counts, concentration, self-sufficiency per θ, sole
    firm, influence, 卡脖子 items and, after a what-if, the counts before and after."""
    colour = STATUS_COLOURS[status]
    lines = [f"<b>{esc(unit['name_zh'])}</b>",
             f"<span style='color:{colour if status != 'missing' else '#6B7280'}'>"
             f"{esc(STATUS_ZH[status])}</span>：{esc(STATUS_HINTS_ZH[status])}",
             f"企业数 本地 {int(unit['local_firms'])} · 本省 {int(unit['province_firms'])} · "
             f"全国 {int(unit['national_firms'])}",
             f"外部依赖度 {_share(unit.get('outside_dependence'))} · 集中度 HHI "
             + ("—" if unit.get("hhi") is None else f"{float(unit['hhi']):.3f}"),
             "本地自给 " + " · ".join(
                 f"θ={t:g} {'是' if unit.get(f'self_sufficient_{t:g}') else '否'}"
                 for t in THETAS) + f"（所选 θ={theta:g}）",
             f"影响力 {float(unit.get('influence') or 0):.3f} · 本地影响力 "
             f"{float(unit.get('local_influence') or 0):.3f}"]
    if unit.get("single_local_firm") and unit.get("sole_firm_name"):
        lines.append(f"唯一本地企业：{esc(unit['sole_firm_name'])}")
    if unit.get("chokepoints"):
        lines.append(f"<span style='color:{charts.ACCENT}'>卡脖子技术：</span>"
                     + esc("、".join(unit["chokepoints"])))
    if after is not None:
        lines.append(f"推演：全国企业 {int(after['national_before'])} → "
                     f"{int(after['national_after'])}，本地企业 "
                     f"{int(after.get('local_before') or 0)} → "
                     f"{int(after.get('local_after') or 0)}")
    return "<br/>".join(lines)


def graph_nodes(chain_nodes: Sequence[Mapping[str, Any]],
                units: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The chain's nodes as :func:`chainatlas.web.charts.chain_graph_option` reads them,
    with the model's counts on its units (0 elsewhere)."""
    out = []
    for node in chain_nodes:
        unit = units.get(str(node["node_id"]), {})
        out.append({**node, "class": "缺",
                    "national_firms": int(unit.get("national_firms", 0)),
                    "local_firms": int(unit.get("local_firms", 0))})
    return out


def _recolour(item: dict[str, Any], status: str, tip: str, chokepoint: bool,
              named_only: bool) -> None:
    item["itemStyle"]["color"] = STATUS_COLOURS[status]
    item.update({"tip": tip, "status": status, "chokepoint": chokepoint})
    label = item["label"]
    rich = label["rich"]
    for part in rich.values():
        part["color"] = STATUS_TEXT[status]
    name = charts._rich_safe(str(item["name"]))  # the chain page's markup guard
    counts = label["formatter"].split("}{c|", 1)[1] if "}{c|" in label["formatter"] else ""
    formatter = "{n|" + name + "}" + ("" if named_only else "{c|" + counts)
    if chokepoint:
        rich["k"] = dict(CHOKEPOINT_TAG)
        rich["n"]["width"] = max(30.0, float(rich["n"]["width"]) - TAG_WIDTH)
        formatter = "{k|卡} " + formatter
    label["formatter"] = formatter


def resilience_graph_option(chain_nodes: Sequence[Mapping[str, Any]],
                            edges: Sequence[Mapping[str, Any]], result: Mapping[str, Any],
                            whatif: Mapping[str, Any] | None = None,
                            selected: str | None = None) -> dict[str, Any]:
    """The chain graph coloured by resilience (module docs). ``chain_nodes``: the chain's
    nodes (node_id, name_zh, stage, parent, level, is_leaf); ``edges``: its template
    supply edges; ``result``: a node-level region_resilience; ``whatif``: a what-if at
    the same θ, whose losses recolour the graph."""
    theta = float(result["theta"])
    units = {str(u["unit_id"]): u for u in result["units"]}
    after = {} if whatif is None else {str(u["unit_id"]): u for u in whatif["units"]}
    option = charts.chain_graph_option(
        {"nodes": graph_nodes(chain_nodes, units), "universe": result.get("universe")},
        edges, selected)
    for item in option["series"][0]["data"]:
        nid = str(item.get("id"))
        if item.get("port") or nid.startswith("__anchor"):
            continue
        unit = units.get(nid)
        if unit is None:
            name = esc(item["name"])
            _recolour(item, "outside", f"<b>{name}</b><br/>{esc(STATUS_HINTS_ZH['outside'])}",
                      False, True)
            continue
        status = unit_status(unit, theta, after.get(nid))
        _recolour(item, status, unit_tip(unit, status, theta, after.get(nid)),
                  bool(unit.get("chokepoints")), False)
    return option


def status_counts(result: Mapping[str, Any], whatif: Mapping[str, Any] | None = None
                  ) -> dict[str, int]:
    """How many units have each status (every status listed, zeros included)."""
    theta = float(result["theta"])
    after = {} if whatif is None else {str(u["unit_id"]): u for u in whatif["units"]}
    counts = dict.fromkeys(STATUSES, 0)
    for unit in result["units"]:
        counts[unit_status(unit, theta, after.get(str(unit["unit_id"])))] += 1
    return counts


def curves_option(report: Mapping[str, Any]) -> dict[str, Any]:
    """Removal curves: share of firms removed (x) against share of units losing supply
    (y), a line per strategy; the random strategy's 5–95 % band as dashed lines."""
    curves = list(report.get("curves", []))
    strategies = list(dict.fromkeys(str(c["strategy"]) for c in curves))
    series: list[dict[str, Any]] = []
    for i, strategy in enumerate(strategies):
        rows = [c for c in curves if c["strategy"] == strategy]
        name = str(rows[0]["strategy_zh"])
        colour = PALETTE[i % len(PALETTE)]
        series.append({"name": name, "type": "line", "symbolSize": 5,
                       "itemStyle": {"color": colour},
                       "data": [[round(100 * float(c["fraction"]), 1),
                                 round(100 * float(c["mean"]), 1)] for c in rows]})
        if strategy == "random":
            for key, label in (("p05", "5%"), ("p95", "95%")):
                series.append({"name": f"{name} {label}", "type": "line", "symbol": "none",
                               "lineStyle": {"type": "dashed", "width": 1, "color": colour},
                               "itemStyle": {"color": colour},
                               "data": [[round(100 * float(c["fraction"]), 1),
                                         round(100 * float(c[key]), 1)] for c in rows]})
    scope = "本地供应" if report.get("region") else "全国供应"
    return {"textStyle": {"fontFamily": FONT}, "animationDuration": 400,
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0, "textStyle": {"fontFamily": FONT}},
            "grid": {"left": 56, "right": 24, "top": 40, "bottom": 48},
            "xAxis": {"type": "value", "name": "移除企业占比 %", "nameLocation": "middle",
                      "nameGap": 28, "min": 0},
            "yAxis": {"type": "value", "name": f"失去{scope}的单元占比 %", "min": 0,
                      "max": 100},
            "series": series}


def theta_option(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """θ sensitivity: units the region keeps supplied on its own, a bar per θ (the
    chosen θ highlighted)."""
    data = [{"value": int(r["self_sufficient"]),
             "itemStyle": {"color": charts.PRIMARY if r["chosen"] else "#9DB4D6"}}
            for r in rows]
    return {"textStyle": {"fontFamily": FONT}, "animationDuration": 400,
            "grid": {"left": 40, "right": 12, "top": 24, "bottom": 28},
            "xAxis": {"type": "category", "data": [f"θ={float(r['theta']):g}" for r in rows]},
            "yAxis": {"type": "value", "minInterval": 1, "name": "本地可自给单元"},
            "series": [{"type": "bar", "data": data, "barWidth": "45%",
                        "label": {"show": True, "position": "top"}}]}
