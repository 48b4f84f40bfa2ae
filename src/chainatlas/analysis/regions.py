"""A region's listed firms by Shenwan industry (the ``demo`` summary)."""

from __future__ import annotations

import pandas as pd

from chainatlas.store import Database
from chainatlas.store.lookup import Region, as_region
from chainatlas.store.query import compose, in_area


def firms_by_industry(db: Database, region: Region | str) -> pd.DataFrame:
    """Count a region's listed firms per Shenwan level-1 industry, with their short names
    (roster and registry firms carry no Shenwan industry)."""
    region = as_region(db, region)
    return db.df(compose(
        "SELECT coalesce(l1.name, '未分类') AS industry, count(DISTINCT c.company_id) AS firms,"
        " string_agg(DISTINCT c.short_name, '、' ORDER BY c.short_name) AS names "
        "FROM companies c LEFT JOIN company_industries ci ON ci.company_id = c.company_id "
        "AND ci.scheme = 'sw2021' LEFT JOIN industries l1 ON l1.scheme = 'sw2021' "
        "AND l1.code = left(ci.code, 2) || '0000' "
        "WHERE c.origin = 'listed' AND {local} GROUP BY ALL ORDER BY firms DESC, industry",
        local=in_area(region.level, region.adcode, "c")))
