"""The batch pipeline, defined once as SQL: registry rows in, city × node figures out.

Each step is one ``SELECT`` in DuckDB's dialect over the registry (``registry``), the
reference tables (:mod:`chainatlas.pipeline.reference`) and the steps before it. DuckDB
runs it as written; for Spark, sqlglot transpiles it (:mod:`chainatlas.pipeline.engines`).
The steps:

1. ``firms`` — normalisation: missing markers (N/A, -, 无) to null, names without spaces,
   the USCC's shape and check digit (GB 32100-2015, computed in SQL), the registration
   date from any ``YYYY-M-D`` / ``YYYY年M月D日`` shape, the registered capital in 万 of its
   currency and in 万 CNY, the province and city adcodes from the registry's names, and one
   row per firm (a valid USCC is the key; other rows are keyed by name, date and province;
   the earliest registration, then the first row, is kept).
2. ``scope_items`` — scope-item extraction: boilerplate dropped
   (:data:`chainatlas.chains.scope.BOILERPLATE_PATTERN`), the scope cut at ；;。 into
   clauses, the part after 兼营 marked as a side line, catalogue clauses that name no chain
   dropped, each clause weighted ``round(1000 / (1 + RANK_DECAY × rank))`` (halved for
   side lines: integer weights, so sums are exact on every engine), its activity read from
   its verbs (making wins over selling over serving), and cut at 、，, into items.
3. ``item_hits`` — rule placement of each distinct item: every keyword it contains, found
   by joining its substrings against the keyword table (a hash join, not a scan of every
   keyword), unless it also contains one of that node's exclusions, and not where a longer
   keyword covers the same characters (中药材 is not 中药).
4. ``placements`` — per firm, a clause's hits count once per node with the clause's
   weight; a clause that only sells moves its hits to the chain's trade node; the node
   with the highest score (then most clauses, then ids) is the firm's.
5. ``city_node`` — firms per city and node; ``lq`` — the location quotient
   (city share of the node over the national share, over firms located in a city);
   ``relatedness_inputs`` — the leaf-node rows of ``lq`` with presence (LQ ≥ 1), the
   input of the product-space density, which runs in Python (ecomplexity) on this output.

Portability rules (the parity test holds both engines to them; :func:`check_portable`
refuses SQL that breaks them): no arrays (DuckDB lists are 1-based, Spark arrays 0-based,
and sqlglot shifts only literal subscripts) — texts are cut with ``split_part`` against the
``positions`` table, joined on an equality (a part count; Spark runs an inequality join as a
nested loop); every ``regexp_replace`` passes ``'g'`` (DuckDB replaces the first
match only, Spark every match); no ``hash`` (the engines' hashes differ; ``md5`` agrees);
casts that may fail are ``TRY_CAST`` (Spark 4 runs ANSI mode); sums are cast to BIGINT
(DuckDB widens a BIGINT sum to HUGEINT); regexes use no look-around (RE2 has none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chainatlas.chains.scope import (
    BOILERPLATE_HINT_PATTERN,
    BOILERPLATE_PATTERN,
    LIST_TRADE_ITEMS,
    MAKER_NAME_PATTERN,
    PRODUCE,
    RANK_DECAY,
    SERVICE,
    SIDE_LINE_FACTOR,
    TRADE,
    TRADER_NAME_PATTERN,
    VERB_CLASSES,
    false_verb_pattern,
)
from chainatlas.chains.scope_rules import (
    BUILDING_WORDS,
    EQUIPMENT_WORDS,
    GENERAL_TRADE,
    NOT_GOODS,
    REPAIR_VERBS,
    SERVICE_HOME,
)
from chainatlas.errors import ChainAtlasError
from chainatlas.pipeline.reference import MAX_PARTS
from chainatlas.sources.roster_values import CURRENCY_TOKENS

#: The registry columns the pipeline reads (``row_id`` orders duplicates).
INPUT_COLUMNS = ("row_id", "name", "code", "date", "type", "capital", "scope", "province",
                 "city", "address")
#: What a registry cell says when it says nothing.
MISSING_MARKS = ("N/A", "n/a", "NA", "-", "—", "--", "无", "")
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: Verbs inside words that are goods or boilerplate (技术开发, 医疗器械, 集成电路): removed
#: before a clause's verbs are read; the in-process reader's words, without its look-ahead.
FALSE_VERBS = false_verb_pattern(look_ahead=False)


class PortabilityError(ChainAtlasError):
    """A pipeline step uses SQL whose meaning differs between the engines."""


@dataclass(frozen=True)
class Step:
    """One table of the pipeline: its name, its SQL, and whether it is written out."""

    name: str
    sql: str
    output: bool = True


def sql_literal(text: str) -> str:
    """A SQL string literal (quotes doubled; backslashes are regex escapes, kept): the
    pipeline's SQL is generated, and DDL and COPY take no bound parameters."""
    return "'" + text.replace("'", "''") + "'"


