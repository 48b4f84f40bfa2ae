"""Which chain nodes a region should develop next (精准招商: 补链 / 延链 / 强链).

Candidates are the chain's LEAF nodes the region does not hold strongly: class 弱 or 缺 in
:func:`~chainatlas.analysis.regional.region_profile` (same as-of view and firm universe:
``universe`` listed, registry or all, default ``all`` once registry firms are loaded; each
result names it). Each gets three components in [0, 1] and a score:

- density: relatedness of the region's existing chain firms to the node, the product-space
  density of :mod:`chainatlas.recommend.relatedness` (cities x leaf nodes), counted on the
  profile's LQ basis: listed firms nationally, or registry firms of the loaded provinces
  (``basis`` in the component). A registry basis with fewer than ``MIN_DENSITY_PLACES``
  places at the level (a province when one province is loaded) says nothing about
  relatedness, and listed firms are used instead.
  A city uses its own row; a district uses its city's row (district matrices are too
  sparse, and a city's firms are the district's hinterland); a province is computed on a
  province x node matrix. The component is the density's percentile among all place x
  leaf cells of the chain that places lack (Mcp = 0): the share of them with a strictly
  lower density, so it reads alike across chains and is 0 without any related firm.
- adjacency: supply links to the region's own nodes. Two nodes are linked when the chain
  template has an edge between them (weight 1) or the product graph has evidence (a firm's
  product is an upstream material of another firm's product; weight relations / 3, capped
  at 1; evidence against a template edge's direction is dropped). Links between a node and
  its own ancestors do not count. On each side (upstream = nodes supplying the candidate,
  downstream = nodes it supplies) the region's 强 and 弱 neighbours are combined by
  noisy-or, a 弱 one counting half; a 强 ancestor (the candidate sits in a strong parent's
  subtree) adds the hierarchy part. adjacency = min(1, 0.5 up + 0.5 down + 0.5 parent).
- availability: how many firms there are to attract: log(1 + firms of the universe on
  the node outside the region) / log(1 + the largest count of the universe's firms on any
  leaf of any chain), so scores compare across chains. Under ``registry`` or ``all`` the
  registry part covers the loaded provinces only; the reasons say so.

score = 0.40 density + 0.05 adjacency + 0.55 availability (``WEIGHTS``), the best of a
0.05-step weight grid on the 2010 view of ``benchmarks/backtest_nodes.py`` only (predicting
the city x leaf nodes that gain their first listed firm in 2011-2015), then checked on the
2013 and 2016 views. In that data adjacency adds little ranking signal beyond density
(listed-firm entries follow national popularity and co-location far more than supply
links), so it weighs little in the score; it still decides the labels and the reasons.
Product evidence uses all of a firm's products (``EVIDENCE_PRODUCTS``), as
:func:`chainatlas.analysis.supply.edge_evidence` does: on the 2010 view it was slightly ahead
(about two hits) of template edges alone and of counting only the products that placed a
firm (those link almost no node pairs). The price: a diversified firm's side products can
link unrelated nodes, so a reason cites such a link by its relation count and leaves the
example pair to the components.

Labels (strong = class 强 in the profile, inner nodes included):
- 强链: the node is 弱 — the region has a local base to strengthen.
- 补链: the node is 缺 and lies BETWEEN the region's strong nodes: a strong node links into
  it from upstream AND it links to a strong node downstream, or a strong ancestor contains
  it (a gap inside a chain segment the region already leads).
- 延链: the node is 缺 otherwise — it extends the local chain beyond its ends (strong
  neighbours on one side only) or starts a new segment (no strong neighbour).

``as_of`` builds every figure (classes, density, availability, product evidence, firms to
attract) from firms founded or listed by that year.

The weights were tuned on listed firms only; with the registry they rank the same
components computed on more firms, not re-tuned ones.

The ranking is a query step (:func:`chain_context`, region-independent, and the region's
:func:`~chainatlas.analysis.regional.region_profile`) and a pure scoring step
(:func:`score_node_candidates`) that needs no store.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from chainatlas.analysis.regional import (
    FIRMS_NOUN_ZH,
    STRONG_MIN_FIRMS,
    provinces_zh,
    region_profile,
    registry_provinces,
)
from chainatlas.analysis.supply import edge_evidence
from chainatlas.chains.signals import noisy_or
from chainatlas.recommend.relatedness import density_table
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, NodeTree, Region, as_chain, as_region, as_universe
from chainatlas.store.query import (
    UNIVERSES,
    compose,
    first_year_by,
    in_universe,
    level_column,
    param,
    size_order,
)

#: Weights of the score's components (sum 1), tuned on the 2010 backtest view.
WEIGHTS: dict[str, float] = {"density": 0.4, "adjacency": 0.05, "availability": 0.55}
#: Parts of the adjacency component: upstream side, downstream side, strong ancestor.
SIDE_WEIGHTS: dict[str, float] = {"upstream": 0.5, "downstream": 0.5, "parent": 0.5}
#: A 弱 neighbour counts this fraction of a 强 one in the adjacency component.
WEAK_NEIGHBOUR = 0.5
#: Product relations that make a product-evidence link as strong as a template edge.
EVIDENCE_FULL = 3
#: Which products of a firm count as product-graph evidence for its node (see
#: :func:`product_evidence`): "placing", "all" or "none".
EVIDENCE_PRODUCTS = "all"
#: Firms named per neighbour node and as attraction targets.
NAMED_FIRMS = 3
STRONG, WEAK, MISSING = "强", "弱", "缺"
#: Fewer firms outside the region than this: "可招引对象有限".
PLENTY = 10
#: A registry density matrix needs at least this many places, else listed firms are used.
MIN_DENSITY_PLACES = 5

#: A node of a region profile (see :func:`score_node_candidates`).
Node = Mapping[str, Any]


@dataclass(frozen=True)
class ChainContext:
    """Region-independent inputs of a chain's ranking for one as-of year, place level,
    firm universe and LQ basis (the origin the region's profile counts its LQ on)."""

    chain_id: str
    as_of: int | None
    level: str
    #: place x leaf density table (place column named after ``level``) with ``pct``.
    density: pd.DataFrame
    #: directed supply links (see :func:`supply_links`), as rows keyed by target / source
    incoming: dict[str, list[dict[str, Any]]]
    outgoing: dict[str, list[dict[str, Any]]]
    #: the chain's node tree (ancestors of a node)
    tree: NodeTree
    #: node_id -> biggest firms of the universe (short_name and location columns).
    top_firms: dict[str, list[dict[str, Any]]]
    #: the largest count of the universe's firms on any leaf of any chain (availability's 1)
    biggest_leaf: int
    #: the firm universe (listed, registry, all) and the LQ basis (listed, registry)
    universe: str = "listed"
    basis: str = "listed"
    #: the origin the density table counts: ``basis``, or listed (MIN_DENSITY_PLACES)
    density_basis: str = "listed"
    #: the loaded registry provinces (adcode, name), [] when none or not used
    provinces: list[dict[str, str]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int | None, str, str, str]:
        """What a context was built for: chain, year, level, universe, basis."""
        return self.chain_id, self.as_of, self.level, self.universe, self.basis

    def ancestors(self, node_id: str) -> tuple[str, ...]:
        """The node's ancestors, nearest first (none for a node outside the tree)."""
        return self.tree.ancestors(node_id) if node_id in self.tree else ()


# --------------------------------------------------------------------------- query step


# Product evidence: node A supplies node B when a product of a firm on A is an upstream
# material of a product of another firm on B. {products} picks which of a firm's products
# count for its node: "placing" = only the products its placement names as evidence (a
# conglomerate's cotton yarn says nothing about its display-glass node), "all" = every
# product, exactly as chainatlas.analysis.supply.edge_evidence does.
def product_evidence(db: Database, chain: Chain | str, as_of: int | None = None,
                     products: str | None = None) -> pd.DataFrame:
    """Product-graph evidence per ordered node pair: source, target, relations, example.

    Like :func:`chainatlas.analysis.supply.edge_evidence` (``products="all"``), but only
    firms founded or listed by ``as_of`` count, so a backtest never sees later firms.
    ``products`` defaults to ``EVIDENCE_PRODUCTS``.
    """
    products = products or EVIDENCE_PRODUCTS
    if products == "none":
        return pd.DataFrame(columns=["source", "target", "relations", "example"])
    evidence = edge_evidence(db, as_chain(db, chain).chain_id, as_of, products)
    return evidence[["source", "target", "relations", "example"]]


def supply_links(db: Database, chain: Chain | str, as_of: int | None = None,
                 products: str | None = None) -> pd.DataFrame:
    """Directed supply links between nodes: template edges plus product evidence.

    Columns: source, target, template, relations, example, weight (see
    :func:`combine_links`).
    """
    chain = as_chain(db, chain)
    evidence = product_evidence(db, chain, as_of, products)
    edges = db.df("SELECT source, target, true AS template FROM chain_edges "
                  "WHERE chain_id = ?", [chain.chain_id])
    return combine_links(edges, evidence)


def combine_links(edges: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Template edges (source, target, template) merged with product evidence (source,
    target, relations, example). Pure.

    A template edge has weight 1; an evidence-only pair weight relations /
    ``EVIDENCE_FULL`` (at most 1). Evidence against a template edge's direction is dropped
    (the curated template wins), and of two evidence-only directions between a pair the
    weaker one is dropped.
    """
    links = edges.merge(evidence, on=["source", "target"], how="outer")
    links["template"] = links["template"].astype("boolean").fillna(False).astype(bool)
    links["relations"] = links["relations"].fillna(0).astype(int)
    strength = {(a, b): (t, r) for a, b, t, r in zip(
        links["source"], links["target"], links["template"], links["relations"],
        strict=True)}
    keep = [t or strength.get((b, a), (False, -1)) < (t, r) for (a, b), (t, r)
            in strength.items()]
    links = links[keep].reset_index(drop=True)
    evidence_weight = (links["relations"] / EVIDENCE_FULL).clip(upper=1.0)
    links["weight"] = evidence_weight.where(~links["template"], 1.0)
    return links


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


def _top_firms(db: Database, chain: Chain, as_of: int | None, universe: str,
               per_node: int = 12) -> dict[str, list[dict[str, Any]]]:
    # enough per node that NAMED_FIRMS remain after dropping the region's own
    frame = db.df(compose(
        "SELECT * FROM (SELECT f.node_id, c.short_name, f.province_adcode, f.city_adcode, "
        "f.region_adcode, row_number() OVER (PARTITION BY f.node_id ORDER BY {size}, "
        "f.confidence DESC, c.company_id) AS k FROM chain_firms f JOIN companies c "
        "USING (company_id) WHERE f.chain_id = {chain} AND {universe} AND {as_of}) "
        "WHERE k <= {per_node} ORDER BY node_id, k",
        size=size_order("c"), chain=param(chain.chain_id), as_of=first_year_by(as_of, "f"),
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


def chain_context(db: Database, chain: Chain | str, as_of: int | None = None,
                  level: str = "city", universe: str | None = None,
                  basis: str | None = None) -> ChainContext:
    """Everything about a chain's ranking that does not depend on the region.

    Pass it to :func:`rank_nodes` to rank many regions of one level, chain, year,
    universe and LQ basis (the backtest does); ``rank_nodes`` builds it itself otherwise.
    ``basis`` (the origin the regions' LQ counts: listed or registry) defaults to the
    universe's own origin, listed for ``all``.
    """
    chain = as_chain(db, chain)
    universe = as_universe(db, universe)
    basis = basis or ("registry" if universe == "registry" else "listed")
    incoming: dict[str, list[dict[str, Any]]] = {}
    outgoing: dict[str, list[dict[str, Any]]] = {}
    for link in supply_links(db, chain, as_of).to_dict("records"):
        row = {str(k): v for k, v in link.items()}
        incoming.setdefault(str(row["target"]), []).append(row)
        outgoing.setdefault(str(row["source"]), []).append(row)
    provinces = [] if universe == "listed" else registry_provinces(db)
    density_basis, table = basis, density_table(db, chain, as_of, level, basis)
    if basis != "listed" and len(table[level_column(level)].unique()) < MIN_DENSITY_PLACES:
        density_basis, table = "listed", density_table(db, chain, as_of, level, "listed")
    return ChainContext(chain.chain_id, as_of, level, density_percentile(table), incoming,
                        outgoing, chain.tree, _top_firms(db, chain, as_of, universe),
                        _biggest_leaf(db, as_of, universe), universe, basis, density_basis,
                        provinces)


# --------------------------------------------------------------------------- scoring step


def density_place(region: Region) -> tuple[str, str | None]:
    """The (level, adcode) whose density row stands for ``region`` (see module docs)."""
    if region.level in ("province", "city"):
        return region.level, region.adcode
    return "city", region.parent


def _region_density(context: ChainContext, place: str | None) -> dict[str, dict[str, float]]:
    column = level_column(context.level)
    rows = context.density[context.density[column] == place]
    return {str(r["node_id"]): {"density": float(r["density"]), "pct": float(r["pct"])}
            for r in rows.to_dict("records")}


def _firm_names(node: Node) -> list[str]:
    return [str(f["short_name"] or f["company_id"]) for f in node["local_leaders"]
            ][:NAMED_FIRMS]


def _neighbours(node_id: str, side: str, context: ChainContext,
                nodes: Mapping[str, Node]) -> list[dict[str, Any]]:
    """The region's 强/弱 nodes linked to ``node_id`` on one side, strongest link first."""
    if side == "upstream":
        rows, other = context.incoming.get(node_id, []), "source"
    else:
        rows, other = context.outgoing.get(node_id, []), "target"
    related = set(context.ancestors(node_id))
    out = []
    for row in rows:
        peer = nodes.get(str(row[other]))
        if peer is None or peer["class"] == MISSING or peer["node_id"] in related or (
                node_id in context.ancestors(peer["node_id"])):
            continue
        factor = 1.0 if peer["class"] == STRONG else WEAK_NEIGHBOUR
        out.append({
            "node_id": peer["node_id"], "name_zh": peer["name_zh"], "class": peer["class"],
            "edge": "template" if row["template"] else "product",
            "relations": int(row["relations"]),
            "example": None if pd.isna(row["example"]) else str(row["example"]),
            "weight": round(float(row["weight"]) * factor, 4),
            "local_firms": _firm_names(peer)})
    return sorted(out, key=lambda n: (n["class"] != STRONG, -n["weight"], n["node_id"]))


def _adjacency(node_id: str, context: ChainContext,
               nodes: Mapping[str, Node]) -> dict[str, Any]:
    up = _neighbours(node_id, "upstream", context, nodes)
    down = _neighbours(node_id, "downstream", context, nodes)
    parent = next((nodes[a] for a in context.ancestors(node_id)
                   if a in nodes and nodes[a]["class"] == STRONG), None)
    parts = {"upstream": noisy_or([n["weight"] for n in up]),
             "downstream": noisy_or([n["weight"] for n in down]),
             "parent": 1.0 if parent else 0.0}
    value = min(1.0, sum(SIDE_WEIGHTS[k] * v for k, v in parts.items()))
    return {"value": round(value, 4), "parts": {k: round(v, 4) for k, v in parts.items()},
            "upstream": up, "downstream": down,
            "strong_parent": None if parent is None else {
                "node_id": parent["node_id"], "name_zh": parent["name_zh"],
                "local_firms": _firm_names(parent)}}


def _label(node: Node, adjacency: dict[str, Any]) -> str:
    if node["class"] == WEAK:
        return "强链"
    strong_up = any(n["class"] == STRONG for n in adjacency["upstream"])
    strong_down = any(n["class"] == STRONG for n in adjacency["downstream"])
    between = strong_up and strong_down
    return "补链" if between or adjacency["strong_parent"] else "延链"


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


def _side_sentence(peer: dict[str, Any], side: str) -> str:
    where = "上游" if side == "upstream" else "下游"
    standing = "为本地强项" if peer["class"] == STRONG else "本地已有布局"
    firms = f"（{'、'.join(peer['local_firms'])}）" if peer["local_firms"] else ""
    gain = "可就近配套" if side == "upstream" else "本地即有需求"
    text = f"{where}「{peer['name_zh']}」{standing}{firms}，{gain}"
    if peer["edge"] == "product":
        # the example pair stays in the components: from a diversified firm it can be
        # off-topic, while the count is what the link's weight rests on
        text += f"（产品图谱中有 {peer['relations']} 组供需关系）"
    return text


def _label_sentence(node: Node, label: str, adjacency: dict[str, Any]) -> str:
    if label == "强链":
        firms = "、".join(_firm_names(node))
        if node["local_firms"] < STRONG_MIN_FIRMS:
            return (f"本地仅有 {node['local_firms']} 家企业（{firms}），尚未形成集聚，"
                    "宜引进同类企业做大做强")
        return (f"本地已有 {node['local_firms']} 家企业（{firms}），但区位商仅 {node['lq']:.2f}，"
                "集聚度不足，宜做大做强")
    parent = adjacency["strong_parent"]
    if label == "补链" and parent:
        firms = f"（{'、'.join(parent['local_firms'])}）" if parent["local_firms"] else ""
        return f"所属「{parent['name_zh']}」为本地强项{firms}，本环节是其中的缺口"
    if label == "补链":
        return "上下游均有本地强项，本环节是本地链条的缺口"
    up = any(n["class"] == STRONG for n in adjacency["upstream"])
    down = any(n["class"] == STRONG for n in adjacency["downstream"])
    if up:
        return "可从本地强项向下游延伸"
    if down:
        return "可向上游延伸，为本地强项配套"
    return "本地尚无直接关联的强项，属新布局方向"


def _supply_sentences(adjacency: dict[str, Any]) -> list[str]:
    out = []
    for side in ("upstream", "downstream"):
        peers = adjacency[side]
        strong = [p for p in peers if p["class"] == STRONG]
        # name the strong neighbours; a weak one only when the side has no strong one
        for peer in (strong or peers[:1])[:2]:
            out.append(_side_sentence(peer, side))
    return out


def _pool_zh(context: ChainContext) -> str:
    """Where the universe's firms to attract come from, for a sentence."""
    loaded = provinces_zh(context.provinces)
    if context.universe == "listed" or not loaded:
        return "全国" + ("" if context.universe == "listed" else "已知")
    if context.universe == "registry":
        return f"已载入的工商登记企业（{loaded}）中"
    return f"全国上市企业与{loaded}工商登记企业中"


def _market_sentences(availability: dict[str, Any], density: dict[str, Any],
                      context: ChainContext) -> list[str]:
    national, outside = availability["national_firms"], availability["outside_firms"]
    pool, noun = _pool_zh(context), FIRMS_NOUN_ZH[context.universe]
    if national == 0 and context.universe == "listed":
        out = ["全国尚无该环节上市企业，需培育或引进非上市企业"]
    elif national == 0:
        out = [f"{pool}尚无该环节{noun}，需培育或引进"]
    else:
        supply = "可招引对象充足" if outside >= PLENTY else "可招引对象有限"
        what = "上市企业" if context.universe == "listed" else f"该环节{noun}"
        out = [f"{pool}有 {national} 家{what}，其中 {outside} 家在本地以外，{supply}"]
    if availability["targets"]:
        out.append(f"可重点对接：{'、'.join(availability['targets'])}")
    # a district is measured on its city's row (see the module docs): say so
    where = "本地" if density["own_row"] else "所在城市"
    counted = FIRMS_NOUN_ZH[density["basis"]]
    if density["place_firms"] == 0:
        out.append(f"{where}尚无本链{counted}，关联密度为 0")
    else:
        value, median = round(density["density"], 2), round(density["median"], 2)
        side = "高于" if value > median else "低于" if value < median else "持平于"
        basis = (f"（按{provinces_zh(context.provinces)}各地工商登记企业计算）"
                 if density["basis"] == "registry" else "")
        out.append(f"与{where}现有产业的关联密度 {value:.2f}{basis}，"
                   f"{side}本链节点中位数（{median:.2f}）")
    return out


def _recommend(node: Node, region: Region, context: ChainContext,
               density: dict[str, Any], nodes: Mapping[str, Node]) -> dict[str, Any]:
    adjacency = _adjacency(node["node_id"], context, nodes)
    availability = _availability(node, region, context)
    label = _label(node, adjacency)
    components = {"density": density, "adjacency": adjacency, "availability": availability}
    score = sum(WEIGHTS[k] * float(components[k]["value"]) for k in WEIGHTS)
    reasons = [_label_sentence(node, label, adjacency), *_supply_sentences(adjacency),
               *_market_sentences(availability, density, context)]
    return {"node_id": node["node_id"], "name_zh": node["name_zh"], "stage": node["stage"],
            "class": node["class"], "label": label, "score": round(score, 4),
            "universe": context.universe, "universe_zh": UNIVERSES[context.universe],
            "components": components, "reasons_zh": reasons}


def _density_component(context: ChainContext, place: str | None, own_row: bool,
                       leaves: list[str]) -> dict[str, dict[str, Any]]:
    row = _region_density(context, place)
    values = [row.get(n, {}).get("density", 0.0) for n in leaves]
    median = statistics.median(values) if values else 0.0
    place_firms = len(row)  # the density table only has places with chain firms
    return {n: {"value": round(row.get(n, {}).get("pct", 0.0), 4),
                "density": round(row.get(n, {}).get("density", 0.0), 4),
                "median": round(median, 4), "place": place, "own_row": own_row,
                "place_firms": place_firms, "basis": context.density_basis}
            for n in leaves}


def score_node_candidates(profile_nodes: Sequence[Mapping[str, Any]], context: ChainContext,
                          region: Region) -> list[dict[str, Any]]:
    """The pure scoring step: rank the 弱/缺 leaves of a region profile, best first.

    ``profile_nodes`` are the ``nodes`` of :func:`~chainatlas.analysis.regional.
    region_profile` (node_id, name_zh, stage, is_leaf, class, national_firms,
    local_firms, lq, local_leaders); ``context`` the chain's :func:`chain_context` at
    the level :func:`density_place` picks for ``region``, for the profile's universe and
    LQ basis. Each result names the context's universe.
    """
    _, place = density_place(region)
    nodes = {str(n["node_id"]): n for n in profile_nodes}
    leaves = [n for n in profile_nodes if n["is_leaf"]]
    density = _density_component(context, place, place == region.adcode,
                                 [n["node_id"] for n in leaves])
    ranked = [_recommend(n, region, context, density[n["node_id"]], nodes)
              for n in leaves if n["class"] != STRONG]
    order = {n["node_id"]: i for i, n in enumerate(leaves)}
    ranked.sort(key=lambda r: (-r["score"],
                               -r["components"]["availability"]["national_firms"],
                               order[r["node_id"]]))
    for i, row in enumerate(ranked, start=1):
        row["rank"] = i
    return ranked


def rank_nodes(db: Database, region: Region | str, chain: Chain | str,
               as_of: int | None = None, top: int | None = None, *,
               context: ChainContext | None = None,
               universe: str | None = None) -> list[dict[str, Any]]:
    """Rank the chain's leaf nodes a region lacks or holds weakly, best first, counting
    the firms of ``universe`` (None: the default).

    ``region`` and ``chain`` are typed values or their ids / Chinese names (NotFoundError
    otherwise). Each result: node_id, name_zh, stage, class (弱/缺), label (补链/延链/强链),
    score in [0, 1], rank, universe, universe_zh, components {density, adjacency,
    availability} (each with ``value`` in [0, 1] and the figures behind it) and
    reasons_zh. ``context`` (from :func:`chain_context`, same chain, year, density level,
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
    ranked = score_node_candidates(profile["nodes"], context, region)
    return ranked if top is None else ranked[:top]
