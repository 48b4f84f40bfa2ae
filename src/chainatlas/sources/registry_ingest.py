"""Load registry files into the store: one source row per file, firms, and their issues.

File-level problems never stop the others: a file missing upstream or from the mirror, a
hash that is not the pinned one, bytes that are not UTF-8 or not gzip, a header that is not
the registry's — each is recorded against that file (``ingest_issues``, action
``file skipped``) and shown by ``stats``. A UTF-8 file in which a few lines hold bytes of
another encoding loads, those lines rejected as ``garbled_text``
(:func:`~chainatlas.sources.roster_values.decode_mostly_utf8`). A file whose last line has
no line end was cut short: its last row is rejected (``truncated``, and only that: a cut
row that also fails another check counts once) rather than stored with a cut value.

Location: the province and city columns give the city (``地区`` drops 市); the registered
address refines it to the district where cpca places the address inside that city; where the
city column is missing, the address alone is used if it lies in the row's province. Where
the city column contradicts both the address and the division code inside the USCC, the
address wins (``location_source`` 'address+uscc').
Branches (分公司 …) are linked to their parent firm (``parent_id``) when a firm of the
store — registry, listed or roster — has exactly the parent name the branch's name shows
(:func:`link_branches`, which roster imports use too).
"""

from __future__ import annotations

import datetime as dt
import gzip
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from chainatlas.sources import geography
from chainatlas.sources.registry import Deduper, RegistryRows, parse_registry_text
from chainatlas.sources.registry_files import LocalFile, RegistryFile, RegistryScan
from chainatlas.sources.roster_values import decode_mostly_utf8
from chainatlas.sources.staging import Issue, record_issues
from chainatlas.store import Database
from chainatlas.store.query import TRUE, Q, compose

DATASET = "registry"
#: Registry rows stored at a time (bounded memory for a whole registry).
STORE_BATCH = 100_000
COLUMNS = ("company_id", "origin", "short_name", "full_name", "uscc", "registration_no",
           "enterprise_type", "legal_rep", "registered_capital", "capital_amount",
           "capital_currency", "setup_date", "business_scope", "province_adcode",
           "city_adcode", "region_adcode", "address", "location_source", "is_branch",
           "parent_name", "is_individual", "source_id", "updated_at")


@dataclass
class RegistryReport:
    """What a registry load did: files, rows read and stored, issues by kind."""

    files_loaded: int = 0
    files_skipped: list[str] = field(default_factory=list)
    rows_read: int = 0
    firms_stored: int = 0
    issues: dict[str, int] = field(default_factory=dict)


def file_text(file: LocalFile) -> tuple[str | None, str, int, Issue | None]:
    """(text, sha256, bytes, file-level issue) of one local file."""
    try:
        data, digest = file.read()
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        return None, "", 0, Issue(None, None, "unreadable", "file skipped", str(exc))
    if file.spec.sha256 is not None and digest != file.spec.sha256:
        return None, digest, len(data), Issue(
            None, None, "hash_mismatch", "file skipped",
            f"sha256 {digest} is not the pinned {file.spec.sha256}: corrupt or another "
            "version; fetch it again or use an unmodified mirror")
    try:
        text = decode_mostly_utf8(data)
    except UnicodeDecodeError as exc:
        return None, digest, len(data), Issue(
            None, None, "not_utf8", "file skipped",
            f"not UTF-8 at byte {exc.start} (the registry is UTF-8; a GBK copy is not it)")
    return text, digest, len(data), None


def _drop_truncated(out: RegistryRows, text: str, rows: int, issues: int) -> None:
    """A file that does not end with a line end was cut: reject its last record (stored
    or already rejected: either way one ``truncated`` issue). ``rows`` and ``issues`` are
    where this file's entries start in ``out``."""
    last = text.count("\n") + 1
    if text.endswith(("\n", "\r")) or last < 2:
        return
    if len(out.rows) > rows and out.rows[-1]["line"] == last:
        out.rows.pop()
    kept = [i for i in out.issues[issues:] if i.line != last]
    del out.issues[issues:]
    out.issues.extend(kept)
    out.issues.append(Issue(last, None, "truncated", "rejected",
                            "the file ends inside this row (no line end): it was cut short"))


