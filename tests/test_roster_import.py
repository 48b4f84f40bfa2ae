"""Roster import into the store: all-or-nothing, lenient mode, history, round trips."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainatlas.build import build_store
from chainatlas.errors import InputError
from chainatlas.sources.roster import RosterRecord, uscc_check_digit, write_roster
from chainatlas.sources.roster_import import export_roster, import_roster, roster_from_db
from chainatlas.store import Database
from tests.helpers import unpinned_bundle

HEADER = ["企业名称", "统一社会信用代码", "注册地址", "行业代码", "经营范围", "注册资本",
          "成立日期", "营业收入", "从业人数"]


def uscc(n: int) -> str:
    base = f"91130100MA{n:07d}"
    return base + uscc_check_digit(base)


def rows() -> list[list[object]]:
    return [
        ["河北甲生物科技有限公司", uscc(1), "河北省石家庄市长安区中山东路1号", "C2761",
         "疫苗研发、生产", "500万元", "2015-03-02", "1200万元", "120"],
        ["河北乙电子有限公司", uscc(2), "河北省石家庄市桥西区自强路2号", "3973",
         "集成电路设计", "1亿元", "2018/5/6", "3000", "1,200人"],
    ]


def write_csv(path: Path, data: list[list[object]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows([HEADER, *data])
    return path


@pytest.fixture
def store(mini_db: Database) -> Database:
    return mini_db


def test_import_then_reimport_changes_nothing(store: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", rows())
    report = import_roster(store, path)
    assert (report.inserted, report.updated) == (2, 0)
    firm = store.rows("SELECT * FROM companies WHERE uscc = ?", [uscc(1)])[0]
    assert firm["region_adcode"] == "130102" and firm["registered_capital"] == 500.0
    assert firm["industry_gbt"] == "2761" and firm["origin"] == "roster"
    before = store.table_counts()
    again = import_roster(store, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert store.table_counts() == before


def test_newer_file_updates_and_keeps_history(store: Database, tmp_path: Path) -> None:
    import_roster(store, write_csv(tmp_path / "r1.csv", rows()))
    newer = rows()
    newer[0][5] = "800万元"
    newer[0][8] = "150"
    report = import_roster(store, write_csv(tmp_path / "r2.csv", newer))
    assert (report.updated, report.changed_fields) == (1, 2)
    history = store.rows("SELECT field, old_value, new_value FROM company_history "
                         "ORDER BY field")
    assert history == [
        {"field": "employees", "old_value": "120", "new_value": "150"},
        {"field": "registered_capital", "old_value": "500.0", "new_value": "800.0"}]
    assert store.scalar("SELECT registered_capital FROM companies WHERE uscc = ?",
                        [uscc(1)]) == 800.0


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    gbk = tmp_path / "gbk.csv"
    write_csv(gbk, rows(), encoding="gbk")
    dup = write_csv(tmp_path / "dup.csv", [rows()[0], rows()[0]])
    missing = tmp_path / "missing.csv"
    missing.write_text("统一社会信用代码,注册地址\n" + uscc(1) + ",石家庄\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.csv"
    noise.write_bytes(random.Random(0).randbytes(10 * 1024 * 1024))
    merged = tmp_path / "merged.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["企业名称", "基本信息", None, "注册资本"])
    sheet.merge_cells("B1:C1")
    sheet.append(["河北甲生物科技有限公司", uscc(1), "石家庄", "500万元"])
    book.save(merged)
    bad_code = write_csv(tmp_path / "badcode.csv", [[*rows()[0][:3], "2799", *rows()[0][4:]]])
    return {
        "gbk declared utf-8": (gbk, "not valid UTF-8"),
        "duplicate uscc": (dup, "duplicate"),
        "missing column": (missing, "企业名称"),
        "empty file": (empty, "empty"),
        "random bytes": (noise, "not a CSV"),
        "merged header": (merged, "B1:C1"),
        "unknown industry code": (bad_code, "not a GB/T 4754-2017 code"),
    }


@pytest.mark.parametrize("case", ["gbk declared utf-8", "duplicate uscc", "missing column",
                                  "empty file", "random bytes", "merged header",
                                  "unknown industry code"])
def test_bad_file_changes_nothing(store: Database, tmp_path: Path, case: str) -> None:
    path, message = _bad_files(tmp_path)[case]
    before = store.table_counts()
    encoding = "utf-8" if case == "gbk declared utf-8" else None
    with pytest.raises(InputError) as err:
        import_roster(store, path, encoding=encoding)
    text = str(err.value) + " ".join(str(p) for p in err.value.problems)
    assert message.lower() in text.lower()
    assert str(path.name) in text
    assert store.table_counts() == before


def test_strict_lists_every_bad_row(store: Database, tmp_path: Path) -> None:
    data = rows()
    data[0][1] = data[0][1][:-1] + ("0" if data[0][1][-1] != "0" else "1")
    data[1][6] = "2099-01-01"
    with pytest.raises(InputError) as err:
        import_roster(store, write_csv(tmp_path / "r.csv", data))
    assert {p.row for p in err.value.problems} == {2, 3}
    assert {p.field for p in err.value.problems} == {"统一社会信用代码", "成立日期"}
    assert "nothing imported" in str(err.value)


def test_lenient_imports_good_rows_and_writes_rejects(store: Database, tmp_path: Path) -> None:
    data = rows()
    data[1][5] = "-5万元"
    rejects = tmp_path / "rejects.xlsx"
    report = import_roster(store, write_csv(tmp_path / "r.csv", data), lenient=True,
                           rejects=rejects)
    assert (report.inserted, report.rejected) == (1, 1)
    sheet = openpyxl.load_workbook(rejects).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert "河北乙电子有限公司" in values[1]
    assert any("注册资本" in str(c) for c in values[1])


def test_roster_survives_rebuild_and_links_listed_twin(store: Database, tmp_path: Path,
                                                       mini_bundle: Path) -> None:
    twin = ["石家庄以岭药业股份有限公司", uscc(3), "河北省石家庄市", "2740", "中成药",
            "16.7亿元", "2001-09-18", "", ""]
    data = [*rows(), twin]
    import_roster(store, write_csv(tmp_path / "r.csv", data))
    build_store(store, unpinned_bundle(mini_bundle))
    assert store.scalar("SELECT count(*) FROM companies WHERE origin = 'roster'") == 3
    assert store.scalar("SELECT same_as FROM companies WHERE uscc = ?", [uscc(3)]) \
        == "002603.SZ"


names = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
                min_size=2, max_size=12).map(lambda s: s + "有限公司")
amounts = st.one_of(st.none(), st.decimals(min_value=0, max_value=10**7, places=2,
                                           allow_nan=False).map(float))
records = st.builds(
    lambda i, name, cap, rev, emp, day: RosterRecord(
        row=0, name=name, uscc=uscc(i), address=None, industry_code="2761",
        industry_section=None, business_scope="疫苗", registered_capital=cap,
        capital_currency="CNY" if cap is not None else None, setup_date=day, revenue=rev,
        employees=emp, adcode=None, location_level=None, raw={}),
    st.integers(0, 9_999_999), names, amounts, amounts,
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.one_of(st.none(), st.dates(dt.date(1950, 1, 1), dt.date(2025, 12, 31))))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(records, min_size=1, max_size=8, unique_by=lambda r: r.uscc), st.booleans())
def test_store_round_trip(tmp_path: Path, batch: list[RosterRecord], as_xlsx: bool) -> None:
    db = Database()
    source = tmp_path / ("in.xlsx" if as_xlsx else "in.csv")
    write_roster(batch, source)
    import_roster(db, source)
    out = tmp_path / ("out.xlsx" if as_xlsx else "out.csv")
    assert export_roster(db, out) == len(batch)
    again = import_roster(db, out)
    assert (again.inserted, again.updated) == (0, 0)
    stored = {r.uscc: r for r in roster_from_db(db)}
    for record in batch:
        got = stored[record.uscc]
        assert (got.name, got.setup_date, got.employees) == (
            record.name, record.setup_date, record.employees)
        for a, b in ((got.registered_capital, record.registered_capital),
                     (got.revenue, record.revenue)):
            assert (a is None and b is None) or abs((a or 0) - (b or 0)) < 1e-6
