"""Shared query pieces: SQL fragments that carry their own bound parameters.

Every value reaches DuckDB as a bound parameter. A fragment (:class:`Q`) holds SQL text
with ``?`` placeholders and the values for them, in order; :func:`compose` fills a query
template's ``{name}`` slots with fragments and concatenates their parameters in the order
the slots appear, so composed queries stay parameterised. Slots accept only fragments:
a plain string (which might hold a value) is refused, and identifiers (table aliases,
columns) are checked against a strict pattern before they become fragments.

The rules that several queries share live here once:

- :func:`founded_by`: a firm counts in an ``--as-of`` view when it was founded or listed
  by that year, whichever came first (``chain_firms.first_year`` stores the same rule);
- :func:`size_order`: firms are ranked by employees, then registered capital;
- :func:`level_column`: the firm column a region level filters on;
- :func:`level_order`: provinces before cities before districts;
- :func:`in_universe`: which firms an analysis counts (listed, registry or all).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: The firm column each region level filters on (companies and chain_firms share them).
LEVEL_COLUMNS = {"province": "province_adcode", "city": "city_adcode",
                 "district": "region_adcode"}
#: Levels in the order a region lookup prefers them.
LEVEL_RANK = {"province": 0, "city": 1, "district": 2}
#: The firm universes an analysis can count, with the Chinese name every output shows.
#: ``all`` is every firm in the store: listed, registry and the user's own roster firms.
UNIVERSES = {"listed": "上市企业", "registry": "工商登记企业", "all": "全部企业"}


@dataclass(frozen=True)
class Q:
    """A SQL fragment and the values of its ``?`` placeholders, in order."""

    text: str
    params: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.text.count("?") != len(self.params):
            raise ValueError(f"fragment {self.text!r} has {self.text.count('?')} "
                             f"placeholders for {len(self.params)} values")


TRUE = Q("true")
FALSE = Q("false")


def ident(name: str) -> Q:
    """An identifier (alias, column, table) as a fragment; refuses anything else."""
    if not _IDENT.match(name):
        raise ValueError(f"not an SQL identifier: {name!r}")
    return Q(name)


def param(value: Any) -> Q:
    """One bound value."""
    return Q("?", (value,))


def values(items: Iterable[Any]) -> Q:
    """A list of values for ``x IN (SELECT unnest({list}))`` or ``list_contains``."""
    return Q("?", (list(items),))


def compose(template: str, **parts: Q) -> Q:
    """Fill ``{name}`` slots of ``template`` with fragments, keeping parameter order.

    ``template`` itself must hold no ``?``: every value comes in through a fragment.
    """
    if "?" in template:
        raise ValueError("compose() templates take values through fragments, not '?'")
    text: list[str] = []
    params: list[Any] = []
    for literal, field, spec, conv in string.Formatter().parse(template):
        text.append(literal)
        if field is None:
            continue
        if spec or conv:
            raise ValueError(f"slot {{{field}}} takes no format spec or conversion")
        part = parts[field]
        if not isinstance(part, Q):
            raise TypeError(f"slot {{{field}}} needs a Q fragment, not {type(part).__name__}")
        text.append(part.text)
        params.extend(part.params)
    return Q("".join(text), tuple(params))


def join(parts: Sequence[Q], sep: str = " AND ") -> Q:
    """Join fragments with a separator (``TRUE`` when there are none)."""
    if not parts:
        return TRUE
    return Q(sep.join(p.text for p in parts), tuple(v for p in parts for v in p.params))


def first_year(alias: str = "c") -> Q:
    """A firm's first year on a ``companies`` row: founded or listed, whichever first."""
    a = ident(alias).text
    return Q(f"least(year({a}.setup_date), year({a}.listing_date))")


def founded_by(as_of: int | None, alias: str = "c") -> Q:
    """Condition on a ``companies`` row: founded or listed by ``as_of`` (true if None)."""
    if as_of is None:
        return TRUE
    return compose("{year} <= {as_of}", year=first_year(alias), as_of=param(int(as_of)))


def first_year_by(as_of: int | None, alias: str = "f") -> Q:
    """Condition on a derived row with a stored ``first_year`` (``chain_firms``)."""
    if as_of is None:
        return TRUE
    return Q(f"{ident(alias).text}.first_year <= ?", (int(as_of),))


def size_order(alias: str = "c") -> Q:
    """ORDER BY terms ranking firms by size: employees, then registered capital.

    Employees first: a listed firm's registered capital is its share count, which says
    little about its size (rank correlation 0.53 with employees on the listed firms).
    Registry firms carry no employee count, so they rank among themselves by capital, and
    after every firm with one."""
    a = ident(alias).text
    return Q(f"{a}.employees DESC NULLS LAST, {a}.registered_capital DESC NULLS LAST")


def level_column(level: str) -> str:
    """The firm column (province_adcode, city_adcode, region_adcode) a level filters on."""
    try:
        return LEVEL_COLUMNS[level]
    except KeyError:
        raise ValueError(f"unknown region level {level!r}") from None


def level_order(alias: str | None = None) -> Q:
    """An ORDER BY term putting provinces first, then cities, then districts."""
    column = "level" if alias is None else f"{ident(alias).text}.level"
    cases = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in LEVEL_RANK.items())
    return Q(f"CASE {column} {cases} ELSE {len(LEVEL_RANK)} END")


def in_area(level: str, adcode: str, alias: str = "c") -> Q:
    """Condition: the firm row ``alias`` lies in the area of this level and adcode."""
    return Q(f"{ident(alias).text}.{level_column(level)} = ?", (adcode,))


def adcode_prefix(adcode: str) -> str:
    """The adcode prefix the places inside a region share: a province's 2 digits
    (130000), a city's 4 (130100), a district's all 6. Rows that keep only the district
    (projects, targets) are filtered by it."""
    if adcode.endswith("0000"):
        return adcode[:2]
    return adcode[:4] if adcode.endswith("00") else adcode


def in_universe(universe: str, alias: str = "c") -> Q:
    """Condition: the firm row ``alias`` (companies or chain_firms) is in the universe."""
    if universe not in UNIVERSES:
        raise ValueError(f"unknown universe {universe!r}")
    if universe == "all":
        return TRUE
    return Q(f"{ident(alias).text}.origin = ?", (universe,))
