"""Tests of reading, validating and writing enterprise rosters (chainatlas.sources.roster)."""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
import tempfile
import time
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainatlas.errors import InputError, Problem
from chainatlas.sources.registry import HEADER
from chainatlas.sources.roster import (
    RosterParse,
    RosterRecord,
    parse_amount_wan,
    parse_date,
    parse_industry_code,
    read_roster,
    uscc_is_valid,
    write_rejects,
    write_roster,
)
from chainatlas.sources.roster_values import MISSING, parse_employees
from tests.helpers import regno

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ZH_HEADER = ["企业名称", "统一社会信用代码", "注册地址", "行业代码", "经营范围", "注册资本",
             "成立日期", "营业收入", "从业人数"]
EN_HEADER = ["Company Name", "USCC", "Registered Address", "Industry Code", "Business Scope",
             "Registered Capital", "Established", "Revenue", "Employees"]


def check_digit(base: str) -> str:
    """GB 32100-2015 check character, written independently of the code under test."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(base, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc(n: int, prefix: str = "91130100") -> str:
    base = f"{prefix}{n:09d}"
    return base + check_digit(base)


def corrupt(code: str) -> str:
    """The same code with a wrong check character."""
    return code[:17] + ALPHABET[(ALPHABET.index(code[17]) + 1) % 31]


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]], merges: tuple[str, ...] = (),
               first_row: int = 1) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    for r, row in enumerate(rows, start=first_row):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(r, c, value)
    for rng in merges:
        ws.merge_cells(rng)
    book.save(path)
    return path


def sample_rows() -> list[list[object]]:
    return [
        ["石家庄以岭药业股份有限公司", uscc(1), "河北省石家庄市长安区中山东路1号", "C2710",
         "药品生产", "1.2亿元", "2015-03-02", "500万元", "1,200人"],
        ["河北示例科技有限公司", uscc(2).lower(), "石家庄市裕华区槐安东路8号", "2710",
         "技术开发", "5000000元", "2015年3月2日", "300", "85"],
    ]


def assert_sample(parse: RosterParse) -> None:
    assert parse.problems == []
    assert parse.rejected_rows == []
    first, second = parse.records
    assert (first.row, second.row) == (2, 3)
    assert first.name == "石家庄以岭药业股份有限公司"
    assert first.uscc == uscc(1) and second.uscc == uscc(2)
    assert first.industry_code == "2710" and first.industry_section == "C"
    assert second.industry_code == "2710" and second.industry_section is None
    assert first.registered_capital == 12000.0 and first.capital_currency == "CNY"
    assert second.registered_capital == 500.0
    assert first.setup_date == second.setup_date == dt.date(2015, 3, 2)
    assert first.revenue == 500.0 and second.revenue == 300.0
    assert first.employees == 1200 and second.employees == 85
    assert first.business_scope == "药品生产"


def only_problem(exc: pytest.ExceptionInfo[InputError]) -> Problem:
    assert len(exc.value.problems) == 1
    return exc.value.problems[0]


# ---------------------------------------------------------------- happy paths


@pytest.mark.parametrize(("encoding", "detected"), [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk"), ("utf-16", "utf-16")])
def test_csv_with_chinese_headers_in_each_encoding(tmp_path: Path, encoding: str,
                                                   detected: str) -> None:
    path = write_csv(tmp_path / "名单.csv", [ZH_HEADER, *sample_rows()], encoding)
    parse = read_roster(path, geocode=False)
    assert parse.encoding == detected
    assert parse.file == str(path)
    assert parse.columns["name"] == "企业名称"
    assert_sample(parse)


def test_csv_declared_gbk_encoding(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [ZH_HEADER, *sample_rows()], "gbk")
    assert_sample(read_roster(path, encoding="gbk", geocode=False))


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_sniffs_semicolon_and_tab(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "r.txt", [ZH_HEADER, *sample_rows()], delimiter=delimiter)
    assert_sample(read_roster(path, geocode=False))


def test_xlsx_with_english_headers_and_typed_cells(tmp_path: Path) -> None:
    rows = sample_rows()
    rows[0][6] = dt.datetime(2015, 3, 2)
    rows[1][6] = 42065  # Excel serial of 2015-03-02
    rows[1][7] = 300.0
    rows[1][8] = 85
    path = write_xlsx(tmp_path / "roster.xlsx", [EN_HEADER, *rows])
    parse = read_roster(path, geocode=False)
    assert parse.encoding is None
    assert parse.columns["uscc"] == "USCC"
    assert_sample(parse)


def test_header_matching_ignores_case_spaces_and_full_width(tmp_path: Path) -> None:
    header = ["  COMPANY  name ", "ＵＳＣＣ", "注册资本（元）", "２０２３年营业收入（亿元）"]
    path = write_csv(tmp_path / "r.csv", [header, ["甲公司", uscc(3), "5000000", "1.5"]])
    parse = read_roster(path, geocode=False)
    record = parse.records[0]
    assert parse.columns == {"name": "COMPANY name", "uscc": "ＵＳＣＣ",
                             "registered_capital": "注册资本（元）",
                             "revenue": "２０２３年营业收入（亿元）"}
    assert record.registered_capital == 500.0  # bare number in 元 per the header
    assert record.revenue == 15000.0  # bare number in 亿元 per the header


def test_mapping_wins_over_aliases(tmp_path: Path) -> None:
    header = ["单位全称", "企业名称", "地址", "成立"]
    row = ["甲公司", "旧名", "河北省石家庄市", "2020-01-02"]
    path = write_csv(tmp_path / "r.csv", [header, row])
    parse = read_roster(path, mapping={"单位全称": "name", "成立": "setup_date"}, geocode=False)
    assert parse.columns == {"name": "单位全称", "address": "地址", "setup_date": "成立"}
    assert parse.records[0].name == "甲公司"
    assert parse.records[0].setup_date == dt.date(2020, 1, 2)
    assert parse.records[0].raw["企业名称"] == "旧名"


def test_mapping_with_unknown_field_is_rejected(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["单位全称"], ["甲公司"]])
    with pytest.raises(InputError) as exc:
        read_roster(path, mapping={"单位全称": "company_title"}, geocode=False)
    problem = only_problem(exc)
    assert problem.file == str(path) and problem.field == "单位全称"
    assert "unknown field 'company_title'" in problem.reason and "name" in problem.reason


def test_mapping_naming_a_missing_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["企业名称"], ["甲公司"]])
    with pytest.raises(InputError) as exc:
        read_roster(path, mapping={"单位全称": "name"}, geocode=False)
    problem = only_problem(exc)
    assert (problem.file, problem.row) == (str(path), 1)
    assert "单位全称" in problem.reason and "headers found: 企业名称" in problem.reason


def test_two_identical_name_headers_are_ambiguous(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["企业名称", "注册地址", "企业名称"], ["甲", "", "乙"]])
    with pytest.raises(InputError) as exc:
        read_roster(path, geocode=False)
    problem = only_problem(exc)
    assert (problem.row, problem.field) == (1, "企业名称")
    assert "both look like name" in problem.reason and "--map" in problem.reason


def test_more_specific_header_wins(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["地址", "企业名称", "注册地址"], ["北京", "甲", "河北"]])
    parse = read_roster(path, geocode=False)
    assert parse.columns["address"] == "注册地址"
    assert parse.records[0].address == "河北"
    assert parse.records[0].raw == {"地址": "北京", "企业名称": "甲", "注册地址": "河北"}


def test_names_are_trimmed_and_whitespace_folded(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [["企业名称", "注册地址"],
                                            ["\u3000石家庄\n以岭药业 ", " Acme  Ltd\u3000北京 "],
                                            [None, None], ["  乙公司", None]])
    parse = read_roster(path, geocode=False)
    assert [r.name for r in parse.records] == ["石家庄以岭药业", "乙公司"]
    assert parse.records[0].address == "Acme Ltd 北京"
    assert [r.row for r in parse.records] == [2, 4]  # the empty row 3 is skipped silently


def test_geocoding_from_address_then_name(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [
        ["企业名称", "注册地址"],
        ["某某科技有限公司", "河北省石家庄市长安区中山东路1号"],
        ["石家庄以岭药业股份有限公司", ""],
        ["无名公司", ""]])
    records = read_roster(path).records
    assert (records[0].adcode, records[0].location_level) == ("130102", "district")
    assert (records[1].adcode, records[1].location_level) == ("130100", "city")
    assert records[2].adcode is None and records[2].location_level is None


# ---------------------------------------------------------------- merged Excel headers


def test_xlsx_title_row_and_two_row_header_with_merges(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["XX区企业名单", None, None, None],
        ["企业名称", "基本信息", None, None],
        [None, "统一社会信用代码", "注册地址", "成立日期"],
        ["甲公司", uscc(1), "河北省", "2015-03-02"],
        ["乙公司", uscc(2), "河北省", "2015-02-30"],
    ]
    path = write_xlsx(tmp_path / "r.xlsx", rows, merges=("A1:D1", "A2:A3", "B2:D2"))
    parse = read_roster(path, geocode=False)
    assert parse.header_row == 3
    assert parse.columns["name"] == "企业名称"
    assert [r.row for r in parse.records] == [4]
    assert parse.problems == [Problem(str(path), 5, "成立日期",
                                      "date '2015-02-30' does not exist")]
    assert parse.rejected_rows == [5]


def test_xlsx_header_with_cells_merged_across_columns(tmp_path: Path) -> None:
    rows: list[list[object]] = [["企业名称", None, "注册地址", "成立日期"],
                                ["甲公司", "备注", "河北省", "2015-03-02"]]
    path = write_xlsx(tmp_path / "r.xlsx", rows, merges=("A1:B1",))
    with pytest.raises(InputError) as exc:
        read_roster(path, geocode=False)
    problem = only_problem(exc)
    assert (problem.file, problem.row, problem.field) == (str(path), 1, "企业名称")
    assert "A1:B1" in problem.reason and "unmerge" in problem.reason


# ---------------------------------------------------------------- bad files


def test_gbk_file_declared_utf8(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("name,address\n甲公司,河北省\n".encode("gbk"))
    with pytest.raises(InputError) as exc:
        read_roster(path, encoding="utf-8", geocode=False)
    problem = only_problem(exc)
    assert (problem.file, problem.row, problem.field) == (str(path), 2, None)
    assert "not valid UTF-8 at byte offset 13 (line 2)" in problem.reason
    assert "GBK" in problem.reason and "--encoding gbk" in problem.reason
    assert "omit --encoding" in problem.reason


def test_missing_name_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["统一社会信用代码", "地址"], [uscc(1), "河北省"]])
    with pytest.raises(InputError) as exc:
        read_roster(path, geocode=False)
    problem = only_problem(exc)
    assert problem.file == str(path) and problem.row == 1
    assert "no company-name column" in problem.reason
    assert "统一社会信用代码, 地址" in problem.reason  # the headers found
    assert "企业名称" in problem.reason and "公司名称" in problem.reason  # the aliases


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_empty_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(InputError) as exc:
        read_roster(path, geocode=False)
    assert only_problem(exc) == Problem(str(path), None, None, "no header row: the file is empty")


def test_header_only_files(tmp_path: Path) -> None:
    for path in (write_csv(tmp_path / "h.csv", [ZH_HEADER, [], ["", ""]]),
                 write_xlsx(tmp_path / "h.xlsx", [["企业名单"], ZH_HEADER])):
        with pytest.raises(InputError) as exc:
            read_roster(path, geocode=False)
        problem = only_problem(exc)
        assert problem.file == str(path)
        assert "no data rows" in problem.reason


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_ten_megabytes_of_random_bytes_fail_fast(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(random.Random(0).randbytes(10 * 1024 * 1024))
    started = time.perf_counter()
    with pytest.raises(InputError) as exc:
        read_roster(path, geocode=False)
    assert time.perf_counter() - started < 2.0
    problem = only_problem(exc)
    assert problem.file == str(path)
    assert problem.reason.startswith("not a CSV/Excel file:")


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "r.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError) as exc:
        read_roster(path)
    assert only_problem(exc).file == str(path)
    assert ".xls" in str(exc.value)


def test_xlsx_renamed_to_csv(tmp_path: Path) -> None:
    write_xlsx(tmp_path / "r.xlsx", [ZH_HEADER, *sample_rows()])
    path = tmp_path / "r.csv"
    path.write_bytes((tmp_path / "r.xlsx").read_bytes())
    with pytest.raises(InputError, match=r"not a CSV/Excel file: .*save it as \.xlsx"):
        read_roster(path)


# ---------------------------------------------------------------- bad values


def test_duplicate_and_invalid_uscc(tmp_path: Path) -> None:
    rows = [["企业名称", "信用代码"], ["甲", uscc(1)], ["乙", corrupt(uscc(2))], ["丙", uscc(1)],
            ["丁", "9113010012345"], ["戊", uscc(5)[:8] + "I" + uscc(5)[9:]]]
    path = write_csv(tmp_path / "r.csv", rows)
    parse = read_roster(path, geocode=False)
    assert [r.name for r in parse.records] == ["甲"]
    assert parse.rejected_rows == [3, 4, 5, 6]
    by_row = {p.row: p for p in parse.problems}
    assert all(p.file == str(path) and p.field == "信用代码" for p in parse.problems)
    assert "check digit" in by_row[3].reason and corrupt(uscc(2)) in by_row[3].reason
    assert by_row[4].reason == (f"duplicate unified social credit code {uscc(1)}: "
                                "already used on row 2; the rows differ in 企业名称")
    assert "has 13 characters, expected 18" in by_row[5].reason
    assert "contains 'I'" in by_row[6].reason


def test_every_problem_of_every_row_is_reported(tmp_path: Path) -> None:
    rows = [["企业名称", "注册资本", "成立日期", "营业收入", "从业人数", "行业代码"],
            ["甲", "-500万元", "2099-01-01", "abc", "12.5", "A2710"],
            ["", "100", "", "", "", ""],
            ["乙", "100万美元", "1899-12-31", "100万美元", "-3", "99"],
            ["丙", "1,000万人民币", "20150302", "3.5亿", "1200", "C 2710"]]
    parse = read_roster(write_csv(tmp_path / "r.csv", rows), geocode=False)
    found = {(p.row, p.field): p.reason for p in parse.problems}
    assert found == {
        (2, "注册资本"): "amount '-500万元' is negative",
        (2, "成立日期"): "date 2099-01-01 is in the future",
        (2, "营业收入"):
            "cannot read amount 'abc' (expected e.g. 500, 500万元, 1.2亿元 or 5000000元)",
        (2, "从业人数"): "employee count '12.5' is not a whole number",
        (2, "行业代码"): "industry code 'A2710': division 27 belongs to section C, not A",
        (3, "企业名称"): "company name is empty",
        (4, "成立日期"): "date 1899-12-31 is before 1900-01-01",
        (4, "营业收入"): "revenue must be in 人民币 (CNY), not USD",
        (4, "从业人数"): "employee count '-3' is negative",
        (4, "行业代码"): "industry code '99': division 99 does not exist in GB/T 4754-2017",
    }
    assert parse.rejected_rows == [2, 3, 4]
    (record,) = parse.records
    assert (record.registered_capital, record.revenue, record.employees) == (1000.0, 35000.0, 1200)
    assert record.industry_code == "2710" and record.industry_section == "C"


def test_foreign_capital_keeps_amount_and_currency(tmp_path: Path) -> None:
    rows = [["企业名称", "注册资本", "币种"], ["甲", "100万美元", ""], ["乙", "50", "港元"],
            ["丙", "100万美元", "人民币"]]
    parse = read_roster(write_csv(tmp_path / "r.csv", rows), geocode=False)
    assert [(r.registered_capital, r.capital_currency) for r in parse.records] == [
        (100.0, "USD"), (50.0, "HKD")]
    assert parse.problems == [Problem(parse.file, 4, "注册资本",
                                      "amount is in USD but the currency column says CNY")]


def test_extra_cells_from_an_unquoted_comma(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("企业名称,注册地址\n甲公司,河北省,石家庄市\n乙公司,河北省\n", encoding="utf-8")
    parse = read_roster(path, geocode=False)
    assert [r.name for r in parse.records] == ["乙公司"]
    (problem,) = parse.problems
    assert (problem.row, problem.field) == (2, None)
    assert "unquoted delimiter" in problem.reason and "石家庄市" in problem.reason


@pytest.mark.parametrize(("text", "expected"), [
    ("500万元", (500.0, "CNY")), ("500 万", (500.0, "CNY")), ("1.2亿元", (12000.0, "CNY")),
    ("1,000万人民币", (1000.0, "CNY")), ("5000000元", (500.0, "CNY")), (500, (500.0, "CNY")),
    ("100万美元", (100.0, "USD")), ("￥300万", (300.0, "CNY")), ("0", (0.0, "CNY")),
    ("500万元（人民币）", (500.0, "CNY")), (12.5, (12.5, "CNY"))])
def test_parse_amount_wan(text: object, expected: tuple[float, str]) -> None:
    assert parse_amount_wan(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("-5", "negative"), ("五百万", "cannot read amount"), ("", "cannot read amount"),
    ("100万美元欧元", "several currencies"), (float("nan"), "cannot read amount")])
def test_parse_amount_wan_rejects(text: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_amount_wan(text)


@pytest.mark.parametrize("value", [
    "2015-03-02", "2015/3/2", "2015.03.02", "2015年3月2日", "20150302", 20150302,
    "2015-03-02 00:00:00", 42065, 42065.5, "42065", dt.datetime(2015, 3, 2, 8, 30),
    dt.date(2015, 3, 2)])
def test_parse_date_formats(value: object) -> None:
    assert parse_date(value) == dt.date(2015, 3, 2)


@pytest.mark.parametrize(("value", "reason"), [
    ("2015-02-30", "does not exist"), ("2015", "year only"), ("tomorrow", "cannot read date"),
    (dt.date.today() + dt.timedelta(days=1), "in the future"), ("1899-12-31", "before 1900"),
    ("3/2/2015", "cannot read date")])
def test_parse_date_rejects(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_date(value)


@pytest.mark.parametrize(("value", "expected"), [
    ("C2710", ("2710", "C")), ("2710", ("2710", None)), ("c 2710", ("2710", "C")),
    ("27", ("27", None)), (2710, ("2710", None)), (510, ("0510", None)), ("271", ("271", None))])
def test_parse_industry_code(value: object, expected: tuple[str, str | None]) -> None:
    assert parse_industry_code(value) == expected


def test_declared_encoding_that_is_not_gbk_either(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"name\n\xff\xfe\xfd\n")
    with pytest.raises(InputError) as exc:
        read_roster(path, encoding="utf-8", geocode=False)
    reason = only_problem(exc).reason
    assert "not valid UTF-8 at byte offset 5 (line 2)" in reason and "GBK" not in reason


def test_write_to_unsupported_extension(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="can only write"):
        write_roster([], tmp_path / "out.json")


def test_uscc_is_valid() -> None:
    assert uscc_is_valid(uscc(7))
    assert uscc_is_valid(" " + uscc(7, "91110000").lower() + " ")
    assert uscc_is_valid("".join(chr(ord(c) + 0xFEE0) for c in uscc(8)))  # full-width
    assert not uscc_is_valid(corrupt(uscc(7)))
    assert not uscc_is_valid(uscc(7)[:17])


# ---------------------------------------------------------------- writing


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_write_rejects(tmp_path: Path, suffix: str) -> None:
    rows = [["企业名称", "注册资本", "备注"], ["甲", "-1", "x"], ["乙", "5", ""],
            ["", "abc", "y"]]
    parse = read_roster(write_csv(tmp_path / "r.csv", rows), geocode=False)
    out = tmp_path / f"rejects{suffix}"
    write_rejects(parse, out)
    if suffix == ".csv":
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")
        with out.open(encoding="utf-8-sig", newline="") as handle:
            got = list(csv.reader(handle))
    else:
        ws = openpyxl.load_workbook(out).active
        got = [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
    assert got[0] == ["企业名称", "注册资本", "备注", "原行号", "错误原因"]
    assert got[1] == ["甲", "-1", "x", "2", "注册资本: amount '-1' is negative"]
    assert got[2][:4] == ["", "abc", "y", "4"]
    assert got[2][4].startswith("企业名称: company name is empty; 注册资本: cannot read amount")
    assert len(got) == 3


# ---------------------------------------------------------------- round trip

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
# Texts the reader keeps as they are: no missing-value marker ("-" reads as no value).
TEXT = st.text(st.one_of(CJK, st.sampled_from("ABCxyz019（）()-·、，,;\"'")), min_size=1,
               max_size=30).filter(lambda s: s == s.strip() and not s.startswith("=")
                                   and s not in MISSING)
# Names lose the quotes around them, as registry names do.
NAME = TEXT.filter(lambda s: s == s.strip('"“”'))
USCC = st.text(st.sampled_from(ALPHABET), min_size=17, max_size=17).map(
    lambda base: base + check_digit(base))
SECTION = {d: s for s, lo, hi in [("A", 1, 5), ("B", 6, 12), ("C", 13, 43), ("D", 44, 46),
                                    ("E", 47, 50), ("F", 51, 52), ("G", 53, 60), ("H", 61, 62),
                                    ("I", 63, 65), ("J", 66, 69), ("K", 70, 70), ("L", 71, 72),
                                    ("M", 73, 75), ("N", 76, 79), ("O", 80, 82), ("P", 83, 83),
                                    ("Q", 84, 85), ("R", 86, 90), ("S", 91, 96), ("T", 97, 97)]
           for d in range(lo, hi + 1)}
AMOUNT = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


@st.composite
def records(draw: st.DrawFn) -> dict[str, object]:
    code = draw(st.none() | st.builds(
        lambda d, tail: f"{d:02d}{tail}", st.sampled_from(sorted(SECTION)),
        st.text(st.sampled_from("0123456789"), max_size=2)))
    section = draw(st.none() | st.just(SECTION[int(code[:2])])) if code else None
    capital = draw(st.none() | AMOUNT)
    return {
        "name": draw(NAME), "uscc": draw(st.none() | USCC), "address": draw(st.none() | TEXT),
        "industry_code": code, "industry_section": section,
        "business_scope": draw(st.none() | TEXT), "registered_capital": capital,
        "capital_currency": None if capital is None else draw(st.sampled_from(["CNY", "USD"])),
        "setup_date": draw(st.none() | st.dates(dt.date(1900, 1, 1), dt.date.today())),
        "revenue": draw(st.none() | AMOUNT),
        "employees": draw(st.none() | st.integers(0, 10_000_000)),
    }


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-4)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records(), min_size=1, max_size=6,
                unique_by=lambda r: r["uscc"] or f"name-{r['name']}"))  # one firm per code or name
def test_write_then_read_round_trip(rows: list[dict[str, object]]) -> None:
    records_in = [RosterRecord(row=i + 2, adcode=None, location_level=None, raw={}, **r)  # type: ignore[arg-type]
                  for i, r in enumerate(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".csv", ".xlsx"):
            path = Path(tmp) / f"export{suffix}"
            write_roster(records_in, path)
            parse = read_roster(path, geocode=False)
            assert parse.problems == []
            assert len(parse.records) == len(records_in)
            for want, got in zip(records_in, parse.records, strict=True):
                for name in ("row", "name", "uscc", "address", "industry_code",
                             "industry_section", "business_scope", "capital_currency",
                             "setup_date", "employees"):
                    assert getattr(got, name) == getattr(want, name), (suffix, name)
                assert _close(got.registered_capital, want.registered_capital), suffix
                assert _close(got.revenue, want.revenue), suffix


# ---------------------------------------------------------------- registry exports as rosters

REGISTRY_HEADER: list[object] = list(HEADER)


OLD = regno("13010000001234")


def registry_row(name: str, code: str, **cells: str) -> list[object]:
    row: dict[str, str] = {"注册日期": "2001-05-17", "企业类型": "有限责任公司", "法人代表": "张三",
                           "注册资金": "300(万元人民币)", "经营范围": "生产：片剂",
                           "所在省份": "河北", "地区": "石家庄", "注册地址": "石家庄市长安区"}
    row.update(cells)
    return [name, code, *(row[str(h)] for h in REGISTRY_HEADER[2:])]


def test_a_registry_export_reads_as_a_roster(tmp_path: Path) -> None:
    old = OLD
    rows: list[list[object]] = [REGISTRY_HEADER,
            registry_row("甲公司", uscc(1), 法人代表="N/A", 企业类型="N/A", 注册资金="N/A",
                         注册日期="N/A", 经营范围="—", 所在省份="N/A", 地区="N/A", 注册地址="无"),
            registry_row("乙公司", uscc(2), 注册资金="18(万元美元)"),
            registry_row("丙公司", uscc(3), 注册资金="50(万元人民币元)"),
            registry_row("丁公司", uscc(4), 注册资金="万人民币"),
            registry_row("唐山市 丰南区 钢铁厂", old, 注册资金="3,350(万丹麦克郎)"),
            registry_row("戊公司", "3209231100626"),
            registry_row("乙公司石家庄分公司", uscc(7), 企业类型="分公司"),
            registry_row("任县某机械厂", uscc(8, "92130526"), 企业类型="个体工商户")]
    parse = read_roster(write_csv(tmp_path / "2001-河北.csv", rows), geocode=False)
    assert parse.problems == [] and parse.rejected_rows == []
    first, usd, doubled, unit_only, spaced, thirteen, branch, person = parse.records
    assert (first.setup_date, first.enterprise_type, first.legal_rep, first.registered_capital,
            first.business_scope, first.province, first.address) == (None,) * 7
    assert (usd.registered_capital, usd.capital_currency) == (18.0, "USD")
    assert (doubled.registered_capital, doubled.capital_currency) == (50.0, "CNY")
    assert unit_only.registered_capital is None and unit_only.capital_currency is None
    assert (spaced.name, spaced.uscc, spaced.registration_no) == ("唐山市丰南区钢铁厂", None, old)
    assert (spaced.registered_capital, spaced.capital_currency) == (3350.0, "DKK")
    assert (thirteen.uscc, thirteen.registration_no) == (None, "3209231100626")
    assert (usd.enterprise_type, usd.legal_rep, usd.province, usd.city) == (
        "有限责任公司", "张三", "河北", "石家庄")
    assert (branch.is_branch, branch.parent_name, branch.is_individual) == (True, "乙公司", False)
    assert (person.is_individual, person.is_branch) == (True, False)


def test_registry_rows_that_are_really_wrong_are_rejected(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        REGISTRY_HEADER,
        registry_row("甲公司", uscc(1)),                                       # row 2: fine
        registry_row("甲公司", uscc(1)),                                       # verbatim: merged
        registry_row("另一公司", uscc(1)),                                     # code taken
        registry_row("\ufffd\ufffd公司", uscc(5)),                             # text lost
        registry_row("丙公司", uscc(6), 所在省份="500(万元)"),                  # shifted
        registry_row("丁公司", uscc(7), 注册日期="300(万元)"),                   # shifted
        registry_row("戊公司", uscc(8), 注册资金="WAYNE"),                      # shifted
        [*registry_row("己公司", uscc(9)), "多余"],                            # broken quoting
        registry_row("庚公司", corrupt(uscc(10))),                             # check digit
        registry_row("辛公司", OLD[:-1] + str((int(OLD[-1]) + 1) % 10)),        # regno check
        registry_row("壬公司", "第二厂名"),                                      # no code
    ]
    parse = read_roster(write_csv(tmp_path / "r.csv", rows), geocode=False)
    assert [r.name for r in parse.records] == ["甲公司"]
    assert parse.merged == {3: 2}
    assert parse.rejected_rows == list(range(4, 13))
    fields = {p.row: p.field for p in parse.problems}
    assert fields == {4: "统一社会信用代码", 5: "企业名称", 6: "所在省份", 7: "注册日期",
                      8: "注册资金", 9: None, 10: "统一社会信用代码", 11: "统一社会信用代码",
                      12: "统一社会信用代码"}
    reasons = {p.row: p.reason for p in parse.problems}
    assert "already used on row 2" in reasons[4] and "U+FFFD" in reasons[5]
    assert "not a province" in reasons[6] and "cannot read amount 'WAYNE'" in reasons[8]
    assert "check digit" in reasons[10] and "registration number" in reasons[11]
    assert len(parse.problems) == 9


def test_a_utf8_file_with_a_gbk_line_rejects_only_that_row(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("企业名称,注册地址\n甲公司,河北省\n".encode() + "乙公司,河北省\n".encode("gbk")
                     + "丙公司,河北省\n".encode())
    parse = read_roster(path, geocode=False)
    assert parse.encoding == "utf-8 (some lines damaged)"
    assert [r.name for r in parse.records] == ["甲公司", "丙公司"]
    assert [(p.row, p.field) for p in parse.problems] == [(3, "企业名称")]


def test_a_row_of_nul_bytes_is_rejected_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("企业名称,注册地址\n甲公司,河北省\n".encode() + b"\x00" * 300
                     + ",河北省\n乙公司,河北省\n".encode())
    parse = read_roster(path, geocode=False)
    assert [r.name for r in parse.records] == ["甲公司", "乙公司"]
    assert [p.row for p in parse.problems] == [3] and "NUL" in parse.problems[0].reason


def org_code(body: str) -> str:
    """An organization code with its GB 11714 check character, written independently."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c, 36) * w for c, w in zip(body, weights, strict=True))
    check = 11 - total % 11
    return f"{body}-{'X' if check == 10 else '0' if check == 11 else check}"


