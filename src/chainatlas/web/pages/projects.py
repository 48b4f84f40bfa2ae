"""项目库 (/projects) and one project's page (/project/{id}).

The ledger page shows the chosen region's projects (and its subdivisions'): headline
figures, projects and agreed amounts per stage, the stage board (a column per stage with
its count and amount, the largest projects on cards), and the filterable table whose
names open the project page; an analyst uploads a bureau's project sheet above them
(:mod:`chainatlas.web.pages.project_upload`). The project page shows the project's
fields, its event timeline (who changed what, when and why) and, for an analyst, the
forms that change it: each form sends the version the page read (``expected_version``),
so a change made by someone else meanwhile is refused with that change listed instead of
being overwritten.
Writes run as the signed-in user, checked against the store at submit time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nicegui import run, ui

from chainatlas.errors import ChainAtlasError, ConflictError, NotFoundError
from chainatlas.projects import ledger
from chainatlas.projects.fields import BY_NAME, FIELDS
from chainatlas.projects.queries import (
    ProjectFilters,
    ledger_breakdown,
    ledger_kpis,
    projects_frame,
)
from chainatlas.projects.stages import ENDED_LABEL, PAUSED_LABEL, STAGE_LABELS, STAGES
from chainatlas.store import Database
from chainatlas.store.lookup import chain_from_text, region_names
from chainatlas.store.users import User
from chainatlas.web import project_charts
from chainatlas.web.pages.layout import Frame, Selection
from chainatlas.web.pages.project_upload import SheetUpload
from chainatlas.web.pages.widgets import (
    chip,
    data_table,
    echart,
    empty_note,
    link_cells,
    load,
    section,
    stat_card,
)
from chainatlas.web.pages.writing import page_writer, sign_in_note, write_as_page_user

#: The most rows the ledger table holds (the API pages through the rest).
TABLE_LIMIT = 500
#: The cards a stage column of the board shows.
BOARD_CARDS = 6
#: The fields the edit form offers (the stage changes through 推进阶段 only).
EDITABLE = ("name", "investor_name", "park", "owner", "agreed_wan", "planned_year_wan",
            "completed_wan", "in_place_wan", "signed_date", "planned_start_date",
            "started_date", "planned_production_date", "production_date", "note")
ALL_CHAINS = "__all__"
ALL_STAGES = "__all__"


def project_url(project_id: int) -> str:
    """The page of one project."""
    return f"/project/{int(project_id)}"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT
    except (TypeError, ValueError):
        return False


def text_of(value: Any) -> str:
    """A stored value as a form or a table cell shows it ('' when missing)."""
    if _missing(value):
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "date") and callable(value.date):  # a pandas Timestamp
        return str(value.date())
    return str(value)


def stage_text(row: Mapping[str, Any]) -> str:
    """The stage's Chinese name, with 暂停 / 终止 when the project is paused or ended."""
    label = STAGE_LABELS.get(str(row.get("stage")), str(row.get("stage")))
    if row.get("ended") and not _missing(row.get("ended")):
        return f"{label}（{ENDED_LABEL}）"
    if row.get("paused") and not _missing(row.get("paused")):
        return f"{label}（{PAUSED_LABEL}）"
    return label


# -- reading ------------------------------------------------------------------------------


def ledger_view(db: Database, filters: ProjectFilters) -> dict[str, Any]:
    """Everything the ledger page draws for ``filters``, read in one worker call."""
    frame = projects_frame(db, filters)
    rows = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    return {"kpis": ledger_kpis(db, filters),
            "stages": ledger_breakdown(db, "stage", filters).to_dict("records"),
            "chains": ledger_breakdown(db, "chain", filters).to_dict("records"),
            "board": project_charts.stage_board(rows), "total": len(rows),
            "rows": table_rows(rows[:TABLE_LIMIT])}


