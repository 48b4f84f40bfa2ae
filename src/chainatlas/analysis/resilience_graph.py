"""The resilience model built from the store: node and product networks of a chain.

- **Node network** (:func:`node_network`): the chain's production leaf nodes; inputs are
  the template's supply edges between them (``chain_edges``: source supplies target; the
  one direction model, :mod:`chainatlas.chains.direction`); suppliers are the firms of
  the universe placed on each node (``chain_firms``: listed, registry and roster firms;
  side lines count, since a firm making a product is a supplier of it).
- **Product network** (:func:`product_network`): the products that placed listed firms
  on the chain's production leaves (``firm_node_products``); inputs are the product
  relations read as supply (:data:`chainatlas.analysis.supply.SUPPLY_PAIRS`) between
  two such products; suppliers are the listed firms placed by the product.

Each firm's size figure on a unit is the leaders' (:func:`~chainatlas.analysis.leaders.
scale_basis`: employees × the share of the products placing it there; registry capital
read as staff by :func:`~chainatlas.analysis.leaders.staff_from_capital`).

Networks of file stores are cached by (store, chain, level, universe, as_of) together with
a stamp of the store's state (build time, classification mark, corrections), so a what-if
or a scan over many regions builds each network once.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from chainatlas.analysis.leaders import scale_basis, staff_from_capital
from chainatlas.analysis.resilience import AREA_LEVELS, Network
from chainatlas.analysis.supply import SUPPLY_PAIRS
from chainatlas.chains.placements import UNKNOWN_SHARE
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, as_chain, as_universe
from chainatlas.store.query import (
    compose,
    first_year_by,
    founded_by,
    in_universe,
    param,
    values,
)

LEVELS = ("node", "product")
LEVELS_ZH = {"node": "环节", "product": "产品"}
_AREA_COLUMNS = {"province": "province_adcode", "city": "city_adcode",
                 "district": "region_adcode"}

_NODE_SQL = """
SELECT f.company_id, f.node_id AS unit, f.product_share AS share, c.employees,
    c.registered_capital, coalesce(c.short_name, c.full_name, f.company_id) AS firm_name,
    coalesce(f.province_adcode, '') AS province_adcode,
    coalesce(f.city_adcode, '') AS city_adcode, coalesce(f.region_adcode, '') AS region_adcode
FROM chain_firms f JOIN companies c ON c.company_id = f.company_id
WHERE f.chain_id = {chain} AND list_contains({units}, f.node_id) AND {as_of} AND {universe}
ORDER BY f.node_id, f.company_id
"""

_PRODUCT_SQL = """
SELECT p.company_id, p.product AS unit, max(p.share) AS share, any_value(c.employees)
    AS employees, any_value(c.registered_capital) AS registered_capital,
    any_value(coalesce(c.short_name, c.full_name, p.company_id)) AS firm_name,
    any_value(coalesce(c.province_adcode, '')) AS province_adcode,
    any_value(coalesce(c.city_adcode, '')) AS city_adcode,
    any_value(coalesce(c.region_adcode, '')) AS region_adcode,
    arg_max(p.node_id, p.share) AS node_id
FROM firm_node_products p JOIN companies c ON c.company_id = p.company_id
WHERE p.chain_id = {chain} AND list_contains({units}, p.node_id) AND c.origin = 'listed'
    AND c.same_as IS NULL AND {as_of}
GROUP BY p.company_id, p.product ORDER BY p.product, p.company_id
"""

_PRODUCT_EDGES_SQL = """
WITH names AS (SELECT product_id, name FROM products
               WHERE kind = 'product' AND list_contains({names}, name))
SELECT DISTINCT a.name AS up, b.name AS down FROM ({supply}) s
JOIN names a ON a.product_id = s.up JOIN names b ON b.product_id = s.down
WHERE a.name <> b.name
"""

_CACHE: dict[tuple[Any, ...], Network] = {}


def production_leaves(chain: Chain) -> list[str]:
    """The chain's production leaf nodes, in template order: the node network's units."""
    return [n.node_id for n in chain.nodes if n.is_leaf and n.kind == "production"]


def sizes_from_rows(rows: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The leaders' size figure of each (firm, unit) row (module docs)."""
    if rows.empty:
        return np.zeros(0)
    firms = rows.drop_duplicates("company_id")
    fit = staff_from_capital(firms["employees"].astype(float),
                             firms["registered_capital"].astype(float))
    share = rows["share"].astype(float)
    share = share.where(~np.isclose(share.fillna(-1.0), UNKNOWN_SHARE))
    picked = scale_basis(rows["employees"].astype(float),
                         rows["registered_capital"].astype(float), share.clip(upper=1.0),
                         fit)
    return np.asarray(picked["scale_figure"], dtype=np.float64)


