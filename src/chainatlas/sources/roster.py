"""Read, validate and write local governments' enterprise rosters (企业名单).

``read_roster`` reads a .csv/.txt or .xlsx roster, maps its headers to canonical fields (aliases,
or an explicit ``mapping`` that wins over them) and reports *every* bad value as a Problem naming
the file, the spreadsheet row and the original header. Decisions worth knowing:

* A row with any problem is rejected whole (kept for :func:`write_rejects`); empty rows are skipped.
* Workbooks are read within bounds, hidden sheets never (:mod:`~chainatlas.sources.roster_xlsx`):
  the first visible sheet with a header; the sheets not read are named in ``notes``.
* A CSV row with fewer delimiters than the header, and the last row of a CSV that does not
  end with a line break (cut off: 503万元 read as 5), are broken rows.
* The header row is the first of the first 10 non-empty rows matching two known headers (else one).
* Excel merges spanning one column (``企业名称`` merged down a two-row header) are filled down, as
  the user sees them; merges across several columns *in the header row* are ambiguous and raise
  InputError naming the range to unmerge.
* Several columns matching one field: the more specific header wins (aliases are most specific
  first); the same header twice is an error.
* Amounts are in 万元; bare numbers take the unit named in the header (``注册资本（元）``). Foreign
  capital keeps its amount and records its currency; revenue must be in CNY.
* CSV text: a BOM decides; else strict UTF-8, then UTF-8 with a few lines of another encoding
  (those rows rejected, below), then GBK/GB18030; charset-normalizer only after that.

Values are read by the rules the enterprise-registry reader uses too
(:mod:`chainatlas.sources.roster_values`), so a registry export imports as a roster. Its
quirks split in two. **Not wrong**, imported: the missing-value markers (``N/A``, ``-``,
``—``, ``无``, empty; a capital unit with no figure); capital in any shape and currency; an
older registration number (15 or 13 digits, 企合…字第…, organization code) in the USCC column,
stored as ``registration_no``; names with spaces (folded); a row repeated verbatim (stored
once, its row listed in ``merged``, which the import counts and reports); 企业类型 and
法人代表 (stored; with the name and the USCC they flag branches and individual
businesses). **Really wrong**, the row rejected with its row, column and reason: more
cells than the header (broken quoting), fewer, a file cut off; shifted fields (a date
that is no date, a capital that is a name or a scope, a province column that is no
province); text lost to a wrong decoding upstream (U+FFFD: GBK text inside UTF-8); a USCC
or a 15-digit registration number failing its check digit, or a code that is no code; a
second row with the same code (without a code: the same name) that differs from the first;
any other value that cannot be read (negative amounts, future dates, unknown GB/T codes).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from chainatlas.errors import InputError, NotFoundError, Problem
from chainatlas.sources.geography import city_adcode_from_names, level_from_adcode, locate_texts
from chainatlas.sources.roster_values import (
    Capital,
    FirmCode,
    cell_str,
    clean_name,
    clean_text,
    decode_table,
    firm_kind,
    formula_safe,
    formula_unsafe,
    garbled,
    is_missing,
    parse_amount,
    parse_amount_wan,
    parse_capital,
    parse_code,
    parse_currency,
    parse_date,
    parse_employees,
    parse_industry_code,
    parse_province,
    uscc_check_digit,
    uscc_is_valid,
)
from chainatlas.sources.roster_xlsx import read_workbook

# The value parsers live in roster_values; the public ones are re-exported because callers
# and tests import them from this module.
__all__ = ["FIELDS", "RosterParse", "RosterRecord", "parse_amount_wan", "parse_date",
           "parse_industry_code", "read_roster", "uscc_check_digit", "uscc_is_valid",
           "write_rejects", "write_roster"]

#: Canonical field -> accepted headers, most specific first (the first is the canonical one).
FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("企业名称", "企业全称", "公司名称", "公司全称", "单位名称", "名称", "企业",
             "company name", "enterprise name", "firm name", "name", "company", "firm"),
    "uscc": ("统一社会信用代码", "社会信用代码", "统一信用代码", "信用代码", "统一代码",
             "unified social credit code", "social credit code", "credit code", "uscc"),
    "address": ("注册地址", "住所", "住所地", "企业地址", "注册地", "地址", "经营地址",
                "registered address", "address"),
    "industry_code": ("行业代码", "国民经济行业代码", "国民经济行业分类代码", "行业分类代码",
                      "国标行业代码", "所属行业代码", "industry code", "gb/t 4754"),
    "business_scope": ("经营范围", "业务范围", "主营业务", "business scope", "scope"),
    "registered_capital": ("注册资本", "注册资金", "注册资本金", "registered capital", "capital"),
    "capital_currency": ("注册资本币种", "币种", "资本币种", "capital currency", "currency"),
    "setup_date": ("成立日期", "成立时间", "注册日期", "注册时间", "设立日期", "established",
                   "establishment date", "date established", "setup date", "founded"),
    "revenue": ("营业收入", "营收", "营业总收入", "主营业务收入", "销售收入", "revenue",
                "operating revenue", "sales"),
    "employees": ("从业人数", "员工人数", "职工人数", "从业人员", "员工数", "人数", "employees",
                  "employee count", "headcount", "staff"),
    "enterprise_type": ("企业类型", "公司类型", "企业类别", "企业性质", "经济类型", "登记类型",
                        "enterprise type", "company type"),
    "legal_rep": ("法定代表人", "法人代表", "法人", "负责人", "经营者", "legal representative",
                  "legal rep"),
    "province": ("所在省份", "省份", "所在省", "province"),
    "city": ("地区", "所在城市", "所在地市", "城市", "地市", "city"),
}
REJECT_ROW, REJECT_REASON = "原行号", "错误原因"
_EXPORT = (("name", "企业名称"), ("uscc", "统一社会信用代码"), ("address", "注册地址"),
           ("industry_code", "行业代码"), ("business_scope", "经营范围"),
           ("registered_capital", "注册资本（万元）"),
           ("capital_currency", "注册资本币种"), ("setup_date", "成立日期"),
           ("revenue", "营业收入（万元）"), ("employees", "从业人数"),
           ("enterprise_type", "企业类型"), ("legal_rep", "法人代表"))
_BRACKETED = re.compile(r"[(\[【〔]([^)\]】〕]*)[)\]】〕]")
_T = TypeVar("_T")
_Rows = list[tuple[int, list[object]]]
_Errors = list[tuple[str | None, str]]  # (original header, reason)


@dataclass(frozen=True)
class RosterRecord:
    """One clean firm of a roster; amounts in 万元, ``row`` as the spreadsheet shows it."""

    row: int
    name: str
    uscc: str | None
    address: str | None
    industry_code: str | None
    industry_section: str | None
    business_scope: str | None
    registered_capital: float | None
    capital_currency: str | None
    setup_date: dt.date | None
    revenue: float | None
    employees: int | None
    adcode: str | None
    location_level: str | None
    raw: dict[str, str]
    registration_no: str | None = None
    enterprise_type: str | None = None
    legal_rep: str | None = None
    province: str | None = None
    city: str | None = None
    is_branch: bool = False
    parent_name: str | None = None
    is_individual: bool = False

    @property
    def code(self) -> str | None:
        """The firm's code: its USCC, else its older registration number."""
        return self.uscc or self.registration_no


