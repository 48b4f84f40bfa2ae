"""Read enterprise-registry files into normalised rows, counting every quirk.

Each file (``<year>/<province>.csv``) is UTF-8 with the header :data:`HEADER`. The quirks,
all handled here and reported as :class:`~chainatlas.sources.staging.Issue` rows (file,
line, field, kind, action), never fixed by editing the data:

- ``N/A`` (and ``-``, ``—``, ``无``, empty) is a missing value in every column.
- Rows whose text was GBK that upstream decoded as UTF-8 carry U+FFFD replacement
  characters: the original text is lost, so the row is rejected (``garbled_text``).
- Rows with 9, 11 or 13 fields (unquoted commas, broken quoting) and 10-field rows whose
  fields are shifted (a date that is not a date, a province that is not a province) are
  rejected as ``broken_row`` / ``shifted_fields``: guessing which field is which would
  invent data.
- Registered capital in any shape (``300(万元人民币)``, ``18(万美元)``, ``4,180(万元)``,
  ``（万元）``): amount in 万 of the named currency, the currency, and a CNY figure
  (:func:`chainatlas.sources.roster_values.cny_wan`).
- Codes: an 18-character USCC with a valid check digit is the firm's key; one failing the
  check is kept but flagged (``uscc_check``); a 15-digit code is an old registration
  number (``registration_no``); anything else is flagged and not used as a key.
- The same code twice: an identical repeat is merged (``duplicate_row``); a different
  firm under the same code keeps the first and rejects the others (``duplicate_code``).
- Names with spaces inside (``唐山市 丰南区…``) are folded where the space sits between
  Chinese characters; branch offices (分公司, 分支机构, …) are flagged with the parent's
  name where the name shows it; individual businesses (个体工商户, USCC class 92) are
  flagged.
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
from decimal import Decimal
from typing import Any

from chainatlas.sources.registry_files import PROVINCES
from chainatlas.sources.roster_values import (
    cny_wan,
    normalise_uscc,
    parse_amount,
    parse_date,
    uscc_check_digit,
)
from chainatlas.sources.staging import Issue, fold_name

HEADER = ("企业名称", "统一社会信用代码", "注册日期", "企业类型", "法人代表", "注册资金",
          "经营范围", "所在省份", "地区", "注册地址")
FIELDS = ("name", "code", "date", "type", "legal_rep", "capital", "scope", "province",
          "city", "address")
MISSING = frozenset({"", "N/A", "n/a", "NA", "-", "—", "--", "无", "null", "NULL"})
_CJK_SPACE = re.compile(r"(?<=[\u4e00-\u9fff）)])\s+(?=[\u4e00-\u9fff（(])")
_BRANCH = re.compile(r"(分公司|分支机构|分厂|分店|营业部|办事处)")
_PARENT = re.compile(r"^(.+?(?:有限责任公司|股份有限公司|有限公司|集团公司|公司|厂))"
                     r"(?=.*(?:分公司|分支机构|分厂|分店|营业部|办事处))")
_INDIVIDUAL_TYPES = ("个体",)
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")


@dataclass
class RegistryRows:
    """Normalised rows of one or more registry files, and what was done to the rest."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    read: int = 0


def missing(value: str) -> str | None:
    """The value, or None when it is one of the registry's missing-value markers."""
    text = value.strip()
    return None if text in MISSING else text


def fold_registry_name(raw: str) -> str:
    """Fold a registry name as every name is folded (:func:`staging.fold_name`), then drop
    the spaces registry names carry between Chinese characters (唐山市 丰南区…)."""
    return _CJK_SPACE.sub("", fold_name(raw) or "")


def parent_name(name: str) -> str | None:
    """The parent firm a branch's name shows (``XX有限公司石家庄分公司`` -> ``XX有限公司``)."""
    match = _PARENT.match(name)
    return match.group(1) if match and match.group(1) != name else None


def company_key(code: str | None, registration_no: str | None, name: str,
                province: str) -> str:
    """The store id of a registry firm: ``R`` + USCC, else + registration number, else a
    hash of name and province (stable across builds)."""
    if code:
        return "R" + code
    if registration_no:
        return "R" + registration_no
    digest = hashlib.sha1(f"{province}|{name}".encode()).hexdigest()[:16]
    return "RH" + digest


def _code(raw: str | None, line: int) -> tuple[str | None, str | None, Issue | None]:
    """(USCC, registration number, issue) of a code cell."""
    if raw is None:
        return None, None, None
    text = re.sub(r"\s+", "", raw).upper()
    if re.fullmatch(r"\d{15}", text):
        return None, text, None
    if _USCC_SHAPE.fullmatch(text) and uscc_check_digit(text[:17]) == text[17]:
        return text, None, None
    if len(text) == 18:
        try:
            return normalise_uscc(text), None, None
        except ValueError as exc:
            if re.fullmatch(r"[0-9A-Z]{18}", text):
                return text, None, Issue(line, "code", "uscc_check", "kept, flagged",
                                         str(exc))
    return None, None, Issue(line, "code", "bad_code", "not used as key",
                             f"code {raw[:40]!r} is neither a USCC nor a 15-digit number")


