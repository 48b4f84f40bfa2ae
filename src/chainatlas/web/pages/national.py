"""全国分布 (/national): a chain's or a node's cities in a national-scale batch run.

A data centre runs the batch pipeline (``chainatlas pipeline run``, DuckDB or Spark, see
docs/scale.md) over a registry of millions of firms and imports the city × node figures
(``chainatlas pipeline import``). This page reads them: for the chosen run, chain and
node, the cities with most firms (the analyst's region in red), each city's share of the
node's firms nationally, its location quotient, and for a leaf node its relatedness
density — where a node is concentrated in China, and where the region stands.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from chainatlas.pipeline.store import node_cities, runs_frame
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region
from chainatlas.web import pipeline_charts
from chainatlas.web.charts import ACCENT
from chainatlas.web.pages.atlas import ALL_NODES, node_options
from chainatlas.web.pages.layout import Frame, Selection
from chainatlas.web.pages.widgets import data_table, echart, empty_note, load, section, stat_card

#: Cities read per view (the table pages through them).
CITIES = 300
COLUMNS: list[dict[str, Any]] = [
    {"name": "rank", "label": "#", "field": "rank"},
    {"name": "city", "label": "城市", "field": "city", "align": "left"},
    {"name": "firms", "label": "企业数", "field": "firms"},
    {"name": "share", "label": "占全国", "field": "share"},
    {"name": "lq", "label": "区位熵", "field": "lq"},
    {"name": "density", "label": "关联密度", "field": "density"},
    {"name": "mine", "label": "", "field": "mine"}]
NO_RUN = ("还没有导入全国批处理结果：数据中心运行 chainatlas pipeline run --input 登记数据 "
          "--out 结果目录（DuckDB 或 Spark），再运行 chainatlas pipeline import 结果目录")
NOTE = ("企业按经营范围落位到环节（批处理规则与单机版相同）；区位熵 = 城市该环节企业占本市"
        "企业之比 ÷ 全国之比，只计有所在城市的企业；企业很少的城市区位熵波动大，按企业数排序")


def region_prefix(region: Region) -> str:
    """The adcode prefix of the region's cities: a province's 2 digits, else the city's 4
    (a district is shown by its city: the runs count firms per city)."""
    return region.adcode[:2] if region.level == "province" else region.adcode[:4]


def runs_view(db: Database) -> list[dict[str, Any]]:
    """The imported runs, newest first (an empty list when none)."""
    return [{str(k): v for k, v in r.items()} for r in runs_frame(db).to_dict("records")]


def cities_view(db: Database, chain: Chain, node: str | None, run_id: int
                ) -> list[dict[str, Any]]:
    """The cities of the chain (or node) in the run, most firms first."""
    frame = node_cities(db, chain.chain_id, node, run_id, CITIES)
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


class NationalView:
    """Run and node pickers, figures, the bars and the table."""

    def __init__(self, selection: Selection, runs: list[dict[str, Any]]) -> None:
        self.selection = selection
        self.runs = runs
        self.run_id = int(runs[0]["run_id"])
        self.node: str | None = None
        self.area: ui.column | None = None

    async def build(self) -> None:
        """Pickers, then the first drawing."""
        runs = {int(r["run_id"]): pipeline_charts.run_label(r) for r in self.runs}
        with ui.row().classes("w-full items-center gap-3"):
            ui.label("批处理").classes("ca-muted")
            ui.select(runs, value=self.run_id, on_change=lambda e: self.pick_run(e.value)) \
                .props("dense outlined options-dense").classes("w-96").mark("run-picker")
            ui.label("产业链环节").classes("ca-muted")
            ui.select(node_options(self.selection.chain), value=ALL_NODES, with_input=True,
                      on_change=lambda e: self.pick_node(e.value)) \
                .props("dense outlined options-dense").classes("w-80").mark("node-picker")
        self.area = ui.column().classes("w-full gap-4")
        await self.draw()

    async def pick_run(self, value: Any) -> None:
        """Show another imported run."""
        self.run_id = int(value)
        await self.draw()

    async def pick_node(self, value: Any) -> None:
        """Show another node (or the whole chain)."""
        self.node = None if value in (None, ALL_NODES) else str(value)
        await self.draw()

    def _scope_name(self) -> str:
        chain = self.selection.chain
        if self.node is None:
            return f"{chain.name_zh}产业链"
        return chain.node(self.node).name_zh

    async def draw(self) -> None:
        """(Re)draw the figures, bars and table of the current run and node."""
        if self.area is None:
            return
        rows = await load(cities_view, self.selection.chain, self.node, self.run_id)
        prefix = region_prefix(self.selection.region)
        self.area.clear()
        with self.area:
            self._figures(rows, prefix)
            scope = self._scope_name()
            with section(f"全国 · {scope} · 城市分布", NOTE):
                if not rows:
                    empty_note("这一批处理结果中没有落位到该环节的企业")
                    return
                shown = min(len(rows), pipeline_charts.CHART_CITIES)
                option = pipeline_charts.cities_option(rows, prefix, f"企业数前{shown}的城市")
                echart(option, pipeline_charts.chart_height(rows), marker="national-chart")
                data_table(COLUMNS, pipeline_charts.city_rows(rows, prefix), "key", page=20,
                           marker="national-table")

    def _figures(self, rows: list[dict[str, Any]], prefix: str) -> None:
        run = next(r for r in self.runs if int(r["run_id"]) == self.run_id)
        region = self.selection.region
        mine = [(i, r) for i, r in enumerate(rows, start=1)
                if pipeline_charts.in_region(r, prefix)]
        total = int(rows[0]["node_firms"]) if rows else 0
        with ui.row().classes("w-full gap-4 items-stretch").mark("national-kpis"):
            stat_card("批处理企业", f"{int(run['firms']):,} 家",
                      f"落位 {int(run['placed']):,} 家 · 第{self.run_id}批")
            stat_card("该环节全国企业", f"{total:,} 家", f"分布在 {len(rows):,} 个城市")
            if mine:
                rank, first = mine[0]
                stat_card(f"{region.name}", f"第 {rank} 位",
                          f"{pipeline_charts.city_label(first)} {int(first['firms']):,} 家 · "
                          f"区位熵 {pipeline_charts.lq_zh(first['lq'])}",
                          ACCENT)
            else:
                stat_card(f"{region.name}", "无企业", "该环节在本地区没有落位企业",
                          ACCENT)


async def _body(selection: Selection) -> None:
    runs = await load(runs_view)
    if not runs:
        with section("全国分布"):
            empty_note(NO_RUN)
        return
    await NationalView(selection, runs).build()


def page() -> Frame:
    """The national distribution page's frame."""
    return Frame("/national", "全国分布", _body,
                 lambda s: f"{s.chain.name_zh}产业链 · 全国批处理结果 · 城市企业数与区位熵")