# The ideographic space is written as itself: RE2 reads no \u escapes.
_SPACE_EDGES = "^[\\s\u3000]+|[\\s\u3000]+$"
#: List marks and white space around a clause.
_EDGES = "^[、，,\\s\u3000]+|[、，,\\s\u3000]+$"


def _strip(text: str) -> str:
    """``text`` without leading and trailing white space, the ideographic space (U+3000)
    included: DuckDB's ``trim`` strips it and Spark's does not, so neither is used."""
    return f"regexp_replace({text}, {sql_literal(_SPACE_EDGES)}, '', 'g')"


#: The registry columns the pipeline reads besides row_id.
_READ = ("name", "code", "date", "type", "capital", "scope", "province", "city")


def _cell(column: str) -> str:
    """A stripped cell, null where it is a missing mark."""
    marks = ", ".join(sql_literal(m) for m in MISSING_MARKS)
    return f"CASE WHEN {column} IN ({marks}) THEN NULL ELSE {column} END"


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def uscc_valid_sql(code: str) -> str:
    """SQL true when ``code`` (an 18-character upper-case text) has a valid check digit."""
    terms = " + ".join(f"(strpos({sql_literal(_USCC_CHARS)}, substr({code}, {i + 1}, 1)) - 1) * {w}"
                       for i, w in enumerate(_USCC_WEIGHTS))
    return (f"substr({code}, 18, 1) = substr({sql_literal(_USCC_CHARS)}, "
            f"CAST((31 - ({terms}) % 31) % 31 AS INTEGER) + 1, 1)")


def _currency_sql(cell: str) -> str:
    pairs = sorted(CURRENCY_TOKENS, key=lambda p: len(p[0]), reverse=True)
    cases = " ".join(f"WHEN contains({cell}, {sql_literal(t)}) THEN {sql_literal(c)}"
                     for t, c in pairs)
    return f"CASE {cases} ELSE 'CNY' END"


