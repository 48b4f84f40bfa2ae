"""Map data (招商地图): firm counts per province or city for a chain or a node.

Counts are of the firms of one universe (listed, registry or all; default ``all`` once
registry firms are loaded): the output names it and what it covers. The registry may be
loaded for some provinces only (``registry_provinces``): a registry or all-firms map then
shows those provinces far above the rest, which is the data's coverage, not the economy.
"""

from __future__ import annotations

from typing import Any

from chainatlas.analysis.regional import describe_universe
from chainatlas.errors import ChainAtlasError
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, as_region
from chainatlas.store.query import (
    Q,
    compose,
    first_year_by,
    ident,
    in_universe,
    join,
    level_column,
    param,
    size_order,
)

LEVELS = ("province", "city")


def map_counts(db: Database, chain: Chain | str, node_id: str | None = None,
               level: str = "province", within: Region | str | None = None, top: int = 3,
               as_of: int | None = None, universe: str | None = None) -> dict[str, Any]:
    """Distinct firms of a chain (or of a node's subtree) per province or per city,
    counting the firms of ``universe`` (None: the default).

    ``node_id`` is a node id or Chinese name; ``within`` (a province, or any region of
    it) keeps only that province's cities. Each area carries its adcode, name, centroid,
    firm count and its largest firms (registered capital, then employees).
    """
    if level not in LEVELS:
        raise ChainAtlasError(f"--level is 'province' or 'city', not {level!r}.")
    chain = as_chain(db, chain)
    node = None if not node_id else chain.node(node_id)
    area = None if within is None else as_region(db, within)
    about = describe_universe(db, universe)
    column = ident(level_column(level))
    conditions = [Q("f.chain_id = ?", (chain.chain_id,)), first_year_by(as_of, "f"),
                  compose("f.{column} IS NOT NULL", column=column),
                  in_universe(about["universe"], "f")]
    if node is not None:
        conditions.append(Q("f.node_id = ?", (node.node_id,)))
    if area is not None:
        conditions.append(Q("f.province_adcode = ?", (area.province_adcode,)))
    rows = db.rows(compose(
        "WITH firms AS (SELECT DISTINCT f.company_id, f.{column} AS adcode FROM chain_firms f "
        "WHERE {where}), ranked AS (SELECT f.adcode, c.company_id, c.short_name, "
        "row_number() OVER (PARTITION BY f.adcode ORDER BY {size}, c.company_id) AS k "
        "FROM firms f JOIN companies c USING (company_id)) "
        "SELECT r.adcode, g.name, g.lon, g.lat, count(*) AS firms, "
        "list(r.short_name ORDER BY r.k) FILTER (WHERE r.k <= {top}) AS top "
        "FROM ranked r JOIN regions g ON g.adcode = r.adcode GROUP BY ALL "
        "ORDER BY firms DESC, r.adcode",
        column=column, where=join(conditions), size=size_order("c"), top=param(top)))
    areas = [{"adcode": r["adcode"], "name": r["name"], "lon": r["lon"], "lat": r["lat"],
              "firms": int(r["firms"]), "top_firms": list(r["top"] or [])} for r in rows]
    return {"chain_id": chain.chain_id, "chain_name": chain.name_zh,
            "node_id": None if node is None else node.node_id,
            "node_name": None if node is None else node.name_zh, "level": level,
            "as_of": as_of, **about,
            "within": None if area is None else {"adcode": area.adcode, "name": area.name},
            "total_firms": sum(a["firms"] for a in areas), "areas": areas}
