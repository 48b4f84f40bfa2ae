"""Firm profile (企业画像): identity, location, products, placements, supply links."""

from __future__ import annotations

from typing import Any

from chainatlas.chains.evidence import evidence_from_json
from chainatlas.store import Database
from chainatlas.store.lookup import firm_from_text, region_names
from chainatlas.store.query import compose, ident, param


def _location(db: Database, firm: dict[str, Any]) -> dict[str, Any]:
    names = region_names(db, [firm["province_adcode"], firm["city_adcode"],
                              firm["region_adcode"]])
    point = db.rows("SELECT lon, lat FROM regions WHERE adcode = ?", [firm["region_adcode"]])
    return {"province": names.get(firm["province_adcode"]),
            "city": names.get(firm["city_adcode"]),
            "district": names.get(firm["region_adcode"])
            if firm["region_adcode"] not in {firm["city_adcode"], firm["province_adcode"]}
            else None,
            "adcode": firm["region_adcode"], "address": firm["address"],
            "source": firm["location_source"],
            "lon": point[0]["lon"] if point else None, "lat": point[0]["lat"] if point else None}


def _placements(db: Database, company_id: str) -> list[dict[str, Any]]:
    rows = db.rows(
        "SELECT f.chain_id, ch.name_zh AS chain_name, f.node_id, n.name_zh AS node_name, "
        "n.stage, f.confidence, f.method, f.evidence FROM firm_nodes f JOIN chains ch "
        "USING (chain_id) JOIN chain_nodes n ON n.chain_id = f.chain_id AND "
        "n.node_id = f.node_id WHERE f.company_id = ? ORDER BY f.confidence DESC, n.ord",
        [company_id])
    for row in rows:
        row["evidence"] = evidence_from_json(row["evidence"])
    return rows


def _links(db: Database, company_id: str, direction: str, limit: int) -> list[dict[str, Any]]:
    mine, other = ("buyer", "supplier") if direction == "suppliers" else ("supplier", "buyer")
    return db.rows(compose(
        "SELECT s.{other} AS company_id, c.short_name, g.name AS city, s.weight, "
        "s.relations, s.examples FROM firm_supply s JOIN companies c ON c.company_id = "
        "s.{other} LEFT JOIN regions g ON g.adcode = c.city_adcode WHERE s.{mine} = {firm} "
        "ORDER BY s.weight DESC, s.relations DESC, c.company_id LIMIT {limit}",
        other=ident(other), mine=ident(mine), firm=param(company_id), limit=param(limit)))


def firm_profile(db: Database, firm: str, links: int = 10) -> dict[str, Any]:
    """Everything ChainAtlas knows about one firm (id, stock code, USCC or name)."""
    row = firm_from_text(db, firm)
    cid = str(row["company_id"])
    identity = {k: row[k] for k in (
        "company_id", "short_name", "full_name", "stock_code", "exchange", "uscc", "origin",
        "registered_capital", "capital_currency", "setup_date", "listing_date", "employees",
        "revenue", "industry_gbt", "business_scope", "same_as")}
    return {
        "identity": identity,
        "names": db.rows("SELECT name, kind FROM company_names WHERE company_id = ? "
                         "ORDER BY kind, name", [cid]),
        "location": _location(db, row),
        "industries": db.rows(
            "SELECT ci.scheme, ci.code, i.name, i.level FROM company_industries ci LEFT JOIN "
            "industries i ON i.scheme = ci.scheme AND i.code = ci.code WHERE ci.company_id = ?",
            [cid]),
        "products": db.rows(
            "SELECT p.name, cp.revenue_share, cp.negative_share, p.kind FROM company_products "
            "cp JOIN products p USING (product_id) WHERE cp.company_id = ? ORDER BY "
            "cp.revenue_share DESC NULLS LAST, p.name", [cid]),
        "placements": _placements(db, cid),
        "suppliers": _links(db, cid, "suppliers", links),
        "customers": _links(db, cid, "customers", links),
        "corrections": db.rows("SELECT * FROM corrections WHERE company_id = ? ORDER BY "
                               "correction_id DESC", [cid]),
        "history": db.rows("SELECT field, old_value, new_value, changed_at FROM "
                           "company_history WHERE company_id = ? ORDER BY changed_at DESC",
                           [cid]),
    }
