"""Reading roster workbooks within bounds (chainatlas.sources.roster_xlsx): stray far cells,
lying dimensions, zip bombs, damaged and password-protected files, hidden and extra sheets."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import PatternFill

from chainatlas.errors import InputError
from chainatlas.sources import roster_xlsx
from chainatlas.sources.roster import read_roster
from chainatlas.sources.roster_import import import_roster
from chainatlas.store import Database

HEADER = ["企业名称", "注册地址", "注册资本"]
FIRM = ["石家庄甲制药有限公司", "河北省石家庄市长安区", "500"]


def workbook(path: Path, extra: Callable[[openpyxl.Workbook], None] | None = None) -> Path:
    """A one-sheet roster (header and one firm), changed by ``extra`` before saving."""
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(FIRM)
    if extra:
        extra(book)
    book.save(path)
    return path


def rewrite_member(path: Path, member: str, change: Callable[[bytes], bytes]) -> None:
    """Rewrite one zip member of a workbook (as a hostile tool could)."""
    with zipfile.ZipFile(path) as old:
        parts = {info.filename: old.read(info) for info in old.infolist()}
    parts[member] = change(parts[member])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in parts.items():
            new.writestr(name, data)


def peak_mib(action: Callable[[], object]) -> tuple[float, float]:
    """Peak Python memory (MiB) and seconds taken by ``action`` (errors are its result)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        action()
    except InputError:
        pass
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return peak, seconds


def test_a_stray_value_in_the_last_column_is_refused_at_once(tmp_path: Path) -> None:
    def stray(book: openpyxl.Workbook) -> None:
        book.active["XFD1048576"] = "x"

    path = workbook(tmp_path / "stray.xlsx", stray)
    assert path.stat().st_size < 10_000
    with pytest.raises(InputError) as error:
        read_roster(path, geocode=False)
    message = str(error.value)
    assert str(path) in message and "sheet 'Sheet'" in message and "XFD1048576" in message
    assert f"{roster_xlsx.MAX_COLUMNS:,} columns" in message
    peak, seconds = peak_mib(lambda: read_roster(path, geocode=False))
    assert peak < 50 and seconds < 10  # unbounded: 8.5 GB and 96 s


def test_a_value_in_excels_last_row_costs_nothing(tmp_path: Path) -> None:
    def far(book: openpyxl.Workbook) -> None:
        book.active["A1048576"] = "石家庄乙制药有限公司"

    path = workbook(tmp_path / "far.xlsx", far)
    parse = read_roster(path, geocode=False)
    assert [r.row for r in parse.records] == [2, 1_048_576]
    peak, seconds = peak_mib(lambda: read_roster(path, geocode=False))
    assert peak < 50 and seconds < 10  # unbounded: 2.6 GB and 31.6 s


def test_styled_empty_cells_and_a_lying_dimension_are_not_materialised(tmp_path: Path) -> None:
    def styled(book: openpyxl.Workbook) -> None:
        book.active["XFD2"].fill = PatternFill("solid", fgColor="FFFF00")  # empty but written

    path = workbook(tmp_path / "wide.xlsx", styled)
    rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(
        b'<dimension ref="A1:XFD2" />', b'<dimension ref="A1:XFD1048576" />'))
    assert b"XFD1048576" in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    parse = read_roster(path, geocode=False)
    assert (parse.problems, [r.name for r in parse.records]) == ([], [FIRM[0]])
    assert parse.records[0].raw == dict(zip(HEADER, FIRM, strict=True))
    peak, seconds = peak_mib(lambda: read_roster(path, geocode=False))
    assert peak < 50 and seconds < 10


def test_past_the_cell_limit_the_sheet_is_refused(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def many(book: openpyxl.Workbook) -> None:
        for i in range(40):
            book.active.append([f"公司{i}", "河北省", "1"])

    path = workbook(tmp_path / "many.xlsx", many)
    assert len(read_roster(path, geocode=False).records) == 41
    monkeypatch.setattr(roster_xlsx, "MAX_CELLS", 50)
    with pytest.raises(InputError, match=r"sheet 'Sheet' holds more than 50 values"):
        read_roster(path, geocode=False)


def test_a_zip_bomb_is_refused_before_it_is_parsed(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = workbook(tmp_path / "bomb.xlsx")
    padding = b"<!--" + b" " * (4 << 20) + b"-->"  # 4 MiB of XML comment, ~4 KB zipped
    rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: xml + padding)
    assert path.stat().st_size < 100_000
    assert len(read_roster(path, geocode=False).records) == 1  # within the real limit
    monkeypatch.setattr(roster_xlsx, "MAX_UNCOMPRESSED", 1 << 20)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl parsed a workbook past the size limit")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(InputError) as error:
        read_roster(path, geocode=False)
    message = str(error.value)
    assert str(path) in message and "xl/worksheets/sheet1.xml" in message
    assert "limit of 1,048,576 bytes" in message


def _cfb(streams: list[str]) -> bytes:
    """A minimal OLE compound file (one FAT sector, one directory sector) whose directory
    names ``streams``, laid out per MS-CFB (written here, not taken from any tool)."""
    free, end, fat_sector = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
              + struct.pack("<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, 1, 1, 0, 4096,
                            end, 0, end, 0)
              + struct.pack("<I", 0) + struct.pack("<I", free) * 108)
    fat = struct.pack("<II", fat_sector, end) + struct.pack("<I", free) * 126

    def entry(name: str, kind: int, child: int = free, right: int = free) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", free, right, child) + bytes(16 + 4 + 16)
                + struct.pack("<IQ", end, 0))

    names = [entry("Root Entry", 5, child=1 if streams else free)]
    names += [entry(n, 2, right=i + 2 if i + 1 < len(streams) else free)
              for i, n in enumerate(streams)]
    directory = b"".join(names).ljust(512, b"\0")
    return header + fat + directory


