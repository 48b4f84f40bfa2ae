"""How an outside firm would link into the region's chain: the ``links`` component of a
target firm (:mod:`chainatlas.recommend.firms`), and every link named in its reasons.

Three kinds of link, each a list of dicts with a ``contribution`` in [0, 1]; the
component is their noisy-OR, 1 − Π(1 − contribution):

- **template edges** (``kind`` 'edge', :func:`template_links`): a node the firm is a
  primary business of has a template supply edge to a production node where the region
  is 强 (contribution :data:`EDGE_IMPORTANCE` 强 0.35) or 弱 (0.15), in the region's
  profile (:func:`chainatlas.analysis.regional.region_profile`). Direction comes from the
  one model (:mod:`chainatlas.chains.direction`): ``side`` 'supplies' when the firm's
  node is upstream of the local node (it could supply the local firms: 配套), 'buys' when
  downstream (it could source from them). Only direct edges (``Directions.neighbours``)
  count, and only production nodes: that a region has pharmacies or hospitals is no
  reason for a maker to move there. The local node's largest firms are named.
- **product relations** (``kind`` 'product', :func:`product_links`): the candidate's
  placing products supply, or are supplied by, a product of a local firm
  (:func:`chainatlas.analysis.supply.firm_links`); contribution importance(role) ×
  (1 − exp(−weight / :data:`LINK_WEIGHT_SCALE`)), importance 1.0 for a local chain
  leader (the :data:`LOCAL_LEADERS` largest of the local firms the region profile names
  on its nodes), 0.75 another of those, 0.4 any other local firm.
- **scope items** (``kind`` 'scope', :func:`scope_links`): a registry firm's business
  scope (:func:`chainatlas.chains.scope.scope_items`, clauses it makes: 生产/制造/加工 …)
  names a product that supplies, or is supplied by, a placing product of a local chain
  firm; or a local registry firm's scope names a product that supplies, or is supplied
  by, a placing product of the candidate. Contribution :data:`SCOPE_IMPORTANCE`, for the
  first :data:`SCOPES_COUNTED` partners.

Product relations never set a direction (:mod:`chainatlas.chains.direction`): a product
or scope link whose two firms sit on nodes the template orders the other way is dropped
(:func:`agrees`), and their reasons say 供应/采购, never 上游/下游.

Measured on the full store (listed firms and the 1.1 M-firm registry), 石家庄市: product
relations link no 生物医药 candidate and one 电子信息 one (the knowledge graph's relations
cover 19 of the 529 生物医药 placing products); scope items add a few dozen local
registry firms (玻璃 makers for 药用玻璃, 电源 and 电阻 makers for electronics). The
template edges carry the component.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from chainatlas.analysis.supply import SUPPLY_PAIRS, firm_links
from chainatlas.chains.direction import DOWNSTREAM, UPSTREAM, WORDS_ZH, Directions
from chainatlas.chains.scope import PRODUCE, scope_items
from chainatlas.chains.signals import noisy_or
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region
from chainatlas.store.query import Q, compose, founded_by, in_area, in_universe, param, values

#: Contribution of a template edge to a production node, by the region's class there.
EDGE_IMPORTANCE = {"强": 0.35, "弱": 0.15}
#: Edges that count towards the component (the strongest ones; the rest are listed with
#: contribution 0): a 化学原料药 maker borders ten of 石家庄's nodes, and counting all of
#: them put every pharmaceutical candidate at 0.94–0.99, telling none apart.
EDGES_COUNTED = 3
#: Product links: weights are products of revenue shares; 0.02 is e.g. 14 % × 14 %, a link
#: that matters to both firms, a 1 % × 1 % pair (0.0001) adds almost nothing.
LINK_WEIGHT_SCALE = 0.02
#: The region's top firms (by leader score) that count as its chain leaders.
LOCAL_LEADERS = 3
IMPORTANCE = {"leader": 1.0, "chain": 0.75, "other": 0.4}
ROLE_ZH = {"leader": "链主", "chain": "链上企业", "other": "其他本地企业"}
#: Contribution of one local partner a scope item links to, and how many partners count
#: (the rest are listed with contribution 0): a common input (电源) is named in the scopes
#: of a dozen local firms, and counting them all put 海信电器's links at 0.98.
SCOPE_IMPORTANCE = 0.25
SCOPES_COUNTED = 2
#: Product names shorter than this never match a scope (药, 电 …).
MIN_NAME_CHARS = 2
#: Product names too generic to link two firms by a scope (a pharmacy's 药物 "supplied"
#: 新华制药's 片剂).
GENERIC_NAMES = frozenset({"药物", "药品", "产品", "原料", "材料", "设备", "系统", "软件",
                           "制品", "配件", "零件", "器材", "仪器", "机械", "电子", "用品",
                           "化工", "化学品", "化工原料", "原材料", "商品", "货物"})
#: Local firms a reason names per node.
NAMED_FIRMS = 2

Links = dict[str, list[dict[str, Any]]]


def links_value(links: Iterable[Mapping[str, Any]]) -> float:
    """The links component: noisy-OR of the links' contributions. Pure."""
    return noisy_or(float(link["contribution"]) for link in links)


