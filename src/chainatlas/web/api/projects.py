"""Routes of the project ledger (招商项目库), industry targets (目标监测) and alerts (预警).

Reads are open to every caller the middleware lets in; writes need the analyst role (a
bearer token, or the session cookie with X-CSRF-Token), run in one :func:`write_db` turn
and name the signed-in user as the actor of the project event and the audit line. A
project write names the ``expected_version`` the writer read: when the project has moved
on since, the answer is a 409 whose ``error.changes`` lists what changed meanwhile, and
nothing is written. An analyst limited to a region (``chainatlas users scope``) gets a
403 for a project outside it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from chainatlas.projects import alerts, ledger, queries, report, stages, targets
from chainatlas.projects.fields import FIELDS, node_from_text
from chainatlas.store import Database
from chainatlas.store.users import User
from chainatlas.web.api.auth import AUTH_ERRORS, require_role
from chainatlas.web.api.common import (
    XLSX,
    ErrorBody,
    OptRegionQ,
    area_router,
    chain_param,
    ok,
    region_param,
    xlsx_response,
)
from chainatlas.web.state import request_db, write_db

TAG = "projects 项目库"
TARGETS_TAG = "targets 目标监测"

router = area_router()

#: The documented answers of a write: 401/403 (role, scope) and the 409 of a stale write.
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    409: {"model": ErrorBody, "description": "Changed meanwhile: error.changes lists the "
                                             "changes since expected_version"},
}
#: Every stage word a filter or a move accepts (keys, Chinese names).
STAGE_WORDS = [*stages.STAGES, *stages.STAGE_LABELS.values()]
STAGE_ENUM: dict[str, Any] = {"enum": STAGE_WORDS}
#: The most rows one page of the ledger returns.
PAGE_MAX = 1000

Analyst = Annotated[User, require_role("analyst")]
ProjectId = Annotated[int, Path(ge=1, le=2**31 - 1, description="项目编号")]
TargetId = Annotated[int, Path(ge=1, le=2**31 - 1, description="目标编号")]
AsOfDateQ = Annotated[dt.date | None, Query(description="截至日期（默认今天）")]

# -- bodies ----------------------------------------------------------------------------

Value = Annotated[str | float | None, Field(description="文本，或金额（万元）数字")]
ShortText = Annotated[str | None, Field(max_length=200)]
LongText = Annotated[str | None, Field(max_length=2000)]
Reason = Annotated[str | None, Field(max_length=1000, description="理由（跳阶、回退、暂停、"
                                                                  "恢复、终止时必填）")]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="所读到的项目版本")]


class ProjectFieldsIn(BaseModel):
    """The fields of a project (all optional; amounts in 万元, or text naming 元/亿元)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    code: ShortText = Field(None, description="项目代码")
    name: ShortText = Field(None, description="项目名称")
    investor_name: ShortText = Field(None, description="投资方")
    investor_company_id: ShortText = Field(None, description="投资方企业编号")
    region_adcode: ShortText = Field(None, description="所在地区（名称或行政区划代码）")
    park: ShortText = Field(None, description="所在园区")
    chain_id: ShortText = Field(None, description="产业链")
    node_id: ShortText = Field(None, description="产业链环节")
    agreed_wan: Value = Field(None, description="协议投资额(万元)")
    planned_year_wan: Value = Field(None, description="年度计划投资(万元)")
    completed_wan: Value = Field(None, description="累计完成投资(万元)")
    in_place_wan: Value = Field(None, description="到位资金(万元)")
    owner: ShortText = Field(None, description="责任人")
    lead_date: ShortText = Field(None, description="获取线索日期")
    signed_date: ShortText = Field(None, description="签约日期")
    planned_start_date: ShortText = Field(None, description="计划开工日期")
    started_date: ShortText = Field(None, description="开工日期")
    planned_production_date: ShortText = Field(None, description="计划投产日期")
    production_date: ShortText = Field(None, description="投产日期")
    note: LongText = Field(None, description="备注")
    reasons: LongText = Field(None, description="推荐理由")


_FIELD_NAMES = tuple(f.name for f in FIELDS)


def _raw(body: ProjectFieldsIn) -> dict[str, object]:
    """The project fields a body sets (those it leaves out stay as they are)."""
    given = body.model_dump(exclude_unset=True)
    return {k: given[k] for k in _FIELD_NAMES if k in given}


class ProjectIn(ProjectFieldsIn):
    """A new project: its fields (name and region needed) and the stage it starts at."""

    stage: str = Field("lead", max_length=16, json_schema_extra=STAGE_ENUM,
                       description="起始阶段（默认 线索）")
    reason: Reason = None


