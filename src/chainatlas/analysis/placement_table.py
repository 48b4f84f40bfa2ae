"""The placement table: every placed firm, one row per (firm, node it is placed on).

What an analyst sees, as a flat table for Excel, the CLI (``chainatlas export
placements``) and the API (``/api/v1/placements``): the direct placements of
``chain_firms`` (corrections applied, roster twins of listed firms left out — the rows
every panorama counts), with the confidence, method and evidence of ``firm_nodes``
(ancestor rows of ``chain_firms`` carry the best confidence of the subtree, not the
node's own), the firm's identity from ``companies`` and the node's top-level ancestor
from the one tree walk (:class:`~chainatlas.store.lookup.NodeTree`). Evidence is worded
by :func:`chainatlas.chains.evidence.evidence_zh`.

A whole-registry export has more than a million rows: :func:`write_placements` streams
them in chunks from one query (DuckDB sorts, within its own memory limit, spilling to
disk beyond it; Python holds one chunk at a time) into a .csv (UTF-8 with BOM, so Excel
reads the Chinese) or an .xlsx (openpyxl's write-only mode, with a ``说明`` sheet), and
refuses an .xlsx the rows would not fit in.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from chainatlas.chains.evidence import METHOD_NAMES, evidence_from_json, evidence_zh
from chainatlas.chains.signals import PLACE_THRESHOLD
from chainatlas.errors import ChainAtlasError, InputError, NotFoundError
from chainatlas.sources.roster_values import FORMULA_PREFIXES
from chainatlas.store import Database
from chainatlas.store.lookup import (
    Chain,
    Region,
    as_chain,
    as_region,
    as_universe,
    list_chains,
)
from chainatlas.store.query import UNIVERSES, Q, compose, in_area, in_universe, join, param
from chainatlas.store.stats import REGISTRY_LICENCE, REGISTRY_LICENCE_ZH

#: The table's columns, in order (the issue's names), with what each holds (说明 sheet).
COLUMNS_ZH = {
    "company_id": "企业编号（上市企业为股票代码，登记企业为 R + 统一社会信用代码）",
    "uscc": "统一社会信用代码", "stock_code": "股票代码", "short_name": "企业简称",
    "name": "企业全称", "origin": "来源：listed 上市企业，registry 工商登记企业，roster 导入名单",
    "region_adcode": "所在地行政区划代码", "chain_id": "产业链编号", "chain_name": "产业链",
    "node_id": "环节编号", "node_name": "环节（企业直接归属的环节）",
    "top_node_id": "所属一级环节编号", "top_node_name": "所属一级环节",
    "confidence": f"置信度（0–1，≥ {PLACE_THRESHOLD} 才归入环节；分析员校正为 1）",
    "method": "归属方式：" + "，".join(f"{k} {v}" for k, v in METHOD_NAMES.items()),
    "evidence_zh": "归属依据",
}
COLUMNS = tuple(COLUMNS_ZH)
#: Rows of one Excel sheet, the header included.
XLSX_MAX_ROWS = 1_048_576
#: Rows fetched and written at a time.
CHUNK_ROWS = 10_000
SHEET = "企业环节归属"
NOTES_SHEET = "说明"
#: Cell starts a spreadsheet would evaluate in a CSV file (the one list, roster_values).
FORMULA_START = "^[" + re.escape("".join(FORMULA_PREFIXES)) + "]"

#: ``progress(rows written so far, rows in all)``, called after every chunk.
Progress = Callable[[int, int], None]

# chain_firms' direct rows are the placements every analysis counts; firm_nodes holds
# each one's own confidence, method and evidence (one row per firm and node: a new
# correction retires the previous one, and an active one voids the classifier's row).
_FROM = """
FROM chain_firms f
JOIN firm_nodes p ON p.company_id = f.company_id AND p.chain_id = f.chain_id
    AND p.node_id = f.node_id
JOIN companies c ON c.company_id = f.company_id
JOIN chains ch ON ch.chain_id = f.chain_id
JOIN chain_nodes n ON n.chain_id = f.chain_id AND n.node_id = f.node_id
WHERE {where}"""
_SELECT = """
SELECT f.company_id, c.uscc, c.stock_code, c.short_name, c.full_name AS name, f.origin,
    f.region_adcode, f.chain_id, ch.name_zh AS chain_name, f.node_id,
    n.name_zh AS node_name, p.confidence, p.method, p.evidence""" + _FROM + """
