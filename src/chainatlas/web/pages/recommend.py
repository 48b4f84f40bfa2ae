"""精准招商 (/recommend): which nodes to develop, and which outside firms to approach.

The target firms are narrowed by the filters of :class:`~chainatlas.recommend.filters.
TargetFilters` (provinces in or out, outside the province, size band, listed or not, risk
flags), which the Excel download carries too; every score shows its components
(value × weight = points, and the raw figure) and every risk flag. An analyst ticks
firms to add them to a 招商清单 or turn them into 线索 projects
(:class:`~chainatlas.web.pages.lists.LeadActions`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from nicegui import events, ui

from chainatlas.analysis.overview import search_regions
from chainatlas.analysis.risk import NOT_COVERED_ZH
from chainatlas.analysis.weights import NODE_WEIGHTS, TARGET_WEIGHTS
from chainatlas.recommend import firms as firm_ranking
from chainatlas.recommend import nodes as node_ranking
from chainatlas.recommend.excel import explained, risk_of
from chainatlas.recommend.filters import LISTED_CHOICES, SIZE_BANDS, TargetFilters
from chainatlas.web import charts
from chainatlas.web.pages.layout import Frame, Selection
from chainatlas.web.pages.lists import LeadActions, ticked
from chainatlas.web.pages.widgets import (
    class_chip,
    echart,
    empty_note,
    explain_label,
    explain_lines,
    label_chip,
    link_table,
    load_cached,
    section,
)

NODES_SHOWN = 12
TOP_CHOICES = {10: "前 10 家", 20: "前 20 家", 50: "前 50 家"}
ALL_NODES = "__all__"
#: More than the 34 provinces, so none is ever cut off.
PROVINCES = 60
#: The listed filter's choices (its "both" key stands for None).
BOTH = "both"
LISTED_OPTIONS = {BOTH: "上市与非上市"} | LISTED_CHOICES


def filter_query(filters: TargetFilters | None) -> dict[str, Any]:
    """The API's query parameters for ``filters`` (only those that differ from the
    defaults, so an unfiltered link stays as short as before)."""
    if filters is None:
        return {}
    query: dict[str, Any] = {}
    if filters.provinces:
        query["province"] = list(filters.provinces)
    if filters.exclude_provinces:
        query["exclude_province"] = list(filters.exclude_provinces)
    if filters.outside_province:
        query["outside_province"] = "true"
    if filters.sizes:
        query["size"] = list(filters.sizes)
    if filters.listed:
        query["listed"] = "true" if filters.listed == "listed" else "false"
    if not filters.exclude_risk:
        query["include_risk"] = "true"
    return query


def xlsx_url(chain_id: str, region: str, node: str | None, top: int,
             universe: str | None = None, filters: TargetFilters | None = None) -> str:
    """The REST API's Excel export of these recommendations (of ``universe``'s firms,
    narrowed by ``filters``)."""
    query: dict[str, Any] = {"chain": chain_id, "region": region}
    if node:
        query["node"] = node
    query["top"] = top
    if universe:
        query["universe"] = universe
    query |= filter_query(filters)
    return "/api/v1/recommend/xlsx?" + urlencode(query, doseq=True)


def place_zh(province: Any, city: Any) -> str:
    """河北省 石家庄市; a municipality once (北京市); — when unknown."""
    parts = [str(x) for x in (province, city) if x]
    return " ".join(dict.fromkeys(parts)) or "—"


def chart_labels(items: list[dict[str, Any]], weights: dict[str, float]) -> dict[str, str]:
    """Component -> label of a ranking's score, as its first item explains it."""
    return {str(r["component"]): str(r["label_zh"])
            for r in (explained(items[0], weights) if items else [])}


