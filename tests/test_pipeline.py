"""The batch pipeline on DuckDB: normalisation, scope items, rule placement, LQ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from stdnum.cn import uscc as stdnum_uscc

from chainatlas.chains import scope
from chainatlas.errors import InputError, ParameterError
from chainatlas.pipeline.engines import read_output, run_duckdb, run_pipeline, write_parquet
from chainatlas.pipeline.reference import reference_frames
from chainatlas.pipeline.steps import (
    FALSE_VERBS,
    INPUT_COLUMNS,
    PortabilityError,
    Step,
    _class_sql,
    check_portable,
    pipeline_steps,
    sql_literal,
)
from chainatlas.store.database import quiet_connect

SCOPE_BOILER = "（依法须经批准的项目，经相关部门批准后方可开展经营活动）"


def _row(i: int, name: str, scope: str, *, code: str = "N/A", date: str = "2003-01-03",
         capital: str = "50(万元人民币)", province: str = "河北", city: str = "石家庄"
         ) -> dict[str, Any]:
    return {"row_id": i, "name": name, "code": code, "date": date, "type": "N/A",
            "legal_rep": "张三", "capital": capital, "scope": scope, "province": province,
            "city": city, "address": "某路1号"}


def _uscc(body: str) -> str:
    return body + stdnum_uscc.calc_check_digit(body + "0")


ROWS = [
    _row(1, "石家庄华澄生物制品有限公司", "人用疫苗的研发、生产；医疗器械销售" + SCOPE_BOILER,
         code=_uscc("91130100MA0A1B2C3")),
    _row(2, "石家庄 康泰 大药房有限公司", "中成药、化学药制剂的零售；日用百货销售",
         code=_uscc("91130100MA0A1B2D4"), date="2004年5月6日", capital="3,000(万元人民币)"),
    _row(3, "上海争翔贸易有限公司", "通讯器材、电子电器、五金交电的销售", province="上海",
         city="静安", capital="18(万美元)"),
    _row(4, "保定市正大电力设备有限公司", "电力变压器、整流器制造、加工、销售。", city="保定",
         code="91130600MA0A1B2C3X"),  # a bad check digit: kept, keyed by name
    _row(5, "石家庄中药材有限公司", "中药材种植；兼营：中药材批发", date="N/A"),
    _row(6, "石家庄华澄生物制品有限公司", "人用疫苗的研发、生产", code=_uscc("91130100MA0A1B2C3"),
         date="2001-02-03"),  # the same USCC registered earlier: this row is kept
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pipeline")
    (folder / "in").mkdir()
    write_parquet(pd.DataFrame(ROWS), str(folder / "in" / "part-0.parquet"))
    run_duckdb(str(folder / "in"), str(folder / "out"))
    return folder / "out"


def _by_name(outputs: Path) -> pd.DataFrame:
    firms = read_output(str(outputs), "firms")
    placed = read_output(str(outputs), "placements")
    return firms.merge(placed, on="firm_id", how="left").set_index("name")


def test_normalisation(outputs: Path) -> None:
    firms = read_output(str(outputs), "firms").set_index("name")
    assert len(firms) == 5  # the repeated USCC is one firm
    vaccine = firms.loc["石家庄华澄生物制品有限公司"]
    assert vaccine["reg_date"] == "2001-02-03" and vaccine["row_id"] == 6
    assert vaccine["uscc_valid"] and vaccine["city_adcode"] == "130100"
    pharmacy = firms.loc["石家庄康泰大药房有限公司"]  # spaces folded
    assert (pharmacy["reg_date"], pharmacy["capital_wan"]) == ("2004-05-06", 3000.0)
    shanghai = firms.loc["上海争翔贸易有限公司"]
    assert shanghai["city_adcode"] == "310100" and shanghai["currency"] == "USD"
    assert shanghai["capital_cny_wan"] == pytest.approx(18 * 8.2768)
    bad = firms.loc["保定市正大电力设备有限公司"]
    assert not bad["uscc_valid"] and bad["firm_id"].startswith("H")
    assert pd.isna(firms.loc["石家庄中药材有限公司", "reg_date"])


def test_the_check_digit_agrees_with_python_stdnum(tmp_path: Path) -> None:
    bodies = [f"91{adcode}MA{n:07d}" for adcode in ("130100", "310100", "440300")
              for n in range(0, 70000, 997)]
    rows = [_row(i, f"企业{i}", "五金销售", code=_uscc(body)) for i, body in enumerate(bodies)]
    rows += [_row(len(rows) + i, f"坏码{i}", "五金销售", code=body + "0")
             for i, body in enumerate(bodies) if not stdnum_uscc.is_valid(body + "0")]
    (tmp_path / "in").mkdir()
    write_parquet(pd.DataFrame(rows), str(tmp_path / "in" / "p.parquet"))
    run_duckdb(str(tmp_path / "in"), str(tmp_path / "out"))
    firms = read_output(str(tmp_path / "out"), "firms")
    expected = firms["uscc"].map(stdnum_uscc.is_valid)
    assert (firms["uscc_valid"] == expected).all() and expected.sum() == len(bodies)


def test_scope_items(outputs: Path) -> None:
    items = read_output(str(outputs), "scope_items")
    firms = read_output(str(outputs), "firms").set_index("name")["firm_id"]
    herbs = items[items["firm_id"] == firms["石家庄中药材有限公司"]]
    assert list(zip(herbs["item"], herbs["side"], herbs["weight"], herbs["activity"],
                    strict=True)) == [("中药材种植", False, 1000, "produce"),
                                      ("中药材批发", True, 333, "trade")]
    vaccine = items[items["firm_id"] == firms["石家庄华澄生物制品有限公司"]]
    assert "依法须经批准" not in "".join(vaccine["item"])  # boilerplate dropped
    assert list(vaccine["item"]) == ["人用疫苗的研发", "生产"]


def test_placements(outputs: Path) -> None:
    placed = _by_name(outputs)
    assert placed.loc["石家庄华澄生物制品有限公司", "node_id"] == "bm_vaccines"
    # Selling drugs is pharmacy trade, not drug making; selling electronics is commerce.
    assert placed.loc["石家庄康泰大药房有限公司", "node_id"] in {"bm_circulation",
                                                            "bm_pharmacy_retail"}
    assert placed.loc["上海争翔贸易有限公司", "node_id"] == "cl_commerce"
    assert placed.loc["保定市正大电力设备有限公司", "node_id"] == "ae_grid_equipment"
    # The main line (种植) outweighs the 兼营 side line (批发).
    assert placed.loc["石家庄中药材有限公司", "node_id"] == "bm_tcm_herbs"


def test_city_node_and_lq(outputs: Path) -> None:
    lq = read_output(str(outputs), "lq")
    assert lq["firms"].sum() == read_output(str(outputs), "city_node")["firms"].sum() == 5
    vaccines = lq[lq["node_id"] == "bm_vaccines"].iloc[0]
    # 1 of the 3 located firms of 石家庄, and the only vaccine firm of 5: (1/3) / (1/5).
    assert (vaccines["city_firms"], vaccines["all_firms"]) == (3, 5)
    assert vaccines["lq"] == pytest.approx(5 / 3)
    related = read_output(str(outputs), "relatedness_inputs")
    assert set(related["node_id"]) <= set(lq["node_id"]) and related["present"].all()


def test_every_step_is_portable() -> None:
    assert [s.name for s in pipeline_steps()][:2] == ["firms", "scope_items"]
    for sql in ("SELECT regexp_replace(a, 'x', '') FROM t", "SELECT a[2] FROM t",
                "SELECT hash(a) FROM t", "SELECT sum(a) FROM t", "SELECT trim(a) FROM t",
                "SELECT * FROM t QUALIFY row_number() OVER () = 1",
                "SELECT * FROM t JOIN positions p ON p.pos <= t.parts"):
        with pytest.raises(PortabilityError):
            check_portable(Step("x", sql))
    check_portable(Step("x", "SELECT regexp_replace(a, '[(）]', '', 'g'), "
                             "CAST(sum(a) AS BIGINT) FROM t"))
    check_portable(Step("x", "SELECT * FROM t JOIN positions p ON p.parts = least(t.parts, 64)"))


def test_reference_tables_come_from_the_rules() -> None:
    frames = reference_frames()
    rules = frames["rules"]
    assert {"keyword", "exclude", "goods"} == set(rules["role"])
    assert ((rules["word"] == "疫苗") & (rules["node_id"] == "bm_vaccines")).any()
    cities = frames["cities"].set_index(["province_adcode", "name"])["city_adcode"]
    assert cities[("130000", "石家庄")] == cities[("130000", "石家庄市")] == "130100"
    positions = frames["positions"]
    assert len(positions) == 64 * 65 // 2 and (positions["pos"] <= positions["parts"]).all()
    provinces = frames["provinces"].set_index("name")
    assert provinces.loc["上海", "municipal_city"] == "310100"


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        run_duckdb(str(tmp_path / "missing"), str(tmp_path / "out"))
    (tmp_path / "in").mkdir()
    write_parquet(pd.DataFrame([{"row_id": 1, "name": "x"}]), str(tmp_path / "in" / "p.parquet"))
    with pytest.raises(InputError, match="field 'code'") as info:
        run_duckdb(str(tmp_path / "in"), str(tmp_path / "out"))
    assert {p.field for p in info.value.problems} == set(INPUT_COLUMNS) - {"row_id", "name"}
    with pytest.raises(ParameterError, match="unknown engine"):
        run_pipeline(str(tmp_path / "in"), str(tmp_path / "out"), engine="flink")


CLAUSES = ("本公司生产的产品销售", "隶属企业生产的服装批发", "生产所需原辅材料进口", "检测试剂销售",
           "集成电路设计、制造", "医疗器械零售", "治疗仪生产", "计算机技术开发、技术咨询",
           "仓储设备租赁", "运输车辆维修", "中药材种植", "自产产品的出口", "生产资料批发",
           "餐饮服务", "机械设备安装、维修", "房地产开发经营", "五金交电")


def test_the_pipeline_reads_verbs_as_the_in_process_reader_does() -> None:
    """The SQL strips the reader's own false-verb words (one home, chains/scope.py)."""
    stripped = f"regexp_replace(c, {sql_literal(FALSE_VERBS)}, '', 'g')"
    con = quiet_connect()
    read = [r[0] for r in con.execute(f"SELECT {_class_sql(stripped)} FROM "
                                      "(SELECT unnest($1) AS c, generate_subscripts($1, 1) AS i)"
                                      " ORDER BY i", [list(CLAUSES)]).fetchall()]
    expected = [next((a for a in (scope.PRODUCE, scope.TRADE, scope.SERVICE)
                      if a in scope.activities(c)), None) for c in CLAUSES]
    assert read == expected
    # Making is read only where the firm makes: the 总公司's, a 隶属企业's goods are sold.
    assert [expected[i] for i in (0, 1, 3, 4)] == [scope.TRADE] * 3 + [scope.PRODUCE]
