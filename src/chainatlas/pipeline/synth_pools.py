"""The pieces of the real registry that :mod:`chainatlas.pipeline.synth` builds synthetic
firms from, with their real frequencies.

:func:`synth_pools` keeps *pieces* of the mirror's registry CSVs with their real
frequencies, never rows: (province, city) pairs, raw capital, date and type strings, 字号,
org-form suffixes, surnames and given-name characters (drawn apart, so no real person's
name is copied), streets, and scope clauses (cut at ；;。): off-chain ones (no node keyword
occurs in them, :class:`~chainatlas.chains.matcher.ScopeMatcher` without exclusions, and
the in-process :class:`~chainatlas.chains.scope_rules.ScopeReader` places nobody),
on-node ones (the ScopeReader places them on exactly one node, their truth; nodes with few
real ones get clauses composed from their keywords, kept where the reader agrees), and
boilerplate tails. Each on-node clause carries the hint class of the names that may carry
it (:data:`NEUTRAL` or :data:`ANY`), which the generator honours.

The registry is CC BY-NC-SA 4.0 (the mirror's README): pools stay in memory.
"""

# The SQL is built from this module's constants and pool limits; it takes no user text
# (paths are quoted by sql_literal: read_csv binds no parameters). S608 is ignored for this
# file in pyproject.toml.

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from chainatlas.chains.matcher import ScopeMatcher
from chainatlas.chains.scope import (
    TRADE,
    clause_activity,
    name_activity,
    scope_items,
    strip_boilerplate,
)
from chainatlas.chains.scope_rules import (
    DRUG_GOODS,
    FOOD_GOODS,
    GENERAL_TRADE,
    TRADE_HOMES,
    ScopeReader,
)
from chainatlas.chains.templates import ChainTemplate, load_templates
from chainatlas.errors import DataSourceError, ParameterError
from chainatlas.pipeline.reference import cities_frame, provinces_frame
from chainatlas.pipeline.steps import sql_literal
from chainatlas.sources import geography
from chainatlas.store.database import quiet_connect

#: Called after each stage: (stage name, seconds it took).
Progress = Callable[[str, float], None]
REGISTRY_COLUMNS = ("name", "code", "date", "type", "legal_rep", "capital", "scope",
                    "province", "city", "address")
#: Reader calls are the slow part of the pools: only the most frequent clauses of each
#: keyword's node are read (the big nodes' long tails add nothing).
CLAUSES_PER_KEY = 300
OFF_CHAIN_MAX = 20_000
TRADE_NAMES_MAX = 20_000
STREETS_MAX = 5_000
MIN_NODE_CLAUSES = 5
COMPOSE_TRIES = 60
ORG_FORMS = ("股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "分公司", "总公司", "公司",
             "总厂", "分厂", "厂", "商行", "商店", "经营部", "门市部", "批发部", "合作社", "营业部",
             "分店", "店", "中心", "部", "社", "所", "场", "站")
# Two characters after a place prefix that are no trade name (中国人寿…, a name all place).
_NOT_TRADE_NAMES = frozenset({"中国", "中华", "全国", "国家", "有限", "公司", "股份", "集团",
                              "分公", "总公", "责任"})
# Words by which the reader reads a name (places, 药 shops, fuel stations, builders …).
_NAME_TRIGGERS = ("省", "市", "县", "区", "镇", "乡", "村", "药", "医", "油", "站", "园林",
                  "绿化", "建筑", "装饰", "装修", "物业", "房地", "置业", "劳务", "家政", "保洁",
                  "旅游", "酒店", "保安", "兽")
_CJK = "一-鿿"
_PRODUCE = ("{kw}的生产、销售", "生产、销售：{kw}", "{kw}制造", "{kw}加工")
_TRADE = ("{kw}批发、零售", "{kw}的销售", "零售：{kw}")
_SERVICE = ("{kw}服务", "从事{kw}业务", "{kw}")
_PUNCTUATION_ONLY = re.compile(r"[\W_]*")
_NAME_CUT = re.compile(r"[、与和及（）()，,/]")
_CLAUSE_CUT = "[；;。\\n\\r]+"
_LAST_CLAUSE = "([^；;。\\n\\r]+)[；;。\\s]*$"
_STREET = f"(?:市|区|县|镇)([{_CJK}]{{2,4}}?(?:大街|大道|路|街))"
_SKIPPED_CLAUSE = "主营|兼营|\uFFFD|\\?\\?"
#: Hint classes of on-node clauses: only a neutral name may carry the clause, or any name.
NEUTRAL, ANY = "neutral", "any"


