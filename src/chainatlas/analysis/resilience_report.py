"""Resilience entry points on the store: what a CLI, API or page calls (issue 12).

Each takes the store, a region and a chain (typed values or their text), the level
(``node``: production leaf nodes, every firm of the universe; ``product``: listed firms'
products) and θ, and returns plain dicts (records, no frames) or, for scans, a frame:

- :func:`region_resilience`: per unit supplier counts, concentration, local share,
  self-sufficiency at every θ, single points of failure, influence, 卡脖子 marks, and a
  summary;
- :func:`region_whatif`: removal of firms and/or whole areas, propagated (see
  :mod:`chainatlas.analysis.whatif`);
- :func:`removal_curves_report`: Monte-Carlo random versus targeted removal curves;
- :func:`scan_regions`: the per-unit frame of many regions at once (benchmarks, maps).

Every output names its level, universe, θ and carries ``limits_zh`` / ``limits``.
The models and measures are those of :mod:`chainatlas.analysis.resilience`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from chainatlas.analysis.chokepoints import (
    ChokepointList,
    builtin_chokepoints,
    mark_chokepoints,
    on_chain,
)
from chainatlas.analysis.regional import describe_universe
from chainatlas.analysis.resilience import (
    DEFAULT_THETA,
    THETAS,
    Network,
    Place,
    Statics,
    check_theta,
    limits,
    region_frame,
    spof_table,
    statics_from_network,
)
from chainatlas.analysis.resilience_graph import LEVELS_ZH, chain_network
from chainatlas.analysis.whatif import FRACTIONS, STRATEGIES, Removal, removal_curves, whatif_result
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, as_region, firm_from_text

# Statics per network object and θ (influence needs one fixed point per unit): a scan of
# 50 cities reuses them. Keyed by id() with the network kept alive beside them.
_STATICS: dict[int, tuple[Network, dict[float, Statics]]] = {}
_STATICS_KEPT = 16


def place_from_region(region: Region) -> Place:
    """The measures' view of a region."""
    return Place(region.level, region.adcode, region.province_adcode)


def network_statics(net: Network, theta: float) -> Statics:
    """:func:`statics_from_network`, computed once per network and θ."""
    kept = _STATICS.get(id(net))
    if kept is None or kept[0] is not net:
        if len(_STATICS) >= _STATICS_KEPT:
            _STATICS.clear()
        kept = (net, {})
        _STATICS[id(net)] = kept
    if theta not in kept[1]:
        kept[1][theta] = statics_from_network(net, theta)
    return kept[1][theta]


