"""产业链全景图谱 (/chain): the chain as a layered graph, coloured by the region's standing.

Figures are of the selection's firm universe (the header's toggle); a node's firm list
shows each firm's type and, for firms placed by their business scope (registry and
roster firms), the scope items that placed them. The page links to the placement table's
Excel download (``/api/v1/placements.xlsx``) for the same chain, region and universe.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from nicegui import events, ui

from chainatlas.analysis.overview import chain_edges
from chainatlas.analysis.panorama import node_firms
from chainatlas.analysis.regional import FIRMS_NOUN_ZH, NATIONAL_ZH, region_profile
from chainatlas.chains.evidence import evidence_from_json, evidence_zh, placing_scope_items
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, region_names
from chainatlas.store.query import UNIVERSES
from chainatlas.web import charts
from chainatlas.web.cache import cached
from chainatlas.web.pages.layout import Frame, Selection
from chainatlas.web.pages.widgets import (
    capital_zh,
    class_chip,
    class_legend,
    echart,
    empty_note,
    link_table,
    load,
    load_cached,
    section,
)

FIRM_LIMIT = 300
#: Each firm origin as the firm list's 类型 column shows it.
ORIGIN_ZH = {"listed": "上市", "registry": "工商登记", "roster": "导入名录"}


def placements_xlsx_url(chain_id: str, region: str, universe: str) -> str:
    """The REST API's Excel download of the chain's placed firms (企业节点明细)."""
    return "/api/v1/placements.xlsx?" + urlencode(
        {"chain": chain_id, "region": region, "universe": universe})


def chain_data(db: Database, region: Region, chain: Chain,
               universe: str | None = None) -> dict[str, Any]:
    """The region's profile on the chain (firms of ``universe``) and the chain's template
    supply edges."""
    return {"profile": cached(region_profile, db, region, chain, universe=universe),
            "edges": cached(chain_edges, db, chain)}


def firm_rows(db: Database, chain: Chain, region: Region, node_id: str,
              universe: str | None = None) -> list[dict[str, Any]]:
    """Firms of the universe on a node (with its subtree): local first, then national,
    biggest first; scope-placed firms with the scope items that placed them."""
    frame = node_firms(db, chain, region, node_id, universe, local_first=True,
                       limit=FIRM_LIMIT)
    if frame.empty:
        return []
    names = region_names(db, (c for c in frame["city_adcode"].unique() if isinstance(c, str)))
    rows = []
    for row in frame.to_dict("records"):
        evidence = evidence_from_json(row["evidence"])
        city = row["city_adcode"] if isinstance(row["city_adcode"], str) else None
        rows.append({
            "company_id": str(row["company_id"]),
            "name": str(row["short_name"] or row["full_name"] or row["company_id"]),
            "local": "本地" if bool(row["is_local"]) else "",
            "origin": ORIGIN_ZH.get(str(row["origin"]), str(row["origin"])),
            "city": names.get(city, "—") if city else "—",
            "capital": capital_zh(row["registered_capital"]),
            "confidence": f"{float(row['confidence']):.2f}",
            "evidence": evidence_zh(evidence),
            "scope": "；".join(f"「{item}」" for item in placing_scope_items(evidence))
            or "—"})
    return rows


FIRM_COLUMNS: list[dict[str, Any]] = [
    {"name": "local", "label": "", "field": "local", "align": "left"},
    {"name": "name", "label": "企业", "field": "name", "align": "left"},
    {"name": "origin", "label": "类型", "field": "origin"},
    {"name": "city", "label": "所在地", "field": "city", "align": "left"},
    {"name": "capital", "label": "注册资本", "field": "capital"},
    {"name": "confidence", "label": "置信度", "field": "confidence"},
    {"name": "evidence", "label": "判定依据（产品 / 关键词 / 申万 / 国标）", "field": "evidence",
     "wrap": True, "style": "white-space:normal;min-width:320px"},
    {"name": "scope", "label": "经营范围条目（按经营范围判定的企业）", "field": "scope",
     "wrap": True, "style": "white-space:normal;min-width:240px"}]


class ChainView:
    """The graph and the firm list of the clicked node."""

    def __init__(self, selection: Selection, data: dict[str, Any]) -> None:
        self.selection = selection
        self.profile = data["profile"]
        self.edges = data["edges"]
        self.nodes = {str(n["node_id"]): n for n in self.profile["nodes"]}
        self.universe = str(self.profile["universe"])
        self.chart: ui.echart | None = None
        self.dialog = ui.dialog().props("maximized=false")

    def build(self) -> None:
        """Summary chips, the legend and the graph."""
        summary = self.profile["summary"]
        with section(f"{self.profile['chain_name']}产业链全景图谱",
                     f"{self.selection.region.name} · {UNIVERSES[self.universe]} · 细分环节 "
                     f"强 {summary['强']} / 弱 {summary['弱']} / 缺 {summary['缺']}"):
            with ui.row().classes("w-full items-center gap-4"):
                class_legend()
                ui.label(f"方框高度 = {NATIONAL_ZH[self.universe]}数；箭头 = 供需关系"
                         "（上游 → 下游）；点击环节查看企业名单").classes("ca-note")
                ui.space()
                url = placements_xlsx_url(self.selection.chain_id,
                                          self.selection.region.adcode, self.universe)
                # a plain link: the browser downloads the workbook the REST API builds
                download = ui.button("下载企业节点明细 (Excel)", icon="download") \
                    .props("outline dense").mark("placements-download")
                download.props["href"], download.props["target"] = url, "_blank"
            ui.label(f"{self.profile['coverage_zh']}；{self.profile['lq_basis']['note_zh']}") \
                .classes("ca-note").mark("lq-basis")
            option = charts.chain_graph_option(self.profile, self.edges)
            width, height = charts.chart_size(option)
            with ui.element("div").classes("w-full overflow-x-auto"):
                self.chart = echart(option, height, width, marker="chain-graph")
                self.chart.classes("mx-auto")
            self.chart.on_point_click(self.clicked)

    async def clicked(self, event: events.EChartPointClickEventArguments) -> None:
        """A box was clicked: highlight its supply edges and list its firms."""
        data: dict[str, Any] = event.data if isinstance(event.data, dict) else {}
        node_id = str(data.get("id") or "")
        if event.data_type not in (None, "node") or node_id not in self.nodes:
            return
        if self.chart is not None:
            # the tooltip would stay above the dialog (ECharts puts it on top of everything)
            self.chart.run_chart_method("dispatchAction", {"type": "hideTip"})
            option = charts.chain_graph_option(self.profile, self.edges, selected=node_id)
            self.chart.options.clear()
            self.chart.options.update(option)
            self.chart.update()
        rows = await load_cached(firm_rows, self.selection.chain, self.selection.region, node_id,
                          self.universe)
        self._show_firms(self.nodes[node_id], rows)

    def _show_firms(self, node: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        self.dialog.clear()
        with self.dialog, ui.card().classes("ca-card ca-dialog"):
            with ui.row().classes("w-full items-center gap-3"):
                ui.label(str(node["name_zh"])).classes("ca-title").mark("node-title")
                class_chip(str(node["class"]))
                ui.label(f"{node['stage']} · {NATIONAL_ZH[self.universe]} "
                         f"{node['national_firms']} 家 · 本地{FIRMS_NOUN_ZH[self.universe]} "
                         f"{node['local_firms']} 家 · 区位商 {node['lq']:.2f}") \
                    .classes("ca-muted")
                ui.space()
                ui.button(icon="close", on_click=self.dialog.close).props("flat round dense")
            _neighbours(node, self.edges, self.nodes)
            if rows:
                link_table(FIRM_COLUMNS, rows, page=12, marker="node-firms")
            else:
                empty_note("该环节暂无已识别企业")
        self.dialog.open()


def _neighbours(node: dict[str, Any], edges: list[dict[str, Any]],
                nodes: dict[str, dict[str, Any]]) -> None:
    nid = str(node["node_id"])
    ups = [nodes[str(e["source"])]["name_zh"] for e in edges
           if str(e["target"]) == nid and str(e["source"]) in nodes]
    downs = [nodes[str(e["target"])]["name_zh"] for e in edges
             if str(e["source"]) == nid and str(e["target"]) in nodes]
    with ui.row().classes("w-full gap-6"):
        ui.label("上游：" + ("、".join(ups) or "—")).classes("ca-reason") \
            .style(f"color:{charts.UPSTREAM_EDGE}")
        ui.label("下游：" + ("、".join(downs) or "—")).classes("ca-reason") \
            .style(f"color:{charts.DOWNSTREAM_EDGE}")


async def _body(selection: Selection) -> None:
    data = await load(chain_data, selection.region, selection.chain, selection.universe)
    if not data["profile"]["nodes"]:
        empty_note("该产业链没有环节")
        return
    ChainView(selection, data).build()


def page() -> Frame:
    """The chain page's frame."""
    return Frame("/chain", "产业链全景图谱", _body)
