"""Every registry quirk, one at a time: a small invented mirror gets one instance of the quirk,
is built, and ``stats`` must move by exactly the quirk's count and nothing else.

The registry step of the build (``ingest_registry``) loads the files into a new store; one
test runs the whole build to show it counts the same. The clean file has four firms with
neutral scopes (property management places nowhere), so only what the quirk touches can
move. Each case
names the stats keys it changes and by how much; every other count (firms, locations,
currencies, missing values, issues by kind, table sizes, skipped files) must be equal to
the clean build's.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chainatlas.build import build_store
from chainatlas.sources.registry import HEADER
from chainatlas.sources.registry_files import RegistryFile, scan_mirror
from chainatlas.sources.registry_ingest import ingest_registry
from chainatlas.store import Database
from chainatlas.store.stats import stats_from_db
from tests.helpers import make_bundle, regno, unpinned_bundle
from tests.helpers import valid_uscc as uscc

FILE = "2001/河北.csv"
NOW = dt.datetime(2026, 1, 1)


def clean_rows() -> list[list[str]]:
    scope = "物业管理；房屋租赁"
    return [
        ["甲物业服务有限公司", uscc("91130100MA0000011"), "2001-05-17", "有限责任公司", "张三",
         "300(万元人民币)", scope, "河北", "石家庄", "石家庄市长安区建设北大街1号"],
        ["乙物业服务有限公司", uscc("91130600MA0000012"), "2001-06-01", "有限责任公司", "李四",
         "50(万元)", scope, "河北", "保定", "保定市竞秀区朝阳北大街2号"],
        ["丙房屋租赁有限公司", uscc("91130100MA0000013"), "2001-07-09", "有限责任公司", "王五",
         "100(万)", scope, "河北", "石家庄", "石家庄市桥西区中山西路3号"],
        ["丁物业管理有限公司", uscc("91130200MA0000014"), "2001-08-21", "有限责任公司", "赵六",
         "80万人民币", scope, "河北", "唐山", "唐山市路南区新华西道4号"],
    ]


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([list(HEADER), *rows])
    return out.getvalue()


@dataclass
class Mirror:
    """The files of an invented registry mirror: path -> bytes (written gzip-compressed)."""

    files: dict[str, bytes] = field(default_factory=dict)


def clean_mirror() -> Mirror:
    return Mirror({FILE: csv_text(clean_rows()).encode()})


def build(tmp_path: Path, mirror: Mirror, *, full: bool = False) -> Database:
    """Load the mirror's registry files (pinned to their bytes) into a new store: the
    build's registry step, or with ``full`` the whole build with the small bundle."""
    folder = tmp_path / "mirror"
    specs = []
    for path, data in mirror.files.items():
        target = folder / "registry" / "csv" / (path + ".gz")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.compress(data))
        specs.append(RegistryFile(path, hashlib.sha256(data).hexdigest()))
    db = Database()
    scan = scan_mirror(folder, specs)
    if full:
        build_store(db, unpinned_bundle(make_bundle(tmp_path / "bundle")), registry=scan)
    else:
        with db.transaction():
            ingest_registry(db, scan, NOW)
    return db


def counts(db: Database) -> dict[str, int]:
    """Every count ``stats`` shows, flattened: the registry section (nested dicts as
    ``missing.legal_rep``, skipped files by name), issues by file and kind, table sizes."""
    stats = stats_from_db(db)
    registry: dict[str, Any] = stats["registry"]
    out: dict[str, int] = {}
    for key, value in registry.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": int(v) for k, v in value.items()})
        elif isinstance(value, int):
            out[key] = value
    out.update({f"skipped.{r['file']}": 1 for r in registry["files_skipped"]})
    out.update({f"tables.{k}": v for k, v in stats["tables"].items()})
    out.update({f"issue.{i['file']}.{i['kind']}.{i['action']}": int(i["rows"])
                for i in stats["issues"]})
    return out


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in before.keys() | after.keys()
            if after.get(k, 0) != before.get(k, 0)}


def issue(kind: str, action: str, file: str = FILE, n: int = 1) -> dict[str, int]:
    """The stats moves of ``n`` issue rows of one kind."""
    return {f"issues.{kind}": n, f"issue.registry/{file}.{kind}.{action}": n,
            "tables.ingest_issues": n}


def added(kind: str, action: str = "rejected") -> dict[str, int]:
    """A row appended to the clean file and not stored: one more row read, one issue."""
    return {"rows_read": 1, **issue(kind, action)}


Change = Callable[[list[list[str]]], None]