@dataclass(frozen=True)
class RosterParse:
    """The outcome of reading a roster: clean records plus every problem found.

    ``headers`` are the header row's cells (made unique), ``rejected_raw`` the original cells
    of each rejected row by header, ``header_row`` the spreadsheet row of the header,
    ``merged`` the rows that repeat an earlier row verbatim (row -> that row), stored once;
    ``notes`` what the import should tell about the file (a workbook's sheets not read).
    """

    file: str
    encoding: str | None
    columns: dict[str, str]
    records: list[RosterRecord]
    problems: list[Problem]
    rejected_rows: list[int]
    headers: list[str] = field(default_factory=list)
    rejected_raw: dict[int, dict[str, str]] = field(default_factory=dict)
    header_row: int = 1
    merged: dict[int, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Col:
    index: int
    header: str
    factor: Decimal = Decimal(1)  # unit of bare numbers in 万, from the header
    currency: str | None = None



def _trim(cells: Sequence[object]) -> list[object]:
    out = list(cells)
    while out and not cell_str(out[-1]).strip():
        out.pop()
    return out


def _header_key(text: str) -> str:
    """Normalise a header for matching: NFKC, no brackets (units), year, spaces; lower case."""
    key = _BRACKETED.sub("", unicodedata.normalize("NFKC", text)).strip()
    return re.sub(r"[\s_\-*:#]+", "", re.sub(r"^\d{4}年度?", "", key)).lower()


def _alias_index() -> dict[str, tuple[str, int]]:
    """Normalised alias -> (field, priority: lower is more specific)."""
    return {_header_key(alias): (name, prio) for name, aliases in reversed(FIELDS.items())
            for prio, alias in reversed(list(enumerate(aliases)))}


def _unit_hint(header: str) -> tuple[Decimal, str | None]:
    """The unit named in a header such as 注册资本（元） or 营业收入(亿元); default 万元."""
    for inner in _BRACKETED.findall(unicodedata.normalize("NFKC", header)):
        try:
            return parse_amount("1" + re.sub(r"^单位[:：]?", "", inner.strip()), Decimal(1), None)
        except ValueError:
            continue
    return Decimal(1), None


def _sniff_delimiter(text: str) -> str:
    """Pick , tab ; or | by how many sample lines agree on a field count above one."""
    sample = [line for line in text[: 1 << 16].splitlines()[:50] if line.strip()]
    best, best_score = ",", (0, 0)
    for delimiter in (",", "\t", ";", "|"):
        counts = [len(r) for r in csv.reader(sample, delimiter=delimiter)]
        score = max(((counts.count(n), n) for n in set(counts) if n > 1), default=(0, 0))
        if score > best_score:
            best, best_score = delimiter, score
    return best


@dataclass
class _Table:
    """A roster file's rows as read. ``widths`` (CSV only): each row's number of fields
    before trailing empty ones were dropped, since in CSV a missing delimiter is a broken
    row while in a workbook an empty trailing cell is just empty; ``cut_row``: the last row
    of a CSV that does not end with a line break (it was probably cut off)."""

    rows: _Rows
    encoding: str | None = None
    merges: list[tuple[str, int, int, int]] = field(default_factory=list)
    widths: dict[int, int] = field(default_factory=dict)
    cut_row: int | None = None
    notes: list[str] = field(default_factory=list)


def _read_csv(file: str, data: bytes, encoding: str | None) -> _Table:
    text, used = decode_table(file, data, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        raw = [(n, [formula_unsafe(c) for c in cells]) for n, cells in enumerate(reader, 1)]
    except csv.Error as exc:
        raise InputError.single(file, f"not a readable CSV file: {exc} (line {reader.line_num})",
                                row=reader.line_num) from None
    rows = [(n, _trim(cells)) for n, cells in raw]
    last = next((n for n, cells in reversed(rows) if cells), None)
    return _Table(rows, used, widths={n: len(cells) for n, cells in raw},
                  cut_row=last if text.rstrip(" \t")[-1:] not in ("\n", "\r") else None)


def _read_file(file: str, path: Path, encoding: str | None, known: set[str]) -> _Table:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx"):
        raise InputError.single(file, f"unsupported file type {path.suffix or '(none)'!r}: "
                                      "a roster must be .csv, .txt or .xlsx")
    if not path.exists():
        raise NotFoundError(f"{file}: no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError.single(file, f"cannot read the file: {exc.strerror}") from None
    if not data.strip():
        raise InputError.single(file, "no header row: the file is empty")
    if suffix == ".xlsx":
        book = read_workbook(file, data, lambda cells: any(
            _header_key(cell_str(c)) in known for c in cells))
        return _Table(book.rows, merges=book.merges, notes=book.notes)
    return _read_csv(file, data, encoding)


def _check_mapping(file: str, mapping: Mapping[str, str]) -> dict[str, str]:
    """Normalised user header -> canonical field (targets may also be canonical headers)."""
    aliases, out, problems = _alias_index(), {}, []
    for header, target in mapping.items():
        name = target.strip() if target.strip() in FIELDS else aliases.get(
            _header_key(target), ("", 0))[0]
        if not name:
            problems.append(Problem(file, None, header, f"mapping {header}={target}: unknown "
                                    f"field {target!r}; known fields: {', '.join(FIELDS)}"))
        out[_header_key(header)] = name
    if problems:
        raise InputError(problems)
    return out


def _find_header(rows: _Rows, known: set[str]) -> int:
    hits = [sum(_header_key(cell_str(c)) in known for c in cells) for _, cells in rows[:10]]
    return next((i for i, n in enumerate(hits) if n >= 2),
                next((i for i, n in enumerate(hits) if n), 0))


def _resolve_columns(file: str, row: int, headers: list[str],
                     user_map: dict[str, str]) -> dict[str, _Col]:
    aliases, keys = _alias_index(), [_header_key(h) for h in headers]
    problems = [Problem(file, row, key, f"the mapping names header {key!r}, which is not in "
                        f"the header row; headers found: {', '.join(headers)}")
                for key in user_map if key not in keys]
    found: dict[str, list[tuple[int, int]]] = {}
    for i, key in enumerate(keys):
        if key in user_map:
            found.setdefault(user_map[key], []).append((-1, i))
        elif key in aliases and aliases[key][0] not in user_map.values():
            found.setdefault(aliases[key][0], []).append((aliases[key][1], i))
    cols: dict[str, _Col] = {}
    for name, hits in sorted(found.items()):
        (prio, i), *others = sorted(hits)
        if others and others[0][0] == prio:
            problems.append(Problem(file, row, headers[others[0][1]], f"columns {headers[i]!r} "
                                    f"and {headers[others[0][1]]!r} both look like {name}; "
                                    "rename one or choose with --map"))
        amount = name in ("registered_capital", "revenue")
        cols[name] = _Col(i, headers[i], *(_unit_hint(headers[i]) if amount else ()))
    if "name" not in cols and not problems:
        problems.append(Problem(file, row, None, "no company-name column: headers found: "
                                f"{', '.join(h for h in headers if h) or '(none)'}; accepted: "
                                f"{', '.join(FIELDS['name'])}, or map yours with "
                                "--map '<your header>=name'"))
    if problems:
        raise InputError(problems)
    return cols


class _RowReader:
    """Parses one row's fields, collecting (original header, reason) for each bad value."""

    def __init__(self, cols: dict[str, _Col], cells: list[object]) -> None:
        self.cols, self.cells = cols, cells
        self.errors: _Errors = []

    def get(self, name: str, parse: Callable[[object, _Col], _T]) -> _T | None:
        col = self.cols.get(name)
        cell = self.cells[col.index] if col and col.index < len(self.cells) else None
        if col is None or is_missing(cell):
            return None
        try:
            return parse(cell, col)
        except ValueError as exc:
            self.errors.append((col.header, str(exc)))
            return None

    def fail(self, name: str, reason: str) -> None:
        self.errors.append((self.cols[name].header, reason))


def _text(value: object, col: _Col) -> str:
    return clean_text(cell_str(value))


def _money(value: object, col: _Col) -> tuple[Decimal, str | None]:
    return parse_amount(value, col.factor, col.currency)


_Key = tuple[str, str]  # (what identifies the firm: uscc, registration_no or name; value)


def _capital(r: _RowReader, currency: str | None) -> Capital | None:
    """The registered capital; bare numbers in the header's unit and currency (else the
    currency column's). A currency named in the amount must agree with that column."""
    capital = r.get("registered_capital", lambda v, c: parse_capital(
        v, c.factor, c.currency or currency))
    if capital and currency and capital.currency != currency:
        r.fail("registered_capital", f"amount is in {capital.currency} but the currency "
                                     f"column says {currency}")
    return capital


def _parse_row(cols: dict[str, _Col], number: int, cells: list[object],
               raw: dict[str, str]) -> tuple[RosterRecord | None, _Errors, _Key | None]:
    r = _RowReader(cols, cells)
    if lost := garbled(texts := [cell_str(c) for c in cells]):
        header = next((c.header for c in sorted(cols.values(), key=lambda c: c.index)
                       if c.index < len(texts) and garbled([texts[c.index]])), None)
        r.errors.append((header, lost))
    if not (name := r.get("name", lambda v, c: clean_name(cell_str(v)))) and not r.errors:
        r.fail("name", "company name is empty")
    industry = r.get("industry_code", lambda v, c: parse_industry_code(v))
    capital = _capital(r, r.get("capital_currency", lambda v, c: parse_currency(v)))
    if (revenue := r.get("revenue", _money)) and revenue[1] not in (None, "CNY"):
        r.fail("revenue", f"revenue must be in 人民币 (CNY), not {revenue[1]}")
    code: FirmCode | None = r.get("uscc", lambda v, c: parse_code(v))
    setup = r.get("setup_date", lambda v, c: parse_date(v))
    employees = r.get("employees", lambda v, c: parse_employees(v))
    address, scope = r.get("address", _text), r.get("business_scope", _text)
    kind, legal_rep = r.get("enterprise_type", _text), r.get("legal_rep", _text)
    province = r.get("province", lambda v, c: parse_province(v))
    city = r.get("city", _text)
    key: _Key | None = ((("uscc", code.uscc) if code.uscc else ("registration_no", str(
        code.registration_no))) if code else ("name", name) if name else None)
    if r.errors or not name:
        return None, r.errors, key
    flags = firm_kind(name, kind, code.uscc if code else None)
    return RosterRecord(
        number, name, code.uscc if code else None, address or None,
        industry[0] if industry else None, industry[1] if industry else None, scope or None,
        capital.amount if capital else None, capital.currency if capital else None, setup,
        float(revenue[0]) if revenue else None, employees, None, None, raw,
        registration_no=code.registration_no if code else None, enterprise_type=kind or None,
        legal_rep=legal_rep or None, province=province, city=city or None,
        is_branch=flags.is_branch, parent_name=flags.parent_name,
        is_individual=flags.is_individual), [], key


_DUPLICATE = {"uscc": "duplicate unified social credit code {}: already used on row {}",
              "registration_no": "duplicate registration number {}: already used on row {}",
              "name": "duplicate company name {} and no code to tell the firms apart "
                      "(同名企业无统一社会信用代码，无法区分): already on row {}"}


def _duplicate(cols: dict[str, _Col], key: _Key, first: tuple[int, dict[str, str]],
               raw: dict[str, str]) -> tuple[str | None, str]:
    """A second row of one firm that differs from the first. Rejected, not merged nor kept
    as two firms: an analyst cannot tell which row is right (a newer address? a typo?) nor,
    without a code, whether they are two firms, and either guess would change counts."""
    what, value = key
    header = cols["name" if what == "name" else "uscc"].header
    differ = [k for k in [*first[1], *(k for k in raw if k not in first[1])]
              if raw.get(k, "") != first[1].get(k, "")]
    return header, (_DUPLICATE[what].format(value, first[0]) + (
        f"; the rows differ in {', '.join(differ)}" if differ else ""))


def _shape_errors(keys: list[str], number: int, cells: list[object], table: _Table) -> _Errors:
    """A broken CSV row: more fields than the header (an unquoted delimiter), fewer (a
    missing delimiter, a line break inside an unquoted value), or the last row of a file
    cut off mid-row (503万元 read as 5). A workbook's rows are never broken this way: its
    empty trailing cells are just empty."""
    if number not in table.widths:
        return []
    width, errors = table.widths[number], _Errors()
    if len(cells) > len(keys):
        errors.append((None, f"row has {len(cells)} cells but the header has {len(keys)}: "
                             "a value probably contains an unquoted delimiter (extra "
                             f"values: {', '.join(map(cell_str, cells[len(keys):]))})"))
    if number == table.cut_row:
        last = cell_str(cells[-1]) if cells else ""
        errors.append((keys[min(width, len(keys)) - 1], "the file ends in this row without a "
                       "line break: it was probably cut off here (文件在此行被截断), so the "
                       f"value {last!r} may be incomplete; if the row is complete, end the "
                       "file with a line break"))
    elif width < len(keys):
        errors.append((keys[width], f"row has {width} field{'s' * (width != 1)} but the "
                       f"header has {len(keys)}: "
                       f"missing {', '.join(keys[width:])} (行缺少字段); a delimiter is "
                       "missing or a value holds an unquoted line break"))
    return errors


def _parse_rows(file: str, keys: list[str], cols: dict[str, _Col], rows: _Rows,
                table: _Table) -> tuple[list[RosterRecord], list[Problem],
                                        dict[int, dict[str, str]], dict[int, int]]:
    records: list[RosterRecord] = []
    problems: list[Problem] = []
    rejected: dict[int, dict[str, str]] = {}
    seen: dict[_Key, tuple[int, dict[str, str]]] = {}
    merged: dict[int, int] = {}
    for number, cells in rows:
        raw = {key: cell_str(cells[i]) if i < len(cells) else "" for i, key in enumerate(keys)}
        raw |= {f"(column {i + 1})": cell_str(c) for i, c in enumerate(cells) if i >= len(keys)}
        record, errors, key = _parse_row(cols, number, cells, raw)
        errors += _shape_errors(keys, number, cells, table)
        first = seen.get(key) if key else None
        if first is not None and first[1] == raw and not errors:
            merged[number] = first[0]  # the same row again: counted and reported, stored once
            continue
        if first is not None and first[1] != raw and key:
            errors.append(_duplicate(cols, key, first, raw))
        elif key and first is None:
            seen[key] = (number, raw)
        problems += [Problem(file, number, name, reason) for name, reason in errors]
        if errors:
            rejected[number] = raw
        elif record:
            records.append(record)
    return records, problems, rejected, merged


def _locate(records: list[RosterRecord]) -> list[RosterRecord]:
    """Geocode all records in one batch: by address, or by name when that says more."""
    found = locate_texts([r.address for r in records] + [r.name for r in records])
    out = []
    for record, by_address, by_name in zip(records, found, found[len(records):], strict=False):
        hit = by_address or by_name
        if by_address and by_name and by_name.adcode != by_address.adcode and (
                by_name.adcode.startswith(by_address.adcode.rstrip("0"))):
            hit = by_name  # e.g. address names only the province, the name its city
        if hit:
            out.append(replace(record, adcode=hit.adcode, location_level=hit.level))
        elif city := city_adcode_from_names(record.province, record.city):
            # neither address nor name places it: the province and city columns may
            out.append(replace(record, adcode=city, location_level=level_from_adcode(city)))
        else:
            out.append(record)
    return out


def read_roster(path: str | Path, *, mapping: Mapping[str, str] | None = None,
                encoding: str | None = None, geocode: bool = True) -> RosterParse:
    """Read a roster (.csv/.txt/.xlsx), validating every row and geocoding the clean ones.

    ``mapping`` maps the file's headers to canonical field names and wins over aliases;
    ``encoding`` forces the CSV text encoding. File-level problems (unreadable file, no header,
    no name column, no data) raise InputError; bad values are returned in ``problems``, their
    rows in ``rejected_rows``.
    """
    file, path = str(path), Path(path)
    user_map = _check_mapping(file, mapping or {})
    known = set(_alias_index()) | set(user_map)
    table = _read_file(file, path, encoding, known)
    rows = [(n, cells) for n, cells in table.rows if cells]
    if not rows:
        raise InputError.single(file, "no header row: the file has no non-empty rows")
    start = _find_header(rows, known)
    header_row, headers = rows[start][0], [clean_text(cell_str(c)) for c in rows[start][1]]
    if problems := [Problem(file, header_row, headers[col - 1] if col <= len(headers) else None,
                            f"header cells {coord} are merged across several columns; unmerge "
                            "them so that every column has its own header")
                    for coord, low, high, col in table.merges if low <= header_row <= high]:
        raise InputError(problems)
    cols = _resolve_columns(file, header_row, headers, user_map)
    if len(rows) == start + 1:
        raise InputError.single(file, f"no data rows under the header (row {header_row})",
                                row=header_row)
    keys = [h or f"(column {i + 1})" for i, h in enumerate(headers)]
    keys = [k if k not in keys[:i] else f"{k} (column {i + 1})" for i, k in enumerate(keys)]
    records, problems, rejected, repeats = _parse_rows(file, keys, cols, rows[start + 1:], table)
    return RosterParse(file, table.encoding, {k: c.header for k, c in cols.items()},
                       _locate(records) if geocode and records else records, problems,
                       list(rejected), keys, rejected, header_row, repeats, table.notes)


def _write_table(path: Path, headers: list[str], rows: list[list[object]]) -> None:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows([headers, *([
                (repr(v) if isinstance(v, float) and not v.is_integer() else
                 formula_safe(v) if isinstance(v, str) else cell_str(v))
                for v in row] for row in rows)])
        return
    if suffix != ".xlsx":
        raise InputError.single(str(path), "can only write .csv, .txt or .xlsx files")
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = openpyxl.Workbook()
    for r, row in enumerate([list[object](headers), *rows], start=1):
        for c, value in enumerate(row, start=1):
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell = book.active.cell(r, c, value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # a name like "=abc" is text, never a formula
    book.save(path)


def write_roster(records: Sequence[RosterRecord], path: Path) -> None:
    """Write records as .xlsx or .csv (UTF-8 with BOM) under the canonical Chinese headers;
    a firm without a USCC has its registration number in that column (read back as such)."""
    def value(record: RosterRecord, name: str) -> object:
        if name == "industry_code" and record.industry_code:
            return (record.industry_section or "") + record.industry_code  # e.g. C2710
        return record.code if name == "uscc" else getattr(record, name)

    rows = [[value(record, name) for name, _ in _EXPORT] for record in records]
    _write_table(Path(path), [header for _, header in _EXPORT], rows)


def write_rejects(parse: RosterParse, path: Path) -> None:
    """Write the rejected rows: their original cells, 原行号 and 错误原因 (all reasons)."""
    reasons: dict[int | None, list[str]] = {}
    for p in parse.problems:
        reasons.setdefault(p.row, []).append(f"{p.field}: {p.reason}" if p.field else p.reason)
    headers = [h for h in parse.headers if h not in (REJECT_ROW, REJECT_REASON)]
    for raw in parse.rejected_raw.values():
        headers += [k for k in raw if k not in headers and k not in (REJECT_ROW, REJECT_REASON)]
    rows: list[list[object]] = [
        [*(raw.get(h, "") for h in headers), str(row), "; ".join(reasons.get(row, []))]
        for row, raw in sorted(parse.rejected_raw.items())]
    _write_table(Path(path), [*headers, REJECT_ROW, REJECT_REASON], rows)