class FilterBar:
    """The target-list filters: their widgets, the :class:`TargetFilters` they make and
    a line saying which are in force."""

    def __init__(self, provinces: dict[str, str],
                 on_change: Callable[[TargetFilters], Awaitable[None]]) -> None:
        self.provinces = provinces
        self.on_change = on_change
        self.filters = TargetFilters()
        self.keep: ui.select | None = None
        self.drop: ui.select | None = None
        self.outside: ui.switch | None = None
        self.sizes: ui.select | None = None
        self.listed: ui.select | None = None
        self.risk: ui.switch | None = None
        self.summary: ui.label | None = None

    def build(self) -> None:
        """The widgets in one row, the description under them."""
        with ui.row().classes("w-full items-center gap-3").mark("rec-filters"):
            ui.label("筛选").classes("ca-muted")
            self.keep = self._multi(self.provinces, "所在省份", "rec-provinces")
            self.drop = self._multi(self.provinces, "排除省份", "rec-exclude-provinces")
            self.outside = ui.switch("仅省外", on_change=self.changed).mark("rec-outside")
            self.sizes = self._multi(SIZE_BANDS, "规模", "rec-sizes")
            self.listed = ui.select(LISTED_OPTIONS, value=BOTH, on_change=self.changed) \
                .props("dense outlined options-dense").classes("w-36").mark("rec-listed")
            self.risk = ui.switch("含风险警示企业", on_change=self.changed) \
                .mark("rec-include-risk")
        self.summary = ui.label(self._describe(self.filters)).classes("ca-muted") \
            .mark("rec-filters-text")

    def _multi(self, options: dict[str, str], label: str, marker: str) -> ui.select:
        return ui.select(options, multiple=True, value=[], label=label, with_input=True,
                         on_change=self.changed) \
            .props("dense outlined options-dense use-chips clearable").classes("w-56") \
            .mark(marker)

    @staticmethod
    def _describe(filters: TargetFilters) -> str:
        return f"筛选条件：{filters.describe_zh()}。{NOT_COVERED_ZH}。"

    def current(self) -> TargetFilters | None:
        """The filters the widgets name; None (and the reason shown) when they
        contradict each other."""
        keep = [str(v) for v in (self.keep.value if self.keep else []) or []]
        drop = [str(v) for v in (self.drop.value if self.drop else []) or []]
        if set(keep) & set(drop):
            if self.summary is not None:
                self.summary.text = "同一省份不能既限定又排除，请调整所在省份或排除省份。"
            return None
        listed = str(self.listed.value) if self.listed else BOTH
        names = {key: "、".join(self.provinces.get(a, a) for a in chosen)
                 for key, chosen in (("provinces", keep), ("exclude_provinces", drop))
                 if chosen}
        return TargetFilters(
            provinces=tuple(keep), exclude_provinces=tuple(drop),
            outside_province=bool(self.outside.value) if self.outside else False,
            sizes=tuple(str(v) for v in (self.sizes.value if self.sizes else []) or []),
            listed=None if listed == BOTH else listed,
            exclude_risk=not (self.risk.value if self.risk else False), labels=names)

    async def changed(self, _: Any = None) -> None:
        """Re-read the widgets; on a new, consistent set of filters, say so and rank
        again."""
        filters = self.current()
        if filters is None:
            return
        if self.summary is not None:
            self.summary.text = self._describe(filters)
        if filters != self.filters:
            self.filters = filters
            await self.on_change(filters)


