"""``build``: ingest the whole open-data bundle into the store, in one transaction.

A failed build (a malformed file, a hash mismatch) leaves the store exactly as it was.
Rows imported from users' rosters, and analysts' corrections, survive a rebuild.

This module orchestrates the stages: ingest (sources) -> classification (chains) ->
derived tables, each refreshed by the stage that owns it (:func:`refresh_derived`:
``chain_firms`` by chains, the supply graph and centrality by analysis).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chainatlas.analysis.supply import refresh_centrality, refresh_supply
from chainatlas.chains.classify import classify_store
from chainatlas.chains.corrections import correct
from chainatlas.chains.placements import refresh_chain_firms
from chainatlas.chains.templates import load_templates
from chainatlas.sources import chainkg, gbt, geography, listed
from chainatlas.sources.fetch import FetchedFile, file_sha256
from chainatlas.sources.registry_files import RegistryScan
from chainatlas.sources.registry_ingest import RegistryReport, ingest_registry
from chainatlas.sources.roster_import import link_roster_to_listed
from chainatlas.sources.staging import record_issues
from chainatlas.store import Database
from chainatlas.store.lookup import Chain
from chainatlas.store.query import compose, ident, param

Progress = Callable[[str], None]

# Tables fully rebuilt from the open data, and the key that marks open-data rows.
_OPEN_DATA_TABLES = ("regions", "industries", "industry_upstream", "products",
                     "product_relations")
_LISTED_TABLES = ("company_names", "company_industries", "company_products")


STEPS = ("regions", "industries", "companies", "company industries", "products",
         "provenance", "registry", "chains")


@dataclass
class BuildReport:
    """What a build stored: row counts per table and how long each step took."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    registry: RegistryReport | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _by_path(bundle: Sequence[FetchedFile]) -> dict[str, FetchedFile]:
    return {f.spec.path: f for f in bundle}


def _clear_open_data(db: Database) -> None:
    for table in _LISTED_TABLES:
        db.execute(compose("DELETE FROM {table} WHERE company_id IN (SELECT company_id "
                           "FROM companies WHERE origin IN ('listed', 'registry'))",
                           table=ident(table)))
    db.execute("DELETE FROM companies WHERE origin IN ('listed', 'registry')")
    for table in _OPEN_DATA_TABLES:
        db.execute(compose("DELETE FROM {table}", table=ident(table)))
    db.execute("DELETE FROM ingest_issues WHERE source_id IN "
               "(SELECT source_id FROM sources WHERE dataset <> 'roster')")
    db.execute("DELETE FROM sources WHERE dataset <> 'roster'")


def _register_sources(db: Database, bundle: Sequence[FetchedFile]) -> dict[str, int]:
    ids = {}
    for f in bundle:
        ids[f.spec.path] = db.add_source(f.spec.dataset, f.spec.path, f.sha256, f.size,
                                         url=f.spec.url, fetched_at=f.fetched_at)
    regions_file = geography.adcodes_path()
    ids["cpca/adcodes.csv"] = db.add_source(
        "cpca", "cpca/resources/adcodes.csv", file_sha256(regions_file),
        regions_file.stat().st_size, url="https://pypi.org/project/cpca/0.5.5/")
    return ids


def _ingest_regions(db: Database, sources: dict[str, int]) -> None:
    frame = geography.regions_frame().copy()
    frame["source_id"] = sources["cpca/adcodes.csv"]
    db.insert_df("regions", frame[["adcode", "name", "level", "parent", "province_adcode",
                                   "lon", "lat", "source_id"]])


def _ingest_gbt(db: Database, files: dict[str, FetchedFile], sources: dict[str, int]) -> None:
    spec = files["gbt4754/category.js"]
    rows = gbt.records_from_js(spec.local, spec.spec.path)
    frame, issues = gbt.classes_from_records(rows, spec.spec.path)
    frame["scheme"] = gbt.GBT
    frame["source_id"] = sources[spec.spec.path]
    db.insert_df("industries", frame[["scheme", "code", "name", "level", "parent", "remark",
                                      "source_id"]])
    record_issues(db, sources[spec.spec.path], spec.spec.path, issues)


def _ingest_companies(db: Database, kg: chainkg.ChainKGFiles, files: dict[str, FetchedFile],
                      sources: dict[str, int], now: dt.datetime) -> None:
    companies = chainkg.ingest_companies(db, kg, sources, now)
    ts_file = files["listed-companies/stock_company.json"]
    sz_file = files["listed-companies/szse_a_list.xlsx"]
    tushare = listed.read_tushare(ts_file.local, ts_file.spec.path)
    szse = listed.read_szse(sz_file.local, sz_file.spec.path)
    located = listed.locate_companies(companies, tushare, szse)
    columns = ["company_id", "origin", "short_name", "full_name", "stock_code", "exchange",
               "region_adcode", "province_adcode", "city_adcode", "address",
               "registered_capital", "setup_date", "listing_date", "employees",
               "location_source", "source_id", "updated_at"]
    db.insert_df("companies", located[columns])
    db.execute(
        "INSERT OR IGNORE INTO company_names SELECT company_id, full_name, 'full', source_id "
        "FROM companies WHERE origin = 'listed' AND full_name IS NOT NULL")
    for f, frame, tag in ((ts_file, tushare, "tushare"), (sz_file, szse, "szse")):
        used = int(located["location_source"].str.contains(tag, na=False).sum())
        db.execute("UPDATE sources SET rows_read = ?, rows_stored = ? WHERE source_id = ?",
                   [len(frame), used, sources[f.spec.path]])


