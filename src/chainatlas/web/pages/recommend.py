"""精准招商 (/recommend): which nodes to develop, and which outside firms to approach."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from nicegui import events, ui

from chainatlas.recommend import firms as firm_ranking
from chainatlas.recommend import nodes as node_ranking
from chainatlas.web import charts
from chainatlas.web.pages.layout import Frame, Selection
from chainatlas.web.pages.widgets import (
    class_chip,
    echart,
    empty_note,
    label_chip,
    link_table,
    load_cached,
    section,
)

NODE_LABELS = {"density": "产业关联度", "adjacency": "上下游配套", "availability": "可招引规模"}
FIRM_LABELS = {"fit": "环节匹配", "strength": "企业实力", "links": "本地配套关联",
               "proximity": "区位邻近"}
NODES_SHOWN = 12
TOP_CHOICES = {10: "前 10 家", 20: "前 20 家", 50: "前 50 家"}
ALL_NODES = "__all__"


def xlsx_url(chain_id: str, region: str, node: str | None, top: int,
             universe: str | None = None) -> str:
    """The REST API's Excel export of these recommendations (of ``universe``'s firms)."""
    query: dict[str, Any] = {"chain": chain_id, "region": region}
    if node:
        query["node"] = node
    query["top"] = top
    if universe:
        query["universe"] = universe
    return "/api/v1/recommend/xlsx?" + urlencode(query)


def place_zh(province: Any, city: Any) -> str:
    """河北省 石家庄市; a municipality once (北京市); — when unknown."""
    parts = [str(x) for x in (province, city) if x]
    return " ".join(dict.fromkeys(parts)) or "—"


class RecommendView:
    """Node recommendations, the node filter and the ranked target firms."""

    def __init__(self, selection: Selection, nodes: list[dict[str, Any]]) -> None:
        self.selection = selection
        self.nodes = nodes
        self.node: str | None = None
        self.top = 20
        self.firm_area: ui.column | None = None
        self.download: ui.button | None = None
        self.node_picker: ui.select | None = None

    def build(self) -> None:
        """Both sections; the firm section fills in asynchronously."""
        self._node_section()
        with section("目标企业推荐", f"本地以外、位于该链（或所选环节）的"
                                    f"{self.selection.universe_zh}，按综合得分排序"):
            self._controls()
            self.firm_area = ui.column().classes("w-full gap-3")

    def _node_section(self) -> None:
        with section("环节招商建议",
                     "本地薄弱或缺失的细分环节：补链 · 延链 · 强链（点击环节筛选目标企业）"):
            if not self.nodes:
                empty_note("本地在该产业链上没有薄弱或缺失的细分环节")
                return
            shown = self.nodes[:NODES_SHOWN]
            with ui.row().classes("w-full gap-4 flex-nowrap items-start"):
                with ui.column().classes("ca-f2"):
                    option = charts.component_bars_option(
                        shown, list(NODE_LABELS), NODE_LABELS, node_ranking.WEIGHTS,
                        name_key="name_zh")
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
                       self.node, self.top, self.selection.universe)
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

    async def set_top(self, value: Any) -> None:
        """Show another number of firms."""
        self.top = int(value)
        self._update_download()
        await self.load_firms()

    async def load_firms(self) -> None:
        """Rank the target firms for the current filter and show chart and table."""
        if self.firm_area is None:
            return
        ranked = await load_cached(firm_ranking.rank_firms, self.selection.region,
                            self.selection.chain, self.node, self.top,
                            universe=self.selection.universe)
        self.firm_area.clear()
        with self.firm_area:
            if not ranked:
                empty_note("暂无符合条件的外地企业")
                return
            shown = ranked[:15]
            echart(charts.component_bars_option(
                shown, list(FIRM_LABELS), FIRM_LABELS, firm_ranking.WEIGHTS,
                name_key="short_name"), 44 + 28 * len(shown), marker="firm-bars")
            rows = [{"company_id": r["company_id"], "rank": r["rank"],
                     "name": str(r["short_name"] or r["full_name"] or r["company_id"]),
                     "place": place_zh(r["province"], r["city"]),
                     "nodes": "、".join(str(n["name_zh"]) for n in r["nodes"][:3]) or "—",
                     "score": f"{float(r['score']):.3f}",
                     "reasons": "；".join(r["reasons_zh"])} for r in ranked]
            link_table([{"name": "rank", "label": "#", "field": "rank"},
                        {"name": "name", "label": "企业", "field": "name", "align": "left"},
                        {"name": "place", "label": "所在地", "field": "place", "align": "left"},
                        {"name": "nodes", "label": "环节", "field": "nodes", "wrap": True},
                        {"name": "score", "label": "得分", "field": "score"},
                        {"name": "reasons", "label": "推荐理由", "field": "reasons",
                         "wrap": True, "style": "white-space:normal;min-width:420px"}],
                       rows, page=10, marker="firm-table")


async def _body(selection: Selection) -> None:
    nodes = await load_cached(node_ranking.rank_nodes, selection.region, selection.chain,
                       universe=selection.universe)
    view = RecommendView(selection, nodes)
    view.build()
    await view.load_firms()


def page() -> Frame:
    """The recommendation page's frame."""
    return Frame("/recommend", "精准招商", _body,
                 lambda s: f"{s.region.name} · {s.chain_name}产业链 · 补链 / 延链 / 强链")
