"""``build``: ingest the whole open-data bundle into the store, in one transaction.

A failed build (a malformed file, a hash mismatch) leaves the store exactly as it was.
Rows imported from users' rosters, and analysts' corrections, survive a rebuild.

This module orchestrates the stages: ingest (sources) -> classification (chains) ->
derived tables, each refreshed by the stage that owns it (:func:`refresh_derived`:
``chain_firms`` by chains, the supply graph and centrality by analysis).

A build classifies every firm. After a roster import, :func:`classify` places only the
firms written since the last classification (their ``source_id`` is above the one recorded
in ``meta``), as long as the chain templates are those the store was classified with; the
work follows the new rows, not the store (:func:`classify_firms`). The text model such a run
needs is kept beside the store file, keyed by what it was trained on (:func:`text_model`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfTransformer

from chainatlas.analysis.supply import refresh_centrality, refresh_supply
from chainatlas.chains import classify as classify_module
from chainatlas.chains.classify import (
    Firm,
    apply_model,
    classify_store,
    firm_evidence,
    firms_from_db,
    gbt_classes,
    model_fallback,
    model_labels,
    store_evidence,
    train_model,
)
from chainatlas.chains.corrections import correct
from chainatlas.chains.placements import refresh_chain_firms
from chainatlas.chains.signals import Evidence
from chainatlas.chains.templates import ChainTemplate, load_templates
from chainatlas.chains.textmodel import TextModel
from chainatlas.sources import chainkg, gbt, geography, listed
from chainatlas.sources.fetch import FetchedFile, file_sha256
from chainatlas.sources.registry_files import RegistryScan
from chainatlas.sources.registry_ingest import RegistryReport, ingest_registry
from chainatlas.sources.roster_import import RosterImportReport, import_roster, link_twins
from chainatlas.sources.staging import record_issues
from chainatlas.store import Database, audit
from chainatlas.store.lookup import Chain
from chainatlas.store.query import Q, compose, ident, param, values

Progress = Callable[[str], None]

# Tables fully rebuilt from the open data, and the key that marks open-data rows.
_OPEN_DATA_TABLES = ("regions", "industries", "industry_upstream", "products",
                     "product_relations")
_LISTED_TABLES = ("company_names", "company_industries", "company_products")


#: ``meta`` key: the highest ``source_id`` the last classification saw.
CLASSIFIED_KEY = "classified_through_source"

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
    located = listed.szse_status(listed.locate_companies(companies, tushare, szse), szse)
    columns = ["company_id", "origin", "short_name", "full_name", "stock_code", "exchange",
               "region_adcode", "province_adcode", "city_adcode", "address",
               "registered_capital", "setup_date", "listing_date", "employees",
               "location_source", "short_name_2025", "in_szse_2025", "source_id",
               "updated_at"]
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


def refresh_derived(db: Database, placed: Sequence[str] | None = None) -> dict[str, int]:
    """Rebuild every derived table (after a build, a classification or a correction):
    ``chain_firms`` first, since centrality ranks each chain's firms; return row counts.

    ``placed``: only these firms were (re)classified (none: nothing to refresh); when none
    has products (roster firms), the supply graph, built from products alone, stays. ``chain_firms``
    and centrality are rebuilt whole (their stages refresh no subset; both are SQL and
    one PageRank per chain, well under a second on a province's registry).
    """
    if placed is not None and not placed:  # nothing new since the last refresh
        return {t: int(db.scalar(compose("SELECT count(*) FROM {t}", t=ident(t))))
                for t in ("chain_firms", "firm_supply", "chain_centrality")}
    if placed is not None and not _have_products(db, placed):
        return {"chain_firms": refresh_chain_firms(db),
                "firm_supply": int(db.scalar("SELECT count(*) FROM firm_supply")),
                "chain_centrality": refresh_centrality(db)}
    return {"chain_firms": refresh_chain_firms(db), "firm_supply": refresh_supply(db),
            "chain_centrality": refresh_centrality(db)}


def _have_products(db: Database, ids: Sequence[str]) -> bool:
    return bool(db.scalar("SELECT count(*) FROM company_products WHERE "
                          "list_contains(?, company_id)", [list(ids)]))


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


def _stale_firms(db: Database, hashes: dict[str, str]) -> list[str] | None:
    """The firms written since the last classification, or None when every firm must be
    placed (never classified, or the chain templates changed since)."""
    mark = db.scalar("SELECT value FROM meta WHERE key = ?", [CLASSIFIED_KEY])
    stored = dict(db.execute("SELECT chain_id, sha256 FROM chains").fetchall())
    if mark is None or stored != hashes:
        return None
    return [str(r[0]) for r in db.execute(
        "SELECT company_id FROM companies WHERE source_id > ? ORDER BY company_id",
        [int(mark)]).fetchall()]


def _mark_classified(db: Database) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, (SELECT coalesce(max(source_id), 0) "
               "FROM sources)::VARCHAR)", [CLASSIFIED_KEY])


def classify(db: Database, extra_dirs: Sequence[Path] = (),
             progress: Progress | None = None, *, full: bool = False) -> dict[str, Any]:
    """Load the chain templates (built-in, then user folders) and place the firms.

    Every firm with ``full`` (a build), when the store was never classified or when the
    templates changed; otherwise only the firms written since the last classification
    (:func:`classify_firms`: a roster import's new and changed firms).
    """
    dirs = chain_dirs(db, extra_dirs)
    templates = load_templates(dirs)
    hashes = {cid: file_sha256(Path(t.path)) for cid, t in templates.items()}
    stale = None if full else _stale_firms(db, hashes)
    with db.transaction():
        if stale is None:
            summary = classify_store(db, templates, hashes, progress)
        else:
            summary = classify_firms(db, templates, stale, progress)
        if progress:
            progress("supply graph and chain centrality")
        summary["derived"] = refresh_derived(db, stale)
        _mark_classified(db)
    return summary


def import_and_place(db: Database, file: str | Path, *,
                     mapping: Mapping[str, str] | None = None, encoding: str | None = None,
                     lenient: bool = False, rejects: Path | None = None,
                     progress: Progress | None = None, actor: str | None = None
                     ) -> tuple[RosterImportReport, dict[str, Any]]:
    """Import a roster file and place its new and changed firms, in one transaction.

    The import (:func:`chainatlas.sources.roster_import.import_roster`), the classification
    and the derived tables it refreshes are committed together: a crash or an error part
    way leaves the store as it was, never firms stored with stale placements. Return the
    import report and the classification summary. The audit log records ``actor`` (the
    command line's user when None) with the firm count before and the counts after.
    """
    with db.transaction():
        before = {"companies": int(db.scalar("SELECT count(*) FROM companies"))}
        report = import_roster(db, file, mapping=mapping, encoding=encoding,
                               lenient=lenient, rejects=rejects)
        if progress:
            progress("placing firms on chains")
        # New or changed firms need placing; corrections are untouched.
        summary = classify(db, progress=progress)
        after = {"companies": int(db.scalar("SELECT count(*) FROM companies")),
                 **{k: getattr(report, k) for k in IMPORT_COUNTS}}
        audit.record(db, actor or audit.cli_actor(), "roster.import",
                     str(Path(file).resolve()), before, after)
    return report, summary


#: The import report's counts the audit log keeps for a roster import.
IMPORT_COUNTS = ("rows", "inserted", "updated", "unchanged", "rejected", "merged",
                 "linked_to_listed")


def classify_firms(db: Database, templates: dict[str, ChainTemplate], ids: Sequence[str],
                   progress: Progress | None = None) -> dict[str, Any]:
    """Place only the firms ``ids`` and replace their placements; the others keep theirs.

    The evidence :func:`chainatlas.chains.classify.classify_store` gives them (one firm's
    evidence does not depend on the others', and the text model learns from the firms with
    products alone): the rule signals (``firm_evidence``), the text model for the unlisted,
    non-registry firms with a scope no rule places, the parents folded in
    (``store_evidence``).
    """
    now = _now()
    names = _shenwan_names(db)
    todo = firms_from_db(db, compose("list_contains({ids}, c.company_id)",
                                     ids=values(ids)))
    evidence = firm_evidence(db, templates, todo, names, progress)
    _model_fallback(db, templates, todo, evidence, names)
    counts: dict[str, dict[str, int]] = {c: {"placements": 0, "firms": 0} for c in templates}
    with db.transaction():
        for table in ("placements", "placement_products"):
            db.execute(compose("DELETE FROM {t} WHERE list_contains({ids}, company_id)",
                               t=ident(table), ids=values(ids)))
        store_evidence(db, templates, evidence, now, counts)
    return dict(counts) | {"classified_firms": len(todo)}


def _shenwan_names(db: Database) -> dict[str, str]:
    return dict(db.execute("SELECT code, name FROM industries WHERE scheme = 'sw2021'"
                           ).fetchall())


def _model_fallback(db: Database, templates: dict[str, ChainTemplate], todo: list[Firm],
                    evidence: dict[str, dict[tuple[str, str], Evidence]],
                    names: dict[str, str]) -> None:
    """The text model's placements of the firms no rule places (``classify``'s rule),
    with the model of :func:`text_model`."""
    fallback = model_fallback(evidence, todo)
    apply_model(evidence, fallback, text_model(db, templates, names) if fallback else None)


def text_model(db: Database, templates: dict[str, ChainTemplate],
               names: dict[str, str]) -> TextModel | None:
    """The text model as ``classify_store`` trains it: on every firm with products, with
    the confident, product-backed labels of their rule evidence.

    Read from beside the store file (``<store>.textmodel.npz``) when it was trained on the
    same inputs (those firms, the templates, the GB/T classes, the chains code), else
    trained — the one costly step of placing a roster — and saved there.
    """
    firms = [f for f in firms_from_db(db, Q("c.company_id IN (SELECT company_id FROM "
                                            "company_products)")) if f.products]
    digest = hashlib.sha256(json.dumps(
        [_model_code(), sorted((t.id, t.path) for t in templates.values()),
         [file_sha256(Path(t.path)) for t in templates.values()], gbt_classes(db),
         [(f.company_id, f.shenwan, f.gbt, f.scope, f.origin, f.name, f.products)
          for f in firms]], ensure_ascii=False).encode()).hexdigest()
    path = None if db.path == ":memory:" else Path(db.path + ".textmodel.npz")
    if path is not None and (model := _load_model(path, digest)) is not None:
        return model
    model = train_model(firms, model_labels(firm_evidence(db, templates, firms, names),
                                            templates))
    if model is not None and path is not None:
        _save_model(path, digest, model)
    return model


def _model_code() -> str:
    """What else decides the model: the chains stage's code and the library versions."""
    code = hashlib.sha256()
    for module in sorted(Path(classify_module.__file__ or "").parent.glob("*.py")):
        code.update(module.read_bytes())
    return f"{code.hexdigest()} sklearn {sklearn.__version__} numpy {np.__version__}"


def _load_model(path: Path, digest: str) -> TextModel | None:
    """The saved model if it was trained on ``digest``'s inputs (arrays only, no pickle)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["digest"]) != digest:
                return None
            tfidf = TfidfTransformer(**json.loads(str(saved["params"])))
            tfidf.idf_ = saved["idf"]
            tfidf.n_features_in_ = len(saved["idf"])
            return TextModel([str(x) for x in saved["labels"]], tfidf, saved["remap"],
                             saved["weights"], saved["intercepts"])
    except (OSError, KeyError, ValueError):
        return None


def _save_model(path: Path, digest: str, model: TextModel) -> None:
    """Save beside the store; a store folder that cannot be written just means no cache."""
    part = path.with_name(path.name + ".part")
    try:
        with part.open("wb") as handle:
            np.savez(handle, digest=np.array(digest), labels=np.array(model.labels),
                     params=np.array(json.dumps(model.tfidf.get_params())),
                     idf=model.tfidf.idf_, remap=model.remap, weights=model.weights,
                     intercepts=model.intercepts)
        os.replace(part, path)
    except OSError:
        part.unlink(missing_ok=True)


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
        classify(db, extra_chain_dirs, progress, full=True)

    def enterprise_registry() -> None:
        if registry is not None:
            report.registry = ingest_registry(db, registry, now)
        link_twins(db)  # before the chains step: a twin is placed once, as its listed firm

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
        for (name,) in db.execute("SELECT table_name FROM information_schema.tables "
                                  "WHERE table_catalog = 'temp'").fetchall():
            db.execute(compose('DROP TABLE "temp".{name}', name=ident(name)))
    report.counts = db.table_counts()
    return report