def read_file(db: Database, file: LocalFile, now: dt.datetime
              ) -> tuple[list[dict[str, object]], int, list[Issue]]:
    """Parse one found file and register its source row: (rows with their
    ``source_id``, source_id, issues)."""
    text, digest, size, problem = file_text(file)
    sid = db.add_source(DATASET, "registry/" + file.spec.path, digest, size,
                        url=file.spec.url, fetched_at=now)
    out = RegistryRows()
    if problem is None and text is not None:
        try:
            parse_registry_text(text, file.spec.path, out)
            _drop_truncated(out, text, 0, 0)
        except ValueError as exc:
            problem = Issue(1, None, "bad_header", "file skipped", str(exc))
    db.execute("UPDATE sources SET rows_read = ? WHERE source_id = ?", [out.read, sid])
    for row in out.rows:
        row["source_id"] = sid
    return (out.rows if problem is None else []), sid, [problem] if problem else out.issues


def _place(city: str | None, province: str | None, found: geography.Located | None,
           coded: str | None) -> tuple[str | None, str | None, str | None]:
    """(region adcode, city adcode, location source) of one row.

    ``coded`` is the city of the registration authority the USCC names (characters 3–8):
    where the 地区 column disagrees with both the address and that code (a firm of
    张家口桥西区 filed under 石家庄), the address wins.
    """
    found_city = found.city if found else None
    if found and found_city and found_city == coded and found_city != city:
        return found.adcode, found_city, "address+uscc"
    if city and found and found_city == city and found.level == geography.DISTRICT:
        return found.adcode, city, "registry+address"
    if city:
        return city, city, "registry"
    if found and found_city and province and found_city[:2] == province[:2]:
        return found.adcode, found_city, "address"
    return None, None, None


def _uscc_city(uscc: object, known: set[str]) -> str | None:
    """The city of the division code inside a USCC (None when it is not a known code)."""
    if not isinstance(uscc, str) or len(uscc) != 18:
        return None
    code = uscc[2:8]
    return geography.city_from_adcode(code) if code in known else None


def _str(value: object) -> str | None:
    """A text cell, or None (pandas turns missing text into NaN in some frames)."""
    return value if isinstance(value, str) else None


def locate(frame: pd.DataFrame) -> pd.DataFrame:
    """Add province/city/region adcodes and ``location_source`` (see module docstring)."""
    names = [(_str(p), _str(c)) for p, c in
             zip(frame["province_name"], frame["city_name"], strict=True)]
    cities = [geography.city_adcode_from_names(p, c) for p, c in names]
    provinces = [geography.province_adcode_from_name(p) for p, _ in names]
    addresses = [_str(a) for a in frame["address"]]
    known = set(geography.regions_frame()["adcode"])
    coded = [_uscc_city(u, known) for u in frame["uscc"]]
    placed = [_place(c, p, f, u) for c, p, f, u in zip(
        cities, provinces, geography.locate_texts(addresses), coded, strict=True)]
    frame["region_adcode"] = [r for r, _, _ in placed]
    frame["city_adcode"] = [c for _, c, _ in placed]
    frame["location_source"] = [s for _, _, s in placed]
    frame["province_adcode"] = [None if c is None else c[:2] + "0000" for _, c, _ in placed]
    return frame


def store_firms(db: Database, rows: Sequence[dict[str, object]], now: dt.datetime,
                link: bool = True) -> int:
    """Insert registry firms (replacing earlier registry rows of the same ids); with
    ``link``, then point branches at their parents."""
    if not rows:
        return 0
    frame = locate(pd.DataFrame(list(rows)))
    frame["origin"] = DATASET
    frame["short_name"] = frame["full_name"]
    frame["updated_at"] = now
    db.execute("DELETE FROM companies WHERE origin = 'registry' AND list_contains(?, "
               "company_id)", [list(frame["company_id"])])
    db.insert_df("companies", frame[list(COLUMNS)])
    if link:
        link_branches(db)
    return len(frame)