def cell(row: int, col: int, value: str) -> Change:
    def change(rows: list[list[str]]) -> None:
        rows[row][col] = value
    return change


def append(*cells: str) -> Change:
    def change(rows: list[list[str]]) -> None:
        rows.append(list(cells))
    return change


GOOD = ["戊物业服务有限公司", uscc("91130100MA0000015"), "2001-09-09", "有限责任公司", "钱七",
        "60(万元)", "物业管理", "河北", "石家庄", "石家庄市新华区友谊北大街5号"]


def good(col: int, value: str) -> list[str]:
    row = list(GOOD)
    row[col] = value
    return row


def firm(row: int, name: str, capital: str) -> Change:
    """Row ``row`` renamed and given another capital."""
    def change(rows: list[list[str]]) -> None:
        rows[row][0], rows[row][5] = name, capital
    return change


LOCAL_SLIP = issue("capital_in_yuan_local", "divided by 10,000")
CNY = {"capital_currency.CNY": -1}
CAPITAL_MISSING = {"missing.capital": 1, "capital_missing": 1, **CNY}

# (case id, change to the clean rows, expected moves of the stats counts)
ROW_CASES: list[tuple[str, Change, dict[str, int]]] = [
    # N/A and the other markers: missing, and nothing else
    ("N/A legal rep", cell(0, 4, "N/A"), {"missing.legal_rep": 1}),
    ("— legal rep", cell(0, 4, "—"), {"missing.legal_rep": 1}),
    ("N/A type", cell(0, 3, "N/A"), {"missing.enterprise_type": 1}),
    ("无 type", cell(1, 3, "无"), {"missing.enterprise_type": 1}),
    ("N/A date", cell(0, 2, "N/A"), {"missing.setup_date": 1}),
    ("empty date", cell(2, 2, ""), {"missing.setup_date": 1}),
    ("N/A scope", cell(0, 6, "N/A"), {"missing.business_scope": 1}),
    ("N/A capital", cell(0, 5, "N/A"), CAPITAL_MISSING),
    ("- capital", cell(1, 5, "-"), CAPITAL_MISSING),
    ("unit without figure", cell(0, 5, "万人民币"), CAPITAL_MISSING),
    ("N/A address", cell(0, 9, "N/A"), {"missing.address": 1, "located_district": -1}),
    # every capital shape, with its currency
    *[(f"capital {shape}", cell(0, 5, shape), moves) for shape, moves in [
        ("4,180(万元人民币)", {}), ("300(万)", {}), ("300万人民币", {}),
        ("103.5000(万元人民币)", {}), ("0.0005万人民币", {}), ("50（万元）", {}),
        ("50(万元人民币元)", {}), ("300(万元(人民币))", {}), ("300(万人民币元)", {}),
        ("5000元人民币", {}), ("500()", {}),
        ("18(万美元)", {"capital_currency.USD": 1, "foreign_currency_capital": 1, **CNY}),
        ("18(万元美元)", {"capital_currency.USD": 1, "foreign_currency_capital": 1, **CNY}),
        ("235(万香港元)", {"capital_currency.HKD": 1, "foreign_currency_capital": 1, **CNY}),
        ("100(万港币)", {"capital_currency.HKD": 1, "foreign_currency_capital": 1, **CNY}),
        ("20(万德国马克)", {"capital_currency.DEM": 1, "foreign_currency_capital": 1, **CNY}),
        ("50(万日元)", {"capital_currency.JPY": 1, "foreign_currency_capital": 1, **CNY}),
        ("3,350(万丹麦克郎)",
         {"capital_currency.DKK": 1, "foreign_currency_capital": 1, **CNY})]],
    # 元 typed as 万元: from 1,000 亿 outside central firms, from 100 亿 for a local firm
    # with a whole number of 亿 and no large firm's business in its name
    ("yuan as wan", cell(0, 5, "50000000(万元)"), issue("capital_in_yuan", "divided by 10,000")),
    ("local yuan as wan", firm(0, "石家庄市甲包装有限公司", "1,500,000(万元人民币)"), LOCAL_SLIP),
    ("county yuan as wan", firm(3, "滦县丁木业有限公司", "8000000(万元)"), LOCAL_SLIP),
    ("local firm at 99 亿", firm(0, "石家庄市甲包装有限公司", "990000(万元)"), {}),
    ("local group at 150 亿", firm(0, "石家庄市甲投资集团有限公司", "1500000(万元)"), {}),
    ("local firm, capital not whole 亿", firm(0, "石家庄市甲包装有限公司", "1500123(万元)"), {}),
    ("provincial firm at 150 亿", firm(0, "河北甲钢材有限公司", "1500000(万元)"), {}),
    ("municipal firm at 150 亿", firm(0, "北京市甲有限公司", "1500000(万元)"), {}),
    # broken, shifted and garbled rows: read, rejected, nothing else stored
    ("11 fields", append(*GOOD, "多余"), added("broken_row")),
    ("9 fields", append(*GOOD[:9]), added("broken_row")),
    ("province holds a capital", append(*good(7, "500(万元)")), added("shifted_fields")),
    ("province holds a scope", append(*good(7, "生产啤酒、非酒精饮料")), added("shifted_fields")),
    ("date holds a capital", append(*good(2, "300(万元)")), added("shifted_fields")),
    ("capital holds a name", append(*good(5, "WAYNE")), added("shifted_fields")),
    ("GBK read as UTF-8", append(*good(0, "\ufffd\ufffd公司")), added("garbled_text")),
    ("NUL bytes for a name", append(*good(0, "\x00" * 20)), added("garbled_text")),
    # one firm twice
    ("verbatim repeat", append(*clean_rows()[1]), added("duplicate_row", "merged")),
    ("another firm on a taken code", append(*good(1, clean_rows()[1][1])),
     added("duplicate_code")),
    # codes
    ("15-digit registration number", cell(0, 1, regno("13010000001234")),
     {"with_uscc": -1, "with_registration_no": 1}),
    ("13-digit registration number", cell(0, 1, "1301002000351"),
     {"with_uscc": -1, "with_registration_no": 1}),
    ("certificate number", cell(0, 1, "企合冀石总字第000063"),
     {"with_uscc": -1, "with_registration_no": 1}),
    ("check digit wrong", cell(0, 1, uscc("91130100MA0000011")[:17] + "0"),
     issue("uscc_check", "kept, flagged")),
    ("no code at all", cell(0, 1, "第二厂名"),
     {"with_uscc": -1, **issue("bad_code", "not used as key")}),
    # names, branches, individual businesses
    ("spaces in a name", cell(0, 0, "甲物业 服务 有限公司"), issue("name_folded", "folded")),
    ("branch of a stored firm", cell(2, 0, "甲物业服务有限公司石家庄分公司"),
     {"branches": 1, "branches_linked": 1}),
    ("branch of an absent firm", cell(2, 0, "某某集团有限公司石家庄分公司"), {"branches": 1}),
    ("individual business by type", cell(3, 3, "个体工商户"), {"individual_businesses": 1}),
    ("individual business by code", cell(3, 1, uscc("92130200MA0000014")),
     {"individual_businesses": 1}),
]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    return counts(build(tmp_path_factory.mktemp("clean"), clean_mirror()))