def firms_sql() -> str:
    """Step 1: one normalised row per firm."""
    shape = "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
    date = r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})"
    amount = r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)"
    return f"""
WITH stripped AS (
  SELECT row_id, {', '.join(f"{_strip(c)} AS {c}" for c in _READ)} FROM registry
), cells AS (
  SELECT row_id, {_cell('name')} AS name0, upper({_cell('code')}) AS code0,
         {_cell('date')} AS date0, {_cell('type')} AS type0, {_cell('capital')} AS capital0,
         {_cell('scope')} AS scope0, {_cell('province')} AS province0,
         {_cell('city')} AS city0
  FROM stripped
), read AS (
  SELECT *, regexp_replace(name0, '\\s+', '', 'g') AS name_n,
         CASE WHEN regexp_matches(code0, {sql_literal(shape)}) THEN code0 END AS uscc,
         TRY_CAST(regexp_extract(date0, {sql_literal(date)}, 1) AS INTEGER) AS y,
         TRY_CAST(regexp_extract(date0, {sql_literal(date)}, 2) AS INTEGER) AS m,
         TRY_CAST(regexp_extract(date0, {sql_literal(date)}, 3) AS INTEGER) AS d,
         TRY_CAST(replace(regexp_extract(capital0, {sql_literal(amount)}, 1), ',', '') AS DOUBLE)
           * CASE WHEN contains(capital0, '亿') THEN 10000.0
                  WHEN contains(capital0, '万') THEN 1.0
                  WHEN contains(capital0, '元') THEN 0.0001 ELSE 1.0 END AS capital_wan,
         {_currency_sql('capital0')} AS currency
  FROM cells WHERE name0 IS NOT NULL
), dated AS (
  SELECT *, CASE WHEN m BETWEEN 1 AND 12 AND d BETWEEN 1 AND 31 AND y BETWEEN 1900 AND 2100
            THEN concat(CAST(y AS VARCHAR), '-', lpad(CAST(m AS VARCHAR), 2, '0'), '-',
                        lpad(CAST(d AS VARCHAR), 2, '0')) END AS reg_date,
         uscc IS NOT NULL AND {uscc_valid_sql('uscc')} AS uscc_valid
  FROM read
), keyed AS (
  SELECT *, CASE WHEN uscc_valid THEN uscc
            ELSE concat('H', md5(concat(name_n, '|', coalesce(reg_date, ''), '|',
                                        coalesce(province0, '')))) END AS firm_id
  FROM dated
)
SELECT firm_id, row_id, name, uscc, uscc_valid, reg_date, reg_year, enterprise_type,
       capital_wan, currency, capital_cny_wan, province_adcode, city_adcode, scope
FROM (
  SELECT k.firm_id, k.row_id, k.name_n AS name, k.uscc, k.uscc_valid, k.reg_date,
         CAST(substr(k.reg_date, 1, 4) AS INTEGER) AS reg_year, k.type0 AS enterprise_type,
         k.capital_wan, k.currency, k.capital_wan * c.cny_per_unit AS capital_cny_wan,
         p.province_adcode, coalesce(p.municipal_city, t.city_adcode) AS city_adcode,
         k.scope0 AS scope,
         row_number() OVER (PARTITION BY k.firm_id ORDER BY k.reg_date NULLS LAST,
                            k.row_id) AS copy
  FROM keyed k
  LEFT JOIN provinces p ON p.name = k.province0
  LEFT JOIN cities t ON t.province_adcode = p.province_adcode AND t.name = k.city0
  LEFT JOIN (SELECT currency, max(cny_per_unit) AS cny_per_unit FROM currencies
             GROUP BY currency) c ON c.currency = k.currency
) WHERE copy = 1
"""


def _class_sql(text: str) -> str:
    """The activity the verbs of ``text`` name (making wins over selling over serving)."""
    classes = {a: [v for v, c in VERB_CLASSES.items() if c == a]
               for a in (PRODUCE, TRADE, SERVICE)}
    cases = " ".join(f"WHEN regexp_matches({text}, {sql_literal(_alternation(words))}) "
                     f"THEN {sql_literal(activity)}" for activity, words in classes.items())
    return f"CASE {cases} END"


def _count(text: str, sep: str) -> str:
    """How many ``sep``-separated parts ``text`` has (computed once per row, before the
    join with positions: in the join condition it would run once per row and position)."""
    return f"(length({text}) - length(replace({text}, {sql_literal(sep)}, '')) + 1)"


def _parts(source: str, alias: str) -> str:
    """Join ``source`` (whose column ``parts`` counts its parts) with positions: one row
    per part, the first :data:`MAX_PARTS` of them. An equality join: see
    :mod:`chainatlas.pipeline.reference` on ``positions``."""
    return f"{source} JOIN positions p ON p.parts = least({alias}.parts, {MAX_PARTS})"


