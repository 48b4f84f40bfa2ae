"""A synthetic registry of any size from the real registry's pieces, with each firm's
true chain node known, so placement accuracy can be measured at scale.

:func:`synth_pools` keeps *pieces* of the mirror's registry CSVs with their real
frequencies, never rows: (province, city) pairs, raw capital, date and type strings, 字号,
org-form suffixes, surnames and given-name characters (drawn apart, so no real person's
name is copied), streets, and scope clauses (cut at ；;。): off-chain ones (no node keyword
occurs in them, :class:`~chainatlas.chains.matcher.ScopeMatcher` without exclusions, and
the in-process :class:`~chainatlas.chains.scope_rules.ScopeReader` places nobody),
on-node ones (the ScopeReader places them on exactly one node, their truth; nodes with few
real ones get clauses composed from their keywords, kept where the reader agrees), and
boilerplate tails.

:func:`synth_registry` draws firms in DuckDB SQL over ``range(N)``: each choice is
``hash(key, seed, purpose)`` against a pool's cumulative weights (an ASOF join), so the
output depends on the seed alone and costs no Python per row. The true node's clauses
come first; the name's activity hint is chosen so it cannot move them (a verbless clause
takes the name's hint, :func:`~chainatlas.chains.scope.clause_activity`). Quirks come at
real-ish rates and are counted: duplicate rows, wrong USCC check digits, N/A cells, spaces
in names. The registry is CC BY-NC-SA 4.0 (the mirror's README): pools stay in memory.
"""

# ruff: noqa: S608
# The SQL is built from this module's constants, pool sizes and integer seeds; it takes no
# user text (paths are quoted by _lit: DDL, COPY and read_csv bind no parameters).

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import shutil
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
from chainatlas.sources import geography

#: Called after each stage: (stage name, seconds it took).
Progress = Callable[[str, float], None]
REGISTRY_COLUMNS = ("name", "code", "date", "type", "legal_rep", "capital", "scope",
                    "province", "city", "address")
OUTPUT_COLUMNS = ("row_id", *REGISTRY_COLUMNS, "true_chain_id", "true_node_id")
ROWS_PER_FILE = 1_000_000
#: Rows per query (a file is written from several): the joins' memory grows with them.
CHUNK_ROWS = 250_000
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: Reader calls are the slow part of the pools: only the most frequent clauses of each
#: keyword's node are read (the big nodes' long tails add nothing).
CLAUSES_PER_KEY = 300
OFF_CHAIN_MAX = 20_000
TRADE_NAMES_MAX = 20_000
STREETS_MAX = 5_000
MIN_NODE_CLAUSES = 5
COMPOSE_TRIES = 60
UNIFORM_SHARE = 0.2
#: Per-mille rates of the shapes and quirks the generator adds.
RATES = {"duplicate": 5, "bad_check": 10, "spaced_name": 3, "na_city": 2, "na_address": 1,
         "side_line": 100, "second_clause": 350}
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


@dataclass
class SynthReport:
    """What :func:`synth_registry` wrote."""

    out: str
    rows: int
    files: int
    seed: int
    seconds: float
    quirks: dict[str, int]
    shapes: dict[str, int]
    pool_sizes: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""
        rate = round(self.rows / self.seconds) if self.seconds else None
        return dataclasses.asdict(self) | {"rows_per_second": rate}


