"""Which outside firms a region should approach first on a chain (精准招商), with reasons.

Candidates are the firms placed on the chain (or on one node's subtree) that are located
OUTSIDE the region: listed firms, plus roster firms of other regions when a roster was
imported. Firms of unknown location are left out, since they cannot be shown to be
outside. The score is a weighted sum of four components, each in [0, 1]
(``WEIGHTS``: fit 0.25, strength 0.30, links 0.25, proximity 0.20):

- fit: the firm's placement confidence on the chain or node (the highest of its nodes).
- strength: 0.35 × capital percentile + 0.25 × employees percentile + 0.15 × listed
  + 0.25 × chain revenue share. Percentiles are ranks among the candidates (missing
  figures rank 0); the revenue share sums the shares of the firm's distinct products that
  placed it on the chain's (or node's) nodes, capped at 1.
- links: supply links, either direction, between the firm's chain products and the
  products of the region's firms (the product relations behind ``firm_supply``, restricted
  as explained at ``_LINKS_SQL``). Each local partner (per direction) contributes
  importance × (1 − exp(−weight / 0.02)), where importance is 1.0 for a local chain
  leader (the region's top 3 chain firms by :func:`chainatlas.analysis.leaders.leader_frame`
  score), 0.75 for another local firm on the chain and 0.4 for any other local firm; the
  component is the noisy-OR 1 − Π(1 − contribution) of all of them.
- proximity: 0.8 × exp(−d / 800 km) + 0.2 when in the region's province, d being the
  great-circle distance between the firm's city centroid and the region's centroid.

``as_of=YEAR`` keeps only firms founded or listed by that year, on both sides: candidates
and the local firms they would link to.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from chainatlas.analysis.leaders import leader_frame, num, percentile_rank, placing_products
from chainatlas.analysis.panorama import chain_row
from chainatlas.analysis.regional import as_of_sql, founded_by_sql
from chainatlas.analysis.regions import region_column
from chainatlas.chains.signals import noisy_or
from chainatlas.errors import NotFoundError
from chainatlas.store import Database

WEIGHTS = {"fit": 0.25, "strength": 0.30, "links": 0.25, "proximity": 0.20}
STRENGTH_WEIGHTS = {"capital": 0.35, "employees": 0.25, "listed": 0.15, "revenue_share": 0.25}
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

# The firm-level graph (firm_supply) links firms through ANY of their products, so a
# health-check chain would "buy cotton for its garments" from a local textile firm. Here
# a link counts only when the candidate's side is one of the products that placed it on
# the chain's (or node's) nodes; the local side may be any product of any local firm.
# Product pairs and weights follow analysis.derive: share(candidate, p) × share(local, q)
# for every p upstream of q (or q of p); missing local shares count 1/n.
_LINKS_SQL = """
WITH cand AS (
    SELECT DISTINCT f.company_id, u.p.product AS name, u.p.share AS w FROM firm_nodes f,
        unnest(from_json(json_extract(f.evidence, '$.products'),
                         '[{{"product": "VARCHAR", "share": "DOUBLE"}}]')) AS u(p)
    WHERE f.chain_id = ? AND f.node_id IN {scope} AND f.evidence LIKE '%"products"%'),
cand_p AS (SELECT c.company_id, p.product_id, c.name, c.w FROM cand c
           JOIN products p ON p.name = c.name AND p.kind = 'product'),
loc AS (SELECT company_id, short_name FROM companies l WHERE {local}),
shares AS (
    SELECT cp.company_id, cp.product_id, cp.revenue_share,
           count(*) OVER (PARTITION BY cp.company_id) AS n,
           max(coalesce(cp.revenue_share, 0)) OVER (PARTITION BY cp.company_id) AS top
    FROM company_products cp JOIN loc USING (company_id) JOIN products p USING (product_id)
    WHERE p.kind = 'product' AND coalesce(cp.revenue_share, 0) >= 0),
loc_p AS (SELECT s.company_id, s.product_id, p.name,
                 CASE WHEN top > 0 THEN coalesce(revenue_share, 0) ELSE 1.0 / n END AS w
          FROM shares s JOIN products p USING (product_id)),