ORDER BY f.chain_id, n.ord, p.confidence DESC, f.company_id{page}"""
_QUERY_COLUMNS = ("company_id", "uscc", "stock_code", "short_name", "name", "origin",
                  "region_adcode", "chain_id", "chain_name", "node_id", "node_name",
                  "confidence", "method", "evidence")


@dataclass(frozen=True)
class PlacementScope:
    """Which placements a table holds: the firm universe, optionally a chain and a region."""

    universe: str
    chain: Chain | None = None
    region: Region | None = None

    @property
    def universe_zh(self) -> str:
        """The universe's Chinese name."""
        return UNIVERSES[self.universe]

    def where(self) -> Q:
        """The condition on ``chain_firms f`` selecting the scope's direct placements."""
        parts = [Q("f.direct"), in_universe(self.universe, "f")]
        if self.chain is not None:
            parts.append(compose("f.chain_id = {chain}", chain=param(self.chain.chain_id)))
        if self.region is not None:
            parts.append(in_area(self.region.level, self.region.adcode, "f"))
        return join(parts)

    def describe_zh(self) -> dict[str, str]:
        """企业范围, 产业链 and 地区 in words (the 说明 sheet, file names)."""
        return {"企业范围": f"{self.universe_zh}（{self.universe}）",
                "产业链": "全部产业链" if self.chain is None
                else f"{self.chain.name_zh}（{self.chain.chain_id}）",
                "地区": "全国" if self.region is None
                else f"{self.region.name}（{self.region.adcode}）"}


def placement_scope(db: Database, chain: Chain | str | None = None,
                    region: Region | str | None = None,
                    universe: str | None = None) -> PlacementScope:
    """Resolve a chain, a region (names or ids) and a universe (None: the default)."""
    return PlacementScope(universe=as_universe(db, universe),
                          chain=None if chain is None else as_chain(db, chain),
                          region=None if region is None else as_region(db, region))


def _page(limit: int | None, offset: int) -> Q:
    if limit is None and not offset:
        return Q("")
    text = (" LIMIT ?" if limit is not None else "") + (" OFFSET ?" if offset else "")
    return Q(text, tuple(v for v in (limit, offset or None) if v is not None))


def _top_nodes(db: Database, scope: PlacementScope) -> dict[tuple[str, str], tuple[str, str]]:
    """(chain_id, node_id) -> (top-level node id, its Chinese name) for the scope's chains."""
    chains = [scope.chain] if scope.chain is not None else [
        as_chain(db, str(row["chain_id"])) for row in list_chains(db)]
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for chain in chains:
        names = chain.names()
        for node_id in chain.node_ids:
            top = chain.tree.root(node_id)
            out[(chain.chain_id, node_id)] = (top, names[top])
    return out


def _frame(rows: list[tuple[Any, ...]],
           tops: Mapping[tuple[str, str], tuple[str, str]]) -> pd.DataFrame:
    """Query rows as the table: top-level nodes added, evidence worded, columns in order."""
    # Objects as fetched: letting pandas infer (Arrow) strings and converting them back
    # would double the chunk's memory for nothing.
    raw = pd.DataFrame(rows, columns=list(_QUERY_COLUMNS), dtype=object)
    top = [tops[(str(c), str(n))] for c, n in zip(raw["chain_id"], raw["node_id"],
                                                  strict=True)]
    raw["top_node_id"] = [t[0] for t in top]
    raw["top_node_name"] = [t[1] for t in top]
    raw["evidence_zh"] = [evidence_zh(evidence_from_json(e)) for e in raw["evidence"]]
    out = raw[list(COLUMNS)].astype({"confidence": "float64"})
    # Texts as objects with None for missing: the same dtypes whatever a chunk holds (an
    # all-missing column would otherwise differ) and whichever pandas infers strings.
    text = _text_columns(out)
    out[text] = _plain(out[text])
    return out