class RecommendView:
    """Node recommendations, the node and target-list filters and the ranked target
    firms."""

    def __init__(self, selection: Selection, nodes: list[dict[str, Any]],
                 provinces: dict[str, str] | None = None) -> None:
        self.selection = selection
        self.nodes = nodes
        self.node: str | None = None
        self.top = 20
        self.firm_area: ui.column | None = None
        self.download: ui.button | None = None
        self.node_picker: ui.select | None = None
        self.filter_bar = FilterBar(provinces or {}, self.set_filters)
        self.table: ui.table | None = None
        self.actions = LeadActions(selection, self.chosen, lambda: self.filters)

    @property
    def filters(self) -> TargetFilters:
        """The target-list filters in force."""
        return self.filter_bar.filters

    async def build(self) -> None:
        """Both sections; the firm section fills in asynchronously."""
        self._node_section()
        with section("目标企业推荐", f"本地以外、位于该链（或所选环节）的"
                                    f"{self.selection.universe_zh}，按综合得分排序"):
            self._controls()
            self.filter_bar.build()
            await self.actions.build()
            self.firm_area = ui.column().classes("w-full gap-3")

    def chosen(self) -> list[str]:
        """The ids of the firms ticked in the target table (a notice when none is)."""
        return ticked(self.table)

    def _node_section(self) -> None:
        with section("环节招商建议",
                     "本地薄弱或缺失的生产环节：补链 · 延链 · 强链（点击环节筛选目标企业）；"
                     "流通、零售、服务与运营环节随本地需求和许可而定，不在此排名"):
            if not self.nodes:
                empty_note("本地在该产业链上没有薄弱或缺失的细分环节")
                return
            shown = self.nodes[:NODES_SHOWN]
            labels = chart_labels(shown, NODE_WEIGHTS)
            with ui.row().classes("w-full gap-4 flex-nowrap items-start"):
                with ui.column().classes("ca-f2"):
                    option = charts.component_bars_option(
                        shown, list(labels), labels, NODE_WEIGHTS, name_key="name_zh")
                    chart = echart(option, 44 + 30 * len(shown), marker="node-bars")
                    chart.on_point_click(self._bar_clicked)
                with ui.column().classes("ca-f3 gap-2 ca-scroll"):
                    for item in shown:
                        self._node_card(item)

    def _node_card(self, item: dict[str, Any]) -> None:
        with ui.card().classes("ca-card w-full p-3 cursor-pointer").mark("node-card") \
                .on("click", lambda nid=item["node_id"]: self.pick(nid)):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label(f"{item.get('rank', '')}").classes("ca-chip").style(
                    f"background:{charts.PRIMARY};color:#fff")
                ui.label(str(item["name_zh"])).classes("ca-strong")
                label_chip(str(item["label"]))
                class_chip(str(item["class"]))
                ui.label(str(item["stage"])).classes("ca-muted")
                ui.label(f"得分 {float(item['score']):.3f}").classes("font-bold ml-auto") \
                    .style(f"color:{charts.PRIMARY}")
            # One label, a line per reason: twelve cards of up to four reasons would be
            # sixty elements to build on the event loop for every visitor.
            ui.label("\n".join(f"• {reason}" for reason in item.get("reasons_zh", [])[:4])) \
                .classes("ca-reason whitespace-pre-line").mark("node-reasons")
            explain_label(explained(item, NODE_WEIGHTS), marker="node-explain")

    async def _bar_clicked(self, event: events.EChartPointClickEventArguments) -> None:
        match = next((n for n in self.nodes if n["name_zh"] == event.name), None)
        if match is not None:
            await self.pick(str(match["node_id"]))

    def _controls(self) -> None:
        options = {ALL_NODES: "全产业链"} | {
            str(n["node_id"]): f"[{n['label']}] {n['name_zh']}" for n in self.nodes}
        with ui.row().classes("w-full items-center gap-3"):
            ui.label("环节").classes("ca-muted")
            self.node_picker = ui.select(options, value=ALL_NODES, with_input=True,
                                         on_change=lambda e: self.pick(e.value)) \
                .props("dense outlined options-dense").classes("w-72").mark("rec-node-picker")
            ui.label("数量").classes("ca-muted")
            ui.select(TOP_CHOICES, value=self.top, on_change=lambda e: self.set_top(e.value)) \
                .props("dense outlined options-dense").classes("w-28")
            ui.space()
            self.download = ui.button("导出 Excel 招商清单", icon="download") \
                .props("unelevated color=primary").mark("xlsx-download")
            self._update_download()

    def _update_download(self) -> None:
        if self.download is None:
            return
        url = xlsx_url(self.selection.chain_id, self.selection.region.adcode,
                       self.node, self.top, self.selection.universe, self.filters)
        # a plain link: the browser downloads the workbook the REST API builds
        self.download.props["href"] = url
        self.download.props["target"] = "_blank"

    async def pick(self, value: Any) -> None:
        """Filter the target firms by node (None or ALL_NODES: the whole chain)."""
        node = None if value in (None, ALL_NODES) else str(value)
        shown = self.firm_area is not None and bool(self.firm_area.default_slot.children)
        if node == self.node and shown:
            return
        self.node = node
        if self.node_picker is not None and self.node_picker.value != (node or ALL_NODES):
            self.node_picker.value = node or ALL_NODES  # re-enters pick(): returns above
        self._update_download()
        await self.load_firms()

    async def set_filters(self, _: TargetFilters) -> None:
        """Rank again under new target-list filters (the bar holds them)."""
        self._update_download()
        await self.load_firms()

    async def set_top(self, value: Any) -> None:
        """Show another number of firms."""
        self.top = int(value)
        self._update_download()
        await self.load_firms()

    async def load_firms(self) -> None:
        """Rank the target firms for the current filters and show chart and table."""
        if self.firm_area is None:
            return
        # filters change faster than rankings load: only the latest request may draw, or
        # a slow earlier one would overwrite it with stale firms
        self._loads = getattr(self, "_loads", 0) + 1
        mine = self._loads
        ranked = await load_cached(firm_ranking.rank_firms, self.selection.region,
                                   self.selection.chain, self.node, self.top,
                                   universe=self.selection.universe, filters=self.filters)
        if mine != self._loads:
            return
        self.firm_area.clear()
        with self.firm_area:
            if not ranked:
                empty_note("暂无符合条件的外地企业")
                return
            shown = ranked[:15]
            labels = chart_labels(shown, TARGET_WEIGHTS)
            echart(charts.component_bars_option(
                shown, list(labels), labels, TARGET_WEIGHTS, name_key="short_name"),
                44 + 28 * len(shown), marker="firm-bars")
            self.table = link_table(FIRM_COLUMNS, [firm_row(r) for r in ranked], page=10,
                                    marker="firm-table")
            if self.actions.picker is not None:  # an analyst: firms can be ticked
                self.table.set_selection("multiple")


