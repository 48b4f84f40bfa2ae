"""Hostile roster files through ``chainatlas import roster`` (strict): every one is refused
with a message naming the file (and the row and field of a bad row), a non-zero exit, and
the store file byte-for-byte unchanged.

Each generated roster is a good roster in some carrier (CSV in several encodings,
delimiters and line endings, or a workbook with hidden, empty, explanatory and extra
sheets; formula-like texts in its cells) with exactly one defect whose row and field are
known: a huge or impossible value, a duplicate key, a row short of fields, a file cut
mid-row. Whole-file hostility (garbage bytes, damaged, truncated, encrypted workbooks) is
generated separately and must name the file.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chainatlas import cli
from tests.helpers import built_store, valid_uscc

HEADER = ["企业名称", "统一社会信用代码", "注册地址", "注册资本", "从业人数", "经营范围"]
NAME, CODE, ADDRESS, CAPITAL, EMPLOYEES, SCOPE = range(len(HEADER))
FORMULAS = ['=HYPERLINK("http://example.invalid","点击")', "+cmd|' /C calc'!A0",
            "@SUM(1+1)", "=1+1", "-2+3"]
HUGE_CAPITAL = ["1E9999999", "1E309", "inf", "-inf", "NaN", "(500)", "99999999999万元", "-5",
                "Infinity", "1e10"]
HUGE_EMPLOYEES = [str(2**31), str(2**63), "99999999999", "1E400", "-1", "inf", "12.5"]
CSV_ENCODINGS = ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"]
LAYOUTS = ["plain", "hidden_first", "notes_first", "empty_first", "extra_after"]
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
runner = CliRunner()
_serial = itertools.count()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small on-disk store, built once for the module (as test_cli builds one)."""
    return built_store(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


def store_digest(path: Path) -> str:
    """The store's bytes, with its write-ahead log if one is left beside it."""
    digest = hashlib.sha256(path.read_bytes())
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        digest.update(wal.read_bytes())
    return digest.hexdigest()


def squash(text: str) -> str:
    """Text without whitespace: the console wraps long messages anywhere."""
    return re.sub(r"\s+", "", text)


def import_strict(store: Path, path: Path) -> str:
    """Run the strict import; assert it is refused cleanly and changes nothing; return
    the message (output and the error, squashed)."""
    before = store_digest(store)
    result = runner.invoke(cli.app, ["import", "roster", str(path), "--db", str(store)])
    error = result.exception
    assert result.exit_code != 0, result.output
    assert error is None or isinstance(error, SystemExit) or type(error).__module__ == (
        "chainatlas.errors"), repr(error)
    assert "Traceback" not in result.output
    assert store_digest(store) == before, "a refused import changed the store"
    text = result.output + ("" if error is None or isinstance(error, SystemExit) else
                            str(error))
    assert squash(str(path)) in squash(text), text
    return squash(text)


@dataclass(frozen=True)
class Case:
    """A roster with one defect at ``row`` (spreadsheet row), in ``field`` when known."""

    rows: list[list[object]]
    row: int
    field: str | None
    cut: int | None = None  # characters kept of the last line (CSV only)


@st.composite
def good_rows(draw: st.DrawFn) -> list[list[object]]:
    count = draw(st.integers(1, 5))
    names = draw(st.permutations("甲乙丙丁戊己庚辛壬癸"))[:count]
    return [[f"石家庄{name}科技有限公司", valid_uscc(f"91130100MA{i:07d}"),
             draw(st.sampled_from(["河北省石家庄市长安区中山东路1号", *FORMULAS])),
             draw(st.sampled_from(["500万元", "1.2亿元", "300", "5000000元"])),
             draw(st.sampled_from(["120", "1,200人", ""])),
             draw(st.sampled_from(["疫苗研发", "集成电路设计", *FORMULAS]))]
            for i, name in enumerate(names)]


@st.composite
def defects(draw: st.DrawFn, csv: bool) -> Case:
    """A good roster with one defect: the kinds a workbook can hold, and in CSV the broken
    rows too."""
    rows = draw(good_rows())
    kinds = ["capital", "employees", "same_code", "same_name", *(["short", "cut"] * csv)]
    kind = draw(st.sampled_from(kinds))
    k = draw(st.integers(0, len(rows) - 1))
    last = len(rows) + 1  # the spreadsheet row of the last data row, before any appended
    if kind in ("capital", "employees"):
        column = CAPITAL if kind == "capital" else EMPLOYEES
        rows[k][column] = draw(st.sampled_from(HUGE_CAPITAL if column == CAPITAL else
                                               HUGE_EMPLOYEES))
        return Case(rows, k + 2, HEADER[column])
    if kind == "same_code":
        rows.append([*rows[k][:ADDRESS], "河北省石家庄市桥西区自强路2号", *rows[k][CAPITAL:]])
        return Case(rows, last + 1, HEADER[CODE])
    if kind == "same_name":
        rows[k][CODE] = ""
        rows.append([*rows[k][:CAPITAL], "1", *rows[k][EMPLOYEES:]])
        return Case(rows, last + 1, HEADER[NAME])
    if kind == "short":
        keep = draw(st.integers(1, len(HEADER) - 1))
        rows[-1] = rows[-1][:keep]
        return Case(rows, last, HEADER[keep])
    line = ",".join(str(c) for c in rows[-1])
    return Case(rows, last, None, cut=draw(st.integers(1, len(line) - 1)))


def write_csv(path: Path, case: Case, encoding: str, delimiter: str, newline: str) -> None:
    def line(cells: list[object]) -> str:
        # quoted as Excel would: only the cells that need it
        return delimiter.join('"' + str(c).replace('"', '""') + '"'
                              if delimiter in str(c) or '"' in str(c) else str(c)
                              for c in cells)

    lines = [line(list(HEADER)), *(line(r) for r in case.rows)]
    text = newline.join(lines) + newline
    if case.cut is not None:
        text = newline.join(lines[:-1]) + newline + lines[-1][:case.cut]
    path.write_bytes(text.encode(encoding))


def write_xlsx(path: Path, case: Case, layout: str) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "名单"
    for cells in [list(HEADER), *case.rows]:
        sheet.append(cells)
    if layout == "hidden_first":
        hidden = book.create_sheet("旧表", 0)
        hidden.append(["企业名称"])
        hidden.append(["=HYPERLINK(\"http://example.invalid\")"])
        hidden.sheet_state = "hidden"
        book.active = 1
    elif layout == "notes_first":
        book.create_sheet("填表说明", 0).append(["金额单位：万元", "@SUM(1+1)"])
        book.active = 1
    elif layout == "empty_first":
        book.create_sheet("Sheet1", 0)
        book.active = 1
    elif layout == "extra_after":
        book.create_sheet("汇总").append(["合计", len(case.rows)])
    book.save(path)


@SETTINGS
@given(case=defects(csv=True), encoding=st.sampled_from(CSV_ENCODINGS),
       delimiter=st.sampled_from([",", "\t"]), newline=st.sampled_from(["\n", "\r\n"]))
def test_a_bad_csv_row_is_refused_by_file_row_and_field(
        store: Path, files: Path, case: Case, encoding: str, delimiter: str,
        newline: str) -> None:
    path = files / f"名单 {next(_serial)}.csv"
    write_csv(path, case, encoding, delimiter, newline)
    text = import_strict(store, path)
    where = f"{path}, row {case.row}" + (f", field {case.field!r}:" if case.field else ",")
    assert squash(where) in text, (where, text)


@SETTINGS
@given(case=defects(csv=False), layout=st.sampled_from(LAYOUTS))
def test_a_bad_workbook_row_is_refused_by_file_row_and_field(
        store: Path, files: Path, case: Case, layout: str) -> None:
    path = files / f"名单 {next(_serial)}.xlsx"
    write_xlsx(path, case, layout)
    text = import_strict(store, path)
    assert squash(f"{path}, row {case.row}, field {case.field!r}:") in text, text


def _good_workbook(path: Path) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["石家庄甲科技有限公司", valid_uscc("91130100MA0000001"),
                        "河北省石家庄市长安区", "500万元", "120", "疫苗研发"])
    book.save(path)
    return path.read_bytes()


