"""Which outside firms a region should approach first on a chain (精准招商), with reasons.

Candidates are the firms of one universe (``universe``: listed, registry or all, default
``all`` once registry firms are loaded; every result names it) placed on the chain (or on
one node's subtree) that are located OUTSIDE the region: under ``all`` listed firms,
registry firms of the loaded provinces and roster firms of other regions. Firms of
unknown location are left out, since they cannot be shown to be outside. The score is a
weighted sum of four components, each in [0, 1] (``WEIGHTS``: fit 0.25, strength 0.30,
links 0.25, proximity 0.20):

- fit: the firm's placement confidence on the chain or node (the highest of its nodes).
- strength: 0.35 × capital percentile + 0.25 × employees percentile + 0.15 × listed
  + 0.25 × chain revenue share. Percentiles are ranks among the candidates (missing
  figures rank 0); the revenue share sums the shares of the firm's distinct products that
  placed it on the chain's (or node's) nodes, capped at 1.
- links: supply links, either direction, between the firm's chain products and the
  products of the region's firms (the product relations behind ``firm_supply``, restricted
  as explained at :func:`chainatlas.analysis.supply.firm_links`), among the region's
  firms of the same universe (registry firms have no products, so they never link). Each
  local partner (per
  direction) contributes importance × (1 − exp(−weight / 0.02)), where importance is 1.0
  for a local chain leader (the region's top 3 chain firms of the universe by
  :func:`chainatlas.analysis.leaders.leader_frame` score), 0.75 for another local firm on
  the chain and 0.4 for any other local firm; the component is the noisy-OR
  1 − Π(1 − contribution) of all of them.
- proximity: 0.8 × exp(−d / 800 km) + 0.2 when in the region's province, d being the
  great-circle distance between the firm's city centroid and the region's centroid.

``as_of=YEAR`` keeps only firms founded or listed by that year, on both sides: candidates
and the local firms they would link to.

The ranking is a query step (:func:`firm_inputs`: candidates with their raw figures, and
the product links to local firms with the local firm's role) and a pure scoring step
(:func:`link_partners`, :func:`score_firms`) that needs no store.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from chainatlas.analysis.expansion import EXPANSION_YEARS, expansion_zh
from chainatlas.analysis.explain import explain, explain_zh
from chainatlas.analysis.leaders import leader_frame, num, percentile_rank
from chainatlas.analysis.regional import region_profile
from chainatlas.analysis.risk import NOT_COVERED_ZH
from chainatlas.analysis.supply import firm_links
from chainatlas.analysis.weights import TARGET_WEIGHTS
from chainatlas.chains.direction import directions_from_store
from chainatlas.chains.placements import PRIMARY_SHARE, placing_products, primary_sql
from chainatlas.chains.signals import noisy_or
from chainatlas.recommend.filters import SIZE_BANDS, TargetFilters
from chainatlas.recommend.target_signals import (
    add_expansion,
    add_risk,
    apply_filters,
    template_partners,
    template_reason,
)
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, as_region, as_universe, region_names
from chainatlas.store.query import (
    UNIVERSES,
    Q,
    compose,
    first_year_by,
    founded_by,
    ident,
    in_area,
    in_universe,
    param,
    values,
)

WEIGHTS = TARGET_WEIGHTS
#: Parts of strength: size (employees where known, else registered capital: for a listed
#: firm capital is a share count), listed, the revenue share of its chain products.
STRENGTH_WEIGHTS = {"size": 0.60, "listed": 0.15, "revenue_share": 0.25}
LABELS_ZH = {"fit": "匹配度", "strength": "企业实力", "links": "产业链关联",
             "expansion": "扩张活跃度", "proximity": "区位邻近"}
DISTANCE_SCALE_KM = 800.0
SAME_PROVINCE_BONUS = 0.2
# Link weights (as in firm_supply) are products of revenue shares: 0.02 is e.g. 14% × 14%,
# a link that matters to both firms; a 1% × 1% pair (0.0001) contributes almost nothing.
LINK_WEIGHT_SCALE = 0.02
LOCAL_LEADERS = 3
IMPORTANCE = {"leader": 1.0, "chain": 0.75, "other": 0.4}
ROLE_ZH = {"leader": "链主", "chain": "链上企业", "other": "其他本地企业"}
EARTH_RADIUS_KM = 6371.0
PARTNER_REASONS = 2

Partners = Mapping[str, Sequence[Mapping[str, Any]]]
#: Columns of :attr:`FirmInputs.links` (what :func:`link_partners` reads).
LINK_COLUMNS = ["candidate", "direction", "partner", "short_name", "up", "down", "weight",
                "role", "leader_rank"]


@dataclass(frozen=True)
class FirmInputs:
    """What the query step hands to the scoring step for one region, chain and scope."""

    #: one row per candidate: company_id, origin, registered_capital, employees,
    #: province/city adcodes, lon, lat, fit, revenue_share, products (names: _labels)
    candidates: pd.DataFrame
    #: product pairs to local firms (see :func:`link_partners`), with role and leader_rank
    links: pd.DataFrame
    #: the region's (lon, lat), or None when neither it nor its parent has one
    centre: tuple[float, float] | None
    #: the region's province adcode (the same-province bonus)
    province: str
    #: the firm universe of candidates and local partners
    universe: str = "listed"


def rank_firms(db: Database, region: Region | str, chain: Chain | str,
               node_id: str | None = None, top: int = 20,
               as_of: int | None = None, universe: str | None = None,
               filters: TargetFilters | None = None) -> list[dict[str, Any]]:
    """Rank outside firms of ``universe`` (None: the default) on the chain (or node
    subtree) to approach, best first.

    Each result carries the four score components with the raw figures behind them,
    short Chinese reasons (``reasons_zh``) and its universe (``universe``,
    ``universe_zh``). ``chain`` and ``node_id`` may be ids or Chinese names
    (NotFoundError otherwise).
    """
    region, chain = as_region(db, region), as_chain(db, chain)
    filters = filters or TargetFilters()
    scope = chain.subtree(node_id)
    inputs = firm_inputs(db, region, chain, scope, as_of, universe,
                         any_kind=node_id is not None, filters=filters)
    if inputs.candidates.empty:
        return []
    partners = link_partners(inputs.links)
    production = {n.node_id for n in chain.nodes if n.kind == "production"}
    linking = scope if node_id is not None else [n for n in scope if n in production]
    templates = _template_links(db, region, chain, linking, inputs, as_of)
    frame = _labels(db, score_firms(inputs.candidates, partners, centre=inputs.centre,
                                    province=inputs.province, templates=templates).head(top))
    placed = _direct_nodes(db, chain, scope, list(frame["company_id"]))
    context = {"region_name": region.name,
               "province_name": region_names(db, [region.province_adcode]).get(
                   region.province_adcode, ""),
               "scope_zh": "该环节" if node_id else "本产业链"}
    out = []
    for rank, row in enumerate(frame.to_dict("records"), start=1):
        cid = str(row["company_id"])
        record = _record(rank, row, placed.get(cid, []), partners.get(cid, []),
                         templates.get(cid, []))
        record["universe"], record["universe_zh"] = inputs.universe, UNIVERSES[inputs.universe]
        record["filters_zh"] = filters.describe_zh()
        record["reasons_zh"] = _reasons(record, context, chain.names())
        out.append(record)
    return out


def _template_links(db: Database, region: Region, chain: Chain, scope: Sequence[str],
                    inputs: FirmInputs, as_of: int | None) -> dict[str, list[dict[str, Any]]]:
    """Template links of every candidate to the region's 强/弱 nodes (see
    :mod:`chainatlas.recommend.target_signals`)."""
    profile = region_profile(db, region, chain, as_of, inputs.universe)
    local = {str(n["node_id"]): n for n in profile["nodes"]}
    ids = inputs.candidates["company_id"].tolist()
    rows = db.execute(
        "SELECT company_id, node_id FROM chain_firms WHERE chain_id = ? AND direct AND "
        "node_id IN (SELECT unnest(?)) AND company_id IN (SELECT unnest(?))",
        [chain.chain_id, list(scope), ids]).fetchall()
    nodes: dict[str, list[str]] = {}
    for cid, nid in rows:
        nodes.setdefault(str(cid), []).append(str(nid))
    return template_partners(nodes, local, directions_from_store(db, chain))


# --------------------------------------------------------------------------- query step


def firm_inputs(db: Database, region: Region, chain: Chain, scope: Sequence[str],
                as_of: int | None = None, universe: str | None = None, *,
                any_kind: bool = False, filters: TargetFilters | None = None) -> FirmInputs:
    """The query step: candidates of the universe on the ``scope`` nodes (a primary
    business of theirs; production nodes only unless ``any_kind``), narrowed by
    ``filters``, with risk flags and expansion, and their links to local firms."""
    chosen = as_universe(db, universe)
    filters = filters or TargetFilters()
    candidates = _candidates(db, region, chain, scope, as_of, chosen, any_kind)
    if not candidates.empty:
        candidates = apply_filters(candidates, filters, region.province_adcode)
        candidates = add_risk(db, candidates, filters.exclude_risk)
        candidates = add_expansion(db, candidates, as_of)
    centre = _centroid(db, region)
    if candidates.empty:
        return FirmInputs(candidates.assign(revenue_share=[], products=[]),
                          pd.DataFrame(columns=LINK_COLUMNS), centre, region.province_adcode,
                          chosen)
    shares = placing_products(db, chain.chain_id, scope)
    # plain dict look-ups: with the registry loaded there are ten thousand candidates and
    # more, nearly all without products
    ids = candidates["company_id"].tolist()
    candidates["revenue_share"] = [float(shares[c][0]) if c in shares else 0.0 for c in ids]
    candidates["products"] = [list(shares[c][1]) if c in shares else [] for c in ids]
    links = _links(db, region, chain, scope, set(candidates["company_id"]), as_of, chosen)
    return FirmInputs(candidates, links, centre, region.province_adcode, chosen)


def _candidates(db: Database, region: Region, chain: Chain, scope: Sequence[str],
                as_of: int | None, universe: str, any_kind: bool = False) -> pd.DataFrame:
    """Located firms of the universe outside the region on the scope's nodes, with size
    and place (names come later, for the firms ranked: :func:`_labels`). A node counts
    when it is a primary business of the firm (a side line places a firm, it does not
    make it a target) and, unless ``any_kind``, a production node (a chain-wide list does
    not court distributors, pharmacies, hospitals or telecom operators)."""
    return db.df(compose(
        "SELECT f.company_id, any_value(f.origin) AS origin, "
        "any_value(c.registered_capital) AS registered_capital, "
        "any_value(c.employees) AS employees, any_value(f.province_adcode) AS province_adcode, "
        "any_value(f.city_adcode) AS city_adcode, max(f.confidence) AS fit, "
        "any_value(coalesce(rc.lon, rd.lon, rp.lon)) AS lon, "
        "any_value(coalesce(rc.lat, rd.lat, rp.lat)) AS lat "
        "FROM chain_firms f JOIN companies c USING (company_id) "
        "JOIN chain_nodes n ON n.chain_id = f.chain_id AND n.node_id = f.node_id "
        "LEFT JOIN regions rc ON rc.adcode = f.city_adcode "
        "LEFT JOIN regions rd ON rd.adcode = f.region_adcode "
        "LEFT JOIN regions rp ON rp.adcode = f.province_adcode "
        "WHERE f.chain_id = {chain} AND f.node_id IN (SELECT unnest({scope})) "
        "AND f.{column} IS NOT NULL AND f.{column} <> {adcode} AND {as_of} "
        "AND {universe} AND {primary} GROUP BY f.company_id "
        # chain-wide, the firm's production business must weigh at least as much as its
        # trade / retail / service / operator one (中国联通's 云计算 line does not make it
        # an electronics maker); a placement without a share counts as PRIMARY_SHARE
        "HAVING {any_kind} OR (max(coalesce(f.product_share, {unknown})) FILTER (WHERE "
        "f.direct AND n.kind = 'production') >= coalesce(max(coalesce(f.product_share, "
        "{unknown})) FILTER (WHERE f.direct AND n.kind <> 'production'), 0))",
        primary=primary_sql("f"), any_kind=param(any_kind), unknown=param(PRIMARY_SHARE),
        chain=param(chain.chain_id), scope=values(scope), column=ident(region.column),
        adcode=param(region.adcode), as_of=first_year_by(as_of, "f"),
        universe=in_universe(universe, "f")))


def _labels(db: Database, ranked: pd.DataFrame) -> pd.DataFrame:
    """The ranked candidates with their names, stock code and province and city names.

    Read for the firms shown only: with the registry loaded there are ten thousand
    candidates and more, and reading every name took a third of the ranking.
    """
    names = db.df(compose(
        "SELECT c.company_id, c.short_name, c.full_name, c.stock_code, rp.name AS province, "
        "coalesce(rc.name, rd.name) AS city FROM companies c "
        "LEFT JOIN regions rc ON rc.adcode = c.city_adcode "
        "LEFT JOIN regions rd ON rd.adcode = c.region_adcode "
        "LEFT JOIN regions rp ON rp.adcode = c.province_adcode "
        "WHERE list_contains({ids}, c.company_id)", ids=values(ranked["company_id"])))
    return ranked.merge(names, on="company_id", how="left")


def _centroid(db: Database, region: Region) -> tuple[float, float] | None:
    """The region's (lon, lat), falling back to its parent when it has none."""
    if region.lon is not None and region.lat is not None:
        return region.lon, region.lat
    row = db.rows("SELECT lon, lat FROM regions WHERE adcode = ?", [region.parent])
    if row and row[0]["lon"] is not None and row[0]["lat"] is not None:
        return float(row[0]["lon"]), float(row[0]["lat"])
    return None


