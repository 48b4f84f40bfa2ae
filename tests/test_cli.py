"""The command line: every command has help, errors are clean messages, JSON output."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path
from typing import Any

import click
import pytest
import typer.main
from typer.testing import CliRunner

from chainatlas import cli
from chainatlas.sources import fetch
from tests.helpers import mirror_path

runner = CliRunner()


def flat(output: str) -> str:
    """Output with rich's line wrapping undone (messages are matched as one line)."""
    return " ".join(output.split())


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        out.append(path)
        if isinstance(command, click.Group):
            out += _commands(command, path)
    return out


ALL_COMMANDS = _commands(typer.main.get_command(cli.app))  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=[" ".join(p) for p in ALL_COMMANDS])
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = runner.invoke(cli.app, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
    command = typer.main.get_command(cli.app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert command.help, f"{' '.join(path)} has no help text"


def test_offline_fetch_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CHAINATLAS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CHAINATLAS_MIRROR", raising=False)

    def offline(url: str, target: Path) -> None:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(fetch, "_download", offline)
    monkeypatch.setattr("sys.argv", ["chainatlas", "data", "fetch"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "Error:" in err and "--mirror DIR" in err and "Traceback" not in err
    assert not (tmp_path / "home").exists()


def test_stats_without_store_is_clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.argv", ["chainatlas", "stats", "--db", str(tmp_path / "x.duckdb")])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    assert "chainatlas build" in capsys.readouterr().err


@pytest.mark.integration
def test_build_stats_and_demo_on_the_mirror(tmp_path: Path) -> None:
    folder = mirror_path()
    if folder is None:
        pytest.skip("no open-data mirror")
    db = str(tmp_path / "store.duckdb")
    result = runner.invoke(cli.app, ["demo", "--db", db, "--mirror", str(folder)])
    assert result.exit_code == 0, result.output
    assert "石家庄市" in result.output and "医药生物" in result.output
    result = runner.invoke(cli.app, ["stats", "--db", db, "--json"])
    stats = json.loads(result.output)
    assert stats["firms"]["listed"] == 4586
    assert stats["firms"]["listed_located_city"] >= 4480


def test_chain_commands_on_a_small_store(mini_bundle: Path, tmp_path: Path) -> None:
    from chainatlas.build import build_store
    from chainatlas.store import Database
    from tests.helpers import unpinned_bundle

    db = tmp_path / "s.duckdb"
    with Database(db) as store:
        build_store(store, unpinned_bundle(mini_bundle))
    result = runner.invoke(cli.app, ["chains", "list", "--json", "--db", str(db)])
    assert {c["id"] for c in json.loads(result.output)} >= {"biomedicine", "electronics"}
    result = runner.invoke(cli.app, ["chains", "validate", "--db", str(db)])
    # the small store lacks most industry codes: every one is named, as a clean message
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "is not a known Shenwan 2021 industry code" in flat(result.output)
    result = runner.invoke(cli.app, ["chains", "validate"])
    assert result.exit_code == 0 and "5 chain templates are valid" in result.output
    result = runner.invoke(cli.app, ["chain", "show", "biomedicine", "--region", "石家庄",
                                     "--json", "--db", str(db)])
    panorama = json.loads(result.output)
    assert panorama["region"]["adcode"] == "130100"
    result = runner.invoke(cli.app, ["chains", "assign", "以岭药业", "biomedicine/bm_vaccines",
                                     "--reason", "批文", "--db", str(db), "--json"])
    assert json.loads(result.output)["action"] == "assign"
    result = runner.invoke(cli.app, ["chains", "corrections", "--json", "--db", str(db)])
    assert json.loads(result.output)[0]["reason"] == "批文"
    result = runner.invoke(cli.app, ["chains", "show", "biomedicine", "--json"])
    assert len(json.loads(result.output)["nodes"]) >= 30
    result = runner.invoke(cli.app, ["chains", "audit", "biomedicine", "--json", "--db", str(db)])
    assert json.loads(result.output)["edges"] > 0


def test_chinese_chain_and_node_names(mini_bundle: Path, tmp_path: Path) -> None:
    from chainatlas.build import build_store
    from chainatlas.store import Database
    from tests.helpers import unpinned_bundle

    db = tmp_path / "s.duckdb"
    with Database(db) as store:
        build_store(store, unpinned_bundle(mini_bundle))

    def run(*args: str) -> Any:
        result = runner.invoke(cli.app, [*args, "--json", "--db", str(db)])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    assert run("map", "--chain", "生物医药", "--node", "化学原料药") == run(
        "map", "--chain", "biomedicine", "--node", "bm_api")
    assert run("recommend", "firms", "--region", "武汉市", "--chain", "生物医药", "--node",
               "化学原料药") == run("recommend", "firms", "--region", "420100", "--chain",
                                  "biomedicine", "--node", "bm_api")
    assert run("region", "石家庄市", "--chain", "生物医药")["chain_id"] == "biomedicine"
    nodes = ("recommend", "nodes", "--region", "武汉市", "--chain", "生物医药", "--top", "200")
    assert {n["kind"] for n in run(*nodes)} == {"production"}
    assert {"production", "trade"} <= {n["kind"] for n in run(*nodes, "--all-kinds")}
    assert run("leaders", "生物医药")["chain_id"] == "biomedicine"
    row = run("chains", "assign", "华北制药", "生物医药/人用疫苗", "--reason", "批文")
    assert (row["chain_id"], row["node_id"]) == ("biomedicine", "bm_vaccines")
    assert run("chains", "audit", "生物医药")["chain_id"] == "biomedicine"
    result = runner.invoke(cli.app, ["chains", "assign", "华北制药", "生物医药/无此环节",
                                     "--reason", "x", "--db", str(db)])
    assert result.exit_code == 1 and "无此环节" in flat(result.output)


def test_build_remembers_a_user_chains_dir(tmp_path: Path) -> None:
    folder = mirror_path()
    if folder is None:
        pytest.skip("no open-data mirror")
    chains = tmp_path / "chains"
    chains.mkdir()
    (chains / "biomedicine.yaml").write_text(
        "id: biomedicine\nname_zh: 我的生物医药\nname_en: Mine\nnodes:\n"
        "  - {id: vac, name_zh: 疫苗, name_en: Vaccines, stage: 中游, keywords: [疫苗]}\n",
        encoding="utf-8")
    db = str(tmp_path / "s.duckdb")
    result = runner.invoke(cli.app, ["build", "--db", db, "--mirror", str(folder),
                                     "--chains-dir", str(chains)])
    assert result.exit_code == 0, result.output
    listed = json.loads(runner.invoke(cli.app, ["chains", "list", "--json", "--db", db]).output)
    assert {c["id"]: c["name_zh"] for c in listed}["biomedicine"] == "我的生物医药"
    panorama = json.loads(runner.invoke(
        cli.app, ["chain", "show", "biomedicine", "--json", "--db", db]).output)
    assert [n["node_id"] for n in panorama["nodes"]] == ["vac"]
    assert panorama["nodes"][0]["national_firms"] > 0


@pytest.fixture
def registry_store(mini_bundle: Path, tmp_path: Path) -> Path:
    """The small bundle's store plus two registry vaccine makers of 石家庄."""
    from chainatlas.build import build_store, refresh_derived
    from chainatlas.chains.classify import classify_store
    from chainatlas.chains.templates import load_templates
    from chainatlas.store import Database
    from tests.helpers import unpinned_bundle

    db = tmp_path / "registry.duckdb"
    with Database(db) as store:
        build_store(store, unpinned_bundle(mini_bundle))
        for cid in ("R_VAC1", "R_VAC2"):
            store.execute("INSERT INTO companies (company_id, origin, short_name, full_name, "
                          "business_scope, province_adcode, city_adcode, region_adcode, "
                          "registered_capital, source_id, updated_at) VALUES (?, 'registry', "
                          "?, ?, '疫苗的研发、生产', '130000', '130100', '130100', 100, 1, now())",
                          [cid, cid, cid + "有限公司"])
        classify_store(store, load_templates())
        refresh_derived(store)
    return db


UNIVERSE_COMMANDS = [
    ("region", "石家庄市", "--chain", "生物医药"), ("leaders", "生物医药", "--region", "石家庄市"),
    ("map", "--chain", "生物医药"), ("chain", "show", "生物医药", "--region", "石家庄市"),
    ("recommend", "nodes", "--region", "武汉市", "--chain", "生物医药"),
    ("recommend", "firms", "--region", "武汉市", "--chain", "生物医药")]


@pytest.mark.parametrize("command", UNIVERSE_COMMANDS, ids=[c[0] + " " + c[1]
                                                            for c in UNIVERSE_COMMANDS])
def test_every_region_and_chain_command_takes_the_universe(registry_store: Path,
                                                           command: tuple[str, ...]) -> None:
    def run(*extra: str) -> Any:
        result = runner.invoke(cli.app, [*command, *extra, "--db", str(registry_store)])
        assert result.exit_code == 0, result.output
        return result.output

    def universes(output: str) -> set[str]:
        body = json.loads(output)
        return {r["universe"] for r in body} if isinstance(body, list) else {body["universe"]}

    assert universes(run("--json")) == {"all"}  # registry firms loaded: all by default
    assert universes(run("--json", "--universe", "上市企业")) == {"listed"}
    assert universes(run("--json", "--universe", "registry")) <= {"registry"}
    assert "全部企业" in run()  # the table's title says it too
    result = runner.invoke(cli.app, [*command, "--universe", "foreign", "--db",
                                     str(registry_store)])
    assert result.exit_code == 1 and "choose one of listed" in flat(result.output)


def test_registry_firms_change_the_region_command(registry_store: Path, tmp_path: Path) -> None:
    def profile(*extra: str) -> Any:
        result = runner.invoke(cli.app, ["region", "石家庄市", "--chain", "生物医药", "--json",
                                         "--db", str(registry_store), *extra])
        return {n["node_id"]: n for n in json.loads(result.output)["nodes"]}

    assert profile("--universe", "listed")["bm_vaccines"]["class"] == "缺"
    vaccines = profile()["bm_vaccines"]
    assert (vaccines["local_firms"], vaccines["class"]) == (2, "弱")  # LQ 1.0: all of 河北
    book = tmp_path / "firms.xlsx"
    result = runner.invoke(cli.app, ["recommend", "firms", "--region", "武汉市", "--chain",
                                     "生物医药", "--universe", "registry", "--xlsx", str(book),
                                     "--db", str(registry_store)])
    assert result.exit_code == 0, result.output
    import openpyxl

    notes = [c.value for row in openpyxl.load_workbook(book)["说明"].iter_rows() for c in row]
    assert notes[notes.index("企业范围") + 1] == "工商登记企业"