def _frames(db: Database, scope: PlacementScope, page: Q,
            chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The scope's rows chunk by chunk, from one query on a cursor of its own (so the
    caller may query the store between chunks); nothing when there are none."""
    tops = _top_nodes(db, scope)
    own = Database.from_connection(db.conn.cursor(), db.path)
    try:
        result = own.execute(compose(_SELECT, where=scope.where(), page=page))
        while rows := result.fetchmany(chunk_rows):
            yield _frame(rows, tops)
    finally:
        own.close()


def iter_placements(db: Database, chain: Chain | str | None = None,
                    region: Region | str | None = None, universe: str | None = None,
                    chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Every row of the table, as frames of at most ``chunk_rows`` rows, in table order."""
    return _frames(db, placement_scope(db, chain, region, universe), Q(""), chunk_rows)


def _origin_counts(db: Database, scope: PlacementScope) -> dict[str, int]:
    """Rows of the scope per firm origin (the same joins as the table: same total)."""
    rows = db.execute(compose("SELECT f.origin, count(*)" + _FROM + " GROUP BY f.origin "
                              "ORDER BY f.origin", where=scope.where())).fetchall()
    return {str(origin): int(n) for origin, n in rows}


def _table(db: Database, scope: PlacementScope, limit: int | None,
           offset: int) -> pd.DataFrame:
    frames = list(_frames(db, scope, _page(limit, offset), limit or CHUNK_ROWS))
    return pd.concat(frames, ignore_index=True) if frames else _frame([], {})


def placements_frame(db: Database, chain: Chain | str | None = None,
                     region: Region | str | None = None, universe: str | None = None,
                     limit: int | None = None, offset: int = 0) -> pd.DataFrame:
    """The placement table (or the ``limit`` rows after ``offset``) as one frame.

    One row per firm and node it is placed on directly, corrections applied, in a stable
    order: chain, node (template order), confidence (highest first), company id.
    """
    return _table(db, placement_scope(db, chain, region, universe), limit, offset)


def placements_count(db: Database, chain: Chain | str | None = None,
                     region: Region | str | None = None, universe: str | None = None) -> int:
    """How many rows the placement table of these filters has."""
    return sum(_origin_counts(db, placement_scope(db, chain, region, universe)).values())


def placements_page(db: Database, chain: Chain | str | None = None,
                    region: Region | str | None = None, universe: str | None = None,
                    page: int = 1, page_size: int = 100) -> dict[str, Any]:
    """One page of the table: total rows, the universe, the registry licence when
    registry firms are among the rows (else None), and the page's rows as dicts."""
    if page < 1 or page_size < 1:
        raise InputError.single("query", "page and page_size count from 1", field="page")
    scope = placement_scope(db, chain, region, universe)
    origins = _origin_counts(db, scope)
    frame = _table(db, scope, page_size, (page - 1) * page_size)
    return {"total": sum(origins.values()), "page": page, "page_size": page_size,
            "universe": scope.universe, "universe_zh": scope.universe_zh,
            "licence": REGISTRY_LICENCE if origins.get("registry") else None,
            "items": _plain(frame).to_dict(orient="records")}


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values as None (pandas keeps NaN in text columns)."""
    return frame.astype(object).where(frame.notna(), None)


# --------------------------------------------------------------------------- files

_ORIGIN_ZH = {"listed": UNIVERSES["listed"], "registry": UNIVERSES["registry"],
              "roster": "导入名单企业"}


@dataclass(frozen=True)
class PlacementExport:
    """What :func:`write_placements` wrote: the file, its rows, scope and origins."""

    path: Path
    rows: int
    scope: PlacementScope
    origins: dict[str, int] = field(default_factory=dict)
    generated_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now().replace(microsecond=0))

    @property
    def licence(self) -> str | None:
        """The registry licence when registry firms are among the rows, else None."""
        return REGISTRY_LICENCE if self.origins.get("registry") else None


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != "confidence"]


def _csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Texts a spreadsheet would evaluate (``=1+1``, ``@SUM``) prefixed with ``'``."""
    out = frame.copy()
    for column in _text_columns(out):
        text = out[column].astype("str")
        risky = text.str.match(FORMULA_START) & out[column].notna()
        if risky.any():
            out[column] = out[column].where(~risky, "'" + text)
    return out


