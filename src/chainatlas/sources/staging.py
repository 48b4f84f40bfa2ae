"""Shared helpers of the ingest steps: staging raw files, normalising names, and
recording every row an ingest rejected, merged, repaired or flagged.

Stock codes are normalised in :mod:`chainatlas.store.lookup` (one home for the rule)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from chainatlas.errors import InputError, Problem
from chainatlas.sources.fetch import FetchedFile
from chainatlas.store import Database
from chainatlas.store.query import Q, compose, ident, param

# SQL template folding a raw name: drop control characters (embedded newlines
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


def json_field(key: str) -> Q:
    """The text of key ``key`` of a staged JSON line (column ``j``)."""
    return Q("j->>?", (key,))


def name_sql(col: Q) -> Q:
    """The SQL expression that folds the name in ``col`` (e.g. :func:`json_field`)."""
    return compose(NAME_SQL, col=col)


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


def record_issues_sql(db: Database, source_id: int, file: str, select: Q) -> None:
    """Store the issues a query yields (columns line, field, kind, action, detail)."""
    db.execute(compose(
        "INSERT INTO ingest_issues SELECT {source_id}, {file}, line, field, kind, action, "
        "detail FROM ({select})",
        source_id=param(source_id), file=param(file), select=select))


def stage_jsonl(db: Database, fetched: FetchedFile, table: str,
                required: Sequence[str]) -> int:
    """Load a JSON-lines file into a temporary table ``table(line, j)``; return its rows.

    Every line must be a JSON object holding the ``required`` keys. Otherwise nothing
    is staged and an :class:`InputError` lists each bad line (file, line, field).
    """
    name = ident(table)
    db.execute(compose("DROP TABLE IF EXISTS {t}", t=name))
    db.execute(compose(
        "CREATE TEMP TABLE {t} AS SELECT line, j FROM ("
        "SELECT row_number() OVER () AS line, rtrim(j, chr(13)) AS j "
        "FROM read_csv({path}, columns={{'j': 'VARCHAR'}}, delim=chr(1), quote='', "
        "escape='', header=false, auto_detect=false, strict_mode=false, "
        "null_padding=false, all_varchar=true)) WHERE j IS NOT NULL AND trim(j) <> ''",
        t=name, path=param(str(fetched.local))))
    label = fetched.spec.path
    problems = [
        Problem(label, int(r[0]), None, f"not a valid JSON object: {str(r[1])[:60]!r}")
        for r in db.execute(compose(
            "SELECT line, j FROM {t} WHERE NOT json_valid(j) "
            "OR json_type(j::JSON) <> 'OBJECT' ORDER BY line LIMIT 50", t=name)).fetchall()
    ]
    if not problems:
        for key in required:
            problems += [
                Problem(label, int(r[0]), key, f"required field {key!r} is missing or null")
                for r in db.execute(compose(
                    "SELECT line FROM {t} WHERE j::JSON->>{key} IS NULL "
                    "ORDER BY line LIMIT 20", t=name, key=param(key))).fetchall()
            ]
    if problems:
        db.execute(compose("DROP TABLE IF EXISTS {t}", t=name))
        raise InputError(problems)
    return int(db.scalar(compose("SELECT count(*) FROM {t}", t=name)))
