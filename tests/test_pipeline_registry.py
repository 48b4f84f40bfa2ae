"""``chainatlas data registry``: the real registry's CSV files as the pipeline's Parquet
input, cells as written, and every record that is not a row listed with file and line."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from chainatlas.cli import app
from chainatlas.errors import DataSourceError
from chainatlas.pipeline.engines import read_output, run_duckdb
from chainatlas.pipeline.registry_input import REJECTS, input_from_scan
from chainatlas.pipeline.steps import INPUT_COLUMNS
from chainatlas.sources.registry_files import RegistryFile, scan_mirror
from chainatlas.store.database import quiet_connect
from tests.helpers import mirror_path

HEADER = ("企业名称,统一社会信用代码,注册日期,企业类型,法人代表,注册资金,经营范围,所在省份,"
          "地区,注册地址\n")
GOOD = ("石家庄甲疫苗有限公司,N/A,2003-01-03,N/A,张三,\"1,000(万元人民币)\",疫苗生产,河北,"
        "石家庄,N/A\n"
        "保定乙电子有限公司,N/A,2003-02-03,N/A,李四,50(万元),电子元件制造,河北,保定,N/A\n")
SHORT = "唐山丙公司,N/A,2003-03-03,N/A,王五,50(万元),销售,河北,唐山\n"  # 9 fields


def _file(root: Path, path: str, text: str, pin: bool = True) -> RegistryFile:
    data = text.encode("utf-8")
    target = root / "registry" / "csv" / (path + ".gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress(data, mtime=0))
    return RegistryFile(path, hashlib.sha256(data).hexdigest() if pin else None)


def _rows(out: Path) -> pd.DataFrame:
    con = quiet_connect()
    return con.execute("SELECT * FROM read_parquet(?) ORDER BY row_id",
                       [str(out / "*.parquet")]).df()


def test_rows_keep_their_cells_and_bad_records_are_listed(tmp_path: Path) -> None:
    good = _file(tmp_path, "2003/河北.csv", HEADER + GOOD + SHORT + GOOD)
    wrong = RegistryFile(_file(tmp_path, "2004/河北.csv", HEADER + GOOD).path, "0" * 64)
    scan = scan_mirror(tmp_path, [good, wrong, RegistryFile("2002/河北.csv", None)])
    report = input_from_scan(tmp_path / "out", scan)
    assert (report.rows, report.files_read, report.rejected_rows) == (4, 1, 1)
    assert report.files_missing == ["2002/河北.csv"]
    assert "pinned" in report.files_skipped["2004/河北.csv"]
    rows = _rows(tmp_path / "out")
    assert list(rows.columns) == list(INPUT_COLUMNS)
    assert rows["row_id"].tolist() == [1, 2, 3, 4]
    assert rows["capital"].iloc[0] == "1,000(万元人民币)" and rows["code"].iloc[0] == "N/A"
    [reject] = [json.loads(x) for x in (tmp_path / "out" / REJECTS).read_text().splitlines()]
    assert reject == {"file": "2003/河北.csv", "line": 4, "fields": 9,
                      "reason": "9 fields, the header has 10"}
    # The pipeline reads it as it is: the 1,000 万 capital, one row per firm.
    run_duckdb(str(tmp_path / "out"), str(tmp_path / "run"))
    firms = read_output(str(tmp_path / "run"), "firms")
    assert len(firms) == 2 and firms["capital_wan"].max() == 1000


MIRROR = mirror_path()


@pytest.mark.skipif(MIRROR is None, reason="no open-data mirror (CHAINATLAS_MIRROR)")
def test_the_real_registry_of_hebei(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["data", "registry", "--out", str(tmp_path / "hebei"),
                                      "--registry", "河北", "--mirror", str(MIRROR), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # The mirror's README: 40,515 well-formed rows of 河北 (and 10 records that are not).
    assert (report["rows"], report["rejected_rows"]) == (40_515, 10)
    assert report["files_skipped"] == {} and report["files_missing"] == []
    assert report["files_read"] == 25  # 河北 has a file for 25 of the 27 years
    rows = _rows(tmp_path / "hebei")
    assert rows["row_id"].is_unique and len(rows) == report["rows"]
    assert (rows["city"] == "石家庄").sum() > 7_000


def test_nothing_found_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="no registry file"):
        input_from_scan(tmp_path / "out", scan_mirror(tmp_path, [
            RegistryFile("2002/河北.csv", None)]))


def test_a_bad_province_is_a_clean_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["data", "registry", "--out", str(tmp_path / "x"),
                                      "--registry", "火星"])
    assert result.exit_code != 0 and "is not a province" in result.output