@dataclass
class Pools:
    """The real registry's pieces with their frequencies (``weight``), in memory only."""

    cities: pd.DataFrame        # province, city, weight, adcode, municipal
    capitals: pd.DataFrame      # value, weight
    dates: pd.DataFrame         # value, weight
    types: pd.DataFrame         # value, weight
    trade_names: pd.DataFrame   # value, weight (字号)
    suffixes: pd.DataFrame      # value, hint (neutral / produce / trade), weight
    surnames: pd.DataFrame      # value, weight
    given_chars: pd.DataFrame   # value, weight
    streets: pd.DataFrame       # value, weight
    off_chain: pd.DataFrame     # clause, weight
    on_node: pd.DataFrame       # chain_id, node_id, clause, weight, composed, hint
    boilerplate: pd.DataFrame   # clause, weight
    node_words: pd.DataFrame    # chain_id, node_id, word, hint (neutral / any)
    rates: dict[str, float] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        """Rows per pool, the nodes with clauses, and how many clauses were composed."""
        out = {f.name: len(getattr(self, f.name)) for f in dataclasses.fields(self)
               if isinstance(getattr(self, f.name), pd.DataFrame)}
        out["nodes"] = len(self.on_node[["chain_id", "node_id"]].drop_duplicates())
        out["composed_clauses"] = int(self.on_node["composed"].sum())
        return out


