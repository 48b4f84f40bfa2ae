"""Which outside firms a region should approach first on a chain (精准招商), with reasons.

**Candidates** are the firms of one universe (``universe``: listed, registry or all;
every result names it) that could lead the chain or the node
(:func:`chainatlas.analysis.leader_figures.chain_firm_figures`: the node is a primary
business — placing products ≥ 30 % of revenue, or no product evidence; chain-wide, a
production node and production business first, so distributors, pharmacies, hospitals
and telecom operators appear only when ``node_id`` is their own node), located OUTSIDE
the region (firms of unknown location are left out), and not:

- a branch (分公司, ``companies.is_branch``: its parent decides where to invest; branches
  feed the parent's expansion signal instead) or an individual business (个体工商户);
- a bank, insurer, broker or trust (Shenwan 银行 / 非银金融: 天茂集团, an insurer, was placed
  on 化学原料药 by a 33 % product line, 安信信托 on 安防视频监控), or a registry firm whose
  name marks a developer, property manager, guarantor, pawnshop, lender, auctioneer or
  trust (:data:`NON_TARGET_NAMES`; the registry carries no industry code);
- excluded by the filters (:class:`chainatlas.recommend.filters.TargetFilters`:
  provinces in/out, outside the province, size band, listed/unlisted, risk flags).
  Risk-flagged listed firms (:func:`chainatlas.analysis.risk.risk_table`: ST, *ST,
  delisting, PT, gone by 2025) are dropped by default (``exclude_risk``); kept, their
  score is multiplied by the risk factor (0.5 ST/*ST, 0 the others) and the flags shown.

**Score** = (TARGET_WEIGHTS · components) × risk factor, each component in [0, 1]
(:data:`chainatlas.analysis.weights.TARGET_WEIGHTS`):

- fit: the placement confidence, the highest over the candidate's primary nodes.
- strength: the size of the firm's business on the chain, as leaders measure it
  (:func:`chainatlas.analysis.leaders.scale_component`): employees × the revenue share
  of its chain products, employees alone without product evidence, registered capital
  read as staff only where no employee count exists (registry firms; a listed firm's
  capital is its share count), log-scaled among the candidates.
- links: how the firm would tie into the region's chain (:mod:`chainatlas.recommend.
  target_links`): template supply edges to nodes where the region is 强/弱, product
  relations, registry scope items; each link named in the reasons.
- expansion: other cities the firm opened branches in lately (:mod:`chainatlas.analysis.
  expansion`: 1 − exp(−cities / 2) over the registry's last five years up to ``as_of``).
- proximity: exp(−d / 800 km), d the great-circle distance between the firm's city and
  the region. No same-province bonus (:data:`SAME_PROVINCE_BONUS` is 0): a firm of the
  region's own province is flagged instead (``same_province``, 同省 in the reasons) — a
  move within the province adds nothing to it, and ``outside_province`` drops them.

``as_of=YEAR`` keeps only firms founded or listed by that year, on both sides, and the
expansion window ends there.

**Record shape** (one dict per ranked firm; H4's surfaces read it, keep it stable)::

    rank, company_id, short_name, full_name, stock_code, origin, origin_zh,
    province, city, province_adcode, city_adcode, universe, universe_zh,
    same_province: bool, size_band: 'large'|'medium'|'small'|None, size_band_zh, size_basis,
    nodes: [{node_id, name_zh, kind, confidence, local_class ('强'/'弱'/'缺')}],
    risk: {flags: [codes], flags_zh: str, factor: float},
    score (after risk), score_before_risk,
    components: {
      fit:       {value, weight, confidence},
      strength:  {value, weight, basis, employees, capital, chain_share, figure, products},
      links:     {value, weight, links: [link dicts, kind 'edge'|'product'|'scope'],
                  local_partners: [the product/scope links: the local firms named]},
      expansion: {value, weight, branches, subsidiaries, cities, first_year, last_year,
                  since, until},
      proximity: {value, weight, distance_km, same_province}},
    explain: [{component, label_zh, value, weight, points, raw_zh}]  (analysis.explain),
    reasons_zh: [str, ...]  (never empty)

Weights are ``TARGET_WEIGHTS``; labels :data:`LABELS_ZH`. Strength is one figure (see
above; ``STRENGTH_WEIGHTS`` stays only for the Excel notes), its raw text is in the explain
rows.

The ranking is a query step (:func:`firm_inputs`: candidates with raw figures),
the links (:mod:`chainatlas.recommend.target_links`) and a pure scoring step
(:func:`score_firms`, :func:`add_strength`, :func:`add_proximity`) that needs no store;
reasons come from :mod:`chainatlas.recommend.target_reasons`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from chainatlas.analysis.expansion import expansion_score, registry_last_year
from chainatlas.analysis.leader_figures import chain_firm_figures
from chainatlas.analysis.leaders import percentile_rank, scale_component
from chainatlas.analysis.regional import region_profile
from chainatlas.analysis.weights import TARGET_WEIGHTS
from chainatlas.chains.direction import directions_from_store
from chainatlas.recommend.filters import SIZE_BANDS, TargetFilters
from chainatlas.recommend.target_links import (
    IMPORTANCE,
    LINK_WEIGHT_SCALE,
    LOCAL_LEADERS,
    Links,
    check_agreement,
    links_value,
    merge_links,
    node_standing,
    product_links,
    scope_links,
    template_links,
)
from chainatlas.recommend.target_reasons import LABELS_ZH, FirmContext, firm_record
from chainatlas.recommend.target_signals import add_expansion, add_risk, apply_filters
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, as_region, as_universe, region_names
from chainatlas.store.query import compose, founded_by, in_area, param, values

#: Kept for callers of the former name: the weights live in analysis.weights.
WEIGHTS = TARGET_WEIGHTS
DISTANCE_SCALE_KM = 800.0
#: No bonus for the region's own province (module docs); kept as a named 0.
SAME_PROVINCE_BONUS = 0.0
EARTH_RADIUS_KM = 6371.0
#: Kept for recommend.excel until it reads the explain rows: strength is one size figure
#: (employees × chain share, log-scaled: module docs), so of its former parts size weighs
#: 1 and listed 0, the chain share being inside the size figure.
STRENGTH_WEIGHTS = {"size": 1.0, "listed": 0.0, "revenue_share": 0.0}
#: Shenwan level-1 codes of firms that are never chain targets: 银行, 非银金融.
FINANCE_SW = ("48", "49")
#: Registry names of firms that are never chain targets (the registry has no industry
#: code): real estate, property management, guarantors, pawnshops, lenders, auctioneers,
#: trusts (东方泰安置业, a developer whose scope lists 软件开发, ranked on 电子信息).
NON_TARGET_NAMES = r"置业|房地产|地产开发|物业|担保|典当|小额贷款|拍卖|信托"

__all__ = ["DISTANCE_SCALE_KM", "IMPORTANCE", "LABELS_ZH", "LINK_WEIGHT_SCALE",
           "LOCAL_LEADERS", "SAME_PROVINCE_BONUS", "STRENGTH_WEIGHTS", "WEIGHTS", "FirmInputs",
           "add_proximity", "add_strength", "apply_filters", "firm_inputs", "firms_frame",
           "haversine_km", "rank_firms", "score_firms"]


@dataclass(frozen=True)
class FirmInputs:
    """What the query step hands to the scoring step for one region, chain and scope."""

    #: one row per candidate: company_id, origin, registered_capital, employees,
    #: province/city/region adcodes, lon, lat, fit, chain_revenue_share, primary_nodes,
    #: flags, flags_zh, factor, size_band, size_basis, expansion_* (branches, cities …)
    candidates: pd.DataFrame
    #: the region's (lon, lat), or None when neither it nor its parent has one
    centre: tuple[float, float] | None
    #: the region's province adcode
    province: str
    #: the firm universe of candidates and local partners
    universe: str = "listed"
    #: the nodes in scope (the chain's production nodes, or the node's subtree)
    scope: tuple[str, ...] = ()


def rank_firms(db: Database, region: Region | str, chain: Chain | str,
               node_id: str | None = None, top: int = 20, as_of: int | None = None,
               universe: str | None = None,
               filters: TargetFilters | None = None) -> list[dict[str, Any]]:
    """Rank outside firms of ``universe`` (None: the default) on the chain (or node
    subtree) to approach, best first (record shape: module docs). ``chain`` and
    ``node_id`` may be ids or Chinese names (NotFoundError otherwise)."""
    region, chain = as_region(db, region), as_chain(db, chain)
    node = None if node_id is None else chain.node(node_id).node_id
    inputs = firm_inputs(db, region, chain, node, as_of, universe, filters)
    if inputs.candidates.empty:
        return []
    profile = region_profile(db, region, chain, as_of, inputs.universe)
    standing = node_standing(profile)
    links = target_firm_links(db, region, chain, inputs, standing, local_roles(profile),
                              as_of)
    scored = score_firms(inputs.candidates, links, centre=inputs.centre,
                         province=inputs.province).head(top)
    labels = _labels(db, list(scored["company_id"]))
    for cid, names in local_branches(db, region, list(scored["company_id"]), as_of).items():
        labels.setdefault(cid, {})["local_branches"] = names
    context = FirmContext(
        region_name=region.name, chain=chain, standing=standing, node_scope=node is not None,
        province_name=region_names(db, [region.province_adcode]).get(
            region.province_adcode, ""), universe=inputs.universe,
        registry_until=registry_last_year(db))
    out = []
    for rank, record in enumerate(scored.to_dict("records"), start=1):
        row = {str(k): v for k, v in record.items()}
        cid = str(row["company_id"])
        out.append(firm_record(rank, {**row, **labels.get(cid, {})}, links.get(cid, []),
                               context))
    return out


def target_firm_links(db: Database, region: Region, chain: Chain, inputs: FirmInputs,
                      standing: Mapping[str, Mapping[str, Any]],
                      roles: Mapping[str, tuple[str, int]], as_of: int | None) -> Links:
    """Every link of every candidate (edges, then product and scope links the template
    does not contradict)."""
    frame = inputs.candidates
    directions = directions_from_store(db, chain)
    own = {str(c): list(n) for c, n in zip(frame["company_id"], frame["primary_nodes"],
                                          strict=True)}
    edges = template_links(directions, own, standing, chain)
    ids = set(own)
    products = product_links(db, region, chain, inputs.scope, ids, roles, as_of,
                             inputs.universe)
    scopes = scope_links(db, region, chain, inputs.scope, frame[["company_id", "origin"]],
                         as_of, inputs.universe)
    checked = check_agreement(merge_links(products, scopes), directions, own, db, chain)
    return merge_links(edges, checked)


def local_roles(profile: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
    """Local chain firms the region profile names (each node's largest local firms) ->
    (role, rank by size): the :data:`LOCAL_LEADERS` largest are the region's leaders.
    Pure."""
    firms: dict[str, tuple[float, float]] = {}
    for node in profile["nodes"]:
        for firm in node["local_leaders"]:
            firms[str(firm["company_id"])] = (float(firm.get("employees") or 0),
                                              float(firm.get("registered_capital") or 0))
    ranked = sorted(firms, key=lambda c: (-firms[c][0], -firms[c][1], c))
    return {cid: ("leader" if k <= LOCAL_LEADERS else "chain", k)
            for k, cid in enumerate(ranked, start=1)}


# --------------------------------------------------------------------------- query step


def firm_inputs(db: Database, region: Region, chain: Chain, node_id: str | None = None,
                as_of: int | None = None, universe: str | None = None,
                filters: TargetFilters | None = None) -> FirmInputs:
    """The query step: the candidates (module docs) with their raw figures, risk flags,
    size band and expansion figures, filtered."""
    chosen = as_universe(db, universe)
    node = None if node_id is None else chain.node(node_id)
    scope = (tuple(n.node_id for n in chain.nodes if n.kind == "production") if node is None
             else chain.subtree(node.node_id))
    centre = _centroid(db, region)
    figures = chain_firm_figures(db, chain, as_of, chosen, node)
    if len(figures):
        column = figures[region.column]
        figures = figures[column.notna() & (column != region.adcode)]
        figures = figures[~figures["company_id"].isin(_never_targets(db, chain))]
        if node is None:
            figures = figures[figures["company_id"].isin(_makers(db, chain))]
    chosen_filters = filters or TargetFilters()
    frame = _with_details(db, chain, figures.reset_index(drop=True))
    frame = apply_filters(frame, chosen_filters, region.province_adcode)
    frame = add_risk(db, frame, chosen_filters.exclude_risk)
    frame = add_expansion(db, frame, as_of)
    return FirmInputs(frame.reset_index(drop=True), centre, region.province_adcode, chosen,
                      scope)


def _never_targets(db: Database, chain: Chain) -> set[str]:
    """Firms of the chain that are no target: branches, individual businesses, banks and
    other financial firms (module docs)."""
    return {str(r[0]) for r in db.execute(compose(
        "SELECT DISTINCT f.company_id FROM chain_firms f JOIN companies c USING (company_id) "
        "WHERE f.chain_id = {chain} AND (coalesce(c.is_branch, false) "
        "OR coalesce(c.is_individual, false) "
        "OR (c.origin = 'registry' AND regexp_matches(coalesce(c.full_name, ''), {names})) "
        "OR EXISTS (SELECT 1 FROM company_industries i "
        "WHERE i.company_id = c.company_id AND i.scheme = 'sw2021' "
        "AND list_contains({finance}, left(i.code, 2))))", chain=param(chain.chain_id),
        names=param(NON_TARGET_NAMES), finance=values(FINANCE_SW))).fetchall()}


def _makers(db: Database, chain: Chain) -> set[str]:
    """Firms placed directly on a production node of the chain. A firm placed only on a
    trade, retail, service or operator node also has rows on that node's production
    ancestors (chain_firms folds subtrees up): 赛尔网络, an internet operator placed on
    通信运营与网络服务, would otherwise pass as a 现代通信 maker."""
    production = [n.node_id for n in chain.nodes if n.kind == "production"]
    return {str(r[0]) for r in db.execute(
        "SELECT DISTINCT company_id FROM chain_firms WHERE chain_id = ? AND direct "
        "AND node_id IN (SELECT unnest(?))", [chain.chain_id, production]).fetchall()}


def _with_details(db: Database, chain: Chain, figures: pd.DataFrame) -> pd.DataFrame:
    """Add fit (highest confidence over the primary nodes), lon/lat, risk flags, size
    band and products to the candidate figures."""
    columns = ["fit", "node_confidence", "lon", "lat", "products"]
    if figures.empty:
        return figures.assign(**{c: pd.Series(dtype=object) for c in columns})
    # every row, not the direct ones only: a primary node can be a parent over two side
    # lines (chain_firms carries the best confidence below it)
    conf = db.df("SELECT company_id, node_id, confidence FROM chain_firms "
                 "WHERE chain_id = ?", [chain.chain_id])
    pairs = figures[["company_id", "primary_nodes"]].explode("primary_nodes").rename(
        columns={"primary_nodes": "node_id"})
    placed = pairs.merge(conf, on=["company_id", "node_id"], how="left")
    best = placed.groupby("company_id")["confidence"].max()
    out = figures.copy()
    out["fit"] = out["company_id"].map(best).fillna(0.0).astype(float)
    per_node: dict[str, dict[str, float]] = {}
    for cid, node, value in zip(placed["company_id"], placed["node_id"],
                                placed["confidence"].fillna(0.0), strict=True):
        per_node.setdefault(str(cid), {})[str(node)] = float(value)
    out["node_confidence"] = pd.Series([per_node.get(str(c), {}) for c in out["company_id"]],
                                       index=out.index, dtype=object)
    places = _places(db)
    lonlat = [places.get(str(c)) or places.get(str(d)) or places.get(str(p)) or (None, None)
              for c, d, p in zip(out["city_adcode"], out["region_adcode"],
                                 out["province_adcode"], strict=True)]
    out["lon"] = [p[0] for p in lonlat]
    out["lat"] = [p[1] for p in lonlat]
    out["products"] = _products(db, chain, list(out["company_id"]))
    return out


def _products(db: Database, chain: Chain, ids: list[str]) -> list[list[str]]:
    """Each firm's placing products on the chain, largest share first."""
    found: dict[str, list[str]] = {}
    for cid, product in db.execute(
            "SELECT company_id, product FROM (SELECT company_id, product, max(share) AS s "
            "FROM firm_node_products WHERE chain_id = ? AND company_id IN "
            "(SELECT unnest(?)) GROUP BY ALL) ORDER BY company_id, s DESC, product",
            [chain.chain_id, ids]).fetchall():
        found.setdefault(str(cid), []).append(str(product))
    return [found.get(str(c), []) for c in ids]


def _places(db: Database) -> dict[str, tuple[float, float]]:
    """adcode -> (lon, lat) of every region with a centroid."""
    return {str(a): (float(x), float(y)) for a, x, y in db.execute(
        "SELECT adcode, lon, lat FROM regions WHERE lon IS NOT NULL AND lat IS NOT NULL"
    ).fetchall()}


def _labels(db: Database, ids: list[str]) -> dict[str, dict[str, Any]]:
    """company_id -> names, stock code and province and city names, for the firms shown
    (with the registry loaded there are tens of thousands of candidates)."""
    rows = db.rows(compose(
        "SELECT c.company_id, c.short_name, c.full_name, c.stock_code, rp.name AS province, "
        "coalesce(rc.name, rd.name) AS city FROM companies c "
        "LEFT JOIN regions rc ON rc.adcode = c.city_adcode "
        "LEFT JOIN regions rd ON rd.adcode = c.region_adcode "
        "LEFT JOIN regions rp ON rp.adcode = c.province_adcode "
        "WHERE list_contains({ids}, c.company_id)", ids=values(ids)))
    return {str(r["company_id"]): r for r in rows}


def local_branches(db: Database, region: Region, ids: list[str],
                   as_of: int | None = None) -> dict[str, list[str]]:
    """company_id -> full names of its registry branches inside ``region`` (founded by
    ``as_of``): a firm already present there is a 强链 (增资扩产) prospect, not a new one."""
    rows = db.rows(compose(
        "SELECT b.parent_id AS company_id, list(b.full_name ORDER BY b.full_name) AS names "
        "FROM companies b WHERE b.is_branch AND list_contains({ids}, b.parent_id) "
        "AND {area} AND {as_of} GROUP BY 1", ids=values(ids),
        area=in_area(region.level, region.adcode, "b"), as_of=founded_by(as_of, "b")))
    return {str(r["company_id"]): [str(n) for n in r["names"]] for r in rows}


def _centroid(db: Database, region: Region) -> tuple[float, float] | None:
    """The region's (lon, lat), falling back to its parent when it has none."""
    if region.lon is not None and region.lat is not None:
        return region.lon, region.lat
    row = db.rows("SELECT lon, lat FROM regions WHERE adcode = ?", [region.parent])
    if row and row[0]["lon"] is not None and row[0]["lat"] is not None:
        return float(row[0]["lon"]), float(row[0]["lat"])
    return None


# --------------------------------------------------------------------------- scoring step


def score_firms(candidates: pd.DataFrame, links: Mapping[str, Sequence[Mapping[str, Any]]],
                *, centre: tuple[float, float] | None, province: str,
                weights: Mapping[str, float] = TARGET_WEIGHTS) -> pd.DataFrame:
    """The pure scoring step: add the components, ``score_before_risk`` and ``score``
    (× ``factor`` when the frame has one), sorted best first.

    ``candidates`` needs company_id, registered_capital, employees, chain_revenue_share
    (or revenue_share), fit, province_adcode, lon, lat; ``expansion`` is kept when given,
    else read from ``expansion_cities`` (0 without). ``links`` maps a candidate to its
    links (:mod:`chainatlas.recommend.target_links`). Sizes scale among the frame's rows.
    """
    frame = candidates.copy()
    add_strength(frame)
    add_proximity(frame, centre, province)
    # firms on the same nodes share one list of template links: value each list once
    values_of: dict[int, float] = {}
    frame["links"] = [values_of.setdefault(id(links[c]), links_value(links[c]))
                      if c in links else 0.0 for c in frame["company_id"].astype(str)]
    if "expansion" not in frame:
        cities = frame["expansion_cities"] if "expansion_cities" in frame else pd.Series(
            0.0, index=frame.index)
        frame["expansion"] = expansion_score(cities.astype(float))
    frame["score_before_risk"] = sum(w * frame[k].astype(float) for k, w in weights.items())
    factor = frame["factor"].astype(float) if "factor" in frame else 1.0
    frame["score"] = frame["score_before_risk"] * factor
    return frame.sort_values(["score", "scale_figure", "company_id"],
                             ascending=[False, False, True], na_position="last")


def add_strength(frame: pd.DataFrame) -> None:
    """Add ``strength`` (leaders' scale among the frame's firms: module docs) with its
    parts (scale_basis, scale_figure, scale_floor, scale_top) and ``capital_pct`` (the
    percentile of registered capital, a tie-break) to the frame (in place)."""
    if "chain_revenue_share" not in frame:
        frame["chain_revenue_share"] = frame.get("revenue_share", np.nan)
    share = frame["chain_revenue_share"].astype(float)
    scaled = scale_component(frame.assign(
        employees=pd.to_numeric(frame["employees"], errors="coerce"),
        registered_capital=pd.to_numeric(frame["registered_capital"], errors="coerce"),
        chain_revenue_share=share))
    for column in ("scale_basis", "scale_figure", "scale_floor", "scale_top"):
        frame[column] = scaled[column]
    frame["strength"] = scaled["scale"].astype(float)
    frame["capital_pct"] = percentile_rank(
        pd.to_numeric(frame["registered_capital"], errors="coerce"))


def haversine_km(lon1: Any, lat1: Any, lon2: float, lat2: float) -> Any:
    """Great-circle distance in km (vectorised over the first point)."""
    p1, p2 = np.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - np.asarray(lon1, dtype=float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def add_proximity(frame: pd.DataFrame, centre: tuple[float, float] | None,
                  province: str) -> None:
    """Add distance_km, same_province and the proximity component (in place)."""
    frame["same_province"] = frame["province_adcode"] == province
    if centre is None:
        frame["distance_km"] = np.nan
    else:
        frame["distance_km"] = haversine_km(pd.to_numeric(frame["lon"], errors="coerce"),
                                            pd.to_numeric(frame["lat"], errors="coerce"),
                                            *centre)
    # an unknown distance earns nothing rather than a guess
    near = pd.Series(np.exp(-frame["distance_km"].astype(float) / DISTANCE_SCALE_KM),
                     index=frame.index).fillna(0.0)
    frame["proximity"] = ((1 - SAME_PROVINCE_BONUS) * near
                          + SAME_PROVINCE_BONUS * frame["same_province"].astype(float))


# --------------------------------------------------------------------------- output


def firms_frame(results: list[dict[str, Any]]) -> pd.DataFrame:
    """A flat table of :func:`rank_firms` results (one row per firm)."""
    rows = []
    for r in results:
        c = r["components"]
        s, p = c["strength"], c["proximity"]
        rows.append({
            "rank": r["rank"], "company_id": r["company_id"], "short_name": r["short_name"],
            "full_name": r["full_name"], "stock_code": r["stock_code"],
            "province": r["province"], "city": r["city"],
            "nodes": "、".join(n["name_zh"] for n in r["nodes"]), "score": r["score"],
            **{k: c[k]["value"] for k in TARGET_WEIGHTS},
            "employees": s["employees"], "capital": s["capital"],
            "chain_share": s["chain_share"], "size_band": SIZE_BANDS.get(
                str(r["size_band"]), ""), "distance_km": p["distance_km"],
            "same_province": p["same_province"], "risk": r["risk"]["flags_zh"],
            "local_partners": "、".join(dict.fromkeys(
                str(x["short_name"]) for x in c["links"]["local_partners"])),
            "reasons": "；".join(r["reasons_zh"])})
    columns = ["rank", "company_id", "short_name", "full_name", "stock_code", "province",
               "city", "nodes", "score", *TARGET_WEIGHTS, "employees", "capital",
               "chain_share", "size_band", "distance_km", "same_province", "risk",
               "local_partners", "reasons"]
    return pd.DataFrame(rows, columns=columns)