class ProjectPatchIn(ProjectFieldsIn):
    """Changed fields of a project, and the version they were based on."""

    expected_version: Version
    reason: Reason = None


class FlagIn(BaseModel):
    """A pause, resume or end: the version read and why."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    expected_version: Version
    reason: Reason = None


class MoveIn(FlagIn):
    """A move to another stage (its day: today unless ``effective`` says otherwise)."""

    stage: str = Field(max_length=16, json_schema_extra=STAGE_ENUM,
                       description="目标阶段")
    effective: dt.date | None = Field(None, description="生效日期（默认今天）")


class TargetIn(BaseModel):
    """A new industry target (产业目标)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="目标名称")
    indicator: str = Field(min_length=1, max_length=32, description=(
        "指标：revenue 营业收入、project_count 项目数、investment 投资额、funds_in_place "
        "到位资金、growth_rate 增速、firm_count 节点企业数"))
    region: str = Field(min_length=1, max_length=64, description="地区名称或行政区划代码")
    chain: ShortText = Field(None, description="产业链（可选）")
    node: ShortText = Field(None, description="环节（可选，需产业链）")
    unit: ShortText = Field(None, description="单位（默认指标的单位）")
    base_year: int = Field(ge=1949, le=2100, description="基期年份")
    base_value: float | None = Field(None, description="基期值")
    target_value: float = Field(description="目标值")
    period_start: dt.date = Field(description="目标期起")
    period_end: dt.date = Field(description="目标期止")
    source: ShortText = Field(None, description="出处（规划文件）")


class TargetPatchIn(BaseModel):
    """Changed fields of a target, and the version they were based on."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    expected_version: Version
    name: ShortText = None
    indicator: ShortText = None
    region_adcode: ShortText = None
    chain_id: ShortText = None
    node_id: ShortText = None
    unit: ShortText = None
    base_year: int | None = Field(None, ge=1949, le=2100)
    base_value: float | None = None
    target_value: float | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    source: ShortText = None
    owner: ShortText = None


class SnapshotIn(BaseModel):
    """A target's value for one month."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    month: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$", description="月份 YYYY-MM")
    value: float = Field(description="该月的值")
    note: LongText = None


# -- reading the ledger ----------------------------------------------------------------


class FilterQ(BaseModel):
    """The ledger filters, as query parameters."""

    region: str | None = Field(None, min_length=1, max_length=64,
                               description="地区名称或行政区划代码（含下辖地区）")
    chain: str | None = Field(None, min_length=1, max_length=64, description="产业链")
    node: str | None = Field(None, min_length=1, max_length=64, description="环节（需产业链）")
    stage: str | None = Field(None, json_schema_extra=STAGE_ENUM,
                              description="阶段")
    park: str | None = Field(None, min_length=1, max_length=64, description="园区")
    owner: str | None = Field(None, min_length=1, max_length=64, description="责任人")
    search: str | None = Field(None, min_length=1, max_length=64,
                               description="项目名称、投资方或项目代码中的文字")
    include_ended: bool = Field(False, description="含已终止项目")
    paused: bool | None = Field(None, description="true：只看暂停；false：不含暂停")


Filters = Annotated[FilterQ, Query()]


def _resolved(db: Database, q: FilterQ) -> queries.ProjectFilters:
    """The ledger filters the parameters name, the region and chain resolved."""
    place = region_param(db, q.region)
    stored = None if q.chain is None else chain_param(db, q.chain)
    return queries.ProjectFilters(
        region=None if place is None else place.adcode,
        chain_id=None if stored is None else stored.chain_id,
        node_id=None if stored is None or q.node is None else node_from_text(stored, q.node),
        stage=q.stage,
        park=q.park, owner=q.owner, search=q.search, include_ended=q.include_ended,
        paused=q.paused)


def _with_labels(row: dict[str, Any]) -> dict[str, Any]:
    """A project row with its stage's Chinese name."""
    return {**row, "stage_label": stages.STAGE_LABELS.get(str(row.get("stage")), None)}


