"""Regions: resolve a name or adcode, and summarise a region's firms."""

from __future__ import annotations

from typing import Any

import pandas as pd

from chainatlas.errors import NotFoundError
from chainatlas.store import Database

_LEVEL_COLUMN = {"province": "province_adcode", "city": "city_adcode",
                 "district": "region_adcode"}


def region_from_text(db: Database, text: str) -> dict[str, Any]:
    """Resolve a region by adcode (130100) or name (石家庄市, 石家庄, 河北省, 河北).

    An exact name wins over a prefix; among equals the higher level wins (北京市 is the
    province rather than its city-level twin). Raises NotFoundError with suggestions.
    """
    query = text.strip()
    if not query:
        raise NotFoundError("Name a region (e.g. 石家庄市 or 130100).")
    if query.isdigit():
        rows = db.rows("SELECT * FROM regions WHERE adcode = ?", [query.ljust(6, "0")[:6]])
    else:
        rows = db.rows(
            "SELECT * FROM regions WHERE name = ? OR name LIKE ? || '%' ORDER BY "
            "name <> ?, CASE level WHEN 'province' THEN 0 WHEN 'city' THEN 1 ELSE 2 END, "
            "length(name), adcode", [query, query, query])
    if rows:
        return rows[0]
    close = [r[0] for r in db.execute(
        "SELECT name FROM regions ORDER BY jaro_winkler_similarity(name, ?) DESC LIMIT 3",
        [query]).fetchall()]
    raise NotFoundError(f"No region named {query!r}. Did you mean: {', '.join(close)}?")


def region_column(region: dict[str, Any]) -> str:
    """The firm column (province_adcode, city_adcode, region_adcode) a region filters on."""
    return _LEVEL_COLUMN[str(region["level"])]


def firms_in_region_sql(region: dict[str, Any], alias: str = "c") -> str:
    """Return a SQL condition selecting the firms located in ``region``."""
    column = region_column(region)
    return f"{alias}.{column} = '{region['adcode']}'"


def firms_by_industry(db: Database, region: dict[str, Any]) -> pd.DataFrame:
    """Count a region's firms per Shenwan level-1 industry, with their short names."""
    return db.df(
        "SELECT coalesce(l1.name, '未分类') AS industry, count(DISTINCT c.company_id) AS firms,"
        " string_agg(DISTINCT c.short_name, '、' ORDER BY c.short_name) AS names "
        "FROM companies c LEFT JOIN company_industries ci ON ci.company_id = c.company_id "
        "AND ci.scheme = 'sw2021' LEFT JOIN industries l1 ON l1.scheme = 'sw2021' "
        "AND l1.code = left(ci.code, 2) || '0000' "
        f"WHERE {firms_in_region_sql(region)} GROUP BY ALL ORDER BY firms DESC, industry")
