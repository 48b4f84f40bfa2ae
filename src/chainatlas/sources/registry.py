"""Read enterprise-registry files into normalised rows, counting every quirk.

Each file (``<year>/<province>.csv``) is UTF-8 with the header :data:`HEADER`. Values are
read by the parsers the roster reader uses too (:mod:`chainatlas.sources.roster_values`:
one set of rules). The quirks, all handled here and reported as
:class:`~chainatlas.sources.staging.Issue` rows (file, line, field, kind, action), never
fixed by editing the data:

- ``N/A`` (and ``-``, ``—``, ``无``, empty) is a missing value in every column; so is a
  capital with its unit and no figure (``万人民币``).
- Rows whose text was GBK that upstream decoded as UTF-8 carry U+FFFD replacement
  characters, and one row holds NUL bytes for a name: the original text is lost, so the
  row is rejected (``garbled_text``).
- Rows with 9, 11 or 13 fields (unquoted commas, broken quoting) and 10-field rows whose
  fields are shifted (a date that is not a date, a province that is not a province, a
  capital that is a person's name or a scope) are rejected as ``broken_row`` /
  ``shifted_fields``: guessing which field is which would invent data.
- Registered capital in any shape (``300(万元人民币)``, ``18(万美元)``, ``4,180(万元)``,
  ``（万元）``, ``50(万元人民币元)``): amount in 万 of the named currency, the currency, and
  a CNY figure (:func:`chainatlas.sources.roster_values.cny_wan`).
- Codes: an 18-character USCC with a valid check digit is the firm's key; one failing the
  check is kept but flagged (``uscc_check``). Older registration numbers (15 or 13 digits,
  企合…字第… certificates, organization codes) are kept as ``registration_no``; only a
  15-digit one is a key (``R`` + number), so store ids stay what they were before the
  shorter numbers were read. Anything else is flagged and not used (``bad_code``).
- The same code twice: an identical repeat is merged (``duplicate_row``); a different
  firm under the same code keeps the first and rejects the others (``duplicate_code``).
- Names with spaces inside (``唐山市 丰南区…``) are folded (``name_folded``, one issue per
  name, so ``stats`` counts them); branch offices (分公司, 分支机构, …) are flagged with the
  parent's name where the name shows it; individual businesses (个体工商户, USCC class 92)
  are flagged.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chainatlas.sources.roster_values import (
    MISSING,
    CodeError,
    OutOfRange,
    clean_name,
    firm_kind,
    garbled,
    parent_name,
    parse_capital,
    parse_code,
    parse_date,
    parse_province,
    text_value,
)
from chainatlas.sources.staging import Issue

__all__ = ["FIELDS", "HEADER", "MISSING", "RegistryRows", "capital_from_text", "company_key",
           "dedupe", "fold_registry_name", "missing", "parent_name", "parse_registry_text"]

HEADER = ("企业名称", "统一社会信用代码", "注册日期", "企业类型", "法人代表", "注册资金",
          "经营范围", "所在省份", "地区", "注册地址")
FIELDS = ("name", "code", "date", "type", "legal_rep", "capital", "scope", "province",
          "city", "address")
_DATE_SHAPE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}.*")


@dataclass
class RegistryRows:
    """Normalised rows of one or more registry files, and what was done to the rest."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    read: int = 0


def missing(value: str) -> str | None:
    """The value (whitespace folded), or None when it is a missing-value marker."""
    return text_value(value)


def fold_registry_name(raw: str) -> str:
    """Fold a registry name as every firm name is folded
    (:func:`~chainatlas.sources.roster_values.clean_name`)."""
    return clean_name(raw)


def company_key(code: str | None, registration_no: str | None, name: str,
                province: str) -> str:
    """The store id of a registry firm: ``R`` + USCC, else + 15-digit registration number,
    else a hash of name and province (stable across builds)."""
    if code:
        return "R" + code
    if registration_no and len(registration_no) == 15 and registration_no.isdigit():
        return "R" + registration_no
    digest = hashlib.sha1(f"{province}|{name}".encode()).hexdigest()[:16]
    return "RH" + digest


