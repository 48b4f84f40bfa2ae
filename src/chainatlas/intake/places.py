"""Regions, zones and firms a policy text names, resolved to the store where they can be.

* Regions: the full names of the region table (鹿泉区, 正定县, 石家庄市, 河北省). A
  district name several cities share (桥西区 is in 石家庄 and 张家口) resolves within the
  text's own region; elsewhere it is ambiguous and kept unresolved.
* Zones (高新区, 经开区, 新区, 综保区): not divisions of the region table; the zones of
  ``zones.yaml`` resolve to the region hosting them and keep their name as the park. A
  zone name not listed there is kept with its span, unresolved.
* Firms: names ending in a company form (…有限公司, …集团, …药业) and the short names of
  the store's firms, linked to a store firm when the name matches one exactly.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

import ahocorasick_rs
import yaml

from chainatlas.store import Database
from chainatlas.store.query import adcode_prefix

_ZONE_SUFFIX = re.compile(r"(?:高新技术产业开发区|经济技术开发区|高新区|经开区|经济开发区|开发区|"
                          r"综合保税区|综保区|产业园区|产业园|新区|工业园区)")
#: Where a zone's name cannot begin: after a verb, a link word or a punctuation mark.
_NAME_BREAK = re.compile(r".*(?:依托|引进|推进|推动|建设|打造|支持|落户|入驻|签约|在|和|与|及|"
                         r"、|，|。|；|：|“|”|的|全|各|省级|国家级)")
_FIRM = re.compile(r"[\u4e00-\u9fa5（）()]{2,30}?(?:股份有限公司|有限责任公司|有限公司|集团)")
#: Words a firm's name does not start with: the verb or link before it in a sentence.
_FIRM_LEAD = re.compile(r"^(?:.*?(?:引进|引入|签约|落地|依托|支持|推动|推进|与|和|及|由|其中|"
                        r"包括|吸引|招引|新增|培育|龙头企业|企业|项目|在|是|为))")


@dataclass(frozen=True)
class Place:
    """A region or zone named in a text: span, what it resolves to (None: unresolved)."""

    start: int
    end: int
    text: str
    kind: str  # region, zone
    adcode: str | None
    park: str | None

    def as_dict(self) -> dict[str, Any]:
        """The place as a JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class FirmMention:
    """A firm named in a text, and the store firm it names when one matches exactly."""

    start: int
    end: int
    text: str
    company_id: str | None

    def as_dict(self) -> dict[str, Any]:
        """The mention as a JSON-able dict."""
        return asdict(self)


@cache
def zones() -> tuple[dict[str, Any], ...]:
    """The zones of ``zones.yaml``."""
    text = resources.files("chainatlas.intake").joinpath("zones.yaml").read_text("utf-8")
    return tuple(yaml.safe_load(text))


def _region_index(db: Database, region: str | None) -> dict[str, str | None]:
    """Region name -> adcode (None when the name is ambiguous outside ``region``)."""
    rows = db.rows("SELECT adcode, name FROM regions WHERE name <> '市辖区'")
    by_name: dict[str, list[str]] = {}
    for row in rows:
        by_name.setdefault(str(row["name"]), []).append(str(row["adcode"]))
    prefix = adcode_prefix(region) if region else None
    index: dict[str, str | None] = {}
    for name, codes in by_name.items():
        own = [c for c in codes if prefix and c.startswith(prefix)]
        index[name] = own[0] if len(own) == 1 else codes[0] if len(codes) == 1 else None
    return index


def _zone_of(text: str, region: str | None) -> dict[str, Any] | None:
    for zone in zones():
        if text in zone["aliases"]:
            bare = not text.startswith(("石家庄", zone["name"][:2]))
            if bare and (region is None or region[:4] != zone["city"][:4]):
                return None  # 高新区 alone names the zone of the text's own city only
            return zone
    return None


def _zone_spans(text: str) -> list[tuple[int, int]]:
    """Spans of zone names: a listed alias, else a zone word with the name before it (at
    most six characters, cut at a verb or a punctuation mark)."""
    aliases = sorted({a for zone in zones() for a in zone["aliases"]})
    matcher = ahocorasick_rs.AhoCorasick(aliases, matchkind=ahocorasick_rs.MatchKind.
                                         LeftmostLongest)
    spans = [(s, e) for _, s, e in matcher.find_matches_as_indexes(text)]
    for suffix in _ZONE_SUFFIX.finditer(text):
        if any(s <= suffix.start() < e for s, e in spans):
            continue
        begin = max(0, suffix.start() - 6)
        head = text[begin:suffix.start()]
        cut = _NAME_BREAK.match(head)
        start = begin + (cut.end() if cut else 0)
        while start < suffix.start() and not "\u4e00" <= text[start] <= "\u9fa5":
            start += 1
        spans.append((start, suffix.end()))
    return sorted(spans)


