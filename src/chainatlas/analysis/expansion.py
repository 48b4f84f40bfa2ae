"""Expansion signals from the registry: which firms opened branches in other cities, when.

A firm that has lately registered branches (分支机构) in cities other than its own is
expanding and is the kind of firm a 招商 office can hope to bring in. The registry tells:

- **Branches**: registry rows with ``companies.is_branch`` whose ``parent_id`` resolves to
  a firm of the store (listed or registry), located in a city other than the parent's
  city. A branch's registration year is its first year (``setup_date``; the registry
  holds rows registered 1978–2004, so the signal ends in 2004).
- **Subsidiaries whose name shows the parent** (optional, ``subsidiaries=True``):
  ``X（天津）有限公司`` where ``X`` (or ``X`` + the tail), stripped of its legal-form
  suffix (有限公司, 股份有限公司, 集团 …), is the stem of exactly one other firm's name
  and the bracket holds a place name. Measured on the full store (1.1 M firms): 142
  such names resolve to one parent, 111 in another city than the parent — against
  25,080 other-city branches — and the name scan costs ~2.5 s, so it is off by default
  and the backtests may switch it on.
- **Utility-like parents** (:data:`UTILITY_PATTERN`: oil, post, telecom operators,
  insurers, banks and brokers, tobacco, supply co-operatives, power grids, railways,
  express freight, broadcasting networks, salt monopolies) open branches because they
  must cover the country, not because they choose a location: in the full store the ten
  parents with most other-city branches are all of this kind (中国石油 5,144, 中国邮政
  3,570, 中国石化销售 3,338, 中国人寿 1,116 …) and hold ~64 % of all other-city
  branches. They are never 招商 targets, so :func:`expansion_table` leaves them out
  unless ``utilities=True`` (for measuring).

``expansion_table`` counts, per parent, its other-city branches registered in the
window of the last ``years`` years up to ``as_of`` (or the registry's last year) and the
distinct cities they lie in; :func:`expansion_score` turns the city count into a score
in [0, 1]. Both are what the target ranking (:mod:`chainatlas.recommend.firms`) and the
firm backtest use, with ``as_of=T`` so nothing after T is seen.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from chainatlas.store import Database
from chainatlas.store.query import TRUE, Q, compose, param

#: Default window: branches registered in the last five years up to the as-of year. Five,
#: not three: other-city branches of chain firms are rare (245 for the 81 生物医药 parents
#: that have any), and three years left most of them outside the window.
EXPANSION_YEARS = 5
#: The score is 1 − exp(−cities / scale): one other city 0.39, two 0.63, four 0.86.
CITY_SCALE = 2.0
#: Parents that branch out by mandate (see the module docstring). Matched on the full
#: name; 电力 alone is not enough (电力设备 makers are chain firms), so grids and
#: power-supply companies are named, and 航空 only as an airline (航空公司/航空有限…), not
#: as 航空工业.
UTILITY_PATTERN = (r"石油|石化|邮政|邮电|电信|移动通信|联合网络|联通|铁通|网通|保险|人寿|银行|"
                   r"信用社|证券|资产管理|烟草|供销|国网|电网|供电|电力公司|电力有限公司|电力局|"
                   r"铁路|铁道|快运|航空公司|航空有限|广播电视|广电|盐业")
_UTILITY = re.compile(UTILITY_PATTERN)
#: Columns of :func:`expansion_table`.
EXPANSION_COLUMNS = ["company_id", "branches", "subsidiaries", "cities", "first_year",
                     "last_year", "since", "until", "utility"]

_LEGAL_SUFFIX = "(股份有限公司|有限责任公司|有限公司|总公司|公司|集团)+$"
_PLACE_SUFFIX = "(省|市|自治区|特别行政区|地区|自治州|盟|县|区)$"
_BRACKETED = "^(.{2,}?)（([^（）]{2,10})）(.*)$"

# One row per other-city branch: the parent, the branch's city and registration year.
_BRANCHES_SQL = """
SELECT b.parent_id AS company_id, b.city_adcode AS city, year(b.setup_date) AS year,
       'branch' AS kind, p.full_name AS parent_name
