"""The resilience model built from the store: node and product networks of a chain.

- **Node network** (:func:`node_network`): the chain's production leaf nodes; inputs are
  the template's supply edges between them (``chain_edges``: source supplies target; the
  one direction model, :mod:`chainatlas.chains.direction`); suppliers are the firms of
  the universe placed on each node (``chain_firms``: listed, registry and roster firms;
  side lines count, since a firm making a product is a supplier of it).
- **Product network** (:func:`product_network`): the chain's products (those that placed
  listed firms on its production leaves, ``firm_node_products``), and every product a
  listed firm makes that supplies one of them, directly or through others; inputs are
  the product relations read as supply (:data:`chainatlas.analysis.supply.SUPPLY_PAIRS`)
  between two made products; suppliers are the listed firms making the product, whatever
  chain they are on. The 2021 data hold few such relations (838 among all the products
  listed firms make), so most products have no counted input: the network shows who
  makes what and where, and cascades only where the data record a supply relation.

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
    Q,
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

# A chain firm's size and place columns, as network_from_rows reads them.
_FIRM_COLUMNS = Q("""c.employees,
    c.registered_capital, coalesce(c.short_name, c.full_name, f.company_id) AS firm_name,
    coalesce(f.province_adcode, '') AS province_adcode,
    coalesce(f.city_adcode, '') AS city_adcode, coalesce(f.region_adcode, '') AS region_adcode
FROM chain_firms f JOIN companies c ON c.company_id = f.company_id""")

_NODE_SQL = """
SELECT f.company_id, f.node_id AS unit, f.product_share AS share, {columns}
WHERE f.chain_id = {chain} AND list_contains({units}, f.node_id) AND {as_of} AND {universe}
ORDER BY f.node_id, f.company_id
"""

# Firms placed directly on an inner production node (only "化学制剂" or "医疗器械" is
# known of them) and on no production leaf: spread over the leaves below (inner_rows).
_INNER_ONLY_SQL = """
SELECT f.company_id, f.node_id AS inner_node, f.product_share AS share, {columns}
WHERE f.chain_id = {chain} AND f.direct AND list_contains({inner}, f.node_id)
    AND {as_of} AND {universe} AND NOT EXISTS (SELECT 1 FROM chain_firms g
        WHERE g.chain_id = f.chain_id AND g.company_id = f.company_id
        AND list_contains({units}, g.node_id))
ORDER BY f.company_id, f.node_id
"""

# The chain's listed firms: those placed on a production leaf.
_CHAIN_LISTED = """
SELECT DISTINCT f.company_id FROM chain_firms f WHERE f.chain_id = {chain}
    AND list_contains({units}, f.node_id) AND f.origin = 'listed' AND {as_of}
"""

# The chain's products: those that placed its listed firms on a production leaf (a
# conglomerate's other lines, 常山北明's 棉纱, are not the chain's).
_OWN_SQL = """
SELECT DISTINCT p.product_id FROM firm_node_products f
JOIN products p ON p.name = f.product AND p.kind = 'product'
WHERE f.chain_id = {chain} AND list_contains({units}, f.node_id)
    AND list_contains({firms}, f.company_id)
"""

# Every product some listed firm makes (product_weights), and the supply pairs among them.
_MADE_EDGES_SQL = """
WITH made AS (SELECT DISTINCT w.product_id FROM product_weights w
              JOIN companies c ON c.company_id = w.company_id
              WHERE c.origin = 'listed' AND c.same_as IS NULL)
SELECT DISTINCT s.up, s.down FROM ({supply}) s
WHERE s.up IN (SELECT product_id FROM made) AND s.down IN (SELECT product_id FROM made)
    AND s.up <> s.down
"""

_PRODUCT_ROWS_SQL = """
SELECT w.company_id, p.name AS unit, w.revenue_share AS share, c.employees,
    c.registered_capital, coalesce(c.short_name, c.full_name, w.company_id) AS firm_name,
    coalesce(c.province_adcode, '') AS province_adcode,
    coalesce(c.city_adcode, '') AS city_adcode, coalesce(c.region_adcode, '') AS region_adcode
FROM product_weights w JOIN companies c ON c.company_id = w.company_id
JOIN products p ON p.product_id = w.product_id
WHERE list_contains({ids}, w.product_id) AND c.origin = 'listed' AND c.same_as IS NULL
    AND {as_of}
ORDER BY p.name, w.company_id
"""

_PLACING_SQL = """
SELECT product, arg_max(node_id, share) AS node_id FROM firm_node_products
WHERE chain_id = {chain} AND list_contains({units}, node_id) GROUP BY product
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