def local_firms(region: Region, as_of: int | None = None, universe: str = "all") -> Q:
    """Condition on ``companies l``: a firm of the universe in the region (by ``as_of``),
    listed firm counted once (roster twins of a listed firm are left out)."""
    return compose("{area} AND l.same_as IS NULL AND {as_of} AND {universe}",
                   area=in_area(region.level, region.adcode, "l"),
                   as_of=founded_by(as_of, "l"), universe=in_universe(universe, "l"))


def _links(db: Database, region: Region, chain: Chain, scope: Sequence[str],
           candidates: set[str], as_of: int | None, universe: str) -> pd.DataFrame:
    """Product pairs linking candidates' in-scope products to local firms' products, each
    with the local firm's role (leader / chain / other) and rank among the local leaders."""
    pairs = firm_links(db, chain.chain_id, scope, local_firms(region, as_of, universe))
    pairs = pairs[pairs["candidate"].isin(candidates)].reset_index(drop=True)
    # leader scores are the costly part: only computed when there is a link to qualify
    roles = _local_roles(db, region, chain, as_of, universe) if len(pairs) else {}
    found = [roles.get(str(p), ("other", None)) for p in pairs["partner"]]
    pairs["role"] = [role for role, _ in found]
    pairs["leader_rank"] = pd.array([rank for _, rank in found], dtype="Int64")
    return pairs


