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
from chainatlas.sources.registry import HEADER as REGISTRY_FIELDS
from chainatlas.sources.roster import RosterRecord, uscc_check_digit, write_roster
from chainatlas.sources.roster_import import export_roster, import_roster, roster_from_db
from chainatlas.store import Database
from tests.helpers import regno, unpinned_bundle

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
        {"field": "capital_amount", "old_value": "500.0", "new_value": "800.0"},
        {"field": "employees", "old_value": "120", "new_value": "150"}]
    assert store.scalar("SELECT registered_capital FROM companies WHERE uscc = ?",
                        [uscc(1)]) == 800.0


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    gbk = tmp_path / "gbk.csv"
    write_csv(gbk, rows(), encoding="gbk")
    other = ["河北丙公司", *rows()[0][1:]]  # another firm under the same code
    dup = write_csv(tmp_path / "dup.csv", [rows()[0], other])
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


# ------------------------------------------------------- registry exports, registry columns

REGISTRY_HEADER = list(REGISTRY_FIELDS)


def write_registry_csv(path: Path, data: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([REGISTRY_HEADER, *data])
    return path


def test_a_registry_export_fills_the_registry_columns(store: Database, tmp_path: Path) -> None:
    old = regno("13010000001234")
    data = [
        ["河北甲实业有限公司", uscc(1), "2001-05-17", "有限责任公司", "张三", "18(万美元)",
         "物业管理", "河北", "石家庄", "石家庄市长安区建设北大街1号"],
        ["河北甲实业有限公司 石家庄 分公司", old, "N/A", "分公司", "N/A", "N/A", "N/A", "河北",
         "石家庄", "N/A"],
        ["任县某机械厂", uscc(3).replace("91", "92", 1)[:17] + uscc_check_digit(
            uscc(3).replace("91", "92", 1)[:17]), "1998-03-02", "个体工商户", "李四",
         "2(万元)", "机械加工", "河北", "邢台", "N/A"],
    ]
    report = import_roster(store, write_registry_csv(tmp_path / "2001-河北.csv", data))
    assert (report.inserted, report.rejected) == (3, 0)
    firms = {r["full_name"]: r for r in store.rows(
        "SELECT * FROM companies WHERE origin = 'roster'")}
    parent = firms["河北甲实业有限公司"]
    assert parent["company_id"] == f"USCC:{uscc(1)}"
    assert (parent["capital_amount"], parent["capital_currency"]) == (18.0, "USD")
    assert parent["registered_capital"] == pytest.approx(18 * 8.2768)
    assert (parent["enterprise_type"], parent["legal_rep"]) == ("有限责任公司", "张三")
    branch = firms["河北甲实业有限公司石家庄分公司"]
    assert (branch["company_id"], branch["uscc"], branch["registration_no"]) == (
        f"REG:{old}", None, old)
    assert branch["is_branch"] and branch["parent_id"] == parent["company_id"]
    assert branch["legal_rep"] is None and branch["registered_capital"] is None
    assert branch["city_adcode"] == "130100"  # no address: the province and city columns
    person = firms["任县某机械厂"]
    assert person["is_individual"] and not person["is_branch"]
    again = import_roster(store, write_registry_csv(tmp_path / "again.csv", data))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


def test_rosters_stored_before_capital_amount_reimport_unchanged(store: Database,
                                                                 tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", rows())
    import_roster(store, path)
    # as an earlier ChainAtlas stored them: the amount in registered_capital, no amount column
    store.execute("UPDATE companies SET capital_amount = NULL WHERE origin = 'roster'")
    again = import_roster(store, path)
    assert (again.updated, again.unchanged) == (0, 2)
    assert [r.registered_capital for r in roster_from_db(store)] == [500.0, 10000.0]


def test_verbatim_repeats_merge_and_are_counted(store: Database, tmp_path: Path) -> None:
    report = import_roster(store, write_csv(tmp_path / "r.csv", [*rows(), rows()[0]]))
    assert (report.inserted, report.merged, report.rejected) == (2, 1, 0)
    assert report.notes == ["1 row repeats an earlier row exactly and was stored once "
                            "(重复行已合并): row 4 (= row 2)"]


def test_repeated_rows_without_a_code_are_reported_not_lost(store: Database,
                                                            tmp_path: Path) -> None:
    firm = ["石家庄丙制药有限公司", "", "河北省石家庄市长安区", "", "", "500万元", "", "", ""]
    others = [[f"石家庄丁{i}制药有限公司", *firm[1:]] for i in range(10)]
    path = write_csv(tmp_path / "r.csv", [firm] * 50_000 + others)
    report = import_roster(store, path)
    assert (report.rows, report.inserted, report.merged, report.rejected) == (
        50_010, 11, 49_999, 0)
    assert report.notes[0].startswith("49,999 rows repeat an earlier row exactly")
    assert "rows 3 (= row 2), 4 (= row 2)" in report.notes[0]
    assert "and 49,994 more" in report.notes[0]
    from chainatlas.store.stats import stats_from_db

    (source,) = [s for s in stats_from_db(store)["sources"] if s["file"] == str(path)]
    assert (source["merged"], source["rejected"]) == (49_999, 0)


def test_same_name_rows_that_differ_reject_the_file(store: Database, tmp_path: Path) -> None:
    firm = ["石家庄丙制药有限公司", "", "河北省石家庄市长安区", "", "", "500万元", "", "", ""]
    other = [*firm[:5], "300万元", *firm[6:]]
    before = store.table_counts()
    path = write_csv(tmp_path / "r.csv", [firm, firm, other])
    with pytest.raises(InputError) as error:
        import_roster(store, path)
    (problem,) = error.value.problems
    assert (problem.file, problem.row, problem.field) == (str(path), 4, "企业名称")
    assert "同名企业无统一社会信用代码，无法区分" in problem.reason and "注册资本" in problem.reason
    assert store.table_counts() == before


# ------------------------------------------------------------ incremental classification

def _derived(db: Database) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "placements": "SELECT company_id, chain_id, node_id, confidence, method, evidence "
                      "FROM placements",
        "placement_products": "SELECT * FROM placement_products",
        "chain_firms": "SELECT * FROM chain_firms",
        "chain_centrality": "SELECT chain_id, company_id, round(pagerank, 12) "
                            "FROM chain_centrality",
        "firm_supply": "SELECT * FROM firm_supply"}
    return {name: sorted(db.execute(sql).fetchall(), key=repr) for name, sql in queries.items()}


def test_an_import_places_only_its_firms_as_a_full_run_would(store: Database,
                                                             tmp_path: Path) -> None:
    from chainatlas.build import classify

    import_roster(store, write_csv(tmp_path / "r1.csv", rows()))
    summary = classify(store)
    assert summary["classified_firms"] == 2
    placed = {r[0] for r in store.execute("SELECT DISTINCT company_id FROM placements "
                                          "WHERE company_id LIKE 'USCC:%'").fetchall()}
    assert placed == {f"USCC:{uscc(1)}", f"USCC:{uscc(2)}"}
    incremental = _derived(store)
    full = classify(store, full=True)
    assert "classified_firms" not in full
    assert _derived(store) == incremental
    # unchanged file: nothing to place; one changed firm: only it
    import_roster(store, write_csv(tmp_path / "r2.csv", rows()))
    assert classify(store)["classified_firms"] == 0
    newer = rows()
    newer[1][4] = "集成电路设计、封装测试"
    import_roster(store, write_csv(tmp_path / "r3.csv", newer))
    assert classify(store)["classified_firms"] == 1


def test_changed_templates_place_every_firm_again(store: Database, tmp_path: Path) -> None:
    from chainatlas.build import classify

    import_roster(store, write_csv(tmp_path / "r1.csv", rows()))
    store.execute("UPDATE chains SET sha256 = 'edited' WHERE chain_id = "
                  "(SELECT min(chain_id) FROM chains)")
    assert "classified_firms" not in classify(store)


def test_the_text_model_is_kept_beside_the_store(tmp_path: Path) -> None:
    from chainatlas.build import _load_model, _save_model
    from chainatlas.chains.textmodel import fit_text_model

    texts = ["疫苗", "疫苗制剂", "疫苗生产", "芯片", "芯片封装", "芯片设计", "物业"]
    labels = [["b:vac"]] * 3 + [["e:ic"]] * 3 + [[]]
    model = fit_text_model(texts, labels)
    assert model is not None
    path = tmp_path / "s.duckdb.textmodel.npz"
    _save_model(path, "digest-1", model)
    loaded = _load_model(path, "digest-1")
    assert loaded is not None and loaded.labels == model.labels
    assert (loaded.predict_proba(texts) == model.predict_proba(texts)).all()
    assert _load_model(path, "digest-2") is None  # trained on something else: not used


# ---------------------------------------------------------- real registry files, strict

@pytest.mark.parametrize("path", ["2002/上海.csv", "1984/广东.csv", "1980/四川.csv",
                                  "1998/湖北.csv", "2000/河北.csv"])
def test_a_real_registry_file_rejects_only_the_rows_the_registry_rejects(
        tmp_path: Path, path: str) -> None:
    import gzip

    from chainatlas.sources.registry import dedupe, parse_registry_text
    from chainatlas.sources.roster import read_roster
    from tests.helpers import mirror_path

    mirror = mirror_path()
    source = mirror / "registry" / "csv" / (path + ".gz") if mirror else None
    if source is None or not source.is_file():
        pytest.skip("no registry mirror")
    data = gzip.decompress(source.read_bytes())
    registry = parse_registry_text(data.decode("utf-8"), path)
    issues: dict[str, list[object]] = {}
    dedupe(registry.rows, issues)  # type: ignore[arg-type]
    kinds = [i.kind for i in registry.issues + issues.get(path, [])]  # type: ignore[attr-defined]
    wrong = ("garbled_text", "broken_row", "shifted_fields", "no_name", "duplicate_code",
             "uscc_check", "regno_check", "bad_code")
    local = tmp_path / path.replace("/", "-")
    local.write_bytes(data)
    parse = read_roster(local, geocode=False)
    assert len(parse.rejected_rows) == sum(k in wrong for k in kinds)
    assert len(parse.merged) == kinds.count("duplicate_row")
    assert len(parse.records) + len(parse.rejected_rows) + len(parse.merged) == registry.read
