"""Expansion signals (analysis.expansion): other-city branches and name-subsidiaries per
parent and year, utility-like parents, the score and its reason text, on hand-made rows."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from chainatlas.analysis.expansion import (
    CITY_SCALE,
    EXPANSION_COLUMNS,
    expansion_score,
    expansion_table,
    expansion_zh,
    is_utility,
    registry_last_year,
    utility_share,
)
from chainatlas.store import Database

NOW = dt.datetime(2026, 1, 1)
# id, full name, city, setup year, parent id (branches)
ROWS = [
    ("P", "苏州维生制药有限公司", "320500", 1990, None),
    ("P_BJ1", "苏州维生制药有限公司北京分公司", "110100", 2001, "P"),
    ("P_BJ2", "苏州维生制药有限公司北京第二分公司", "110100", 2003, "P"),
    ("P_SJZ", "苏州维生制药有限公司石家庄分公司", "130100", 2004, "P"),
    ("P_HOME", "苏州维生制药有限公司吴中分公司", "320500", 2004, "P"),  # its own city
    ("P_OLD", "苏州维生制药有限公司天津分公司", "120100", 1993, "P"),
    ("OIL", "中国石油天然气股份有限公司", "110100", 1999, None),
    ("OIL_1", "中国石油天然气股份有限公司苏州销售分公司", "320500", 2002, "OIL"),
    ("OIL_2", "中国石油天然气股份有限公司天津销售分公司", "120100", 2003, "OIL"),
    ("KUI", "葵花药业集团股份有限公司", "230100", 1998, None),
    ("KUI_TS", "葵花药业集团(唐山)生物制药有限公司", "130200", 2003, None),
    ("KUI_HOME", "葵花药业集团(哈尔滨)有限公司", "230100", 2003, None),  # same city
    ("ODD", "某某(中国)有限公司", "310100", 2003, None),  # 中国 is no city
]


@pytest.fixture
def store() -> Database:
    db = Database()
    db.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?, NULL, NULL, 1)", [
        ("110100", "北京市", "city", "110000", "110000"),
        ("120100", "天津市", "city", "120000", "120000"),
        ("130100", "石家庄市", "city", "130000", "130000"),
        ("130200", "唐山市", "city", "130000", "130000"),
        ("230100", "哈尔滨市", "city", "230000", "230000"),
        ("310100", "上海市", "city", "310000", "310000"),
        ("320500", "苏州市", "city", "320000", "320000")])
    for cid, name, city, year, parent in ROWS:
        db.execute("INSERT INTO companies (company_id, origin, short_name, full_name, "
                   "city_adcode, setup_date, is_branch, parent_id, source_id, updated_at) "
                   "VALUES (?, 'registry', ?, ?, ?, ?, ?, ?, 1, ?)",
                   [cid, name, name, city, dt.date(year, 3, 1), parent is not None, parent,
                    NOW])
    return db


def _by_id(table: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {str(r["company_id"]): r for r in table.to_dict("records")}


def test_branches_in_other_cities_in_the_window(store: Database) -> None:
    assert registry_last_year(store) == 2004
    table = expansion_table(store, years=5)
    assert list(table.columns) == EXPANSION_COLUMNS
    [p] = table.to_dict("records")  # the oil company is utility-like: left out
    # 2000–2004: two Beijing branches and one in 石家庄; the home-city one and the 1993
    # one do not count
    assert (p["company_id"], p["branches"], p["cities"]) == ("P", 3, 2)
    assert (p["first_year"], p["last_year"], p["since"], p["until"]) == (2001, 2004, 2000,
                                                                         2004)
    assert p["subsidiaries"] == 0 and not p["utility"]


def test_as_of_and_years_move_the_window(store: Database) -> None:
    then = _by_id(expansion_table(store, as_of=2003, years=3))["P"]
    assert (then["branches"], then["cities"], then["since"], then["until"]) == (
        2, 1, 2001, 2003)
    assert expansion_table(store, as_of=1992, years=3).empty  # 1990–1992: none yet
    assert _by_id(expansion_table(store, as_of=1995, years=3))["P"]["branches"] == 1
    assert expansion_table(store, years=0).empty


def test_utilities_only_on_request(store: Database) -> None:
    table = _by_id(expansion_table(store, utilities=True))
    assert table["OIL"]["utility"] and table["OIL"]["branches"] == 2
    assert not table["P"]["utility"]
    assert utility_share(store) == {"branches": 6, "utility_branches": 2, "parents": 2,
                                    "utility_parents": 1}


def test_subsidiaries_whose_name_shows_the_parent(store: Database) -> None:
    assert "KUI" not in _by_id(expansion_table(store))  # off by default
    kui = _by_id(expansion_table(store, subsidiaries=True))["KUI"]
    # 唐山 counts; 哈尔滨 is the parent's own city; （中国） names no city
    assert (kui["subsidiaries"], kui["branches"], kui["cities"]) == (1, 0, 1)
    assert (kui["first_year"], kui["last_year"]) == (2003, 2003)


def test_is_utility() -> None:
    for name in ("中国石油天然气股份有限公司", "中国邮政集团公司", "中国移动通信集团河南有限公司",
                 "中国人寿保险股份有限公司", "国网湖南省电力有限公司", "山西晋通邮电实业有限公司"):
        assert is_utility(name), name
    for name in ("北京电力设备总厂有限公司", "中航西安航空工业有限公司", "华北制药股份有限公司",
                 None, ""):
        assert not is_utility(name), name


def test_expansion_score_by_hand() -> None:
    assert expansion_score(0) == 0.0
    assert expansion_score(2) == pytest.approx(1 - math.exp(-2 / CITY_SCALE))
    assert list(expansion_score(np.array([0.0, 1.0, np.nan]))) == pytest.approx(
        [0.0, 1 - math.exp(-0.5), 0.0])
    series = expansion_score(pd.Series([4.0, -1.0], index=["a", "b"]))
    assert list(series.index) == ["a", "b"]
    assert list(series) == pytest.approx([1 - math.exp(-2), 0.0])
    assert expansion_score(8) > expansion_score(4) > expansion_score(1)


def test_expansion_zh() -> None:
    assert expansion_zh(3, 0, 2002, 2004, 3) == "近3年在外地新设3家分支机构（2002–2004）"
    assert expansion_zh(1, 1, 2003, 2003, 5) == "近5年在外地新设1家分支机构、1家子公司（2003）"
    assert expansion_zh(0, 2, None, None, 5) == "近5年在外地新设2家子公司"
    assert expansion_zh(0, 0, None, None, 5) == ""