#: The target firm table: the score's components (value × weight = points, raw figure)
#: and the risk flags beside the reasons.
FIRM_COLUMNS: list[dict[str, Any]] = [
    {"name": "rank", "label": "#", "field": "rank"},
    {"name": "name", "label": "企业", "field": "name", "align": "left"},
    {"name": "place", "label": "所在地", "field": "place", "align": "left"},
    {"name": "nodes", "label": "环节", "field": "nodes", "wrap": True},
    {"name": "score", "label": "得分", "field": "score"},
    {"name": "explain", "label": "得分构成（分值 × 权重 = 得分）", "field": "explain",
     "wrap": True, "style": "white-space:pre-line;min-width:300px"},
    {"name": "risk", "label": "风险提示", "field": "risk", "wrap": True},
    {"name": "reasons", "label": "推荐理由", "field": "reasons", "wrap": True,
     "style": "white-space:normal;min-width:420px"}]


def firm_row(record: dict[str, Any]) -> dict[str, Any]:
    """One ranked firm as a row of the firm table."""
    return {"company_id": record["company_id"], "rank": record["rank"],
            "name": str(record["short_name"] or record["full_name"] or record["company_id"]),
            "place": place_zh(record["province"], record["city"]),
            "nodes": "、".join(str(n["name_zh"]) for n in record["nodes"][:3]) or "—",
            "score": f"{float(record['score']):.3f}",
            "explain": "\n".join(explain_lines(explained(record, TARGET_WEIGHTS))),
            "risk": risk_of(record)[0] or "—",
            "reasons": "；".join(record["reasons_zh"])}


async def _body(selection: Selection) -> None:
    nodes = await load_cached(node_ranking.rank_nodes, selection.region, selection.chain,
                              universe=selection.universe)
    provinces = await load_cached(search_regions, level="province", limit=PROVINCES)
    view = RecommendView(selection, nodes, {str(p["adcode"]): str(p["name"])
                                            for p in provinces})
    await view.build()
    await view.load_firms()


def page() -> Frame:
    """The recommendation page's frame."""
    return Frame("/recommend", "精准招商", _body,
                 lambda s: f"{s.region.name} · {s.chain_name}产业链 · 补链 / 延链 / 强链")
