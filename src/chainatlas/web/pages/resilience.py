"""韧性分析 (/resilience): the region's supply-chain resilience on the chosen chain.

The chain graph (the chain page's layout) coloured by status — 单点风险, 依赖外部投入, 本地
可自给, 本地缺失, 卡脖子 nodes tagged —, the θ sensitivity, a what-if panel (firms found by
the firm search, or whole regions such as 上海市 / 北京市, removed; the graph recoloured by
what loses local or domestic supply), the tables, removal curves on demand, the Excel
workbook (``/api/v1/resilience/xlsx``) and, always, what the data can and cannot show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from nicegui import ui

from chainatlas.analysis.overview import chain_edges, search_regions
from chainatlas.analysis.resilience import THETAS
from chainatlas.analysis.resilience_report import removal_curves_report
from chainatlas.analysis.resilience_views import (
    STATUS_HINTS_ZH,
    STATUS_ZH,
    firms_zh,
    listed_units,
    removed_zh,
    resilience_view,
    theta_rows,
    unit_status,
    whatif_rows,
)
from chainatlas.analysis.search import search_firms
from chainatlas.web import charts, resilience_charts
from chainatlas.web.charts import chart_size
from chainatlas.web.pages.layout import Frame, Selection, region_matches
from chainatlas.web.pages.widgets import (
    chip,
    data_table,
    echart,
    empty_note,
    load,
    load_cached,
    section,
    stat_card,
)

THETA_CHOICES = {0.25: "θ=0.25（严格）", 0.5: "θ=0.5（默认）", 0.75: "θ=0.75", 1.0: "θ=1（宽松）"}
LEVEL_CHOICES = {"node": "环节级", "product": "产品级"}
FIRM_MATCHES = 8
PROVINCES = 60


def xlsx_url(chain_id: str, region: str, level: str, theta: float, universe: str,
             remove: Sequence[str] = ()) -> str:
    """The REST API's workbook of this analysis (and of the what-if, with ``remove``)."""
    query: dict[str, Any] = {"chain": chain_id, "region": region, "level": level,
                             "theta": f"{theta:g}", "universe": universe}
    if remove:
        query["remove"] = list(remove)
    return "/api/v1/resilience/xlsx?" + urlencode(query, doseq=True)


def removal_texts(firms: Sequence[str], regions: Sequence[str]) -> tuple[str, ...]:
    """The removal texts of picked firm ids and region adcodes (prefixed, so an id is
    never read as the other kind)."""
    return tuple([f"firm:{f}" for f in firms] + [f"region:{r}" for r in regions])


def _check(value: Any) -> str:
    return "✓" if value else "·"


def _share(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1%}"


def unit_rows(result: Mapping[str, Any], after: Mapping[str, Mapping[str, Any]]
              ) -> list[dict[str, Any]]:
    """The unit table's rows (status after the what-if, when one ran)."""
    theta = float(result["theta"])
    rows = []
    for u in listed_units(result):
        status = unit_status(u, theta, after.get(str(u["unit_id"])))
        rows.append({
            "unit_id": u["unit_id"], "name": u["name_zh"], "status": STATUS_ZH[status],
            "counts": f"{u['local_firms']} / {u['province_firms']} / {u['national_firms']}",
            "hhi": "—" if u["hhi"] is None else f"{float(u['hhi']):.3f}",
            "dependence": _share(u["outside_dependence"]),
            "self": " ".join(_check(u[f"self_sufficient_{t:g}"]) for t in THETAS),
            "sole": (u["sole_firm_name"] or "") if u["single_local_firm"] else "",
            "influence": f"{float(u['influence']):.3f}",
            "chokepoints": "、".join(u["chokepoints"])})
    return rows


UNIT_COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "名称", "field": "name", "align": "left"},
    {"name": "status", "label": "状态", "field": "status"},
    {"name": "counts", "label": "企业数 本地 / 本省 / 全国", "field": "counts"},
    {"name": "hhi", "label": "集中度 HHI", "field": "hhi"},
    {"name": "dependence", "label": "外部依赖度", "field": "dependence"},
    {"name": "self", "label": "本地自给 θ=" + "/".join(f"{t:g}" for t in THETAS),
     "field": "self"},
    {"name": "sole", "label": "唯一本地企业", "field": "sole", "wrap": True},
    {"name": "influence", "label": "影响力", "field": "influence"},
    {"name": "chokepoints", "label": "卡脖子技术", "field": "chokepoints", "wrap": True}]
WHATIF_COLUMNS: list[dict[str, Any]] = [
    {"name": "theta", "label": "θ", "field": "theta"},
    {"name": "lost_local", "label": "失去本地供应", "field": "lost_local"},
    {"name": "share_local", "label": "占本地有供应", "field": "share_local"},
    {"name": "lost_domestic", "label": "失去全国供应", "field": "lost_domestic"},
    {"name": "share_chain", "label": "占全链有供应", "field": "share_chain"},
    {"name": "names", "label": "失去本地供应的单元", "field": "names", "wrap": True}]