def scope_items_sql() -> str:
    """Step 2: scope clauses, weighted, cut into phrases with their activity, and into
    items."""
    boiler, hint = sql_literal(BOILERPLATE_PATTERN), sql_literal(BOILERPLATE_HINT_PATTERN)
    side = "兼营"
    name_activity = (f"CASE WHEN regexp_matches(name, {sql_literal(MAKER_NAME_PATTERN)}) THEN "
                     f"'{PRODUCE}' WHEN regexp_matches(name, {sql_literal(TRADER_NAME_PATTERN)}) "
                     f"THEN '{TRADE}' END")
    return f"""
WITH cleaned AS (
  SELECT firm_id, {name_activity} AS name_activity,
         regexp_replace(regexp_replace(
             CASE WHEN regexp_matches(scope, {hint}) THEN regexp_replace(scope, {boiler}, '', 'g')
                  ELSE scope END,
             '主营[:：]', '', 'g'), '[；;。\n\r]+', '；', 'g') AS s
  FROM firms WHERE scope IS NOT NULL
), cut AS (
  SELECT firm_id, name_activity, FALSE AS side,
         CASE WHEN strpos(s, '{side}') > 0 THEN substr(s, 1, strpos(s, '{side}') - 1)
              ELSE s END AS t
  FROM cleaned
  UNION ALL
  SELECT firm_id, name_activity, TRUE AS side,
         regexp_replace(substr(s, strpos(s, '{side}') + 2), '^[:：]', '', 'g') AS t
  FROM cleaned WHERE strpos(s, '{side}') > 0
), halves AS (
  SELECT *, {_count('t', '；')} AS parts FROM cut
), clauses AS (
  SELECT h.firm_id, h.name_activity, h.side, p.pos,
         regexp_replace(split_part(h.t, '；', p.pos), {sql_literal(_EDGES)}, '', 'g') AS clause
  FROM {_parts('halves h', 'h')}
), kept AS (
  SELECT * FROM clauses WHERE length(clause) >= 2
), ranked AS (
  SELECT firm_id, name_activity, side, clause,
         regexp_replace(clause, {sql_literal(FALSE_VERBS)}, '', 'g') AS verbs,
         CAST(row_number() OVER (PARTITION BY firm_id ORDER BY side, pos) - 1 AS INTEGER)
           AS clause_rank
  FROM kept
), weighted AS (
  SELECT firm_id, side, clause_rank, name_activity,
         coalesce({_class_sql('verbs')}, name_activity,
                  CASE WHEN length(regexp_replace(clause, '[^、，,]', '', 'g')) + 1
                            >= {LIST_TRADE_ITEMS} THEN '{TRADE}' END) AS activity,
         CAST(round(CAST(1000 AS DOUBLE) / (1 + {RANK_DECAY} * clause_rank)
                    * CASE WHEN side THEN {SIDE_LINE_FACTOR} ELSE 1.0 END) AS INTEGER)
           AS weight,
         regexp_replace(clause, '[，,]+', '，', 'g') AS phrased
  FROM ranked
), counted AS (
  SELECT *, {_count('phrased', '，')} AS parts FROM weighted
), phrases AS (
  SELECT w.firm_id, w.side, w.clause_rank, w.weight, CAST(p.pos AS INTEGER) AS phrase_pos,
         w.activity,
         regexp_replace(split_part(w.phrased, '，', p.pos), '、+', '、', 'g') AS listed
  FROM {_parts('counted w', 'w')}
), listed AS (
  SELECT *, {_count('listed', '、')} AS parts FROM phrases
)
SELECT * FROM (
  SELECT h.firm_id, h.clause_rank, h.phrase_pos, CAST(p.pos AS INTEGER) AS item_pos, h.side,
         h.weight, h.activity, {_strip("split_part(h.listed, '、', p.pos)")} AS item
  FROM {_parts('listed h', 'h')}
) WHERE length(item) >= 2
"""


