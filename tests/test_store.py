"""The Database class: migrations, transactions, settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chainatlas.errors import StoreError
from chainatlas.store import SCHEMA_VERSION, Database


def test_new_store_is_migrated(db: Database) -> None:
    assert db.schema_version() == SCHEMA_VERSION
    assert {"companies", "products", "sources", "ingest_issues"} <= set(db.tables())
    assert db.migrate() == []


def test_transaction_rolls_back_everything(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction():
        db.add_source("x", "x.json", "0" * 64, 1)
        with db.transaction():  # nested blocks join the outer one
            db.add_source("x", "y.json", "0" * 64, 1)
        raise RuntimeError("boom")
    assert db.scalar("SELECT count(*) FROM sources") == 0


def test_settings_round_trip(db: Database) -> None:
    assert db.get_setting("region", "130100") == "130100"
    db.set_setting("region", "130000")
    assert db.get_setting("region") == "130000"


def test_read_only_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="run 'chainatlas build' first"):
        Database(tmp_path / "none.duckdb", read_only=True)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Database(path) as store:
        store.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer ChainAtlas"):
        Database(path)


def test_v1_store_migrates_forward(tmp_path: Path) -> None:
    import duckdb

    from chainatlas.store.migrations import MIGRATIONS

    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    for statement in MIGRATIONS[0].statements:
        con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO companies (company_id, origin, source_id, updated_at) "
                "VALUES ('000001.SZ', 'listed', 1, now())")
    con.close()
    with Database(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.rows("SELECT company_id, same_as FROM companies") == [
            {"company_id": "000001.SZ", "same_as": None}]


def test_a_file_that_is_no_store_gives_a_message_not_a_traceback(tmp_path: Path) -> None:
    # Before: --db pointing at a CSV, or a truncated or bit-flipped store, raised DuckDB's
    # own exceptions (issue 10 point 8).
    csv_file = tmp_path / "firms.csv"
    csv_file.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(StoreError, match=re.escape("firms.csv is not a ChainAtlas store")):
        Database(csv_file, read_only=True)
    good = tmp_path / "good.duckdb"
    Database(good).close()
    data = good.read_bytes()
    flipped = tmp_path / "flipped.duckdb"
    flipped.write_bytes(data[:4096] + bytes(b ^ 0xFF for b in data[4096:4104]) + data[4104:])
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(data[: len(data) // 3])
    for broken in (flipped, cut):
        with pytest.raises(StoreError, match=re.escape(broken.name)):
            Database(broken, read_only=True)


def test_a_missing_store_is_created_only_when_asked(tmp_path: Path) -> None:
    missing = tmp_path / "typo.duckdb"
    with pytest.raises(StoreError, match=r"No store at .*chainatlas build"):
        Database(missing, create=False)
    assert not missing.exists()
    Database(missing).close()  # build and demo create it
    assert missing.exists()
    Database(missing, create=False).close()


def _big_write(db: Database, n: int) -> None:
    with db.transaction():
        db.execute("INSERT INTO settings SELECT 'k' || i, repeat('x', 200), now() "
                   "FROM range(?, ?) t(i)", [n * 20_000, (n + 1) * 20_000])


def test_each_committed_write_is_checkpointed(tmp_path: Path) -> None:
    """The WAL grew ~1 MB per correction in a long-running server: each committed
    outermost transaction is folded into the file."""
    path = tmp_path / "s.duckdb"
    wal = Path(str(path) + ".wal")
    with Database(path) as db:
        for n in range(3):
            _big_write(db, n)
            assert not wal.exists() or wal.stat().st_size < 64 * 1024
        with db.transaction(), db.transaction():  # nested: one checkpoint, at the end
            db.set_setting("a", "b")
        assert not wal.exists() or wal.stat().st_size < 64 * 1024


def test_a_checkpoint_blocked_by_a_reader_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Database(path) as db:
        reader = db.conn.cursor()
        reader.execute("BEGIN TRANSACTION")
        reader.execute("SELECT count(*) FROM settings").fetchall()
        _big_write(db, 0)  # committed; its checkpoint waits for a later write
        reader.execute("COMMIT")
        reader.close()
        assert db.scalar("SELECT count(*) FROM settings") == 20_000
        assert db.checkpoint()
