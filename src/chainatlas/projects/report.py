"""The ledger as Excel: the project table (台账导出) and the monthly report (招商月报).

:func:`ledger_workbook` writes one formatted sheet of the projects a filter keeps, under
the Chinese labels of :data:`fields.FIELDS` (amounts in 万元 with a number format, dates
as dates, the stage with 暂停 / 终止 noted, the region's name and its 区划代码), a frozen
header, an autofilter and column widths; :func:`chainatlas.projects.excel.import_projects`
reads it back into the same projects. :func:`monthly_report` writes what a bureau sends up
each month: 总览 (the headline figures), 按阶段 / 按产业链 / 按园区 (counts and amounts
with a 合计 row), 目标进度 (progress against 时序进度, the targets behind highlighted)
and 预警 (the alerts of the day), each titled, with units in the headers, printed
landscape and fit to the page's width.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from chainatlas.errors import InputError
from chainatlas.projects import fields, stages
from chainatlas.projects.alerts import alerts_frame
from chainatlas.projects.queries import (
    ProjectFilters,
    ledger_breakdown,
    ledger_kpis,
    projects_frame,
)
from chainatlas.projects.targets import region_prefix, target_progress
from chainatlas.store import Database
from chainatlas.store.lookup import as_region

WAN_FORMAT = "#,##0.00"
COUNT_FORMAT = "#,##0"
PERCENT_FORMAT = "0.0%"
DATE_FORMAT = "yyyy-mm-dd"
#: The ledger export's stage and region-code headers (beside the FIELDS labels).
STAGE_HEADER = "项目阶段"
REGION_CODE_HEADER = "区划代码"
_HEADER_FILL = "DDEBF7"
_BEHIND_FILL = "F8CBAD"
_TOTAL_FILL = "F2F2F2"
_SEVERITY_ZH = {"high": "高", "medium": "中"}
_KIND_ZH = {"stage_overdue": "阶段停留超期", "start_overdue": "开工滞后",
            "funds_lagging": "资金到位滞后", "target_behind": "目标落后于时序进度"}
_SUBJECT_ZH = {"project": "项目", "target": "目标"}


def _columns() -> list[tuple[str, str, str]]:
    """(header, frame column, kind) of the ledger export, in FIELDS order."""
    shown = {"region_adcode": "region_name", "chain_id": "chain_name", "node_id": "node_name"}
    out: list[tuple[str, str, str]] = []
    for f in fields.FIELDS:
        out.append((f.label, shown.get(f.name, f.name), f.kind))
        if f.name == "region_adcode":
            out.append((REGION_CODE_HEADER, "region_adcode", "text"))
        if f.name == "node_id":
            out.append((STAGE_HEADER, "stage", "stage"))
    return out


def stage_text(stage: str, paused: bool, ended: bool) -> str:
    """A project's stage as a sheet says it: 签约, 签约（暂停）, 签约（终止）."""
    label = stages.STAGE_LABELS.get(stage, stage)
    flag = stages.ENDED_LABEL if ended else stages.PAUSED_LABEL if paused else ""
    return f"{label}（{flag}）" if flag else label


