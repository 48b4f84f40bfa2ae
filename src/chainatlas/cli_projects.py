"""``chainatlas projects``: the project ledger (招商项目库) from the command line.

``list``, ``show``, ``alerts``, ``export`` (the ledger workbook) and ``report`` (the
monthly report workbook) read; ``add``, ``move``, ``pause``, ``resume``, ``end`` and
``import`` (a bureau's project sheet, strict unless ``--lenient``) write, each change as
one event with the actor ``cli:<os user>``. A write names the
version it was based on (``--version``, shown by ``list`` and ``show``): when the project
changed meanwhile the write is refused with the other changes listed, never lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from chainatlas.cli_common import (
    DbOption,
    JsonOption,
    check_target,
    console,
    open_store,
    print_json,
)

projects_app = typer.Typer(help="The project ledger (招商项目库): import, list, show, move, "
                                "alerts, export, report.",
                           no_args_is_help=True)

ProjectId = Annotated[int, typer.Argument(help="Project number (projects list).")]
VersionOption = Annotated[int, typer.Option(
    "--version", help="The version you read (projects show): a project changed since is "
    "refused with the changes shown.")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (kept in the event).")]
RegionOption = Annotated[str | None, typer.Option(
    "--region", help="Region name or adcode (its subdivisions included).")]
DateOption = Annotated[str | None, typer.Option(
    "--date", help="The day it happened (default today), e.g. 2026-11-30.")]


def _day(text: str | None) -> dt.date | None:
    from chainatlas.errors import ParameterError

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ParameterError(f"Not a date: {text!r} (use e.g. 2026-11-30).") from None


def _wan(value: Any) -> str:
    return "" if value is None else f"{float(value):,.0f}"


@projects_app.command("list")
def projects_list(
        region: RegionOption = None,
        chain: Annotated[str | None, typer.Option("--chain", help="Chain id or name.")] = None,
        stage: Annotated[str | None, typer.Option("--stage", help="线索, 洽谈 … 投产.")] = None,
        park: Annotated[str | None, typer.Option("--park", help="Park name.")] = None,
        owner: Annotated[str | None, typer.Option("--owner", help="Owner.")] = None,
        search: Annotated[str | None, typer.Option(
            "--search", help="In the name, investor or code.")] = None,
        include_ended: Annotated[bool, typer.Option(
            "--all", help="Include ended (终止) projects.")] = False,
        limit: Annotated[int, typer.Option("--limit", min=1)] = 200,
        db: DbOption = None, as_json: JsonOption = False) -> None:
    """List projects, newest change first."""
    from chainatlas.projects.queries import ProjectFilters, projects_frame
    from chainatlas.projects.stages import STAGE_LABELS
    from chainatlas.store.lookup import as_region, chain_from_text

    with open_store(db, read_only=True) as store:
        filters = ProjectFilters(
            region=as_region(store, region).adcode if region else None,
            chain_id=chain_from_text(store, chain).chain_id if chain else None,
            stage=stage, park=park, owner=owner, search=search, include_ended=include_ended)
        frame = projects_frame(store, filters, limit=limit)
    if as_json:
        print_json(frame.to_dict(orient="records"))
        return
    table = Table("编号", "版本", "项目名称", "地区", "园区", "产业链", "阶段", "协议投资(万元)",
                  "到位资金(万元)", "责任人", title=f"项目库（{len(frame)} 个）")
    for row in frame.to_dict(orient="records"):
        stage_shown = STAGE_LABELS[row["stage"]] + ("·暂停" if row["paused"] else "") + (
            "·终止" if row["ended"] else "")
        table.add_row(str(row["project_id"]), str(row["version"]), escape(row["name"]),
                      escape(str(row["region_name"] or row["region_adcode"])),
                      escape(str(row["park"] or "")), escape(str(row["chain_name"] or "")),
                      stage_shown, _wan(row["agreed_wan"]), _wan(row["in_place_wan"]),
                      escape(str(row["owner"] or "")))
    console.print(table)


@projects_app.command("show")
def projects_show(project_id: ProjectId, db: DbOption = None,
                  as_json: JsonOption = False) -> None:
    """A project's fields and its event timeline."""
    from chainatlas.projects.fields import FIELDS
    from chainatlas.projects.history import describe, public
    from chainatlas.projects.ledger import get_project, project_events

    with open_store(db, read_only=True) as store:
        row = get_project(store, project_id)
        events = project_events(store, project_id)
    if as_json:
        print_json({"project": public(row), "events": [
            {**e, "at": e["at"].isoformat(timespec="seconds"),
             "effective": e["effective"].isoformat()} for e in events]})
        return
    table = Table("字段", "值", title=f"项目 {project_id}（版本 {row['version']}）")
    for field in FIELDS:
        if row[field.name] is not None:
            table.add_row(field.label, escape(str(public(row)[field.name])))
    table.add_row("阶段", f"{row['stage']}{' 暂停' if row['paused'] else ''}"
                         f"{' 终止' if row['ended'] else ''} (since {row['stage_since']})")
    console.print(table)
    for event in events:
        shown = {**event, "at": event["at"].isoformat(timespec="seconds")}
        console.print(escape(describe(shown)), highlight=False)