class ResilienceView:
    """Controls, what-if panel and the results area of one selection."""

    def __init__(self, selection: Selection, edges: list[dict[str, Any]],
                 provinces: dict[str, str]) -> None:
        self.selection = selection
        self.edges = edges
        self.nodes = [dataclasses.asdict(n) for n in selection.chain.nodes]
        self.level, self.theta = "node", 0.5
        self.firm_labels: dict[str, str] = {}
        self.region_labels = dict(provinces)
        self.firms: ui.select | None = None
        self.regions: ui.select | None = None
        self.download: ui.button | None = None
        self.results: ui.column | None = None
        self.curves: ui.column | None = None
        self._loads = 0
        #: the (level, θ) the curves area shows a chart for
        self.curves_for: tuple[str, float] | None = None

    def build(self) -> None:
        """The controls and what-if panel, then empty areas the loads fill."""
        with section("韧性分析", f"{self.selection.region.name} · {self.selection.chain_name}"
                     f"产业链 · {self.selection.universe_zh}"):
            with ui.row().classes("w-full items-center gap-3"):
                ui.label("层级").classes("ca-muted")
                ui.toggle(LEVEL_CHOICES, value=self.level, on_change=self._set_level) \
                    .props("dense no-caps unelevated toggle-color=primary").mark("res-level")
                ui.label("必要投入阈值").classes("ca-muted")
                ui.select(THETA_CHOICES, value=self.theta, on_change=self._set_theta) \
                    .props("dense outlined options-dense").classes("w-40").mark("res-theta")
                ui.space()
                self.download = ui.button("导出 Excel 韧性报告", icon="download") \
                    .props("unelevated color=primary").mark("resilience-xlsx")
            self._whatif_panel()
        self.results = ui.column().classes("w-full gap-4")
        self.curves = ui.column().classes("w-full gap-4")
        self._curves_button()

    def _curves_button(self) -> None:
        """The curves area before (or, once level or θ change, instead of) its chart."""
        if self.curves is None:
            return
        self.curves.clear()
        with self.curves:
            ui.button("计算移除曲线（随机 / 按规模 / 按影响力）", icon="show_chart",
                      on_click=self.load_curves).props("outline").mark("curves-run")

    def _whatif_panel(self) -> None:
        with ui.row().classes("w-full items-center gap-3").mark("whatif-panel"):
            ui.label("情景推演：移除").classes("ca-strong")
            self.firms = ui.select({}, multiple=True, with_input=True, label="企业") \
                .props('dense outlined use-chips input-debounce="250"') \
                .classes("w-80").mark("whatif-firms")
            self.firms.on("input-value", lambda e: self._search_firms(e.args))
            self.regions = ui.select(dict(self.region_labels), multiple=True, with_input=True,
                                     label="地区（其全部企业）") \
                .props('dense outlined use-chips input-debounce="250"') \
                .classes("w-80").mark("whatif-regions")
            self.regions.on("input-value", lambda e: self._search_regions(e.args))
            ui.button("推演", icon="play_arrow", on_click=self.refresh) \
                .props("unelevated color=accent").mark("whatif-run")
            ui.button("清除", on_click=self.clear).props("flat").mark("whatif-clear")
        ui.label("选择企业（输入名称、简称或代码搜索）或地区，点「推演」：图中失去本地供应的"
                 "环节变为洋红，全国断供的变为紫色。").classes("ca-note")

    async def _search_firms(self, text: Any) -> None:
        hits = await load_cached(search_firms, str(text or ""), FIRM_MATCHES) \
            if str(text or "").strip() else []
        for hit in hits:
            self.firm_labels[str(hit["company_id"])] = " · ".join(
                str(x) for x in (hit.get("short_name") or hit.get("full_name"),
                                 hit.get("city")) if x)
        self._offer(self.firms, self.firm_labels, {str(h["company_id"]) for h in hits})

    async def _search_regions(self, text: Any) -> None:
        matches = await load(region_matches, str(text or "")) if str(text or "").strip() \
            else {}
        self.region_labels.update(matches)
        self._offer(self.regions, self.region_labels, set(matches) or set(self.region_labels))

    @staticmethod
    def _offer(picker: ui.select | None, labels: dict[str, str], keys: set[str]) -> None:
        """Offer ``keys`` and keep what is picked already among the options."""
        if picker is None:
            return
        picked = list(picker.value or [])
        picker.set_options({k: labels[k] for k in [*picked, *sorted(keys)] if k in labels},
                           value=picked)

    def removal(self) -> tuple[str, ...]:
        """The removal texts of the picked firms and regions."""
        firms = list(self.firms.value or []) if self.firms is not None else []
        regions = list(self.regions.value or []) if self.regions is not None else []
        return removal_texts(firms, regions)

    async def _set_level(self, event: Any) -> None:
        self.level = str(event.value)
        await self.refresh()

    async def _set_theta(self, event: Any) -> None:
        self.theta = float(event.value)
        await self.refresh()

    async def clear(self) -> None:
        """Drop the what-if and show the analysis alone."""
        for picker in (self.firms, self.regions):
            if picker is not None:
                picker.value = []
        await self.refresh()

    async def refresh(self) -> None:
        """Compute (cached) and draw the results for the current controls."""
        if self.results is None:
            return
        self._loads += 1
        mine, remove = self._loads, self.removal()
        s = self.selection
        view = await load_cached(resilience_view, s.region, s.chain, remove, self.level,
                                 s.universe, self.theta)
        if mine != self._loads:  # a later change is loading: let it draw
            return
        if self.download is not None:
            self.download.props["href"] = xlsx_url(s.chain_id, s.region.adcode, self.level,
                                                   self.theta, s.universe, remove)
            self.download.props["target"] = "_blank"
            self.download.update()
        self.results.clear()
        with self.results:
            draw_results(view, self.nodes, self.edges)
        if self.curves_for not in (None, (self.level, self.theta)):
            self.curves_for = None  # drawn for another level or θ
            self._curves_button()

    async def load_curves(self) -> None:
        """Monte-Carlo removal curves of the region's firms (a few seconds)."""
        if self.curves is None:
            return
        s = self.selection
        report = await load_cached(removal_curves_report, s.chain, s.region, self.level,
                                   s.universe, None, self.theta, runs=20)
        self.curves.clear()
        self.curves_for = (self.level, self.theta)
        with self.curves, section("移除曲线", f"本地 {report['population']} 家企业按比例移除后，"
                                  f"失去本地供应的单元占比（随机 {report['runs']} 次，种子 "
                                  f"{report['seed']}；θ={float(report['theta']):g}）"):
            echart(resilience_charts.curves_option(report), 320, marker="curves-chart")


