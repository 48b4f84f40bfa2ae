"""The one ``Database`` class: every read and write of the DuckDB store goes through it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from chainatlas.errors import StoreBusyError, StoreError
from chainatlas.store.migrations import MIGRATIONS, SCHEMA_VERSION
from chainatlas.store.query import Q, compose, ident, join

if TYPE_CHECKING:  # only for annotations: pandas costs ~0.2 s to import
    import pandas as pd

Params = Sequence[Any] | Mapping[str, Any] | None


class Database:
    """A ChainAtlas store: one DuckDB file (or ``":memory:"`` for tests).

    Opening a store applies any pending forward migrations. Writes go through
    :meth:`transaction`, so a failed import leaves every table as it was; each committed
    outermost transaction is checkpointed into the file (:meth:`checkpoint`).
    ``create=False`` refuses a path with no store (only ``build`` and ``demo`` create one).
    """

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False,
                 create: bool = True) -> None:
        self.path = str(path)
        self.read_only = read_only
        if self.path != ":memory:":
            if (read_only or not create) and not Path(self.path).exists():
                # Only 'build' and 'demo' create a store: a mistyped --db must not
                # silently become a new, empty store that an import then fills.
                raise StoreError(f"No store at {self.path}; run 'chainatlas build' first "
                                 "to create it.")
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._depth = 0
        self.conn = _connect(self.path, read_only)
        try:
            self._check_schema()
        except BaseException:
            self.conn.close()  # a refused store stays closed: no lock left behind
            raise

    def _check_schema(self) -> None:
        """Migrate a writable store; refuse a read-only one at another schema version."""
        try:
            version = self.schema_version()
        except duckdb.Error as exc:  # a CSV, a truncated or bit-flipped file
            raise damaged_store(self.path, exc) from exc
        if not self.read_only:
            try:
                self.migrate()
            except duckdb.Error as exc:
                raise StoreError(f"Could not migrate the store {self.path} to schema "
                                 f"{SCHEMA_VERSION}: {_first_line(exc)}") from exc
        elif version != SCHEMA_VERSION:
            raise StoreError(
                f"The store {self.path} is at schema version {version}, "
                f"this ChainAtlas needs {SCHEMA_VERSION}; open it once without read-only "
                "access to migrate it."
            )

    @classmethod
    def from_connection(cls, conn: duckdb.DuckDBPyConnection, path: str, *,
                        read_only: bool = False) -> Database:
        """Wrap an open connection or cursor of an already migrated store."""
        db = cls.__new__(cls)
        db.path = path
        db.read_only = read_only
        db.conn = conn
        db._depth = 0
        return db

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------
    def schema_version(self) -> int:
        """Return the highest migration applied to this store (0 for an empty file)."""
        exists = self.conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        ).fetchone()
        if not exists or exists[0] == 0:
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def migrate(self) -> list[int]:
        """Apply every migration newer than the store's version; return the versions applied."""
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"The store {self.path} was written by a newer ChainAtlas "
                f"(schema {current} > {SCHEMA_VERSION}); upgrade ChainAtlas to read it."
            )
        applied = []
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            with self.transaction():
                for statement in migration.statements:
                    self.conn.execute(statement)
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                    [str(migration.version)],
                )
            applied.append(migration.version)
        return applied

    def tables(self) -> list[str]:
        """Return the names of the store's tables, sorted."""
        rows = self.conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_catalog = current_database() "
            "AND table_type = 'BASE TABLE' "
            "ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def table_counts(self) -> dict[str, int]:
        """Return the row count of every table."""
        return {name: int(self.scalar(compose("SELECT count(*) FROM {t}", t=_quoted(name))))
                for name in self.tables()}

    # -- transactions and queries ------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Run a block in one transaction: all of it is stored, or none of it.

        Nested blocks join the outer transaction.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")
        self.checkpoint()

    def checkpoint(self) -> bool:
        """Fold the write-ahead log into the store file; return whether it was done.

        Called after every committed outermost transaction: without it the ``.wal`` file
        of a long-running server grew by about 1 MB per correction. DuckDB refuses a plain
        checkpoint while another transaction runs (a reader's cursor); the commit is
        durable in the WAL regardless, and the next write's checkpoint folds it in.
        """
        if self.path == ":memory:" or self.read_only:
            return False
        try:
            self.conn.execute("CHECKPOINT")
        except duckdb.Error:
            return False
        return True

    def execute(self, sql: str | Q, params: Params = None) -> duckdb.DuckDBPyConnection:
        """Execute one statement and return the cursor.

        ``sql`` is a literal statement with ``?`` placeholders and ``params``, or a
        composed :class:`~chainatlas.store.query.Q` that carries its own values.
        """
        if isinstance(sql, Q):
            if params is not None:
                raise ValueError("a composed query carries its own parameters")
            return self.conn.execute(sql.text, list(sql.params))
        return self.conn.execute(sql, params) if params is not None else self.conn.execute(sql)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Execute one statement for many parameter rows."""
        if rows:
            self.conn.executemany(sql, rows)

    def rows(self, sql: str | Q, params: Params = None) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts."""
        cur = self.execute(sql, params)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def scalar(self, sql: str | Q, params: Params = None) -> Any:
        """Run a query and return the first column of its first row (None when empty)."""
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    def df(self, sql: str | Q, params: Params = None) -> pd.DataFrame:
        """Run a query and return a pandas DataFrame."""
        return self.execute(sql, params).df()

    def insert_df(self, table: str, frame: pd.DataFrame) -> int:
        """Append a DataFrame's rows to a table, matching columns by name."""
        if frame.empty:
            return 0
        cols = join([_quoted(str(c)) for c in frame.columns], ", ")
        insert = compose("INSERT INTO {table} ({cols}) SELECT {cols} FROM _insert_frame",
                         table=_quoted(table), cols=cols)
        self.conn.register("_insert_frame", frame)
        try:
            self.execute(insert)
        finally:
            self.conn.unregister("_insert_frame")
        return len(frame)

    # -- settings -------------------------------------------------------------------------
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """Return a stored setting (the one settings table), or ``default``."""
        value = self.scalar("SELECT value FROM settings WHERE key = ?", [key])
        return str(value) if value is not None else default

    def set_setting(self, key: str, value: str) -> None:
        """Store a setting."""
        with self.transaction():
            self.execute(
                "INSERT OR REPLACE INTO settings VALUES (?, ?, ?)",
                [key, value, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            )

    def add_source(self, dataset: str, file: str, sha256: str, size: int, *,
                   url: str | None = None, fetched_at: dt.datetime | None = None) -> int:
        """Record one file read into the store and return its ``source_id``."""
        next_id = int(self.scalar("SELECT coalesce(max(source_id), 0) + 1 FROM sources"))
        self.execute(
            "INSERT INTO sources (source_id, dataset, file, url, sha256, bytes, fetched_at, "
            "imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [next_id, dataset, file, url, sha256, size, fetched_at,
             dt.datetime.now(dt.UTC).replace(tzinfo=None)],
        )
        return next_id


