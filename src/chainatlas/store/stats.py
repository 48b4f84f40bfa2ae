"""``stats``: what the store holds, how much of it is located, and what ingest rejected."""

from __future__ import annotations

from typing import Any

from chainatlas.store.database import Database

#: Shown wherever registry figures appear (the same text as sources.registry_files).
REGISTRY_LICENCE = ("Enterprise registry: Enterprise-Registration-Data-of-Chinese-Mainland "
                    "(via catseyess/elevencats), CC BY-NC-SA 4.0 — non-commercial use, "
                    "attribution, share-alike; accuracy not guaranteed by its author.")
REGISTRY_LICENCE_ZH = ("企业登记数据来源：Enterprise-Registration-Data-of-Chinese-Mainland，"
                       "许可协议 CC BY-NC-SA 4.0（署名—非商业性使用—相同方式共享），"
                       "数据准确性不作保证。")


def _firms(db: Database) -> dict[str, Any]:
    row = db.rows(
        "SELECT count(*) FILTER (WHERE origin = 'listed') AS listed, "
        "count(*) FILTER (WHERE origin = 'roster') AS roster, "
        "count(*) FILTER (WHERE origin = 'listed' AND city_adcode IS NOT NULL) AS listed_city, "
        "count(*) FILTER (WHERE origin = 'listed' AND region_adcode IS NOT NULL) "
        "AS listed_any, count(*) FILTER (WHERE origin = 'roster' AND city_adcode IS NOT NULL) "
        "AS roster_city FROM companies")[0]
    listed = row["listed"] or 0
    by_source = {
        str(r["source"]): int(r["n"]) for r in db.rows(
            "SELECT coalesce(location_source, 'unlocated') AS source, count(*) AS n "
            "FROM companies WHERE origin = 'listed' GROUP BY ALL ORDER BY n DESC")}
    return {
        "listed": listed,
        "roster": row["roster"],
        "listed_located_city": row["listed_city"],
        "listed_located_any": row["listed_any"],
        "listed_located_city_share": round(row["listed_city"] / listed, 4) if listed else 0.0,
        "roster_located_city": row["roster_city"],
        "location_source": by_source,
    }


def _issues(db: Database) -> list[dict[str, Any]]:
    return db.rows(
        "SELECT file, kind, action, count(*) AS rows, min(line) AS first_line, "
        "arg_min(detail, coalesce(line, 0)) AS example FROM ingest_issues "
        "GROUP BY file, kind, action ORDER BY file, rows DESC")


def _sources(db: Database) -> list[dict[str, Any]]:
    rows = db.rows(
        "SELECT s.source_id, s.dataset, s.file, s.url, s.sha256, s.bytes, "
        "strftime(s.fetched_at, '%Y-%m-%dT%H:%M:%S') AS fetched_at, "
        "strftime(s.imported_at, '%Y-%m-%dT%H:%M:%S') AS imported_at, s.rows_read, "
        "s.rows_stored, (SELECT count(*) FROM ingest_issues i WHERE i.source_id = s.source_id "
        "AND i.action = 'rejected') AS rejected, (SELECT count(*) FROM ingest_issues i WHERE "
        "i.source_id = s.source_id AND i.action = 'merged') AS merged FROM sources s "
        "ORDER BY s.source_id")
    return rows


def _registry(db: Database) -> dict[str, Any] | None:
    """Registry firms: how many, located, flagged, what was missing, in which currency, and
    what ingest did with the rest (issues by kind, skipped files by name); None when no
    registry was loaded."""
    files = int(db.scalar("SELECT count(*) FROM sources WHERE dataset = 'registry'"))
    if not files:
        return None
    row = db.rows(
        "SELECT count(*) AS firms, count(city_adcode) AS located_city, "
        "count(*) FILTER (WHERE region_adcode <> city_adcode) AS located_district, "
        "count(*) FILTER (WHERE is_branch) AS branches, "
        "count(parent_id) AS branches_linked, "
        "count(*) FILTER (WHERE is_individual) AS individual_businesses, "
        "count(*) FILTER (WHERE capital_currency <> 'CNY') AS foreign_currency_capital, "
        "count(*) FILTER (WHERE registered_capital IS NULL) AS capital_missing, "
        "count(uscc) AS with_uscc, count(registration_no) AS with_registration_no "
        "FROM companies WHERE origin = 'registry'")[0]
    missing = db.rows(
        "SELECT count(*) - count(enterprise_type) AS enterprise_type, "
        "count(*) - count(legal_rep) AS legal_rep, count(*) - count(capital_amount) AS capital, "
        "count(*) - count(setup_date) AS setup_date, "
        "count(*) - count(business_scope) AS business_scope, "
        "count(*) - count(address) AS address FROM companies WHERE origin = 'registry'")[0]
    currencies = {str(r["currency"]): int(r["n"]) for r in db.rows(
        "SELECT capital_currency AS currency, count(*) AS n FROM companies WHERE origin = "
        "'registry' AND capital_currency IS NOT NULL GROUP BY ALL ORDER BY n DESC, currency")}
    issues = {str(r["kind"]): int(r["n"]) for r in db.rows(
        "SELECT kind, count(*) AS n FROM ingest_issues i JOIN sources s USING (source_id) "
        "WHERE s.dataset = 'registry' GROUP BY ALL ORDER BY n DESC, kind")}
    skipped = db.rows(
        "SELECT i.file, i.kind, i.detail FROM ingest_issues i JOIN sources s USING "
        "(source_id) WHERE s.dataset = 'registry' AND i.action = 'file skipped' "
        "ORDER BY i.file")
    read = int(db.scalar("SELECT coalesce(sum(rows_read), 0) FROM sources "
                         "WHERE dataset = 'registry'"))
    return {**row, "files": files, "rows_read": read, "missing": missing,
            "capital_currency": currencies, "issues": issues, "files_skipped": skipped,
            "licence": REGISTRY_LICENCE}


def stats_from_db(db: Database) -> dict[str, Any]:
    """Return counts per table, located shares, ingest issues and provenance as a dict."""
    return {
        "schema_version": db.schema_version(),
        "built_at": db.scalar("SELECT value FROM meta WHERE key = 'built_at'"),
        "tables": db.table_counts(),
        "firms": _firms(db),
        "registry": _registry(db),
        "sources": _sources(db),
        "issues": _issues(db),
    }
