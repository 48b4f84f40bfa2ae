"""One writer, no lock errors (issue 13, point 7): a command asks the running server for
the store file (chainatlas.store.handoff) instead of failing on DuckDB's lock.

tests/test_store_locking.py covers the server's own read-only serving and web writes;
here: the request protocol, and real CLI commands against a served store.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainatlas.errors import StoreBusyError
from chainatlas.store import Database, handoff
from chainatlas.web import state
from tests.helpers import REPO, built_store, copy_store

CLI = [str(Path(sys.executable).with_name("chainatlas"))]
#: Holds the store read-write (argv[2] seconds, default 60), then exits.
HOLD_WRITE = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]);"
              " print('held', flush=True);"
              " time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 60)")
PASSWORD = "a long enough password 42"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_store(tmp_path_factory.mktemp("handoff"))


@pytest.fixture
def store(built: Path, tmp_path: Path) -> Path:
    return copy_store(built, tmp_path)


@pytest.fixture
def served(store: Path) -> Iterator[Path]:
    """The store served by the web state as ``chainatlas serve`` serves it (watcher on)."""
    state.open_web_store(store)
    yield store
    state._paths.clear()  # ends the watcher
    db = state._state.pop("db", None)
    if db is not None:
        db.close()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _hold(path: Path, seconds: float = 60) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE, str(path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def _cli(*args: str, db: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHAINATLAS_HOME": str(db.parent / "home"),
           handoff.WAIT_ENV: "20"}
    return subprocess.run([*CLI, *args, "--db", str(db)], cwd=REPO, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


# -- the request file ---------------------------------------------------------------------

def test_a_request_of_a_dead_process_is_stale_and_removed(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    handoff.request_path(db).write_text(str(_dead_pid()), encoding="ascii")
    assert handoff.live_request(db) is None
    assert not handoff.request_path(db).exists()
    handoff.request_path(db).write_text("garbage", encoding="ascii")
    assert handoff.live_request(db) is None and not handoff.request_path(db).exists()


def test_a_live_request_is_obeyed_and_withdrawn(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    request = handoff.WriteRequest(db)
    request.assert_()
    assert handoff.live_request(db) == os.getpid()
    request.withdraw()
    request.withdraw()  # twice is harmless
    assert handoff.live_request(db) is None
    assert handoff.wait_until_released(db, max_hold=0.1)


def test_two_writers_take_turns(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        handoff.request_path(db).write_text(str(other.pid), encoding="ascii")
        mine = handoff.WriteRequest(db)
        mine.assert_()  # the first writer's request stays in
        assert handoff.read_request(db) == other.pid
        mine.withdraw()  # never removes another writer's request
        assert handoff.read_request(db) == other.pid
        assert not handoff.wait_until_released(db, max_hold=0.3, poll=0.05)
    finally:
        other.kill()
        other.wait()
    mine.assert_()  # the first one gone: our turn
    assert handoff.read_request(db) == os.getpid()
    mine.withdraw()


def test_the_wait_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(handoff.WAIT_ENV, raising=False)
    assert handoff.wait_seconds() == handoff.DEFAULT_WAIT_SECONDS
    monkeypatch.setenv(handoff.WAIT_ENV, "2.5")
    assert handoff.wait_seconds() == 2.5
    for bad in ("soon", "-1"):
        monkeypatch.setenv(handoff.WAIT_ENV, bad)
        assert handoff.wait_seconds() == handoff.DEFAULT_WAIT_SECONDS


def test_a_writer_gives_up_after_its_budget_saying_so_once(store: Path) -> None:
    holder = _hold(store)
    messages: list[str] = []
    try:
        start = time.monotonic()
        with pytest.raises(StoreBusyError, match=r"waited 0.4 s.*CHAINATLAS_STORE_WAIT"):
            handoff.open_with_retry(store, read_only=False, wait=0.4, notify=messages.append)
        assert 0.4 <= time.monotonic() - start < 3
    finally:
        holder.kill()
        holder.wait()
    assert len(messages) == 1 and "waiting up to 0.4 s" in messages[0]
    assert not handoff.request_path(store).exists()  # withdrawn when it gave up


def test_a_reader_waits_for_a_writer_without_asking(store: Path) -> None:
    holder = _hold(store, seconds=0.6)
    messages: list[str] = []
    try:
        with handoff.open_with_retry(store, read_only=True, wait=10,
                                     notify=messages.append) as db:
            assert not handoff.request_path(store).exists()
            assert db.read_only and db.scalar("SELECT count(*) FROM companies") > 0
    finally:
        holder.kill()
        holder.wait()
    assert len(messages) == 1 and "being written" in messages[0]


def test_a_store_of_this_process_is_not_waited_for(store: Path) -> None:
    with Database(store, read_only=True), \
            pytest.raises(StoreBusyError, match="already open in this process"):
        handoff.open_with_retry(store, read_only=False, wait=5)
    assert not handoff.request_path(store).exists()


def test_closing_the_store_withdraws_the_request(store: Path) -> None:
    db = handoff.open_with_retry(store, read_only=False, wait=1)
    assert isinstance(db, handoff.RequestedStore) and db.request is not None
    db.request.assert_()
    db.close()
    assert not handoff.request_path(store).exists()


# -- real commands while the server runs ----------------------------------------------------

def test_a_cli_writer_while_the_server_runs_gets_the_file(served: Path) -> None:
    with state.request_db() as db:
        assert db.read_only
        before = db.scalar("SELECT count(*) FROM users")
    start = time.monotonic()
    result = _cli("users", "add", "alice", "--role", "analyst", "--password-stdin",
                  db=served, stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 10
    assert "Added user alice" in result.stdout
    said = " ".join(result.stderr.split())  # rich wraps the message
    assert "waiting up to 20 s" in said and "Traceback" not in said
    assert not handoff.request_path(served).exists()
    with state.request_db() as db:  # served again, read-only, with the command's write
        assert db.read_only
        assert db.scalar("SELECT count(*) FROM users") == before + 1
        assert db.scalar("SELECT role FROM users WHERE name = 'alice'") == "analyst"


def test_a_cli_reader_while_the_server_runs_needs_no_handoff(served: Path) -> None:
    result = _cli("stats", "--json", db=served)
    assert result.returncode == 0, result.stderr
    assert '"schema_version"' in result.stdout and "waiting" not in result.stderr
    with state.request_db() as db:
        assert db.read_only and db.scalar("SELECT count(*) FROM companies") > 0


def test_a_failed_cli_writer_gives_the_file_back(served: Path) -> None:
    result = _cli("users", "add", "bob", "--role", "analyst", "--password-stdin",
                  db=served, stdin="short\n")  # refused inside the command, store open
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    time.sleep(handoff.POLL_SECONDS * 3)
    assert not handoff.request_path(served).exists()
    with state.request_db() as db:
        assert db.scalar("SELECT count(*) FROM users WHERE name = 'bob'") == 0
