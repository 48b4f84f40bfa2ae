"""``chainatlas pipeline run|import``: Parquet in, outputs out, figures into the store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from chainatlas.cli import app
from chainatlas.errors import NotFoundError
from chainatlas.pipeline.engines import read_output, write_parquet
from chainatlas.pipeline.relatedness import relatedness_from_inputs
from chainatlas.pipeline.store import import_run, node_cities
from chainatlas.store import Database

RUNNER = CliRunner()


def _registry(folder: Path) -> Path:
    rows = [{"row_id": i, "name": name, "code": "N/A", "date": "2003-01-03", "type": "N/A",
             "legal_rep": "N/A", "capital": "50(万元人民币)", "scope": scope,
             "province": province, "city": city, "address": "N/A"}
            for i, (name, scope, province, city) in enumerate([
                ("石家庄甲疫苗有限公司", "疫苗生产", "河北", "石家庄"),
                ("石家庄乙疫苗有限公司", "人用疫苗的研发、生产", "河北", "石家庄"),
                ("石家庄丙商贸有限公司", "五金交电、日用百货销售", "河北", "石家庄"),
                ("保定丁电子有限公司", "电子元件及组件制造、销售", "河北", "保定"),
                ("保定戊疫苗有限公司", "疫苗生产", "河北", "保定"),
                ("上海己贸易有限公司", "通讯器材销售", "上海", "静安")])]
    folder.mkdir()
    write_parquet(pd.DataFrame(rows), str(folder / "part-0.parquet"))
    return folder


@pytest.fixture
def run(tmp_path: Path) -> Path:
    source = _registry(tmp_path / "in")
    result = RUNNER.invoke(app, ["pipeline", "run", "--input", str(source), "--out",
                                 str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["engine"] == "duckdb" and report["rows"]["firms"] == 6
    assert report["rows"]["relatedness"] > 0
    return tmp_path / "out"


def test_run_writes_one_folder_per_table(run: Path) -> None:
    assert {p.name for p in run.iterdir() if not p.name.startswith("_")} == {
        "firms", "scope_items", "item_hits", "placements", "city_node", "lq",
        "relatedness_inputs", "relatedness"}
    lq = read_output(str(run), "lq").set_index(["city_adcode", "node_id"])
    assert lq.loc[("130100", "bm_vaccines"), "firms"] == 2


def test_relatedness_is_the_stores_density(run: Path) -> None:
    inputs = read_output(str(run), "relatedness_inputs")
    density = relatedness_from_inputs(inputs)
    assert set(density["chain_id"]) == set(inputs["chain_id"])
    assert density["density"].between(0, 1).all()
    assert read_output(str(run), "relatedness").equals(density)


def test_import_into_the_store(run: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    Database(store).close()
    result = RUNNER.invoke(app, ["pipeline", "import", str(run), "--db", str(store),
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run_id"] == 1
    with Database(store) as db:
        cities = node_cities(db, "biomedicine", "bm_vaccines")
        # 2 of 石家庄's 3 firms make vaccines, 3 of all 6 firms do: (2/3) / (3/6); 保定 1.
        assert list(cities["city_adcode"]) == ["130100", "130600"]
        assert list(cities["lq"]) == pytest.approx([4 / 3, 1.0])
        assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'pipeline.import'") == 1
        assert import_run(db, str(run), actor="test")["run_id"] == 2


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_clean_errors(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["pipeline", "run", "--input", str(tmp_path / "none"),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and "no such folder of Parquet files" in _flat(result.output)
    result = RUNNER.invoke(app, ["pipeline", "run", "--input", str(tmp_path), "--out",
                                 str(tmp_path / "out"), "--engine", "flink"])
    assert result.exit_code != 0 and "unknown engine" in _flat(result.output)
    result = RUNNER.invoke(app, ["pipeline", "run", "--input", str(tmp_path), "--out",
                                 "s3a://lake/run"])
    assert result.exit_code != 0 and "with --engine spark" in _flat(result.output)
    assert not (tmp_path / "s3a:").exists() and not Path("s3a:").exists()
    with Database() as db, pytest.raises(NotFoundError, match="no lq output"):
        import_run(db, str(tmp_path), actor="test")


def test_the_web_api_serves_an_imported_run(run: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from chainatlas.web.app import create_app
    from tests.helpers import built_store

    store = built_store(tmp_path / "built")
    with Database(store) as db:
        import_run(db, str(run), actor="test")
    # Not entered as a context manager: that would start NiceGUI, which the API needs not.
    client = TestClient(create_app(store), base_url="http://127.0.0.1")
    answer = client.get("/api/v1/pipeline/cities",
                        params={"chain": "生物医药", "node": "人用疫苗"})
    assert answer.status_code == 200, answer.text
    assert [r["city_adcode"] for r in answer.json()] == ["130100", "130600"]
    assert client.get("/api/v1/pipeline/cities", params={
        "chain": "biomedicine", "node": "no-such-node"}).status_code == 404


def test_data_synth_writes_a_registry_the_pipeline_reads(tmp_path: Path) -> None:
    from tests.helpers import mirror_path

    mirror = mirror_path()
    if mirror is None:
        pytest.skip("no open-data mirror (CHAINATLAS_MIRROR)")
    result = RUNNER.invoke(app, ["data", "synth", "--firms", "3000", "--out",
                                 str(tmp_path / "synth"), "--mirror", str(mirror),
                                 "--sample-files", "4", "--seed", "7", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 3000
    result = RUNNER.invoke(app, ["pipeline", "run", "--input", str(tmp_path / "synth"),
                                 "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"]["placements"] > 2500
    missing = RUNNER.invoke(app, ["data", "synth", "--firms", "10", "--out",
                                  str(tmp_path / "x"), "--mirror", str(tmp_path)])
    assert missing.exit_code != 0 and "no registry files" in _flat(missing.output)