def _write_csv(path: Path, frames: Iterator[pd.DataFrame], export: PlacementExport) -> None:
    """UTF-8 with a BOM: without it Excel reads the Chinese as the local code page."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerow(COLUMNS)
        for frame in frames:
            _csv_safe(frame).to_csv(handle, header=False, index=False, lineterminator="\r\n")


def _xlsx_value(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """A cell value; a text Excel would read as a formula or an error stays text."""
    if isinstance(value, str) and value[:1] in ("=", "#") and (
            value.startswith("=") or value in ERROR_CODES):
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value


def _xlsx_rows(frame: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Rows of a chunk with control characters (which xlsx cannot hold) removed."""
    out = frame.copy()
    for column in _text_columns(out):
        out[column] = out[column].astype("str").str.replace(
            ILLEGAL_CHARACTERS_RE.pattern, "", regex=True).where(out[column].notna())
    return _plain(out).itertuples(index=False, name=None)


def _notes(export: PlacementExport) -> list[tuple[Any, Any]]:
    """The 说明 sheet: what the table is, its scope, size, time, licence and columns."""
    origins = "；".join(f"{_ORIGIN_ZH.get(o, o)} {n:,}" for o, n in export.origins.items())
    rows: list[tuple[Any, Any]] = [
        ("项目", "内容"),
        ("内容", "企业在产业链环节上的归属：每行为一家企业与其直接归属的一个环节，"
                 "已计入分析员的人工校正。"),
        *export.scope.describe_zh().items(),
        ("行数", export.rows), ("各来源行数", origins or "—"),
        ("生成时间", export.generated_at.strftime("%Y-%m-%d %H:%M:%S"))]
    if export.licence:
        rows += [("数据许可", REGISTRY_LICENCE_ZH), ("Licence", REGISTRY_LICENCE)]
    return [*rows, ("", ""), ("列", "含义"), *COLUMNS_ZH.items()]


def _write_xlsx(path: Path, frames: Iterator[pd.DataFrame], export: PlacementExport) -> None:
    """Write-only mode: openpyxl streams rows to the file instead of keeping cells."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET)
    sheet.freeze_panes = "A2"
    sheet.append(list(COLUMNS))
    for frame in frames:
        for row in _xlsx_rows(frame):
            sheet.append([_xlsx_value(sheet, v) for v in row])
    notes = book.create_sheet(NOTES_SHEET)
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 100
    for pair in _notes(export):
        notes.append([_xlsx_value(notes, v) for v in pair])
    book.save(path)


_WRITERS: dict[str, Callable[[Path, Iterator[pd.DataFrame], PlacementExport], None]] = {
    ".csv": _write_csv, ".xlsx": _write_xlsx}


def write_placements(db: Database, path: str | Path, chain: Chain | str | None = None,
                     region: Region | str | None = None, universe: str | None = None, *,
                     progress: Progress | None = None, chunk_rows: int = CHUNK_ROWS,
                     xlsx_max_rows: int = XLSX_MAX_ROWS) -> PlacementExport:
    """Write the placement table to a .csv or .xlsx file, chunk by chunk.

    The file appears only when complete (written beside it as ``FILE.part`` first). An
    .xlsx whose rows and header exceed ``xlsx_max_rows`` (one sheet's rows) is refused
    before anything is written.
    """
    target = Path(path)
    writer = _WRITERS.get(target.suffix.lower())
    if writer is None:
        raise InputError.single(str(target), "can only write .csv or .xlsx files")
    if not target.parent.is_dir():
        raise NotFoundError(f"No folder {target.parent} to write {target.name} in.")
    scope = placement_scope(db, chain, region, universe)
    origins = _origin_counts(db, scope)
    export = PlacementExport(target, sum(origins.values()), scope, origins)
    if writer is _write_xlsx and export.rows + 1 > xlsx_max_rows:
        raise InputError.single(str(target), (
            f"{export.rows:,} placements do not fit one Excel sheet (at most "
            f"{xlsx_max_rows - 1:,} rows besides the header); write a .csv file instead, "
            "or narrow the export to a chain or a region"))
    partial = target.with_name(target.name + ".part")
    try:
        writer(partial, _counted(_frames(db, scope, Q(""), chunk_rows), export.rows,
                                 progress), export)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ChainAtlasError(f"Cannot write {target}: {exc.strerror or exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return export


def _counted(frames: Iterator[pd.DataFrame], total: int,
             progress: Progress | None) -> Iterator[pd.DataFrame]:
    """Pass the chunks on, reporting the rows written after each one."""
    written = 0
    for frame in frames:
        yield frame
        written += len(frame)
        if progress is not None:
            progress(written, total)