def merge_links(*parts: Mapping[str, list[dict[str, Any]]]) -> Links:
    """company_id -> every link of the given kinds, in the order given. Pure."""
    out: Links = {}
    for part in parts:
        for cid, found in part.items():
            key = str(cid)
            # a new list only where two parts meet: link dicts are shared, not copied
            out[key] = [*out[key], *found] if key in out else list(found)
    return out


# --------------------------------------------------------------------------- template edges


def node_standing(profile: Mapping[str, Any], named: int = NAMED_FIRMS,
                  skip: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """node_id -> class, lq, local_firms (count) and firms (the names a reason cites: the
    node's largest local firms, ``skip`` ids left out) from a region profile. Pure."""
    skipped = set(skip)
    return {str(n["node_id"]): {
        "class": n["class"], "lq": n["lq"], "local_firms": n["local_firms"],
        "firms": [str(f["short_name"]) for f in n["local_leaders"]
                  if str(f["company_id"]) not in skipped][:named]}
        for n in profile["nodes"]}


def template_links(directions: Directions, nodes: Mapping[str, Sequence[str]],
                   standing: Mapping[str, Mapping[str, Any]], chain: Chain) -> Links:
    """Template-edge links of each firm (``nodes``: company_id -> its primary nodes) to
    production nodes where the region is 强 or 弱 (module docs). One link per local node,
    the firm's own node that reaches it first; the :data:`EDGES_COUNTED` strongest count.
    Firms on the same nodes share their (read-only) link dicts. Pure."""
    names, kinds = chain.names(), {n.node_id: n.kind for n in chain.nodes}
    per_node: dict[str, list[dict[str, Any]]] = {}
    per_set: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    out: Links = {}
    for cid, own in nodes.items():
        key = tuple(own)
        if key not in per_set:
            for node in key:
                if node not in per_node:
                    per_node[node] = _node_links(directions, node, standing, names, kinds)
            per_set[key] = _ranked_edges(per_node[n] for n in key)
        if per_set[key]:
            out[str(cid)] = per_set[key]
    return out


def _ranked_edges(groups: Iterable[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One link per local node (the first reaching it), strongest first; those past
    :data:`EDGES_COUNTED` contribute 0."""
    found: dict[str, dict[str, Any]] = {}
    for group in groups:
        for link in group:
            found.setdefault(link["local_node"], link)
    ranked = sorted((dict(v) for v in found.values()),
                    key=lambda x: (-x["contribution"], -float(x["lq"]), x["local_node"]))
    for extra in ranked[EDGES_COUNTED:]:
        extra["contribution"] = 0.0
    return ranked


def _node_links(directions: Directions, node: str, standing: Mapping[str, Mapping[str, Any]],
                names: Mapping[str, str], kinds: Mapping[str, str]) -> list[dict[str, Any]]:
    links = []
    for side, there in (("supplies", DOWNSTREAM), ("buys", UPSTREAM)):
        for other in directions.neighbours(node, there):
            st = standing.get(other)
            if st is None or st["class"] not in EDGE_IMPORTANCE or kinds.get(other) != (
                    "production"):
                continue
            # where the candidate's node stands seen from the local node: the word a
            # reason uses, read from the one direction model
            position = directions.of(node, other)
            links.append({
                "kind": "edge", "side": side, "node": node, "node_zh": names.get(node, node),
                "local_node": other, "local_node_zh": names.get(other, other),
                "position": position, "position_zh": WORDS_ZH[str(position)],
                "class": st["class"], "lq": st["lq"], "local_firms": int(st["local_firms"]),
                "firms": list(st["firms"]),
                "contribution": EDGE_IMPORTANCE[str(st["class"])]})
    return links


# --------------------------------------------------------------------------- agreement


def agrees(directions: Directions, side: str, candidate_nodes: Sequence[str],
           partner_nodes: Sequence[str]) -> bool:
    """Whether a product or scope link (``side``: the candidate 'supplies' or 'buys') is
    compatible with the template: False only when some pair of the two firms' nodes has
    a direction and every such pair says the opposite. Pure."""
    expected = UPSTREAM if side == "supplies" else DOWNSTREAM
    said = [directions.of(a, b) for a in candidate_nodes for b in partner_nodes]
    directed = [d for d in said if d is not None]
    return not directed or expected in directed


def chain_nodes_of(db: Database, chain: Chain, ids: Iterable[str]) -> dict[str, list[str]]:
    """company_id -> the chain nodes it is placed on directly (any share)."""
    wanted = sorted({str(i) for i in ids})
    if not wanted:
        return {}
    out: dict[str, list[str]] = {}
    for cid, node in db.execute(
            "SELECT company_id, node_id FROM chain_firms WHERE chain_id = ? AND direct "
            "AND company_id IN (SELECT unnest(?)) ORDER BY company_id, node_id",
            [chain.chain_id, wanted]).fetchall():
        out.setdefault(str(cid), []).append(str(node))
    return out


def _keep_agreeing(links: Links, directions: Directions, own: Mapping[str, Sequence[str]],
                   partner_nodes: Mapping[str, Sequence[str]]) -> Links:
    out: Links = {}
    for cid, found in links.items():
        kept = [x for x in found if agrees(directions, x["side"], own.get(cid, ()),
                                           partner_nodes.get(x["company_id"], ()))]
        if kept:
            out[cid] = kept
    return out


# --------------------------------------------------------------------------- products


def local_firms(region: Region, as_of: int | None = None, universe: str = "all") -> Q:
    """Condition on ``companies l``: a firm of the universe in the region (by ``as_of``),
    listed firm counted once (roster twins of a listed firm are left out)."""
    return compose("{area} AND l.same_as IS NULL AND {as_of} AND {universe}",
                   area=in_area(region.level, region.adcode, "l"),
                   as_of=founded_by(as_of, "l"), universe=in_universe(universe, "l"))


def product_links(db: Database, region: Region, chain: Chain, scope: Sequence[str],
                  candidates: set[str], roles: Mapping[str, tuple[str, int]],
                  as_of: int | None, universe: str) -> Links:
    """Product-relation links of the candidates to local firms (module docs); ``roles``:
    local company_id -> (role, rank by size among the region's named chain firms)."""
    pairs = firm_links(db, chain.chain_id, scope, local_firms(region, as_of, universe))
    pairs = pairs[pairs["candidate"].isin(candidates)].reset_index(drop=True)
    found = [roles.get(str(p), ("other", None)) for p in pairs["partner"]]
    pairs["role"] = [role for role, _ in found]
    pairs["leader_rank"] = pd.array([rank for _, rank in found], dtype="Int64")
    return link_partners(pairs)


def link_partners(links: pd.DataFrame) -> Links:
    """candidate -> its product links (one per local partner and side), leaders first.

    ``links``: candidate, direction (supplies/buys), partner, short_name, up, down,
    weight, role, leader_rank. Contribution importance(role) × (1 − exp(−Σweight /
    ``LINK_WEIGHT_SCALE``)); examples are the three heaviest product pairs. Pure.
    """
    out: Links = {}
    if links.empty:
        return out
    for (cid, side, partner, name), group in links.groupby(
            ["candidate", "direction", "partner", "short_name"], sort=False):
        group = group.sort_values(["weight", "up", "down"], ascending=[False, True, True])
        weight = float(group["weight"].sum())
        role = str(group["role"].iloc[0])
        rank = group["leader_rank"].iloc[0]
        strength = 1.0 - math.exp(-weight / LINK_WEIGHT_SCALE)
        out.setdefault(str(cid), []).append({
            "kind": "product", "side": str(side), "company_id": str(partner),
            "short_name": name, "role": role, "role_zh": ROLE_ZH[role],
            "leader_rank": int(rank) if role != "other" else None,
            "examples": [f"{u}→{d}" for u, d in zip(group["up"].head(3), group["down"].head(3),
                                                      strict=True)],
            "weight": round(weight, 6), "relations": len(group),
            "contribution": round(IMPORTANCE[role] * strength, 4)})
    for found in out.values():
        found.sort(key=lambda p: (list(IMPORTANCE).index(p["role"]), p["leader_rank"] or 0,
                                  -p["contribution"], p["company_id"]))
    return out


# --------------------------------------------------------------------------- scope items

# Products related to the placing products of some firms: (company_id, own product, the
# related product's name, side): 'they_supply' when the related product is an input of
# the firm's product, 'they_buy' when it is made from it.
_RELATED_SQL = """
WITH s AS ({supply}),
own AS (SELECT DISTINCT fp.company_id, p.product_id, p.name FROM firm_node_products fp
    JOIN products p ON p.name = fp.product AND p.kind = 'product'
    WHERE fp.chain_id = {chain} AND list_contains({nodes}, fp.node_id)
    AND fp.company_id IN ({firms}))
SELECT own.company_id, own.name AS own_product, r.name AS related, 'they_supply' AS side
FROM own JOIN s ON s.down = own.product_id JOIN products r ON r.product_id = s.up
UNION ALL
SELECT own.company_id, own.name, r.name, 'they_buy'
FROM own JOIN s ON s.up = own.product_id JOIN products r ON r.product_id = s.down
"""


def related_products(db: Database, chain: Chain, nodes: Sequence[str], firms: Q) -> pd.DataFrame:
    """:data:`_RELATED_SQL` for the firms ``firms`` (a query of company ids) selects."""
    found = db.df(compose(_RELATED_SQL, supply=SUPPLY_PAIRS, chain=param(chain.chain_id),
                          nodes=values(nodes), firms=firms))
    keep = (found["related"].str.len() >= MIN_NAME_CHARS) & ~found["related"].isin(
        GENERIC_NAMES)
    return found[keep].reset_index(drop=True)


def produced_names(scope: str | None, names: Sequence[str]) -> list[str]:
    """The ``names`` a business scope says the firm makes (named in a clause with a
    produce verb: 生产/制造/加工 …), in order of first mention, each once. Pure."""
    if not scope or not names:
        return []
    # a plain scan: only the few scopes the store's filter kept are read, against a few
    # hundred names at most
    found: dict[str, None] = {}
    for item in scope_items(scope):
        if PRODUCE in item.activities:
            for name in names:
                if name in item.text:
                    found.setdefault(name, None)
    return list(found)


def _scopes_naming(db: Database, where: Q, names: Sequence[str]) -> pd.DataFrame:
    """company_id, short_name, business_scope of the firms ``where`` picks whose scope
    contains one of ``names`` (a cheap filter in the store before reading clauses)."""
    if not names:
        return pd.DataFrame(columns=["company_id", "short_name", "business_scope"])
    return db.df(compose(
        "SELECT l.company_id, coalesce(l.short_name, l.full_name) AS short_name, "
        "l.business_scope FROM companies l WHERE {where} AND l.business_scope IS NOT NULL "
        "AND len(list_filter({names}, lambda x: contains(l.business_scope, x))) > 0",
        where=where, names=values(sorted(set(names)))))


def scope_links(db: Database, region: Region, chain: Chain, scope: Sequence[str],
                candidates: pd.DataFrame, as_of: int | None, universe: str) -> Links:
    """Scope-item links (module docs) of ``candidates`` (company_id, origin)."""
    ids = [str(c) for c in candidates["company_id"]]
    registry = [str(c) for c, o in zip(candidates["company_id"], candidates["origin"],
                                       strict=True) if o == "registry"]
    local_chain = compose(
        "SELECT DISTINCT f.company_id FROM chain_firms f WHERE f.chain_id = {chain} "
        "AND {area}", chain=param(chain.chain_id), area=in_area(region.level, region.adcode,
                                                                  "f"))
    out: Links = {}
    # registry candidates whose scope makes what local chain firms buy or are made from
    local = related_products(db, chain, scope, local_chain)
    if registry and len(local):
        found = _scopes_naming(db, compose("list_contains({ids}, l.company_id)",
                                           ids=values(registry)), list(local["related"]))
        names = _partner_names(db, set(local["company_id"]))
        for row in found.to_dict("records"):
            made = produced_names(str(row["business_scope"]), sorted(set(local["related"])))
            hits = local[local["related"].isin(made)]
            for link in _scope_entries(hits, names, candidate_side=True):
                out.setdefault(str(row["company_id"]), []).append(link)
    # local registry firms whose scope makes what candidates buy or are made from
    own = related_products(db, chain, scope, compose("SELECT unnest({ids})", ids=values(ids)))
    if len(own):
        where = compose("{local} AND l.origin = 'registry'",
                        local=local_firms(region, as_of, universe))
        found = _scopes_naming(db, where, list(own["related"]))
        for row in found.to_dict("records"):
            made = produced_names(str(row["business_scope"]), sorted(set(own["related"])))
            hits = own[own["related"].isin(made)]
            partner = {str(row["company_id"]): str(row["short_name"])}
            for cid, group in hits.groupby("company_id", sort=True):
                entries = _scope_entries(group.assign(company_id=str(row["company_id"])),
                                         partner, candidate_side=False)
                out.setdefault(str(cid), []).extend(entries)
    return _best_per_partner(out)


def _partner_names(db: Database, ids: set[str]) -> dict[str, str]:
    return {str(c): str(n) for c, n in db.execute(
        "SELECT company_id, coalesce(short_name, full_name) FROM companies "
        "WHERE company_id IN (SELECT unnest(?))", [sorted(ids)]).fetchall()}


def _scope_entries(hits: pd.DataFrame, names: Mapping[str, str], *,
                   candidate_side: bool) -> list[dict[str, Any]]:
    """Scope links from related-product rows. With ``candidate_side`` the rows are the
    local firms' (company_id = the local partner; the scope is the candidate's); else the
    candidate's (company_id set to the local partner, the scope the partner's)."""
    out = []
    for row in hits.to_dict("records"):
        they_supply = row["side"] == "they_supply"
        # they_supply: the related product is an input of the row firm's own product
        side = ("supplies" if they_supply else "buys") if candidate_side else (
            "buys" if they_supply else "supplies")
        up, down = (row["related"], row["own_product"]) if they_supply else (
            row["own_product"], row["related"])
        out.append({"kind": "scope", "side": side, "company_id": str(row["company_id"]),
                    "short_name": names.get(str(row["company_id"]), str(row["company_id"])),
                    "examples": [f"{up}→{down}"], "scope_item": str(row["related"]),
                    "in_scope_of": "candidate" if candidate_side else "partner",
                    "contribution": SCOPE_IMPORTANCE})
    return out


def _best_per_partner(links: Links) -> Links:
    """One scope link per (candidate, partner, side), in partner order; those past
    :data:`SCOPES_COUNTED` contribute 0."""
    out: Links = {}
    for cid, found in links.items():
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for link in found:
            seen.setdefault((link["company_id"], link["side"]), link)
        ranked = sorted(seen.values(), key=lambda x: (x["company_id"], x["side"]))
        for extra in ranked[SCOPES_COUNTED:]:
            extra["contribution"] = 0.0
        out[cid] = ranked
    return out


def check_agreement(links: Links, directions: Directions, own: Mapping[str, Sequence[str]],
                    db: Database, chain: Chain) -> Links:
    """``links`` without the product and scope links the template contradicts."""
    partners = {str(x["company_id"]) for found in links.values() for x in found}
    return _keep_agreeing(links, directions, own, chain_nodes_of(db, chain, partners))