def _count_source_rows(db: Database, sources: dict[str, int]) -> None:
    targets = {
        "chainkg/company.json": ("stg_company", "companies"),
        "chainkg/company_industry.json": ("stg_ci", "company_industries"),
        "chainkg/company_product.json": ("stg_cp", "company_products"),
        "chainkg/industry.json": ("stg_industry", "industries"),
        "chainkg/industry_industry.json": ("stg_industry_rel", None),
        "chainkg/industry_up.json": ("stg_industry_up", None),
        "chainkg/product.json": ("stg_product", "products"),
        "chainkg/product_product.json": ("stg_pp", "product_relations"),
    }
    for path, (staged, table) in targets.items():
        sid = sources[path]
        read = int(db.scalar(compose("SELECT count(*) FROM {staged}", staged=ident(staged))))
        stored = read if table is None else int(db.scalar(compose(
            "SELECT count(*) FROM {table} WHERE source_id = {sid}",
            table=ident(table), sid=param(sid))))
        db.execute("UPDATE sources SET rows_read = ?, rows_stored = ? WHERE source_id = ?",
                   [read, stored, sid])
    gbt_sid = sources["gbt4754/category.js"]
    stored = int(db.scalar("SELECT count(*) FROM industries WHERE source_id = ?", [gbt_sid]))
    db.execute("UPDATE sources SET rows_stored = ?, rows_read = ? + (SELECT count(*) FROM "
               "ingest_issues WHERE source_id = ?) WHERE source_id = ?",
               [stored, stored, gbt_sid, gbt_sid])


def refresh_derived(db: Database) -> dict[str, int]:
    """Rebuild every derived table (after a build, a classification or a correction):
    ``chain_firms`` first, since centrality ranks each chain's firms; return row counts."""
    return {"chain_firms": refresh_chain_firms(db), "firm_supply": refresh_supply(db),
            "chain_centrality": refresh_centrality(db)}


def apply_correction(db: Database, firm: str, chain: Chain | str, node: str, action: str,
                     reason: str, author: str | None = None) -> dict[str, Any]:
    """Record an analyst's correction (:func:`chainatlas.chains.corrections.correct`) and
    refresh the derived tables it changes, in one transaction; return the correction."""
    with db.transaction():
        row = correct(db, firm, chain, node, action, reason, author)
        refresh_chain_firms(db)
        refresh_centrality(db)
    return row


def chain_dirs(db: Database, extra: Sequence[Path] = ()) -> list[Path]:
    """User chain folders: the ``chains_dir`` setting (if any), then ``extra``."""
    setting = db.get_setting("chains_dir")
    return [Path(setting), *extra] if setting else list(extra)


def classify(db: Database, extra_dirs: Sequence[Path] = (),
             progress: Progress | None = None) -> dict[str, Any]:
    """Load the chain templates (built-in, then user folders) and place every firm."""
    dirs = chain_dirs(db, extra_dirs)
    templates = load_templates(dirs)
    hashes = {cid: file_sha256(Path(t.path)) for cid, t in templates.items()}
    summary = classify_store(db, templates, hashes, progress)
    if progress:
        progress("supply graph and chain centrality")
    summary["derived"] = refresh_derived(db)
    return summary


def build_store(db: Database, bundle: Sequence[FetchedFile],
                progress: Progress | None = None,
                extra_chain_dirs: Sequence[Path] = (),
                registry: RegistryScan | None = None) -> BuildReport:
    """Ingest every bundle file (and the scanned registry files) into ``db`` and classify
    the firms onto the chains.

    All of it is stored, or nothing changes; a registry file that cannot be read is
    reported in ``stats`` and the rest still loads.
    """
    files = _by_path(bundle)
    kg = chainkg.ChainKGFiles(**{
        name: files[f"chainkg/{name}.json"]
        for name in chainkg.ChainKGFiles.__dataclass_fields__})
    report = BuildReport()
    now = _now()
    sources: dict[str, int] = {}
    def industries() -> None:
        chainkg.ingest_industries(db, kg, sources)
        _ingest_gbt(db, files, sources)

    def company_industries() -> None:
        chainkg.ingest_company_industries(db, kg, sources)
        chainkg.ingest_industry_upstream(db, kg, sources)

    def chains() -> None:
        classify(db, extra_chain_dirs, progress)

    def enterprise_registry() -> None:
        if registry is not None:
            report.registry = ingest_registry(db, registry, now)

    steps: list[tuple[str, Callable[[], None]]] = [
        ("regions", lambda: _ingest_regions(db, sources)),
        ("industries", industries),
        ("companies", lambda: _ingest_companies(db, kg, files, sources, now)),
        ("company industries", company_industries),
        ("products", lambda: chainkg.ingest_products(db, kg, sources)),
        ("provenance", lambda: _count_source_rows(db, sources)),
        ("registry", enterprise_registry),
        ("chains", chains),
    ]
    with db.transaction():
        _clear_open_data(db)
        sources.update(_register_sources(db, bundle))
        for label, step in steps:
            if progress:
                progress(label)
            start = dt.datetime.now()
            step()
            report.seconds[label] = (dt.datetime.now() - start).total_seconds()
        db.execute("INSERT OR REPLACE INTO meta VALUES ('built_at', ?)", [now.isoformat()])
        link_roster_to_listed(db)
        for (name,) in db.execute("SELECT table_name FROM information_schema.tables "
                                  "WHERE table_catalog = 'temp'").fetchall():
            db.execute(compose('DROP TABLE "temp".{name}', name=ident(name)))
    report.counts = db.table_counts()
    return report
