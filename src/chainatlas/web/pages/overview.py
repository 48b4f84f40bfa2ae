"""总览 (/): the region's key figures across every chain."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from chainatlas.analysis.overview import region_overview
from chainatlas.web import charts
from chainatlas.web.pages.layout import Frame, Selection, remember
from chainatlas.web.pages.widgets import (
    data_table,
    echart,
    empty_note,
    link_table,
    load_cached,
    section,
    stat_card,
)


async def _body(selection: Selection) -> None:
    region = selection.region
    data = await load_cached(region_overview, region, universe=selection.universe)
    chains = data["chains"]
    located = data["located_total"] / data["listed_total"] if data["listed_total"] else 0.0
    strong = sum(int(c["summary"].get("强", 0)) for c in chains)
    missing = sum(int(c["summary"].get("缺", 0)) for c in chains)
    with ui.row().classes("w-full gap-4 flex-nowrap"):
        stat_card(f"本地{data['universe_zh']}", f"{data['local_universe']:,} 家",
                  f"其中上市企业 {data['local_listed']:,} 家；本地企业合计 "
                  f"{data['local_firms']:,} 家（含工商登记与导入名录）")
        stat_card("重点产业链企业", f"{data['on_chain']:,} 家",
                  f"位于 {len(chains)} 条重点产业链的本地{data['universe_zh']}", "#3E72B8")
        stat_card("企业定位覆盖率", f"{located:.1%}",
                  f"全国 {data['listed_total']:,} 家上市企业中 {data['located_total']:,} 家已定位",
                  "#0F766E")
        stat_card("优势 / 缺失环节", f"{strong} / {missing}",
                  "五条产业链细分环节中的 强 / 缺 数量", charts.CLASS_BORDERS["强"])
    with ui.row().classes("w-full gap-4 flex-nowrap items-stretch"):
        with section("产业链环节结构", "各链细分环节：强 / 弱 / 缺（点击进入图谱）") \
                .classes("ca-f2"):
            chart = echart(charts.class_counts_option(chains), 270, marker="class-chart")
            chart.on_point_click(lambda e: _open_chain(e.data.get("chain_id")))
        with section("各产业链概况", "强 / 弱 / 缺 为细分环节数").classes("ca-f3"):
            _chain_table(chains)
            ui.label("点击任一产业链，进入其全景图谱查看各环节企业").classes("ca-note")
    with section(f"{region.name}链主企业", "按链主得分排序：规模、覆盖广度、供应链中心度"):
        rows = [{"chain": c["name"], "rank": leader["rank"], "company_id": leader["company_id"],
                 "name": leader["short_name"], "score": f"{leader['score']:.3f}",
                 "nodes": leader["nodes"] or "—"}
                for c in chains for leader in c["leaders"]]
        if not rows:
            empty_note("本地暂无重点产业链上的企业")
            return
        link_table([{"name": "chain", "label": "产业链", "field": "chain", "align": "left"},
                    {"name": "rank", "label": "本地排名", "field": "rank"},
                    {"name": "name", "label": "企业", "field": "name", "align": "left"},
                    {"name": "score", "label": "链主得分", "field": "score"},
                    {"name": "nodes", "label": "所在环节", "field": "nodes", "wrap": True}],
                   rows, page=15, marker="leaders-table")
    ui.label(f"企业范围：{data['coverage_zh']}").classes("ca-note").mark("coverage-note")


def _chain_table(chains: list[dict[str, Any]]) -> None:
    rows = [{"chain_id": c["chain_id"], "name": c["name"], "firms": c["local_firms"],
             "strong": c["summary"].get("强", 0), "weak": c["summary"].get("弱", 0),
             "missing": c["summary"].get("缺", 0),
             "leader": c["leaders"][0]["short_name"] if c["leaders"] else "—",
             "segments": "、".join(c["strong_segments"]) or "—"} for c in chains]
    table = data_table([
        {"name": "name", "label": "产业链", "field": "name", "align": "left"},
        {"name": "firms", "label": "本地企业", "field": "firms"},
        {"name": "strong", "label": "强", "field": "strong"},
        {"name": "weak", "label": "弱", "field": "weak"},
        {"name": "missing", "label": "缺", "field": "missing"},
        {"name": "leader", "label": "本地链主", "field": "leader", "align": "left"},
        {"name": "segments", "label": "优势领域", "field": "segments", "wrap": True}],
        rows, "chain_id", marker="chains-table")
    table.classes("cursor-pointer")
    table.on("rowClick", lambda e: _open_chain(e.args[1].get("chain_id")))


def _open_chain(chain_id: Any) -> None:
    if chain_id:
        remember("chain", str(chain_id))
        ui.navigate.to("/chain")


def page() -> Frame:
    """The overview page's frame."""
    return Frame("/", "招商总览", _body,
                 lambda s: f"{s.region.name} · 五条重点产业链一览")
