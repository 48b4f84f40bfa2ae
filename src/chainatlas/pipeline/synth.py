"""A synthetic registry of any size from the real registry's pieces, with each firm's
true chain node known, so placement accuracy can be measured at scale.

The pieces and their real frequencies are the :class:`Pools` of
:mod:`chainatlas.pipeline.synth_pools` (:func:`synth_pools`, re-exported here).
:func:`synth_registry` draws firms from them in DuckDB SQL over ``range(N)``: each choice
is ``hash(key, seed, purpose)`` against a pool's cumulative weights (an ASOF join), so the
output depends on the seed alone and costs no Python per row. The true node's clauses
come first; the name's activity hint is chosen so it cannot move them (a verbless clause
takes the name's hint, :func:`~chainatlas.chains.scope.clause_activity`). Quirks come at
real-ish rates and are counted: duplicate rows, wrong USCC check digits, N/A cells, spaces
in names.
"""

# The SQL is built from this module's constants, pool sizes and integer seeds; it takes no
# user text (paths are quoted by sql_literal: DDL and COPY bind no parameters). S608 is
# ignored for this file in pyproject.toml.

from __future__ import annotations

import dataclasses
import hashlib
import math
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from chainatlas.errors import ParameterError
from chainatlas.pipeline.steps import sql_literal
from chainatlas.pipeline.synth_pools import (
    ANY,
    NEUTRAL,
    REGISTRY_COLUMNS,
    Pools,
    Progress,
    registry_files,
    synth_pools,
)
from chainatlas.store.database import quiet_connect

__all__ = [
    "CHUNK_ROWS",
    "OUTPUT_COLUMNS",
    "RATES",
    "ROWS_PER_FILE",
    "UNIFORM_SHARE",
    "USCC_ALPHABET",
    "USCC_WEIGHTS",
    "Pools",
    "Progress",
    "SynthReport",
    "chunk_sql",
    "registry_files",
    "synth_pools",
    "synth_registry",
]

OUTPUT_COLUMNS = ("row_id", *REGISTRY_COLUMNS, "true_chain_id", "true_node_id")
ROWS_PER_FILE = 1_000_000
#: Rows per query (a file is written from several): the joins' memory grows with them.
CHUNK_ROWS = 250_000
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
UNIFORM_SHARE = 0.2
#: Per-mille rates of the shapes and quirks the generator adds.
RATES = {"duplicate": 5, "bad_check": 10, "spaced_name": 3, "na_city": 2, "na_address": 1,
         "side_line": 100, "second_clause": 350}


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
    return (f"CAST(hash({key}, {int(seed)}, {sql_literal(purpose)}) % CAST({modulo} AS UBIGINT) "
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
    alphabet = sql_literal(USCC_ALPHABET)
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
                f"TO {sql_literal(str(path))} (FORMAT parquet)")
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
    con, spill = quiet_connect(), folder / "_spill"
    try:
        con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
        con.execute(f"SET temp_directory = {sql_literal(str(spill))}")
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
