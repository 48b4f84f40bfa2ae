"""Regions, zones and firms of a policy text resolved to the store."""

from __future__ import annotations

from chainatlas.intake.places import find_firms, find_places
from chainatlas.store import Database


def _places(db: Database, text: str, region: str | None = "130100") -> list[tuple[str, ...]]:
    return [(p.text, p.kind, p.adcode or "", p.park or "")
            for p in find_places(db, text, region)]


def test_districts_and_zones_of_a_city_text(mini_db: Database) -> None:
    text = ("鹿泉区依托鹿泉经济开发区，高新区新签约项目12个；"
            "正定新区、栾城区装备制造产业园加快建设。")
    assert _places(mini_db, text) == [
        ("鹿泉区", "region", "130110", ""),
        ("鹿泉经济开发区", "zone", "130110", "鹿泉经济开发区"),
        ("高新区", "zone", "130100", "石家庄高新技术产业开发区"),
        ("正定新区", "zone", "130123", "正定新区"),
        ("栾城区装备制造产业园", "zone", "130111", "栾城区装备制造产业园")]


def test_a_bare_zone_outside_its_city_stays_unresolved(mini_db: Database) -> None:
    assert _places(mini_db, "高新区新签约项目12个", "130000") == [("高新区", "zone", "", "")]
    assert _places(mini_db, "辛集经济开发区") == [("辛集经济开发区", "zone", "", "")]


def test_a_shared_district_name_resolves_within_the_text_region(mini_db: Database) -> None:
    assert _places(mini_db, "桥西区") == [("桥西区", "region", "130104", "")]
    found = _places(mini_db, "张家口市桥西区")
    assert found[-1][0] == "桥西区" and found[-1][2] != "130104"


def test_firms_linked_to_the_store(mini_db: Database) -> None:
    text = "引进石家庄四药有限公司和以岭药业"
    found = [(f.text, f.company_id) for f in find_firms(mini_db, text)]
    assert ("以岭药业", "002603.SZ") in found
    assert ("石家庄四药有限公司", None) in found
    assert all(text[f.start:f.end] == f.text for f in find_firms(mini_db, text))
