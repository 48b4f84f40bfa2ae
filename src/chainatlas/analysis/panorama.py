"""The chain panorama (产业链全景): per node, how many firms nationally and in a region.

Counts are of distinct firms placed on the node or any node below it (``firm_nodes``:
the classifier's placements with analysts' corrections applied). A roster firm that is
also a listed firm (``same_as``) is counted once, as the listed firm.

Top firms are ranked by a size measure: registered capital (万元), then employees, then
placement confidence. It is the size figure the open data has for nearly every listed
firm; revenue is not in it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, as_region
from chainatlas.store.query import FALSE, Q, compose, in_area, param, size_order, values

_TOP_COLUMNS = ("company_id", "short_name", "registered_capital", "employees", "confidence")
SIZE_MEASURE = "registered capital (万元), then employees"


def node_firms(db: Database, chain: Chain | str, region: Region | str | None = None,
               node_id: str | None = None) -> pd.DataFrame:
    """Firms on a chain's nodes (each node with its subtree), biggest first per node.

    Columns: node_id, company_id, short_name, full_name, origin, city_adcode,
    region_adcode, registered_capital, employees, confidence, method, evidence, is_local.
    ``node_id`` (an id or a Chinese name) keeps that node only.
    """
    chain = as_chain(db, chain)
    local = FALSE if region is None else _in(as_region(db, region))
    pairs = [(anc, n) for anc in ([chain.node(node_id).node_id] if node_id else chain.node_ids)
             for n in chain.subtree(anc)]
    return db.df(compose(
        "WITH sub AS (SELECT unnest({ancestors}) AS ancestor, unnest({nodes}) AS node_id) "
        "SELECT s.ancestor AS node_id, c.company_id, c.short_name, c.full_name, c.origin, "
        "c.city_adcode, c.region_adcode, c.registered_capital, c.employees, "
        "max(f.confidence) AS confidence, any_value(f.method) AS method, "
        "arg_max(f.evidence, f.confidence) AS evidence, ({local}) AS is_local "
        "FROM sub s JOIN firm_nodes f ON f.node_id = s.node_id AND f.chain_id = {chain} "
        "JOIN companies c ON c.company_id = f.company_id AND c.same_as IS NULL "
        "GROUP BY ALL ORDER BY node_id, {size}, confidence DESC, c.company_id",
        ancestors=values(a for a, _ in pairs), nodes=values(n for _, n in pairs),
        local=local, chain=param(chain.chain_id), size=size_order("c")))


def _in(region: Region) -> Q:
    return in_area(region.level, region.adcode, "c")


def chain_panorama(db: Database, chain: Chain | str, region: Region | str | None = None,
                   top: int = 5) -> dict[str, Any]:
    """Return the chain's node tree with national and regional firm counts and top firms."""
    chain = as_chain(db, chain)
    place = None if region is None else as_region(db, region)
    national, local, counts = top_firms(node_firms(db, chain, place), top)
    out_nodes = []
    for node in chain.nodes:
        node_id = node.node_id
        out_nodes.append({
            "node_id": node_id, "name_zh": node.name_zh, "name_en": node.name_en,
            "stage": node.stage, "level": node.level, "parent": node.parent,
            "is_leaf": node.is_leaf,
            "national_firms": counts.get(node_id, [0, 0])[0],
            "local_firms": counts.get(node_id, [0, 0])[1],
            "top_firms": national.get(node_id, []),
            "local_top_firms": local.get(node_id, []),
        })
    return {"chain_id": chain.chain_id, "name_zh": chain.name_zh, "name_en": chain.name_en,
            "region": None if place is None else place.summary(),
            "size_measure": SIZE_MEASURE, "nodes": out_nodes}


Grouped = dict[str, list[dict[str, Any]]]


def top_firms(firms: pd.DataFrame, top: int) -> tuple[Grouped, Grouped, dict[str, list[int]]]:
    """Per node: the ``top`` firms nationally and locally, and (national, local) counts.

    ``firms`` is :func:`node_firms`' frame, already biggest first per node. One pass over
    plain rows: slicing a DataFrame per node cost most of the call.
    """
    national: Grouped = {}
    local: Grouped = {}
    counts: dict[str, list[int]] = {}
    for row in firms[["node_id", *_TOP_COLUMNS, "is_local"]].to_dict("records"):
        node_id = str(row["node_id"])
        count = counts.setdefault(node_id, [0, 0])
        count[0] += 1
        firm = {k: (None if pd.isna(row[k]) else row[k]) for k in _TOP_COLUMNS}
        if count[0] <= top:
            national.setdefault(node_id, []).append(firm)
        if row["is_local"]:
            count[1] += 1
            if count[1] <= top:
                local.setdefault(node_id, []).append(firm)
    return national, local, counts