def table_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ledger table's rows: text cells, amounts in 万元/亿元."""
    return [{"project_id": int(r["project_id"]), "code": text_of(r.get("code")) or "—",
             "name": text_of(r.get("name")), "investor": text_of(r.get("investor_name")) or "—",
             "region": text_of(r.get("region_name")) or "—",
             "chain": text_of(r.get("chain_name")) or "—",
             "park": text_of(r.get("park")) or "—", "stage": stage_text(r),
             "agreed": project_charts.wan_zh(None if _missing(r.get("agreed_wan"))
                                             else r.get("agreed_wan")),
             "in_place": project_charts.wan_zh(None if _missing(r.get("in_place_wan"))
                                               else r.get("in_place_wan")),
             "owner": text_of(r.get("owner")) or "—",
             "updated": text_of(r.get("updated_at"))[:10]} for r in rows]


def project_detail(db: Database, project_id: int) -> dict[str, Any]:
    """One project's row and events, and the names of its region, chain and node."""
    row = ledger.get_project(db, project_id)
    region = row.get("region_adcode")
    extra: dict[str, Any] = {"region_name": region_names(db, {region}).get(region)
                             if region else None, "chain_name": None, "node_name": None}
    if row.get("chain_id"):
        chain = chain_from_text(db, str(row["chain_id"]))
        extra["chain_name"] = chain.name_zh
        if row.get("node_id"):
            extra["node_name"] = chain.node(str(row["node_id"])).name_zh
    return {"project": {**row, **extra}, "events": ledger.project_events(db, project_id)}


# -- forms --------------------------------------------------------------------------------