def _code(raw: str | None, line: int) -> tuple[str | None, str | None, Issue | None]:
    """(USCC, registration number, issue) of a code cell."""
    if raw is None:
        return None, None, None
    try:
        code = parse_code(raw)
    except CodeError as exc:
        if exc.kind == "uscc_check":
            return exc.code, None, Issue(line, "code", "uscc_check", "kept, flagged", str(exc))
        if exc.kind == "regno_check":
            return None, exc.code, Issue(line, "code", "regno_check", "kept, flagged",
                                         str(exc))
        return None, None, Issue(line, "code", "bad_code", "not used as key",
                                 f"code {raw[:40]!r} is neither a USCC nor a registration "
                                 "number")
    return code.uscc, code.registration_no, None


@functools.lru_cache(maxsize=65536)
def capital_from_text(raw: str) -> tuple[float, str, float | None] | str | None:
    """(amount in 万, currency, 万 CNY) of a capital cell, None when it is missing, or the
    reason it cannot be read.

    Cached: the registry repeats a few thousand shapes a million times.
    """
    try:
        capital = parse_capital(raw)
    except OutOfRange:
        return None  # a figure, but no firm's: set missing (see _row's capital_range)
    except ValueError as exc:
        return str(exc)
    return None if capital is None else (capital.amount, capital.currency, capital.cny)


@functools.lru_cache(maxsize=1024)
def capital_out_of_range(raw: str) -> str | None:
    """The reason a readable capital is no firm's (200,0000000(万)), else None."""
    try:
        parse_capital(raw)
    except OutOfRange as exc:
        return str(exc)
    except ValueError:
        return None
    return None


@functools.lru_cache(maxsize=65536)
def _date(raw: str) -> dt.date | str:
    try:
        return parse_date(raw)
    except ValueError as exc:
        return str(exc)


@functools.lru_cache(maxsize=256)
def _province(raw: str) -> str | None:
    try:
        return parse_province(raw)
    except ValueError:
        return None


def _validate(cells: list[str], line: int) -> Issue | None:
    """Why a 10-field row cannot be read as the header says (None when it can)."""
    if lost := garbled(cells):
        return Issue(line, None, "garbled_text", "rejected", lost)
    province = missing(cells[7])
    if province is not None and _province(province) is None:
        return Issue(line, "province", "shifted_fields", "rejected",
                     f"所在省份 holds {province[:30]!r}: fields are shifted")
    date = missing(cells[2])
    if date is not None and not _DATE_SHAPE.fullmatch(date):
        return Issue(line, "date", "shifted_fields", "rejected",
                     f"注册日期 holds {date[:30]!r}: fields are shifted")
    capital = missing(cells[5])
    if capital is not None and isinstance(capital_from_text(capital), str):
        return Issue(line, "capital", "shifted_fields", "rejected",
                     f"注册资金 holds {capital[:30]!r}: fields are shifted")
    if not fold_registry_name(cells[0]) or missing(cells[0]) is None:
        return Issue(line, "name", "no_name", "rejected", "the firm has no name")
    return None


#: Registered capital at or above 1,000 亿元 (in 万元 CNY) is, outside the central state
#: firms, 元 typed into the 万元 column: on the mirror 168 registry rows reach it, e.g. a
#: Wuhan property developer at 5,000 亿元 and a county forestry firm at 500 亿元, while the
#: real ones are 中国联合网络通信集团 (1,065 亿) and 中国工商银行 (3,493 亿).
YUAN_SLIP_WAN = 1e7
_CENTRAL_FIRMS = ("中国", "国家", "国网")


