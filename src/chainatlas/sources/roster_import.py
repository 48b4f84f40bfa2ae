"""Store a region's roster: all-or-nothing by default, with per-field change history.

Identity: a roster firm is keyed by its unified social credit code (``USCC:…``), else by
the older registration number it carries (``REG:…``), else by its name (``NAME:…``).
Re-importing the same file changes nothing; a newer file updates the fields that changed
and writes each old value to ``company_history``. Firms absent from a newer file are kept:
rosters are often partial. A roster firm whose name is a listed firm's full or former name
links to it (``same_as``) so regional counts do not count it twice.

Stored as registry firms are (schema v6): ``capital_amount`` in 万 of ``capital_currency``
as the roster gives it, ``registered_capital`` its CNY figure (what rankings read; rosters
stored before kept the amount there, and are read back so), registration number,
enterprise type, legal representative, branch and individual-business flags; a branch is
linked to its parent (``parent_id``) where exactly one firm has the parent name.

Cost: proportional to the file. Only the new and changed rows are written (one batch each,
each stamped with the import's ``source_id``, which is how a later classification finds
them: :func:`chainatlas.build.classify` places only firms newer than its last run).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from chainatlas.errors import InputError, Problem
from chainatlas.sources.fetch import file_sha256
from chainatlas.sources.geography import city_from_adcode
from chainatlas.sources.registry_ingest import link_branches
from chainatlas.sources.roster import (
    RosterParse,
    RosterRecord,
    read_roster,
    write_rejects,
    write_roster,
)
from chainatlas.sources.roster_values import cny_wan
from chainatlas.sources.staging import Issue, record_issues
from chainatlas.store import Database
from chainatlas.store.query import TRUE, Q, compose, ident, join

# Stored fields compared on re-import, as (column, record attribute). The CNY figure of the
# capital and the flags follow from these and are rewritten with them.
TRACKED = (("full_name", "name"), ("uscc", "uscc"), ("registration_no", "registration_no"),
           ("address", "address"), ("region_adcode", "adcode"),
           ("capital_amount", "registered_capital"), ("capital_currency", "capital_currency"),
           ("setup_date", "setup_date"), ("revenue", "revenue"), ("employees", "employees"),
           ("industry_gbt", "industry_code"), ("business_scope", "business_scope"),
           ("enterprise_type", "enterprise_type"), ("legal_rep", "legal_rep"))


@dataclass
class RosterImportReport:
    """What an import did."""

    file: str
    rows: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_fields: int = 0
    rejected: int = 0
    merged: int = 0
    rejects_file: str | None = None
    linked_to_listed: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: Sentences the CLI prints under the counts: rows stored once, sheets not read.
    notes: list[str] = field(default_factory=list)


def merge_note(merged: Mapping[int, int]) -> str | None:
    """The sentence reporting the rows that repeat an earlier row exactly (every cell equal):
    they are stored once, never dropped without a word."""
    if not merged:
        return None
    shown = ", ".join(f"{row} (= row {first})" for row, first in sorted(merged.items())[:5])
    more = f" and {len(merged) - 5:,} more" if len(merged) > 5 else ""
    many = len(merged) > 1
    return (f"{len(merged):,} {'rows repeat' if many else 'row repeats'} an earlier row "
            f"exactly and {'were' if many else 'was'} stored once (重复行已合并): "
            f"row{'s' if many else ''} {shown}{more}")


def company_id_from_record(record: RosterRecord) -> str:
    """Return the stable id of a roster firm (USCC, else registration number, else name)."""
    if record.uscc:
        return f"USCC:{record.uscc}"
    return f"REG:{record.registration_no}" if record.registration_no else f"NAME:{record.name}"


def _check_industry_codes(db: Database, parse: RosterParse) -> list[Problem]:
    known = {r[0] for r in db.execute(
        "SELECT code FROM industries WHERE scheme = 'gbt2017'").fetchall()}
    if not known:  # no GB/T table yet (store not built): nothing to check against
        return []
    header = parse.columns.get("industry_code", "industry_code")
    return [Problem(parse.file, r.row, header,
                    f"{r.industry_code!r} is not a GB/T 4754-2017 code")
            for r in parse.records if r.industry_code and r.industry_code not in known]


def _value(record: RosterRecord, attribute: str) -> Any:
    return getattr(record, attribute)


def _same(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is None and new is None
    if isinstance(new, float) or isinstance(old, float):
        return abs(float(old) - float(new)) < 1e-9
    if isinstance(old, dt.datetime):
        old = old.date()
    return str(old) == str(new)


# Roster rows stored before capital_amount was filled hold the amount in registered_capital.
_STORED_SQL = ("SELECT * REPLACE (CASE WHEN origin = 'roster' AND capital_amount IS NULL "
               "THEN registered_capital ELSE capital_amount END AS capital_amount) "
               "FROM companies")


def _existing(db: Database, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    frame = db.df(_STORED_SQL + " WHERE company_id IN (SELECT unnest(?))", [ids])
    return {str(r["company_id"]): {str(k): v for k, v in r.items()}
            for r in frame.to_dict("records")}


def _row_for(record: RosterRecord, source_id: int, now: dt.datetime) -> dict[str, Any]:
    row: dict[str, Any] = {col: _value(record, attr) for col, attr in TRACKED}
    amount, currency = record.registered_capital, record.capital_currency
    row.update(company_id=company_id_from_record(record), origin="roster",
               short_name=record.name, source_id=source_id, updated_at=now,
               registered_capital=None if amount is None else cny_wan(amount,
                                                                      currency or "CNY"),
               is_branch=record.is_branch, parent_name=record.parent_name,
               is_individual=record.is_individual,
               city_adcode=city_from_adcode(record.adcode),
               province_adcode=record.adcode[:2] + "0000" if record.adcode else None,
               location_source="roster" if record.adcode else None)
    return row


def _update(db: Database, rows: list[dict[str, Any]]) -> None:
    """Rewrite changed firms in one statement (a statement per firm is slow at 10,000)."""
    if not rows:
        return
    frame = pd.DataFrame(rows)
    cols = [c for c in frame.columns if c != "company_id"]
    sets = join([Q(f"{ident(c).text} = f.{ident(c).text}") for c in cols], ", ")
    db.conn.register("_roster_update", frame)
    try:
        db.execute(compose("UPDATE companies SET {sets} FROM _roster_update f "
                           "WHERE companies.company_id = f.company_id", sets=sets))
    finally:
        db.conn.unregister("_roster_update")


def _store(db: Database, parse: RosterParse, source_id: int,
           report: RosterImportReport) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    records = {company_id_from_record(r): r for r in parse.records}
    existing = _existing(db, list(records))
    inserts, updates, history = [], [], []
    for cid, record in records.items():
        old = existing.get(cid)
        if old is None:
            inserts.append(_row_for(record, source_id, now))
            continue
        changes = [(col, old.get(col), _value(record, attr)) for col, attr in TRACKED
                   if not _same(_nan_to_none(old.get(col)), _value(record, attr))]
        if not changes:
            report.unchanged += 1
            continue
        report.updated += 1
        report.changed_fields += len(changes)
        for col, before, after in changes:
            history.append((cid, col, _text(before), _text(after), now, source_id))
        updates.append(_row_for(record, source_id, now))
    _update(db, updates)
    if inserts:
        db.insert_df("companies", pd.DataFrame(inserts))
    report.inserted = len(inserts)
    link_branches(db, [r["company_id"] for r in inserts + updates])
    db.insert_df("company_history", pd.DataFrame(
        history, columns=["company_id", "field", "old_value", "new_value", "changed_at",
                          "source_id"]))


def _nan_to_none(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    return None if isinstance(value, float) and pd.isna(value) else value


def _text(value: Any) -> str | None:
    value = _nan_to_none(value)
    return None if value is None else str(value)


def link_twins(db: Database) -> int:
    """Point each unlisted firm that is another firm of the store at it (``same_as``), so
    that it is counted once: a roster or registry firm at the listed firm of the same
    USCC or of the same full or former name (华北制药股份有限公司 is in 河北's registry and
    listed), and a roster firm at the registry firm of the same USCC. Return how many
    roster firms are linked (to a listed or a registry firm)."""
    db.execute("UPDATE companies SET same_as = NULL WHERE origin <> 'listed'")
    db.execute(
        "UPDATE companies SET same_as = n.company_id FROM company_names n "
        "JOIN companies l ON l.company_id = n.company_id AND l.origin = 'listed' "
        "WHERE companies.origin IN ('roster', 'registry') AND n.name = companies.full_name "
        "AND n.kind IN ('full', 'former')")
    db.execute(
        "UPDATE companies SET same_as = l.company_id FROM companies l "
        "WHERE l.origin = 'listed' AND companies.origin IN ('roster', 'registry') "
        "AND companies.same_as IS NULL AND companies.uscc = l.uscc")
    db.execute(
        "UPDATE companies SET same_as = r.company_id FROM companies r "
        "WHERE r.origin = 'registry' AND r.same_as IS NULL AND companies.origin = 'roster' "
        "AND companies.same_as IS NULL AND companies.uscc = r.uscc")
    return int(db.scalar("SELECT count(*) FROM companies WHERE same_as IS NOT NULL "
                         "AND origin = 'roster'"))


def import_roster(db: Database, path: str | Path, *, mapping: Mapping[str, str] | None = None,
                  encoding: str | None = None, lenient: bool = False,
                  rejects: Path | None = None) -> RosterImportReport:
    """Import a roster file into the store.

    Strict (default): any bad row rejects the whole file with every problem listed, and
    nothing is written. Lenient: good rows are imported and the bad ones written, with
    their reasons, to ``rejects`` (default ``<file>.rejects.xlsx`` beside the file).
    """
    parse = read_roster(path, mapping=mapping, encoding=encoding)
    problems = parse.problems + _check_industry_codes(db, parse)
    bad_rows = {p.row for p in problems if p.row is not None}
    # every data row read: stored, rejected or merged into the row it repeats
    report = RosterImportReport(file=str(path), rows=len(parse.records) + len(
        parse.rejected_rows) + len(parse.merged), problems=problems)
    if problems and not lenient:
        raise InputError(problems, summary=(
            f"{path}: {len(bad_rows)} bad row(s), nothing imported. First: {problems[0]}"))
    if problems:
        parse = _without_rows(parse, bad_rows, problems)
        target = rejects or Path(path).with_suffix(".rejects.xlsx")
        write_rejects(parse, target)
        report.rejected, report.rejects_file = len(bad_rows), str(target)
    report.merged = len(parse.merged)
    report.notes = [*parse.notes, *filter(None, [merge_note(parse.merged)])]
    local = Path(path)
    with db.transaction():
        source_id = db.add_source("roster", str(local), file_sha256(local),
                                  local.stat().st_size, fetched_at=None)
        _store(db, parse, source_id, report)
        record_issues(db, source_id, str(path), [
            Issue(row, None, "repeated_row", "merged", f"repeats row {first} exactly")
            for row, first in sorted(parse.merged.items())])
        if report.inserted == 0 and report.updated == 0:
            db.execute("DELETE FROM ingest_issues WHERE source_id = ?", [source_id])
            db.execute("DELETE FROM sources WHERE source_id = ?", [source_id])
        else:
            db.execute("UPDATE sources SET rows_read = ?, rows_stored = ? WHERE source_id = ?",
                       [report.rows, report.inserted + report.updated, source_id])
        report.linked_to_listed = link_twins(db)
    return report


def _without_rows(parse: RosterParse, bad: set[int], problems: list[Problem]) -> RosterParse:
    keep = [r for r in parse.records if r.row not in bad]
    raw = dict(parse.rejected_raw)
    raw.update({r.row: r.raw for r in parse.records if r.row in bad})
    return RosterParse(parse.file, parse.encoding, parse.columns, keep, problems,
                       sorted(bad), parse.headers, raw, parse.header_row, parse.merged,
                       parse.notes)


def roster_from_db(db: Database, region_adcode: str | None = None) -> list[RosterRecord]:
    """Return the stored roster firms (optionally of one region) as roster records."""
    area = (Q("? IN (region_adcode, city_adcode, province_adcode)", (region_adcode,))
            if region_adcode else TRUE)
    frame = db.df(compose(_STORED_SQL + " WHERE origin = 'roster' AND {area} ORDER BY "
                          "company_id", area=area))
    out = []
    for row, rec in enumerate(frame.to_dict("records"), start=2):
        values = {attr: _nan_to_none(rec.get(col)) for col, attr in TRACKED}
        if isinstance(values["setup_date"], (pd.Timestamp, dt.datetime)):
            values["setup_date"] = values["setup_date"].date()
        if values["employees"] is not None:
            values["employees"] = int(values["employees"])
        out.append(RosterRecord(row=row, industry_section=None, location_level=None, raw={},
                                **values))
    return out


def export_roster(db: Database, path: Path, region_adcode: str | None = None) -> int:
    """Write the stored roster firms to an .xlsx or .csv roster file; return the count."""
    records = roster_from_db(db, region_adcode)
    write_roster(records, path)
    return len(records)
