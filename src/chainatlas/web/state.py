"""The web app's store: one DuckDB connection, a cursor per request or page.

DuckDB connections are not shared across threads; cursors of one connection are. The
server opens the store once (read-write, so analysts can record corrections) and each
request works on its own cursor, wrapped in a :class:`Database`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chainatlas.errors import StoreError
from chainatlas.store import Database

_lock = threading.Lock()
_state: dict[str, Database] = {}
#: One write at a time, from the API and the pages alike: a correction rewrites the
#: derived chain tables, and two concurrent transactions doing so would conflict (DuckDB
#: aborts the second).
write_lock = threading.Lock()


def open_web_store(path: str | Path) -> Database:
    """Open (once) the store the web app serves."""
    with _lock:
        current = _state.get("db")
        if current is not None and current.path == str(path):
            return current
        if current is not None:
            current.close()
        if str(path) != ":memory:" and not Path(path).exists():
            raise StoreError(f"No store at {path}. Run 'chainatlas build' first.")
        _state["db"] = Database(path)
        return _state["db"]


def use_store(db: Database) -> None:
    """Serve an already open store (tests use an in-memory one)."""
    with _lock:
        _state["db"] = db


def served() -> bool:
    """Whether the web app has a store to serve."""
    return "db" in _state


@contextmanager
def request_db() -> Iterator[Database]:
    """A Database on a fresh cursor of the served store, for one request or page."""
    base = _state.get("db")
    if base is None:
        raise StoreError("The web app has no store: start it with 'chainatlas serve'.")
    cursor = Database.from_connection(base.conn.cursor(), base.path)
    try:
        yield cursor
    finally:
        cursor.conn.close()


@contextmanager
def write_db() -> Iterator[Database]:
    """A Database for one write (a correction, a user, an import), one writer at a time."""
    with write_lock, request_db() as db:
        yield db