@pytest.mark.parametrize(("text", "code"), [
    (uscc(1), (uscc(1), None)), (" " + uscc(1).lower() + " ", (uscc(1), None)),
    ("".join(chr(ord(c) + 0xFEE0) for c in uscc(1)), (uscc(1), None)),  # full-width
    (OLD, (None, OLD)), ("3209231100626", (None, "3209231100626")),
    ("企合苏镇分字第0006", (None, "企合苏镇分字第0006")),
    (org_code("13497257"), (None, org_code("13497257")))])
def test_parse_code_reads_uscc_and_older_numbers(text: str,
                                                 code: tuple[str | None, str | None]) -> None:
    from chainatlas.sources.roster_values import parse_code

    got = parse_code(text)
    assert (got.uscc, got.registration_no) == code


@pytest.mark.parametrize(("text", "kind", "reason"), [
    (corrupt(uscc(1)), "uscc_check", "check digit"),
    (uscc(1)[:8] + "I" + uscc(1)[9:], "uscc_check", "contains 'I'"),
    (OLD[:-1] + str((int(OLD[-1]) + 1) % 10), "regno_check", "fails its check digit"),
    ("9113010012345", "bad_code", "has 13 characters, expected 18"),  # a USCC cut short
    (org_code("13497257")[:-1] + ("0" if org_code("13497257")[-1] != "0" else "1"),
     "bad_code", "organization code"),
    ("第二厂名:某厂", "bad_code", "nor is it a registration number")])
