"""目标监测 (/targets): each industry target's 完成进度 against its 时序进度, and alerts.

The chosen region's targets (and its subdivisions') as of today: a pair of bars per
target (完成进度 red when behind its 时序进度, green otherwise; 时序进度 grey), their
table, and the alerts (预警) of the region's projects and targets, high first, each
project alert linking to the project's page. An analyst adds targets and records their
monthly values in the page's forms (:mod:`chainatlas.web.pages.target_forms`), as the
API (``POST /api/v1/targets``, ``/targets/{id}/snapshots``) and the CLI do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from nicegui import ui

from chainatlas.projects.alerts import alerts_frame
from chainatlas.projects.targets import region_prefix, target_progress
from chainatlas.store import Database
from chainatlas.store.lookup import Region
from chainatlas.web import project_charts
from chainatlas.web.pages.layout import Frame, Selection
from chainatlas.web.pages.target_forms import TargetForms
from chainatlas.web.pages.widgets import (
    data_table,
    echart,
    empty_note,
    link_cells,
    load,
    section,
    stat_card,
)
from chainatlas.web.pages.writing import NO_RIGHT, page_writer, sign_in_note

TARGET_COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "目标", "field": "name", "align": "left", "wrap": True},
    {"name": "indicator", "label": "指标", "field": "indicator"},
    {"name": "region", "label": "地区", "field": "region"},
    {"name": "target", "label": "目标值", "field": "target"},
    {"name": "latest", "label": "最新值", "field": "latest"},
    {"name": "month", "label": "数据月份", "field": "month"},
    {"name": "progress", "label": "完成进度", "field": "progress"},
    {"name": "time", "label": "时序进度", "field": "time"},
    {"name": "status", "label": "状态", "field": "status"}]
ALERT_COLUMNS: list[dict[str, Any]] = [
    {"name": "severity", "label": "等级", "field": "severity"},
    {"name": "kind", "label": "类型", "field": "kind"},
    {"name": "subject", "label": "对象", "field": "subject"},
    {"name": "name", "label": "名称", "field": "name", "align": "left", "wrap": True},
    {"name": "owner", "label": "责任人", "field": "owner"},
    {"name": "days", "label": "超期", "field": "days"},
    {"name": "message", "label": "说明", "field": "message", "wrap": True}]


def targets_view(db: Database, region: Region, as_of: dt.date) -> dict[str, Any]:
    """The region's targets' standing and its alerts on ``as_of`` (one worker call)."""
    prefix = region_prefix(region)
    progress = [{str(k): v for k, v in r.items()}
                for r in target_progress(db, as_of).to_dict("records")
                if str(r["region_adcode"]).startswith(prefix)]
    alerts = [{str(k): v for k, v in r.items()} for r in
              alerts_frame(db, as_of, region=region.adcode).to_dict("records")]
    return {"progress": progress, "alerts": alerts, "as_of": as_of}


def draw_targets(view: Mapping[str, Any]) -> None:
    """Figures, the progress chart and table, and the alerts of one read."""
    progress, alerts = view["progress"], view["alerts"]
    behind = sum(1 for r in progress if r.get("behind"))
    high = sum(1 for a in alerts if a.get("severity") == "high")
    with ui.row().classes("w-full gap-4 items-stretch").mark("target-kpis"):
        stat_card("产业目标", f"{len(progress)} 个", f"截至 {view['as_of']}")
        stat_card("落后于时序进度", f"{behind} 个", "完成进度低于时间过半的进度",
                  project_charts.BEHIND_COLOUR)
        stat_card("预警", f"{len(alerts)} 条", f"其中高等级 {high} 条", "#F08C00")
    with section("完成进度与时序进度", "红色：落后于时序进度；绿色：正常；灰色：时序进度"):
        if not progress:
            empty_note("本地区还没有产业目标：分析员可在下方录入，或用 API、命令行添加")
        else:
            option = project_charts.progress_option(progress)
            echart(option, project_charts.progress_height(option), marker="progress-chart")
            data_table(TARGET_COLUMNS, project_charts.target_rows(progress), "target_id",
                       page=20, marker="targets-table")
    with section("预警", "阶段超期、开工逾期、资金到位滞后、目标落后；高等级在前"):
        if not alerts:
            empty_note("暂无预警")
            return
        # a project's name links to its page
        link_cells(data_table(ALERT_COLUMNS, project_charts.alert_rows(alerts), "key",
                              page=20, marker="alerts-table"), "name")


async def _body(selection: Selection) -> None:
    area = ui.column().classes("w-full gap-4")

    async def refresh() -> None:
        view = await load(targets_view, selection.region, dt.date.today())
        area.clear()
        with area:
            draw_targets(view)
            if page_writer(ui.context.client.request) is not None:
                TargetForms(selection, view["progress"], refresh).build()
            else:
                sign_in_note("targets-sign-in", "/targets",
                             f"{NO_RIGHT}后可新增目标、录入月度数据")
    await refresh()


def page() -> Frame:
    """The target monitoring page's frame."""
    return Frame("/targets", "目标监测", _body,
                 lambda s: f"{s.region.name}及下辖地区 · 完成进度 vs 时序进度 · 预警")
