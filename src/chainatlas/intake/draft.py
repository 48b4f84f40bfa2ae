"""A draft plan read from a policy text: what it commits the region to, for review.

:func:`draft_from_text` runs every reader over the text and returns one list of items,
each with its exact span and its sentence, so a reviewer sees where it came from:

* ``target`` / ``achieved``: a figure as a statement (:mod:`extract`), with the body it
  belongs to (the nearest region or zone named before it in its sentence, else the text's
  region);
* ``direction``: an industry direction mapped to a chain node, or kept unmapped;
* ``place``: a district, county or zone, resolved to the region table where it can be;
* ``firm``: a firm named, linked to a store firm when the name matches;
* ``project_batch``: a count of projects with the amount that goes with it in the same
  sentence (签约项目48个、总投资215亿元).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from chainatlas.intake.directions import find_directions
from chainatlas.intake.extract import SENTENCE_END, Statement, extract_statements
from chainatlas.intake.places import Place, find_firms, find_places
from chainatlas.store import Database
from chainatlas.store.lookup import as_region

_TEXT_YEAR = re.compile(r"(20\d{2})年")


@dataclass(frozen=True)
class Draft:
    """The items read from one text, in text order, and what the text was read as."""

    region: dict[str, str] | None
    year: int | None
    items: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Items per kind."""
        out: dict[str, int] = {}
        for item in self.items:
            out[item["kind"]] = out.get(item["kind"], 0) + 1
        return out

    def as_dict(self) -> dict[str, Any]:
        """The draft as JSON-able data."""
        return {**asdict(self), "counts": self.counts()}


#: A text saying which year its 今年 is: "今年是“十五五”开局之年", "2026年是…的关键一年".
_STATED_YEAR = re.compile(r"(?:^|[。！？\n，：])(20\d{2})年是|今年是[^。，]{0,8}?“?"
                          r"(十[一二三四五六七八九]?五)”?(?:规划)?(开局|收官)之年")
_PLAN_FIRST = {"十一五": 2006, "十二五": 2011, "十三五": 2016, "十四五": 2021, "十五五": 2026,
               "十六五": 2031}


def text_year(text: str) -> int | None:
    """The year a text speaks of: the year it says its 今年 is, else the most frequent
    20XX年 of its first 400 characters (an interview opening on last year's results names
    last year first, then says "今年是“十五五”开局之年")."""
    for stated in _STATED_YEAR.finditer(text):
        if stated[1]:
            return int(stated[1])
        if stated[2] in _PLAN_FIRST:
            return _PLAN_FIRST[stated[2]] + (4 if stated[3] == "收官" else 0)
    years = [int(y) for y in _TEXT_YEAR.findall(text[:400])]
    return max(set(years), key=years.count) if years else None


def _body(places: list[Place], statement: Statement, default: str | None) -> str | None:
    before = [p for p in places if statement.sentence_start <= p.start < statement.start]
    if before:
        return before[-1].park or before[-1].text
    return default


def _sentence(text: str, start: int, end: int) -> dict[str, Any]:
    return {"sentence": text[start:end].strip(), "sentence_start": start,
            "sentence_end": end}


def _project_batches(statements: list[Statement]) -> list[dict[str, Any]]:
    """A project count and the amount after it in the same sentence, as one batch."""
    out = []
    for i, count in enumerate(statements):
        if count.unit not in ("个", "项") or "项目" not in count.indicator:
            continue
        amount = next((s for s in statements[i + 1:i + 3]
                       if s.sentence_start == count.sentence_start and s.unit == "亿元"), None)
        out.append({"kind": "project_batch", "start": count.start,
                    "end": amount.end if amount else count.end,
                    "projects": count.value, "amount_yi": amount.value if amount else None,
                    "status": count.kind, "label": count.indicator})
    return out


def draft_from_text(db: Database, text: str, *, region: str | None = None,
                    year: int | None = None) -> Draft:
    """Read ``text`` (of ``region``, speaking of ``year``: default the year it names
    first) into a draft plan."""
    place = as_region(db, region) if region else None
    year = year or text_year(text)
    places = find_places(db, text, place.adcode if place else None)
    statements = extract_statements(text, year=year, body=place.name if place else None)
    items: list[dict[str, Any]] = []
    for s in statements:
        items.append({**s.as_dict(), "kind": s.kind, "body": _body(places, s, s.body),
                      **_sentence(text, s.sentence_start, s.sentence_end)})
    for batch in _project_batches(statements):
        items.append({**batch, "text": text[batch["start"]:batch["end"]]})
    items.extend({**d.as_dict(), "kind": "direction"} for d in find_directions(text))
    items.extend({**p.as_dict(), "kind": "place", "place_kind": p.kind} for p in places)
    items.extend({**f.as_dict(), "kind": "firm"} for f in find_firms(db, text))
    items.sort(key=lambda item: (item["start"], item["kind"]))
    return Draft(region=place.summary() if place else None, year=year, items=items)


def item_sentence(text: str, item: Mapping[str, Any], window: int) -> tuple[str, int, int]:
    """The sentence a draft item stands in and its span's offsets within it, as the page
    and ``chainatlas drafts show`` quote it.

    Figures carry their sentence's bounds; directions, places and firms do not, so theirs
    is found around them as the extractor finds sentences. Surrounding whitespace is cut
    and a sentence longer than ``window`` characters is cut to a window around the span
    (marked with …).
    """
    start, end = int(item["start"]), int(item["end"])
    first, last = item.get("sentence_start"), item.get("sentence_end")
    if first is None or last is None:
        first = max((text.rfind(c, 0, start) for c in SENTENCE_END), default=-1) + 1
        ends = [i for i in (text.find(c, end) for c in SENTENCE_END) if i >= 0]
        last = min(ends) + 1 if ends else len(text)
    first, last = int(first), int(last)
    while first < start and text[first].isspace():
        first += 1
    while last > end and text[last - 1].isspace():
        last -= 1
    lead, tail = "", ""
    if last - first > window:
        room = max(0, (window - (end - start)) // 2)
        if start - room > first:
            first, lead = start - room, "…"
        if end + room < last:
            last, tail = end + room, "…"
    return (lead + text[first:last] + tail, start - first + len(lead),
            end - first + len(lead))
