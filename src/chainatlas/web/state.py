"""The web app's store: one read-only DuckDB connection, a cursor per request or page.

DuckDB connections are not shared across threads; cursors of one connection are. A file
store is served **read-only**, so that DuckDB lets other processes read it too (``chainatlas
stats``, ``region``, ``export``… while the server runs). A write (:func:`write_db`: a
correction, a user, an audit entry) takes the writers' side of a readers-writer lock,
waits for the requests in flight, swaps the connection for a read-write one, and swaps
back (checkpointed) when done. An in-memory store (tests) or a store handed over
read-write (:func:`use_store`) is written in place, as before.

A command that writes (``chainatlas import roster``, ``users add``…) while the server runs
asks for the file (:mod:`chainatlas.store.handoff`): a watcher thread sees the request,
holds off the web requests (the writer's side of the lock), closes the connection until
the command is done, and reopens read-only. A request waiting longer than
:data:`WAIT_SECONDS` meanwhile is answered with a StoreBusyError (HTTP 503).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from chainatlas.errors import StoreBusyError, StoreError
from chainatlas.store import Database, handoff

log = logging.getLogger("chainatlas.web")
_lock = threading.Lock()
_state: dict[str, Database] = {}
_paths: dict[str, str] = {}
#: One write at a time, from the API and the pages alike: a correction rewrites the
#: derived chain tables, and two concurrent transactions doing so would conflict (DuckDB
#: aborts the second). :func:`write_db` takes it; use that, not this lock.
write_lock = threading.Lock()
#: Writes done through :func:`write_db` (see :func:`store_version`); bumped under the
#: writer's side of the lock, so no read runs while it changes.
_writes = [0]
#: How long a write waits for another process (a CLI reader) to let go of the file.
BUSY_WAIT_SECONDS = 3.0
_RETRY_SECONDS = 0.05
#: How long a web request or write waits for a command's write (a handoff) to finish
#: before it is answered 503: a page left loading for minutes is worse than a message.
WAIT_SECONDS = 60.0
#: The longest a command may keep the file: past it the server reopens the store and
#: no longer obeys that process's request (a command hung with the store open).
MAX_HOLD_SECONDS = 1800.0
_BUSY_HINT = ("The store is being written by a command (chainatlas import, users…); "
              "try again when it has finished.")


class ReadersWriter:
    """Many readers at once, or one writer; a waiting writer holds off new readers (so a
    stream of page loads cannot starve a correction)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._mine = threading.local()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the readers' side (re-entrant: a page's query inside a page's query)."""
        depth = getattr(self._mine, "depth", 0)
        if depth == 0:
            with self._cond:
                if not self._cond.wait_for(lambda: not self._writer, WAIT_SECONDS):
                    raise StoreBusyError(_BUSY_HINT)
                self._readers += 1
        self._mine.depth = depth + 1
        try:
            yield
        finally:
            self._mine.depth = depth
            if depth == 0:
                with self._cond:
                    self._readers -= 1
                    self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer's side: wait for the readers in flight to finish."""
        if getattr(self._mine, "depth", 0):
            # Waiting for our own read to end would wait forever.
            raise StoreError("A write cannot start inside a read of the store "
                             "(use web.state.write_db outside request_db).")
        with self._cond:
            self._cond.wait_for(lambda: not self._writer)
            self._writer = True
            self._cond.wait_for(lambda: self._readers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


_access = ReadersWriter()


def open_web_store(path: str | Path) -> Database:
    """Open (once) the store the web app serves: migrated read-write once, then served
    read-only."""
    with _lock:
        current = _state.get("db")
        if current is not None and current.path == str(path):
            return current
        if current is not None:
            current.close()
            del _state["db"]
        if str(path) == ":memory:":
            _state["db"] = Database(path)
            return _state["db"]
        if not Path(path).exists():
            raise StoreError(f"No store at {path}; run 'chainatlas build' first to create it.")
        # Apply pending migrations; when another process has the file open, the
        # read-only open below says whether it is current.
        with suppress(StoreBusyError):
            Database(path, create=False).close()
        _state["db"] = Database(path, read_only=True)
        _paths["db"] = str(path)
        _watch(str(path))
        return _state["db"]


def use_store(db: Database) -> None:
    """Serve an already open store (tests use an in-memory one)."""
    with _lock:
        _state["db"] = db
        _paths.pop("db", None)


def served() -> bool:
    """Whether the web app has a store to serve."""
    return "db" in _state or "db" in _paths


def _base() -> Database:
    """The served connection; reopened read-only if a write could not reopen it."""
    base = _state.get("db")
    if base is not None:
        return base
    path = _paths.get("db")
    if path is None:
        raise StoreError("The web app has no store: start it with 'chainatlas serve'.")
    with _lock:
        if "db" not in _state:
            _state["db"] = _retry_busy(lambda: Database(path, read_only=True))
        return _state["db"]


@contextmanager
def request_db() -> Iterator[Database]:
    """A Database on a fresh cursor of the served store, for one request or page."""
    with _access.reading():
        base = _base()
        cursor = Database.from_connection(base.conn.cursor(), base.path,
                                          read_only=base.read_only)
        try:
            yield cursor
        finally:
            cursor.conn.close()


@contextmanager
def _write_turn() -> Iterator[None]:
    """Hold :data:`write_lock`, waiting at most :data:`WAIT_SECONDS` (a command may have
    the file: a web write then answers 503 instead of hanging)."""
    if not write_lock.acquire(timeout=WAIT_SECONDS):
        raise StoreBusyError(_BUSY_HINT)
    try:
        yield
    finally:
        write_lock.release()


@contextmanager
def write_db() -> Iterator[Database]:
    """A Database for one write (a correction, a user, an import), one writer at a time.

    A file store served read-only is reopened read-write for the write and read-only
    again after it (checkpointed); when another process holds the file, the write waits
    up to :data:`BUSY_WAIT_SECONDS`, then fails with a StoreBusyError (HTTP 503).
    """
    with _write_turn(), _access.writing():
        try:
            base = _base()
            if not base.read_only:  # in memory, or handed over read-write: write in place
                cursor = Database.from_connection(base.conn.cursor(), base.path)
                try:
                    yield cursor
                finally:
                    cursor.conn.close()
                return
            with _swapped(base.path) as writer:
                yield writer
        finally:
            # Bumped even when the write failed: part of it may be committed, and a
            # needless recomputation is cheap while a stale cached answer is wrong.
            _writes[0] += 1


def store_version() -> int:
    """How many writes :func:`write_db` has finished in this process: a read cached under
    one count is stale once it changes (see chainatlas.web.cache). It does not see writes
    by other processes (the CLI), which DuckDB allows only while the server has let go of
    the file, so the cache adds the file's own fingerprint."""
    return _writes[0]


@contextmanager
def _swapped(path: str) -> Iterator[Database]:
    """Close the read-only connection, yield a read-write one, then reopen read-only."""
    with _lock:
        _state.pop("db").close()
    try:
        writer = _retry_busy(lambda: Database(path, create=False))
        try:
            yield writer
            writer.checkpoint()
        finally:
            writer.close()
    finally:
        # Left closed when that fails: the next request reopens it (:func:`_base`).
        with _lock, suppress(StoreError):
            _state["db"] = _retry_busy(lambda: Database(path, read_only=True))


def _retry_busy(open_store: Callable[[], Database]) -> Database:
    """Open with ``open_store()``, retrying while another process holds the file."""
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    while True:
        try:
            return open_store()
        except StoreBusyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(_RETRY_SECONDS)


# -- handing the file over to a command -------------------------------------------------

#: The current watcher's number: a watcher whose number is no longer this one ends (so
#: serving the same path again never leaves two watchers handing it over).
_watcher = [0]


def _watch(path: str) -> None:
    """Start the thread that hands the file over to a command asking for it; it ends
    when the store served is no longer ``path`` or another watcher has started."""
    _watcher[0] += 1
    thread = threading.Thread(target=_watch_loop, args=(path, _watcher[0]), daemon=True,
                              name=f"chainatlas-handoff {Path(path).name}")
    thread.start()


def _watch_loop(path: str, number: int) -> None:
    """Poll for a command's request and hand the file over (see :func:`hand_over`)."""
    obeyed_last: int | None = None  # the PID a handoff gave up on (MAX_HOLD_SECONDS)
    while _paths.get("db") == path and _watcher[0] == number:
        time.sleep(handoff.POLL_SECONDS)
        pid = handoff.live_request(path)
        if pid is None or pid == obeyed_last:
            continue
        try:
            if not hand_over(path):
                obeyed_last = pid
        except Exception:  # a thread that dies would leave every later command waiting
            log.exception("handing the store %s over failed", path)


def hand_over(path: str) -> bool:
    """Close the served store while a command writes to it, then reopen it read-only.

    Web requests wait meanwhile (the writer's side of the lock). Return False when the
    command kept the file past :data:`MAX_HOLD_SECONDS`.
    """
    with _write_turn(), _access.writing():
        pid = handoff.live_request(path)
        if pid is None or _paths.get("db") != path:
            return True  # withdrawn (or another store served) while we waited our turn
        start = time.monotonic()
        with _lock:
            current = _state.pop("db", None)
        if current is not None:
            current.close()
        log.info("store %s handed over to process %d", path, pid)
        try:
            released = handoff.wait_until_released(path, MAX_HOLD_SECONDS)
            with _lock, suppress(StoreError):
                _state["db"] = _retry_busy(lambda: Database(path, read_only=True))
        finally:
            # The command changed the file: what was cached from it is stale.
            _writes[0] += 1
        log.info("store %s back after %.1f s", path, time.monotonic() - start)
        return released