def test_parse_code_says_why_a_code_is_unusable(text: str, kind: str, reason: str) -> None:
    from chainatlas.sources.roster_values import CodeError, parse_code

    with pytest.raises(CodeError, match=reason) as err:
        parse_code(text)
    assert err.value.kind == kind


@pytest.mark.parametrize(("text", "expected"), [
    ("300(万元人民币)", (300.0, "CNY", 300.0)), ("50(万元人民币元)", (50.0, "CNY", 50.0)),
    ("18(万元美元)", (18.0, "USD", 18 * 8.2768)), ("5000元人民币", (0.5, "CNY", 0.5)),
    ("3,350(万丹麦克郎)", (3350.0, "DKK", 3350 * 10.29 / 7.4399)),
    ("万人民币", None), ("（万元）", None), ("N/A", None), ("-", None)])
def test_parse_capital_shapes(text: str, expected: tuple[float, str, float] | None) -> None:
    from chainatlas.sources.roster_values import parse_capital

    got = parse_capital(text)
    if expected is None:
        assert got is None
    else:
        assert got is not None and (got.amount, got.currency) == pytest.approx(expected[:2])
        assert got.cny == pytest.approx(expected[2])


def test_parse_capital_refuses_a_name_in_the_capital_column() -> None:
    from chainatlas.sources.roster_values import parse_capital

    with pytest.raises(ValueError, match="cannot read amount"):
        parse_capital("梁某某")