def network_from_rows(level: str, units: list[str], names: list[str],
                      edges: list[tuple[str, str]], rows: pd.DataFrame,
                      meta: dict[str, Any] | None = None) -> Network:
    """A :class:`Network` from unit ids, edges by id and membership rows (company_id,
    unit, share, employees, registered_capital, firm_name and the area columns)."""
    index = {u: i for i, u in enumerate(units)}
    rows = rows[rows["unit"].isin(index)].drop_duplicates(["company_id", "unit"])
    firm_codes, firm_ids = pd.factorize(rows["company_id"], sort=True)
    firms = rows.drop_duplicates("company_id").set_index("company_id").loc[list(firm_ids)]
    pairs = sorted({(index[a], index[b]) for a, b in edges
                    if a in index and b in index and a != b})
    return Network(
        level=level, units=tuple(units), names=tuple(names), edges=tuple(pairs),
        member_unit=np.asarray(rows["unit"].map(index), dtype=np.int64),
        member_firm=np.asarray(firm_codes, dtype=np.int64),
        member_size=sizes_from_rows(rows),
        firm_ids=tuple(str(f) for f in firm_ids),
        firm_names=tuple(str(n) for n in firms["firm_name"]),
        firm_area={lv: np.asarray(firms[_AREA_COLUMNS[lv]].astype(str), dtype=np.str_)
                   for lv in AREA_LEVELS},
        meta=meta or {})


def node_network(db: Database, chain: Chain | str, universe: str | None = None,
                 as_of: int | None = None) -> Network:
    """The chain's node network over the firms of ``universe`` (module docs)."""
    chain = as_chain(db, chain)
    chosen = as_universe(db, universe)
    units = production_leaves(chain)
    rows = db.df(compose(_NODE_SQL, chain=param(chain.chain_id), units=values(units),
                         as_of=first_year_by(as_of, "f"), universe=in_universe(chosen, "f")))
    edges = [(str(a), str(b)) for a, b in db.execute(
        "SELECT source, target FROM chain_edges WHERE chain_id = ? ORDER BY 1, 2",
        [chain.chain_id]).fetchall()]
    names = chain.names()
    meta = {"chain_id": chain.chain_id, "chain_name": chain.name_zh, "universe": chosen,
            "as_of": as_of, "unit_nodes": {u: u for u in units}}
    return network_from_rows("node", units, [names[u] for u in units], edges, rows, meta)


def product_network(db: Database, chain: Chain | str, as_of: int | None = None) -> Network:
    """The chain's product network over its listed firms (module docs). ``meta
    ['unit_nodes']`` names the node each product places most of its firms' share on."""
    chain = as_chain(db, chain)
    rows = db.df(compose(_PRODUCT_SQL, chain=param(chain.chain_id),
                         units=values(production_leaves(chain)), as_of=founded_by(as_of, "c")))
    units = sorted(set(rows["unit"].astype(str)))
    edges = [(str(a), str(b)) for a, b in db.execute(compose(
        _PRODUCT_EDGES_SQL, names=values(units), supply=SUPPLY_PAIRS)).fetchall()]
    first = rows.sort_values(["unit", "share"], ascending=[True, False]).drop_duplicates(
        "unit").set_index("unit")["node_id"]
    meta = {"chain_id": chain.chain_id, "chain_name": chain.name_zh, "universe": "listed",
            "as_of": as_of, "unit_nodes": {u: str(first[u]) for u in units}}
    return network_from_rows("product", units, units, edges, rows, meta)


def store_stamp(db: Database) -> tuple[Any, ...]:
    """What changes when placements change: build time, classification mark, the
    corrections (count and newest id)."""
    meta = tuple(db.execute("SELECT key, value FROM meta ORDER BY key").fetchall())
    fixes = db.execute("SELECT count(*), max(correction_id) FROM corrections").fetchone()
    return meta, fixes


def chain_network(db: Database, chain: Chain | str, level: str = "node",
                  universe: str | None = None, as_of: int | None = None) -> Network:
    """The node or product network of a chain, cached for file stores (module docs)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    chain = as_chain(db, chain)
    chosen = "listed" if level == "product" else as_universe(db, universe)
    key = (db.path, chain.chain_id, level, chosen, as_of)
    stamp = store_stamp(db) if db.path != ":memory:" else None
    cached = _CACHE.get(key)
    if cached is not None and cached.meta.get("stamp") == stamp:
        return cached
    net = (node_network(db, chain, chosen, as_of) if level == "node"
           else product_network(db, chain, as_of))
    if db.path != ":memory:":
        net = dataclasses.replace(net, meta={**net.meta, "stamp": stamp})
        _CACHE[key] = net
    return net