def item_hits_sql() -> str:
    """Step 3: the nodes each distinct item names (catalogue phrases name none), with the
    role of the words that name them (``keyword``, or ``goods`` for a selling clause)."""
    return f"""
WITH distinct_items AS (
  SELECT DISTINCT i.item FROM scope_items i LEFT JOIN generic g ON g.clause = i.item
  WHERE g.clause IS NULL
), grams AS (
  SELECT d.item, p.pos, l.length, substr(d.item, p.pos, l.length) AS gram
  FROM distinct_items d
  JOIN positions p ON p.parts = least(length(d.item), {MAX_PARTS})
  JOIN (SELECT DISTINCT length FROM rules) l ON p.pos + l.length - 1 <= length(d.item)
), found AS (
  SELECT g.item, g.pos, g.length, r.chain_id, r.node_id, r.role
  FROM grams g JOIN rules r ON r.word = g.gram AND r.length = g.length
), keyword AS (SELECT * FROM found WHERE role = 'keyword'),
covered AS (
  SELECT DISTINCT k.item, k.pos, k.length FROM keyword k JOIN keyword o
    ON o.item = k.item AND o.length > k.length AND o.pos <= k.pos
   AND o.pos + o.length >= k.pos + k.length
), excluded AS (SELECT DISTINCT item, chain_id, node_id FROM found WHERE role = 'exclude')
SELECT DISTINCT k.item, k.chain_id, k.node_id, k.role
FROM (SELECT * FROM keyword UNION ALL SELECT * FROM found WHERE role = 'goods') k
LEFT JOIN covered c ON c.item = k.item AND c.pos = k.pos AND c.length = k.length
LEFT JOIN excluded e ON e.item = k.item AND e.chain_id = k.chain_id AND e.node_id = k.node_id
WHERE c.item IS NULL AND (e.item IS NULL OR k.role = 'goods')
"""