supply AS (
    SELECT to_product AS up, from_product AS down FROM product_relations
    WHERE relation = 'upstream_material'
    UNION SELECT from_product, to_product FROM product_relations
    WHERE relation = 'downstream_product')
SELECT c.company_id AS candidate, 'supplies' AS direction, l.company_id AS partner,
       loc.short_name, c.name AS up, l.name AS down, c.w * l.w AS weight
FROM supply s JOIN cand_p c ON c.product_id = s.up JOIN loc_p l ON l.product_id = s.down
JOIN loc ON loc.company_id = l.company_id WHERE c.w * l.w > 0
UNION ALL
SELECT c.company_id, 'buys', l.company_id, loc.short_name, l.name, c.name, c.w * l.w
FROM supply s JOIN cand_p c ON c.product_id = s.down JOIN loc_p l ON l.product_id = s.up
JOIN loc ON loc.company_id = l.company_id WHERE c.w * l.w > 0
"""


def rank_firms(db: Database, region: dict[str, Any], chain_id: str,
               node_id: str | None = None, top: int = 20,
               as_of: int | None = None) -> list[dict[str, Any]]:
    """Rank outside firms on the chain (or node subtree) to approach, best first.

    Each result carries the four score components with the raw figures behind them and
    short Chinese reasons (``reasons_zh``). ``chain_id`` may be an id or a Chinese name.
    """
    chain = chain_row(db, chain_id)
    chain_id = str(chain["chain_id"])
    scope, names = _scope(db, chain_id, node_id)
    frame = _candidates(db, region, chain_id, scope, as_of)
    if frame.empty:
        return []
    shares = placing_products(db, chain_id, scope)
    frame["revenue_share"] = frame["company_id"].map(
        lambda c: shares.get(c, (0.0, []))[0]).astype(float)
    _strength(frame)
    _proximity(frame, _centroid(db, region), str(region["province_adcode"]))
    partners = _partners(db, region, chain_id, scope, set(frame["company_id"]), as_of)
    frame["links"] = frame["company_id"].map(lambda c: noisy_or(
        p["contribution"] for p in partners.get(c, []))).astype(float)
    frame["score"] = sum(w * frame[k] for k, w in WEIGHTS.items())
    frame = frame.sort_values(["score", "registered_capital", "company_id"],
                              ascending=[False, False, True], na_position="last").head(top)
    placed = _direct_nodes(db, chain_id, scope, list(frame["company_id"]), names)
    context = {"region_name": str(region["name"]),
               "province_name": _region_name(db, str(region["province_adcode"])),
               "scope_zh": "该环节" if node_id else "本产业链"}
    out = []
    for rank, row in enumerate(frame.to_dict("records"), start=1):
        cid = str(row["company_id"])
        record = _record(rank, row, placed.get(cid, []), shares.get(cid, (0.0, []))[1],
                         partners.get(cid, []))
        record["reasons_zh"] = _reasons(record, context)
        out.append(record)
    return out


def _scope(db: Database, chain_id: str, node_id: str | None) -> tuple[list[str], dict[str, str]]:
    """The node ids in scope (the node's subtree, or the whole chain) and all node names."""
    nodes = db.rows("SELECT node_id, name_zh, parent FROM chain_nodes WHERE chain_id = ? "
                    "ORDER BY ord", [chain_id])
    names = {str(n["node_id"]): str(n["name_zh"]) for n in nodes}
    if node_id is None:
        return list(names), names
    if node_id not in names:
        raise NotFoundError(f"No node {node_id!r} in chain {chain_id!r}. "
                            f"Nodes: {', '.join(list(names)[:12])}, …")
    scope = [node_id]
    for node in nodes:  # ord lists parents before children, so one pass finds the subtree
        if node["parent"] in scope:
            scope.append(str(node["node_id"]))
    return scope, names


def _in_list(values: Iterable[str]) -> str:
    """A SQL list literal of ids (node ids and company ids never contain quotes)."""
    return "(" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + ")"


def _candidates(db: Database, region: dict[str, Any], chain_id: str, scope: list[str],
                as_of: int | None) -> pd.DataFrame:
    """Located firms outside the region on the scope's nodes, with size and place."""
    column = region_column(region)
    return db.df(
        "SELECT f.company_id, c.short_name, c.full_name, c.stock_code, c.origin, "
        "c.registered_capital, c.employees, f.province_adcode, f.city_adcode, "
        "max(f.confidence) AS fit, any_value(rp.name) AS province, "
        "any_value(coalesce(rc.name, rd.name)) AS city, "
        "any_value(coalesce(rc.lon, rd.lon, rp.lon)) AS lon, "
        "any_value(coalesce(rc.lat, rd.lat, rp.lat)) AS lat "
        "FROM chain_firms f JOIN companies c USING (company_id) "
        "LEFT JOIN regions rc ON rc.adcode = f.city_adcode "
        "LEFT JOIN regions rd ON rd.adcode = f.region_adcode "
        "LEFT JOIN regions rp ON rp.adcode = f.province_adcode "
        f"WHERE f.chain_id = ? AND f.node_id IN {_in_list(scope)} "
        f"AND f.{column} IS NOT NULL AND f.{column} <> ? AND {as_of_sql(as_of)} "
        "GROUP BY ALL", [chain_id, str(region["adcode"])])


def _strength(frame: pd.DataFrame) -> None:
    """Add the strength component and its parts to the candidate frame."""
    capital = pd.to_numeric(frame["registered_capital"], errors="coerce")
    frame["capital_pct"] = percentile_rank(capital)
    frame["employees_pct"] = percentile_rank(pd.to_numeric(frame["employees"], errors="coerce"))
    frame["listed"] = (frame["origin"] == "listed").astype(float)
    frame["strength"] = (STRENGTH_WEIGHTS["capital"] * frame["capital_pct"]
                         + STRENGTH_WEIGHTS["employees"] * frame["employees_pct"]
                         + STRENGTH_WEIGHTS["listed"] * frame["listed"]
                         + STRENGTH_WEIGHTS["revenue_share"] * frame["revenue_share"])
    # "top N%": the share of candidates at least as large (by registered capital)
    above = capital.rank(ascending=False, method="max", na_option="keep")
    frame["size_top_pct"] = np.ceil(100.0 * above / len(frame))


def _centroid(db: Database, region: dict[str, Any]) -> tuple[float, float] | None:
    """The region's (lon, lat), falling back to its parent when it has none."""
    if region.get("lon") is not None and region.get("lat") is not None:
        return float(region["lon"]), float(region["lat"])
    row = db.rows("SELECT lon, lat FROM regions WHERE adcode = ?", [region.get("parent")])
    if row and row[0]["lon"] is not None and row[0]["lat"] is not None:
        return float(row[0]["lon"]), float(row[0]["lat"])
    return None


def haversine_km(lon1: Any, lat1: Any, lon2: float, lat2: float) -> Any:
    """Great-circle distance in km (vectorised over the first point)."""
    p1, p2 = np.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - np.asarray(lon1, dtype=float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def _proximity(frame: pd.DataFrame, centre: tuple[float, float] | None,
               province: str) -> None:
    """Add distance_km, same_province and the proximity component."""
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


def _local_roles(db: Database, region: dict[str, Any], chain_id: str,
                 as_of: int | None) -> dict[str, tuple[str, int]]:
    """Local chain firms -> (role, rank by leader score): the top ones are leaders."""
    leaders = leader_frame(db, chain_id, as_of)
    if leaders.empty:
        return {}
    local = leaders[leaders[region_column(region)] == region["adcode"]]
    return {str(cid): ("leader" if k <= LOCAL_LEADERS else "chain", k)
            for k, cid in enumerate(local["company_id"], start=1)}


def _link_pairs(db: Database, region: dict[str, Any], chain_id: str, scope: list[str],
                as_of: int | None) -> pd.DataFrame:
    """Product pairs linking a firm's in-scope chain products to a local firm's products."""
    local = (f"l.{region_column(region)} = '{region['adcode']}' AND l.same_as IS NULL AND "
             + founded_by_sql(as_of, "l"))
    return db.df(_LINKS_SQL.format(scope=_in_list(scope), local=local), [chain_id])


def _partners(db: Database, region: dict[str, Any], chain_id: str, scope: list[str],
              candidates: set[str], as_of: int | None) -> dict[str, list[dict[str, Any]]]:
    """candidate -> its supply links to local firms, local chain leaders first."""
    pairs = _link_pairs(db, region, chain_id, scope, as_of)
    pairs = pairs[pairs["candidate"].isin(candidates)]
    roles = _local_roles(db, region, chain_id, as_of) if len(pairs) else {}
    out: dict[str, list[dict[str, Any]]] = {}
    for (cid, direction, partner, name), group in pairs.groupby(
            ["candidate", "direction", "partner", "short_name"], sort=False):
        group = group.sort_values(["weight", "up", "down"], ascending=[False, True, True])
        weight = float(group["weight"].sum())
        role, order = roles.get(str(partner), ("other", len(roles) + 1))
        strength = 1.0 - math.exp(-weight / LINK_WEIGHT_SCALE)
        out.setdefault(str(cid), []).append({
            "company_id": str(partner), "short_name": name, "direction": direction,
            "role": role, "role_zh": ROLE_ZH[role],
            "leader_rank": order if role != "other" else None,
            "examples": [f"{u}→{d}" for u, d in zip(group["up"].head(3), group["down"].head(3),
                                                      strict=True)],
            "weight": round(weight, 6), "relations": len(group),
            "contribution": round(IMPORTANCE[role] * strength, 4)})
    for links in out.values():
        links.sort(key=lambda p: (list(IMPORTANCE).index(p["role"]), p["leader_rank"] or 0,
                                  -p["contribution"], p["company_id"]))
    return out


def _direct_nodes(db: Database, chain_id: str, scope: list[str], ids: list[str],
                  names: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """company_id -> the in-scope nodes it is placed on directly, most confident first."""
    if not ids:
        return {}
    rows = db.execute(
        "SELECT f.company_id, f.node_id, f.confidence FROM chain_firms f JOIN chain_nodes n "
        "ON n.chain_id = f.chain_id AND n.node_id = f.node_id WHERE f.chain_id = ? AND "
        f"f.direct AND f.node_id IN {_in_list(scope)} AND f.company_id IN {_in_list(ids)} "
        "ORDER BY f.company_id, f.confidence DESC, n.ord", [chain_id]).fetchall()
    out: dict[str, list[dict[str, Any]]] = {}
    for cid, nid, confidence in rows:
        out.setdefault(str(cid), []).append({"node_id": nid, "name_zh": names.get(nid, nid),
                                             "confidence": round(float(confidence), 4)})
    return out


def _region_name(db: Database, adcode: str) -> str:
    return str(db.scalar("SELECT name FROM regions WHERE adcode = ?", [adcode]) or "")


def _record(rank: int, row: Mapping[Hashable, Any], nodes: list[dict[str, Any]],
            products: list[str], partners: list[dict[str, Any]]) -> dict[str, Any]:
    """One ranked firm as plain JSON-able values."""
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
                "products": products[:5],
                "size_top_pct": None if top_pct is None else int(top_pct)},
            "links": {"value": round(float(row["links"]), 4), "weight": WEIGHTS["links"],
                      "local_partners": partners},
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


def _reasons(record: dict[str, Any], context: dict[str, str]) -> list[str]:
    """Short Chinese reasons: links first (the most actionable), then fit, size, place."""
    comps = record["components"]
    partners = comps["links"]["local_partners"]
    reasons = [_link_reason(p) for p in partners[:PARTNER_REASONS]]
    others = len({p["company_id"] for p in partners[PARTNER_REASONS:]}
                 - {p["company_id"] for p in partners[:PARTNER_REASONS]})
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
    return reasons


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
            "reasons": "；".join(r["reasons_zh"])})
    columns = ["rank", "company_id", "short_name", "full_name", "stock_code", "province",
               "city", "nodes", "score", *WEIGHTS, "capital", "employees", "listed",
               "revenue_share", "distance_km", "same_province", "local_partners", "reasons"]
    return pd.DataFrame(rows, columns=columns)
