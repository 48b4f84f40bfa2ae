"""Import a bureau's project sheet (招商项目台账 .xlsx) into the ledger.

A bureau's sheet is rarely a clean table: one or more title rows (often merged across the
columns) sit above the header, a 单位：亿元 line may name the unit of every amount, the
header names its columns in the bureau's own words (总投资（亿元）, 推进阶段, 包联领导), a
two-row header splits 投资情况 into its amounts, section rows (一、生物医药) divide the
projects and a 合计 row closes the sheet. This module reads such a sheet as the roster
import reads a roster (:func:`chainatlas.sources.roster_xlsx.read_workbook`: bounded,
sparse, merges filled down), maps the headers onto :data:`fields.FIELDS`, cleans every
value (amounts to 万元 with the header's or the sheet's unit, dates in every common form,
a district named within the importing region) and writes all projects in one
transaction through :func:`ledger.create_projects`, with one ``project.import`` audit line.

Strict (default): any bad row refuses the whole sheet with every problem listed (file,
Excel row number, header, reason) and the ledger unchanged. Lenient: the good rows are
imported and the bad ones reported. A project code repeated within the sheet, or already
in the ledger, is a problem naming both rows. 暂停 / 终止 in the stage column become the
project's flags once it is created (in the same transaction).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from chainatlas.errors import (
    ChainAtlasError,
    InputError,
    NotFoundError,
    ParameterError,
    Problem,
)
from chainatlas.projects import fields, ledger, stages
from chainatlas.projects.codes import check_code
from chainatlas.projects.scopes import check_scope
from chainatlas.projects.targets import region_prefix
from chainatlas.sources.roster_values import cell_str, parse_amount
from chainatlas.sources.roster_xlsx import read_workbook
from chainatlas.store import Database, audit
from chainatlas.store.lookup import Region, as_region

#: Header aliases per field (the FIELDS labels are accepted too); ``stage`` and
#: ``region_code`` are not project fields but columns the import reads.
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("项目代码", "备案代码", "项目编码", "备案编号", "项目备案代码"),
    "name": ("项目名称", "项目"),
    "investor_name": ("投资方", "投资主体", "企业名称", "投资企业", "签约企业", "投资单位"),
    "investor_company_id": ("投资方企业编号",),
    "region_adcode": ("所在地", "县区", "所属区域", "所在地区", "所在县区", "县(市、区)",
                      "县市区", "属地"),
    "region_code": ("区划代码", "行政区划代码", "地区代码"),
    "park": ("园区", "所在园区", "所属园区"),
    "chain_id": ("产业链", "所属产业", "所属产业链", "产业类别"),
    "node_id": ("环节", "产业环节", "产业链环节"),
    "agreed_wan": ("总投资", "协议投资", "计划总投资", "协议投资额", "总投资额", "投资总额"),
    "planned_year_wan": ("年度计划投资", "本年计划投资", "年度投资计划"),
    "completed_wan": ("累计完成投资", "完成投资", "已完成投资", "本年完成投资"),
    "in_place_wan": ("到位资金", "实际到位资金", "资金到位"),
    "stage": ("阶段", "推进阶段", "项目阶段", "状态", "项目状态", "项目进度"),
    "lead_date": ("获取线索日期", "线索时间"),
    "signed_date": ("签约时间", "签约日期"),
    "planned_start_date": ("计划开工时间", "计划开工日期"),
    "started_date": ("开工时间", "开工日期", "实际开工时间"),
    "planned_production_date": ("计划投产时间", "计划投产日期"),
    "production_date": ("投产时间", "投产日期", "实际投产时间"),
    "owner": ("责任人", "包联领导", "责任领导", "联系人"),
    "note": ("备注",),
    "reasons": ("推荐理由",),
}
#: Headers read and ignored.
IGNORED = ("序号", "编号", "No", "NO")
_TOTALS = re.compile(r"^(合计|总计|小计)")
_BRACKETED = re.compile(r"[(（\[【〔]([^)）\]】〕]*)[)）\]】〕]")
_SECTION = re.compile(r"^[一二三四五六七八九十]+[、.．]")
_FOOTER = re.compile(r"^(注|说明|填表人|填报人|审核人|制表人|联系电话)[:：\d]")
_UNIT_LINE = re.compile(r"单位\s*[:：]\s*(亿元|万元|元)")
_FACTORS = {"亿元": Decimal(10000), "万元": Decimal(1), "元": Decimal("0.0001")}
_DATE_KINDS = ("date", "planned_date")


def header_key(text: str) -> str:
    """A header as matched: NFKC, no brackets (units), leading year, unit words, spaces."""
    key = _BRACKETED.sub("", unicodedata.normalize("NFKC", text)).strip()
    key = re.sub(r"^\d{4}年度?", "", key)
    key = re.sub(r"[/\\]?(单位[:：]?)?(亿元|万元)$", "", key)
    return re.sub(r"[\s_\-*:：#]+", "", key).lower()


def _alias_index() -> dict[str, tuple[str, int]]:
    """Header key -> (column name, priority: lower wins when two columns give one field)."""
    index = {header_key(f.label): (f.name, -1) for f in fields.FIELDS}
    for name, aliases in ALIASES.items():
        for prio, alias in enumerate(aliases):
            index.setdefault(header_key(alias), (name, prio))
    index.update({header_key(h): ("", 0) for h in IGNORED})
    return index


_ALIAS = _alias_index()
_INDEX = {key: name for key, (name, _) in _ALIAS.items()}


def unit_factor(header: str, default: Decimal = Decimal(1)) -> Decimal:
    """The 万元 per number of an amount column: the unit its header names, else
    ``default`` (the sheet's 单位 line, else 万元)."""
    text = unicodedata.normalize("NFKC", header)
    if "亿" in text:
        return _FACTORS["亿元"]
    if "万" in text:
        return _FACTORS["万元"]
    if re.search(r"[(\[/【]\s*(单位[:：]?)?\s*元", text):
        return _FACTORS["元"]
    return default


@dataclass(frozen=True)
class Column:
    """One column of the sheet the import reads."""

    index: int
    header: str
    name: str
    factor: Decimal = Decimal(1)


@dataclass
class SheetRow:
    """One data row: its Excel row number and its cells by column name."""

    number: int
    values: dict[str, object]


@dataclass
class ImportReport:
    """What an import found and did (``as_dict`` for the CLI and the API)."""

    file: str
    sheet: str = ""
    rows: int = 0
    imported: int = 0
    rejected: int = 0
    totals_skipped: int = 0
    #: section headings (一、生物医药) and notes below the table (注：…, 填表人：…)
    sections_skipped: int = 0
    paused: int = 0
    ended: int = 0
    project_ids: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain values (problems as file/row/field/reason)."""
        out = {k: v for k, v in self.__dict__.items() if k != "problems"}
        out["problems"] = [p.__dict__ for p in self.problems]
        return out


# --------------------------------------------------------------------------- the sheet


def _hits(cells: Sequence[object]) -> int:
    return sum(bool(_INDEX.get(header_key(cell_str(c)))) for c in cells)


def _is_header(cells: list[object]) -> bool:
    return _hits(cells) >= 2


def _header_cells(rows: list[tuple[int, list[object]]], at: int) -> list[str]:
    """The header's cells; a second header row right below (投资情况 split into 总投资,
    到位资金) gives the names of the columns it fills."""
    number, upper = rows[at]
    headers = [cell_str(c).strip() for c in upper]
    if at + 1 < len(rows) and rows[at + 1][0] == number + 1 and _is_header(rows[at + 1][1]):
        lower = [cell_str(c).strip() for c in rows[at + 1][1]]
        headers += [""] * (len(lower) - len(headers))
        for i, text in enumerate(lower):
            if text and (_INDEX.get(header_key(text)) or not headers[i]):
                headers[i] = text
    return headers


def _sheet_unit(rows: list[tuple[int, list[object]]], at: int) -> Decimal:
    for _, cells in rows[:at]:
        for cell in cells:
            if match := _UNIT_LINE.search(unicodedata.normalize("NFKC", cell_str(cell))):
                return _FACTORS[match[1]]
    return Decimal(1)


def _columns(file: str, row: int, headers: list[str],
             default_unit: Decimal) -> tuple[list[Column], list[str]]:
    """The columns read, and the headers not read; of two columns giving one field the
    more specific header wins (累计完成投资 over 本年完成投资, 推进阶段 over 项目进度);
    InputError for two equally specific ones or a sheet without a 项目名称 column."""
    found: dict[str, list[tuple[int, int, str]]] = {}
    unknown: list[str] = []
    for i, header in enumerate(headers):
        key = header_key(header)
        if not header or _ALIAS.get(key, ("x", 0))[0] == "":
            continue
        if key not in _ALIAS:
            unknown.append(header)
            continue
        name, prio = _ALIAS[key]
        found.setdefault(name, []).append((prio, i, header))
    columns: list[Column] = []
    problems: list[Problem] = []
    for name, hits in found.items():
        (prio, i, header), *others = sorted(hits)
        if others and others[0][0] == prio:
            problems.append(Problem(file, row, others[0][2], f"columns {header!r} and "
                                    f"{others[0][2]!r} both give {name}; rename or delete one"))
        unknown += [h for _, _, h in others]
        factor = unit_factor(header, default_unit) if name in fields.AMOUNTS else Decimal(1)
        columns.append(Column(i, header, name, factor))
    if "name" not in found and not problems:
        problems.append(Problem(file, row, None, "no project-name column (项目名称): headers "
                                f"found: {', '.join(h for h in headers if h) or '(none)'}"))
    if problems:
        raise InputError(problems)
    return sorted(columns, key=lambda c: c.index), unknown


def _section_rows(merges: list[tuple[str, int, int, int]]) -> set[int]:
    return {n for _, low, high, _left in merges for n in range(low, high + 1)}


def _skipped(number: int, cells: list[object], wide: set[int]) -> str | None:
    """Which count a row not holding a project adds to: a 合计 / 小计 row, or a section
    heading (one value in a merge across columns, or 一、…) or a note below the table."""
    texts = [t for t in (re.sub(r"\s+", "", cell_str(c)) for c in cells) if t]
    if any(_TOTALS.match(t) for t in texts):
        return "totals_skipped"
    first = texts[0] if texts else ""
    if _FOOTER.match(first) or (len(set(texts)) <= 1 and (
            number in wide or _SECTION.match(first))):
        return "sections_skipped"
    return None


def read_sheet(path: Path) -> tuple[str, list[Column], list[SheetRow], ImportReport]:
    """The sheet's columns and data rows (title, totals and section rows left out)."""
    file = str(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError.single(file, "a project sheet must be an .xlsx workbook")
    if not path.exists():
        raise NotFoundError(f"{file}: no such file")
    book = read_workbook(file, path.read_bytes(), _is_header)
    report = ImportReport(file=file, sheet=book.sheet, notes=list(book.notes))
    at = next((i for i, (_, cells) in enumerate(book.rows) if _is_header(cells)), None)
    if at is None:
        raise InputError.single(file, "no header row: none of the first rows names two of "
                                      "项目名称, 投资方, 总投资, 所在地, 阶段 …")
    header_row = book.rows[at][0]
    headers = _header_cells(book.rows, at)
    columns, unknown = _columns(file, header_row, headers, _sheet_unit(book.rows, at))
    if unknown:
        report.notes.append(f"columns not read: {', '.join(unknown)}")
    body = book.rows[at + 1:]
    if body and body[0][0] == header_row + 1 and _is_header(body[0][1]):
        body = body[1:]
    wide = _section_rows(book.merges)
    rows = []
    for number, cells in body:
        kind = _skipped(number, cells, wide)
        if kind is not None:
            setattr(report, kind, getattr(report, kind) + 1)
            continue
        values = {c.name: cells[c.index] for c in columns
                  if c.index < len(cells) and cell_str(cells[c.index]).strip()}
        if values:
            rows.append(SheetRow(number, values))
    report.rows = len(rows)
    return file, columns, rows, report


# --------------------------------------------------------------------------- the values


_RANK = {"province": 0, "city": 1, "district": 2}


def resolve_region(db: Database, text: str, within: Region | None = None) -> str:
    """The adcode a sheet's region cell names: an adcode, or a name or its short form
    (鹿泉 for 鹿泉区) looked up within ``within`` (桥西区 is 石家庄's within 石家庄市);
    ValueError when it names none, several, or one outside ``within``."""
    value = unicodedata.normalize("NFKC", text).strip()
    prefix = region_prefix(within) if within is not None else ""
    place = f" within {within.name}" if within is not None else ""
    if value.isdigit():
        try:
            adcode = as_region(db, value).adcode
        except NotFoundError as exc:
            raise ValueError(str(exc)) from None
        if not adcode.startswith(prefix):
            raise ValueError(f"region {value} is not{place}")
        return adcode
    rows = db.rows("SELECT adcode, name, level FROM regions WHERE starts_with(adcode, ?) "
                   "AND (name = ? OR starts_with(name, ?)) ORDER BY adcode",
                   [prefix, value, value])
    pool = [r for r in rows if r["name"] == value] or rows
    if not pool:
        raise ValueError(f"no region named {value!r}{place}")
    top = min(_RANK.get(str(r["level"]), 3) for r in pool)
    best = [r for r in pool if _RANK.get(str(r["level"]), 3) == top]
    if len(best) > 1:
        names = "、".join(f"{r['name']} ({r['adcode']})" for r in best[:6])
        raise ValueError(f"{value!r} names several regions{place}: {names}; import with "
                         "the region (--region) or give the 区划代码")
    return str(best[0]["adcode"])


def stage_cell(value: object) -> tuple[str | None, bool, bool]:
    """(stage key or None, paused, ended) of a stage cell such as 签约, 在建, 暂停 or
    签约（暂停）; ParameterError for a stage no alias names."""
    text = unicodedata.normalize("NFKC", cell_str(value)).strip()
    paused = stages.PAUSED_LABEL in text
    ended = stages.ENDED_LABEL in text
    rest = re.sub(r"已?(暂停|终止)(中)?", "", text)
    rest = re.sub(r"[()\[\]【】·,，、/\s-]", "", rest)
    return (stages.stage_from_text(rest) if rest else None), paused, ended


def inferred_stage(values: Mapping[str, Any]) -> str:
    """The stage a row without one is at, by its latest actual date."""
    for name, stage in (("production_date", "producing"), ("started_date", "started"),
                        ("signed_date", "signed")):
        if values.get(name) is not None:
            return stage
    return "lead"


def clean_sheet_date(value: object, kind: str) -> dt.date | None:
    """A date cell in any common form; an actual date may name only its month
    (2024年3月, 2024.03 → 2024-03-01), as a planned one may."""
    return fields.clean_date(value, planned=kind == "planned_date", months=True)


def clean_sheet_amount(value: object, factor: Decimal) -> Decimal | None:
    """An amount cell in 万元: a bare number in the column's unit (``factor`` 万元), a
    text naming its own (1.2亿元, 500万元, 3000000元)."""
    number, currency = parse_amount(value, factor, None)
    if currency not in (None, "CNY"):
        raise ValueError(f"amount {cell_str(value)!r} is in {currency}: the ledger keeps "
                         "万元 (CNY)")
    return fields.clean_amount(number)


@dataclass
class Cleaned:
    """One good row: the raw project for :func:`ledger.create_projects` and its state."""

    number: int
    raw: dict[str, Any]
    stage: str
    paused: bool
    ended: bool


_MISSING = frozenset({"-", "—", "--", "/", "无", "N/A", "n/a", "NA"})


class RowCleaner:
    """Cleans the sheet's rows one by one, collecting every problem of each."""

    def __init__(self, db: Database, file: str, columns: Sequence[Column],
                 within: Region | None, actor: str) -> None:
        self.db, self.file, self.within, self.actor = db, file, within, actor
        self.columns = {c.name: c for c in columns}
        self.codes: dict[str, int] = {}
        self.regions: dict[str, str] = {}

    def _problem(self, row: SheetRow, name: str | None, reason: str) -> Problem:
        header = self.columns[name].header if name in self.columns else name
        return Problem(self.file, row.number, header, reason)

    def _value(self, name: str, value: object, context: Mapping[str, Any]) -> Any:
        kind = fields.BY_NAME[name].kind if name in fields.BY_NAME else name
        if kind == "amount":
            return clean_sheet_amount(value, self.columns[name].factor)
        if kind in _DATE_KINDS:
            return clean_sheet_date(value, kind)
        if kind in ("region", "region_code"):
            text = cell_str(value)
            if text not in self.regions:
                self.regions[text] = resolve_region(self.db, text, self.within)
            return self.regions[text]
        if kind == "code":
            return check_code(self.db, cell_str(value))
        return fields.clean_value(self.db, name, value, context)

    def _cells(self, row: SheetRow) -> tuple[dict[str, Any], list[Problem]]:
        out: dict[str, Any] = {}
        problems: list[Problem] = []
        # the chain before its node; the stage column apart
        for name in sorted(row.values, key=lambda n: n == "node_id"):
            value = row.values[name]
            if name == "stage" or cell_str(value).strip() in _MISSING or (
                    name == "region_adcode" and "region_code" in row.values):
                continue
            try:
                out[name] = self._value(name, value, out)
            except (ValueError, ChainAtlasError) as exc:
                problems.append(self._problem(row, name, str(exc)))
        return out, problems

    def _code(self, row: SheetRow, code: str | None) -> list[Problem]:
        if code is None:
            return []
        if code in self.codes:
            return [self._problem(row, "code", f"project code {code} is also on row "
                                  f"{self.codes[code]} of this sheet")]
        self.codes[code] = row.number
        other = self.db.rows("SELECT project_id, name FROM projects WHERE code = ?", [code])
        if other:
            return [self._problem(row, "code", f"project code {code} is already project "
                                  f"{other[0]['project_id']} ({other[0]['name']}) of the "
                                  "ledger")]
        return []

    def clean(self, row: SheetRow) -> tuple[Cleaned | None, list[Problem]]:
        """The row's project, or None with its problems."""
        out, problems = self._cells(row)
        stage, paused, ended = None, False, False
        if "stage" in row.values:
            try:
                stage, paused, ended = stage_cell(row.values["stage"])
            except ParameterError as exc:
                problems.append(self._problem(row, "stage", str(exc)))
        adcode = out.pop("region_code", None) or out.get("region_adcode") or (
            self.within.adcode if self.within is not None else None)
        if "region_adcode" not in row.values and "region_code" not in row.values \
                and adcode is None:
            problems.append(self._problem(row, None, "no region: fill 所在地 or import with "
                                          "the region (--region)"))
        if "name" not in row.values:
            problems.append(self._problem(row, "name", "a project needs a name (项目名称)"))
        problems += self._code(row, out.get("code"))
        if adcode is not None:
            out["region_adcode"] = adcode
            try:
                check_scope(self.db, self.actor, adcode, out.get("park"))
            except ChainAtlasError as exc:
                problems.append(self._problem(row, "region_adcode", str(exc)))
        if problems:
            return None, problems
        return Cleaned(row.number, out, stage or inferred_stage(out), paused, ended), []


# --------------------------------------------------------------------------- the import


def _flag(db: Database, item: Cleaned, project_id: int, *, actor: str, file: str) -> str:
    """Set the 暂停 / 终止 a row's stage cell named; return which."""
    where = f"{Path(file).name} 第{item.number}行"
    if item.ended:
        ledger.end_project(db, project_id, actor=actor, expected_version=None,
                           reason=f"导入表格状态为{stages.ENDED_LABEL}（{where}）")
        return "ended"
    ledger.pause_project(db, project_id, actor=actor, expected_version=None,
                         reason=f"导入表格状态为{stages.PAUSED_LABEL}（{where}）")
    return "paused"


def _write(db: Database, good: list[Cleaned], report: ImportReport, *, actor: str,
           effective: dt.date | None) -> None:
    """Create the projects, set their flags and the audit line, in one transaction."""
    name = Path(report.file).name
    with db.transaction():
        created = ledger.create_projects(
            db, [g.raw for g in good], actor=actor, stages_=[g.stage for g in good],
            effective=effective, reason=f"导入 {name}", origin="import")
        for item, row in zip(good, created, strict=True):
            if item.paused or item.ended:
                flag = _flag(db, item, int(row["project_id"]), actor=actor, file=report.file)
                setattr(report, flag, getattr(report, flag) + 1)
        report.project_ids = [int(r["project_id"]) for r in created]
        report.imported = len(created)
        audit.record(db, actor, "project.import", f"file:{name}", None, {
            "file": report.file, "sheet": report.sheet, "rows": report.rows,
            "imported": report.imported, "rejected": report.rejected,
            "totals_skipped": report.totals_skipped, "project_ids": report.project_ids})


def import_projects(db: Database, path: str | Path, *, region: str | None = None,
                    lenient: bool = False, actor: str,
                    effective: dt.date | None = None) -> dict[str, Any]:
    """Import a project sheet into the ledger; return the report (:class:`ImportReport`).

    ``region`` is the importing bureau's region: the region of rows without one, and the
    region a district cell is looked up in. Strict unless ``lenient``: any bad row raises
    an InputError listing every problem and nothing is written.
    """
    file, columns, rows, report = read_sheet(Path(path))
    within = as_region(db, region) if region else None
    cleaner = RowCleaner(db, file, columns, within, actor)
    good: list[Cleaned] = []
    for row in rows:
        item, problems = cleaner.clean(row)
        report.problems += problems
        if item is not None:
            good.append(item)
    bad = sorted({p.row for p in report.problems if p.row is not None})
    if report.problems and not lenient:
        raise InputError(report.problems, summary=(
            f"{file}: {len(bad)} bad row(s), nothing imported. First: {report.problems[0]}"))
    report.rejected = len(bad)
    if good:
        _write(db, good, report, actor=actor, effective=effective)
    return report.as_dict()