def placements_sql() -> str:
    """Step 4: each firm's best node, by the in-process reader's rules
    (:mod:`chainatlas.chains.scope_rules`): a selling clause moves goods to the chain's
    trade home (its 批发 / 零售 child when the clause says so) and reads drug and food
    words as that chain's trade; a making clause drops trade nodes; repairing equipment
    is the after-market service node as the firm's first line and nothing after it; a
    selling clause naming no node's goods is general trade where trading is the firm's
    main line, a first repair line naming equipment but no node the after-market node."""
    home = "CASE WHEN v.wholesale = 1 AND {p}wholesale_node_id IS NOT NULL THEN " \
           "{p}wholesale_node_id WHEN v.retail = 1 AND {p}retail_node_id IS NOT NULL THEN " \
           "{p}retail_node_id ELSE {p}trade_node_id END"
    service_chain, service_node = SERVICE_HOME
    repairs = (f"{_any_of('{t}', REPAIR_VERBS)} AND NOT {_any_of('{t}', BUILDING_WORDS)}")
    return f"""
WITH clause_verbs AS (
  SELECT firm_id, clause_rank, max(weight) AS weight,
         max(CASE WHEN contains(item, '批发') THEN 1 ELSE 0 END) AS wholesale,
         max(CASE WHEN contains(item, '零售') THEN 1 ELSE 0 END) AS retail,
         max(CASE WHEN activity = '{TRADE}' THEN 1 ELSE 0 END) AS trades,
         max(CASE WHEN activity = '{SERVICE}' AND {repairs.format(t='item')}
                   AND {_any_of('item', EQUIPMENT_WORDS)} THEN 1 ELSE 0 END) AS repairs,
         max(CASE WHEN {_any_of('item', NOT_GOODS)} THEN 1 ELSE 0 END) AS not_goods
  FROM scope_items GROUP BY firm_id, clause_rank
), hits AS (
  SELECT i.firm_id, i.clause_rank, i.weight, i.activity, n.chain_id, n.node_id, n.in_trade,
         n.trade_chain_id, n.trade_node_id, n.wholesale_node_id, n.retail_node_id,
         CASE WHEN {repairs.format(t='i.item')} THEN 1 ELSE 0 END AS repairs
  FROM scope_items i
  JOIN item_hits h ON h.item = i.item AND (h.role = 'keyword' OR i.activity = '{TRADE}')
  JOIN nodes n ON n.chain_id = h.chain_id AND n.node_id = h.node_id
), routed AS (
  SELECT DISTINCT h.firm_id, h.clause_rank, h.weight,
         CASE WHEN h.activity = '{TRADE}' AND NOT h.in_trade THEN h.trade_chain_id
              ELSE h.chain_id END AS chain_id,
         CASE WHEN h.activity = '{TRADE}' AND (NOT h.in_trade OR h.node_id = h.trade_node_id)
              THEN {home.format(p="h.")}
              WHEN h.activity = '{SERVICE}' AND h.repairs = 1
                   AND h.chain_id = '{service_chain}' THEN '{service_node}'
              ELSE h.node_id END AS node_id
  FROM hits h JOIN clause_verbs v ON v.firm_id = h.firm_id AND v.clause_rank = h.clause_rank
  WHERE NOT (h.activity = '{PRODUCE}' AND h.in_trade)
    AND NOT (h.activity = '{SERVICE}' AND h.repairs = 1 AND h.chain_id = '{service_chain}'
             AND h.clause_rank > 0)
), unnamed AS (
  SELECT v.firm_id, v.clause_rank, v.weight, g.chain_id, {home.format(p="g.")} AS node_id
  FROM clause_verbs v
  JOIN clause_verbs f ON f.firm_id = v.firm_id AND f.clause_rank = 0 AND f.trades = 1
  JOIN nodes g ON g.chain_id = '{GENERAL_TRADE[0]}' AND g.node_id = '{GENERAL_TRADE[1]}'
  LEFT JOIN (SELECT DISTINCT firm_id, clause_rank FROM hits) x
    ON x.firm_id = v.firm_id AND x.clause_rank = v.clause_rank
  WHERE v.trades = 1 AND v.not_goods = 0 AND x.firm_id IS NULL
  UNION ALL
  SELECT v.firm_id, v.clause_rank, v.weight, '{service_chain}', '{service_node}'
  FROM clause_verbs v
  LEFT JOIN (SELECT DISTINCT firm_id, clause_rank FROM hits) x
    ON x.firm_id = v.firm_id AND x.clause_rank = v.clause_rank
  WHERE v.clause_rank = 0 AND v.repairs = 1 AND x.firm_id IS NULL
), scored AS (
  SELECT firm_id, chain_id, node_id, CAST(sum(weight) AS BIGINT) AS score,
         CAST(count(*) AS BIGINT) AS clauses
  FROM (SELECT * FROM routed UNION ALL SELECT * FROM unnamed) c
  GROUP BY firm_id, chain_id, node_id
)
SELECT firm_id, chain_id, node_id, score, clauses FROM (
  SELECT *, row_number() OVER (PARTITION BY firm_id
                               ORDER BY score DESC, clauses DESC, chain_id, node_id) AS best
  FROM scored
) WHERE best = 1
"""


def _any_of(text: str, words: tuple[str, ...]) -> str:
    return f"regexp_matches({text}, {sql_literal(_alternation(list(words)))})"


def city_node_sql() -> str:
    """Step 5a: firms per city and node."""
    return """
SELECT f.city_adcode, p.chain_id, p.node_id, CAST(count(*) AS BIGINT) AS firms
FROM placements p JOIN firms f ON f.firm_id = p.firm_id
WHERE f.city_adcode IS NOT NULL
GROUP BY f.city_adcode, p.chain_id, p.node_id
"""