@router.get("/projects", tags=[TAG], summary="The project ledger, filtered (招商项目库)")
def list_projects(q: Filters,
                  limit: Annotated[int, Query(ge=1, le=PAGE_MAX, description=(
                      f"每页行数（1–{PAGE_MAX}，默认 100）"))] = 100,
                  offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    """Total and one page of the projects the filters keep, newest change first, with
    their region, chain and node names and the stage's Chinese name."""
    with request_db() as db:
        frame = queries.projects_frame(db, _resolved(db, q))
    rows = frame.iloc[offset:offset + limit].to_dict("records")
    return ok({"total": len(frame), "limit": limit, "offset": offset,
               "items": [_with_labels({str(k): v for k, v in r.items()}) for r in rows]})


@router.get("/projects/kpis", tags=[TAG], summary="Headline figures of the ledger")
def project_kpis(q: Filters) -> Response:
    """Projects, their agreed, planned, completed and in-place amounts (万元), and how
    many are signed or later, paused, started, producing."""
    with request_db() as db:
        return ok(queries.ledger_kpis(db, _resolved(db, q)))


@router.get("/projects/breakdown", tags=[TAG],
            summary="Counts and amounts per stage, chain, park or region")
def project_breakdown(q: Filters, by: Annotated[
        Literal["stage", "chain", "park", "region"],
        Query(description="分组：stage 阶段、chain 产业链、park 园区、region 地区")] = "stage"
) -> Response:
    """One row per group: key, label, projects and the four amounts (万元)."""
    with request_db() as db:
        frame = queries.ledger_breakdown(db, by, _resolved(db, q))
    return ok(frame.to_dict("records"))


_WORKBOOK: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {}}, "description": "The workbook"}}


@router.get("/projects/export.xlsx", tags=[TAG], response_class=Response,
            responses=_WORKBOOK, summary="The ledger as an Excel sheet (台账导出)")
def export_projects(q: Filters) -> Response:
    """The projects the filters keep, one formatted sheet under the fields' Chinese
    labels (what ``chainatlas projects export`` writes; the import reads it back)."""
    stamp = dt.date.today().strftime("%Y%m%d")
    with request_db() as db:
        filters = _resolved(db, q)
        return xlsx_response(lambda target: report.ledger_workbook(db, target, filters),
                             f"招商项目台账-{stamp}.xlsx", f"chainatlas-projects-{stamp}.xlsx")


@router.get("/projects/report.xlsx", tags=[TAG], response_class=Response,
            responses=_WORKBOOK, summary="The monthly report workbook (招商月报)")
def project_report(as_of: AsOfDateQ = None, region: OptRegionQ = None) -> Response:
    """总览, 按阶段, 按产业链, 按园区, 目标进度 and 预警 as of ``as_of`` (default today), of
    ``region`` and the places inside it (what ``chainatlas projects report`` writes)."""
    day = _today(as_of)
    stamp = day.strftime("%Y%m%d")
    with request_db() as db:
        place = region_param(db, region)
        adcode = None if place is None else place.adcode
        return xlsx_response(
            lambda target: report.monthly_report(db, target, as_of=day, region=adcode),
            f"招商月报-{stamp}.xlsx", f"chainatlas-report-{stamp}.xlsx")


@router.get("/projects/{project_id}", tags=[TAG], summary="One project and its events")
def get_project(project_id: ProjectId) -> Response:
    """The project's row (its ``version`` is what a write names) and its events, oldest
    first, each with who, when, why and the fields it changed ({field: [from, to]})."""
    with request_db() as db:
        row = ledger.get_project(db, project_id)
        events = ledger.project_events(db, project_id)
    return ok({"project": _with_labels(row), "events": events})


# -- writing the ledger ----------------------------------------------------------------


@router.post("/projects", tags=[TAG], status_code=201, responses=WRITE_ERRORS,
             summary="Add a project (新增项目)")
def post_project(body: ProjectIn, user: Analyst) -> Response:
    """A new project at ``stage`` (default 线索), version 1; 422 naming each bad field."""
    with write_db() as db:
        row = ledger.create_project(db, _raw(body), actor=user.name, stage=body.stage,
                                    reason=body.reason)
    return ok(_with_labels(row), status=201)


@router.patch("/projects/{project_id}", tags=[TAG], responses=WRITE_ERRORS,
              summary="Change a project's fields (修改项目)")
def patch_project(project_id: ProjectId, body: ProjectPatchIn, user: Analyst) -> Response:
    """Change the given fields (not the stage: /move); 409 when the project is no longer
    at ``expected_version``."""
    with write_db() as db:
        row = ledger.update_project(db, project_id, _raw(body), actor=user.name,
                                    expected_version=body.expected_version,
                                    reason=body.reason)
    return ok(_with_labels(row))


@router.post("/projects/{project_id}/move", tags=[TAG], responses=WRITE_ERRORS,
             summary="Move a project to another stage (推进阶段)")
def move_project(project_id: ProjectId, body: MoveIn, user: Analyst) -> Response:
    """One step forward freely; a jump forward or one step back with a reason."""
    with write_db() as db:
        row = ledger.move_project(db, project_id, body.stage, actor=user.name,
                                  expected_version=body.expected_version,
                                  reason=body.reason, effective=body.effective)
    return ok(_with_labels(row))


