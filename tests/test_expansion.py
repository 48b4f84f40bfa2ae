"""Expansion signals from the registry: other-city branches by year (analysis.expansion)."""

from __future__ import annotations

import datetime as dt

import pytest

from chainatlas.analysis.expansion import (
    expansion_score,
    expansion_table,
    expansion_zh,
    is_utility,
    utility_share,
)
from chainatlas.store import Database

from .helpers import add_firm


def _firm(db: Database, cid: str, name: str, city: str, year: int,
          parent: str | None = None) -> None:
    add_firm(db, cid)
    db.execute("UPDATE companies SET origin = 'registry', full_name = ?, city_adcode = ?, "
               "setup_date = ?, is_branch = ?, parent_id = ? WHERE company_id = ?",
               [name, city, dt.date(year, 6, 1), parent is not None, parent, cid])


@pytest.fixture
def store() -> Database:
    db = Database()
    _firm(db, "P", "石家庄某某制药有限公司", "130100", 1990)
    _firm(db, "B1", "石家庄某某制药有限公司天津分公司", "120100", 2001, "P")
    _firm(db, "B2", "石家庄某某制药有限公司北京分公司", "110100", 2003, "P")
    _firm(db, "B3", "石家庄某某制药有限公司北京第二分公司", "110100", 2004, "P")
    _firm(db, "B4", "石家庄某某制药有限公司新华分公司", "130100", 2004, "P")  # same city
    _firm(db, "B5", "石家庄某某制药有限公司太原分公司", "140100", 1995, "P")  # too old
    _firm(db, "OIL", "中国石油天然气股份有限公司", "110100", 1999)
    _firm(db, "G1", "中国石油天然气股份有限公司石家庄加油站", "130100", 2002, "OIL")
    return db


def test_other_city_branches_in_the_window(store: Database) -> None:
    table = expansion_table(store, as_of=2004, years=5).set_index("company_id")
    row = table.loc["P"]
    # 2000-2004: 天津 2001, 北京 2003 and 2004; not the same-city one, not 太原 1995
    assert (row["branches"], row["cities"]) == (3, 2)
    assert (row["first_year"], row["last_year"], row["since"], row["until"]) == (
        2001, 2004, 2000, 2004)
    assert "OIL" not in table.index  # utility-like parents branch by mandate


def test_as_of_sees_nothing_later(store: Database) -> None:
    table = expansion_table(store, as_of=2002, years=5).set_index("company_id")
    assert (table.loc["P", "branches"], table.loc["P", "cities"]) == (1, 1)
    assert expansion_table(store, as_of=1994, years=3).empty
    with_oil = expansion_table(store, as_of=2004, utilities=True).set_index("company_id")
    assert bool(with_oil.loc["OIL", "utility"]) and not bool(with_oil.loc["P", "utility"])
    assert utility_share(store, 2004) == {"branches": 5, "utility_branches": 1,
                                          "parents": 2, "utility_parents": 1}


def test_score_and_text() -> None:
    assert expansion_score(0) == 0.0
    assert expansion_score(2) == pytest.approx(0.632, abs=1e-3)
    assert expansion_score(float("nan")) == 0.0
    assert expansion_zh(3, 0, 2001, 2004, 5) == "近5年在外地新设3家分支机构（2001–2004）"
    assert expansion_zh(0, 0, None, None, 5) == ""
    assert is_utility("中国邮政集团公司") and not is_utility("华北制药股份有限公司")