def _write(project_id: int, kind: str, version: int, reason: str | None,
           db: DbOption, **extra: Any) -> None:
    from chainatlas.projects import ledger
    from chainatlas.store.audit import cli_actor

    calls: dict[str, Callable[..., dict[str, Any]]] = {
        "move": ledger.move_project, "pause": ledger.pause_project,
        "resume": ledger.resume_project, "end": ledger.end_project}
    call = calls[kind]
    with open_store(db) as store:
        row = call(store, project_id, **extra, actor=cli_actor(), expected_version=version,
                   reason=reason)
    console.print(f"Project {project_id} ({escape(row['name'])}) is now at version "
                  f"{row['version']}: {row['stage']}"
                  f"{', paused' if row['paused'] else ''}{', ended' if row['ended'] else ''}.",
                  highlight=False)


@projects_app.command("move")
def projects_move(project_id: ProjectId,
                  stage: Annotated[str, typer.Argument(help="线索, 洽谈, 签约, 注册, 开工 "
                                                            "or 投产.")],
                  version: VersionOption, reason: ReasonOption = None, date: DateOption = None,
                  db: DbOption = None) -> None:
    """Move a project to another stage (a skip or a step back needs --reason)."""
    _write(project_id, "move", version, reason, db, stage=stage, effective=_day(date))


@projects_app.command("pause")
def projects_pause(project_id: ProjectId, version: VersionOption, reason: ReasonOption = None,
                   db: DbOption = None) -> None:
    """Pause a project (暂停): it keeps its stage."""
    _write(project_id, "pause", version, reason, db)


@projects_app.command("resume")
def projects_resume(project_id: ProjectId, version: VersionOption,
                    reason: ReasonOption = None, db: DbOption = None) -> None:
    """Resume a paused project."""
    _write(project_id, "resume", version, reason, db)


@projects_app.command("end")
def projects_end(project_id: ProjectId, version: VersionOption, reason: ReasonOption = None,
                 db: DbOption = None) -> None:
    """End a project (终止): it is kept, and changes no more."""
    _write(project_id, "end", version, reason, db)


@projects_app.command("add")
def projects_add(
        name: Annotated[str, typer.Option("--name", help="项目名称.")],
        region: Annotated[str, typer.Option("--region", help="Region name or adcode.")],
        field: Annotated[list[str] | None, typer.Option(
            "--set", help="Another field as name=value (investor_name=…, park=…, "
            "chain_id=…, node_id=…, agreed_wan=1.2亿元, planned_start_date=2027年6月 …); "
            "repeatable.")] = None,
        stage: Annotated[str, typer.Option("--stage", help="Starting stage.")] = "线索",
        reason: ReasonOption = None, db: DbOption = None) -> None:
    """Add a project (at 线索 unless --stage says otherwise)."""
    from chainatlas.errors import ParameterError
    from chainatlas.projects.ledger import create_project
    from chainatlas.store.audit import cli_actor

    raw: dict[str, object] = {"name": name, "region_adcode": region}
    for item in field or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ParameterError(f"--set {item!r}: use name=value.")
        raw[key.strip()] = value.strip()
    with open_store(db) as store:
        row = create_project(store, raw, actor=cli_actor(), stage=stage, reason=reason)
    console.print(f"Added project {row['project_id']} ({escape(row['name'])}), version 1.",
                  highlight=False)


