"""Firm search: full name, short name, former names, pinyin initials, stock code, typos.

The index holds every name of every firm with its pinyin initials (以岭药业 -> ylyy) and is
built once per store build (keyed by the store path and its ``built_at``). Exact and prefix
hits on codes and initials rank first; then rapidfuzz's WRatio tolerates typos and partial
names (石家庄以岭 -> 石家庄以岭药业股份有限公司).

Search finds every firm by default: someone typing a name wants that firm, whatever the
universe the pages count; ``universe`` (listed, registry, all) narrows the hits on request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz, process

from chainatlas.store import Database
from chainatlas.store.lookup import as_universe

_NON_WORD = re.compile(r"[\s*（）()·.-]+")


def initials(name: str) -> str:
    """Pinyin initials of a Chinese name, letters and digits kept (以岭药业 -> ylyy)."""
    parts = lazy_pinyin(_NON_WORD.sub("", name), style=Style.FIRST_LETTER, errors="default")
    return "".join(parts).lower()


@dataclass(frozen=True)
class SearchIndex:
    """Names (with initials) of every firm."""

    names: tuple[str, ...]
    initials: tuple[str, ...]
    company_ids: tuple[str, ...]
    codes: dict[str, str]
    labels: dict[str, dict[str, Any]]


# Indexes of store files, keyed by (path, built_at, roster firms); the few most recent kept.
_INDEXES: dict[tuple[str, str | None, int], SearchIndex] = {}
_INDEXES_KEPT = 4


def index_from_db(db: Database) -> SearchIndex:
    """Build the search index from a store."""
    rows = db.execute(
        "SELECT n.company_id, n.name FROM company_names n UNION SELECT company_id, short_name "
        "FROM companies WHERE short_name IS NOT NULL UNION SELECT company_id, full_name FROM "
        "companies WHERE full_name IS NOT NULL ORDER BY 1, 2").fetchall()
    labels = {r["company_id"]: r for r in db.rows(
        "SELECT c.company_id, c.short_name, c.full_name, c.stock_code, c.origin, "
        "coalesce(g.name, '') AS city FROM companies c LEFT JOIN regions g "
        "ON g.adcode = c.city_adcode WHERE c.same_as IS NULL")}
    rows = [r for r in rows if r[0] in labels]
    codes = {str(r["stock_code"]): cid for cid, r in labels.items() if r["stock_code"]}
    return SearchIndex(tuple(r[1] for r in rows), tuple(initials(r[1]) for r in rows),
                       tuple(r[0] for r in rows), codes, labels)


def search_index(db: Database) -> SearchIndex:
    """The cached index of a store file (in-memory stores are indexed each call)."""
    if db.path == ":memory:":
        return index_from_db(db)
    built = db.scalar("SELECT value FROM meta WHERE key = 'built_at'")
    roster = int(db.scalar("SELECT count(*) FROM companies WHERE origin = 'roster'"))
    key = (db.path, None if built is None else str(built), roster)
    index = _INDEXES.get(key)
    if index is None:
        # Built on the caller's connection: DuckDB refuses a second connection to the same
        # file with other settings (the web app holds it read-write).
        index = index_from_db(db)
        while len(_INDEXES) >= _INDEXES_KEPT:
            _INDEXES.pop(next(iter(_INDEXES)))
        _INDEXES[key] = index
    return index


def search_firms(db: Database, query: str, limit: int = 10,
                 universe: str | None = None) -> list[dict[str, Any]]:
    """Firms matching ``query``, best first, each with the name that matched and a score
    (and its ``origin``); ``universe`` keeps the firms of that universe only."""
    text = query.strip()
    if not text:
        return []
    index = search_index(db)
    chosen = None if universe is None else as_universe(db, universe)
    scores: dict[str, tuple[float, str]] = {}

    def offer(cid: str, score: float, matched: str) -> None:
        if chosen not in (None, "all") and index.labels[cid]["origin"] != chosen:
            return
        if score > scores.get(cid, (-1.0, ""))[0]:
            scores[cid] = (score, matched)

    digits = re.sub(r"\D", "", text)
    if digits and len(digits) >= 3:
        for code, cid in index.codes.items():
            if code.startswith(digits):
                offer(cid, 100.0 if code == digits else 95.0, code)
    lowered = text.lower()
    if lowered.isascii() and lowered.isalpha():
        for i, abbreviation in enumerate(index.initials):
            if abbreviation.startswith(lowered):
                offer(index.company_ids[i], 98.0 if abbreviation == lowered else 90.0,
                      index.names[i])
    # a narrowed search looks further down the fuzzy list to still fill ``limit``
    wider = 3 if chosen in (None, "all") else 20
    for name, score, i in process.extract(text, index.names, scorer=fuzz.WRatio,
                                          limit=limit * wider, score_cutoff=60):
        bonus = 5.0 if text in name else 0.0
        offer(index.company_ids[i], min(100.0, float(score) + bonus), name)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
    return [{**index.labels[cid], "matched": matched, "score": round(score, 1)}
            for cid, (score, matched) in ranked]