def draw_results(view: Mapping[str, Any], nodes: list[dict[str, Any]],
                 edges: list[dict[str, Any]]) -> None:
    """Summary, graph, what-if, tables and limits of one computed view."""
    result, whatif = view["resilience"], view["whatif"]
    _summary(result)
    if whatif is not None:
        _whatif(whatif)
    if result["level"] == "node":
        _graph(result, whatif, nodes, edges)
    else:
        empty_note("产品级网络没有模板阶段，不绘制环节图；下表列出本地有企业或涉及卡脖子技术的产品。")
    _tables(result, whatif, {str(n["node_id"]): str(n["name_zh"]) for n in nodes})
    with section("数据能说明什么、不能说明什么", firms_zh(result)):
        for line in result["limits_zh"]:
            ui.label(f"・{line}").classes("ca-reason").mark("limits")


def _summary(result: Mapping[str, Any]) -> None:
    s = result["summary"]
    chosen = next(r for r in theta_rows(result) if r["chosen"])
    with ui.row().classes("w-full gap-4 items-stretch").mark("res-summary"):
        stat_card("单点风险", str(s["single_points_of_failure"]), "本地仅一家企业供应的单元",
                  resilience_charts.STATUS_COLOURS["spof"])
        stat_card("本地可自给", f"{chosen['self_sufficient']} / {s['units']}",
                  f"θ={float(result['theta']):g} 时只靠本地企业仍能运转",
                  resilience_charts.STATUS_COLOURS["self"])
        stat_card("有本地供应", f"{s['units_with_local_supply']} / {s['units']}",
                  f"{result['level_zh']}数")
        stat_card("平均外部依赖度", _share(s["outside_dependence_mean"]),
                  "有国内供应的单元，1 − 本地份额", resilience_charts.STATUS_COLOURS["dependent"])
        stat_card("卡脖子单元", f"{s['chokepoint_units']}",
                  f"其中本地无企业 {s['chokepoint_units_without_local_supply']}",
                  charts.ACCENT)
        with ui.card().classes("ca-card ca-stat"):
            ui.label("θ 敏感性：本地可自给单元").classes("ca-stat-label")
            echart(resilience_charts.theta_option(theta_rows(result)), 140, marker="theta-chart")


