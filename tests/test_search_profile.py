"""Firm search (names, initials, codes, typos) and the firm profile."""

from __future__ import annotations

from chainatlas.analysis.profile import firm_profile
from chainatlas.analysis.search import initials, search_firms
from chainatlas.store import Database


def test_initials() -> None:
    assert initials("以岭药业") == "ylyy"
    assert initials("*ST 德豪") == "stdh"


def _names(db: Database, query: str) -> list[str]:
    return [r["short_name"] for r in search_firms(db, query)]


def test_search_by_every_kind_of_name(mini_db: Database) -> None:
    assert _names(mini_db, "以岭药业")[0] == "以岭药业"
    assert _names(mini_db, "石家庄以岭")[0] == "以岭药业"  # part of the full name
    assert _names(mini_db, "ylyy")[0] == "以岭药业"  # pinyin initials
    assert _names(mini_db, "002603")[0] == "以岭药业"  # stock code
    assert _names(mini_db, "以领药业")[0] == "以岭药业"  # a typo
    assert _names(mini_db, "hbzy")[0] == "华北制药"
    assert search_firms(mini_db, "   ") == []


def test_firm_profile(mini_db: Database) -> None:
    profile = firm_profile(mini_db, "002603")
    assert profile["identity"]["short_name"] == "以岭药业"
    assert profile["location"]["city"] == "石家庄市"
    assert profile["products"][0]["name"] == "专利中药"
    negative = [p for p in profile["products"] if p["negative_share"]]
    assert negative and negative[0]["name"] == "分部间抵销"
    assert all("signals" in p["evidence"] for p in profile["placements"])


def test_search_finds_every_firm_unless_narrowed(mini_db: Database) -> None:
    mini_db.execute("INSERT INTO companies (company_id, origin, short_name, full_name, "
                    "source_id, updated_at) VALUES ('R1', 'registry', '以岭商贸', "
                    "'石家庄以岭商贸有限公司', 1, now())")
    assert {"以岭药业", "以岭商贸"} <= set(_names(mini_db, "以岭"))
    listed = search_firms(mini_db, "以岭", universe="listed")
    assert listed and {r["origin"] for r in listed} == {"listed"}
    registry = search_firms(mini_db, "以岭", universe="工商登记企业")
    assert [r["short_name"] for r in registry] == ["以岭商贸"]
    assert len(search_firms(mini_db, "以岭", universe="all")) >= 2
