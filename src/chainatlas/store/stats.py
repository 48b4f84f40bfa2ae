"""``stats``: what the store holds, how much of it is located, and what ingest rejected."""

from __future__ import annotations

from typing import Any

from chainatlas.store.database import Database


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


def stats_from_db(db: Database) -> dict[str, Any]:
    """Return counts per table, located shares, ingest issues and provenance as a dict."""
    return {
        "schema_version": db.schema_version(),
        "built_at": db.scalar("SELECT value FROM meta WHERE key = 'built_at'"),
        "tables": db.table_counts(),
        "firms": _firms(db),
        "sources": _sources(db),
        "issues": _issues(db),
    }