def _whatif(whatif: Mapping[str, Any]) -> None:
    rows = whatif_rows(whatif)
    with section("情景推演结果", "移除 " + removed_zh(whatif)):
        missing = whatif["removed"].get("firms_not_in_network_names") or []
        if missing:
            ui.label("不在本链网络中（移除不影响结果）：" + "、".join(missing)).classes("ca-note")
        data_table(WHATIF_COLUMNS, [{
            "theta": f"{r['theta']:g}" + ("（所选）" if r["chosen"] else ""),
            "lost_local": r["lost_local"], "share_local": _share(r["share_local_affected"]),
            "lost_domestic": r["lost_domestic"], "share_chain": _share(r["share_chain_affected"]),
            "names": "、".join(r["lost_local_names"]) or "—"} for r in rows],
            row_key="theta", marker="whatif-table")
        chosen = next(r for r in rows if r["chosen"])
        if chosen["lost_domestic_names"]:
            ui.label("全国断供：" + "、".join(chosen["lost_domestic_names"])) \
                .classes("ca-reason").mark("whatif-domestic")
        if chosen["feeding_region_names"]:
            ui.label("其中本地所需的上游投入（须从境外或数据之外获得）："
                     + "、".join(chosen["feeding_region_names"])) \
                .classes("ca-reason").mark("whatif-feeding")


def _graph(result: Mapping[str, Any], whatif: Mapping[str, Any] | None,
           nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
    with section("产业链韧性图谱", "颜色 = 韧性状态；「卡」= 卡脖子技术所在环节；箭头 = 供需关系"
                 "（上游 → 下游）；悬停查看数据"):
        counts = resilience_charts.status_counts(result, whatif)
        with ui.row().classes("gap-2 items-center").mark("res-legend"):
            for status, name, fill, text in resilience_charts.legend():
                if counts.get(status) or status in ("spof", "dependent", "self", "missing"):
                    chip(f"{name} {counts.get(status, 0)}", fill, text_colour=text) \
                        .tooltip(STATUS_HINTS_ZH[status])
        option = resilience_charts.resilience_graph_option(nodes, edges, result, whatif)
        width, height = chart_size(option)
        with ui.element("div").classes("w-full overflow-x-auto"):
            echart(option, height, width, marker="resilience-graph").classes("mx-auto")


def _tables(result: Mapping[str, Any], whatif: Mapping[str, Any] | None,
            node_names: Mapping[str, str]) -> None:
    after = {} if whatif is None else {str(u["unit_id"]): u for u in whatif["units"]}
    level = result["level_zh"]
    with section(f"{level}韧性明细", f"共 {len(result['units'])} 个{level}"):
        data_table(UNIT_COLUMNS, unit_rows(result, after), row_key="unit_id", page=20,
                   marker="units-table")
    names = {str(u["unit_id"]): str(u["name_zh"]) for u in result["units"]}
    with section("单点风险", "本地仅一家企业供应：它退出则本地无供应；按受其支配的终端产品数排序"):
        if not result["spof"]:
            empty_note("本地没有单点风险")
        else:
            data_table([{"name": "name", "label": "名称", "field": "name", "align": "left"},
                        {"name": "sole", "label": "唯一本地企业", "field": "sole"},
                        {"name": "national", "label": "全国企业数", "field": "national"},
                        {"name": "ends", "label": "受其支配的终端产品", "field": "ends",
                         "wrap": True}],
                       [{"unit_id": u["unit_id"], "name": u["name_zh"],
                         "sole": u["sole_firm_name"], "national": u["national_firms"],
                         "ends": "、".join(names.get(str(e), str(e)) for e in u["dominates"])
                         or "—"} for u in result["spof"]], row_key="unit_id",
                       marker="spof-table")
    _chokepoints(result, node_names)


def _chokepoints(result: Mapping[str, Any], names: Mapping[str, str]) -> None:
    with section("卡脖子技术", "科技日报 2018 年「亟待攻克的核心技术」中与本链环节对应的条目"):
        if not result["chokepoints"]:
            empty_note("本产业链没有对应的卡脖子技术条目")
            return
        data_table([{"name": "name", "label": "卡脖子技术", "field": "name", "align": "left"},
                    {"name": "nodes", "label": "对应环节", "field": "nodes", "wrap": True},
                    {"name": "local", "label": "本地企业数", "field": "local"}],
                   [{"id": i["id"], "name": i["name_zh"],
                     "nodes": "、".join(names.get(n, n) for n in i["local_firms"]),
                     "local": sum(i["local_firms"].values())} for i in result["chokepoints"]],
                   row_key="id", marker="chokepoint-table")


async def _body(selection: Selection) -> None:
    edges = await load_cached(chain_edges, selection.chain)
    provinces = await load_cached(search_regions, level="province", limit=PROVINCES)
    view = ResilienceView(selection, edges, {str(p["adcode"]): str(p["name"])
                                             for p in provinces})
    view.build()
    await view.refresh()


def page() -> Frame:
    """The resilience page's frame."""
    return Frame("/resilience", "韧性分析", _body,
                 lambda s: f"{s.region.name} · {s.chain_name}产业链 · 单点风险 · 外部依赖 · "
                           "断供推演")
