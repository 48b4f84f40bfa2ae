"""招商地图 (/map): where a chain's (or a node's) firms are, by province and by city.

Counts are of the selection's firm universe; the page says what it covers, since with a
partial registry the provinces loaded stand far above the rest.
"""

from __future__ import annotations

from typing import Any

from nicegui import events, ui

from chainatlas.analysis.mapdata import map_counts
from chainatlas.analysis.overview import province_named
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, region_names
from chainatlas.web import charts
from chainatlas.web.pages.layout import Frame, Selection
from chainatlas.web.pages.widgets import (
    china_map_url,
    data_table,
    echart,
    empty_note,
    ensure_map,
    load,
    load_cached,
    province_map_url,
    section,
)

MAP_HEIGHT = 600
ALL_NODES = "__all__"
HAINAN = "460000"
# ECharts draws its own 南海诸岛 inset on a map registered as "china"; the GeoJSON leaves
# the islands out of the mainland map and of Hainan's city map (see chainatlas.web.geo).
NATIONAL_NOTE = "南海诸岛见右下角示意图"
HAINAN_NOTE = "三沙市岛礁未在图中显示"


def provinces_named(db: Database, name: str) -> list[Region]:
    """The province a map area is named after, as a list (empty when none: a worker
    thread's None means the app is shutting down, see widgets.load)."""
    province = province_named(db, name)
    return [] if province is None else [province]


def node_options(chain: Chain) -> dict[str, str]:
    """The chain's nodes as id -> label (indented by level), after a whole-chain option."""
    out = {ALL_NODES: "全产业链"}
    for node in chain.nodes:
        pad = "\u3000" * (node.level - 1)
        out[node.node_id] = f"{pad}{node.name_zh}（{node.stage}）"
    return out


class MapView:
    """The choropleth, its drill-down into one province, and the table beside it."""

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self.node: str | None = None
        self.province: Region | None = None
        self.area: ui.column | None = None
        self.note: ui.label | None = None
        self.client = ui.context.client

    async def build(self) -> None:
        """Node picker, back button, map and table."""
        options = node_options(self.selection.chain)
        with ui.row().classes("w-full items-center gap-3"):
            ui.label("产业链环节").classes("ca-muted")
            ui.select(options, value=ALL_NODES, with_input=True,
                      on_change=lambda e: self.pick_node(e.value)) \
                .props("dense outlined options-dense").classes("w-80").mark("node-picker")
            ui.space()
            self.note = ui.label(NATIONAL_NOTE).classes("ca-note").mark("scs-note")
        self.area = ui.column().classes("w-full gap-4")
        await self.draw()

    async def pick_node(self, value: Any) -> None:
        """Show another node (or the whole chain)."""
        self.node = None if value in (None, ALL_NODES) else str(value)
        await self.draw()

    async def drill(self, province: Region | None) -> None:
        """Zoom into a province's cities, or back out to China (None)."""
        self.province = province
        await self.draw()

    async def clicked(self, event: events.EChartPointClickEventArguments) -> None:
        """A province was clicked on the national map: drill into it."""
        if self.province is not None or not event.name:
            return
        found = await load(provinces_named, str(event.name))
        if found:
            await self.drill(found[0])

    async def draw(self) -> None:
        """(Re)draw the map and table for the current node and level."""
        if self.area is None:
            return
        chain = self.selection.chain
        universe = self.selection.universe
        if self.province is None:
            data = await load_cached(map_counts, chain, self.node, "province", top=5,
                              universe=universe)
            map_name, url = "china", china_map_url()
        else:
            data = await load_cached(map_counts, chain, self.node, "city", self.province,
                                     top=5, universe=universe)
            map_name = f"province-{self.province.adcode}"
            url = province_map_url(self.province.adcode)
        if self.note is not None:
            adcode = None if self.province is None else self.province.adcode
            self.note.text = (NATIONAL_NOTE if adcode is None
                              else HAINAN_NOTE if adcode == HAINAN else "")
        self.area.clear()
        with self.area, ui.row().classes("w-full gap-4 flex-nowrap items-stretch"):
            with section(self._title(data), f"合计 {data['total_firms']} 家企业 · "
                                            f"{data['coverage_zh']}").classes("ca-f3"):
                if self.province is not None:
                    ui.button("返回全国", icon="arrow_back",
                              on_click=lambda: self.drill(None)) \
                        .props("outline dense").mark("map-back")
                holder = ui.column().classes("w-full")
            with section("地区排名", "企业数与代表企业").classes("ca-f2").style("min-width:380px"):
                self._table(data)
        home = self.selection.region.province_adcode
        names = await load(region_names, [home]) if self.province is None else {}
        ok = await ensure_map(map_name, url, self.client)
        with holder:
            if not ok:
                empty_note("地图数据暂不可用，请参考右侧地区排名")
                return
            self._chart(data, map_name, names.get(home))

    def _title(self, data: dict[str, Any]) -> str:
        scope = data.get("node_name") or f"{data['chain_name']}产业链"
        where = self.province.name if self.province else "全国"
        return f"{where} · {scope}{data['universe_zh']}分布"

    def _chart(self, data: dict[str, Any], map_name: str, province_name: str | None) -> None:
        region = self.selection.region
        if self.province is None:
            option = charts.china_map_option(data, map_name, highlight=province_name)
        else:
            home = None
            if region.province_adcode == self.province.adcode:
                home = region.name if region.level == "city" else None
            option = charts.city_map_option(data, map_name, highlight=home)
        chart = echart(option, MAP_HEIGHT, marker="map-chart")
        chart.on_point_click(self.clicked)

    def _table(self, data: dict[str, Any]) -> None:
        areas = data["areas"]
        if not areas:
            empty_note("暂无企业")
            return
        rows = [{"adcode": a["adcode"], "rank": i, "name": a["name"], "firms": a["firms"],
                 "top": "、".join(str(n) for n in a["top_firms"])}
                for i, a in enumerate(areas, start=1)]
        table = data_table([
            {"name": "rank", "label": "#", "field": "rank"},
            {"name": "name", "label": "地区", "field": "name", "align": "left"},
            {"name": "firms", "label": "企业数", "field": "firms", "sortable": True},
            {"name": "top", "label": "代表企业", "field": "top", "wrap": True}],
            rows, "adcode", page=12, marker="map-table")
        if self.province is None:
            table.on("rowClick", lambda e: self._row_clicked(e.args[1]))

    async def _row_clicked(self, row: dict[str, Any]) -> None:
        found = await load(provinces_named, str(row.get("name")))
        if found:
            await self.drill(found[0])


async def _body(selection: Selection) -> None:
    await MapView(selection).build()


def page() -> Frame:
    """The map page's frame."""
    return Frame("/map", "招商地图", _body,
                 lambda s: f"{s.chain_name}产业链{s.universe_zh}全国分布 · 点击省份查看地市")