@projects_app.command("alerts")
def projects_alerts(region: RegionOption = None,
                    as_of: Annotated[str | None, typer.Option(
                        "--as-of", help="The day to judge by (default today).")] = None,
                    db: DbOption = None, as_json: JsonOption = False) -> None:
    """Projects held past their stage's expected days, behind their start, with funds in
    place lagging, and targets behind time progress (时序进度)."""
    from chainatlas.projects.alerts import alerts_frame
    from chainatlas.store.lookup import as_region

    day = _day(as_of) or dt.date.today()
    with open_store(db, read_only=True) as store:
        adcode = as_region(store, region).adcode if region else None
        frame = alerts_frame(store, day, region=adcode)
    if as_json:
        print_json(frame.to_dict(orient="records"))
        return
    table = Table("类型", "对象", "名称", "说明", title=f"预警（{day}，{len(frame)} 条）")
    for row in frame.to_dict(orient="records"):
        table.add_row(str(row["kind"]), f"{row['subject']} {row['subject_id']}",
                      escape(str(row["name"])), escape(str(row["message"])))
    console.print(table)


FileArgument = Annotated[Path, typer.Argument(help="The .xlsx workbook.")]


@projects_app.command("import")
def projects_import(file: FileArgument,
                    region: Annotated[str | None, typer.Option(
                        "--region", help="The bureau's region: rows without one are in it, "
                        "a district cell is looked up within it.")] = None,
                    lenient: Annotated[bool, typer.Option(
                        "--lenient", help="Import the good rows, report the bad ones.")] = False,
                    db: DbOption = None, as_json: JsonOption = False) -> None:
    """Import a bureau's project sheet (招商项目台账); strict unless --lenient."""
    from chainatlas.projects.excel import import_projects
    from chainatlas.store.audit import cli_actor

    with open_store(db) as store:
        report = import_projects(store, file, region=region, lenient=lenient,
                                 actor=cli_actor())
    if as_json:
        print_json(report)
        return
    console.print(f"{escape(str(file))} (sheet {escape(report['sheet'])}): {report['rows']} "
                  f"rows; {report['imported']} imported ({report['paused']} paused, "
                  f"{report['ended']} ended), {report['rejected']} rejected, "
                  f"{report['totals_skipped']} totals rows skipped.", highlight=False)
    for problem in report["problems"]:
        console.print(f"  - row {problem['row']}, {escape(str(problem['field']))}: "
                      f"{escape(problem['reason'])}", highlight=False)
    for note in report["notes"]:
        console.print(f"  {escape(note)}", highlight=False)


@projects_app.command("export")
def projects_export(file: FileArgument, region: RegionOption = None,
                    chain: Annotated[str | None, typer.Option(
                        "--chain", help="Chain id or name.")] = None,
                    stage: Annotated[str | None, typer.Option(
                        "--stage", help="线索, 洽谈 … 投产.")] = None,
                    park: Annotated[str | None, typer.Option("--park", help="Park.")] = None,
                    include_ended: Annotated[bool, typer.Option(
                        "--all", help="Include ended (终止) projects.")] = False,
                    db: DbOption = None) -> None:
    """Write the ledger to one formatted .xlsx sheet (imports back with projects import)."""
    from chainatlas.projects.queries import ProjectFilters
    from chainatlas.projects.report import ledger_workbook
    from chainatlas.store.lookup import as_region, chain_from_text

    check_target(file)
    with open_store(db, read_only=True) as store:
        filters = ProjectFilters(
            region=as_region(store, region).adcode if region else None,
            chain_id=chain_from_text(store, chain).chain_id if chain else None,
            stage=stage, park=park, include_ended=include_ended)
        count = ledger_workbook(store, file, filters)
    console.print(f"Wrote {count} projects to {escape(str(file))}.", highlight=False)


@projects_app.command("report")
def projects_report(file: FileArgument, region: RegionOption = None,
                    as_of: Annotated[str | None, typer.Option(
                        "--as-of", help="The report's day (default today).")] = None,
                    db: DbOption = None, as_json: JsonOption = False) -> None:
    """Write the monthly report (招商月报): 总览, 按阶段, 按产业链, 按园区, 目标进度, 预警."""
    from chainatlas.projects.report import monthly_report

    check_target(file)
    day = _day(as_of) or dt.date.today()
    with open_store(db, read_only=True) as store:
        result = monthly_report(store, file, as_of=day, region=region)
    if as_json:
        print_json(result)
        return
    console.print(f"Wrote {escape(str(file))} ({result['region']}, {day}): "
                  f"{result['projects']} projects, {result['targets_behind']} of "
                  f"{result['targets']} targets behind, {result['alerts']} alerts.",
                  highlight=False)