FROM companies b JOIN companies p ON p.company_id = b.parent_id
WHERE b.is_branch AND b.city_adcode IS NOT NULL AND p.city_adcode IS NOT NULL
  AND b.city_adcode <> p.city_adcode AND b.setup_date IS NOT NULL
  AND year(b.setup_date) <= {until}
"""

# Subsidiaries named X（place）…: see the module docstring. Brackets are normalised to
# full width first; a stem must be unique among unbracketed names to count as a parent.
_SUBSIDIARIES_SQL = """
SELECT any_value(p.parent) AS company_id, any_value(k.city_adcode) AS city,
       any_value(k.year) AS year, 'subsidiary' AS kind, any_value(p.parent_name) AS parent_name
FROM (
    WITH n AS (SELECT company_id, city_adcode, year(setup_date) AS year,
        replace(replace(full_name, '(', '（'), ')', '）') AS name FROM companies
        WHERE full_name IS NOT NULL AND same_as IS NULL AND NOT coalesce(is_branch, false)),
    places AS (SELECT DISTINCT regexp_replace(name, {place_suffix}, '') AS place FROM regions
        UNION SELECT name FROM regions),
    subs AS (SELECT company_id, city_adcode, year,
        regexp_extract(name, {bracketed}, ['pre', 'place', 'post']) AS m FROM n
        WHERE contains(name, '（') AND year <= {until})
    SELECT s.company_id, s.city_adcode, s.year, unnest([
        regexp_replace(s.m.pre || s.m.post, {suffix}, ''), regexp_replace(s.m.pre, {suffix}, '')])
        AS stem FROM subs s JOIN places ON places.place = s.m.place WHERE s.m.place <> '中国'
) k JOIN (
    SELECT stem, any_value(company_id) AS parent, any_value(city_adcode) AS parent_city,
        any_value(full_name) AS parent_name FROM (
            SELECT regexp_replace(full_name, {suffix}, '') AS stem, company_id, city_adcode,
                full_name FROM companies WHERE full_name IS NOT NULL AND same_as IS NULL
                AND NOT coalesce(is_branch, false) AND NOT regexp_matches(full_name, '[（(]'))
    WHERE length(stem) >= 4 GROUP BY stem HAVING count(*) = 1
) p USING (stem)
WHERE p.parent <> k.company_id AND k.city_adcode IS NOT NULL AND p.parent_city IS NOT NULL
  AND k.city_adcode <> p.parent_city
GROUP BY k.company_id HAVING count(DISTINCT p.parent) = 1
"""

# Per parent: the window's other-city events, and whether the parent is utility-like.
_TABLE_SQL = """
SELECT company_id, count(*) FILTER (WHERE kind = 'branch') AS branches,
    count(*) FILTER (WHERE kind = 'subsidiary') AS subsidiaries,
    count(DISTINCT city) AS cities, min(year) AS first_year, max(year) AS last_year,
    {since} AS since, {until} AS until,
    coalesce(regexp_matches(any_value(parent_name), {utility}), false) AS utility
FROM ({events}) WHERE year >= {since} AND year <= {until}
GROUP BY company_id HAVING {keep} ORDER BY company_id
"""


def is_utility(name: str | None) -> bool:
    """Whether a firm's name marks it as utility-like (:data:`UTILITY_PATTERN`). Pure."""
    return bool(name) and _UTILITY.search(str(name)) is not None


def registry_last_year(db: Database) -> int | None:
    """The last registration year of the loaded registry (None without registry rows)."""
    year = db.scalar("SELECT max(year(setup_date)) FROM companies WHERE origin = 'registry'")
    return None if year is None else int(year)