def lq_sql() -> str:
    """Step 5b: the location quotient of every city × node with firms."""
    return """
WITH city_total AS (
  SELECT city_adcode, CAST(count(*) AS BIGINT) AS city_firms FROM firms
  WHERE city_adcode IS NOT NULL GROUP BY city_adcode
), node_total AS (
  SELECT chain_id, node_id, CAST(sum(firms) AS BIGINT) AS node_firms FROM city_node
  GROUP BY chain_id, node_id
), national AS (
  SELECT CAST(count(*) AS BIGINT) AS all_firms FROM firms WHERE city_adcode IS NOT NULL
)
SELECT c.city_adcode, c.chain_id, c.node_id, c.firms, t.city_firms, n.node_firms,
       a.all_firms,
       CAST(c.firms * a.all_firms AS DOUBLE) / CAST(t.city_firms * n.node_firms AS DOUBLE)
         AS lq
FROM city_node c
JOIN city_total t ON t.city_adcode = c.city_adcode
JOIN node_total n ON n.chain_id = c.chain_id AND n.node_id = c.node_id
CROSS JOIN national a
"""


def relatedness_inputs_sql() -> str:
    """Step 5c: leaf-node presence, the input of the product-space density."""
    return """
SELECT l.city_adcode, l.chain_id, l.node_id, l.firms, l.lq, l.lq >= 1 AS present
FROM lq l JOIN nodes n ON n.chain_id = l.chain_id AND n.node_id = l.node_id
WHERE n.is_leaf
"""


def pipeline_steps() -> tuple[Step, ...]:
    """The pipeline, in order."""
    steps = (Step("firms", firms_sql()), Step("scope_items", scope_items_sql()),
             Step("item_hits", item_hits_sql()), Step("placements", placements_sql()),
             Step("city_node", city_node_sql()), Step("lq", lq_sql()),
             Step("relatedness_inputs", relatedness_inputs_sql()))
    for step in steps:
        check_portable(step)
    return steps


#: Output tables and the columns that make a row unique (for writing and comparing).
KEYS = {"firms": ("firm_id",), "scope_items": ("firm_id", "clause_rank", "phrase_pos", "item_pos"),
        "item_hits": ("item", "chain_id", "node_id", "role"), "placements": ("firm_id",),
        "city_node": ("city_adcode", "chain_id", "node_id"),
        "lq": ("city_adcode", "chain_id", "node_id"),
        "relatedness_inputs": ("city_adcode", "chain_id", "node_id"),
        # Written by the Python step (chainatlas.pipeline.relatedness), not by SQL.
        "relatedness": ("city_adcode", "chain_id", "node_id")}

_NOT_PORTABLE = ("hash(", "unnest(", "list_", "array_", "string_split(", "generate_series",
                 "[", "qualify", "trim(")


def check_portable(step: Step) -> None:
    """Refuse SQL whose meaning differs between DuckDB and Spark (module docstring)."""
    code = _without_literals(step.sql)
    problems = [f"{word.rstrip('(')} is not portable" for word in _NOT_PORTABLE
                if word in code.lower()]
    problems += ["regexp_replace without 'g'" for call in _calls(step.sql, "regexp_replace")
                 if not re.search(r",\s*'g'\s*\)$", call)]
    if re.search(r"(?<!CAST\()\bsum\(", code):
        problems.append("sum( not cast to BIGINT")
    # Spark runs a join on an inequality as a nested loop (see reference.positions).
    if re.search(r"\bJOIN\s+positions\s+\w+\s+ON\s+(?!\w+\.parts\s*=)", code, re.I):
        problems.append("positions joined on anything but an equality on parts")
    if problems:
        raise PortabilityError(f"pipeline step {step.name}: " + "; ".join(problems))


def _without_literals(sql: str) -> str:
    """``sql`` with every string literal emptied ('' stays an escaped quote inside)."""
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def _calls(sql: str, function: str) -> list[str]:
    """The full text of every call of ``function`` in ``sql`` (parentheses balanced outside
    string literals)."""
    out = []
    for match in re.finditer(rf"\b{function}\(", sql):
        depth, quoted, i = 0, False, match.end() - 1
        for i in range(match.end() - 1, len(sql)):
            if sql[i] == "'":
                quoted = not quoted
            elif not quoted:
                depth += {"(": 1, ")": -1}.get(sql[i], 0)
                if depth == 0:
                    break
        out.append(sql[match.start():i + 1])
    return out
