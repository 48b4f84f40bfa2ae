"""The query step of the node ranking: everything about a chain that does not depend on
the region (see :mod:`chainatlas.recommend.nodes` for what the figures mean).

:func:`chain_context` gathers, for one chain, as-of year, place level, firm universe and
LQ basis: the cross-chain relatedness density of every place and leaf, the supply links
between nodes (template edges, and product evidence only where the direction model
agrees), the direction model itself, the nodes' kinds, the biggest firms per node and the
place signals (:mod:`chainatlas.recommend.place_signals`). The backtest builds one per
chain and year and ranks every city with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from chainatlas.analysis.regional import registry_provinces
from chainatlas.analysis.supply import edge_evidence
from chainatlas.chains.direction import UPSTREAM, Directions, directions_from_store
from chainatlas.chains.placements import primary_sql
from chainatlas.recommend.place_signals import PlaceSignals, place_signals
from chainatlas.recommend.relatedness import leaf_key, presence_all, relatedness_density
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, NodeTree, as_chain, as_universe
from chainatlas.store.query import (
    compose,
    first_year_by,
    in_universe,
    level_column,
    param,
    size_order,
)

#: Product relations that make a product-evidence link as strong as a template edge.
EVIDENCE_FULL = 3
#: Which products of a firm count as product-graph evidence for its node (see
#: :func:`product_evidence`): "placing", "all" or "none".
EVIDENCE_PRODUCTS = "all"
#: A registry density matrix needs at least this many places, else listed firms are used.
MIN_DENSITY_PLACES = 5


@dataclass(frozen=True)
class ChainContext:
    """Region-independent inputs of a chain's ranking for one as-of year, place level,
    firm universe and LQ basis (the origin the region's profile counts its LQ on)."""

    chain_id: str
    as_of: int | None
    level: str
    #: place x leaf density table (place column named after ``level``) with ``pct``
    density: pd.DataFrame
    #: directed supply links (see :func:`combine_links`), keyed by target / by source
    incoming: dict[str, list[dict[str, Any]]]
    outgoing: dict[str, list[dict[str, Any]]]
    #: the chain's node tree (ancestors of a node)
    tree: NodeTree
    #: node_id -> biggest firms of the universe (short_name and location columns)
    top_firms: dict[str, list[dict[str, Any]]]
    #: the largest count of the universe's firms on any leaf of any chain (availability's 1)
    biggest_leaf: int
    #: the firm universe (listed, registry, all) and the LQ basis (listed, registry)
    universe: str = "listed"
    basis: str = "listed"
    #: the origin the density table and the place signals count: ``basis``, or listed
    density_basis: str = "listed"
    #: the loaded registry provinces (adcode, name), [] when none or not used
    provinces: list[dict[str, str]] = field(default_factory=list)
    #: the one model of up/downstream (None: directions from ``incoming``/``outgoing``)
    directions: Directions | None = None
    #: node_id -> kind (production, trade, retail, service, operator)
    kinds: dict[str, str] = field(default_factory=dict)
    #: peers, nearby and momentum of every place (None: those components are 0)
    signals: PlaceSignals | None = None

    @property
    def key(self) -> tuple[str, int | None, str, str, str]:
        """What a context was built for: chain, year, level, universe, basis."""
        return self.chain_id, self.as_of, self.level, self.universe, self.basis

    def ancestors(self, node_id: str) -> tuple[str, ...]:
        """The node's ancestors, nearest first (none for a node outside the tree)."""
        return self.tree.ancestors(node_id) if node_id in self.tree else ()

    def kind(self, node_id: str) -> str:
        """The node's kind (production when unknown)."""
        return self.kinds.get(node_id, "production")


# --------------------------------------------------------------------------- links


def product_evidence(db: Database, chain: Chain | str, as_of: int | None = None,
                     products: str | None = None) -> pd.DataFrame:
    """Product-graph evidence per ordered node pair: source, target, relations, example.

    Node A supplies node B when a product of a firm on A is an upstream material of a
    product of another firm on B (:func:`chainatlas.analysis.supply.edge_evidence`); only
    firms founded or listed by ``as_of`` count, so a backtest never sees later firms.
    ``products`` ("placing", "all", "none") defaults to ``EVIDENCE_PRODUCTS``.
    """
    products = products or EVIDENCE_PRODUCTS
    if products == "none":
        return pd.DataFrame(columns=["source", "target", "relations", "example"])
    evidence = edge_evidence(db, as_chain(db, chain).chain_id, as_of, products)
    return evidence[["source", "target", "relations", "example"]]


def combine_links(edges: pd.DataFrame, evidence: pd.DataFrame,
                  directions: Directions | None = None) -> pd.DataFrame:
    """Template edges (source, target, template) merged with product evidence (source,
    target, relations, example). Pure.

    A template edge has weight 1; an evidence-only pair weight relations /
    ``EVIDENCE_FULL`` (at most 1). Product relations never set a direction: with
    ``directions`` an evidence pair is kept only where the model makes its source
    upstream of its target (evidence against the model, or between nodes it does not
    direct, is dropped); without it, evidence against a template edge is dropped and of
    two evidence-only directions the weaker one.
    """
    links = edges.merge(evidence, on=["source", "target"], how="outer")
    links["template"] = links["template"].astype("boolean").fillna(False).astype(bool)
    links["relations"] = links["relations"].fillna(0).astype(int)
    if directions is not None:
        keep = [directions.of(str(a), str(b)) == UPSTREAM
                for a, b in zip(links["source"], links["target"], strict=True)]
    else:
        strength = {(a, b): (t, r) for a, b, t, r in zip(
            links["source"], links["target"], links["template"], links["relations"],
            strict=True)}
        keep = [t or strength.get((b, a), (False, -1)) < (t, r)
                for (a, b), (t, r) in strength.items()]
    links = links[keep].reset_index(drop=True)
    evidence_weight = (links["relations"] / EVIDENCE_FULL).clip(upper=1.0)
    links["weight"] = evidence_weight.where(~links["template"], 1.0)
    return links


def supply_links(db: Database, chain: Chain | str, as_of: int | None = None,
                 products: str | None = None) -> pd.DataFrame:
    """Directed supply links between nodes: template edges plus the product evidence the
    direction model agrees with (see :func:`combine_links`)."""
    chain = as_chain(db, chain)
    evidence = product_evidence(db, chain, as_of, products)
    edges = db.df("SELECT source, target, true AS template FROM chain_edges "
                  "WHERE chain_id = ?", [chain.chain_id])
    return combine_links(edges, evidence, directions_from_store(db, chain))


def keyed_links(links: pd.DataFrame) -> tuple[dict[str, list[dict[str, Any]]],
                                              dict[str, list[dict[str, Any]]]]:
    """Links as rows keyed by target (incoming) and by source (outgoing). Pure."""
    incoming: dict[str, list[dict[str, Any]]] = {}
    outgoing: dict[str, list[dict[str, Any]]] = {}
    for link in links.to_dict("records"):
        row = {str(k): v for k, v in link.items()}
        incoming.setdefault(str(row["target"]), []).append(row)
        outgoing.setdefault(str(row["source"]), []).append(row)
    return incoming, outgoing


# --------------------------------------------------------------------------- density


def density_percentile(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``pct`` to a density table (columns mcp, density; a copy). Pure.

    The percentile is among the cells places lack (those a ranking compares): the share
    with a strictly lower density, so a place without any related firm scores 0, not a
    median. Cells a place holds (mcp = 1) get 1.
    """
    table = table.copy()
    absent = table["mcp"] == 0
    table["pct"] = 1.0
    if absent.sum() > 1:
        lower = table.loc[absent, "density"].rank(method="min") - 1
        table.loc[absent, "pct"] = lower / (int(absent.sum()) - 1)
    elif absent.any():
        table.loc[absent, "pct"] = 0.0
    return table


def chain_density(counts: pd.DataFrame, chain: Chain) -> pd.DataFrame:
    """The cross-chain density table of one chain's leaves: relatedness density over a
    :func:`presence_all` matrix, keeping this chain's leaf columns (named node_id). Pure
    apart from the density cache."""
    table = relatedness_density(counts)
    keys = {leaf_key(chain.chain_id, n.node_id): n.node_id for n in chain.leaves()}
    table = table[table["node_id"].isin(keys)].copy()
    table["node_id"] = table["node_id"].map(keys)
    return table.reset_index(drop=True)


# --------------------------------------------------------------------------- firms


def _top_firms(db: Database, chain: Chain, as_of: int | None, universe: str,
               per_node: int = 12) -> dict[str, list[dict[str, Any]]]:
    # enough per node that a few remain after dropping the region's own; primary lines
    # only, as for leaders: a pharmacy chain selling herbal pieces is no 饮片 maker
    frame = db.df(compose(
        "SELECT * FROM (SELECT f.node_id, c.short_name, f.province_adcode, f.city_adcode, "
        "f.region_adcode, row_number() OVER (PARTITION BY f.node_id ORDER BY {size}, "
        "f.confidence DESC, c.company_id) AS k FROM chain_firms f JOIN companies c "
        "USING (company_id) WHERE f.chain_id = {chain} AND {universe} AND {as_of} "
        "AND {primary}) WHERE k <= {per_node} ORDER BY node_id, k",
        size=size_order("c"), chain=param(chain.chain_id), as_of=first_year_by(as_of, "f"),
        primary=primary_sql("f"),
        universe=in_universe(universe, "f"), per_node=param(per_node)))
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.to_dict("records"):
        out.setdefault(str(row["node_id"]), []).append({str(k): v for k, v in row.items()})
    return out


def _biggest_leaf(db: Database, as_of: int | None, universe: str) -> int:
    """The largest count of the universe's firms on any leaf of any chain."""
    return int(db.scalar(compose(
        "SELECT max(n) FROM (SELECT count(DISTINCT f.company_id) AS n FROM chain_firms f "
        "JOIN chain_nodes c USING (chain_id, node_id) WHERE c.is_leaf AND {universe} "
        "AND {as_of} GROUP BY f.chain_id, f.node_id)",
        universe=in_universe(universe, "f"), as_of=first_year_by(as_of, "f"))) or 0)


# --------------------------------------------------------------------------- the context


def density_origin(db: Database, as_of: int | None, level: str,
                   basis: str) -> tuple[str, pd.DataFrame]:
    """The origin the density and place signals count, and its :func:`presence_all`
    matrix: ``basis``, or listed firms when a registry matrix has fewer than
    ``MIN_DENSITY_PLACES`` places (one loaded province says nothing about relatedness)."""
    counts = presence_all(db, as_of, level, basis)
    if basis != "listed" and len(counts.index) < MIN_DENSITY_PLACES:
        return "listed", presence_all(db, as_of, level, "listed")
    return basis, counts


def chain_context(db: Database, chain: Chain | str, as_of: int | None = None,
                  level: str = "city", universe: str | None = None,
                  basis: str | None = None, *,
                  signals: PlaceSignals | None = None) -> ChainContext:
    """Everything about a chain's ranking that does not depend on the region.

    Pass it to :func:`chainatlas.recommend.nodes.rank_nodes` to rank many regions of one
    level, chain, year, universe and LQ basis (the backtest does). ``basis`` (the origin
    the regions' LQ counts: listed or registry) defaults to the universe's own origin,
    listed for ``all``. ``signals`` (from :func:`place_signals` for the same year, level
    and density origin) saves rebuilding them for every chain; ValueError when they do
    not fit.
    """
    chain = as_chain(db, chain)
    universe = as_universe(db, universe)
    basis = basis or ("registry" if universe == "registry" else "listed")
    directions = directions_from_store(db, chain)
    incoming, outgoing = keyed_links(supply_links(db, chain, as_of))
    provinces = [] if universe == "listed" else registry_provinces(db)
    density_basis, counts = density_origin(db, as_of, level, basis)
    if signals is None:
        signals = place_signals(db, as_of, level, density_basis)
    elif (signals.as_of, signals.level, signals.basis) != (as_of, level, density_basis):
        raise ValueError(f"signals were built for {(signals.as_of, signals.level, signals.basis)}"
                         f", not for {(as_of, level, density_basis)} (year, level, origin)")
    table = density_percentile(chain_density(counts, chain))
    table = table.rename(columns={str(counts.index.name): level_column(level)})
    return ChainContext(chain.chain_id, as_of, level, table, incoming, outgoing, chain.tree,
                        _top_firms(db, chain, as_of, universe),
                        _biggest_leaf(db, as_of, universe), universe, basis, density_basis,
                        provinces, directions, {n.node_id: n.kind for n in chain.nodes},
                        signals)