def _plain(value: Any) -> Any:
    """A frame value as a cell takes it (NaN/NaT empty, Timestamps dates, Decimals kept)."""
    if value is None or (not isinstance(value, str | Decimal) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


# --------------------------------------------------------------------------- formatting


def _sheet(book: Any, title: str, first: bool) -> Any:
    ws = book.active if first else book.create_sheet()
    ws.title = title
    return ws


def _title(ws: Any, text: str, width: int, subtitle: str | None = None) -> int:
    """A bold title (merged across the table) and a subtitle; return the next row."""
    from openpyxl.styles import Alignment, Font

    ws.cell(1, 1, text).font = Font(bold=True, size=14)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    if width > 1:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    if subtitle is None:
        return 2
    ws.cell(2, 1, subtitle).font = Font(italic=True, size=9)
    return 3


def _header(ws: Any, row: int, headers: Sequence[str]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    for column, text in enumerate(headers, start=1):
        cell = ws.cell(row, column, text)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=_HEADER_FILL)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _put(ws: Any, row: int, column: int, value: Any, number_format: str | None = None) -> Any:
    """Write one cell: text never read as a formula, illegal characters dropped."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = _plain(value)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = ws.cell(row, column, value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    if number_format and value is not None and not isinstance(value, str):
        cell.number_format = number_format
    return cell


#: Rows a column's width is measured on.
WIDTH_SAMPLE = 300
#: Alerts the monthly report lists, most severe first (the rest: projects alerts --json).
REPORT_ALERTS = 500


def _widths(ws: Any, headers: Sequence[str], header_row: int) -> None:
    """Column widths from the longest value (a CJK character counts twice), 8 to 40."""
    from openpyxl.utils import get_column_letter

    last = min(ws.max_row, header_row + WIDTH_SAMPLE)  # a sample: 10,000 rows cost seconds
    for column in range(1, len(headers) + 1):
        longest = 0
        for (value,) in ws.iter_rows(min_row=header_row, max_row=last, min_col=column,
                                     max_col=column, values_only=True):
            text = value.isoformat() if isinstance(value, dt.date) else \
                f"{value:,.2f}" if isinstance(value, float | Decimal) else str(value or "")
            longest = max(longest, sum(2 if ord(ch) > 0x2E80 else 1 for ch in text))
        ws.column_dimensions[get_column_letter(column)].width = min(40, max(8, longest + 2))


def _finish(ws: Any, header_row: int, headers: Sequence[str], last_row: int) -> None:
    """Freeze the header, filter it, size the columns, print landscape fit to width."""
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = ws.cell(header_row + 1, 1)
    end = get_column_letter(max(1, len(headers)))
    ws.auto_filter.ref = f"A{header_row}:{end}{max(header_row, last_row)}"
    _widths(ws, headers, header_row)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"


def _save(book: Any, path: Path) -> None:
    if path.suffix.lower() != ".xlsx":
        raise InputError.single(str(path), "the workbook must be written as .xlsx")
    book.save(path)


# --------------------------------------------------------------------------- the ledger


def _ledger_cell(row: Mapping[Any, Any], column: str, kind: str) -> Any:
    if kind == "stage":
        return stage_text(str(row["stage"]), bool(row["paused"]), bool(row["ended"]))
    return row.get(column)


def write_ledger_sheet(ws: Any, frame: pd.DataFrame, title: str) -> int:
    """The ledger table on ``ws`` below a title; return the number of projects."""
    columns = _columns()
    headers = [h for h, _, _ in columns]
    top = _title(ws, title, len(headers),
                 f"导出时间：{dt.date.today().isoformat()}　金额单位：万元")
    _header(ws, top, headers)
    records = frame.to_dict("records")
    for r, row in enumerate(records, start=top + 1):
        for c, (_, column, kind) in enumerate(columns, start=1):
            number_format = WAN_FORMAT if kind == "amount" else \
                DATE_FORMAT if kind in ("date", "planned_date") else None
            _put(ws, r, c, _ledger_cell(row, column, kind), number_format)
    _finish(ws, top, headers, top + len(records))
    return len(records)


def ledger_workbook(db: Database, path: str | Path,
                    filters: ProjectFilters | None = None) -> int:
    """Write the projects ``filters`` keep to an .xlsx sheet; return how many."""
    import openpyxl

    frame = projects_frame(db, filters).sort_values("project_id")
    book = openpyxl.Workbook()
    count = write_ledger_sheet(_sheet(book, "招商项目台账", True), frame, "招商项目台账")
    _save(book, Path(path))
    return count


# --------------------------------------------------------------------------- the report


_BREAKDOWN_HEADERS = ("项目数(个)", "协议投资额(万元)", "年度计划投资(万元)",
                      "累计完成投资(万元)", "到位资金(万元)")
_BREAKDOWN_COLUMNS = ("projects", "agreed_wan", "planned_year_wan", "completed_wan",
                      "in_place_wan")
_BREAKDOWNS = (("按阶段", "stage", "阶段"), ("按产业链", "chain", "产业链"),
               ("按园区", "park", "园区"))


def _fill(ws: Any, row: int, width: int, color: str, *, bold: bool = False) -> None:
    from openpyxl.styles import Font, PatternFill

    for column in range(1, width + 1):
        cell = ws.cell(row, column)
        cell.fill = PatternFill("solid", fgColor=color)
        if bold:
            cell.font = Font(bold=True)


def _yi(wan: Any) -> float:
    """万元 as 亿元: a leader reads "215 亿元", not "2,150,000 万元"."""
    return round(float(wan or 0) / 10000, 2)


def _kpi_rows(kpis: dict[str, Any], alerts: pd.DataFrame) -> list[tuple[str, Any, str]]:
    high = int((alerts["severity"] == "high").sum())
    planned = float(kpis["planned_year_wan"] or 0)
    done = round(100 * float(kpis["completed_wan"] or 0) / planned, 1) if planned else None
    return [("在库项目", kpis["projects"], "个"),
            ("协议投资额", _yi(kpis["agreed_wan"]), "亿元"),
            ("签约及以后阶段项目", kpis["signed_or_later"], "个"),
            ("其中签约项目协议投资额", _yi(kpis["signed_wan"]), "亿元"),
            ("年度计划投资", _yi(kpis["planned_year_wan"]), "亿元"),
            ("累计完成投资", _yi(kpis["completed_wan"]), "亿元"),
            ("完成投资占年度计划", done, "%"),
            ("到位资金", _yi(kpis["in_place_wan"]), "亿元"),
            ("开工项目", kpis["started"], "个"),
            ("投产项目", kpis["producing"], "个"),
            ("暂停项目", kpis["paused"], "个"),
            ("预警", len(alerts), "条"),
            ("其中高级别预警", high, "条")]


def _overview(ws: Any, title: str, kpis: dict[str, Any], alerts: pd.DataFrame) -> None:
    headers = ["指标", "数值", "单位"]
    top = _title(ws, title, len(headers), "不含已终止项目")
    _header(ws, top, headers)
    rows = _kpi_rows(kpis, alerts)
    for r, (label, value, unit) in enumerate(rows, start=top + 1):
        _put(ws, r, 1, label)
        _put(ws, r, 2, value, "#,##0.00" if unit in ("亿元", "%") else COUNT_FORMAT)
        _put(ws, r, 3, unit)
    _finish(ws, top, headers, top + len(rows))


def _breakdown(ws: Any, title: str, key_header: str, frame: pd.DataFrame) -> None:
    headers = [key_header, *_BREAKDOWN_HEADERS]
    top = _title(ws, title, len(headers), "金额单位：万元　不含已终止项目")
    _header(ws, top, headers)
    records = frame.to_dict("records")
    for r, row in enumerate(records, start=top + 1):
        _put(ws, r, 1, row["label"])
        for c, column in enumerate(_BREAKDOWN_COLUMNS, start=2):
            _put(ws, r, c, row[column], COUNT_FORMAT if c == 2 else WAN_FORMAT)
    total = top + len(records) + 1
    _put(ws, total, 1, "合计")
    for c, column in enumerate(_BREAKDOWN_COLUMNS, start=2):
        value = sum((Decimal(str(v)) for v in frame[column]), Decimal(0))
        _put(ws, total, c, int(value) if c == 2 else value,
             COUNT_FORMAT if c == 2 else WAN_FORMAT)
    _fill(ws, total, len(headers), _TOTAL_FILL, bold=True)
    _finish(ws, top, headers, total - 1)


_TARGET_COLUMNS = (("目标名称", "name", None), ("指标", "indicator_label", None),
                   ("地区", "region_name", None), ("单位", "unit", None),
                   ("基期年份", "base_year", None), ("基期值", "base_value", WAN_FORMAT),
                   ("目标值", "target_value", WAN_FORMAT),
                   ("目标期末", "period_end", DATE_FORMAT),
                   ("最新月份", "latest_month", "yyyy-mm"),
                   ("最新值", "latest_value", WAN_FORMAT),
                   ("完成进度(%)", "progress", PERCENT_FORMAT),
                   ("时序进度(%)", "time_progress", PERCENT_FORMAT),
                   ("差距(%)", "gap", PERCENT_FORMAT), ("责任人", "owner", None))


def _targets(ws: Any, title: str, frame: pd.DataFrame) -> int:
    """The targets' progress; the ones behind time progress filled; return how many."""
    headers = [h for h, _, _ in _TARGET_COLUMNS] + ["状态"]
    top = _title(ws, title, len(headers), "完成进度低于时序进度的目标以红色标出")
    _header(ws, top, headers)
    behind = 0
    records = frame.to_dict("records")
    for r, row in enumerate(records, start=top + 1):
        for c, (_, column, number_format) in enumerate(_TARGET_COLUMNS, start=1):
            _put(ws, r, c, row.get(column), number_format)
        late = bool(row["behind"])
        _put(ws, r, len(headers), "落后于时序进度" if late else
             "未有数据" if _plain(row["progress"]) is None else "正常")
        if late:
            behind += 1
            _fill(ws, r, len(headers), _BEHIND_FILL)
    _finish(ws, top, headers, top + len(records))
    return behind


_ALERT_COLUMNS = (("级别", "severity"), ("类型", "kind"), ("对象", "subject"),
                  ("编号", "subject_id"), ("名称", "name"), ("地区", "region_name"),
                  ("责任人", "owner"), ("超期天数(天)", "days_over"), ("说明", "message"))


def _alerts(db: Database, ws: Any, title: str, frame: pd.DataFrame) -> None:
    headers = [h for h, _ in _ALERT_COLUMNS]
    top = _title(ws, title, len(headers), "高级别预警以红色标出")
    _header(ws, top, headers)
    names = dict(db.execute("SELECT adcode, name FROM regions").fetchall())
    labels = {"severity": _SEVERITY_ZH, "kind": _KIND_ZH, "subject": _SUBJECT_ZH}
    records = frame.to_dict("records")
    for r, row in enumerate(records, start=top + 1):
        row["region_name"] = names.get(row["region_adcode"], row["region_adcode"])
        for c, (_, column) in enumerate(_ALERT_COLUMNS, start=1):
            value = row.get(column)
            value = labels[column].get(str(value), value) if column in labels else value
            _put(ws, r, c, value, COUNT_FORMAT if column == "days_over" else None)
        if row["severity"] == "high":
            _fill(ws, r, len(headers), _BEHIND_FILL)
    _finish(ws, top, headers, top + len(records))


def _region_targets(db: Database, as_of: dt.date, region: str | None) -> pd.DataFrame:
    frame = target_progress(db, as_of)
    if region is None:
        return frame
    prefix = region_prefix(as_region(db, region))
    return frame[frame["region_adcode"].astype(str).str.startswith(prefix)]


def monthly_report(db: Database, path: str | Path, *, as_of: dt.date,
                   region: str | None = None) -> dict[str, Any]:
    """Write the monthly report workbook as of ``as_of`` (of ``region`` and the places
    inside it when given); return its headline figures."""
    import openpyxl

    place = as_region(db, region) if region else None
    filters = ProjectFilters(region=place.adcode if place else None)
    name = place.name if place else "全部地区"
    stamp = f"（{name}，截至{as_of.year}年{as_of.month}月{as_of.day}日）"
    kpis = ledger_kpis(db, filters)
    alerts = alerts_frame(db, as_of, region=place.adcode if place else None)
    targets = _region_targets(db, as_of, place.adcode if place else None)
    book = openpyxl.Workbook()
    _overview(_sheet(book, "总览", True), f"招商项目月报{stamp}", kpis, alerts)
    for sheet, by, key_header in _BREAKDOWNS:
        _breakdown(_sheet(book, sheet, False), f"项目{sheet}统计{stamp}", key_header,
                   ledger_breakdown(db, by, filters))
    behind = _targets(_sheet(book, "目标进度", False), f"产业目标进度{stamp}", targets)
    shown = alerts.head(REPORT_ALERTS)  # most severe first; a leader reads no 20,000 rows
    note = "" if len(shown) == len(alerts) else \
        f"（列出最严重的 {len(shown)} 条，共 {len(alerts)} 条）"
    _alerts(db, _sheet(book, "预警", False), f"预警清单{stamp}{note}", shown)
    _save(book, Path(path))
    return {"file": str(path), "as_of": as_of.isoformat(), "region": name,
            "projects": int(kpis["projects"]), "agreed_wan": kpis["agreed_wan"],
            "targets": len(targets), "targets_behind": behind, "alerts": len(alerts),
            "sheets": book.sheetnames}