def test_the_clean_file_loads_whole(clean: dict[str, int]) -> None:
    assert clean["firms"] == 4 and clean["rows_read"] == 4
    assert clean["located_city"] == 4 and clean["capital_currency.CNY"] == 4
    assert not any(k.startswith(("issues.", "skipped.")) for k in clean)


def test_a_whole_build_counts_a_quirk_as_the_registry_step_does(tmp_path: Path) -> None:
    rows = clean_rows()
    rows[0][5] = "18(万美元)"
    quirky = Mirror({FILE: csv_text(rows).encode()})
    clean_build = counts(build(tmp_path / "a", clean_mirror(), full=True))
    quirky_build = counts(build(tmp_path / "b", quirky, full=True))
    assert delta(clean_build, quirky_build) == {
        "capital_currency.USD": 1, "foreign_currency_capital": 1, **CNY}
    step = counts(build(tmp_path / "c", quirky))

    def registry_part(found: dict[str, int]) -> dict[str, int]:
        return {k: v for k, v in found.items() if not k.startswith(("tables.", "issue."))
                or k.startswith("issue.registry/")}

    assert registry_part(quirky_build) == registry_part(step)


@pytest.mark.parametrize(("case", "change", "moves"), ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_one_quirk_moves_only_its_count(tmp_path: Path, clean: dict[str, int], case: str,
                                        change: Change, moves: dict[str, int]) -> None:
    rows = clean_rows()
    change(rows)
    got = counts(build(tmp_path, Mirror({FILE: csv_text(rows).encode()})))
    assert delta(clean, got) == moves


def test_capital_shapes_store_amount_currency_and_cny(tmp_path: Path) -> None:
    rows = clean_rows()
    rows[0][5], rows[1][5], rows[2][5] = "18(万元美元)", "50(万元人民币元)", "3,350(万丹麦克郎)"
    db = build(tmp_path, Mirror({FILE: csv_text(rows).encode()}))
    got = {r[0]: r[1:] for r in db.execute(
        "SELECT full_name, capital_amount, capital_currency, registered_capital "
        "FROM companies WHERE origin = 'registry'").fetchall()}
    assert got["甲物业服务有限公司"] == (18.0, "USD", pytest.approx(18 * 8.2768))
    assert got["乙物业服务有限公司"] == (50.0, "CNY", 50.0)
    assert got["丙房屋租赁有限公司"] == (3350.0, "DKK", pytest.approx(3350 * 10.29 / 7.4399))


def test_a_local_firms_yuan_slip_is_stored_in_wan(tmp_path: Path) -> None:
    rows = clean_rows()
    rows[0][0], rows[0][5] = "石家庄市甲包装有限公司", "1,500,000(万元人民币)"
    rows[1][0], rows[1][5] = "保定市乙投资集团有限公司", "1,500,000(万元人民币)"
    db = build(tmp_path, Mirror({FILE: csv_text(rows).encode()}))
    got = dict(db.execute("SELECT full_name, registered_capital FROM companies "
                          "WHERE origin = 'registry'").fetchall())
    assert got["石家庄市甲包装有限公司"] == 150.0
    assert got["保定市乙投资集团有限公司"] == 1_500_000.0  # a group may hold 150 亿


def test_names_codes_and_branches_as_stored(tmp_path: Path) -> None:
    rows = clean_rows()
    rows[0][0] = "甲物业 服务 有限公司"
    rows[1][1] = number = regno("13060000001234")
    rows[2][0] = "甲物业服务有限公司石家庄分公司"
    db = build(tmp_path, Mirror({FILE: csv_text(rows).encode()}))
    firms = {r["full_name"]: r for r in db.rows("SELECT * FROM companies WHERE origin = "
                                               "'registry'")}
    parent, old = firms["甲物业服务有限公司"], firms["乙物业服务有限公司"]
    assert (old["uscc"], old["registration_no"], old["company_id"]) == (None, number,
                                                                       "R" + number)
    branch = firms["甲物业服务有限公司石家庄分公司"]
    assert branch["parent_name"] == parent["full_name"]
    assert branch["parent_id"] == parent["company_id"]


def _gbk_line() -> bytes:
    return (",".join(good(0, "己物业服务有限公司")) + "\n").encode("gbk")


# (case id, files beside or instead of the clean one, expected moves)
FILE_CASES: list[tuple[str, Callable[[], Mirror], dict[str, int]]] = [
    ("truncated last line", lambda: Mirror({FILE: csv_text(clean_rows()).encode()
                                            + ",".join(GOOD).encode()}),
     added("truncated")),
    ("truncated inside a field", lambda: Mirror({FILE: csv_text(clean_rows()).encode()
                                                 + ",".join(GOOD[:4]).encode()}),
     added("truncated")),
    ("GBK row inside UTF-8", lambda: Mirror({FILE: csv_text(clean_rows()).encode()
                                             + _gbk_line()}),
     added("garbled_text")),
    ("file in GBK", lambda: Mirror({FILE: csv_text(clean_rows()).encode(),
                                    "2002/河北.csv": csv_text([GOOD]).encode("gbk")}),
     {"files": 1, "tables.sources": 1, "skipped.registry/2002/河北.csv": 1,
      **issue("not_utf8", "file skipped", "2002/河北.csv")}),
    ("wrong header", lambda: Mirror({FILE: csv_text(clean_rows()).encode(),
                                     "2003/河北.csv": "name,code\n甲,乙\n".encode()}),
     {"files": 1, "tables.sources": 1, "skipped.registry/2003/河北.csv": 1,
      **issue("bad_header", "file skipped", "2003/河北.csv")}),
]


@pytest.mark.parametrize(("case", "mirror", "moves"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_a_bad_file_is_reported_by_name_and_the_rest_loads(
        tmp_path: Path, clean: dict[str, int], case: str, mirror: Callable[[], Mirror],
        moves: dict[str, int]) -> None:
    got = counts(build(tmp_path, mirror()))
    assert delta(clean, got) == moves


def test_skipped_files_are_named_in_stats(tmp_path: Path) -> None:
    mirror = clean_mirror()
    mirror.files["2002/河北.csv"] = csv_text([GOOD]).encode("gbk")
    registry = stats_from_db(build(tmp_path, mirror))["registry"]
    assert [(r["file"], r["kind"]) for r in registry["files_skipped"]] == [
        ("registry/2002/河北.csv", "not_utf8")]
    assert registry["firms"] == 4
