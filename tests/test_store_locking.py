"""The server and the CLI share one store file (issue 10, point 8: read-only CLI commands
failed while the server ran, DuckDB's file lock being held read-write by the server)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainatlas.build import apply_correction
from chainatlas.errors import StoreBusyError
from chainatlas.web import state
from tests.helpers import REPO, built_store

#: The installed ``chainatlas`` script of this environment.
CLI = [str(Path(sys.executable).with_name("chainatlas"))]
HOLD_READ_ONLY = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True);"
                  " print('held', flush=True); time.sleep(60)")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_store(tmp_path_factory.mktemp("locking"))


@pytest.fixture
def served(built: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the store, served by the web state as ``chainatlas serve`` serves it."""
    path = tmp_path / "store.duckdb"
    shutil.copy(built, path)
    state.open_web_store(path)
    yield path
    db = state._state.pop("db", None)
    if db is not None:
        db.close()
    state._paths.clear()


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHAINATLAS_HOME": str(db.parent / "home")}
    return subprocess.run([*CLI, *args, "--db", str(db)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def _correct(node: str = "bm_vaccines") -> dict[str, object]:
    with state.write_db() as db:
        return apply_correction(db, "以岭药业", "biomedicine", node, "assign", "批文", "t")


def test_the_server_serves_read_only_and_cli_readers_work(served: Path) -> None:
    with state.request_db() as db:
        assert db.read_only
    result = _cli("stats", "--json", db=served)
    assert result.returncode == 0, result.stderr
    assert '"schema_version"' in result.stdout
    result = _cli("region", "石家庄市", "--chain", "biomedicine", "--json", db=served)
    assert result.returncode == 0, result.stderr


def test_a_web_write_swaps_to_read_write_and_back(served: Path) -> None:
    row = _correct()
    assert row["company_id"]
    with state.request_db() as db:
        assert db.read_only  # served read-only again
        assert db.scalar("SELECT count(*) FROM corrections") == 1
        assert db.scalar("SELECT count(*) FROM chain_firms WHERE node_id = 'bm_vaccines' "
                         "AND company_id = ?", [row["company_id"]]) == 1
    wal = Path(str(served) + ".wal")
    assert not wal.exists() or wal.stat().st_size < 64 * 1024  # checkpointed
    result = _cli("chains", "corrections", "--json", db=served)  # other processes see it
    assert result.returncode == 0 and "批文" in result.stdout


def test_a_web_write_while_a_cli_reader_holds_the_file_is_busy(
        served: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state, "BUSY_WAIT_SECONDS", 0.3)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_READ_ONLY, str(served)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusyError, match="busy") as info:
            _correct()
        assert info.value.status_code == 503 and f"PID {holder.pid}" in str(info.value)
        with state.request_db() as db:  # still serving, read-only
            assert db.scalar("SELECT count(*) FROM corrections") == 0
    finally:
        holder.kill()
        holder.wait()
    assert _correct()["company_id"]  # the holder gone, the write goes through


def test_a_cli_writer_while_the_server_runs_gets_its_turn(served: Path) -> None:
    """The server hands the file over (store/handoff.py): the write is made, not refused,
    and the server reads it afterwards."""
    result = _cli("chains", "assign", "以岭药业", "biomedicine/bm_api", "--reason", "x",
                  db=served)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    with state.request_db() as db:
        assert db.scalar("SELECT count(*) FROM corrections") == 1


def test_a_write_waits_for_requests_in_flight(served: Path) -> None:
    events: list[str] = []
    reading = threading.Event()

    def reader() -> None:
        with state.request_db() as db:
            reading.set()
            time.sleep(0.3)
            db.scalar("SELECT count(*) FROM companies")
            events.append("read done")

    thread = threading.Thread(target=reader)
    thread.start()
    reading.wait()
    _correct()
    events.append("written")
    thread.join()
    assert events == ["read done", "written"]


def test_a_write_inside_a_read_is_refused_not_a_deadlock(served: Path) -> None:
    from chainatlas.errors import StoreError

    with state.request_db(), pytest.raises(StoreError, match="inside a read"):
        _correct()


def test_swap_cost(served: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One write's swap (close, open read-write, checkpoint, reopen read-only), measured."""
    start = time.perf_counter()
    for _ in range(5):
        with state.write_db():
            pass
    per_swap = (time.perf_counter() - start) / 5
    with capsys.disabled():
        print(f"\nread-only/read-write swap: {per_swap * 1000:.1f} ms")
    assert per_swap < 2.0
