"""Read a roster workbook (.xlsx) within fixed bounds, and say which sheets were read.

A workbook is a zip of XML files, and both can lie: a 6 KB file holding one cell at
``XFD1048576`` claims (in its ``dimension`` element, and to openpyxl's normal mode) 17
billion cells, and a 1 MB zip member may inflate to gigabytes. So:

* the container is checked first: a password-protected workbook (an OLE compound file
  holding an ``EncryptedPackage`` stream) and a legacy .xls (an OLE file without one) are
  named as such, a zip cut short or damaged is called that;
* the zip members' uncompressed sizes are added up before anything is parsed (Python's
  zip reader never inflates a member past the size it declares, so the sum bounds the
  work), and past :data:`MAX_UNCOMPRESSED` the file is refused;
* sheets are read in openpyxl's read-only mode, *sparsely*: only the cells the XML holds
  are looked at, empty cells are skipped, rows are never padded to the sheet's claimed
  width and the ``dimension`` element is never used. Reading stops at the first value past
  :data:`MAX_COLUMNS`, past Excel's last row, or past :data:`MAX_CELLS` values;
* hidden sheets are never read (an analyst does not see them); the first visible sheet
  with a roster header in its first rows is read; the sheets not read are named in the
  notes the import reports.

The limits are far above any real roster (a city's roster has tens of thousands of rows
and a few dozen columns) and refusing names the file, the sheet, the cell and the limit.
"""

from __future__ import annotations

import io
import itertools
import warnings
import zipfile
import zlib
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from chainatlas.errors import ChainAtlasError, InputError
from chainatlas.sources.roster_values import cell_str

#: Total uncompressed size of a workbook's zip members (its XML), in bytes.
MAX_UNCOMPRESSED = 1 << 30
#: The last column a value may sit in (Excel allows 16,384; rosters use a few dozen).
MAX_COLUMNS = 1_000
#: Excel's last row; a row number past it is no valid workbook.
EXCEL_MAX_ROW = 1_048_576
#: Values (non-empty cells, merges filled down included) read from the roster sheet.
MAX_CELLS = 10_000_000
#: Non-empty rows a sheet is searched for its header in, as the CSV reader does.
HEADER_ROWS = 10

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")  # a directory entry name in a CFB file

Rows = list[tuple[int, list[object]]]
Merge = tuple[str, int, int, int]  # (range, first row, last row, first column)


@dataclass
class WorkbookRows:
    """The roster sheet's non-empty rows, its merges across several columns, and notes on
    the sheets not read (hidden, skipped, extra), for the import report."""

    sheet: str
    rows: Rows
    merges: list[Merge]
    notes: list[str] = field(default_factory=list)


def _refuse(file: str, reason: str, row: int | None = None) -> InputError:
    return InputError.single(file, reason, row=row)


def check_container(file: str, data: bytes) -> None:
    """Refuse what is no readable .xlsx zip, saying what it is instead."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        return
    if data.startswith(_OLE_MAGIC[:4]):
        if _ENCRYPTED in data:
            raise _refuse(file, "not a readable .xlsx workbook: the workbook is "
                                "password-protected (工作簿已加密); save it without a password")
        raise _refuse(file, "not a CSV/Excel file: it is a legacy .xls workbook; save it as "
                            ".xlsx")
    if data.startswith(b"PK\x03\x04"):
        raise _refuse(file, "not a readable .xlsx workbook: the file is truncated or damaged "
                            "(its zip archive is incomplete); copy or save it again")
    raise _refuse(file, "not a CSV/Excel file: not a valid .xlsx workbook (not a zip archive)")


def check_zip_size(file: str, data: bytes) -> None:
    """Refuse a workbook whose members would inflate past :data:`MAX_UNCOMPRESSED`."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _refuse(file, f"not a readable .xlsx workbook: the file is damaged ({exc})"
                      ) from None
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED:
        biggest = max(members, key=lambda m: m.file_size)
        raise _refuse(file, f"the workbook's content is {total:,} bytes uncompressed "
                            f"(largest part {biggest.filename}: {biggest.file_size:,}), past "
                            f"the limit of {MAX_UNCOMPRESSED:,} bytes; split the roster or "
                            "save it as CSV")


