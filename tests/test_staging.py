"""Staging and the store's generic writes take values as bound parameters (issue 8, point 4).

A file path, a JSON key or a detail text holding quotes or ``?`` reaches DuckDB as a value,
never as SQL text; table and column names are checked identifiers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chainatlas.errors import InputError
from chainatlas.sources.fetch import DataFile, FetchedFile
from chainatlas.sources.staging import (
    fold_name,
    json_field,
    name_sql,
    record_issues_sql,
    stage_jsonl,
)
from chainatlas.store import Database
from chainatlas.store.query import Q, compose, param


def _fetched(path: Path) -> FetchedFile:
    spec = DataFile("test/lines.json", "test", "https://example.invalid/lines.json", None)
    return FetchedFile(spec, path, "0" * 64, path.stat().st_size, None, True)


def _write(folder: Path, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lines.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_stage_jsonl_reads_a_path_with_quotes(tmp_path: Path) -> None:
    path = _write(tmp_path / "it's a \"mirror\"", ['{"name": "a"}', "", '{"name": "b"}'])
    db = Database()
    assert stage_jsonl(db, _fetched(path), "stg_t", ["name"]) == 2
    assert db.rows("SELECT line, j->>'name' AS name FROM stg_t ORDER BY line") == [
        {"line": 1, "name": "a"}, {"line": 3, "name": "b"}]


def test_stage_jsonl_lists_missing_keys_and_stages_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, ['{"name": "a"}', '{"other": 1}', '{"name": null}'])
    db = Database()
    with pytest.raises(InputError) as caught:
        stage_jsonl(db, _fetched(path), "stg_t", ["name"])
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "name"), (3, "name")]
    assert db.scalar("SELECT count(*) FROM information_schema.tables "
                     "WHERE table_name = 'stg_t'") == 0


def test_stage_jsonl_refuses_a_table_name_that_is_not_an_identifier(tmp_path: Path) -> None:
    path = _write(tmp_path, ['{"name": "a"}'])
    with pytest.raises(ValueError, match="identifier"):
        stage_jsonl(Database(), _fetched(path), "t; DROP TABLE companies", ["name"])


def test_name_sql_folds_like_fold_name() -> None:
    raw = ' "光纤复合\n架空地线\x08”\u3000'
    db = Database()
    folded = db.scalar(compose("SELECT {name} FROM (SELECT {raw}::VARCHAR AS j)",
                               name=name_sql(Q("j")), raw=param(raw)))
    assert folded == fold_name(raw) == "光纤复合架空地线"
    line = '{"k": "\\n 半导体 ", "j": "not this one"}'
    assert db.scalar(compose("SELECT {name} FROM (SELECT {line}::JSON AS j)",
                             name=name_sql(json_field("k")), line=param(line))) == "半导体"


def test_record_issues_sql_binds_its_values() -> None:
    db = Database()
    record_issues_sql(db, 7, "it's?.json", Q(
        "SELECT 1 AS line, 'f' AS field, 'k' AS kind, 'rejected' AS action, "
        "coalesce(NULL, ?) AS detail", ("'?'",)))
    assert db.rows("SELECT source_id, file, detail FROM ingest_issues") == [
        {"source_id": 7, "file": "it's?.json", "detail": "'?'"}]


def test_insert_df_quotes_checked_column_names() -> None:
    db = Database()
    db.execute('CREATE TABLE t ("level" VARCHAR, "year" INTEGER)')
    frame = pd.DataFrame({"level": ["city", "it's"], "year": [2020, 2021]})
    assert db.insert_df("t", frame) == 2
    assert db.rows('SELECT "level", "year" FROM t ORDER BY "year"') == [
        {"level": "city", "year": 2020}, {"level": "it's", "year": 2021}]
    with pytest.raises(ValueError, match="identifier"):
        db.insert_df("t", pd.DataFrame({'year" INTEGER); --': [1]}))
    assert db.table_counts()["t"] == 2


def test_table_counts_of_a_fresh_store() -> None:
    counts = Database().table_counts()
    assert counts["meta"] >= 1
    assert counts["companies"] == 0
