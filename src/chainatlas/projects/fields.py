"""The fields of a project: what each holds, and how a value given for it is cleaned.

One catalogue (:data:`FIELDS`) serves the ledger's writes, the Excel import (whose header
aliases map onto these names), the API and the pages. Amounts are 万元 held as exact
decimals; a text amount may name its unit ("1.2亿元", "500万元", "3000000元") and is
converted exactly. The four amounts are different things and never stand in for each
other: agreed (协议投资额), planned this year (年度计划投资), completed (累计完成投资) and
funds in place (到位资金).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chainatlas.errors import NotFoundError, ParameterError
from chainatlas.sources.roster_values import cell_str, parse_amount, parse_date
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, as_region, chain_from_text


@dataclass(frozen=True)
class Field:
    """One project field: its stored name, kind and Chinese label."""

    name: str
    kind: str  # text, amount, date, planned_date, region, chain, node, firm, code
    label: str


FIELDS: tuple[Field, ...] = (
    Field("code", "code", "项目代码"),
    Field("name", "text", "项目名称"),
    Field("investor_name", "text", "投资方"),
    Field("investor_company_id", "firm", "投资方企业编号"),
    Field("region_adcode", "region", "所在地区"),
    Field("park", "text", "所在园区"),
    Field("chain_id", "chain", "产业链"),
    Field("node_id", "node", "产业链环节"),
    Field("agreed_wan", "amount", "协议投资额(万元)"),
    Field("planned_year_wan", "amount", "年度计划投资(万元)"),
    Field("completed_wan", "amount", "累计完成投资(万元)"),
    Field("in_place_wan", "amount", "到位资金(万元)"),
    Field("owner", "text", "责任人"),
    Field("lead_date", "date", "获取线索日期"),
    Field("signed_date", "date", "签约日期"),
    Field("planned_start_date", "planned_date", "计划开工日期"),
    Field("started_date", "date", "开工日期"),
    Field("planned_production_date", "planned_date", "计划投产日期"),
    Field("production_date", "date", "投产日期"),
    Field("note", "text", "备注"),
    Field("reasons", "text", "推荐理由"),
)
BY_NAME = {f.name: f for f in FIELDS}
#: The fields of a project's state, changed only by moves, pauses and ends.
STATE_FIELDS = ("stage", "stage_since", "paused", "ended")
#: Every column an event can change (what replaying the events rebuilds).
EVENT_FIELDS = tuple(f.name for f in FIELDS) + STATE_FIELDS + ("origin",)
AMOUNTS = tuple(f.name for f in FIELDS if f.kind == "amount")
_MONTH_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:份)?")
_YEAR_RE = re.compile(r"(\d{4})\s*年?(?:底|末)?")
#: The stage whose date field a move fills in when the date is not yet set.
STAGE_DATES = {"lead": "lead_date", "signed": "signed_date", "started": "started_date",
               "producing": "production_date"}


def clean_amount(value: object) -> Decimal | None:
    """An amount in 万元 (a number is taken as 万元; a text may name 元, 万元 or 亿元)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Decimal):
        number, currency = value, None
    else:
        number, currency = parse_amount(value, Decimal(1), None)
    if currency not in (None, "CNY"):
        raise ValueError(f"amount {value!r} is in {currency}: the ledger keeps 万元 (CNY)")
    if number < 0:
        raise ValueError(f"amount {value!r} is negative")
    return number.quantize(Decimal("0.0001"))


def _month(value: object, text: str, planned: bool) -> dt.date | None:
    """The first of the month a text names alone (2025年6月, 2024.03), or None."""
    match = None if isinstance(value, dt.date) else _MONTH_RE.fullmatch(text)
    if match is None or not 1 <= int(match[2]) <= 12 or not 1900 < int(match[1]) < 2200:
        return None
    day = dt.date(int(match[1]), int(match[2]), 1)
    if not planned and day > dt.date.today():
        raise ValueError(f"date {text!r} is in the future")
    return day


