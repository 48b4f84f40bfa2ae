"""Relatedness of a place to a chain's nodes: the product-space density of economic complexity.

The chain's LEAF nodes play the role of products and cities (or provinces) the role of
countries, with the firms of one origin as the "exports":

- ``presence_matrix``: place x leaf node counts of distinct firms of one origin, the
  ``basis`` (``listed`` by default, or ``registry``: the LQ basis of
  :func:`chainatlas.analysis.regional.lq_origin`), from ``chain_firms`` rows on leaf
  nodes (a leaf row is always the node the firm was placed on). Firms placed only on an
  inner node cannot be pinned to a leaf and are left out. Origins are never mixed, and
  roster firms never count: rosters exist only for the user's own region, and registry
  firms only for the provinces loaded, so a mixed matrix would make those places look
  diversified in everything. A registry matrix has as places the cities (or provinces)
  of the loaded provinces only: relatedness within them.
- ``presence_all``: the same counts over the leaves of every chain at once (columns
  ``chain_id|node_id``): a place's whole industrial base, for a density that relates a
  node to everything the place makes, not only to its own chain.
- ``relatedness_density``: Balassa RCA, presence Mcp = [RCA >= 1], the co-occurrence
  proximity phi(i, j) = |places with Mcp=1 on both| / max(ubiquity_i, ubiquity_j), and the
  density of place c around node p: sum_j Mcp[c, j] * phi(j, p) / sum_j phi(j, p), in
  [0, 1] (Hidalgo et al., 2007). Computed by the Harvard Growth Lab ``ecomplexity``
  package; nodes without any firm and places without any firm get 0 (the package drops
  them, since their shares are undefined).

The density of a whole chain is cached in-process, keyed by the presence matrix itself, so a
rebuilt store, a new classification or an analyst's correction can never serve stale
figures, while repeated calls on the same data skip the (~20 ms) ecomplexity run.
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings

import numpy as np
import pandas as pd
from ecomplexity import ecomplexity
from ecomplexity import proximity as ec_proximity

from chainatlas.store import Database
from chainatlas.store.lookup import Chain, as_chain
from chainatlas.store.query import compose, first_year_by, ident, level_column, param

#: Place levels a presence matrix can be built at (districts are too sparse).
LEVELS = ("city", "province")
#: The firm origins a presence matrix can count.
BASES = ("listed", "registry")

_COLS = {"time": "time", "loc": "loc", "prod": "prod", "val": "val"}
_OUTPUT = ("rca", "mcp", "density")


def presence_matrix(db: Database, chain: Chain | str, as_of: int | None = None,
                    level: str = "city", basis: str = "listed") -> pd.DataFrame:
    """Place x leaf node counts of distinct firms of the ``basis`` origin on a chain.

    Rows are the places (``city_adcode`` or ``province_adcode``, the index's name) with at
    least one such firm on one of the chain's leaves; columns are every leaf node_id of
    the chain in template order, including leaves without any firm. ``as_of`` keeps firms
    founded or listed by that year. ``chain`` is a typed chain or its id / Chinese name
    (NotFoundError for an unknown one).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {sorted(LEVELS)}, not {level!r}")
    if basis not in BASES:
        raise ValueError(f"basis must be one of {list(BASES)}, not {basis!r}")
    chain = as_chain(db, chain)
    column = level_column(level)
    long = db.df(compose(
        "SELECT f.{column} AS place, f.node_id, count(DISTINCT f.company_id) AS firms "
        "FROM chain_firms f JOIN chain_nodes n USING (chain_id, node_id) "
        "WHERE f.chain_id = {chain} AND n.is_leaf AND f.origin = {basis} "
        "AND f.{column} IS NOT NULL AND {as_of} GROUP BY ALL",
        column=ident(column), chain=param(chain.chain_id), basis=param(basis),
        as_of=first_year_by(as_of, "f")))
    wide = long.pivot(index="place", columns="node_id", values="firms") if len(long) else (
        pd.DataFrame(index=pd.Index([], dtype=object)))
    leaves = [n.node_id for n in chain.leaves()]
    wide = wide.reindex(columns=leaves).fillna(0).astype(np.int64).sort_index()
    wide.index.name = column
    wide.columns.name = "node_id"
    return wide


def leaf_key(chain_id: str, node_id: str) -> str:
    """The column of a leaf in :func:`presence_all`: ``chain_id|node_id``."""
    return f"{chain_id}|{node_id}"


def presence_all(db: Database, as_of: int | None = None, level: str = "city",
                 basis: str = "listed") -> pd.DataFrame:
    """Place x leaf counts like :func:`presence_matrix`, over the leaves of EVERY chain.

    Columns are :func:`leaf_key` strings (chain order, then template order), so one
    matrix describes a place's whole industrial base across the chains: the product space
    of :func:`chainatlas.recommend.place_signals` and the cross-chain density of the node
    ranking. Rows are the places with at least one such firm on any chain's leaf.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {sorted(LEVELS)}, not {level!r}")
    if basis not in BASES:
        raise ValueError(f"basis must be one of {list(BASES)}, not {basis!r}")
    column = level_column(level)
    long = db.df(compose(
        "SELECT f.{column} AS place, f.chain_id, f.node_id, "
        "count(DISTINCT f.company_id) AS firms FROM chain_firms f "
        "JOIN chain_nodes n USING (chain_id, node_id) WHERE n.is_leaf "
        "AND f.origin = {basis} AND f.{column} IS NOT NULL AND {as_of} GROUP BY ALL",
        column=ident(column), basis=param(basis), as_of=first_year_by(as_of, "f")))
    leaves = [leaf_key(str(c), str(n)) for c, n in db.execute(
        "SELECT chain_id, node_id FROM chain_nodes WHERE is_leaf "
        "ORDER BY chain_id, ord").fetchall()]
    long["leaf"] = [leaf_key(str(c), str(n)) for c, n in zip(
        long["chain_id"], long["node_id"], strict=True)]
    wide = long.pivot(index="place", columns="leaf", values="firms") if len(long) else (
        pd.DataFrame(index=pd.Index([], dtype=object)))
    wide = wide.reindex(columns=leaves).fillna(0).astype(np.int64).sort_index()
    wide.index.name = column
    wide.columns.name = "leaf"
    return wide


def _quiet_ecomplexity(long: pd.DataFrame) -> pd.DataFrame:
    # ecomplexity prints progress and exception texts and warns about zero diversity;
    # none of it is actionable for a caller, so both channels are silenced.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out: pd.DataFrame = ecomplexity(long, _COLS, presence_test="rca",
                                        check_logsupermodularity=False, verbose=False)
    return out


def _long_form(counts: pd.DataFrame) -> pd.DataFrame:
    frame = counts.copy()
    frame.index.name = "loc"
    long = frame.reset_index().melt(id_vars="loc", var_name="prod", value_name="val")
    long["time"] = 0
    return long


def _compute_density(counts: pd.DataFrame) -> pd.DataFrame:
    place = str(counts.index.name or "city_adcode")
    grid = pd.MultiIndex.from_product([counts.index, counts.columns],
                                      names=[place, "node_id"])
    active = counts.loc[counts.sum(axis=1) > 0, counts.sum(axis=0) > 0]
    if active.size == 0:
        out = pd.DataFrame(0.0, index=grid, columns=list(_OUTPUT))
    else:
        raw = _quiet_ecomplexity(_long_form(active)).rename(
            columns={"loc": place, "prod": "node_id"})
        out = raw.set_index([place, "node_id"])[list(_OUTPUT)].astype(float)
        out = out.reindex(grid).fillna(0.0)
    out["mcp"] = out["mcp"].astype(np.int64)
    return out.reset_index()


@functools.lru_cache(maxsize=64)
def _cached_density(index: tuple[str, ...], columns: tuple[str, ...], name: str,
                    values: bytes) -> pd.DataFrame:
    matrix = np.frombuffer(values, dtype=np.int64).reshape(len(index), len(columns))
    counts = pd.DataFrame(matrix, index=pd.Index(index, name=name), columns=list(columns))
    return _compute_density(counts)


def relatedness_density(counts: pd.DataFrame) -> pd.DataFrame:
    """RCA, Mcp and density for every place x node cell of a presence matrix.

    Returns one row per cell with columns (<place column>, node_id, rca, mcp, density); the
    place column takes the matrix index's name (``city_adcode`` by default). Degenerate
    inputs are fine: a single place makes every present node Mcp = 1 with density 1, and
    nodes or places without any firm get rca = mcp = density = 0.
    """
    frame = counts.fillna(0).astype(np.int64)
    name = str(frame.index.name or "city_adcode")
    result = _cached_density(tuple(str(i) for i in frame.index),
                             tuple(str(c) for c in frame.columns), name,
                             np.ascontiguousarray(frame.to_numpy()).tobytes())
    return result.copy()


def proximity(counts: pd.DataFrame) -> pd.DataFrame:
    """Node x node co-occurrence proximity phi (symmetric, 1 on the diagonal).

    Nodes without any firm have no proximity to anything (0, with 1 on the diagonal).
    """
    frame = counts.fillna(0).astype(np.int64)
    nodes = [str(c) for c in frame.columns]
    out = pd.DataFrame(np.eye(len(nodes)), index=nodes, columns=nodes)
    active = frame.loc[frame.sum(axis=1) > 0, frame.sum(axis=0) > 0]
    if active.size == 0:
        return out
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        edges: pd.DataFrame = ec_proximity(_long_form(active), _COLS, presence_test="rca")
    # ecomplexity names the pair columns after the product column: prod_1, prod_2
    phi = edges.pivot(index="prod_1", columns="prod_2", values="proximity").fillna(0.0)
    out.loc[phi.index, phi.columns] = phi.to_numpy()
    return out


def density_table(db: Database, chain: Chain | str, as_of: int | None = None,
                  level: str = "city", basis: str = "listed") -> pd.DataFrame:
    """``relatedness_density(presence_matrix(...))`` for a chain (cached by its matrix)."""
    return relatedness_density(presence_matrix(db, chain, as_of, level, basis))