def link_branches(db: Database, ids: Sequence[str] | None = None) -> None:
    """Point branches at their parent: the one firm of the store (any origin) whose full
    name is the parent name the branch's name shows, or the one listed firm among
    several of that name (its registry and roster twins). With ``ids``, only the branches among
    those firms and the branches whose parent is among them (an import's own work)."""
    scope = TRUE if ids is None else Q(
        "(list_contains(?, b.company_id) OR b.parent_name IN (SELECT full_name FROM "
        "companies WHERE list_contains(?, company_id)))", (list(ids), list(ids)))
    names = TRUE if ids is None else Q(
        "full_name IN (SELECT parent_name FROM companies WHERE list_contains(?, company_id) "
        "UNION SELECT full_name FROM companies WHERE list_contains(?, company_id))",
        (list(ids), list(ids)))
    # A listed firm usually has a registry row of the same full name too (link_twins later
    # points it at the listed firm): that name is one firm, the listed one, not ambiguous.
    db.execute(compose(
        "UPDATE companies b SET parent_id = p.company_id FROM (SELECT * FROM (SELECT "
        "full_name, CASE WHEN count(*) = 1 THEN min(company_id) "
        "WHEN count(*) FILTER (WHERE origin = 'listed') = 1 "
        "THEN min(company_id) FILTER (WHERE origin = 'listed') END AS company_id "
        "FROM companies WHERE full_name IS NOT NULL AND {names} GROUP BY full_name) "
        "WHERE company_id IS NOT NULL) p WHERE b.is_branch AND {scope} "
        "AND b.parent_name = p.full_name", names=names, scope=scope))


def ingest_registry(db: Database, scan: RegistryScan, now: dt.datetime,
                    progress: Callable[[RegistryFile], None] | None = None) -> RegistryReport:
    """Load the scanned registry files into the store (inside the caller's transaction).

    Files are read one after another and their firms stored :data:`STORE_BATCH` rows at a
    time, so a whole registry never sits in memory as rows (deduplication across files
    keeps only each id's first file, line and name).
    """
    per_file: dict[str, tuple[int, list[Issue]]] = {}
    for spec in scan.missing:
        sid = db.add_source(DATASET, "registry/" + spec.path, "", 0, url=spec.url)
        per_file[spec.path] = (sid, [Issue(None, None, "missing_file", "file skipped",
                                           "not in the mirror or not to be had upstream")])
    extra: dict[str, list[Issue]] = {}
    deduper, batch, report = Deduper(), [], RegistryReport()
    for file in scan.found:
        rows, sid, issues = read_file(db, file, now)
        per_file[file.spec.path] = (sid, issues)
        batch.extend(deduper.keep(rows, extra))
        if len(batch) >= STORE_BATCH:
            report.firms_stored += store_firms(db, batch, now, link=False)
            batch = []
        if progress:
            progress(file.spec)
    report.firms_stored += store_firms(db, batch, now, link=False)
    link_branches(db)
    for path, (sid, issues) in per_file.items():
        issues = issues + extra.get(path, [])
        record_issues(db, sid, "registry/" + path, issues)
        for issue in issues:
            report.issues[issue.kind] = report.issues.get(issue.kind, 0) + 1
        if any(i.action == "file skipped" for i in issues):
            report.files_skipped.append(path)
        else:
            report.files_loaded += 1
    db.execute("UPDATE sources s SET rows_stored = (SELECT count(*) FROM companies c "
               "WHERE c.source_id = s.source_id) WHERE s.dataset = 'registry'")
    report.rows_read = int(db.scalar("SELECT coalesce(sum(rows_read), 0) FROM sources "
                                     "WHERE dataset = 'registry'"))
    return report