def changed_fields(row: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The form values that differ from the project's (an emptied field becomes None)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        text = str(value or "").strip()
        if text != text_of(row.get(name)).strip():
            out[name] = text or None
    return out


def conflict_lines(changes: Sequence[Mapping[str, Any]]) -> list[str]:
    """The changes a ConflictError lists, one line each, as people read them."""
    return [f"v{c['version']} · {c.get('at', '')} · {c.get('actor', '')} · "
            f"{project_charts.EVENT_KINDS.get(str(c.get('kind')), str(c.get('kind')))}："
            + "；".join(project_charts.change_lines(c.get("changes") or {}))
            + (f"（{c['reason']}）" if c.get("reason") else "") for c in changes]


# -- the ledger page ----------------------------------------------------------------------

TABLE_COLUMNS: list[dict[str, Any]] = [
    {"name": "code", "label": "项目代码", "field": "code"},
    {"name": "name", "label": "项目名称", "field": "name", "align": "left", "wrap": True},
    {"name": "investor", "label": "投资方", "field": "investor", "wrap": True},
    {"name": "region", "label": "所在地区", "field": "region"},
    {"name": "chain", "label": "产业链", "field": "chain"},
    {"name": "park", "label": "园区", "field": "park"},
    {"name": "stage", "label": "阶段", "field": "stage"},
    {"name": "agreed", "label": "协议投资额", "field": "agreed"},
    {"name": "in_place", "label": "到位资金", "field": "in_place"},
    {"name": "owner", "label": "责任人", "field": "owner"},
    {"name": "updated", "label": "更新", "field": "updated"}]


class LedgerView:
    """The filter row and the results the filters redraw."""

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self.chain = ALL_CHAINS
        self.stage = ALL_STAGES
        self.search = ""
        self.include_ended = False
        self.results: ui.column | None = None
        self._loads = 0

    def filters(self) -> ProjectFilters:
        """The ledger filters the controls say, in the chosen region."""
        return ProjectFilters(
            region=self.selection.region.adcode,
            chain_id=None if self.chain == ALL_CHAINS else self.chain,
            stage=None if self.stage == ALL_STAGES else self.stage,
            search=self.search.strip() or None, include_ended=self.include_ended)

    def build(self) -> None:
        """The filter controls, then the results area."""
        chains = {ALL_CHAINS: "全部产业链", **self.selection.chains}
        stages = {ALL_STAGES: "全部阶段", **STAGE_LABELS}
        with ui.row().classes("w-full items-center gap-3").mark("ledger-filters"):
            ui.select(chains, value=self.chain, label="产业链",
                      on_change=lambda e: self._set("chain", e.value)) \
                .props("dense outlined").classes("w-44").mark("ledger-chain")
            ui.select(stages, value=self.stage, label="阶段",
                      on_change=lambda e: self._set("stage", e.value)) \
                .props("dense outlined").classes("w-36").mark("ledger-stage")
            ui.input("搜索项目名称、投资方或代码",
                     on_change=lambda e: self._set("search", e.value)) \
                .props('dense outlined clearable debounce="400"').classes("w-72") \
                .mark("ledger-search")
            ui.checkbox("含已终止", value=False,
                        on_change=lambda e: self._set("include_ended", e.value)) \
                .mark("ledger-ended")
            ui.space()
            ui.button("导出台账 Excel", icon="download") \
                .props(f'unelevated color=primary href="/api/v1/projects/export.xlsx?region='
                       f'{self.selection.region.adcode}" target=_blank') \
                .mark("ledger-xlsx")
        if page_writer(ui.context.client.request) is not None:
            # an analyst imports a bureau's sheet here; the ledger redraws after it
            SheetUpload(self.selection.region.name, self.refresh)
        self.results = ui.column().classes("w-full gap-4")

    async def _set(self, name: str, value: Any) -> None:
        setattr(self, name, bool(value) if name == "include_ended" else str(value or ""))
        await self.refresh()

    async def refresh(self) -> None:
        """Read and draw the results of the current filters."""
        if self.results is None:
            return
        self._loads += 1
        mine = self._loads
        view = await load(ledger_view, self.filters())
        if mine != self._loads:  # a later change is loading: let it draw
            return
        self.results.clear()
        with self.results:
            draw_ledger(view)


def draw_ledger(view: Mapping[str, Any]) -> None:
    """KPIs, per-stage chart, board and table of one read."""
    k = view["kpis"]
    with ui.row().classes("w-full gap-4 items-stretch").mark("ledger-kpis"):
        stat_card("在库项目", f"{int(k['projects'])} 个", "不含已终止（除非勾选）")
        stat_card("协议投资额", project_charts.wan_zh(k["agreed_wan"]), "全部在库项目")
        stat_card("签约及以后", f"{int(k['signed_or_later'])} 个",
                  f"协议投资额 {project_charts.wan_zh(k['signed_wan'])}")
        stat_card("开工 / 投产", f"{int(k['started'])} / {int(k['producing'])} 个",
                  f"到位资金 {project_charts.wan_zh(k['in_place_wan'])}")
        stat_card("暂停", f"{int(k['paused'])} 个", "暂停项目不预警", "#F08C00")
    with ui.row().classes("w-full gap-4 items-stretch no-wrap"):
        with section("各阶段项目", "项目数与协议投资额").classes("ca-f1"):
            echart(project_charts.stage_bar_option(view["stages"]), 260,
                   marker="stage-chart")
        with section("各产业链协议投资额", "亿元").classes("ca-f1"):
            echart(project_charts.breakdown_option(view["chains"], "协议投资额（亿元）"),
                   260, marker="chain-chart")
    _board(view["board"])
    with section("项目台账", f"共 {view['total']} 个项目" + (
            f"，列出最近更新的 {TABLE_LIMIT} 个" if view["total"] > TABLE_LIMIT else "")):
        if not view["rows"]:
            empty_note("没有符合条件的项目")
            return
        link_cells(data_table(TABLE_COLUMNS, view["rows"], "project_id", page=20,
                              marker="ledger-table"), "name",
                   "'/project/' + props.row.project_id")


def _board(columns: Sequence[Mapping[str, Any]]) -> None:
    with section("阶段看板", "每列一个阶段：项目数、协议投资额，按投资额列出主要项目"), \
            ui.row().classes("w-full gap-3 no-wrap items-start overflow-x-auto") \
            .mark("stage-board"):
        for column in columns:
            with ui.column().classes("gap-2").style(
                    "min-width:180px;flex:1;background:#F6F8FB;border-radius:8px;"
                    f"padding:8px;border-top:4px solid {column['colour']}") \
                    .mark(f"board-{column['stage']}"):
                ui.label(f"{column['label']} · {column['count']} 个").classes("ca-strong")
                ui.label(project_charts.wan_zh(column["agreed_wan"])).classes("ca-muted")
                for item in column["items"][:BOARD_CARDS]:
                    _board_card(item)
                if column["count"] > BOARD_CARDS:
                    ui.label(f"另 {column['count'] - BOARD_CARDS} 个").classes("ca-muted")


def _board_card(item: Mapping[str, Any]) -> None:
    with ui.card().classes("w-full").style("padding:6px 8px"):
        ui.link(item["name"], project_url(item["project_id"])).classes("ca-link")
        line = " · ".join(x for x in (item["investor"], item["agreed"]) if x)
        ui.label(line).classes("ca-muted")
        if item["paused"]:
            chip(PAUSED_LABEL, "#F08C00")


async def _ledger_body(selection: Selection) -> None:
    view = LedgerView(selection)
    view.build()
    await view.refresh()


def page() -> Frame:
    """The ledger page's frame."""
    return Frame("/projects", "招商项目库", _ledger_body,
                 lambda s: f"{s.region.name}及下辖地区 · 项目台账 · 阶段看板")


# -- one project --------------------------------------------------------------------------


class ProjectView:
    """One project: its fields, the analyst's forms and its timeline; redrawn after a
    write (the forms then hold the new version)."""

    def __init__(self, project_id: int) -> None:
        self.project_id = project_id
        self.area = ui.column().classes("w-full gap-4")
        self.conflict: list[str] = []
        self.row: dict[str, Any] = {}

    async def refresh(self) -> None:
        """Read the project again and redraw it."""
        try:
            detail = await load(project_detail, self.project_id)
        except NotFoundError:
            self.area.clear()
            with self.area:
                empty_note(f"没有编号为 {self.project_id} 的项目")
            return
        self.row = detail["project"]
        self.area.clear()
        with self.area:
            self._draw(detail)

    def _draw(self, detail: Mapping[str, Any]) -> None:
        row = detail["project"]
        if self.conflict:
            with section("未保存：项目已被他人修改",
                         "以下是你读取之后的修改；请在最新版本上重做你的修改").mark("conflict"):
                for line in self.conflict:
                    ui.label(line).classes("ca-reason")
        _summary(row)
        writer = page_writer(ui.context.client.request)
        if writer is None:
            sign_in_note("project-sign-in", project_url(self.project_id))
        elif not row["ended"]:
            self._forms(row, writer)
        with section("项目动态", "每次新建、修改、推进、暂停、恢复、终止都留有记录（最新在前）"):
            data_table([{"name": k, "label": v, "field": k, "wrap": k in ("changes", "reason")}
                        for k, v in (("version", "版本"), ("at", "时间 (UTC)"),
                                     ("actor", "操作人"), ("kind", "操作"),
                                     ("changes", "变更内容"), ("reason", "理由"))],
                       project_charts.event_rows(detail["events"]), "version", page=20,
                       marker="project-events")

    def _forms(self, row: Mapping[str, Any], writer: User) -> None:
        with section("修改项目", f"基于版本 {row['version']}；操作人：{writer.name}"):
            inputs = {}
            with ui.grid(columns=4).classes("w-full gap-3"):
                for name in EDITABLE:
                    inputs[name] = ui.input(BY_NAME[name].label, value=text_of(row.get(name))) \
                        .props("dense outlined").mark(f"edit-{name}")
            with ui.row().classes("w-full items-end gap-3"):
                reason = ui.input("修改说明（可选）").props("dense outlined") \
                    .classes("w-96").mark("edit-reason")
                ui.button("保存修改", icon="save", on_click=lambda: self.save(
                    {k: i.value for k, i in inputs.items()}, reason.value)) \
                    .props("unelevated color=primary").mark("edit-submit")
        self._stage_form(row)

    def _stage_form(self, row: Mapping[str, Any]) -> None:
        with section("阶段", f"当前：{stage_text(row)}；跳阶、回退、暂停、恢复、终止需填写理由"):
            with ui.row().classes("w-full items-end gap-3"):
                others = {s: STAGE_LABELS[s] for s in STAGES if s != row["stage"]}
                stage = ui.select(others, value=next(iter(others)), label="目标阶段") \
                    .props("dense outlined").classes("w-36").mark("move-stage")
                day = ui.input("生效日期（默认今天）").props("dense outlined") \
                    .classes("w-44").mark("move-date")
                reason = ui.input("理由").props("dense outlined").classes("w-80") \
                    .mark("move-reason")
                ui.button("推进阶段", icon="arrow_forward", on_click=lambda: self.move(
                    stage.value, day.value, reason.value)) \
                    .props("unelevated color=primary").mark("move-submit")
            with ui.row().classes("w-full items-end gap-3"):
                for kind, label in (("resume", "恢复") if row["paused"] else ("pause", "暂停"),
                                    ("end", "终止")):
                    ui.button(label, on_click=lambda k=kind: self.flag(k, reason.value)) \
                        .props("outline").mark(f"flag-{kind}")

    async def _write(self, action: Callable[[Database, str], dict[str, Any]],
                     done: str) -> None:
        request = ui.context.client.request
        try:
            row = await run.io_bound(write_as_page_user, request, action)
        except ConflictError as exc:
            self.conflict = conflict_lines(exc.changes)
            ui.notify("项目已被他人修改，你的修改未保存", type="negative")
            await self.refresh()
            return
        except ChainAtlasError as exc:
            ui.notify(f"未保存：{exc}", type="negative")
            return
        if row is None:  # the app is shutting down
            return
        self.conflict = []
        ui.notify(f"{done}（版本 {row['version']}）", type="positive")
        await self.refresh()

    async def save(self, values: Mapping[str, Any], reason: Any) -> None:
        """Save the changed fields, based on the version the page read."""
        changes = changed_fields(self.row, values)
        if not changes:
            ui.notify("没有修改", type="warning")
            return
        version = int(self.row["version"])
        await self._write(lambda db, actor: ledger.update_project(
            db, self.project_id, changes, actor=actor, expected_version=version,
            reason=str(reason or "") or None), "已保存")

    async def move(self, stage: Any, day: Any, reason: Any) -> None:
        """Move the project to ``stage`` (on ``day``, else today)."""
        try:
            effective = dt.date.fromisoformat(str(day).strip()) if str(day or "").strip() \
                else None
        except ValueError:
            ui.notify("生效日期格式：2026-01-31", type="warning")
            return
        version = int(self.row["version"])
        await self._write(lambda db, actor: ledger.move_project(
            db, self.project_id, str(stage), actor=actor, expected_version=version,
            reason=str(reason or "") or None, effective=effective), "已推进")

    async def flag(self, kind: str, reason: Any) -> None:
        """Pause, resume or end the project."""
        action = {"pause": ledger.pause_project, "resume": ledger.resume_project,
                  "end": ledger.end_project}[kind]
        version = int(self.row["version"])
        await self._write(lambda db, actor: action(
            db, self.project_id, actor=actor, expected_version=version,
            reason=str(reason or "") or None), {"pause": "已暂停", "resume": "已恢复",
                                                 "end": "已终止"}[kind])


def _summary(row: Mapping[str, Any]) -> None:
    with section(text_of(row.get("name")) or "项目", f"项目编号 {row['project_id']} · 版本 "
                 f"{row['version']}").mark("project-summary"):
        with ui.row().classes("gap-2 items-center"):
            chip(STAGE_LABELS.get(str(row["stage"]), str(row["stage"])),
                 project_charts.STAGE_COLOURS.get(str(row["stage"]), "#6B7280")) \
                .mark("project-stage")
            if row.get("paused"):
                chip(PAUSED_LABEL, "#F08C00")
            if row.get("ended"):
                chip(ENDED_LABEL, "#6B7280")
        shown = {**{f.name: f.label for f in FIELDS}, "region_name": "所在地区名称",
                 "chain_name": "产业链名称", "node_name": "环节名称"}
        with ui.grid(columns=4).classes("w-full gap-x-6 gap-y-1").mark("project-fields"):
            for name, label in shown.items():
                if name in ("region_adcode", "chain_id", "node_id", "investor_company_id"):
                    continue
                value = row.get(name)
                text = project_charts.wan_zh(value) if name in BY_NAME and \
                    BY_NAME[name].kind == "amount" and not _missing(value) else text_of(value)
                ui.label(f"{label}：{text or '—'}").classes("ca-muted")


def project_page(project_id: int) -> Frame:
    """The frame of one project's page."""
    async def body(_: Selection) -> None:
        view = ProjectView(project_id)
        await view.refresh()
    return Frame("/projects", "项目详情", body, lambda _: f"项目编号 {project_id}")


def register() -> None:
    """Define the /project/{id} page."""
    @ui.page("/project/{project_id}")
    async def one_project(project_id: int) -> None:
        """一个项目：字段、动态与修改."""
        await project_page(project_id).show()