@functools.lru_cache(maxsize=65536)
def capital_from_text(raw: str) -> tuple[float, str, float | None] | str:
    """(amount in 万, currency, 万 CNY) of a capital cell, or the reason it cannot be read.

    Cached: the registry repeats a few thousand shapes a million times.
    """
    try:
        amount, currency = parse_amount(raw, Decimal(1), "CNY")
    except ValueError as exc:
        return str(exc)
    code = currency or "CNY"
    return float(amount), code, cny_wan(amount, code)


@functools.lru_cache(maxsize=65536)
def _date(raw: str) -> dt.date | str:
    try:
        return parse_date(raw)
    except ValueError as exc:
        return str(exc)


def _capital(raw: str | None, line: int) -> tuple[dict[str, Any], Issue | None]:
    parsed = None if raw is None else capital_from_text(raw)
    if parsed is None or isinstance(parsed, str):
        issue = None if parsed is None else Issue(line, "capital", "bad_capital",
                                                  "set missing", parsed)
        return {"capital_amount": None, "capital_currency": None,
                "registered_capital": None}, issue
    amount, currency, cny = parsed
    return {"capital_amount": amount, "capital_currency": currency,
            "registered_capital": cny}, None


def _validate(cells: list[str], line: int) -> Issue | None:
    """Why a 10-field row cannot be read as the header says (None when it can)."""
    if any("\ufffd" in c for c in cells):
        return Issue(line, None, "garbled_text", "rejected",
                     "GBK text decoded as UTF-8 upstream (U+FFFD): the original is lost")
    province = missing(cells[7])
    if province is not None and province not in PROVINCES:
        return Issue(line, "province", "shifted_fields", "rejected",
                     f"所在省份 holds {province[:30]!r}: fields are shifted")
    date = missing(cells[2])
    if date is not None and not re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}.*", date):
        return Issue(line, "date", "shifted_fields", "rejected",
                     f"注册日期 holds {date[:30]!r}: fields are shifted")
    if missing(cells[0]) is None:
        return Issue(line, "name", "no_name", "rejected", "the firm has no name")
    return None


def _row(cells: list[str], line: int, file: str, issues: list[Issue]) -> dict[str, Any]:
    raw = {k: missing(v) for k, v in zip(FIELDS, cells, strict=True)}
    name = fold_registry_name(str(raw["name"]))
    uscc, reg_no, problem = _code(raw["code"], line)
    if problem:
        issues.append(problem)
    capital, problem = _capital(raw["capital"], line)
    if problem:
        issues.append(problem)
    setup = _date(raw["date"]) if raw["date"] else None
    if isinstance(setup, str):
        issues.append(Issue(line, "date", "bad_date", "set missing", setup))
        setup = None
    kind = raw["type"] or ""
    branch = bool(_BRANCH.search(name)) or "分支" in kind or kind == "分公司"
    return {
        "company_id": company_key(uscc, reg_no, name, raw["province"] or ""),
        "full_name": name, "uscc": uscc, "registration_no": reg_no, "setup_date": setup,
        "enterprise_type": raw["type"], "legal_rep": raw["legal_rep"], **capital,
        "business_scope": raw["scope"], "province_name": raw["province"],
        "city_name": raw["city"], "address": raw["address"], "is_branch": branch,
        "parent_name": parent_name(name) if branch else None,
        "is_individual": kind.startswith(_INDIVIDUAL_TYPES) or (uscc or "").startswith("92"),
        "file": file, "line": line}


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    for cells in reader:
        yield reader.line_num, cells


def parse_registry_text(text: str, file: str, out: RegistryRows | None = None) -> RegistryRows:
    """Normalise one file's text; rows and issues are appended to ``out``.

    Raises ValueError when the header is not the registry's (the caller reports the file
    and goes on with the others).
    """
    out = out if out is not None else RegistryRows()
    records = _records(text)
    first = next(records, None)
    header = tuple(c.strip().lstrip("\ufeff") for c in first[1]) if first else ()
    if header != HEADER:
        raise ValueError(f"header is {','.join(header)[:120]!r}, expected {','.join(HEADER)}")
    for line, cells in records:
        out.read += 1
        if len(cells) != len(HEADER):
            out.issues.append(Issue(line, None, "broken_row", "rejected",
                                    f"{len(cells)} fields instead of {len(HEADER)}"))
            continue
        problem = _validate(cells, line)
        if problem:
            out.issues.append(problem)
            continue
        out.rows.append(_row(cells, line, file, out.issues))
    return out


def dedupe(rows: list[dict[str, Any]], issues_by_file: dict[str, list[Issue]]
           ) -> list[dict[str, Any]]:
    """Keep one row per company id: identical repeats merge, other firms on a taken code
    are rejected; each is reported in the file it came from."""
    kept: dict[str, dict[str, Any]] = {}
    for row in rows:
        first = kept.get(row["company_id"])
        if first is None:
            kept[row["company_id"]] = row
            continue
        same = first["full_name"] == row["full_name"]
        issues_by_file.setdefault(row["file"], []).append(Issue(
            row["line"], "code", "duplicate_row" if same else "duplicate_code",
            "merged" if same else "rejected",
            f"{row['company_id'][1:]} already read at {first['file']}:{first['line']}"
            + ("" if same else f" for {first['full_name']}")))
    return list(kept.values())
