"""Find firms by stock code, id, credit code or name."""

from __future__ import annotations

from typing import Any

from chainatlas.errors import NotFoundError
from chainatlas.sources.staging import normalise_stock_code
from chainatlas.store import Database


def firm_from_text(db: Database, text: str) -> dict[str, Any]:
    """Resolve one firm from a company id, stock code, USCC, or a short/full/former name.

    Raises NotFoundError (with close names) when nothing matches, or when a name is
    ambiguous (listing the candidates' ids).
    """
    query = text.strip()
    rows = db.rows("SELECT * FROM companies WHERE company_id = ? OR uscc = ?", [query, query])
    code = normalise_stock_code(query) if any(ch.isdigit() for ch in query) else None
    if not rows and code and len(query.replace(".", "")) <= 9:
        rows = db.rows("SELECT * FROM companies WHERE company_id = ?", [code])
    if not rows:
        rows = db.rows(
            "SELECT DISTINCT c.* FROM companies c LEFT JOIN company_names n USING (company_id) "
            "WHERE c.short_name = ? OR c.full_name = ? OR n.name = ? ORDER BY c.company_id",
            [query, query, query])
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        ids = ", ".join(str(r["company_id"]) for r in rows[:8])
        raise NotFoundError(f"{query!r} names several firms ({ids}); give the id instead.")
    close = [r[0] for r in db.execute(
        "SELECT short_name FROM companies WHERE short_name IS NOT NULL "
        "ORDER BY jaro_winkler_similarity(short_name, ?) DESC LIMIT 3", [query]).fetchall()]
    raise NotFoundError(f"No firm {query!r}. Did you mean: {', '.join(close)}?")
