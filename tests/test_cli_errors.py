"""Clean messages, not tracebacks, for every error the hardening probe met (issue 10, 8)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner, Result

from chainatlas import cli
from chainatlas.store import Database
from tests.helpers import built_store, copy_store

runner = CliRunner()
REGION = ["region", "石家庄市", "--chain", "biomedicine"]
RECOMMEND = ["recommend", "firms", "--region", "石家庄市", "--chain", "biomedicine"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file store built from the small bundle, once for the module (copy before harm)."""
    return built_store(tmp_path_factory.mktemp("errors"))


@pytest.fixture
def store(built: Path, tmp_path: Path) -> Path:
    """A copy of the built store this test may change."""
    return copy_store(built, tmp_path)


def run(*args: str) -> Result:
    return runner.invoke(cli.app, list(args))


def flat(result: Result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def assert_clean(result: Result, *names: str, code: int = 1) -> None:
    """Exit ``code``, one 'Error:' message naming ``names``, no traceback."""
    assert result.exit_code == code, result.output
    text = flat(result)
    assert "Error:" in text and "Traceback" not in text
    for name in names:
        assert name in text, (name, text)


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "bit-flipped":
        for i in range(0, 4096 * 3, 7):  # the file and database headers
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        path.write_text("name,uscc\n某公司,123\n", encoding="utf-8")  # --db names a CSV


@pytest.mark.parametrize("how", ["truncated", "bit-flipped", "csv"])
@pytest.mark.parametrize("command", [["stats"], REGION, RECOMMEND, ["leaders", "biomedicine"]],
                         ids=["stats", "region", "recommend", "leaders"])
def test_damaged_store_is_a_clean_message(store: Path, how: str,
                                          command: list[str]) -> None:
    _damage(store, how)
    assert_clean(run(*command, "--db", str(store)), str(store))


@pytest.mark.parametrize("how", ["truncated", "csv"])
def test_serve_on_a_damaged_store_is_a_clean_message(store: Path, how: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINATLAS_HOME", str(tmp_path / "home"))
    _damage(store, how)
    assert_clean(run("serve", "--db", str(store), "--port", "1"), str(store))


def test_damage_found_mid_query_is_a_clean_message(store: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A page the open did not read fails later, inside a query: still one message."""
    def corrupt(db: Database) -> None:
        raise duckdb.IOException("Corrupt database file: block checksum mismatch")

    monkeypatch.setattr("chainatlas.store.stats.stats_from_db", corrupt)
    assert_clean(run("stats", "--db", str(store)), str(store), "checksum mismatch")


@pytest.mark.parametrize("command", [
    ["export", "roster"], ["export", "placements"]], ids=["roster", "placements"])
def test_export_into_a_missing_folder_names_it(store: Path, tmp_path: Path,
                                               command: list[str]) -> None:
    target = tmp_path / "nonexistent" / "x.xlsx"
    assert_clean(run(*command, str(target), "--db", str(store)), str(target.parent))


def test_recommend_xlsx_into_a_missing_folder_names_it(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "r.xlsx"
    assert_clean(run(*RECOMMEND, "--xlsx", str(target), "--db", str(store)),
                 str(target.parent))


def _roster(tmp_path: Path, encoding: str = "utf-8") -> Path:
    path = tmp_path / "名单.csv"
    path.write_bytes("单位名称,地址\n石家庄某某制药有限公司,河北省石家庄市\n".encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["rot13", "no-such-codec", "base64"])
def test_an_encoding_that_is_no_text_codec_is_named(store: Path, tmp_path: Path,
                                                    encoding: str) -> None:
    roster = _roster(tmp_path)
    before = store.read_bytes()
    assert_clean(run("import", "roster", str(roster), "--encoding", encoding, "--db",
                     str(store)), str(roster), encoding, code=2)
    assert store.read_bytes() == before


def test_an_encoding_that_fails_to_decode_is_named(store: Path, tmp_path: Path) -> None:
    roster = _roster(tmp_path, "gbk")
    assert_clean(run("import", "roster", str(roster), "--encoding", "ascii", "--db",
                     str(store)), str(roster), "ascii", code=2)


@pytest.mark.parametrize("command", [
    ["import", "roster", "ROSTER"],
    ["chains", "assign", "以岭药业", "biomedicine/bm_api", "--reason", "x"],
    ["chains", "unassign", "以岭药业", "biomedicine/bm_api", "--reason", "x"],
    ["chains", "corrections"], ["stats"], ["export", "roster", "OUT"]],
    ids=["import", "assign", "unassign", "corrections", "stats", "export"])
def test_a_mistyped_db_is_refused_not_created(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "typo.duckdb"
    args = [str(_roster(tmp_path)) if a == "ROSTER" else str(tmp_path / "out.csv")
            if a == "OUT" else a for a in command]
    result = run(*args, "--db", str(missing))
    assert_clean(result, f"No store at {missing}", "chainatlas build")
    assert not missing.exists() and not missing.with_name("typo.duckdb.wal").exists()


def test_a_writer_while_another_process_holds_the_store_is_told_so(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLI writer while another process (not a server: nothing hands the file over)
    holds the store: after its wait the message says the store is busy, names the
    holding process and how long it waited."""
    monkeypatch.setenv("CHAINATLAS_STORE_WAIT", "1")
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(60)", str(store)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = run("chains", "assign", "以岭药业", "biomedicine/bm_api", "--reason", "x",
                     "--db", str(store))
        assert_clean(result, str(store), "busy", f"PID {holder.pid}", "waited 1 s")
    finally:
        holder.kill()
        holder.wait()