def clean_date(value: object, *, planned: bool = False,
               months: bool | None = None) -> dt.date | None:
    """A date in any common form; a planned date may be in the future and may name only a
    month (2025年6月 → 2025-06-01) or a year-end (2025年底 → 2025-12-31). ``months``
    (default: for planned dates) reads a month alone as its first day; it is read before
    the number forms, so 2024.03 is March 2024, not an Excel serial day."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = unicodedata.normalize("NFKC", cell_str(value)).strip()
    if (planned if months is None else months) and (day := _month(value, text, planned)):
        return day
    try:
        return parse_date(value, allow_future=planned)
    except ValueError:
        if planned and (match := _YEAR_RE.fullmatch(text)) and 1900 < int(match[1]) < 2200:
            return dt.date(int(match[1]), 12, 31)
        raise


def node_from_text(chain: Chain, text: str) -> str:
    """A node of ``chain`` by id or name; a sheet's short name (疫苗 for 人用疫苗) is taken
    when exactly one node's name contains it (the most general such node, else refused)."""
    try:
        return chain.node(text).node_id
    except NotFoundError:
        hits = [n for n in chain.nodes if text in n.name_zh]
        if not hits:
            raise
    top = min(n.level for n in hits)
    best = [n for n in hits if n.level == top]
    if len(best) > 1:
        names = "、".join(n.name_zh for n in best[:6])
        raise NotFoundError(f"{text!r} names several nodes of {chain.name_zh}: {names}.")
    return best[0].node_id


def _clean_text(value: object) -> str | None:
    text = unicodedata.normalize("NFKC", cell_str(value)).strip() if value is not None else ""
    return re.sub(r"\s+", " ", text) or None


def _clean_firm(db: Database, value: object) -> str | None:
    text = _clean_text(value)
    if text is None:
        return None
    if not db.scalar("SELECT count(*) FROM companies WHERE company_id = ?", [text]):
        raise ValueError(f"no firm with the id {text!r} in the store")
    return text


def clean_value(db: Database, name: str, value: object,
                context: Mapping[str, Any] | None = None) -> Any:
    """The stored form of ``value`` for field ``name``; ValueError saying what is wrong.

    ``context`` holds the other fields of the project (a node is looked up in its chain).
    """
    kind = BY_NAME[name].kind
    if kind == "amount":
        return clean_amount(value)
    if kind in ("date", "planned_date"):
        return clean_date(value, planned=kind == "planned_date")
    text = _clean_text(value)
    if text is None or kind in ("text", "code"):
        return text
    try:
        if kind == "region":
            return as_region(db, text).adcode
        if kind == "chain":
            return chain_from_text(db, text).chain_id
        if kind == "node":
            chain_id = (context or {}).get("chain_id")
            if not chain_id:
                raise ValueError("a chain node needs the project's chain (产业链)")
            return node_from_text(chain_from_text(db, str(chain_id)), text)
    except NotFoundError as exc:
        raise ValueError(str(exc)) from None
    return _clean_firm(db, value)


def clean_fields(db: Database, raw: Mapping[str, object],
                 context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every given field cleaned; a ParameterError naming each bad field and why."""
    unknown = sorted(set(raw) - set(BY_NAME))
    if unknown:
        raise ParameterError(f"Unknown project field(s): {', '.join(unknown)}; use "
                             f"{', '.join(BY_NAME)}.")
    merged: dict[str, Any] = dict(context or {})
    cleaned: dict[str, Any] = {}
    problems: list[str] = []
    # The chain first: a node is read within it.
    for name in sorted(raw, key=lambda n: n == "node_id"):
        try:
            cleaned[name] = clean_value(db, name, raw[name], merged)
        except ValueError as exc:
            problems.append(f"{BY_NAME[name].label} ({name}): {exc}")
            continue
        merged[name] = cleaned[name]
    if problems:
        raise ParameterError("; ".join(problems))
    return cleaned


def encode(value: Any) -> Any:
    """A field value as an event stores it in JSON (decimals and dates as text)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def decode(name: str, value: Any) -> Any:
    """The field value an event's JSON holds, as the projects row stores it."""
    if value is None:
        return None
    kind = BY_NAME[name].kind if name in BY_NAME else name
    if kind == "amount":
        return Decimal(str(value)).quantize(Decimal("0.0001"))
    if kind in ("date", "planned_date", "stage_since"):
        return dt.date.fromisoformat(str(value))
    return value


def changes_json(changes: Mapping[str, tuple[Any, Any]]) -> str:
    """An event's ``changes`` column: {field: [from, to]} in JSON."""
    return json.dumps({k: [encode(a), encode(b)] for k, (a, b) in changes.items()},
                      ensure_ascii=False, sort_keys=True)


def same(left: Any, right: Any) -> bool:
    """Whether two field values are equal as stored (a Decimal 1.0 equals 1.0000)."""
    return encode(left) == encode(right) if left is not None and right is not None \
        else left is None and right is None
