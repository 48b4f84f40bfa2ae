"""Read, validate and write local governments' enterprise rosters (企业名单).

``read_roster`` reads a .csv/.txt or .xlsx roster, maps its headers to canonical fields (aliases,
or an explicit ``mapping`` that wins over them) and reports *every* bad value as a Problem naming
the file, the spreadsheet row and the original header. Decisions worth knowing:

* A row with any problem is rejected whole (kept for :func:`write_rejects`); empty rows are skipped.
* The header row is the first of the first 10 non-empty rows matching two known headers (else one).
* Excel merges spanning one column (``企业名称`` merged down a two-row header) are filled down, as
  the user sees them; merges across several columns *in the header row* are ambiguous and raise
  InputError naming the range to unmerge.
* Several columns matching one field: the more specific header wins (aliases are most specific
  first); the same header twice is an error.
* Amounts are in 万元; bare numbers take the unit named in the header (``注册资本（元）``). Foreign
  capital keeps its amount and records its currency; revenue must be in CNY.
* CSV text: a BOM decides; else strict UTF-8, then GBK/GB18030; charset-normalizer only after that.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from chainatlas.errors import InputError, NotFoundError, Problem
from chainatlas.sources.geography import locate_texts

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
}
REJECT_ROW, REJECT_REASON = "原行号", "错误原因"
_EXPORT = (("name", "企业名称"), ("uscc", "统一社会信用代码"), ("address", "注册地址"),
           ("industry_code", "行业代码"), ("business_scope", "经营范围"),
           ("registered_capital", "注册资本（万元）"),
           ("capital_currency", "注册资本币种"), ("setup_date", "成立日期"),
           ("revenue", "营业收入（万元）"), ("employees", "从业人数"))
_MIN_DATE = dt.date(1900, 1, 1)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB/T 4754-2017: division -> section letter.
_SECTION_OF = {d: s for s, lo, hi in re.findall(r"([A-T])(\d\d)-(\d\d)", (
    "A01-05 B06-12 C13-43 D44-46 E47-50 F51-52 G53-60 H61-62 I63-65 J66-69 K70-70 L71-72 "
    "M73-75 N76-79 O80-82 P83-83 Q84-85 R86-90 S91-96 T97-97"))
    for d in range(int(lo), int(hi) + 1)}
# Searched in this order (after NFKC and upper-casing) and removed from an amount's text.
_CURRENCY_TOKENS = (("人民币", "CNY"), ("RMB", "CNY"), ("CNY", "CNY"), ("¥", "CNY"),
                    ("美元", "USD"), ("USD", "USD"), ("US$", "USD"), ("港元", "HKD"),
                    ("港币", "HKD"), ("HKD", "HKD"), ("HK$", "HKD"), ("$", "USD"),
                    ("欧元", "EUR"), ("EUR", "EUR"), ("€", "EUR"), ("日元", "JPY"),
                    ("JPY", "JPY"), ("英镑", "GBP"), ("GBP", "GBP"), ("澳门元", "MOP"),
                    ("新台币", "TWD"))
_UNITS = {unit: Decimal(wan) for unit, wan in (  # unit word -> 万
    ("元", "0.0001"), ("百", "0.01"), ("千", "0.1"), ("万", "1"), ("十万", "10"),
    ("百万", "100"), ("千万", "1000"), ("亿", "10000"), ("万亿", "100000000"))}
_AMOUNT_RE = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:E[+-]?\d+)?)"
                        r"(万亿|十万|百万|千万|万|千|百|亿)?(元)?")
_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                      r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")
_BRACKETED = re.compile(r"[(\[【〔]([^)\]】〕]*)[)\]】〕]")
_AMOUNT_HINT = "expected e.g. 500, 500万元, 1.2亿元 or 5000000元"
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


@dataclass(frozen=True)
class RosterParse:
    """The outcome of reading a roster: clean records plus every problem found.

    ``headers`` are the header row's cells (made unique), ``rejected_raw`` the original cells
    of each rejected row by header, ``header_row`` the spreadsheet row of the header.
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


@dataclass(frozen=True)
class _Col:
    index: int
    header: str
    factor: Decimal = Decimal(1)  # unit of bare numbers in 万, from the header
    currency: str | None = None