class _SheetReader:
    """Reads one read-only sheet sparsely: yields (row, cells) of non-empty rows; the
    merges are known once the rows are exhausted (they follow the data in the XML)."""

    def __init__(self, file: str, ws: Any) -> None:
        from openpyxl.worksheet._reader import WorkSheetParser

        self.file, self.ws, self.cells = file, ws, 0
        self._source = ws._get_source()  # the sheet's XML, streamed from the open zip
        book = ws.parent
        self.parser = WorkSheetParser(self._source, ws._shared_strings, data_only=True,
                                      epoch=book.epoch, date_formats=book._date_formats,
                                      timedelta_formats=book._timedelta_formats)

    def _where(self, row: int, column: int) -> str:
        from openpyxl.utils import get_column_letter

        return f"sheet {self.ws.title!r}, cell {get_column_letter(column)}{row}"

    def count(self, row: int, n: int) -> None:
        """Count ``n`` more values read at ``row``; refuse past :data:`MAX_CELLS`."""
        self.cells += n
        if self.cells > MAX_CELLS:
            raise _refuse(self.file, f"sheet {self.ws.title!r} holds more than {MAX_CELLS:,} "
                                     f"values (limit reached at row {row}); split the roster "
                                     "or save it as CSV", row=row)

    def rows(self) -> Generator[tuple[int, list[object]], None, None]:
        """Non-empty rows, trailing empty cells dropped, never wider than their last value."""
        try:
            for number, parsed in self.parser.parse():
                if number > EXCEL_MAX_ROW:
                    raise _refuse(self.file, f"{self._where(number, 1)}: row {number:,} is "
                                             f"past Excel's last row ({EXCEL_MAX_ROW:,}); the "
                                             "workbook is damaged", row=number)
                values = {c["column"]: c["value"] for c in parsed
                          if c["value"] is not None and cell_str(c["value"]).strip()}
                if not values:
                    continue
                if (last := max(values)) > MAX_COLUMNS:
                    raise _refuse(self.file, f"{self._where(number, last)}: a value in column "
                                             f"{last:,}, past the limit of {MAX_COLUMNS:,} "
                                             "columns a roster may have; delete the stray "
                                             "cells (Ctrl+End shows the last one) and save "
                                             "again", row=number)
                self.count(number, len(values))
                cells: list[object] = [None] * last
                for column, value in values.items():
                    cells[column - 1] = value
                yield number, cells
        except ChainAtlasError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise _refuse(self.file, f"sheet {self.ws.title!r} cannot be read: the workbook "
                                     f"is damaged ({exc}); copy or save it again") from None
        except Exception as exc:  # openpyxl and the XML parser raise many types
            raise _refuse(self.file, f"sheet {self.ws.title!r} cannot be read as a worksheet "
                                     f"({type(exc).__name__}: {exc})") from None
        finally:
            self._source.close()

    def merges(self) -> list[tuple[str, int, int, int, int]]:
        """(range, min row, max row, min column, max column) of each merge; after rows()."""
        from openpyxl.worksheet.cell_range import CellRange

        found = self.parser.merged_cells
        out = []
        for merge in (found.mergeCell if found else []):
            rng = CellRange(merge.ref)
            out.append((rng.coord, rng.min_row, rng.max_row, rng.min_col, rng.max_col))
        return out


def _fill_down(reader: _SheetReader, rows: Rows) -> list[Merge]:
    """Fill merges spanning one column down into the rows that exist (as the user sees
    them; empty rows inside a merge stay empty); return the merges across columns."""
    by_number = {number: cells for number, cells in rows}
    wide: list[Merge] = []
    for coord, low, high, left, right in reader.merges():
        if left != right:
            wide.append((coord, low, high, left))
            continue
        top = by_number.get(low, [])
        value = top[left - 1] if left <= len(top) else None
        if value is None:
            continue
        # bounded by the rows that exist, and counted as values read
        targets = [cells for number, cells in rows if low < number <= high]
        reader.count(high, len(targets))
        for cells in targets:
            cells.extend([None] * (left - len(cells)))
            cells[left - 1] = value
    return wide


def _open(file: str, data: bytes) -> Any:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise _refuse(file, f"not a CSV/Excel file: cannot open it as an .xlsx workbook "
                            f"({type(exc).__name__}: {exc})") from None


def _has_values(file: str, ws: Any) -> bool:
    """Whether a sheet not imported holds any value (stops at the first one); a value
    past the limits counts as one, it does not refuse a roster read from another sheet."""
    stream = _SheetReader(file, ws).rows()
    try:
        return next(stream, None) is not None
    except InputError:
        return True
    finally:
        stream.close()


def read_workbook(file: str, data: bytes,
                  is_header: Callable[[list[object]], bool]) -> WorkbookRows:
    """The rows of the workbook's roster sheet: the first visible sheet with a header
    (``is_header``) among its first rows, else its first visible sheet with values."""
    check_container(file, data)
    check_zip_size(file, data)
    book = _open(file, data)
    try:
        return _choose_sheet(file, book, is_header)
    finally:
        book.close()


def _choose_sheet(file: str, book: Any,
                  is_header: Callable[[list[object]], bool]) -> WorkbookRows:
    hidden = [ws.title for ws in book.worksheets if ws.sheet_state != "visible"]
    visible = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
    chosen, first_with_values, skipped = None, None, []
    for ws in visible:
        reader = _SheetReader(file, ws)
        stream = reader.rows()
        head = list(itertools.islice(stream, HEADER_ROWS))
        if not head:
            continue
        if first_with_values is None:
            first_with_values = ws
        if any(is_header(cells) for _, cells in head):
            rows = head + list(stream)
            chosen = WorkbookRows(ws.title, rows, _fill_down(reader, rows))
            break
        stream.close()
        skipped.append(ws.title)
    if chosen is None and first_with_values is not None:
        reader = _SheetReader(file, first_with_values)
        rows = list(reader.rows())
        chosen = WorkbookRows(first_with_values.title, rows, _fill_down(reader, rows))
        skipped.remove(first_with_values.title)
    if chosen is None:
        where = f"; hidden sheets are not read: {', '.join(hidden)}" if hidden else ""
        raise _refuse(file, f"no header row: every visible sheet of the workbook is empty{where}")
    later = visible[[ws.title for ws in visible].index(chosen.sheet) + 1:]
    extra = [ws.title for ws in later if _has_values(file, ws)]
    chosen.notes = _notes(chosen.sheet, hidden, skipped, extra)
    return chosen


def _notes(sheet: str, hidden: list[str], skipped: list[str], extra: list[str]) -> list[str]:
    """What the import says about the sheets it did not read."""
    def names(titles: list[str]) -> str:
        return ", ".join(repr(t) for t in titles)

    notes = []
    if skipped:
        notes.append(f"sheets without a roster header skipped: {names(skipped)}")
    if hidden:
        notes.append(f"hidden sheets not read: {names(hidden)}")
    if extra:
        notes.append(f"other sheets not read: {names(extra)} (only one sheet is imported)")
    if notes:
        notes.insert(0, f"sheet {sheet!r} imported")
    return notes