def _in_city(db: Database, name: str, city: str) -> str | None:
    found = db.scalar("SELECT adcode FROM regions WHERE name = ? AND parent = ?", [name, city])
    return None if found is None else str(found)


def find_places(db: Database, text: str, region: str | None = None) -> list[Place]:
    """Every region and zone ``text`` names; ``region`` is the adcode of the text's region."""
    index = _region_index(db, region)
    names = sorted(index)
    matcher = ahocorasick_rs.AhoCorasick(names, matchkind=ahocorasick_rs.MatchKind.
                                         LeftmostLongest)
    zone_spans = _zone_spans(text)
    out: list[Place] = []
    for found, start, end in matcher.find_matches_as_indexes(text):
        if any(s <= start and end <= e for s, e in zone_spans):
            continue  # 鹿泉 in 鹿泉经济开发区 is the zone's name, read below
        adcode = index[names[found]]
        if out and out[-1].end == start and out[-1].adcode:  # 张家口市桥西区
            adcode = _in_city(db, names[found], out[-1].adcode) or adcode
        out.append(Place(start, end, names[found], "region", adcode, None))
    for start, end in zone_spans:
        zone = _zone_of(text[start:end], region)
        if zone is not None:
            out.append(Place(start, end, text[start:end], "zone", zone["host"], zone["name"]))
            continue
        # 栾城区装备制造产业园: a zone named after the region it is in is hosted there.
        host = next((p for p in out if p.kind == "region" and p.start < start <= p.end), None)
        if host is not None:
            out.remove(host)
            start = host.start
        name = text[start:end]
        out.append(Place(start, end, name, "zone", host.adcode if host else None,
                         name if host else None))
    return sorted(out, key=lambda p: p.start)


def _firm_names(db: Database) -> dict[str, str]:
    """Names of the listed and roster firms (short and full) -> company id. Registry
    firms (a million of them) are not read here: their names are company-form names,
    which :func:`find_firms` looks up in one query."""
    rows = db.rows("SELECT company_id, short_name, full_name FROM companies "
                   "WHERE same_as IS NULL AND origin <> 'registry'")
    names: dict[str, str] = {}
    for row in rows:
        for name in (row["short_name"], row["full_name"]):
            if name and len(str(name)) >= 3:
                names.setdefault(str(name), str(row["company_id"]))
    return names


def _ids_of(db: Database, names: list[str]) -> dict[str, str]:
    """Store firms with exactly these full names (the registry's included)."""
    if not names:
        return {}
    rows = db.rows("SELECT full_name, min(company_id) AS company_id FROM companies "
                   "WHERE same_as IS NULL AND list_contains(?, full_name) GROUP BY 1",
                   [names])
    return {str(r["full_name"]): str(r["company_id"]) for r in rows}


def find_firms(db: Database, text: str) -> list[FirmMention]:
    """Firms ``text`` names: store firms by name, and company-form names (linked when a
    store firm has that full name)."""
    names = _firm_names(db)
    words = sorted(names)
    out: list[FirmMention] = []
    if words:
        matcher = ahocorasick_rs.AhoCorasick(words, matchkind=ahocorasick_rs.MatchKind.
                                             LeftmostLongest)
        out = [FirmMention(s, e, words[i], names[words[i]])
               for i, s, e in matcher.find_matches_as_indexes(text)]
    found: list[tuple[int, int, str]] = []
    for match in _FIRM.finditer(text):
        lead = _FIRM_LEAD.match(match.group())
        start = match.start() + (lead.end() if lead else 0)
        if any(f.start < match.end() and start < f.end for f in out):
            continue
        name = text[start:match.end()]
        if len(name) >= 4:
            found.append((start, match.end(), name))
    ids = _ids_of(db, [name for _, _, name in found])
    out += [FirmMention(s, e, name, ids.get(name)) for s, e, name in found]
    return sorted(out, key=lambda f: f.start)