def inner_rows(rows: pd.DataFrame, leaves_below: dict[str, list[str]]) -> pd.DataFrame:
    """Rows of firms known only on an inner node as rows on each production leaf below
    it, their share split evenly (so a firm's size is not multiplied by its leaves): a
    formulations maker known only as 化学制剂 supplies the formulation leaves. It
    overstates substitutes on leaves the firm does not make; the limits say so. Pure."""
    out = []
    for row in rows.to_dict("records"):
        below = leaves_below.get(str(row["inner_node"]), [])
        share = row["share"]
        split = None if share is None or pd.isna(share) else float(share) / max(len(below), 1)
        out += [{**row, "unit": leaf, "share": split} for leaf in below]
    columns = [c for c in rows.columns if c != "inner_node"] + ["unit"]
    return pd.DataFrame(out, columns=columns).drop(columns=["inner_node"], errors="ignore")


def node_network(db: Database, chain: Chain | str, universe: str | None = None,
                 as_of: int | None = None) -> Network:
    """The chain's node network over the firms of ``universe`` (module docs)."""
    chain = as_chain(db, chain)
    chosen = as_universe(db, universe)
    units = production_leaves(chain)
    rows = db.df(compose(_NODE_SQL, columns=_FIRM_COLUMNS, chain=param(chain.chain_id),
                         units=values(units),
                         as_of=first_year_by(as_of, "f"), universe=in_universe(chosen, "f")))
    edges = [(str(a), str(b)) for a, b in db.execute(
        "SELECT source, target FROM chain_edges WHERE chain_id = ? ORDER BY 1, 2",
        [chain.chain_id]).fetchall()]
    names = chain.names()
    inner = [n.node_id for n in chain.nodes if not n.is_leaf and n.kind == "production"]
    spread = db.df(compose(_INNER_ONLY_SQL, columns=_FIRM_COLUMNS,
                           chain=param(chain.chain_id), inner=values(inner),
                           units=values(units), as_of=first_year_by(as_of, "f"),
                           universe=in_universe(chosen, "f")))
    leaves = set(units)
    below = {n: [u for u in chain.subtree(n) if u in leaves] for n in inner}
    meta = {"chain_id": chain.chain_id, "chain_name": chain.name_zh, "universe": chosen,
            "as_of": as_of, "unit_nodes": {u: u for u in units},
            "inner_only_firms": int(spread["company_id"].nunique()),
            "inner_firm_ids": sorted(set(spread["company_id"].astype(str)))}
    if not spread.empty:
        rows = pd.concat([rows, inner_rows(spread, below)], ignore_index=True)
    return network_from_rows("node", units, [names[u] for u in units], edges, rows, meta)


def upstream_closure(start: set[int], edges: list[tuple[int, int]]) -> set[int]:
    """``start`` and every product that supplies one of them, directly or through others
    (walked up the (up, down) edges). Pure."""
    ups: dict[int, list[int]] = {}
    for up, down in edges:
        ups.setdefault(down, []).append(up)
    seen, stack = set(start), list(start)
    while stack:
        for up in ups.get(stack.pop(), ()):
            if up not in seen:
                seen.add(up)
                stack.append(up)
    return seen


def product_network(db: Database, chain: Chain | str, as_of: int | None = None) -> Network:
    """The chain's product network over listed firms (module docs): every product that
    placed a listed firm on the chain and every product upstream of them that a listed
    firm makes.
    ``meta['unit_nodes']`` names the node a placing product puts its firms on;
    ``meta['chain_units']`` the products of the chain's own firms."""
    chain = as_chain(db, chain)
    leaves = values(production_leaves(chain))
    firms = [str(r[0]) for r in db.execute(compose(
        _CHAIN_LISTED, chain=param(chain.chain_id), units=leaves,
        as_of=first_year_by(as_of, "f"))).fetchall()]
    own = {int(r[0]) for r in db.execute(compose(
        _OWN_SQL, chain=param(chain.chain_id), units=leaves, firms=values(firms))).fetchall()}
    edges = [(int(a), int(b)) for a, b in db.execute(compose(
        _MADE_EDGES_SQL, supply=SUPPLY_PAIRS)).fetchall()]
    ids = sorted(upstream_closure(own, edges))
    names = dict(db.execute("SELECT product_id, name FROM products "
                            "WHERE list_contains(?, product_id)", [ids]).fetchall())
    rows = db.df(compose(_PRODUCT_ROWS_SQL, ids=values(ids), as_of=founded_by(as_of, "c")))
    units = sorted(set(rows["unit"].astype(str)))
    placing = dict(db.execute(compose(_PLACING_SQL, chain=param(chain.chain_id),
                                      units=leaves)).fetchall())
    meta = {"chain_id": chain.chain_id, "chain_name": chain.name_zh, "universe": "listed",
            "as_of": as_of, "unit_nodes": {u: str(placing[u]) for u in units if u in placing},
            "chain_units": sorted({str(names[i]) for i in own if i in names})}
    return network_from_rows("product", units, units,
                             [(str(names[a]), str(names[b])) for a, b in edges
                              if a in names and b in names], rows, meta)


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