@pytest.mark.parametrize(("text", "short"), [
    ("河北", "河北"), ("河北省", "河北"), ("广西壮族自治区", "广西"), ("北京市", "北京"),
    ("香港特别行政区", "香港")])
def test_parse_province(text: str, short: str) -> None:
    from chainatlas.sources.roster_values import parse_province

    assert parse_province(text) == short
    for wrong in ("河", "1", "普通合伙", "500(万元)"):
        with pytest.raises(ValueError, match="not a province"):
            parse_province(wrong)


@pytest.mark.parametrize(("value", "reason"), [
    ("1E9999999", "larger than any firm"), ("1E309", "larger than any firm"),
    (5e9, "larger than any firm"), ("(500)", "accounting bracket"),
    ("（500）", "accounting bracket")])
def test_amounts_out_of_any_firms_range_are_refused(value: object, reason: str) -> None:
    # Before: 1E9999999 raised decimal.Overflow, 1E309 was stored as inf (a national
    # leader), (500) as +500 (issue 10 point 5).
    with pytest.raises(ValueError, match=reason):
        parse_amount_wan(value)
    assert parse_amount_wan("300(万元人民币)") == (300.0, "CNY")


def test_employee_counts_and_times_are_range_checked() -> None:
    with pytest.raises(ValueError, match="larger than any firm"):
        parse_employees(str(2**31))  # overflowed the store's INTEGER with a traceback
    for bad in ("2020-01-01 25:00", "2020-01-01 23:61", "2020-01-01 23:59:60"):
        with pytest.raises(ValueError, match="no such time"):
            parse_date(bad)
    assert parse_date("2020-01-01 23:59").isoformat() == "2020-01-01"