def _lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _alternation(words: set[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


# --------------------------------------------------------------------------- pools


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
    paths = ", ".join(_lit(str(p)) for p in files)
    names = ", ".join(_lit(c) for c in REGISTRY_COLUMNS)
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
SELECT regexp_extract(n, {_lit('(' + _alternation(set(ORG_FORMS)) + ')$')}, 1) AS suffix,
       regexp_replace(n, {_lit(_place_prefix())}, '') AS rest
FROM (SELECT regexp_replace(name, '\\s+', '', 'g') AS n FROM reg WHERE name <> 'N/A')""")
    suffixes = con.execute("SELECT suffix AS value, CAST(count(*) AS BIGINT) AS weight "
                           "FROM names WHERE suffix <> '' GROUP BY 1 ORDER BY 2 DESC, 1").df()
    suffixes.insert(1, "hint", [name_activity("甲乙丙丁" + s) or NEUTRAL
                                for s in suffixes["value"]])
    raw = con.execute(f"""
SELECT substr(rest, 1, 2) AS value, CAST(count(*) AS BIGINT) AS weight FROM names
WHERE regexp_matches(substr(rest, 1, 2), {_lit(f'^[{_CJK}]{{2}}$')})
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
    person = f"regexp_matches(legal_rep, {_lit(f'^[{_CJK}]{{2,3}}$')})"
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
    cut = trim.format(f"unnest(regexp_split_to_array(scope, {_lit(_CLAUSE_CUT)}))")
    clauses = con.execute(f"""
SELECT clause, CAST(count(*) AS BIGINT) AS weight FROM (
  SELECT {cut} AS clause FROM reg WHERE scope <> 'N/A')
WHERE length(clause) BETWEEN 2 AND 80 AND NOT regexp_matches(clause, {_lit(_SKIPPED_CLAUSE)})
GROUP BY 1 ORDER BY 2 DESC, 1""").df()
    last = trim.format(f"regexp_extract(scope, {_lit(_LAST_CLAUSE)}, 1)")
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

    con = duckdb.connect()
    try:
        rows = _load_registry(con, files)
        done("read")
        cities = _city_pool(con)
        capitals, dates, types = (_counted(con, c) for c in ("capital", "date", "type"))
        trade_names, suffixes = _name_pools(con, ScopeMatcher(templates))
        surnames, given, rates = _person_pools(con)
        streets = _counted(con, f"regexp_extract(address, {_lit(_STREET)}, 1)",
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


# --------------------------------------------------------------------------- generation


def _cumulative(frame: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """The frame with ``idx`` and ``lo``, the weight before each row (within ``by``): a
    draw ``u`` in [0, total) picks the row with the largest ``lo`` <= ``u`` (ASOF join)."""
    out = frame.reset_index(drop=True).assign(weight=lambda f: f["weight"].astype("int64"))
    sums = out.groupby(by)["weight"].cumsum() if by else out["weight"].cumsum()
    return out.assign(lo=(sums - out["weight"]).astype("int64"), idx=range(len(out)))


def _total(frame: pd.DataFrame) -> int:
    return max(1, int(frame["weight"].sum()))


def _node_table(pools: Pools) -> pd.DataFrame:
    """One row per node with clauses: its draw weight (its clauses' real frequency mixed
    with a uniform share, in millionths) and the sizes of its clause and word pools."""
    keys = ["chain_id", "node_id"]
    on = pools.on_node
    nodes = on.groupby(keys)["weight"].sum().rename("clause_total").reset_index()
    real = on[~on["composed"]].groupby(keys)["weight"].sum()
    share = nodes.set_index(keys).index.map(lambda k: float(real.get(k, 0))).to_numpy()
    mixed = (1 - UNIFORM_SHARE) * share / max(1.0, share.sum()) + UNIFORM_SHARE / len(nodes)
    nodes["weight"] = [max(1, round(m * 1_000_000)) for m in mixed]
    words = pools.node_words.groupby([*keys, "hint"]).size()
    for hint in (ANY, NEUTRAL):
        nodes[f"words_{hint}"] = [int(words.get((c, n, hint), 1)) for c, n in zip(
            nodes["chain_id"], nodes["node_id"], strict=True)]
    return _cumulative(nodes).assign(node_idx=lambda f: f["idx"])


def _tables(pools: Pools) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The draw tables (``g_*``) and the totals the draws take modulo."""
    plain = {"city": pools.cities, "capital": pools.capitals, "date": pools.dates,
             "type": pools.types, "zh": pools.trade_names, "surname": pools.surnames,
             "given": pools.given_chars, "street": pools.streets, "off": pools.off_chain,
             "boiler": pools.boilerplate, "on": pools.on_node}
    empty = [name for name, frame in plain.items() if frame.empty]
    if empty:
        raise ParameterError(f"empty pools ({', '.join(empty)}): build them from more files")
    nodes = _node_table(pools)
    index = nodes.set_index(["chain_id", "node_id"])["node_idx"]

    def by_node(frame: pd.DataFrame) -> pd.DataFrame:
        keys = zip(frame["chain_id"], frame["node_id"], strict=True)
        return frame.assign(node_idx=[int(index[k]) for k in keys])

    words = by_node(pools.node_words.merge(nodes[["chain_id", "node_id"]])).assign(weight=1)
    neutral = pools.suffixes[pools.suffixes["hint"] == NEUTRAL]
    if neutral.empty:  # a tiny sample: a neutral name still needs a suffix
        neutral = pd.DataFrame({"value": ["有限公司"], "hint": [NEUTRAL], "weight": [1]})
    suffixes = pd.concat([pools.suffixes.assign(hint=ANY), neutral])
    tables = {f"g_{name}": _cumulative(frame) for name, frame in plain.items() if name != "on"}
    tables |= {"g_node": nodes, "g_on": _cumulative(by_node(pools.on_node), ["node_idx"]),
               "g_suffix": _cumulative(suffixes, ["hint"]),
               "g_word": _cumulative(words, ["node_idx", "hint"])}
    totals = {name: _total(frame) for name, frame in plain.items()}
    totals |= {"node": _total(nodes), "nodes": len(nodes), "suffix_any": _total(suffixes[
        suffixes["hint"] == ANY]), "suffix_neutral": _total(neutral)}
    return tables, totals


def _draw(purpose: str, modulo: str | int, seed: int, key: str = "key") -> str:
    """SQL: a deterministic draw in [0, modulo) for this row, seed and purpose."""
    return (f"CAST(hash({key}, {int(seed)}, {_lit(purpose)}) % CAST({modulo} AS UBIGINT) "
            f"AS BIGINT)")


def _flags_sql(seed: int, rates: Mapping[str, float]) -> str:
    """The row's shapes and quirks, each a draw of its own (from the key: a duplicate
    has its original's)."""
    chances = {"bad_check": RATES["bad_check"], "spaced": RATES["spaced_name"],
               "na_city": RATES["na_city"], "na_address": RATES["na_address"],
               "na_rep": 1000 * rates.get("legal_rep_missing", 0.0),
               "two_given": 1000 * rates.get("given_two_chars", 0.5),
               "side_line": RATES["side_line"], "second_wanted": RATES["second_clause"],
               "tail": 1000 * rates.get("boilerplate_tail", 0.1)}
    picks = {"off_pick": 100, "sep_pick": 10, "end_pick": 10, "shi_pick": 10, "street_no": 300}
    return ", ".join([*(f"{_draw(n, 1_000_000, seed)} < {round(v * 1000)} AS {n}"
                        for n, v in chances.items()),
                      *(f"{_draw(n, m, seed)} AS {n}" for n, m in picks.items())])


#: Draws from pools that depend on nothing else: (output, table, text column).
_PLAIN = (("capital", "g_capital", "value"), ("date", "g_date", "value"),
          ("type", "g_type", "value"), ("zh", "g_zh", "value"),
          ("surname", "g_surname", "value"), ("given1", "g_given", "value"),
          ("given2", "g_given", "value"), ("street", "g_street", "value"),
          ("off1", "g_off", "clause"), ("off2", "g_off", "clause"), ("off3", "g_off", "clause"),
          ("boiler", "g_boiler", "clause"), ("city", "g_city", "city"))


def _draws_sql(start: int, stop: int, seed: int, totals: Mapping[str, int],
               rates: Mapping[str, float]) -> str:
    """CTEs r, k, u, s1: the key, the draws, the node and the plain pools' rows. Only
    integers go through the ASOF joins; the texts are joined at the end (cheaper)."""
    dup = RATES["duplicate"]
    plain = ", ".join(f"{_draw(out, totals[table[2:]], seed)} AS u_{out}"
                      for out, table, _ in _PLAIN)
    joins = "\n  ".join(f"ASOF JOIN {table} j_{out} ON u.u_{out} >= j_{out}.lo"
                        for out, table, _ in _PLAIN)
    picks = ", ".join(f"j_{out}.idx AS {out}_i" for out, _, _ in _PLAIN)
    # A duplicate copies an earlier row that is no duplicate itself: every draw is made
    # from the key, so the copy is exact.
    return f"""
WITH r AS (
  SELECT i AS n, greatest(i - 1 - {_draw('dup_source', 1000, seed, 'i')}, 0) AS src,
         i > 0 AND {_draw('dup', 1000, seed, 'i')} < {dup} AS dup
  FROM range({int(start)}, {int(stop)}) t(i)
), k AS (
  SELECT n, CASE WHEN dup AND NOT (src > 0 AND {_draw('dup', 1000, seed, 'src')} < {dup})
                 THEN src ELSE n END AS key
  FROM r
), u AS (
  SELECT n, key, key <> n AS is_dup, {_draw('node', totals['node'], seed)} AS u_node,
         {_draw('side_node', totals['node'], seed)} AS u_side, {plain},
         {_flags_sql(seed, rates)}
  FROM k
), s1 AS (
  SELECT u.*, g.node_idx, g.clause_total, g.words_any, g.words_neutral, {picks}
  FROM u
  ASOF JOIN g_node g ON u.u_node >= g.lo
  {joins}
)"""


def _clauses_sql(seed: int, totals: Mapping[str, int]) -> str:
    """CTEs s2 … s5: the node's clauses, the side line, and the suffix and word that the
    first clause's hint class allows."""
    def draw(purpose: str, modulo: str) -> str:
        return _draw(purpose, modulo, seed)

    suffix_total = (f"CASE WHEN hint = '{NEUTRAL}' THEN {totals['suffix_neutral']} "
                    f"ELSE {totals['suffix_any']} END")
    word_total = f"CASE WHEN hint = '{NEUTRAL}' THEN words_neutral ELSE words_any END"
    # A second clause must differ, and under a name that hints it must not be verbless.
    return f""", s2 AS (
  SELECT s1.*, CASE WHEN sd.node_idx = s1.node_idx THEN (sd.node_idx + 1) % {totals['nodes']}
                    ELSE sd.node_idx END AS side_idx,
         {draw('on1', 's1.clause_total')} AS u_on1, {draw('on2', 's1.clause_total')} AS u_on2
  FROM s1 ASOF JOIN g_node sd ON s1.u_side >= sd.lo
), s3 AS (
  SELECT s2.*, a1.idx AS on1_i, a1.hint AS hint, a1.composed, a2.idx AS on2_i,
         second_wanted AND a2.idx <> a1.idx AND (a1.hint = '{NEUTRAL}' OR a2.hint = '{ANY}')
           AS second, sn.clause_total AS side_total
  FROM s2
  ASOF JOIN g_on a1 ON a1.node_idx = s2.node_idx AND s2.u_on1 >= a1.lo
  ASOF JOIN g_on a2 ON a2.node_idx = s2.node_idx AND s2.u_on2 >= a2.lo
  JOIN g_node sn ON sn.node_idx = s2.side_idx
), s4 AS (
  SELECT s3.*, {draw('side', 'side_total')} AS u_sidec, {draw('suffix', suffix_total)}
         AS u_suffix, {draw('word', word_total)} AS u_word
  FROM s3
), s5 AS (
  SELECT s4.*, sc.idx AS side_i, sf.idx AS suffix_i, w.idx AS word_i
  FROM s4
  ASOF JOIN g_on sc ON sc.node_idx = s4.side_idx AND s4.u_sidec >= sc.lo
  ASOF JOIN g_suffix sf ON sf.hint = s4.hint AND s4.u_suffix >= sf.lo
  ASOF JOIN g_word w ON w.node_idx = s4.node_idx AND w.hint = s4.hint AND s4.u_word >= w.lo
)"""


def _texts_sql(seed: int) -> str:
    """CTEs t and v: the texts of the rows drawn, and the USCC's nine digits."""
    plain = " ".join(f"JOIN {table} x_{out} ON x_{out}.idx = s5.{out}_i"
                     for out, table, _ in _PLAIN)
    texts = ", ".join(f"x_{out}.{column} AS {out}" for out, _, column in _PLAIN)
    span = len(USCC_ALPHABET) ** 9
    offset = int(hashlib.md5(str(seed).encode()).hexdigest(), 16) % span
    # A golden-ratio step, coprime with 31: key -> code is one-to-one (codes never
    # collide by chance) and every digit changes from one row to the next.
    step = int(span * 0.6180339887498949) | 1
    step += 2 if step % 31 == 0 else 0
    digits = ", ".join(f"(uv // {31 ** (8 - j)}) % 31 AS d{j}" for j in range(9))
    return f""", t AS (
  SELECT s5.*, {texts}, x_city.province, x_city.adcode, x_city.municipal,
         g.chain_id AS true_chain_id, g.node_id AS true_node_id, o1.clause AS on1,
         o2.clause AS on2, sc.clause AS side_clause, sf.value AS suffix, w.word AS word,
         CAST((CAST(key AS HUGEINT) * {step} + {offset}) % {span} AS BIGINT) AS uv,
         CASE WHEN sep_pick < 8 THEN '；' WHEN sep_pick = 8 THEN ';' ELSE '。' END AS sep,
         (CASE WHEN off_pick >= 25 THEN 1 ELSE 0 END + CASE WHEN off_pick >= 55 THEN 1
          ELSE 0 END + CASE WHEN off_pick >= 80 THEN 1 ELSE 0 END) AS off_count
  FROM s5 {plain}
  JOIN g_node g ON g.node_idx = s5.node_idx JOIN g_on o1 ON o1.idx = s5.on1_i
  JOIN g_on o2 ON o2.idx = s5.on2_i JOIN g_on sc ON sc.idx = s5.side_i
  JOIN g_suffix sf ON sf.idx = s5.suffix_i JOIN g_word w ON w.idx = s5.word_i
), v AS (SELECT *, {digits} FROM t)"""


def _uscc_sql(seed: int) -> str:
    """SQL of the USCC: 91, the region, the nine digits and the GB 32100 check digit,
    made wrong on purpose for the bad-check quirk."""
    region = [f"CAST(substr(adcode, {i + 1}, 1) AS BIGINT)" for i in range(6)]
    terms = " + ".join(f"{v} * {w}" for v, w in zip(
        ["9", "1", *region, *(f"d{j}" for j in range(9))], USCC_WEIGHTS, strict=True))
    check = f"((31 - ({terms}) % 31) % 31)"
    wrong = f"(({check} + 1 + {_draw('bad_shift', 30, seed)}) % 31)"
    alphabet = _lit(USCC_ALPHABET)
    chars = " || ".join(f"substr({alphabet}, CAST(d{j} AS INTEGER) + 1, 1)" for j in range(9))
    return (f"'91' || adcode || {chars} || substr({alphabet}, CAST(CASE WHEN bad_check "
            f"THEN {wrong} ELSE {check} END AS INTEGER) + 1, 1)")


def _row_sql(seed: int) -> str:
    """The final SELECT: the registry columns, the truth, and the flags counted."""
    prefix = ("CASE WHEN municipal THEN province WHEN shi_pick >= 8 OR regexp_matches(city, "
              "'(?:市|州|盟|地区|区|县)$') THEN city ELSE city || '市' END")
    scope = ("concat_ws(sep, on1, CASE WHEN second THEN on2 END, CASE WHEN off_count >= 1 "
             "THEN off1 END, CASE WHEN off_count >= 2 AND off2 <> off1 THEN off2 END, "
             "CASE WHEN off_count >= 3 AND off3 <> off2 AND off3 <> off1 THEN off3 END) || "
             "CASE WHEN side_line THEN sep || '兼营：' || side_clause ELSE '' END || "
             "CASE WHEN end_pick < 6 THEN '。' ELSE '' END || CASE WHEN NOT tail THEN '' "
             "WHEN end_pick < 6 OR regexp_matches(boiler, '^[（(【]') THEN boiler "
             "ELSE sep || boiler END")
    return f"""
SELECT n + 1 AS row_id,
       {prefix} || CASE WHEN spaced THEN ' ' ELSE '' END || zh || word || suffix AS name,
       {_uscc_sql(seed)} AS code, date, type,
       CASE WHEN na_rep THEN 'N/A' ELSE surname || given1
            || CASE WHEN two_given THEN given2 ELSE '' END END AS legal_rep,
       capital, {scope} AS scope, province,
       CASE WHEN na_city THEN 'N/A' ELSE city END AS city,
       CASE WHEN na_address THEN 'N/A' ELSE province || city || street
            || CAST(1 + street_no AS VARCHAR) || '号' END AS address,
       true_chain_id, true_node_id,
       is_dup, bad_check, spaced, second, side_line, tail, off_count, composed
FROM v"""


def chunk_sql(start: int, stop: int, seed: int, totals: Mapping[str, int],
              rates: Mapping[str, float]) -> str:
    """The SQL of rows ``start`` … ``stop - 1`` (0-based) over the ``g_*`` tables."""
    return (_draws_sql(start, stop, seed, totals, rates) + _clauses_sql(seed, totals)
            + _texts_sql(seed) + _row_sql(seed))


_COUNTS = {"duplicate_rows": "count_if(is_dup)", "bad_check_digit": "count_if(bad_check)",
           "spaced_name": "count_if(spaced)",
           **{f"na_{c}": f"count_if({c} = 'N/A')"
              for c in ("city", "address", "legal_rep", "type", "capital", "date")}}
_SHAPES = {"second_clause": "count_if(second)", "side_line": "count_if(side_line)",
           "boilerplate_tail": "count_if(tail)", "off_chain_clauses": "sum(off_count)",
           "composed_first_clause": "count_if(composed)"}


def _write_file(con: duckdb.DuckDBPyConnection, sqls: list[str], path: Path
                ) -> dict[str, int]:
    """Generate one file's rows (a query per chunk), write them sorted by row_id, and
    return their counts."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE chunk AS {sqls[0]}")
    for sql in sqls[1:]:
        con.execute(f"INSERT INTO chunk {sql}")
    con.execute(f"COPY (SELECT {', '.join(OUTPUT_COLUMNS)} FROM chunk ORDER BY row_id) "
                f"TO {_lit(str(path))} (FORMAT parquet)")
    counts = {**_COUNTS, **_SHAPES}
    row = con.execute("SELECT " + ", ".join(f"CAST({e} AS BIGINT)" for e in counts.values())
                      + " FROM chunk").fetchone() or ()
    con.execute("DROP TABLE chunk")
    return {n: int(v or 0) for n, v in zip(counts, row, strict=True)}


def synth_registry(out: str | Path, firms: int, pools: Pools, *, seed: int = 0,
                   files: int | None = None, progress: Progress | None = None,
                   memory_limit: str = "3GB") -> SynthReport:
    """Write ``firms`` synthetic registry rows as Parquet files ``part-NNNNN.parquet``
    under ``out`` (one per ``ROWS_PER_FILE`` rows unless ``files`` is given): the
    registry's columns plus ``true_chain_id`` and ``true_node_id``."""
    count = files or max(1, math.ceil(firms / ROWS_PER_FILE))
    if firms < 1 or not 1 <= count <= firms:
        raise ParameterError(f"need at least one firm and 1 … firms files ({firms}, {files})")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part-*.parquet"):
        old.unlink()  # a smaller run must not leave an earlier run's files behind
    tables, totals = _tables(pools)
    started = time.perf_counter()
    counts = dict.fromkeys([*_COUNTS, *_SHAPES], 0)
    con, spill = duckdb.connect(), folder / "_spill"
    try:
        con.execute(f"SET memory_limit = {_lit(memory_limit)}")
        con.execute(f"SET temp_directory = {_lit(str(spill))}")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
        for j in range(count):
            begun, path = time.perf_counter(), folder / f"part-{j:05d}.parquet"
            start, stop = j * firms // count, (j + 1) * firms // count
            sqls = [chunk_sql(a, min(a + CHUNK_ROWS, stop), seed, totals, pools.rates)
                    for a in range(start, stop, CHUNK_ROWS)]
            for name, value in _write_file(con, sqls, path).items():
                counts[name] += value
            if progress:
                progress(path.name, round(time.perf_counter() - begun, 3))
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    return SynthReport(str(folder), firms, count, seed,
                       round(time.perf_counter() - started, 3),
                       {k: counts[k] for k in _COUNTS}, {k: counts[k] for k in _SHAPES},
                       pools.sizes())