#: From 100 亿元 up, a real capital is a large firm's. A local firm (its name opens with
#: its own city, a city or county name ending in 市/县/区/旗, or carries its city in
#: brackets) whose name shows no group, holding, finance, utility or resources business
#: (:data:`LARGE_FIRM_WORDS`) and whose capital is a whole number of 亿元 (a whole 万元
#: figure typed in 元) is the same slip: on the mirror 109 rows, all in Hubei (a county
#: timber firm at 150 亿, a packaging firm at 800 亿), and none of the band's large firms
#: (上汽大众 at 115 亿, 大庆油田 at 475 亿, the Hubei grid at 326 亿).
LOCAL_SLIP_WAN = 1e6
LARGE_FIRM_WORDS = ("集团", "控股", "投资", "银行", "保险", "证券", "信托", "金融", "财务",
                    "资产", "资本", "国有", "电网", "电力有限", "电力公司", "电力股份", "发电",
                    "核电", "水电", "石油", "石化", "油田", "铁路", "航空", "机场", "能源",
                    "矿业", "钢铁", "总公司", "高速", "城投", "房地产")
_MUNICIPALITIES = ("北京", "上海", "天津", "重庆")  # their 市 is a province's
_LOCAL_PREFIX = re.compile(r"^[\u4e00-\u9fff]{1,4}?[市县区旗]")


def yuan_slip(name: str, cny_wan: float | None) -> bool:
    """Whether a registry capital is 元 written as 万元 (see :data:`YUAN_SLIP_WAN`)."""
    return cny_wan is not None and cny_wan >= YUAN_SLIP_WAN and not name.startswith(
        _CENTRAL_FIRMS)


def local_yuan_slip(name: str, city: str | None, amount: float | None, currency: str | None,
                    cny_wan: float | None) -> bool:
    """Whether a capital in [100 亿, 1,000 亿) is a local firm's 元 written as 万元 (see
    :data:`LOCAL_SLIP_WAN`)."""
    if (cny_wan is None or amount is None or currency != "CNY"
            or not LOCAL_SLIP_WAN <= cny_wan < YUAN_SLIP_WAN):
        return False
    if amount != round(amount) or round(amount) % 10_000 or name.startswith(_CENTRAL_FIRMS):
        return False
    return not any(w in name for w in LARGE_FIRM_WORDS) and local_name(name, city)


def local_name(name: str, city: str | None) -> bool:
    """Whether a firm's name places it below a province: it opens with its own city (the
    registry's 地区) or a city or county name (…市, …县), or names its city in brackets."""
    place = (city or "").removesuffix("市")
    if place and (name.startswith(place) or f"({place})" in name or f"（{place}）" in name):
        return True
    return bool(_LOCAL_PREFIX.match(name)) and not name.startswith(_MUNICIPALITIES)


def _yuan_slips(name: str, raw: dict[str, Any], amount: float, currency: str | None,
                cny: float, line: int, issues: list[Issue]) -> tuple[float, float]:
    """The capital with 元 typed as 万元 divided back (:data:`YUAN_SLIP_WAN`,
    :data:`LOCAL_SLIP_WAN`), each slip counted as its own issue kind."""
    if yuan_slip(name, cny):
        issues.append(Issue(line, "capital", "capital_in_yuan", "divided by 10,000",
                            f"{raw['capital']!r} is {cny / 1e4:,.0f} 亿元: 元 read as 万元"))
    elif local_yuan_slip(name, raw["city"], amount, currency, cny):
        issues.append(Issue(line, "capital", "capital_in_yuan_local", "divided by 10,000",
                            f"{raw['capital']!r} is {cny / 1e4:,.0f} 亿元 for a local firm: "
                            "元 read as 万元"))
    else:
        return amount, cny
    return amount / 1e4, cny / 1e4