def _local_roles(db: Database, region: Region, chain: Chain, as_of: int | None,
                 universe: str) -> dict[str, tuple[str, int]]:
    """Local chain firms of the universe -> (role, rank by leader score): the top ones
    are leaders."""
    leaders = leader_frame(db, chain, as_of, universe)
    if leaders.empty:
        return {}
    local = leaders[leaders[region.column] == region.adcode]
    return {str(cid): ("leader" if k <= LOCAL_LEADERS else "chain", k)
            for k, cid in enumerate(local["company_id"], start=1)}


def _direct_nodes(db: Database, chain: Chain, scope: Sequence[str],
                  ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """company_id -> the in-scope nodes it is placed on directly, most confident first."""
    if not ids:
        return {}
    names = chain.names()
    rows = db.execute(
        "SELECT f.company_id, f.node_id, f.confidence FROM chain_firms f JOIN chain_nodes n "
        "ON n.chain_id = f.chain_id AND n.node_id = f.node_id WHERE f.chain_id = ? AND "
        "f.direct AND f.node_id IN (SELECT unnest(?)) AND f.company_id IN (SELECT unnest(?)) "
        "ORDER BY f.company_id, f.confidence DESC, n.ord",
        [chain.chain_id, list(scope), ids]).fetchall()
    out: dict[str, list[dict[str, Any]]] = {}
    for cid, nid, confidence in rows:
        out.setdefault(str(cid), []).append({"node_id": nid, "name_zh": names.get(nid, nid),
                                             "confidence": round(float(confidence), 4)})
    return out


# --------------------------------------------------------------------------- scoring step


def score_firms(candidates: pd.DataFrame, partners: Partners, *,
                centre: tuple[float, float] | None, province: str,
                weights: Mapping[str, float] = WEIGHTS,
                templates: Partners | None = None) -> pd.DataFrame:
    """The pure scoring step: add the components and ``score``, sorted best first.

    ``candidates`` needs company_id, registered_capital, employees, origin, fit,
    revenue_share, province_adcode, lon, lat, and optionally ``expansion`` (0 when
    absent) and ``factor`` (the risk factor, 1 when absent); ``partners`` maps a
    candidate to its local partners (:func:`link_partners`), ``templates`` to its
    template links (:func:`~chainatlas.recommend.target_signals.template_partners`); both
    feed one noisy-or. Percentiles are among the frame's own rows.
    """
    frame = candidates.copy()
    templates = templates or {}
    add_strength(frame)
    add_proximity(frame, centre, province)
    frame["links"] = [noisy_or([*(p["contribution"] for p in partners.get(c, [])),
                                *(t["contribution"] for t in templates.get(c, []))])
                      for c in frame["company_id"]]
    if "expansion" not in frame:
        frame["expansion"] = 0.0
    if "factor" not in frame:
        frame["factor"] = 1.0
    frame["score_before_risk"] = sum(w * frame[k] for k, w in weights.items())
    frame["score"] = frame["score_before_risk"] * frame["factor"]
    return frame.sort_values(["score", "registered_capital", "company_id"],
                             ascending=[False, False, True], na_position="last")


def add_strength(frame: pd.DataFrame) -> None:
    """Add the strength component and its parts to the candidate frame (in place)."""
    capital = pd.to_numeric(frame["registered_capital"], errors="coerce")
    employees = pd.to_numeric(frame["employees"], errors="coerce")
    frame["capital_pct"] = percentile_rank(capital)
    frame["employees_pct"] = percentile_rank(employees)
    # employees measure size; registered capital only where there is no headcount (a
    # listed firm's capital is its share count), ranked among those firms
    no_staff = employees.isna() | (employees <= 0)
    frame["size_pct"] = frame["employees_pct"].where(
        ~no_staff, percentile_rank(capital.where(no_staff)))
    frame["size_basis_zh"] = np.where(no_staff, "注册资本", "员工")
    frame["listed"] = (frame["origin"] == "listed").astype(float)
    frame["strength"] = (STRENGTH_WEIGHTS["size"] * frame["size_pct"]
                         + STRENGTH_WEIGHTS["listed"] * frame["listed"]
                         + STRENGTH_WEIGHTS["revenue_share"] * frame["revenue_share"])
    # "top N%": the share of candidates ranked at least as large on the same basis
    above = frame["size_pct"].where(frame["size_pct"] > 0).rank(
        ascending=False, method="max", na_option="keep")
    frame["size_top_pct"] = np.ceil(100.0 * above / len(frame))


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
        frame["distance_km"] = haversine_km(frame["lon"].astype(float),
                                            frame["lat"].astype(float), *centre)
    # an unknown distance earns nothing rather than a guess
    near = np.exp(-frame["distance_km"] / DISTANCE_SCALE_KM).fillna(0.0)
    frame["proximity"] = ((1 - SAME_PROVINCE_BONUS) * near
                          + SAME_PROVINCE_BONUS * frame["same_province"].astype(float))


def link_partners(links: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """candidate -> its local partners (one per partner and direction), leaders first.

    ``links``: candidate, direction, partner, short_name, up, down, weight, role,
    leader_rank. A partner's contribution is importance(role) × (1 − exp(−Σweight /
    ``LINK_WEIGHT_SCALE``)); its examples are its three heaviest product pairs.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for (cid, direction, partner, name), group in links.groupby(
            ["candidate", "direction", "partner", "short_name"], sort=False):
        group = group.sort_values(["weight", "up", "down"], ascending=[False, True, True])
        weight = float(group["weight"].sum())
        role = str(group["role"].iloc[0])
        rank = group["leader_rank"].iloc[0]
        link = 1.0 - math.exp(-weight / LINK_WEIGHT_SCALE)
        out.setdefault(str(cid), []).append({
            "company_id": str(partner), "short_name": name, "direction": direction,
            "role": role, "role_zh": ROLE_ZH[role],
            "leader_rank": int(rank) if role != "other" else None,
            "examples": [f"{u}→{d}" for u, d in zip(group["up"].head(3), group["down"].head(3),
                                                      strict=True)],
            "weight": round(weight, 6), "relations": len(group),
            "contribution": round(IMPORTANCE[role] * link, 4)})
    for found in out.values():
        found.sort(key=lambda p: (list(IMPORTANCE).index(p["role"]), p["leader_rank"] or 0,
                                  -p["contribution"], p["company_id"]))
    return out


# --------------------------------------------------------------------------- output


def _record(rank: int, row: Mapping[Hashable, Any], nodes: list[dict[str, Any]],
            partners: Sequence[Mapping[str, Any]],
            templates: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """One ranked firm as plain JSON-able values."""
    record = _base_record(rank, row, nodes, partners)
    comps = record["components"]
    comps["links"]["template_links"] = [dict(t) for t in templates]
    comps["expansion"] = {"value": round(float(row.get("expansion", 0.0)), 4),
                          "weight": WEIGHTS["expansion"], **_expansion_raw(row)}
    flags = row.get("flags")
    record["risk"] = {"flags": list(flags) if isinstance(flags, list) else [],
                      "flags_zh": str(row.get("flags_zh") or ""),
                      "factor": float(row.get("factor", 1.0)), "note_zh": NOT_COVERED_ZH}
    record["score_before_risk"] = round(float(row.get("score_before_risk", row["score"])), 4)
    band = row.get("size_band")
    record["size_band"] = band if isinstance(band, str) else None
    record["size_band_zh"] = SIZE_BANDS.get(str(band), "") if isinstance(band, str) else ""
    record["explain"] = explain({k: float(comps[k]["value"]) for k in WEIGHTS}, WEIGHTS,
                                LABELS_ZH, _raw_zh(comps, len(templates)))
    return record


def _expansion_raw(row: Mapping[Hashable, Any]) -> dict[str, Any]:
    cities = int(row.get("expansion_cities", 0) or 0)
    first, last = num(row.get("expansion_first")), num(row.get("expansion_last"))
    return {"cities": cities, "branches": int(row.get("expansion_branches", 0) or 0),
            "first_year": None if first is None else int(first),
            "last_year": None if last is None else int(last),
            "years": EXPANSION_YEARS}


def _raw_zh(comps: Mapping[str, Any], templates: int) -> dict[str, str]:
    """The raw figure behind each component, in Chinese, for :func:`explain`."""
    s, p, e = comps["strength"], comps["proximity"], comps["expansion"]
    size = (f"员工 {s['employees']:,} 人" if s["employees"] else
            f"注册资本 {capital_zh(s['capital'])}" if s["capital"] else "规模不详")
    partners = len({x["company_id"] for x in comps["links"]["local_partners"]})
    where = ("" if p["distance_km"] is None else f"{p['distance_km']:,.0f} 公里"
             ) + ("，同省" if p["same_province"] else "")
    return {"fit": f"置信度 {comps['fit']['confidence']:.2f}",
            "strength": size + f"，链上营收占比 {s['revenue_share']:.0%}",
            "links": f"产品关联 {partners} 家本地企业，环节配套 {templates} 处",
            "expansion": (f"{e['cities']} 个外地城市新设 {e['branches']} 家分支机构"
                          if e["cities"] else "无外地新设分支机构记录"),
            "proximity": where or "位置不详"}


def _base_record(rank: int, row: Mapping[Hashable, Any], nodes: list[dict[str, Any]],
                 partners: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    distance = num(row["distance_km"])
    employees = num(row["employees"])
    top_pct = num(row["size_top_pct"])
    return {
        "rank": rank, "company_id": str(row["company_id"]),
        "short_name": row["short_name"], "full_name": row["full_name"],
        "stock_code": row["stock_code"], "origin": row["origin"],
        "province": row["province"], "city": row["city"],
        "province_adcode": row["province_adcode"], "city_adcode": row["city_adcode"],
        "nodes": nodes, "score": round(float(row["score"]), 4),
        "components": {
            "fit": {"value": round(float(row["fit"]), 4), "weight": WEIGHTS["fit"],
                    "confidence": round(float(row["fit"]), 4)},
            "strength": {
                "value": round(float(row["strength"]), 4), "weight": WEIGHTS["strength"],
                "capital": num(row["registered_capital"]),
                "capital_pct": round(float(row["capital_pct"]), 4),
                "employees": None if employees is None else int(employees),
                "employees_pct": round(float(row["employees_pct"]), 4),
                "listed": bool(row["listed"]),
                "revenue_share": round(float(row["revenue_share"]), 4),
                "products": list(row["products"])[:5],
                "size_top_pct": None if top_pct is None else int(top_pct)},
            "links": {"value": round(float(row["links"]), 4), "weight": WEIGHTS["links"],
                      "local_partners": [dict(p) for p in partners]},
            "proximity": {"value": round(float(row["proximity"]), 4),
                          "weight": WEIGHTS["proximity"],
                          "distance_km": None if distance is None else round(distance, 1),
                          "same_province": bool(row["same_province"])}},
    }


def capital_zh(wan: float | None) -> str | None:
    """Registered capital (万元) as Chinese text: 12.3 亿元, 5,000 万元."""
    if wan is None:
        return None
    return f"{wan / 10000:,.1f} 亿元" if wan >= 10000 else f"{wan:,.0f} 万元"


def _link_reason(partner: dict[str, Any]) -> str:
    """One sentence naming a local partner and the products that connect them."""
    who = f"本地{'链主' if partner['role'] == 'leader' else ''}「{partner['short_name']}」"
    pair = partner["examples"][0].split("→", 1) if partner["examples"] else []
    if len(pair) != 2:
        verb = "供应" if partner["direction"] == "supplies" else "采购自"
        return f"可{verb}{who}，形成上下游配套"
    up, down = pair
    if partner["direction"] == "supplies":
        return f"其「{up}」可供应{who}的「{down}」生产"
    return f"其「{down}」生产可采购{who}的「{up}」"


def _reasons(record: dict[str, Any], context: dict[str, str],
             node_names: Mapping[str, str]) -> list[str]:
    """Short Chinese reasons: links first (the most actionable), then expansion, fit,
    size, place and risk."""
    comps = record["components"]
    partners = comps["links"]["local_partners"]
    reasons = [_link_reason(p) for p in partners[:PARTNER_REASONS]]
    cited = {p["company_id"] for p in partners[:PARTNER_REASONS]}
    # a template link naming only firms a product link already cites adds nothing
    for link in comps["links"]["template_links"][:PARTNER_REASONS]:
        reasons.append(template_reason(link, node_names))
    expansion = comps["expansion"]
    if expansion["cities"]:
        reasons.append(expansion_zh(expansion["branches"], 0, expansion["first_year"],
                                    expansion["last_year"], expansion["years"])
                       + f"，分布于 {expansion['cities']} 个城市，扩张活跃")
    others = len({p["company_id"] for p in partners[PARTNER_REASONS:]} - cited)
    if others:
        reasons.append(f"另与本地 {others} 家企业存在供需关联")
    strength = comps["strength"]
    node = record["nodes"][0]["name_zh"] if record["nodes"] else None
    fit = "、".join(f"「{p}」" for p in strength["products"][:2])
    fit = (f"主营{fit}等，" if fit else "") + (f"属「{node}」环节" if node else "属本产业链")
    if strength["revenue_share"] >= 0.05:
        fit += f"，相关产品约占营收 {strength['revenue_share']:.0%}"
    reasons.append(fit + f"（匹配度 {comps['fit']['value']:.2f}）")
    size = [s for s in ("A 股上市公司" if strength["listed"] else None,
                        f"注册资本 {capital_zh(strength['capital'])}"
                        if strength["capital"] else None,
                        f"员工 {strength['employees']:,} 人" if strength["employees"] else None)
            if s]
    top_pct = strength["size_top_pct"]
    if top_pct is not None and top_pct <= 30:
        size.append(f"规模居{context['scope_zh']}外地企业前 {top_pct}%")
    if size:
        reasons.append("，".join(size))
    place = comps["proximity"]
    if place["distance_km"] is not None:
        where = f"距{context['region_name']}约 {place['distance_km']:,.0f} 公里"
        if place["same_province"] and context["province_name"]:
            where += f"，同属{context['province_name']}"
        reasons.append(where)
    if record["risk"]["flags_zh"]:
        reasons.append(f"风险提示：{record['risk']['flags_zh']}（得分已按 "
                       f"{record['risk']['factor']:.1f} 折算）")
    return [r for r in reasons if r]


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
            **{k: c[k]["value"] for k in WEIGHTS},
            "capital": s["capital"], "employees": s["employees"], "listed": s["listed"],
            "revenue_share": s["revenue_share"], "distance_km": p["distance_km"],
            "same_province": p["same_province"],
            "local_partners": "、".join(dict.fromkeys(
                str(x["short_name"]) for x in c["links"]["local_partners"])),
            "risk_flags": r["risk"]["flags_zh"], "explain": explain_zh(r["explain"]),
            "reasons": "；".join(r["reasons_zh"])})
    columns = ["rank", "company_id", "short_name", "full_name", "stock_code", "province",
               "city", "nodes", "score", *WEIGHTS, "capital", "employees", "listed",
               "revenue_share", "distance_km", "same_province", "local_partners",
               "risk_flags", "explain", "reasons"]
    return pd.DataFrame(rows, columns=columns)
