"""The real registry as the pipeline's input: its CSV files as Parquet, cells as written.

``chainatlas data registry --out DIR`` reads the registry files of the chosen provinces
(the mirror, else the download cache, fetching what it lacks:
:func:`chainatlas.sources.registry_files.resolve_registry`), checks each file's sha256
against its pin, and writes the rows with the pipeline's input columns
(:data:`chainatlas.pipeline.steps.INPUT_COLUMNS`), every cell the text the file holds:
normalising is the pipeline's first step, on whichever engine runs it.

What cannot be a row is counted and listed, never silently dropped: a record with another
number of fields than the header's (an unquoted comma, broken quoting) is written to
``<out>/_rejects.jsonl`` with its file, line and field count; a file that is missing,
unreadable or not its pinned version is reported and read no further. A shifted row that
has the right number of fields is kept: the pipeline finds no province in it and says so
(its ``province_adcode`` is null).

The registry is CC BY-NC-SA 4.0: these files are the user's copy, never the project's.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from chainatlas.errors import DataSourceError
from chainatlas.pipeline.engines import write_parquet
from chainatlas.pipeline.steps import INPUT_COLUMNS
from chainatlas.sources.registry import registry_records
from chainatlas.sources.registry_files import LocalFile, RegistryScan, resolve_registry
from chainatlas.sources.registry_ingest import file_text

#: The registry CSV's columns in order (its header is Chinese), as the pipeline names them.
CSV_COLUMNS = ("name", "code", "date", "type", "legal_rep", "capital", "scope", "province",
               "city", "address")
#: Rows per Parquet part (bounded memory for the whole registry).
PART_ROWS = 200_000
REJECTS = "_rejects.jsonl"
#: Called after each file: (file path, rows of it kept).
Progress = Callable[[str, int], None]


@dataclass
class RegistryInputReport:
    """What was written: rows, parts, files read, and what was not a row."""

    out: str
    rows: int = 0
    parts: int = 0
    files_read: int = 0
    files_missing: list[str] = field(default_factory=list)
    files_skipped: dict[str, str] = field(default_factory=dict)
    rejected_rows: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return asdict(self)


def rows_of_text(text: str, file: str, first_id: int
                 ) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """The rows of one file's text (header dropped) with row ids from ``first_id``, and
    the records that are not rows (file, line, fields, reason)."""
    rows: list[tuple[Any, ...]] = []
    rejects: list[dict[str, Any]] = []
    for line, cells in registry_records(text):
        if isinstance(cells, str):
            rejects.append({"file": file, "line": line, "fields": None, "reason": cells})
            continue
        if line == 1 or not cells:
            continue  # the header, or a blank line
        if len(cells) != len(CSV_COLUMNS):
            rejects.append({"file": file, "line": line, "fields": len(cells),
                            "reason": f"{len(cells)} fields, the header has "
                                      f"{len(CSV_COLUMNS)}"})
            continue
        rows.append((first_id + len(rows), *cells))
    return rows, rejects


def _frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["row_id", *CSV_COLUMNS])
    return frame[list(INPUT_COLUMNS)].astype({"row_id": "int64"})


def registry_input(out: str | Path, provinces: Sequence[str], *, mirror: str | Path | None
                   = None, progress: Progress | None = None) -> RegistryInputReport:
    """Write the registry files of ``provinces`` under ``out`` as the pipeline's input."""
    return input_from_scan(out, resolve_registry(provinces, mirror), progress)


def input_from_scan(out: str | Path, scan: RegistryScan, progress: Progress | None = None
                    ) -> RegistryInputReport:
    """Write the files a registry scan found under ``out`` as the pipeline's input."""
    if not scan.found:
        raise DataSourceError(f"no registry file found ({len(scan.missing)} wanted): set "
                              "CHAINATLAS_MIRROR or pass --mirror, or fetch them with "
                              "'chainatlas data fetch --registry <provinces>'")
    started = time.perf_counter()
    target = Path(out)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    report = RegistryInputReport(str(target),
                                 files_missing=[f.path for f in scan.missing])
    pending: list[tuple[Any, ...]] = []
    with (target / REJECTS).open("w", encoding="utf-8") as rejects:
        for file in scan.found:
            kept = _read_one(file, report, pending, rejects)
            while len(pending) >= PART_ROWS:
                _write_part(target, report, pending[:PART_ROWS])
                del pending[:PART_ROWS]
            if progress:
                progress(file.spec.path, kept)
    if pending:
        _write_part(target, report, pending)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _read_one(file: LocalFile, report: RegistryInputReport, pending: list[tuple[Any, ...]],
              rejects: Any) -> int:
    text, _, _, problem = file_text(file)
    if text is None:
        report.files_skipped[file.spec.path] = problem.detail if problem else "unreadable"
        return 0
    rows, bad = rows_of_text(text, file.spec.path, report.rows + len(pending) + 1)
    for reject in bad:
        rejects.write(json.dumps(reject, ensure_ascii=False) + "\n")
    report.rejected_rows += len(bad)
    report.files_read += 1
    pending.extend(rows)
    return len(rows)


def _write_part(target: Path, report: RegistryInputReport, rows: list[tuple[Any, ...]]) -> None:
    write_parquet(_frame(rows), str(target / f"part-{report.parts:05d}.parquet"))
    report.parts += 1
    report.rows += len(rows)
