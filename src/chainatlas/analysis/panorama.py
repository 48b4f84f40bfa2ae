"""The chain panorama (产业链全景): per node, how many firms nationally and in a region.

Counts are of distinct firms placed on the node or any node below it (``firm_nodes``:
the classifier's placements with analysts' corrections applied), among the firms of one
universe (listed, registry or all; default ``all`` once registry firms are loaded, see
:mod:`chainatlas.analysis.regional`): every output names it and what it covers. A roster
firm that is also a listed firm (``same_as``) is counted once, as the listed firm.

Top firms are ranked by a size measure: registered capital (万元), then employees, then
placement confidence. It is the size figure the open data has for nearly every listed
firm; revenue is not in it.

Evidence: a firm placed by its business scope (registry and roster firms) carries the
scope items (经营范围条目) that placed it
(:func:`chainatlas.chains.evidence.placing_scope_items`), shown beside the
one-line evidence of :func:`chainatlas.chains.evidence.evidence_zh`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from chainatlas.analysis.regional import describe_universe
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, as_region, as_universe
from chainatlas.store.query import (
    FALSE,
    Q,
    compose,
    in_area,
    in_universe,
    param,
    size_order,
    values,
)

_TOP_COLUMNS = ("company_id", "short_name", "origin", "registered_capital", "employees",
                "confidence")
SIZE_MEASURE = "registered capital (万元), then employees"


def node_firms(db: Database, chain: Chain | str, region: Region | str | None = None,
               node_id: str | None = None, universe: str | None = None, *,
               local_first: bool = False, limit: int | None = None) -> pd.DataFrame:
    """Firms of the universe on a chain's nodes (each node with its subtree), biggest
    first per node (the region's own first with ``local_first``), at most ``limit`` per
    node; ``attrs["universe"]`` names the universe.

    Columns: node_id, company_id, short_name, full_name, origin, city_adcode,
    region_adcode, registered_capital, employees, confidence, method, evidence, is_local.
    ``node_id`` (an id or a Chinese name) keeps that node only.
    """
    chain = as_chain(db, chain)
    chosen = as_universe(db, universe)
    local = FALSE if region is None else _in(as_region(db, region))
    pairs = [(anc, n) for anc in ([chain.node(node_id).node_id] if node_id else chain.node_ids)
             for n in chain.subtree(anc)]
    frame = db.df(compose(
        "WITH sub AS (SELECT unnest({ancestors}) AS ancestor, unnest({nodes}) AS node_id), "
        "firms AS (SELECT s.ancestor AS node_id, c.company_id, c.short_name, c.full_name, "
        "c.origin, c.city_adcode, c.region_adcode, c.registered_capital, c.employees, "
        "max(f.confidence) AS confidence, any_value(f.method) AS method, "
        "arg_max(f.evidence, f.confidence) AS evidence, ({local}) AS is_local "
        "FROM sub s JOIN firm_nodes f ON f.node_id = s.node_id AND f.chain_id = {chain} "
        "JOIN companies c ON c.company_id = f.company_id AND c.same_as IS NULL "
        "WHERE {universe} GROUP BY ALL) "
        "SELECT * FROM firms c "
        "QUALIFY row_number() OVER (PARTITION BY c.node_id ORDER BY {order}) <= {limit} "
        "ORDER BY c.node_id, {order}",
        ancestors=values(a for a, _ in pairs), nodes=values(n for _, n in pairs),
        local=local, chain=param(chain.chain_id), universe=in_universe(chosen, "c"),
        order=compose("{first}{size}, c.confidence DESC, c.company_id",
                      first=Q("c.is_local DESC, " if local_first else ""),
                      size=size_order("c")),
        limit=param(limit if limit is not None else 2**62)))
    frame.attrs["universe"] = chosen
    return frame


def _in(region: Region) -> Q:
    return in_area(region.level, region.adcode, "c")


def chain_panorama(db: Database, chain: Chain | str, region: Region | str | None = None,
                   top: int = 5, universe: str | None = None) -> dict[str, Any]:
    """Return the chain's node tree with national and regional firm counts and top firms,
    counting the firms of ``universe`` (None: the default)."""
    chain = as_chain(db, chain)
    place = None if region is None else as_region(db, region)
    about = describe_universe(db, universe)
    national, local, counts = top_firms(_ranked(db, chain, place, top, about["universe"]),
                                        top)
    out_nodes = []
    for node in chain.nodes:
        node_id = node.node_id
        out_nodes.append({
            "node_id": node_id, "name_zh": node.name_zh, "name_en": node.name_en,
            "stage": node.stage, "level": node.level, "parent": node.parent,
            "is_leaf": node.is_leaf,
            "national_firms": counts.get(node_id, (0, 0))[0],
            "local_firms": counts.get(node_id, (0, 0))[1],
            "top_firms": national.get(node_id, []),
            "local_top_firms": local.get(node_id, []),
        })
    return {"chain_id": chain.chain_id, "name_zh": chain.name_zh, "name_en": chain.name_en,
            "region": None if place is None else place.summary(), **about,
            "size_measure": SIZE_MEASURE, "nodes": out_nodes}


def _ranked(db: Database, chain: Chain, place: Region | None, top: int,
            universe: str) -> pd.DataFrame:
    """Per node the ``top`` firms nationally and locally, with both ranks and counts.

    Ranked in SQL on ``chain_firms`` (the same firms, each node with its subtree, as
    :func:`node_firms`): with the registry loaded a chain holds ten thousand firms and
    more, and only a few per node are shown.
    """
    local = FALSE if place is None else in_area(place.level, place.adcode, "f")
    order = compose("{size}, f.confidence DESC, f.company_id", size=size_order("c"))
    return db.df(compose(
        "WITH ranked AS (SELECT f.node_id, f.company_id, c.short_name, f.origin, "
        "c.registered_capital, c.employees, f.confidence, ({local}) AS is_local, "
        "row_number() OVER (PARTITION BY f.node_id ORDER BY {order}) AS k, "
        "row_number() OVER (PARTITION BY f.node_id, ({local}) ORDER BY {order}) AS k_local, "
        "count(*) OVER (PARTITION BY f.node_id) AS national, "
        "sum(({local})::INTEGER) OVER (PARTITION BY f.node_id) AS local "
        "FROM chain_firms f JOIN companies c USING (company_id) "
        "WHERE f.chain_id = {chain} AND {universe}) "
        "SELECT * FROM ranked WHERE k <= {top} OR (is_local AND k_local <= {top}) "
        "ORDER BY node_id, k",
        local=local, order=order, chain=param(chain.chain_id),
        universe=in_universe(universe, "f"), top=param(int(top))))


Grouped = dict[str, list[dict[str, Any]]]


def top_firms(ranked: pd.DataFrame, top: int
              ) -> tuple[Grouped, Grouped, dict[str, tuple[int, int]]]:
    """Per node: the ``top`` firms nationally (rank ``k``) and locally (``k_local`` among
    the local ones), and the (national, local) counts.

    ``ranked``: :func:`_ranked`'s rows (node_id, the firm columns, is_local, k, k_local,
    national, local), best first per node. Pure.
    """
    national: Grouped = {}
    local: Grouped = {}
    counts: dict[str, tuple[int, int]] = {}
    for row in ranked.to_dict("records"):
        node_id = str(row["node_id"])
        counts[node_id] = (int(row["national"]), int(row["local"]))
        firm = {k: (None if pd.isna(row[k]) else row[k]) for k in _TOP_COLUMNS}
        if int(row["k"]) <= top:
            national.setdefault(node_id, []).append(firm)
        if row["is_local"] and int(row["k_local"]) <= top:
            local.setdefault(node_id, []).append(firm)
    return national, local, counts