def _flag(kind: str, project_id: int, body: FlagIn, user: User) -> Response:
    action = {"pause": ledger.pause_project, "resume": ledger.resume_project,
              "end": ledger.end_project}[kind]
    with write_db() as db:
        row = action(db, project_id, actor=user.name,
                     expected_version=body.expected_version, reason=body.reason)
    return ok(_with_labels(row))


@router.post("/projects/{project_id}/pause", tags=[TAG], responses=WRITE_ERRORS,
             summary="Pause a project (暂停)")
def pause_project(project_id: ProjectId, body: FlagIn, user: Analyst) -> Response:
    """Pause it where it stands (a reason is needed)."""
    return _flag("pause", project_id, body, user)


@router.post("/projects/{project_id}/resume", tags=[TAG], responses=WRITE_ERRORS,
             summary="Resume a paused project (恢复)")
def resume_project(project_id: ProjectId, body: FlagIn, user: Analyst) -> Response:
    """Resume it at the stage it stopped in (a reason is needed)."""
    return _flag("resume", project_id, body, user)


@router.post("/projects/{project_id}/end", tags=[TAG], responses=WRITE_ERRORS,
             summary="End a project (终止)")
def end_project(project_id: ProjectId, body: FlagIn, user: Analyst) -> Response:
    """End it for good (a reason is needed): nothing changes it afterwards."""
    return _flag("end", project_id, body, user)


# -- targets and alerts ----------------------------------------------------------------


def _today(as_of: dt.date | None) -> dt.date:
    return as_of or dt.date.today()


@router.get("/targets", tags=[TARGETS_TAG], summary="Industry targets (产业目标)")
def list_targets() -> Response:
    """Every target with its region's name and its indicator's Chinese name."""
    with request_db() as db:
        return ok(targets.targets_frame(db).to_dict("records"))


@router.get("/targets/progress", tags=[TARGETS_TAG],
            summary="Each target's progress against time progress (完成进度 vs 时序进度)")
def target_progress(as_of: AsOfDateQ = None) -> Response:
    """Per target: latest value, 完成进度, 时序进度, behind, gap, remaining, 同比 and the
    growth the plan requires, as of ``as_of``."""
    with request_db() as db:
        return ok(targets.target_progress(db, _today(as_of)).to_dict("records"))


@router.post("/targets", tags=[TARGETS_TAG], status_code=201, responses=WRITE_ERRORS,
             summary="Add a target (新增目标)")
def post_target(body: TargetIn, user: Analyst) -> Response:
    """A new target, version 1."""
    with write_db() as db:
        target_id = targets.add_target(
            db, name=body.name, indicator=body.indicator, region=body.region,
            chain=body.chain, node=body.node, unit=body.unit, base_year=body.base_year,
            base_value=body.base_value, target_value=body.target_value,
            period_start=body.period_start, period_end=body.period_end,
            source=body.source, actor=user.name)
        row = targets.get_target(db, target_id)
    return ok(row, status=201)


@router.patch("/targets/{target_id}", tags=[TARGETS_TAG], responses=WRITE_ERRORS,
              summary="Change a target (修改目标)")
def patch_target(target_id: TargetId, body: TargetPatchIn, user: Analyst) -> Response:
    """Change the given fields; 409 when the target is no longer at ``expected_version``."""
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    with write_db() as db:
        row = targets.update_target(db, target_id, changes, actor=user.name,
                                    expected_version=body.expected_version)
    return ok(row)


@router.post("/targets/{target_id}/snapshots", tags=[TARGETS_TAG], status_code=201,
             responses=WRITE_ERRORS, summary="Record a target's monthly value (录入月度值)")
def post_snapshot(target_id: TargetId, body: SnapshotIn, user: Analyst) -> Response:
    """Store the month's value (a month recorded before is replaced; the audit log keeps
    the old value)."""
    with write_db() as db:
        row = targets.record_snapshot(db, target_id, body.month, body.value,
                                      actor=user.name, note=body.note)
    return ok(row, status=201)


@router.get("/alerts", tags=[TARGETS_TAG], summary="Ledger and target alerts (预警)")
def list_alerts(as_of: AsOfDateQ = None, region: OptRegionQ = None) -> Response:
    """Projects overdue in their stage or for their planned start, funds in place
    lagging, targets behind time progress: high before medium."""
    with request_db() as db:
        place = region_param(db, region)
        frame = alerts.alerts_frame(db, _today(as_of),
                                    region=None if place is None else place.adcode)
    return ok(frame.to_dict("records"))
