"""Registry rows: every quirk of the README handled, counted and explained."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from chainatlas.errors import InputError
from chainatlas.sources.registry import (
    HEADER,
    RegistryRows,
    dedupe,
    fold_registry_name,
    parent_name,
    parse_registry_text,
)
from chainatlas.sources.registry_files import (
    RegistryFile,
    province_list,
    registry_files,
    scan_mirror,
)
from tests.helpers import regno
from tests.helpers import valid_uscc as uscc

A = uscc("91130100MA0000001")
OLD = regno("13010000001234")
B = uscc("91130100MA0000002")
IND = uscc("92130526MA0A1NQT7")


def csv_text(*rows: str) -> str:
    return ",".join(HEADER) + "\n" + "\n".join(rows) + "\n"


def row(name: str, code: str, capital: str = '"300(万元人民币)"', kind: str = "有限责任公司",
        scope: str = '"生产：片剂"', province: str = "河北") -> str:
    return (f"{name},{code},2001-05-17,{kind},张三,{capital},{scope},{province},石家庄,"
            '"石家庄市长安区"')


def parse(*rows: str) -> RegistryRows:
    return parse_registry_text(csv_text(*rows), "2001/河北.csv")


def kinds(out: RegistryRows) -> dict[str, int]:
    found: dict[str, int] = {}
    for issue in out.issues:
        found[issue.kind] = found.get(issue.kind, 0) + 1
    return found


@pytest.mark.parametrize(("capital", "amount", "currency", "cny"), [
    ('"300(万元人民币)"', 300.0, "CNY", 300.0), ('"4,180(万元)"', 4180.0, "CNY", 4180.0),
    ('"300(万)"', 300.0, "CNY", 300.0), ('"300万人民币"', 300.0, "CNY", 300.0),
    ('"18(万美元)"', 18.0, "USD", 18 * 8.2768), ('"235(万香港元)"', 235.0, "HKD", 235 * 1.0623),
    ('"100(万港币)"', 100.0, "HKD", 106.23), ('"103.5000(万元人民币)"', 103.5, "CNY", 103.5),
    ('"0.0005万人民币"', 0.0005, "CNY", 0.0005), ('"50（万元）"', 50.0, "CNY", 50.0),
    ('"20(万德国马克)"', 20.0, "DEM", 20 * 10.29 / 1.95583)])
def test_capital_shapes_keep_their_currency(capital: str, amount: float, currency: str,
                                            cny: float) -> None:
    out = parse(row("甲制药有限公司", A, capital))
    got = out.rows[0]
    assert (got["capital_amount"], got["capital_currency"]) == (pytest.approx(amount), currency)
    assert got["registered_capital"] == pytest.approx(cny)
    assert out.issues == []


def test_na_is_missing_everywhere() -> None:
    out = parse(f'甲公司,{A},N/A,N/A,N/A,"N/A","N/A",N/A,N/A,"N/A"')
    got = out.rows[0]
    assert got["setup_date"] is None and got["enterprise_type"] is None
    assert got["registered_capital"] is None and got["business_scope"] is None
    assert got["province_name"] is None and got["address"] is None
    assert out.issues == []


def test_garbled_broken_and_shifted_rows_are_rejected_with_their_line() -> None:
    out = parse(row("甲公司", A),
                row("\ufffd\ufffd公司", B),                     # GBK lost upstream
                f"乙公司,{B},2001-01-01,有限,张三,300,生产,河北,石家庄,地址,多余",  # 11 fields
                # the date holds a capital
                f'丙公司,{B},300(万元),有限,张三,N/A,"生产",河北,石家庄,"地址"',
                f'丁公司,{B},2001-01-01,有限,张三,N/A,"生产","500(万元)",石家庄,"地址"')
    assert len(out.rows) == 1 and out.read == 5
    assert kinds(out) == {"garbled_text": 1, "broken_row": 1, "shifted_fields": 2}
    assert [i.line for i in out.issues] == [3, 4, 5, 6]


def test_codes_duplicates_and_old_registration_numbers() -> None:
    bad_check = A[:17] + ("0" if A[17] != "0" else "1")
    out = parse(row("甲公司", A), row("甲公司", A), row("另一公司", A),
                row("老公司", OLD), row("错码公司", bad_check),
                row("怪码公司", "ABC"))
    issues: dict[str, list[object]] = {}
    rows = dedupe(out.rows, issues)  # type: ignore[arg-type]
    assert [r["full_name"] for r in rows] == ["甲公司", "老公司", "错码公司", "怪码公司"]
    assert [i.kind for i in issues["2001/河北.csv"]] == [  # type: ignore[attr-defined]
        "duplicate_row", "duplicate_code"]
    old = rows[1]
    assert old["registration_no"] == OLD and old["uscc"] is None
    assert old["company_id"] == "R" + OLD
    assert rows[2]["uscc"] == bad_check
    assert kinds(out) == {"uscc_check": 1, "bad_code": 1}
    assert rows[3]["company_id"].startswith("RH")  # no usable code: a stable name hash


def test_names_branches_and_individuals() -> None:
    assert fold_registry_name(" 唐山市 丰南区 钢铁厂 ") == "唐山市丰南区钢铁厂"
    assert fold_registry_name("ABC Trading 公司") == "ABC Trading 公司"
    assert parent_name("华北制药股份有限公司石家庄分公司") == "华北制药股份有限公司"
    assert parent_name("某某加油站") is None
    out = parse(row("华北制药股份有限公司石家庄分公司", A, kind="分公司"),
                row("任县守信机械厂", IND, kind="个体工商户"))
    branch, person = out.rows
    assert branch["is_branch"] and branch["parent_name"] == "华北制药股份有限公司"
    assert person["is_individual"] and not person["is_branch"]


def test_wrong_header_is_refused() -> None:
    with pytest.raises(ValueError, match="header"):
        parse_registry_text("name,code\nx,y\n", "2001/河北.csv")


def test_provinces_and_files(tmp_path: Path) -> None:
    assert province_list("河北省，山西") == ("河北", "山西")
    assert len(province_list("all")) == 31
    with pytest.raises(InputError, match="not a province"):
        province_list("火星")
    files = registry_files(["山东"])
    assert files[0].path == "1978/山东.csv" or files[0].year >= 1978
    assert any(f.sha256 is None for f in files)  # 2001–2004 have no pin
    data = csv_text(row("甲公司", A)).encode()
    spec = RegistryFile("2001/河北.csv", hashlib.sha256(data).hexdigest())
    folder = tmp_path / "registry" / "csv" / "2001"
    folder.mkdir(parents=True)
    (folder / "河北.csv.gz").write_bytes(gzip.compress(data))
    scan = scan_mirror(tmp_path, [spec, RegistryFile("2002/河北.csv", None)])
    assert [m.path for m in scan.missing] == ["2002/河北.csv"]
    got, digest = scan.found[0].read()
    assert got == data and digest == spec.sha256


def test_an_unclosed_quote_costs_its_rows_not_the_file() -> None:
    import csv

    limit = csv.field_size_limit()
    csv.field_size_limit(200)  # the real limit is 128 KiB: a quote left open that long
    try:
        out = parse(row("甲公司", A), '乙公司,"' + "很长的经营范围" * 40, row("丙公司", B))
    finally:
        csv.field_size_limit(limit)
    assert [r["full_name"] for r in out.rows] == ["甲公司", "丙公司"]
    assert kinds(out) == {"broken_row": 1}
    assert "unreadable CSV" in out.issues[0].detail


def test_a_name_of_nul_bytes_is_lost_text() -> None:
    out = parse(row("\x00" * 30, A), row("乙公司", B))
    assert [r["full_name"] for r in out.rows] == ["乙公司"]
    assert kinds(out) == {"garbled_text": 1}


def test_a_capital_no_firm_has_is_set_missing_not_a_shifted_row() -> None:
    # 4 registry rows read 150-200,0000000(万) (十几万亿元): the firm is kept without it.
    text = (",".join(HEADER) + "\n" + "某某公司,,2001-05-17,有限责任公司,张三,"
            '"200,0000000(万)",生产：片剂,河北,石家庄,石家庄市\n')
    out = parse_registry_text(text, "2001/河北.csv")
    assert len(out.rows) == 1 and out.rows[0]["capital_amount"] is None
    assert [(i.kind, i.action) for i in out.issues] == [("capital_range", "set missing")]


def test_yuan_typed_as_wan_is_divided_but_central_firms_keep_their_capital() -> None:
    text = (",".join(HEADER) + "\n"
            + "武汉某某房地产开发有限公司,,2001-05-17,有限责任公司,张三,"
            '"50000000(万元)",房地产开发,湖北,武汉,武汉市\n'
            + "中国某某银行股份有限公司,,2001-05-17,股份有限公司,李四,"
            '"34932000(万元)",吸收存款,湖北,武汉,武汉市\n')
    out = parse_registry_text(text, "2001/湖北.csv")
    assert [r["registered_capital"] for r in out.rows] == [5000.0, 34932000.0]
    assert [(i.kind, i.action) for i in out.issues] == [("capital_in_yuan",
                                                         "divided by 10,000")]
