"""Shared helpers of the ingest steps: staging raw files, normalising names and codes,
and recording every row an ingest rejected, merged, repaired or flagged."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from chainatlas.errors import InputError, Problem
from chainatlas.sources.fetch import FetchedFile
from chainatlas.store import Database

# SQL expression folding a raw name: drop control characters (embedded newlines
# included: "光纤复合\n架空地线" is one product), then trim spaces and stray quotes.
NAME_SQL = (
    "nullif(regexp_replace(regexp_replace({col}, '[\\x00-\\x1f\\x7f]+', '', 'g'), "
    "'^[\\s\"“”\u3000]+|[\\s\"“”\u3000]+$', '', 'g'), '')"
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_EDGES = re.compile(r'^[\s"“”\u3000]+|[\s"“”\u3000]+$')


def fold_name(raw: str | None) -> str | None:
    """Python twin of :data:`NAME_SQL`, for rows normalised outside SQL."""
    if raw is None:
        return None
    return _EDGES.sub("", _CONTROL.sub("", raw)) or None


def name_sql(col: str) -> str:
    """Return the SQL expression that folds the name in column ``col``."""
    return NAME_SQL.replace("{col}", col)


_EXCHANGES = {"SH": "SH", "SZ": "SZ", "BJ": "BJ", "SS": "SH"}


def normalise_stock_code(raw: str | None) -> str | None:
    """Return the canonical ``NNNNNN.XX`` code for ``000001``, ``000001.sz``, ``sz000001``.

    The exchange is taken from the suffix when present, else from the code's board:
    6xxxxx Shanghai, 0/2/3xxxxx Shenzhen, 4/8/9xxxxx Beijing (92xxxx too). None when
    the text holds no six-digit code.
    """
    if not raw:
        return None
    text = raw.strip().upper()
    match = re.search(r"(\d{6})", text)
    if not match:
        return None
    digits = match.group(1)
    letters = re.sub(r"[^A-Z]", "", text)
    exchange = _EXCHANGES.get(letters)
    if exchange is None:
        exchange = exchange_from_digits(digits)
    return f"{digits}.{exchange}"


def exchange_from_digits(digits: str) -> str:
    """Return the exchange of a six-digit A-share code by its board prefix."""
    if digits.startswith("6"):
        return "SH"
    if digits.startswith(("4", "8", "92")):
        return "BJ"
    return "SZ"


@dataclass(frozen=True)
class Issue:
    """One row an ingest did not store as it was, and why."""

    line: int | None
    field: str | None
    kind: str
    action: str
    detail: str


def record_issues(db: Database, source_id: int, file: str, issues: Iterable[Issue]) -> int:
    """Store issues in ``ingest_issues``; return how many."""
    frame = pd.DataFrame(
        [(source_id, file, i.line, i.field, i.kind, i.action, i.detail) for i in issues],
        columns=["source_id", "file", "line", "field", "kind", "action", "detail"])
    return db.insert_df("ingest_issues", frame)


def record_issues_sql(db: Database, source_id: int, file: str, select_sql: str) -> None:
    """Store the issues a query yields (columns line, field, kind, action, detail)."""
    db.execute(
        "INSERT INTO ingest_issues SELECT ?, ?, line, field, kind, action, detail "
        f"FROM ({select_sql})",
        [source_id, file],
    )


def stage_jsonl(db: Database, fetched: FetchedFile, table: str,
                required: Sequence[str]) -> int:
    """Load a JSON-lines file into a temporary table ``table(line, j)``; return its rows.

    Every line must be a JSON object holding the ``required`` keys. Otherwise nothing
    is staged and an :class:`InputError` lists each bad line (file, line, field).
    """
    path = str(fetched.local).replace("'", "''")
    db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(
        f"CREATE TEMP TABLE {table} AS SELECT line, j FROM ("
        "SELECT row_number() OVER () AS line, rtrim(j, chr(13)) AS j "
        f"FROM read_csv('{path}', columns={{'j': 'VARCHAR'}}, delim=chr(1), quote='', "
        "escape='', header=false, auto_detect=false, strict_mode=false, "
        "null_padding=false, all_varchar=true)) WHERE j IS NOT NULL AND trim(j) <> ''"
    )
    label = fetched.spec.path
    problems = [
        Problem(label, int(r[0]), None, f"not a valid JSON object: {str(r[1])[:60]!r}")
        for r in db.execute(
            f"SELECT line, j FROM {table} WHERE NOT json_valid(j) "
            "OR json_type(j::JSON) <> 'OBJECT' ORDER BY line LIMIT 50"
        ).fetchall()
    ]
    if not problems:
        for key in required:
            problems += [
                Problem(label, int(r[0]), key, f"required field {key!r} is missing or null")
                for r in db.execute(
                    f"SELECT line FROM {table} WHERE j::JSON->>'{key}' IS NULL "
                    "ORDER BY line LIMIT 20"
                ).fetchall()
            ]
    if problems:
        db.execute(f"DROP TABLE IF EXISTS {table}")
        raise InputError(problems)
    return int(db.scalar(f"SELECT count(*) FROM {table}"))
