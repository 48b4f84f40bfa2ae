"""One writer at a time, without lock errors: how a command gets the store from the server.

DuckDB lets many processes open a store file read-only, or one process read-write. The
web server (``chainatlas serve``) holds a read-only connection all the time, so a command
that writes (an import, ``users add``, a correction) could not open the file. Instead of
failing it asks for the file:

1. The command writes a *request file* ``<store>.write-request`` holding its PID
   (:class:`WriteRequest`), and retries opening until :func:`wait_seconds` have passed.
2. The server polls for that file (:func:`live_request`, every :data:`POLL_SECONDS`):
   when a live process asks, it holds off its web requests, closes its connection and
   waits until the request is withdrawn or its process has died
   (:func:`wait_until_released`), then reopens read-only.
3. The command withdraws the request when its store is closed, when it gives up, and at
   exit (whichever comes first; withdrawing twice is harmless).

A request whose process is gone (killed mid-command) is stale: it is removed, never
obeyed. A command reading the store needs no request: readers share the file with the
server and only wait (:func:`open_with_retry`) while someone holds it read-write.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from chainatlas.errors import StoreBusyError
from chainatlas.store.database import Database

#: Suffix of the request file beside the store.
REQUEST_SUFFIX = ".write-request"
#: How often the server looks for a request (so a handoff starts within this delay).
POLL_SECONDS = 0.2
#: How often a waiting command retries opening the store.
RETRY_SECONDS = 0.1
#: Environment variable overriding how long a command waits for the store, in seconds.
WAIT_ENV = "CHAINATLAS_STORE_WAIT"
#: How long a command waits by default: an import on the server side may take a minute.
DEFAULT_WAIT_SECONDS = 120.0

Notify = Callable[[str], None]


def request_path(db_path: str | Path) -> Path:
    """The request file of the store at ``db_path``."""
    return Path(str(db_path) + REQUEST_SUFFIX)


def wait_seconds() -> float:
    """How long a command waits for a busy store (:data:`WAIT_ENV`, else the default);
    an unreadable or negative value falls back to the default rather than failing."""
    text = os.environ.get(WAIT_ENV, "").strip()
    try:
        value = float(text) if text else DEFAULT_WAIT_SECONDS
    except ValueError:
        return DEFAULT_WAIT_SECONDS
    return value if value >= 0 else DEFAULT_WAIT_SECONDS


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (signal 0 checks without signalling)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def read_request(db_path: str | Path) -> int | None:
    """The PID in the store's request file; None when there is none or it is unreadable."""
    try:
        text = request_path(db_path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeError):
        return None
    return int(text) if text.isdigit() else None


def live_request(db_path: str | Path) -> int | None:
    """The PID of a live process asking for the store, or None.

    A request file naming a dead process (or holding no PID) is removed: obeying it would
    keep the server closed for nobody.
    """
    path = request_path(db_path)
    if not path.exists():
        return None
    pid = read_request(db_path)
    if pid is not None and pid_alive(pid):
        return pid
    with contextlib.suppress(OSError):
        # Only if it still names the dead PID: a live writer may have replaced it since.
        if read_request(db_path) == pid:
            path.unlink()
    return None


def wait_until_released(db_path: str | Path, max_hold: float,
                        poll: float = POLL_SECONDS) -> bool:
    """Wait until no live process asks for the store; False when ``max_hold`` ran out."""
    deadline = time.monotonic() + max_hold
    while live_request(db_path) is not None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True


class WriteRequest:
    """This process's request for the store file (see the module docstring)."""

    def __init__(self, db_path: str | Path) -> None:
        self.path = request_path(db_path)
        self.db_path = str(db_path)
        self.pid = os.getpid()
        self._exit_hook = False

    def assert_(self) -> None:
        """Write the request unless a live process has one in: two waiting writers take
        turns (the later one writes its own once the first has withdrawn)."""
        if live_request(self.db_path) is not None:
            return
        temp = self.path.with_name(f"{self.path.name}.{self.pid}.tmp")
        # Written aside and renamed, so the server never reads a half-written PID.
        temp.write_text(str(self.pid), encoding="ascii")
        os.replace(temp, self.path)
        if not self._exit_hook:
            atexit.register(self.withdraw)
            self._exit_hook = True

    def withdraw(self) -> None:
        """Remove the request if it is this process's (never another writer's)."""
        if read_request(self.db_path) == self.pid:
            with contextlib.suppress(OSError):
                self.path.unlink()


class RequestedStore(Database):
    """A store opened after asking for it: closing it withdraws the request, which is the
    server's sign to reopen the file."""

    request: WriteRequest | None = None

    def close(self) -> None:
        """Close the connection, then let the server have the file back."""
        try:
            super().close()
        finally:
            if self.request is not None:
                self.request.withdraw()


def open_with_retry(db_path: str | Path, *, read_only: bool, create: bool = False,
                    wait: float | None = None, notify: Notify | None = None) -> Database:
    """Open the store, waiting while another process holds it.

    A writer asks the server for the file (:class:`WriteRequest`); a reader only waits.
    ``notify`` is told once, when the first attempt found the store busy. After ``wait``
    seconds (default :func:`wait_seconds`) the last StoreBusyError is raised, saying how
    long it waited.
    """
    budget = wait_seconds() if wait is None else wait
    request = None if read_only else WriteRequest(db_path)
    deadline = time.monotonic() + budget
    try:
        while True:
            try:
                store = RequestedStore(db_path, read_only=read_only, create=create)
            except StoreBusyError as exc:
                if _this_process(exc):
                    raise  # another handle of this process: waiting would wait for itself
                if time.monotonic() >= deadline:
                    raise StoreBusyError(f"{exc} (waited {budget:g} s; set {WAIT_ENV} "
                                         "to wait longer)") from exc
                if request is not None:
                    request.assert_()
                if notify is not None:
                    notify(waiting_message(db_path, read_only, budget))
                    notify = None
                time.sleep(RETRY_SECONDS)
                continue
            store.request = request
            return store
    except BaseException:
        if request is not None:
            request.withdraw()
        raise


def _this_process(exc: StoreBusyError) -> bool:
    """Whether the store is held by this very process (DuckDB refuses a read-only and a
    read-write handle of one file in one process; see ``store.database._connect``)."""
    return "already open in this process" in str(exc)


def waiting_message(db_path: str | Path, read_only: bool, budget: float) -> str:
    """What a command prints while it waits for the store."""
    if read_only:
        return (f"The store {db_path} is being written (by the running server or another "
                f"command); waiting up to {budget:g} s for the write to finish…")
    return (f"The store {db_path} is in use by the running server (chainatlas serve) or "
            f"another command; waiting up to {budget:g} s for it to hand over the file…")