def test_csv_exports_never_write_a_formula(tmp_path: Path) -> None:
    # Before: export roster and --rejects wrote =HYPERLINK(…), +cmd|…, @SUM(…) verbatim
    # (issue 10 point 7); xlsx exports were guarded already.
    names = ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]
    rows = [["企业名称", "注册资本"], *[[n, "5"] for n in names]]
    parse = read_roster(write_csv(tmp_path / "r.csv", rows), geocode=False)
    out = tmp_path / "back.csv"
    write_roster(parse.records, out)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        cells = [row[0] for row in csv.reader(handle)][1:]
    assert cells == ["'" + n for n in names]
    # Our own guarded export reads back as it was.
    assert [r.name for r in read_roster(out, geocode=False).records] == names


# ------------------------------------------------------------------ broken CSV rows

CUT_HEADER = "企业名称,注册地址,注册资本,从业人数\n"
FULL_ROW = "石家庄甲制药有限公司,河北省石家庄市长安区,503万元,2762"


@pytest.mark.parametrize("cut", [len(FULL_ROW) - 1, len(FULL_ROW) - 3, 30, 25, 12])
def test_a_file_cut_mid_row_rejects_its_last_row(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "r.csv"
    path.write_text(CUT_HEADER + FULL_ROW + "\n" + FULL_ROW.replace("甲", "乙")[:cut],
                    encoding="utf-8")
    parse = read_roster(path, geocode=False)
    assert [r.row for r in parse.records] == [2]
    cut_problems = [p for p in parse.problems if "文件在此行被截断" in p.reason]
    assert [(p.file, p.row) for p in cut_problems] == [(str(path), 3)]
    fields = CUT_HEADER.strip().split(",")
    cells = FULL_ROW[:cut].split(",")
    assert cut_problems[0].field == fields[len(cells) - 1]  # the value that may be cut
    assert repr(cells[-1]) in cut_problems[0].reason
    assert parse.rejected_rows == [3]


def test_a_complete_file_ending_in_a_line_break_is_not_cut(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    for ending in ("\n", "\r\n"):
        path.write_text(CUT_HEADER + FULL_ROW + ending, encoding="utf-8")
        parse = read_roster(path, geocode=False)
        assert (parse.problems, [r.employees for r in parse.records]) == ([], [2762])


def test_a_csv_row_short_of_fields_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(CUT_HEADER + "甲公司,河北省,500\n乙公司,河北省,,\n丙公司\n",
                    encoding="utf-8")
    parse = read_roster(path, geocode=False)
    assert [r.name for r in parse.records] == ["乙公司"]  # empty cells, delimiters all there
    by_row = {p.row: p for p in parse.problems}
    assert sorted(by_row) == [2, 4]
    assert by_row[2].field == "从业人数" and "missing 从业人数" in by_row[2].reason
    assert by_row[4].field == "注册地址"
    assert "missing 注册地址, 注册资本, 从业人数" in by_row[4].reason


def test_an_xlsx_row_with_empty_trailing_cells_is_whole(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["企业名称", "注册地址", "注册资本", "从业人数"])
    book.active.append(["甲公司"])
    book.save(tmp_path / "r.xlsx")
    parse = read_roster(tmp_path / "r.xlsx", geocode=False)
    assert (parse.problems, [r.name for r in parse.records]) == ([], ["甲公司"])


def test_same_name_rows_that_differ_name_the_differing_fields(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["企业名称", "注册地址", "注册资本"],
                                          ["甲公司", "河北省", "500"], ["甲公司", "河北省", "300"]])
    (problem,) = read_roster(path, geocode=False).problems
    assert (problem.row, problem.field) == (3, "企业名称")
    assert "同名企业无统一社会信用代码，无法区分" in problem.reason
    assert problem.reason.endswith("the rows differ in 注册资本")