@SETTINGS
@given(kind=st.sampled_from(["garbage", "garbage_in_csv", "truncated_xlsx", "flipped_sheet",
                             "encrypted"]),
       seed=st.integers(0, 2**32 - 1))
def test_a_hostile_file_is_refused_naming_it(store: Path, files: Path, kind: str,
                                             seed: int) -> None:
    rng = random.Random(seed)
    path = files / f"坏文件 {next(_serial)}.{'csv' if 'csv' in kind else 'xlsx'}"
    if kind == "garbage":
        path.write_bytes(rng.randbytes(rng.randint(1, 5000)))
    elif kind == "garbage_in_csv":
        # binary noise after a readable start: no roster header, or binary content
        path.write_bytes("名称说明\n".encode() + rng.randbytes(rng.randint(1, 5000)))
    else:
        whole = _good_workbook(path)
        if kind == "truncated_xlsx":
            path.write_bytes(whole[:rng.randint(1, len(whole) - 1)])
        elif kind == "flipped_sheet":
            info = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml")
            start = info.header_offset + 30 + len(info.filename) + len(info.extra)
            flipped = bytearray(whole)
            flipped[start + rng.randrange(info.compress_size)] ^= rng.randint(1, 255)
            path.write_bytes(bytes(flipped))
        else:  # an OLE container with an EncryptedPackage stream
            path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1016)
                             + "EncryptedPackage".encode("utf-16-le") + bytes(512))
    text = import_strict(store, path)
    if kind == "encrypted":
        assert "password-protected" in text