def _row(cells: list[str], line: int, file: str, issues: list[Issue]) -> dict[str, Any]:
    raw = {k: text_value(v) for k, v in zip(FIELDS, cells, strict=True)}
    name = fold_registry_name(cells[0])
    if name != cells[0].strip():
        issues.append(Issue(line, "name", "name_folded", "folded",
                            f"{cells[0].strip()[:40]!r} stored as {name[:40]!r}"))
    uscc, reg_no, problem = _code(raw["code"], line)
    if problem:
        issues.append(problem)
    parsed = None if raw["capital"] is None else capital_from_text(raw["capital"])
    if parsed is None and raw["capital"] is not None and (
            reason := capital_out_of_range(raw["capital"])):
        issues.append(Issue(line, "capital", "capital_range", "set missing", reason))
    amount, currency, cny = parsed if isinstance(parsed, tuple) else (None, None, None)
    if amount is not None and cny is not None:
        amount, cny = _yuan_slips(name, raw, amount, currency, cny, line, issues)
    setup = _date(raw["date"]) if raw["date"] else None
    if isinstance(setup, str):
        issues.append(Issue(line, "date", "bad_date", "set missing", setup))
        setup = None
    kind = firm_kind(name, raw["type"], uscc)
    province = _province(raw["province"]) if raw["province"] else None
    return {
        "company_id": company_key(uscc, reg_no, name, province or ""),
        "full_name": name, "uscc": uscc, "registration_no": reg_no, "setup_date": setup,
        "enterprise_type": raw["type"], "legal_rep": raw["legal_rep"],
        "capital_amount": amount, "capital_currency": currency, "registered_capital": cny,
        "business_scope": raw["scope"], "province_name": province,
        "city_name": raw["city"], "address": raw["address"], "is_branch": kind.is_branch,
        "parent_name": kind.parent_name, "is_individual": kind.is_individual,
        "file": file, "line": line}


def registry_records(text: str) -> Iterator[tuple[int, list[str] | str]]:
    """(line, cells) of each record, or (line, reason) where the CSV cannot be read there
    (a quote left open swallows lines until a field outgrows the csv limit): reading goes
    on after it, so one broken row never costs the rest of the file."""
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, f"unreadable CSV ({exc})"
            continue
        yield reader.line_num, cells


def parse_registry_text(text: str, file: str, out: RegistryRows | None = None) -> RegistryRows:
    """Normalise one file's text; rows and issues are appended to ``out``.

    Raises ValueError when the header is not the registry's (the caller reports the file
    and goes on with the others).
    """
    out = out if out is not None else RegistryRows()
    records = registry_records(text)
    first = next(records, None)
    header = tuple(c.strip().lstrip("\ufeff") for c in first[1]) if first else ()
    if header != HEADER:
        raise ValueError(f"header is {','.join(header)[:120]!r}, expected {','.join(HEADER)}")
    for line, cells in records:
        out.read += 1
        if isinstance(cells, str) or len(cells) != len(HEADER):
            reason = cells if isinstance(cells, str) else (
                f"{len(cells)} fields instead of {len(HEADER)}")
            out.issues.append(Issue(line, None, "broken_row", "rejected", reason))
            continue
        problem = _validate(cells, line)
        if problem:
            out.issues.append(problem)
            continue
        out.rows.append(_row(cells, line, file, out.issues))
    return out


class Deduper:
    """One row per company id across files read one after another: the first read is
    kept, identical repeats merge and other firms on a taken code are rejected, each
    reported in the file it came from. It remembers only (file, line, name) per id, so a
    whole registry is deduplicated without holding its rows."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, int, str]] = {}

    def keep(self, rows: list[dict[str, Any]], issues_by_file: dict[str, list[Issue]]
             ) -> list[dict[str, Any]]:
        """The rows of ``rows`` whose company id was not read before."""
        out = []
        for row in rows:
            first = self.seen.get(row["company_id"])
            if first is None:
                self.seen[row["company_id"]] = (row["file"], row["line"], row["full_name"])
                out.append(row)
                continue
            same = first[2] == row["full_name"]
            issues_by_file.setdefault(row["file"], []).append(Issue(
                row["line"], "code", "duplicate_row" if same else "duplicate_code",
                "merged" if same else "rejected",
                f"{row['company_id'][1:]} already read at {first[0]}:{first[1]}"
                + ("" if same else f" for {first[2]}")))
        return out


def dedupe(rows: list[dict[str, Any]], issues_by_file: dict[str, list[Issue]]
           ) -> list[dict[str, Any]]:
    """Keep one row per company id (:class:`Deduper` over one list of rows)."""
    return Deduper().keep(rows, issues_by_file)