def _alternation(words: set[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


def registry_files(mirror: Path, sample_files: int | None = None) -> list[Path]:
    """The registry CSVs of the mirror, or ``sample_files`` of them spread evenly over
    the sorted list (so a sample spans years and provinces)."""
    folder = Path(mirror) / "registry" / "csv"
    files = sorted(p for p in folder.glob("*/*") if p.name.endswith((".csv", ".csv.gz")))
    if not files:
        raise DataSourceError(f"{folder}: no registry CSV files")
    if sample_files is not None and sample_files < 1:
        raise ParameterError("sample_files must be at least 1")
    if sample_files is None or sample_files >= len(files):
        return files
    return [files[int(j * len(files) / sample_files)] for j in range(sample_files)]


def _load_registry(con: duckdb.DuckDBPyConnection, files: list[Path]) -> int:
    """The rows whose province is a province name as the temp table ``reg`` (in the
    broken rows the field holds a capital or a scope)."""
    paths = ", ".join(sql_literal(str(p)) for p in files)
    names = ", ".join(sql_literal(c) for c in REGISTRY_COLUMNS)
    con.register("province_names", provinces_frame()[["name"]])
    con.execute(f"""
CREATE TEMP TABLE reg AS SELECT * FROM read_csv([{paths}], header = true, all_varchar = true,
  names = [{names}], ignore_errors = true, strict_mode = false)
WHERE province IN (SELECT name FROM province_names)""")
    row = con.execute("SELECT count(*) FROM reg").fetchone()
    return int(row[0]) if row else 0


def _counted(con: duckdb.DuckDBPyConnection, expr: str, where: str = "TRUE",
             limit: int | None = None) -> pd.DataFrame:
    """value, weight: ``expr`` over the registry rows, most frequent first."""
    top = f"LIMIT {int(limit)}" if limit else ""
    return con.execute(f"SELECT value, CAST(count(*) AS BIGINT) AS weight FROM (SELECT "
                       f"{expr} AS value FROM reg WHERE {where}) WHERE value IS NOT NULL AND "
                       f"value <> '' GROUP BY value ORDER BY weight DESC, value {top}").df()


def _city_pool(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """(province, city) as written, with the city's adcode; unresolved pairs dropped."""
    frame = con.execute("SELECT province, city, CAST(count(*) AS BIGINT) AS weight FROM reg "
                        "WHERE city <> 'N/A' GROUP BY ALL ORDER BY weight DESC, province, "
                        "city").df()
    pairs = list(zip(frame["province"], frame["city"], strict=True))
    frame["adcode"] = [geography.city_adcode_from_names(p, c) for p, c in pairs]
    frame["municipal"] = [geography.province_adcode_from_name(p) in geography.MUNICIPALITIES
                          for p, _ in pairs]
    return frame.dropna(subset=["adcode"]).reset_index(drop=True)


def _place_prefix() -> str:
    """A regex of a firm name's place prefix: province and city names (河北, 河北省, 石家庄)
    and short names ending in a division word (长安区, 布扎克乡). Listing every county by
    name made the regex ten times longer and a hundred times slower."""
    names = {n for n in {*provinces_frame()["name"], *cities_frame()["name"]} if len(n) >= 2}
    return f"^(?:{_alternation(names)}|[{_CJK}]{{1,4}}?(?:市|县|区|旗|镇|乡)|省|市|县|区)+"


def _name_pools(con: duckdb.DuckDBPyConnection, matcher: ScopeMatcher
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """字号 (the two characters after a name's place prefix) and org-form suffixes."""
    con.execute(f"""
CREATE TEMP TABLE names AS
SELECT regexp_extract(n, {sql_literal('(' + _alternation(set(ORG_FORMS)) + ')$')}, 1) AS suffix,
       regexp_replace(n, {sql_literal(_place_prefix())}, '') AS rest
FROM (SELECT regexp_replace(name, '\\s+', '', 'g') AS n FROM reg WHERE name <> 'N/A')""")
    suffixes = con.execute("SELECT suffix AS value, CAST(count(*) AS BIGINT) AS weight "
                           "FROM names WHERE suffix <> '' GROUP BY 1 ORDER BY 2 DESC, 1").df()
    suffixes.insert(1, "hint", [name_activity("甲乙丙丁" + s) or NEUTRAL
                                for s in suffixes["value"]])
    raw = con.execute(f"""
SELECT substr(rest, 1, 2) AS value, CAST(count(*) AS BIGINT) AS weight FROM names
WHERE regexp_matches(substr(rest, 1, 2), {sql_literal(f'^[{_CJK}]{{2}}$')})
  AND length(rest) >= length(suffix) + 4
GROUP BY 1 ORDER BY 2 DESC, 1""").df()
    con.execute("DROP TABLE names")
    # A trade name must not change how the firm is read: no place or trigger word, no
    # activity hint, no chain keyword (the reader reads the name's chains and trades).
    keep = [v not in _NOT_TRADE_NAMES and not any(t in v for t in _NAME_TRIGGERS)
            and name_activity("甲乙" + v) is None and not matcher.match(v)
            for v in raw["value"]]
    return raw[keep].head(TRADE_NAMES_MAX).reset_index(drop=True), suffixes


def _person_pools(con: duckdb.DuckDBPyConnection
                  ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Surnames and given-name characters (counted apart), the N/A share and the share of
    two-character given names."""
    person = f"regexp_matches(legal_rep, {sql_literal(f'^[{_CJK}]{{2,3}}$')})"
    given = con.execute(f"""
SELECT value, CAST(count(*) AS BIGINT) AS weight FROM (
  SELECT substr(legal_rep, 2, 1) AS value FROM reg WHERE {person}
  UNION ALL SELECT substr(legal_rep, 3, 1) FROM reg WHERE {person} AND length(legal_rep) = 3)
GROUP BY 1 ORDER BY 2 DESC, 1""").df()
    row = con.execute(f"SELECT avg(CASE WHEN legal_rep = 'N/A' THEN 1.0 ELSE 0.0 END), avg("
                      f"CASE WHEN {person} THEN (length(legal_rep) = 3)::INT END) FROM reg"
                      ).fetchone() or (None, None)
    return _counted(con, "substr(legal_rep, 1, 1)", person), given, {
        "legal_rep_missing": float(row[0] or 0.0), "given_two_chars": float(row[1] or 0.0)}


def _real_clauses(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every scope clause with its frequency, most frequent first, leaving out clauses
    that cannot stand alone in a synthetic scope (主营/兼营 markers, mojibake, long
    texts); and the frequency of each clause as a scope's last one."""
    trim = "trim({}, ' 、，,')"
    cut = trim.format(f"unnest(regexp_split_to_array(scope, {sql_literal(_CLAUSE_CUT)}))")
    clauses = con.execute(f"""
SELECT clause, CAST(count(*) AS BIGINT) AS weight FROM (
  SELECT {cut} AS clause FROM reg WHERE scope <> 'N/A')
WHERE length(clause) BETWEEN 2 AND 80 AND NOT regexp_matches(clause, {sql_literal(_SKIPPED_CLAUSE)})
GROUP BY 1 ORDER BY 2 DESC, 1""").df()
    last = trim.format(f"regexp_extract(scope, {sql_literal(_LAST_CLAUSE)}, 1)")
    return clauses, _counted(con, last, "scope <> 'N/A'")


def _hint_class(clause: str, key: tuple[str, str]) -> str:
    """Which names may carry the clause. A verbless part takes the name's hint (…商行
    sells, …厂 makes), and a firm that first sells gets its unnamed goods placed on the
    general trade node when its name says it trades: such clauses need a neutral name."""
    items = scope_items(clause)
    verbless = any(not item.activities for item in items)
    first = clause_activity(items[0]) if items else None
    return NEUTRAL if verbless or (first == TRADE and key != GENERAL_TRADE) else ANY


def _sort_clauses(clauses: pd.DataFrame, reader: ScopeReader, keyword: ScopeMatcher
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(off-chain, on-node, boilerplate) from the real clauses, most frequent first."""
    off: list[tuple[str, int]] = []
    boiler: list[tuple[str, int]] = []
    on: list[tuple[str, str, str, int, bool, str]] = []
    per_key: dict[tuple[str, str], int] = {}
    goods = (*DRUG_GOODS, *FOOD_GOODS)
    for clause, weight in zip(clauses["clause"], clauses["weight"], strict=True):
        if _PUNCTUATION_ONLY.fullmatch(clause):
            continue  # '...', '＊＊': marks left in a scope, no clause
        if _PUNCTUATION_ONLY.fullmatch(strip_boilerplate(clause)):
            boiler.append((clause, int(weight)))
            continue
        keys = keyword.match(clause)
        full = all(per_key.get(k, 0) >= CLAUSES_PER_KEY for k in keys)
        if len(off) >= OFF_CHAIN_MAX if not keys else full:
            continue
        for k in keys:
            per_key[k] = per_key.get(k, 0) + 1
        placed = reader.read(clause)
        if len(placed) == 1:
            node = next(iter(placed))
            on.append((*node, clause, int(weight), False, _hint_class(clause, node)))
        elif not placed and not keys and not any(w in clause for w in goods):
            # Drug and food goods make a selling clause a trade line (read with a trading
            # name's hint, a verbless one sells): no off-chain clause names them.
            off.append((clause, int(weight)))
    return (pd.DataFrame(off, columns=["clause", "weight"]),
            pd.DataFrame(on, columns=["chain_id", "node_id", "clause", "weight", "composed",
                                      "hint"]),
            pd.DataFrame(boiler, columns=["clause", "weight"]))


def _patterns(template: ChainTemplate, node_id: str) -> tuple[str, ...]:
    """Verb patterns for a node, its own kind first: a maker's clause must make (selling
    only, it belongs to the chain's trade node), a trade node's must sell."""
    home = TRADE_HOMES.get(template.id)
    if home and (node_id == home or node_id in {d.id for d in template.descendants(home)}):
        return _TRADE + _SERVICE
    if template.node(node_id).kind in ("service", "operator"):
        return _SERVICE + _PRODUCE
    return _PRODUCE + _SERVICE


def _compose(templates: Mapping[str, ChainTemplate], reader: ScopeReader,
             on_node: pd.DataFrame) -> pd.DataFrame:
    """Clauses composed from the keywords of nodes with too few real clauses, each kept
    only where the reader places it on exactly that node."""
    have = on_node.groupby(["chain_id", "node_id"]).size().to_dict()
    rows = []
    for cid, template in templates.items():
        for node in template.nodes:
            missing = MIN_NODE_CLAUSES - int(have.get((cid, node.id), 0))
            tries = [p.format(kw=kw) for p in _patterns(template, node.id)
                     for kw in dict.fromkeys((*node.keywords, *node.scope_keywords))]
            for clause in tries[:COMPOSE_TRIES] if missing > 0 else ():
                if set(reader.read(clause)) == {(cid, node.id)}:
                    rows.append((cid, node.id, clause, 1, True, _hint_class(clause,
                                                                            (cid, node.id))))
                    missing -= 1
                    if not missing:
                        break
    return pd.concat([on_node, pd.DataFrame(rows, columns=on_node.columns)],
                     ignore_index=True) if rows else on_node


def _node_words(templates: Mapping[str, ChainTemplate], suffixes: pd.DataFrame
                ) -> pd.DataFrame:
    """Industry words for each node's firm names, from its name and keywords; the
    neutral ones give no activity hint with any neutral suffix."""
    neutral_suffixes = list(suffixes.loc[suffixes["hint"] == NEUTRAL, "value"])
    cjk = re.compile(f"^[{_CJK}]+$")
    rows = []
    for cid, template in templates.items():
        for node in template.nodes:
            pieces = [p for p in _NAME_CUT.split(node.name_zh) if 2 <= len(p) <= 6]
            keywords = [k for k in (*node.keywords, *node.scope_keywords) if 2 <= len(k) <= 4]
            words = [w for w in dict.fromkeys([*pieces, *keywords]) if cjk.match(w)][:8]
            neutral = [w for w in words if all(name_activity("甲乙" + w + s) is None
                                               for s in ["", "有限公司", *neutral_suffixes])]
            rows += [(cid, node.id, w, ANY) for w in words or [""]]
            rows += [(cid, node.id, w, NEUTRAL) for w in neutral or [""]]
    return pd.DataFrame(rows, columns=["chain_id", "node_id", "word", "hint"])


def synth_pools(mirror: Path, sample_files: int | None = None,
                progress: Progress | None = None) -> Pools:
    """The :class:`Pools` of the mirror's registry CSVs (all, or ``sample_files`` of
    them spread over the years and provinces)."""
    files = registry_files(mirror, sample_files)
    templates = load_templates()
    reader = ScopeReader(templates)
    keyword = ScopeMatcher({cid: dataclasses.replace(t, nodes=tuple(
        dataclasses.replace(n, exclude=()) for n in t.nodes)) for cid, t in templates.items()})
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def done(stage: str) -> None:
        nonlocal started
        seconds[stage] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        if progress:
            progress(stage, seconds[stage])

    con = quiet_connect()
    try:
        rows = _load_registry(con, files)
        done("read")
        cities = _city_pool(con)
        capitals, dates, types = (_counted(con, c) for c in ("capital", "date", "type"))
        trade_names, suffixes = _name_pools(con, ScopeMatcher(templates))
        surnames, given, rates = _person_pools(con)
        streets = _counted(con, f"regexp_extract(address, {sql_literal(_STREET)}, 1)",
                           "address <> 'N/A'", STREETS_MAX)
        done("pieces")
        clauses, last = _real_clauses(con)
        done("clauses")
    finally:
        con.close()
    off, on, boiler = _sort_clauses(clauses, reader, keyword)
    done("sort_clauses")
    on, words = _compose(templates, reader, on), _node_words(templates, suffixes)
    tails = last[last["value"].isin(set(boiler["clause"]))]["weight"].sum()
    rates["boilerplate_tail"] = float(tails) / max(1, int(last["weight"].sum()))
    done("compose")
    source = {"files": len(files), "rows": rows, "distinct_clauses": len(clauses),
              "seconds": seconds}
    return Pools(cities, capitals, dates, types, trade_names, suffixes, surnames, given,
                 streets, off, on, boiler, words, rates, source)
