"""Map data (招商地图): firm counts per province or city for a chain or a node."""

from __future__ import annotations

from typing import Any

from chainatlas.analysis.panorama import chain_row
from chainatlas.analysis.regional import as_of_sql
from chainatlas.errors import ChainAtlasError, NotFoundError
from chainatlas.store import Database

LEVELS = {"province": "province_adcode", "city": "city_adcode"}


def map_counts(db: Database, chain_id: str, node_id: str | None = None,
               level: str = "province", within: dict[str, Any] | None = None, top: int = 3,
               as_of: int | None = None) -> dict[str, Any]:
    """Distinct firms of a chain (or of a node's subtree) per province or per city.

    ``within`` (a province) keeps only its cities. Each area carries its adcode, name,
    centroid, firm count and its largest firms (registered capital, then employees).
    """
    if level not in LEVELS:
        raise ChainAtlasError(f"--level is 'province' or 'city', not {level!r}.")
    chain = chain_row(db, chain_id)
    cid = str(chain["chain_id"])
    node_name = None
    if node_id:
        found = db.execute("SELECT node_id, name_zh FROM chain_nodes WHERE chain_id = ? "
                           "AND (node_id = ? OR name_zh = ?)", [cid, node_id, node_id]).fetchone()
        if found is None:
            raise NotFoundError(f"Chain {cid!r} has no node {node_id!r}.")
        node_id, node_name = str(found[0]), found[1]
    column = LEVELS[level]
    conditions = [f"f.chain_id = '{cid}'", as_of_sql(as_of), f"f.{column} IS NOT NULL"]
    if node_id:
        conditions.append(f"f.node_id = '{node_id}'")
    if within is not None:
        conditions.append(f"f.province_adcode = '{str(within['adcode'])[:2]}0000'")
    rows = db.rows(
        f"WITH firms AS (SELECT DISTINCT f.company_id, f.{column} AS adcode FROM chain_firms f "
        f"WHERE {' AND '.join(conditions)}), ranked AS (SELECT f.adcode, c.company_id, "
        "c.short_name, row_number() OVER (PARTITION BY f.adcode ORDER BY c.registered_capital "
        "DESC NULLS LAST, c.employees DESC NULLS LAST, c.company_id) AS k FROM firms f JOIN "
        "companies c USING (company_id)) SELECT r.adcode, g.name, g.lon, g.lat, "
        "count(*) AS firms, list(r.short_name ORDER BY r.k) FILTER (WHERE r.k <= ?) AS top "
        "FROM ranked r JOIN regions g ON g.adcode = r.adcode GROUP BY ALL "
        "ORDER BY firms DESC, r.adcode", [top])
    areas = [{"adcode": r["adcode"], "name": r["name"], "lon": r["lon"], "lat": r["lat"],
              "firms": int(r["firms"]), "top_firms": list(r["top"] or [])} for r in rows]
    return {"chain_id": cid, "chain_name": chain["name_zh"], "node_id": node_id,
            "node_name": node_name, "level": level, "as_of": as_of,
            "within": None if within is None else {"adcode": within["adcode"],
                                                   "name": within["name"]},
            "total_firms": sum(a["firms"] for a in areas), "areas": areas}
