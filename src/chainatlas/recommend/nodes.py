"""Which chain nodes a region should develop next (精准招商: 补链 / 延链 / 强链).

Candidates are the chain's LEAF nodes the region does not hold strongly: class 弱 or 缺 in
:func:`~chainatlas.analysis.regional.region_profile` (same as-of view and firm universe:
``universe`` listed, registry or all, default ``all`` once registry firms are loaded; each
result names it), and by default only PRODUCTION nodes (``kinds``): a 招商 bureau develops
what is made; trade, retail, service and operator nodes (医药批发, 零售药店, 医院, 通信运营)
follow local demand and licences, not supply links, and ``kinds=None`` shows them too. Each
gets six components in [0, 1] and a score (weights:
:data:`chainatlas.analysis.weights.NODE_WEIGHTS`):

- density: relatedness of the region's existing firms to the node, the product-space
  density of :mod:`chainatlas.recommend.relatedness` over the leaves of EVERY chain
  (places x all chains' leaves: a food-machinery node is related to a city's food
  processors, not only to its other equipment makers), counted on the profile's LQ basis
  (listed firms nationally, or registry firms of the loaded provinces; ``basis`` in the
  component). A registry matrix with fewer than ``MIN_DENSITY_PLACES`` places says
  nothing about relatedness and listed firms are used instead. A city uses its own row,
  a district its city's row, a province a province x leaf matrix. The component is the
  density's percentile among the chain's place x leaf cells places lack.
- peers (同类地区), nearby (周边布局), momentum (全国扩散): see
  :mod:`chainatlas.recommend.place_signals` — the share of the places most like the
  region that have the node, the distance-weighted share of places around it that have
  it, and how fast the node spread to new places in the last years.
- adjacency: supply links to the region's own nodes. Links are template edges (weight 1)
  and product evidence (weight relations / 3, capped at 1) only where the direction model
  (:mod:`chainatlas.chains.direction`) agrees: product relations never set a direction.
  On each side (upstream = nodes supplying the candidate, downstream = nodes it supplies)
  the region's 强 and 弱 neighbours are combined by noisy-or, a 弱 one counting half; a
  强 ancestor adds the hierarchy part. adjacency = min(1, 0.5 up + 0.5 down + 0.5 parent).
  A neighbour or ancestor whose local firms are all the candidate's own cited firms is
  no separate strength (one firm placed on both, or a parent strong only through the
  candidate) and does not count.
- availability: log(1 + firms of the universe on the node outside the region) /
  log(1 + the largest count of the universe's firms on any leaf of any chain).

The weights were chosen on one year of ``benchmarks/backtest_nodes.py`` (registry
history: which leaves cities first entered) and reported on the others; the benchmark's
docstring and analysis/weights.py say which and how.

Labels (strong = class 强 in the profile, inner nodes included):
- 强链: the node is 弱 — the region has a local base to strengthen.
- 补链: the node is 缺 and lies BETWEEN the region's strong nodes (a strong node upstream
  AND one downstream), or a strong ancestor contains it.
- 延链: the node is 缺 otherwise.

Reasons (:mod:`chainatlas.recommend.node_reasons`) come with structured ``claims`` and
``explain`` rows (:func:`chainatlas.analysis.explain.explain`): every component's value,
weight, points and raw figure. ``as_of`` builds every figure from firms founded or listed
by that year.

The ranking is a query step (:func:`~chainatlas.recommend.node_context.chain_context`,
region-independent, and the region's profile) and a pure scoring step
(:func:`score_node_candidates`) that needs no store.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pandas as pd

from chainatlas.analysis.regional import region_profile
from chainatlas.analysis.weights import NODE_WEIGHTS
from chainatlas.chains.direction import DOWNSTREAM, UPSTREAM
from chainatlas.chains.signals import noisy_or
from chainatlas.recommend.node_context import (
    EVIDENCE_FULL,
    EVIDENCE_PRODUCTS,
    MIN_DENSITY_PLACES,
    ChainContext,
    chain_context,
    combine_links,
    density_percentile,
    product_evidence,
    supply_links,
)
from chainatlas.recommend.node_reasons import MISSING, STRONG, WEAK, node_explain, node_reasons
from chainatlas.recommend.place_signals import signal_figures
from chainatlas.recommend.priorities import priorities_of, raise_priorities
from chainatlas.recommend.relatedness import leaf_key
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, as_region
from chainatlas.store.query import UNIVERSES, level_column

__all__ = ["EVIDENCE_FULL", "EVIDENCE_PRODUCTS", "MIN_DENSITY_PLACES", "NODE_WEIGHTS",
           "PRODUCTION_KINDS", "WEIGHTS", "ChainContext", "chain_context", "combine_links",
           "density_percentile", "density_place", "product_evidence", "rank_nodes",
           "score_node_candidates", "supply_links"]

#: The score's weights (the one place is analysis.weights; kept under this name for
#: callers that read it from here).
WEIGHTS = NODE_WEIGHTS
#: Parts of the adjacency component: upstream side, downstream side, strong ancestor.
SIDE_WEIGHTS: dict[str, float] = {"upstream": 0.5, "downstream": 0.5, "parent": 0.5}
#: A 弱 neighbour counts this fraction of a 强 one in the adjacency component.
WEAK_NEIGHBOUR = 0.5
#: Firms named per node (local firms of a neighbour, of the node, targets outside).
NAMED_FIRMS = 3
#: The node kinds ranked by default (see the module docs; ``kinds=None``: every kind).
PRODUCTION_KINDS: tuple[str, ...] = ("production",)

#: A node of a region profile (see :func:`score_node_candidates`).
Node = Mapping[str, Any]


def density_place(region: Region) -> tuple[str, str | None]:
    """The (level, adcode) whose density row stands for ``region`` (see module docs)."""
    if region.level in ("province", "city"):
        return region.level, region.adcode
    return "city", region.parent


# --------------------------------------------------------------------------- components


def _cited(node: Node) -> list[dict[str, Any]]:
    return list(node["local_leaders"])[:NAMED_FIRMS]


def _firm_ids(firms: Sequence[Mapping[str, Any]]) -> set[str]:
    return {str(f.get("company_id") or f["short_name"]) for f in firms}


def _firm_names(firms: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(f["short_name"] or f["company_id"]) for f in firms]


def _only_own_firms(peer: Node, own: set[str]) -> bool:
    """Whether all of ``peer``'s local firms are among the candidate's own cited firms:
    then it is no separate strength (one firm placed on both, or a parent strong only
    through the candidate's own firms)."""
    shared = sum(1 for f in _cited(peer) if str(f.get("company_id") or f["short_name"]) in own)
    return shared > 0 and int(peer["local_firms"]) <= shared


def _peer_row(node_id: str, peer: Node, row: Mapping[str, Any],
              own: set[str]) -> dict[str, Any] | None:
    """A neighbour as the components show it, or None when its local firms are all the
    candidate's own cited firms (no separate strength)."""
    if _only_own_firms(peer, own):
        return None
    firms = [f for f in _cited(peer) if str(f.get("company_id") or f["short_name"]) not in own]
    factor = 1.0 if peer["class"] == STRONG else WEAK_NEIGHBOUR
    return {"node_id": peer["node_id"], "name_zh": peer["name_zh"], "class": peer["class"],
            "edge": "template" if row["template"] else "product",
            "relations": int(row["relations"]),
            "example": None if pd.isna(row["example"]) else str(row["example"]),
            "weight": round(float(row["weight"]) * factor, 4),
            "local_firms": _firm_names(firms)}


def _neighbours(node: Node, side: str, context: ChainContext,
                nodes: Mapping[str, Node]) -> list[dict[str, Any]]:
    """The region's 强/弱 nodes linked to ``node`` on one side, strongest link first;
    only sides the direction model gives (when the context has it)."""
    node_id = str(node["node_id"])
    if side == UPSTREAM:
        rows, other = context.incoming.get(node_id, []), "source"
    else:
        rows, other = context.outgoing.get(node_id, []), "target"
    related = set(context.ancestors(node_id))
    own = _firm_ids(_cited(node))
    out = []
    for row in rows:
        peer = nodes.get(str(row[other]))
        if peer is None or peer["class"] == MISSING or peer["node_id"] in related or (
                node_id in context.ancestors(peer["node_id"])):
            continue
        if context.directions is not None and context.directions.of(
                str(peer["node_id"]), node_id) != side:
            continue
        shown = _peer_row(node_id, peer, row, own)
        if shown is not None:
            out.append(shown)
    return sorted(out, key=lambda n: (n["class"] != STRONG, -n["weight"], n["node_id"]))


def _adjacency(node: Node, context: ChainContext, nodes: Mapping[str, Node]) -> dict[str, Any]:
    up = _neighbours(node, UPSTREAM, context, nodes)
    down = _neighbours(node, DOWNSTREAM, context, nodes)
    own = _firm_ids(_cited(node))
    parent = next((nodes[a] for a in context.ancestors(str(node["node_id"]))
                   if a in nodes and nodes[a]["class"] == STRONG
                   and not _only_own_firms(nodes[a], own)), None)
    parts = {"upstream": noisy_or([n["weight"] for n in up]),
             "downstream": noisy_or([n["weight"] for n in down]),
             "parent": 1.0 if parent else 0.0}
    value = min(1.0, sum(SIDE_WEIGHTS[k] * v for k, v in parts.items()))
    return {"value": round(value, 4), "parts": {k: round(v, 4) for k, v in parts.items()},
            "upstream": up, "downstream": down,
            "strong_parent": None if parent is None else {
                "node_id": parent["node_id"], "name_zh": parent["name_zh"],
                "local_firms": _firm_names(_cited(parent))}}


def _label(node: Node, adjacency: Mapping[str, Any]) -> str:
    if node["class"] == WEAK:
        return "强链"
    strong_up = any(n["class"] == STRONG for n in adjacency["upstream"])
    strong_down = any(n["class"] == STRONG for n in adjacency["downstream"])
    return "补链" if (strong_up and strong_down) or adjacency["strong_parent"] else "延链"


def _availability(node: Node, region: Region, context: ChainContext) -> dict[str, Any]:
    national = int(node["national_firms"])
    outside = national - int(node["local_firms"])
    # firms under special treatment (ST, *ST) are poor targets: left out of the names
    targets = [str(f["short_name"]) for f in context.top_firms.get(node["node_id"], [])
               if f[region.column] != region.adcode and f["short_name"]
               and "ST" not in str(f["short_name"]).upper()][:NAMED_FIRMS]
    biggest = context.biggest_leaf
    value = math.log1p(outside) / math.log1p(biggest) if biggest > 0 else 0.0
    return {"value": round(min(1.0, value), 4), "national_firms": national,
            "outside_firms": outside, "targets": targets}


def _density_component(context: ChainContext, place: str | None, own_row: bool,
                       leaves: list[str]) -> dict[str, dict[str, Any]]:
    table = context.density
    rows = table[table[level_column(context.level)] == place]
    row = {str(r["node_id"]): (float(r["density"]), float(r["pct"]))
           for r in rows.to_dict("records")}
    values = [row.get(n, (0.0, 0.0))[0] for n in leaves]
    median = statistics.median(values) if values else 0.0
    place_firms = len(row)  # the density table only has places with firms
    return {n: {"value": round(row.get(n, (0.0, 0.0))[1], 4),
                "density": round(row.get(n, (0.0, 0.0))[0], 4),
                "median": round(median, 4), "place": place, "own_row": own_row,
                "place_firms": place_firms, "basis": context.density_basis}
            for n in leaves}


def _signals(context: ChainContext, place: str | None, node_id: str) -> dict[str, Any]:
    if context.signals is None:
        return {"peers": {"value": 0.0, "peers": 0, "with_node": 0, "examples": []},
                "nearby": {"value": 0.0, "nearest": [], "scale_km": 0.0},
                "momentum": {"value": 0.0, "entered": 0, "lacking": 0, "share": 0.0,
                             "years": (0, 0)}}
    return signal_figures(context.signals, place, leaf_key(context.chain_id, node_id))


# --------------------------------------------------------------------------- scoring


def _recommend(node: Node, region: Region, context: ChainContext, place: str | None,
               density: dict[str, Any], nodes: Mapping[str, Node]) -> dict[str, Any]:
    adjacency = _adjacency(node, context, nodes)
    components = {"density": density, **_signals(context, place, str(node["node_id"])),
                  "adjacency": adjacency, "availability": _availability(node, region, context)}
    label = _label(node, adjacency)
    score = sum(w * float(components[k]["value"]) for k, w in NODE_WEIGHTS.items())
    cited = {**node, "base_firms": _firm_names(_cited(node))}
    reasons, claims = node_reasons(cited, label, components, context)
    return {"node_id": node["node_id"], "name_zh": node["name_zh"], "stage": node["stage"],
            "kind": context.kind(str(node["node_id"])), "class": node["class"],
            "label": label, "score": round(score, 4), "universe": context.universe,
            "universe_zh": UNIVERSES[context.universe], "components": components,
            "explain": node_explain(components, context), "reasons_zh": reasons,
            "claims": claims}


def score_node_candidates(profile_nodes: Sequence[Mapping[str, Any]], context: ChainContext,
                          region: Region,
                          kinds: Collection[str] | None = PRODUCTION_KINDS
                          ) -> list[dict[str, Any]]:
    """The pure scoring step: rank the 弱/缺 leaves of a region profile, best first.

    ``profile_nodes`` are the ``nodes`` of :func:`~chainatlas.analysis.regional.
    region_profile` (node_id, name_zh, stage, is_leaf, class, national_firms,
    local_firms, lq, local_leaders); ``context`` the chain's :func:`chain_context` at
    the level :func:`density_place` picks for ``region``, for the profile's universe and
    LQ basis. Only leaves of ``kinds`` are ranked (None: every kind); the other
    nodes still count as the region's strengths and links. Each result names the
    context's universe.
    """
    _, place = density_place(region)
    nodes = {str(n["node_id"]): n for n in profile_nodes}
    leaves = [n for n in profile_nodes if n["is_leaf"]]
    density = _density_component(context, place, place == region.adcode,
                                 [n["node_id"] for n in leaves])
    ranked = [_recommend(n, region, context, place, density[n["node_id"]], nodes)
              for n in leaves if n["class"] != STRONG
              and (kinds is None or context.kind(str(n["node_id"])) in kinds)]
    order = {n["node_id"]: i for i, n in enumerate(leaves)}
    ranked.sort(key=lambda r: (-r["score"],
                               -r["components"]["availability"]["national_firms"],
                               order[r["node_id"]]))
    for i, row in enumerate(ranked, start=1):
        row["rank"] = i
    return ranked


def rank_nodes(db: Database, region: Region | str, chain: Chain | str,
               as_of: int | None = None, top: int | None = None, *,
               context: ChainContext | None = None, universe: str | None = None,
               kinds: Collection[str] | None = PRODUCTION_KINDS) -> list[dict[str, Any]]:
    """Rank the chain's leaf nodes a region lacks or holds weakly, best first, counting
    the firms of ``universe`` (None: the default); only nodes of ``kinds`` (default
    production; None: every kind).

    ``region`` and ``chain`` are typed values or their ids / Chinese names (NotFoundError
    otherwise). Each result: node_id, name_zh, stage, kind, class (弱/缺), label
    (补链/延链/强链), score in [0, 1], rank, universe, universe_zh, components (each with
    ``value`` in [0, 1] and the figures behind it), explain rows, reasons_zh and their
    claims. ``context`` (from :func:`chain_context`, same chain, year, density level,
    universe and LQ basis) saves rebuilding it; ValueError when it does not fit.
    """
    region, chain = as_region(db, region), as_chain(db, chain)
    level, _ = density_place(region)
    profile = region_profile(db, region, chain, as_of, universe)
    key = (chain.chain_id, as_of, level, profile["universe"], profile["lq_basis"]["origin"])
    if context is None:
        context = chain_context(db, chain, as_of, level, key[3], key[4])
    elif context.key != key:
        raise ValueError(f"context was built for {context.key}, not for {key} "
                         "(chain, year, place level, universe, LQ basis)")
    ranked = score_node_candidates(profile["nodes"], context, region, kinds)
    priorities = priorities_of(db, region.adcode, chain.chain_id)
    if priorities:  # the region's accepted plans name these nodes (recommend/priorities)
        ranked = raise_priorities(ranked, priorities, chain.tree)
    return ranked if top is None else ranked[:top]