def test_a_password_protected_workbook_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "locked.xlsx"
    path.write_bytes(_cfb(["EncryptionInfo", "EncryptedPackage"]))
    with pytest.raises(InputError) as error:
        read_roster(path, geocode=False)
    message = str(error.value)
    assert "password-protected" in message and "save it without a password" in message
    assert ".xls" not in message.replace(".xlsx", "")
    path.write_bytes(_cfb(["Workbook"]))  # a real legacy .xls is still called one
    with pytest.raises(InputError, match=r"legacy \.xls workbook"):
        read_roster(path, geocode=False)


def test_a_truncated_or_damaged_workbook_is_a_clear_message(tmp_path: Path) -> None:
    whole = workbook(tmp_path / "r.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    for size in (len(whole) // 2, len(whole) - 30, 100):
        path.write_bytes(whole[:size])
        with pytest.raises(InputError, match="truncated or damaged"):
            read_roster(path, geocode=False)
    info = zipfile.ZipFile(io.BytesIO(whole)).getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for offset in range(0, info.compress_size, max(1, info.compress_size // 7)):
        flipped = bytearray(whole)
        flipped[start + offset] ^= 0xFF
        path.write_bytes(bytes(flipped))
        try:
            read_roster(path, geocode=False)
        except InputError as error:  # a clean message naming the file, never a traceback
            assert str(path) in str(error)


def _sheets(book: openpyxl.Workbook) -> None:
    hidden = book.create_sheet("旧名单", 0)
    hidden.append(HEADER)
    hidden.append(["石家庄旧制药有限公司", "河北省", "1"])
    hidden.sheet_state = "hidden"
    notes = book.create_sheet("填表说明", 1)
    notes.append(["请按模板填写，金额单位万元"])
    book.active = 2
    book.create_sheet("空白")
    extra = book.create_sheet("汇总")
    extra.append(["合计", 1])


def test_hidden_and_extra_sheets_are_named_not_read(tmp_path: Path, mini_db: Database) -> None:
    path = workbook(tmp_path / "r.xlsx", _sheets)
    assert openpyxl.load_workbook(path).sheetnames == ["旧名单", "填表说明", "Sheet", "空白",
                                                       "汇总"]
    parse = read_roster(path, geocode=False)
    assert [r.name for r in parse.records] == [FIRM[0]]
    assert parse.notes == ["sheet 'Sheet' imported",
                           "sheets without a roster header skipped: '填表说明'",
                           "hidden sheets not read: '旧名单'",
                           "other sheets not read: '汇总' (only one sheet is imported)"]
    report = import_roster(mini_db, path)
    assert report.inserted == 1 and report.notes == parse.notes


def test_a_workbook_of_one_sheet_has_no_notes(tmp_path: Path) -> None:
    assert read_roster(workbook(tmp_path / "r.xlsx"), geocode=False).notes == []


def test_only_hidden_sheets_with_values_is_an_error_naming_them(tmp_path: Path) -> None:
    def hide(book: openpyxl.Workbook) -> None:
        book.create_sheet("空白")
        book["Sheet"].sheet_state = "hidden"
        book.active = 1

    with pytest.raises(InputError, match="every visible sheet of the workbook is empty; "
                                         "hidden sheets are not read: Sheet"):
        read_roster(workbook(tmp_path / "r.xlsx", hide), geocode=False)


def test_a_stray_far_value_on_a_sheet_not_read_does_not_refuse(tmp_path: Path) -> None:
    def extra(book: openpyxl.Workbook) -> None:
        book.create_sheet("草稿")["XFD9"] = "x"

    parse = read_roster(workbook(tmp_path / "r.xlsx", extra), geocode=False)
    assert [r.name for r in parse.records] == [FIRM[0]]
    assert parse.notes[-1] == "other sheets not read: '草稿' (only one sheet is imported)"