def uscc_check_digit(base: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a USCC."""
    if len(base) != 17 or any(c not in _USCC_VALUE for c in base):
        raise ValueError(f"{base!r} is not 17 characters of the USCC alphabet")
    total = sum(_USCC_VALUE[c] * w for c, w in zip(base, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def _normalise_uscc(value: object) -> str:
    code = re.sub(r"\s+", "", unicodedata.normalize("NFKC", _cell_str(value))).upper()
    what = f"unified social credit code {code!r}"
    if len(code) != 18:
        raise ValueError(f"{what} has {len(code)} characters, expected 18")
    if bad := [c for c in code if c not in _USCC_VALUE]:
        raise ValueError(f"{what} contains {bad[0]!r} (I, O, S, V and Z are never used)")
    if code[17] != (check := uscc_check_digit(code[:17])):
        raise ValueError(f"{what} has check digit {code[17]!r}, expected {check!r} (mistyped?)")
    return code


def uscc_is_valid(code: str) -> bool:
    """Tell whether ``code`` (trimmed, upper-cased, full-width folded) is a valid USCC."""
    try:
        _normalise_uscc(code)
    except ValueError:
        return False
    return True


def _amount(value: object, factor: Decimal, currency: str | None) -> tuple[Decimal, str | None]:
    """Parse an amount to 万 units; bare numbers are in units of ``factor`` 万."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number, unit, found = Decimal(str(value)), factor, set[str]()
    else:
        text = re.sub(r"[\s,()\[\]【】]", "", unicodedata.normalize("NFKC", _cell_str(value)))
        text, found = text.upper(), set()
        for token, code in _CURRENCY_TOKENS:
            if token in text:
                found.add(code)
                text = text.replace(token, "")
        if len(found) > 1:
            raise ValueError(f"amount {value!r} names several currencies")
        if (match := _AMOUNT_RE.fullmatch(text)) is None:
            raise ValueError(f"cannot read amount {value!r} ({_AMOUNT_HINT})")
        number = Decimal(match[1])
        unit = _UNITS[match[2]] if match[2] else _UNITS["元"] if match[3] else factor
    if not number.is_finite():
        raise ValueError(f"cannot read amount {value!r} ({_AMOUNT_HINT})")
    if number < 0:
        raise ValueError(f"amount {value!r} is negative")
    return number * unit, (found.pop() if found else currency)


def parse_amount_wan(text: object) -> tuple[float, str]:
    """Parse an amount such as 500, "500万元", "1.2亿元", "5000000元" or "100万美元".

    Returns (value in 万 units, ISO currency code: CNY unless another currency is named).
    Raises ValueError with a human reason for negative or unreadable amounts.
    """
    value, currency = _amount(text, Decimal(1), None)
    return float(value), currency or "CNY"


def _ymd(shown: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"date {shown!r} does not exist") from None


def _date_from_number(value: float, shown: str) -> dt.date:
    """A yyyymmdd number or an Excel (1900 system) serial day number."""
    whole = int(value) if value == value and abs(value) < 1e9 else 0
    if value == whole and 19000101 <= whole <= 29991231:
        return _ymd(shown, whole // 10000, whole // 100 % 100, whole % 100)
    if value == whole and 1000 <= whole <= 2999:
        raise ValueError(f"date {shown!r} looks like a year only; give the full date")
    if not 1 <= value < 2958466:
        raise ValueError(f"cannot read date {shown!r} (not a date or Excel date number)")
    return dt.date(1899, 12, 30 if whole >= 61 else 31) + dt.timedelta(days=whole)


def parse_date(value: object) -> dt.date:
    """Parse a date cell, "2015-03-02", "2015/3/2", "2015年3月2日", "20150302" or Excel serial.

    Raises ValueError for unreadable dates, dates before 1900-01-01 and future dates.
    """
    if isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        day = _date_from_number(float(value), _cell_str(value))
    else:
        text = unicodedata.normalize("NFKC", _cell_str(value)).strip()
        if match := _DATE_RE.fullmatch(text):
            day = _ymd(text, int(match[1]), int(match[2]), int(match[3]))
        elif re.fullmatch(r"\d{8}", text):
            day = _ymd(text, int(text[:4]), int(text[4:6]), int(text[6:]))
        elif re.fullmatch(r"\d{4,5}(?:\.\d+)?", text):
            day = _date_from_number(float(text), text)
        else:
            raise ValueError(f"cannot read date {text!r} (expected e.g. 2015-03-02, 2015/3/2, "
                             "2015年3月2日 or 20150302)")
    if day < _MIN_DATE:
        raise ValueError(f"date {day.isoformat()} is before {_MIN_DATE.isoformat()}")
    if day > dt.date.today():
        raise ValueError(f"date {day.isoformat()} is in the future")
    return day


def parse_industry_code(value: object) -> tuple[str, str | None]:
    """Parse a GB/T 4754 code ("C2710", "2710", "C 2710", "27") to (digits, section letter).

    The letter is returned only when given and must match the division. Numeric Excel cells
    that lost a leading zero are padded (510 -> "0510", 5 -> "05").
    """
    text = unicodedata.normalize("NFKC", _cell_str(value)).upper()
    if isinstance(value, int | float) and not isinstance(value, bool) and len(text) in (1, 3):
        text = "0" + text
    text = re.sub(r"[\s.\-]", "", text)
    if (match := re.fullmatch(r"([A-T])?(\d{2,4})", text)) is None:
        raise ValueError(f"industry code {text!r} is not a GB/T 4754 code "
                         "(expected e.g. C2710, 2710 or 27)")
    letter, digits = match[1], match[2]
    if (section := _SECTION_OF.get(int(digits[:2]))) is None:
        raise ValueError(f"industry code {text!r}: division {digits[:2]} does not exist in "
                         "GB/T 4754-2017")
    if letter and letter != section:
        raise ValueError(f"industry code {text!r}: division {digits[:2]} belongs to section "
                         f"{section}, not {letter}")
    return digits, letter


def _cell_str(value: object) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _clean_text(text: str) -> str:
    """Fold whitespace (full-width spaces, newlines) to one space, and none between CJK."""
    text = re.sub(r"\s+", " ", re.sub(r"[\u200b\ufeff]", "", text)).strip()
    return _CJK_GAP.sub("", text)


def _trim(cells: Sequence[object]) -> list[object]:
    out = list(cells)
    while out and not _cell_str(out[-1]).strip():
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
            return _amount("1" + re.sub(r"^单位[:：]?", "", inner.strip()), Decimal(1), None)
        except ValueError:
            continue
    return Decimal(1), None


def _not_table(file: str, data: bytes) -> None:
    """Fail fast on binary content instead of parsing megabytes of it as a header."""
    for magic, what in ((b"PK\x03\x04", "it is a zip archive (an .xlsx workbook? save it as "
                         ".xlsx)"), (b"\xd0\xcf\x11\xe0", "it is a legacy .xls workbook")):
        if data.startswith(magic):
            raise InputError.single(file, f"not a CSV/Excel file: {what}")
    nul = data.find(b"\x00", 0, 1 << 16)
    if nul >= 0 and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError.single(file, f"not a CSV/Excel file: binary content (NUL byte at "
                                      f"offset {nul})")


def _decode_declared(file: str, data: bytes, encoding: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise InputError.single(file, f"unknown text encoding {encoding!r}") from None
    try:
        return data.decode("utf-8-sig" if codec == "utf-8" else codec).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = "; omit --encoding to detect the encoding automatically"
        try:
            data.decode("gb18030")
            hint = ("; it looks like GBK (GB18030): omit --encoding to detect it "
                    "automatically, or pass --encoding gbk")
        except UnicodeDecodeError:
            pass
        label = "UTF-8" if codec == "utf-8" else encoding
        raise InputError.single(file, f"the file is not valid {label} at byte offset "
                                      f"{exc.start} (line {line}){hint}", row=line) from None


def _decode(file: str, data: bytes, encoding: str | None) -> tuple[str, str]:
    """Decode CSV bytes; return the text and the name of the encoding used."""
    if encoding:
        return _decode_declared(file, data, encoding), encoding.lower()
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return _decode_declared(file, data, codec), codec
    for codec in ("utf-8", "gbk", "gb18030"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    if (best := from_bytes(data[: 1 << 20]).best()) is not None:
        try:
            return data.decode(best.encoding), str(best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    raise InputError.single(file, "not a CSV/Excel file: cannot detect the text encoding "
                                  "(neither UTF-8 nor GBK); save it as CSV UTF-8")


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


def _read_csv(file: str, data: bytes, encoding: str | None) -> tuple[_Rows, str]:
    _not_table(file, data)
    text, used = _decode(file, data, encoding)
    head = text[: 1 << 16]
    controls = sum(1 for c in head if (ord(c) < 32 and c not in "\t\n\r\f\v") or c == "\x7f")
    if controls > max(8, len(head) // 100):
        raise InputError.single(file, "not a CSV/Excel file: binary content (control characters)")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        return [(n, _trim(cells)) for n, cells in enumerate(reader, start=1)], used
    except csv.Error as exc:
        raise InputError.single(file, f"not a readable CSV file: {exc} (line {reader.line_num})",
                                row=reader.line_num) from None


def _sheet_rows(ws: Any) -> _Rows:
    """The sheet's rows, with merges spanning a single column filled down."""
    grid = [list(r) for r in ws.iter_rows(min_row=1, values_only=True)]
    for rng in [r for r in ws.merged_cells.ranges if r.min_col == r.max_col]:
        top = ws.cell(rng.min_row, rng.min_col).value
        for cells in grid[rng.min_row:rng.max_row]:
            cells.extend([None] * (rng.min_col - len(cells)))
            cells[rng.min_col - 1] = top
    return [(i, _trim(cells)) for i, cells in enumerate(grid, start=1)]


def _read_xlsx(file: str, data: bytes) -> tuple[_Rows, list[tuple[str, int, int, int]]]:
    """Rows of the first non-empty sheet, and its merges spanning several columns."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        what = ("it is a legacy .xls workbook; save it as .xlsx" if data.startswith(
            b"\xd0\xcf\x11\xe0") else "not a valid .xlsx workbook (not a zip archive)")
        raise InputError.single(file, f"not a CSV/Excel file: {what}")
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise InputError.single(file, f"not a CSV/Excel file: cannot open it as an .xlsx "
                                      f"workbook ({type(exc).__name__}: {exc})") from None
    for ws in book.worksheets:
        rows = _sheet_rows(ws)
        if any(cells for _, cells in rows):
            return rows, [(r.coord, r.min_row, r.max_row, r.min_col)
                          for r in ws.merged_cells.ranges if r.min_col != r.max_col]
    raise InputError.single(file, "no header row: every sheet of the workbook is empty")


def _read_file(file: str, path: Path, encoding: str | None) -> tuple[
        _Rows, str | None, list[tuple[str, int, int, int]]]:
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
        rows, merged = _read_xlsx(file, data)
        return rows, None, merged
    return *_read_csv(file, data, encoding), []


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
    hits = [sum(_header_key(_cell_str(c)) in known for c in cells) for _, cells in rows[:10]]
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
        if col is None or not _cell_str(cell).strip():
            return None
        try:
            return parse(cell, col)
        except ValueError as exc:
            self.errors.append((col.header, str(exc)))
            return None

    def fail(self, name: str, reason: str) -> None:
        self.errors.append((self.cols[name].header, reason))


def _text(value: object, col: _Col) -> str:
    return _clean_text(_cell_str(value))


def _money(value: object, col: _Col) -> tuple[Decimal, str | None]:
    return _amount(value, col.factor, col.currency)


def _currency(value: object, col: _Col) -> str:
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", _cell_str(value))).upper()
    code = dict(_CURRENCY_TOKENS).get(text, text if re.fullmatch(r"[A-Z]{3}", text) else None)
    if code is None:
        raise ValueError(f"unknown currency {text!r} (expected e.g. 人民币, CNY, 美元, USD)")
    return code


def _employees(value: object, col: _Col) -> int:
    text = re.sub(r"[\s,]|[人名位]$", "", unicodedata.normalize("NFKC", _cell_str(value)))
    if re.fullmatch(r"[+-]?\d*\.\d+(?:E[+-]?\d+)?", text, re.IGNORECASE) and not re.fullmatch(
            r"[+-]?\d+\.0*", text):
        raise ValueError(f"employee count {text!r} is not a whole number")
    if not re.fullmatch(r"[+-]?\d+(?:\.0*)?", text):
        raise ValueError(f"cannot read employee count {text!r} (expected e.g. 120 or 1,200人)")
    if (count := int(Decimal(text))) < 0:
        raise ValueError(f"employee count {text!r} is negative")
    return count


def _parse_row(cols: dict[str, _Col], number: int, cells: list[object],
               raw: dict[str, str]) -> tuple[RosterRecord | None, _Errors, str | None]:
    r = _RowReader(cols, cells)
    if not (name := r.get("name", _text)) and not r.errors:
        r.fail("name", "company name is empty")
    code = r.get("industry_code", lambda v, c: parse_industry_code(v))
    capital, currency = r.get("registered_capital", _money), r.get("capital_currency", _currency)
    if capital and capital[1] and currency and capital[1] != currency:
        r.fail("registered_capital", f"amount is in {capital[1]} but the currency column "
                                     f"says {currency}")
    if (revenue := r.get("revenue", _money)) and revenue[1] not in (None, "CNY"):
        r.fail("revenue", f"revenue must be in 人民币 (CNY), not {revenue[1]}")
    uscc, setup = r.get("uscc", lambda v, c: _normalise_uscc(v)), r.get(
        "setup_date", lambda v, c: parse_date(v))
    employees, address = r.get("employees", _employees), r.get("address", _text)
    scope = r.get("business_scope", _text)
    if r.errors or not name:
        return None, r.errors, uscc
    return RosterRecord(
        number, name, uscc, address or None, code[0] if code else None,
        code[1] if code else None, scope or None,
        float(capital[0]) if capital else None,
        (capital[1] or currency or "CNY") if capital else None, setup,
        float(revenue[0]) if revenue else None, employees, None, None, raw), [], uscc


def _parse_rows(file: str, keys: list[str], cols: dict[str, _Col], rows: _Rows, is_csv: bool,
                ) -> tuple[list[RosterRecord], list[Problem], dict[int, dict[str, str]]]:
    records: list[RosterRecord] = []
    problems: list[Problem] = []
    rejected: dict[int, dict[str, str]] = {}
    seen: dict[str, int] = {}
    for number, cells in rows:
        raw = {key: _cell_str(cells[i]) if i < len(cells) else "" for i, key in enumerate(keys)}
        raw |= {f"(column {i + 1})": _cell_str(c) for i, c in enumerate(cells) if i >= len(keys)}
        record, errors, uscc = _parse_row(cols, number, cells, raw)
        if is_csv and len(cells) > len(keys):
            errors.append((None, f"row has {len(cells)} cells but the header has {len(keys)}: "
                                 "a value probably contains an unquoted delimiter (extra "
                                 f"values: {', '.join(map(_cell_str, cells[len(keys):]))})"))
        if uscc in seen:
            errors.append((cols["uscc"].header, f"duplicate unified social credit code {uscc}: "
                                                f"already used on row {seen[uscc]}"))
        elif uscc:
            seen[uscc] = number
        problems += [Problem(file, number, name, reason) for name, reason in errors]
        if errors:
            rejected[number] = raw
        elif record:
            records.append(record)
    return records, problems, rejected


def _locate(records: list[RosterRecord]) -> list[RosterRecord]:
    """Geocode all records in one batch: by address, or by name when that says more."""
    found = locate_texts([r.address for r in records] + [r.name for r in records])
    out = []
    for record, by_address, by_name in zip(records, found, found[len(records):], strict=False):
        hit = by_address or by_name
        if by_address and by_name and by_name.adcode != by_address.adcode and (
                by_name.adcode.startswith(by_address.adcode.rstrip("0"))):
            hit = by_name  # e.g. address names only the province, the name its city
        out.append(replace(record, adcode=hit.adcode, location_level=hit.level)
                   if hit else record)
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
    table, encoding_used, merged = _read_file(file, path, encoding)
    rows = [(n, cells) for n, cells in table if cells]
    if not rows:
        raise InputError.single(file, "no header row: the file has no non-empty rows")
    start = _find_header(rows, set(_alias_index()) | set(user_map))
    header_row, headers = rows[start][0], [_clean_text(_cell_str(c)) for c in rows[start][1]]
    if problems := [Problem(file, header_row, headers[col - 1] if col <= len(headers) else None,
                            f"header cells {coord} are merged across several columns; unmerge "
                            "them so that every column has its own header")
                    for coord, low, high, col in merged if low <= header_row <= high]:
        raise InputError(problems)
    cols = _resolve_columns(file, header_row, headers, user_map)
    if len(rows) == start + 1:
        raise InputError.single(file, f"no data rows under the header (row {header_row})",
                                row=header_row)
    keys = [h or f"(column {i + 1})" for i, h in enumerate(headers)]
    keys = [k if k not in keys[:i] else f"{k} (column {i + 1})" for i, k in enumerate(keys)]
    records, problems, rejected = _parse_rows(file, keys, cols, rows[start + 1:],
                                              path.suffix.lower() != ".xlsx")
    return RosterParse(file, encoding_used, {k: c.header for k, c in cols.items()},
                       _locate(records) if geocode and records else records, problems,
                       list(rejected), keys, rejected, header_row)


def _write_table(path: Path, headers: list[str], rows: list[list[object]]) -> None:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows([headers, *([
                (repr(v) if isinstance(v, float) and not v.is_integer() else _cell_str(v))
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
    """Write records as .xlsx or .csv (UTF-8 with BOM) under the canonical Chinese headers."""
    rows = [[(record.industry_section or "") + record.industry_code  # e.g. C2710
             if name == "industry_code" and record.industry_code else getattr(record, name)
             for name, _ in _EXPORT] for record in records]
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