def clean(value: Any) -> Any:
    """JSON-ready values: NaN to None, numpy scalars to Python, floats to 4 places."""
    if isinstance(value, list):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as JSON-ready dicts."""
    return [{str(k): clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def resilience_frame(db: Database, region: Region | str, chain: Chain | str,
                     level: str = "node", universe: str | None = None,
                     as_of: int | None = None, theta: float = DEFAULT_THETA,
                     points: ChokepointList | None = None) -> pd.DataFrame:
    """The per-unit frame of :func:`chainatlas.analysis.resilience.region_frame` for a
    stored chain and region, with ``node_id`` and ``chokepoints`` columns."""
    region, chain = as_region(db, region), as_chain(db, chain)
    theta = check_theta(theta)
    net = chain_network(db, chain, level, universe, as_of)
    frame = region_frame(net, place_from_region(region), theta, network_statics(net, theta))
    unit_nodes = dict(net.meta.get("unit_nodes", {}))
    frame.insert(2, "node_id", [unit_nodes.get(u) for u in frame["unit_id"]])
    own = net.meta.get("chain_units")
    frame.insert(3, "on_chain", True if own is None else frame["unit_id"].isin(set(own)))
    return mark_chokepoints(frame, chain.chain_id,
                            unit_nodes if net.level == "product" else None,
                            points or builtin_chokepoints())


def _summary(frame: pd.DataFrame) -> dict[str, Any]:
    supplied = frame[frame["national_firms"] > 0]
    local = frame[frame["local_firms"] > 0]
    return {
        "units": len(frame), "units_with_domestic_supply": len(supplied),
        "units_with_local_supply": len(local),
        "self_sufficient": {f"{t:g}": int(frame[f"self_sufficient_{t:g}"].sum())
                            for t in THETAS},
        "single_points_of_failure": int(frame["single_local_firm"].sum()),
        "outside_dependence_mean": clean(float(supplied["outside_dependence"].mean()))
        if len(supplied) else None,
        "chokepoint_units": int(frame["chokepoints"].map(bool).sum()),
        "chokepoint_units_without_local_supply": int(
            (frame["chokepoints"].map(bool) & (frame["local_firms"] == 0)).sum())}


def _header(db: Database, region: Region, chain: Chain, net: Network, theta: float
            ) -> dict[str, Any]:
    return {"region": region.summary(), "chain_id": chain.chain_id,
            "chain_name": chain.name_zh, "level": net.level,
            "level_zh": LEVELS_ZH[net.level], "theta": theta, "thetas": list(THETAS),
            "as_of": net.meta.get("as_of"), "firms": len(net.firm_ids),
            "inner_only_firms": net.meta.get("inner_only_firms", 0),
            **describe_universe(db, str(net.meta.get("universe"))),
            **limits(net.level)}


def region_resilience(db: Database, region: Region | str, chain: Chain | str,
                      level: str = "node", universe: str | None = None,
                      as_of: int | None = None, theta: float = DEFAULT_THETA,
                      top: int = 10, points: ChokepointList | None = None
                      ) -> dict[str, Any]:
    """The region's resilience on a chain: ``units`` (every unit's figures), ``spof``
    (the ``top`` single points of failure), ``summary``, ``chokepoints`` (the 卡脖子
    items on the chain with the region's local firms on their nodes), and the header
    fields (region, chain, level, universe, θ, limits)."""
    region, chain = as_region(db, region), as_chain(db, chain)
    chosen = points or builtin_chokepoints()
    frame = resilience_frame(db, region, chain, level, universe, as_of, theta, chosen)
    net = chain_network(db, chain, level, universe, as_of)
    local_by_node = frame.groupby("node_id")["local_firms"].sum().to_dict()
    return {**_header(db, region, chain, net, check_theta(theta)),
            "summary": _summary(frame), "units": records(frame),
            "spof": records(spof_table(frame, top)),
            "chokepoints": [{**item.record(), "local_firms": {
                node: int(local_by_node.get(node, 0)) for c, node in item.nodes
                if c == chain.chain_id}} for item in on_chain(chosen, chain.chain_id)]}


def removal_from_text(db: Database, firms: Sequence[str] = (),
                      regions: Sequence[Region | str] = (),
                      known: frozenset[str] = frozenset()) -> Removal:
    """A :class:`Removal` from firm texts (id, code, name) and regions (text or typed).
    Ids in ``known`` (the network's firms) are taken as they are: resolving text scans
    the million-row firm table."""
    ids = tuple(f if f in known else str(firm_from_text(db, f)["company_id"])
                for f in firms)
    areas = tuple((r.level, r.adcode) for r in (as_region(db, x) for x in regions))
    return Removal(ids, areas)


def region_whatif(db: Database, region: Region | str, chain: Chain | str,
                  firms: Sequence[str] = (), remove_regions: Sequence[Region | str] = (),
                  level: str = "node", universe: str | None = None,
                  as_of: int | None = None, theta: float = DEFAULT_THETA) -> dict[str, Any]:
    """What the region loses when ``firms`` and every firm of ``remove_regions`` go: the
    result of :func:`chainatlas.analysis.whatif.whatif_result` with the header fields and
    the removed regions named."""
    region, chain = as_region(db, region), as_chain(db, chain)
    net = chain_network(db, chain, level, universe, as_of)
    removal = removal_from_text(db, firms, remove_regions, frozenset(net.firm_ids))
    result = whatif_result(net, removal, place_from_region(region), check_theta(theta))
    result["removed"]["regions"] = [as_region(db, r).summary() for r in remove_regions]
    return {**_header(db, region, chain, net, check_theta(theta)), **result}


def removal_curves_report(db: Database, chain: Chain | str, region: Region | str | None = None,
                          level: str = "node", universe: str | None = None,
                          as_of: int | None = None, theta: float = DEFAULT_THETA,
                          fractions: Sequence[float] = FRACTIONS, runs: int = 50,
                          seed: int = 0, strategies: Sequence[str] = STRATEGIES
                          ) -> dict[str, Any]:
    """Monte-Carlo curves (:func:`chainatlas.analysis.whatif.removal_curves`) of the
    region's firms (or of every firm when ``region`` is None) as records, with the
    population, seed and runs."""
    chain = as_chain(db, chain)
    place = None if region is None else as_region(db, region)
    net = chain_network(db, chain, level, universe, as_of)
    curves = removal_curves(net, None if place is None else place_from_region(place),
                            fractions, runs, seed, check_theta(theta), strategies)
    return {"chain_id": chain.chain_id, "chain_name": chain.name_zh, "level": net.level,
            "region": None if place is None else place.summary(), "theta": theta,
            **{k: curves.attrs[k] for k in ("population", "baseline_units", "seed", "runs")},
            "curves": records(curves), **limits(net.level)}


def scan_regions(db: Database, chain: Chain | str, regions: Sequence[Region | str],
                 level: str = "node", universe: str | None = None,
                 as_of: int | None = None, theta: float = DEFAULT_THETA) -> pd.DataFrame:
    """Every unit of every region (``region_adcode``, ``region_name`` first), one frame."""
    chain = as_chain(db, chain)
    frames = []
    for text in regions:
        region = as_region(db, text)
        frame = resilience_frame(db, region, chain, level, universe, as_of, theta)
        frame.insert(0, "region_adcode", region.adcode)
        frame.insert(1, "region_name", region.name)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out.attrs.update(limits(level))
    return out