def quiet_connect(path: str = ":memory:", read_only: bool = False
                  ) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that prints no progress bar: DuckDB draws it on stdout for any
    query over two seconds, which would corrupt a command's ``--json`` output."""
    con = duckdb.connect(path, read_only=read_only)
    con.execute("SET enable_progress_bar = false")  # a session option, not a global one
    return con


def _connect(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file; a lock held by another process or an unreadable file becomes
    a :class:`StoreError` that says which."""
    try:
        return quiet_connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreBusyError(_busy_message(path, str(exc))) from exc
        raise damaged_store(path, exc) from exc
    except duckdb.ConnectionException as exc:
        if "different configuration" not in str(exc):
            raise damaged_store(path, exc) from exc
        # DuckDB keeps one instance per file and process: read-only and read-write
        # handles of one file cannot coexist in one process (the server serves read-only).
        raise StoreBusyError(f"The store {path} is already open in this process "
                         f"{'read-write' if read_only else 'read-only'}; open it "
                         f"{'read-write' if read_only else 'read-only'} here too, or close "
                         "the other handle first.") from exc
    except duckdb.Error as exc:
        raise damaged_store(path, exc) from exc


def _busy_message(path: str, detail: str) -> str:
    """Name the process holding the store (DuckDB's message carries its PID)."""
    holder = re.search(r"held in (.+?) \(PID (\d+)\)", detail)
    who = f"{holder.group(1)}, PID {holder.group(2)}" if holder else "another process"
    return (f"The store {path} is busy (in use by {who}, e.g. 'chainatlas serve' or "
            "another command); try again when it has finished.")


def damaged_store(path: str, exc: BaseException) -> StoreError:
    """The one message for a store file DuckDB cannot read: not a store, or damaged."""
    return StoreError(f"{path} is not a ChainAtlas store (a DuckDB file written by "
                      f"'chainatlas build'), or it is damaged: {_first_line(exc)}. "
                      "Rebuild it with 'chainatlas build'.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _quoted(name: str) -> Q:
    """A checked identifier, quoted so that names such as ``level`` or ``year`` stay names."""
    return Q(f'"{ident(name).text}"')