def events_sql(until: int, subsidiaries: bool = False) -> Q:
    """The query of every other-city branch (and, with ``subsidiaries``, name-subsidiary)
    registered by ``until``: company_id (the parent), city, year, kind ('branch' /
    'subsidiary'), parent_name."""
    branches = compose(_BRANCHES_SQL, until=param(int(until)))
    if not subsidiaries:
        return branches
    subs = compose(_SUBSIDIARIES_SQL, suffix=param(_LEGAL_SUFFIX),
                   place_suffix=param(_PLACE_SUFFIX), bracketed=param(_BRACKETED),
                   until=param(int(until)))
    return compose("{a} UNION ALL {b}", a=branches, b=subs)


def expansion_events(db: Database, until: int, subsidiaries: bool = False) -> pd.DataFrame:
    """The rows of :func:`events_sql`."""
    return db.df(events_sql(until, subsidiaries))


def expansion_table(db: Database, as_of: int | None = None, years: int = EXPANSION_YEARS,
                    *, subsidiaries: bool = False, utilities: bool = False) -> pd.DataFrame:
    """Per parent firm, its expansion into other cities in the window (``since`` ..
    ``until``): branches and subsidiaries registered there, distinct other cities, the
    first and last year among them. ``until`` is ``as_of`` or the registry's last year.

    Parents with no other-city branch in the window are absent. Utility-like parents
    (:data:`UTILITY_PATTERN`) are left out unless ``utilities`` (then ``utility`` says
    which).
    """
    until = int(as_of) if as_of is not None else registry_last_year(db)
    if until is None or years < 1:
        return pd.DataFrame(columns=EXPANSION_COLUMNS)
    since = until - int(years) + 1
    return db.df(compose(_TABLE_SQL, events=events_sql(until, subsidiaries),
                         since=param(since), until=param(until),
                         utility=param(UTILITY_PATTERN),
                         keep=TRUE if utilities else compose(
                             "NOT coalesce(regexp_matches(any_value(parent_name), {u}), "
                             "false)", u=param(UTILITY_PATTERN))))


def expansion_score(cities: Any, scale: float = CITY_SCALE) -> Any:
    """The expansion component from the number of distinct other cities a firm opened
    branches in during the window: 1 − exp(−cities / scale), 0 for none or unknown.
    Pure; takes a number or an array/Series."""
    values = np.nan_to_num(np.asarray(cities, dtype=float), nan=0.0)
    score = 1.0 - np.exp(-np.clip(values, 0.0, None) / scale)
    if isinstance(cities, pd.Series):
        return pd.Series(score, index=cities.index)
    return float(score) if np.ndim(score) == 0 else score


def expansion_zh(branches: int, subsidiaries: int, first_year: int | None,
                 last_year: int | None, years: int) -> str:
    """The reason text: 近5年在外地新设3家分支机构（2002–2004）. Pure; "" for none."""
    parts = [f"{branches}家分支机构" if branches else "",
             f"{subsidiaries}家子公司" if subsidiaries else ""]
    what = "、".join(p for p in parts if p)
    if not what:
        return ""
    span = ("" if first_year is None or last_year is None else
            f"（{first_year}）" if first_year == last_year else f"（{first_year}–{last_year}）")
    return f"近{years}年在外地新设{what}{span}"


def utility_share(db: Database, as_of: int | None = None) -> dict[str, int]:
    """How much of all other-city branching utility-like parents make (the measurement
    behind leaving them out): branches and parents, all and utility-like."""
    until = int(as_of) if as_of is not None else registry_last_year(db)
    if until is None:
        return {"branches": 0, "utility_branches": 0, "parents": 0, "utility_parents": 0}
    row = db.rows(compose(
        "SELECT count(*) AS branches, count(*) FILTER (WHERE u) AS utility_branches, "
        "count(DISTINCT company_id) AS parents, "
        "count(DISTINCT company_id) FILTER (WHERE u) AS utility_parents FROM ("
        "SELECT company_id, coalesce(regexp_matches(parent_name, {u}), false) AS u "
        "FROM ({events}))", u=param(UTILITY_PATTERN), events=events_sql(until)))[0]
    return {k: int(v) for k, v in row.items()}
