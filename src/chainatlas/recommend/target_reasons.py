"""The record of one ranked target firm: its components with raw figures, ``explain``
rows and Chinese reasons (record shape: :mod:`chainatlas.recommend.firms`).

Reasons follow what an analyst acts on first: the links into the local chain (template
edges, whose 上游/下游 are read from the one direction model, then product and scope
links, worded 供应/采购 since product relations set no direction), then what the firm
would add to its own node locally (补链 where the region has no firm there, 补强 where it
is weak, 强链 where it is strong), its business, size, expansion, place and risk flags.
A local firm is named at most once in a record's reasons, and a node the region has no
firm on (缺) never names one, so no firm is cited both as a strength and as the gap.
A record always has reasons: the business line is never empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chainatlas.analysis.expansion import EXPANSION_YEARS, expansion_zh
from chainatlas.analysis.explain import explain
from chainatlas.analysis.leaders import num, raw_zh
from chainatlas.analysis.weights import TARGET_WEIGHTS
from chainatlas.recommend.filters import SIZE_BANDS
from chainatlas.store.lookup import Chain
from chainatlas.store.query import UNIVERSES

LABELS_ZH = {"fit": "环节匹配", "strength": "企业实力", "links": "本地配套关联",
             "expansion": "异地扩张", "proximity": "区位邻近"}
ORIGIN_ZH = {"listed": "A 股上市公司", "registry": "工商登记企业", "roster": "导入名录企业"}
#: Links a record's reasons spell out (the rest are counted).
EDGE_REASONS = 2
PARTNER_REASONS = 2
#: What a firm would add to its own node, by the region's class there.
ROLE_OF_NODE_ZH = {"缺": "补链", "弱": "补强", "强": "强链"}


@dataclass(frozen=True)
class FirmContext:
    """What every record of one ranking shares."""

    region_name: str
    chain: Chain
    #: node_id -> class, lq, local_firms, firms (target_links.node_standing)
    standing: Mapping[str, Mapping[str, Any]]
    #: whether the ranking is of one node (else the chain)
    node_scope: bool
    province_name: str
    universe: str
    #: the registry's last registration year (None without registry firms)
    registry_until: int | None = None


def firm_record(rank: int, row: Mapping[str, Any], links: Sequence[Mapping[str, Any]],
                context: FirmContext) -> dict[str, Any]:
    """One ranked firm as plain JSON-able values (``row``: a scored candidate with its
    labels; ``links``: its links)."""
    components = _components(row, links)
    values = {k: float(components[k]["value"]) for k in TARGET_WEIGHTS}
    record: dict[str, Any] = {
        "rank": rank, "company_id": str(row["company_id"]),
        "short_name": row.get("short_name") or row.get("full_name"),
        "full_name": row.get("full_name"), "stock_code": row.get("stock_code"),
        "origin": row["origin"], "origin_zh": ORIGIN_ZH.get(str(row["origin"]), ""),
        "province": row.get("province"), "city": row.get("city"),
        "province_adcode": row["province_adcode"], "city_adcode": row["city_adcode"],
        "universe": context.universe, "universe_zh": UNIVERSES[context.universe],
        "same_province": bool(row["same_province"]),
        "size_band": row["size_band"], "size_band_zh": SIZE_BANDS.get(str(row["size_band"])),
        "size_basis": row["size_basis"],
        "nodes": _nodes(row, context),
        "risk": {"flags": list(row.get("flags") or []),
                 "flags_zh": str(row.get("flags_zh") or ""),
                 "factor": float(row.get("factor", 1.0))},
        "score": round(float(row["score"]), 4),
        "score_before_risk": round(float(row["score_before_risk"]), 4),
        "components": components,
        "local_branches": list(row.get("local_branches") or []),
        "explain": explain(values, TARGET_WEIGHTS, LABELS_ZH, explain_raw_zh(row, components,
                                                                          context))}
    record["reasons_zh"] = reasons(record, context)
    return record


def _nodes(row: Mapping[str, Any], context: FirmContext) -> list[dict[str, Any]]:
    confidence = row.get("node_confidence") or {}
    kinds = {n.node_id: n.kind for n in context.chain.nodes}
    names = context.chain.names()
    nodes = sorted(row["primary_nodes"], key=lambda n: -float(confidence.get(n, 0.0)))
    return [{"node_id": n, "name_zh": names.get(n, n), "kind": kinds.get(n),
             "confidence": round(float(confidence.get(n, 0.0)), 4),
             "local_class": context.standing.get(n, {}).get("class")} for n in nodes]


def _components(row: Mapping[str, Any], links: Sequence[Mapping[str, Any]]
                ) -> dict[str, dict[str, Any]]:
    w = TARGET_WEIGHTS
    employees, share = num(row["employees"]), num(row["chain_revenue_share"])
    distance = num(row["distance_km"])
    first, last = num(row.get("expansion_first_year")), num(row.get("expansion_last_year"))
    return {
        "fit": {"value": round(float(row["fit"]), 4), "weight": w.get("fit", 0.0),
                "confidence": round(float(row["fit"]), 4)},
        "strength": {
            "value": round(float(row["strength"]), 4), "weight": w.get("strength", 0.0),
            "basis": str(row["scale_basis"]),
            "employees": None if employees is None else int(employees),
            "capital": num(row["registered_capital"]),
            "chain_share": None if share is None else round(share, 4),
            "figure": num(row["scale_figure"]), "floor": num(row["scale_floor"]),
            "top": num(row["scale_top"]), "products": list(row.get("products") or [])[:5]},
        "links": {"value": round(float(row["links"]), 4), "weight": w.get("links", 0.0),
                  "links": [dict(x) for x in links],
                  "local_partners": [dict(x) for x in links if x["kind"] != "edge"]},
        "expansion": {
            "value": round(float(row["expansion"]), 4), "weight": w.get("expansion", 0.0),
            "branches": int(row.get("expansion_branches") or 0),
            "subsidiaries": int(row.get("expansion_subsidiaries") or 0),
            "cities": int(row.get("expansion_cities") or 0),
            "first_year": None if first is None else int(first),
            "last_year": None if last is None else int(last),
            "since": _year(row.get("expansion_since")), "until": _year(row.get(
                "expansion_until"))},
        "proximity": {"value": round(float(row["proximity"]), 4),
                      "weight": w.get("proximity", 0.0),
                      "distance_km": None if distance is None else round(distance, 1),
                      "same_province": bool(row["same_province"])}}


def _year(value: Any) -> int | None:
    found = num(value)
    return None if found is None else int(found)


# --------------------------------------------------------------------------- explain


def explain_raw_zh(row: Mapping[str, Any], components: Mapping[str, Mapping[str, Any]],
                   context: FirmContext) -> dict[str, str]:
    """component -> the raw figure behind it, in Chinese."""
    names = context.chain.names()
    nodes = [names.get(n, n) for n in row["primary_nodes"]]
    strength = components["strength"]
    raw = {"scale_basis": strength["basis"], "chain_revenue_share": strength["chain_share"],
           "employees": strength["employees"], "registered_capital": strength["capital"],
           "staff_estimate": _staff(strength), "scale_figure": strength["figure"],
           "scale_floor": strength["floor"], "scale_top": strength["top"],
           "primary_nodes_zh": nodes, "nodes_covered": len(nodes), "pagerank": 0.0,
           "linked_firms": 0}
    fit = f"归入「{'、'.join(nodes[:3]) or '—'}」的置信度 {components['fit']['value']:.2f}"
    return {"fit": fit,
            "strength": raw_zh(raw)["scale"], "links": _links_raw(components["links"]),
            "expansion": _expansion_raw(components["expansion"]),
            "proximity": _place_raw(components["proximity"], context)}


def _staff(strength: Mapping[str, Any]) -> float | None:
    figure, share = strength["figure"], strength["chain_share"]
    if not str(strength["basis"]).startswith("capital_staff") or figure is None:
        return None
    return round(float(figure) / (share or 1.0), 1)


def _links_raw(links: Mapping[str, Any]) -> str:
    found = links["links"]
    edges = [x for x in found if x["kind"] == "edge"]
    strong = sum(1 for x in edges if x["class"] == "强")
    parts = [f"模板上下游衔接本地 {len(edges)} 个环节（强 {strong}、弱 {len(edges) - strong}）"
             if edges else "",
             _count_zh("产品图谱关联本地企业", [x for x in found if x["kind"] == "product"]),
             _count_zh("经营范围关联本地企业", [x for x in found if x["kind"] == "scope"])]
    return "；".join(p for p in parts if p) or "未发现与本地企业的上下游衔接"


def _count_zh(label: str, found: Sequence[Mapping[str, Any]]) -> str:
    firms = {x["company_id"] for x in found}
    return f"{label} {len(firms)} 家" if firms else ""


def _expansion_raw(expansion: Mapping[str, Any]) -> str:
    text = expansion_zh(expansion["branches"], expansion["subsidiaries"],
                        expansion["first_year"], expansion["last_year"], EXPANSION_YEARS)
    if text:
        return f"{text}，分布于 {expansion['cities']} 个外地城市"
    since, until = expansion["since"], expansion["until"]
    window = f"{since}–{until} 年" if since is not None and until is not None else "近年"
    return f"工商登记中未见其{window}在外地新设分支机构"


def _place_raw(place: Mapping[str, Any], context: FirmContext) -> str:
    if place["distance_km"] is None:
        return "距离不详"
    text = f"距{context.region_name}约 {place['distance_km']:,.0f} 公里"
    return text + ("（同省）" if place["same_province"] else "")


# --------------------------------------------------------------------------- reasons


def reasons(record: Mapping[str, Any], context: FirmContext) -> list[str]:
    """Short Chinese reasons (module docs); never empty."""
    named: set[str] = set()
    found = record["components"]["links"]["links"]
    # partners first: a product link to a firm says more than the firm's node does, so
    # the firm is named there and the edge reason counts it without naming it again
    partners = partner_reasons([x for x in found if x["kind"] != "edge"], named)
    out = edge_reasons([x for x in found if x["kind"] == "edge"], named) + partners
    own = own_node_reason(record, context, named)
    if own:
        out.append(own)
    out.append(business_reason(record))
    present = record["local_branches"]
    if present:
        more = f"等 {len(present)} 家" if len(present) > 1 else ""
        out.append(f"已在{context.region_name}设有分支机构（{present[0]}{more}，工商登记），"
                   "宜以增资扩产、升级功能为主（强链），而非新引进")
    size = size_reason(record, context)
    if size:
        out.append(size)
    expansion = record["components"]["expansion"]
    grown = expansion_zh(expansion["branches"], expansion["subsidiaries"],
                         expansion["first_year"], expansion["last_year"], EXPANSION_YEARS)
    if grown:
        out.append(f"{grown}，分布于 {expansion['cities']} 个外地城市（工商登记），扩张活跃")
    place = place_reason(record, context)
    if place:
        out.append(place)
    if record["risk"]["flags_zh"]:
        out.append(f"风险提示：{record['risk']['flags_zh']}")
    return out


def _firms_zh(firms: Sequence[str], named: set[str]) -> str:
    """The firms not named yet, as 「A」「B」, and mark them named."""
    fresh = [f for f in firms if f not in named]
    named.update(fresh)
    return "".join(f"「{f}」" for f in fresh)


def _who_zh(firms: Sequence[str], count: int, named: set[str]) -> str:
    """「A」「B」等 5 家, 「A」 when it is the only one, 5 家 when all were named before."""
    fresh = [f for f in firms if f not in named]
    shown = _firms_zh(fresh, named)
    if not shown:
        return f"本地 {count} 家"
    return shown if count <= len(fresh) else f"{shown}等 {count} 家"


def edge_reasons(edges: Sequence[Mapping[str, Any]], named: set[str]) -> list[str]:
    """The template-edge links, strongest first: the local node, where the firm's node
    stands to it (the direction model's word), and the local firms there."""
    out = []
    for link in edges[:EDGE_REASONS]:
        where = "本地优势环节" if link["class"] == "强" else "本地已有布局的环节"
        who = f"（{_who_zh(link['firms'], link['local_firms'], named)}）"
        act = "可为本地企业就近配套" if link["side"] == "supplies" else "可就近采购本地产品"
        out.append(f"所在「{link['node_zh']}」是{where}「{link['local_node_zh']}」的"
                   f"{link['position_zh']}{who}，{act}")
    rest = len(edges) - EDGE_REASONS
    if rest > 0:
        out.append(f"另与本地 {rest} 个已有企业的环节存在上下游衔接")
    return out


def partner_reasons(partners: Sequence[Mapping[str, Any]], named: set[str]) -> list[str]:
    """Product and scope links to named local firms (供应/采购: product relations set no
    direction)."""
    out = []
    for link in partners[:PARTNER_REASONS]:
        who = f"本地{'链主' if link.get('role') == 'leader' else ''}「{link['short_name']}」"
        named.add(str(link["short_name"]))
        up, down = ([*link["examples"][0].split("→", 1), ""][:2] if link["examples"]
                    else ["", ""])
        via = "（经营范围）" if link["kind"] == "scope" else "（产品关联）"
        if link["side"] == "supplies":
            out.append(f"其「{up}」可供应{who}的「{down}」{via}")
        else:
            out.append(f"其「{down}」可采购{who}的「{up}」{via}")
    others = {p["company_id"] for p in partners[PARTNER_REASONS:]} - {
        p["company_id"] for p in partners[:PARTNER_REASONS]}
    if others:
        out.append(f"另与本地 {len(others)} 家企业存在产品供需关联")
    return out


def own_node_reason(record: Mapping[str, Any], context: FirmContext,
                    named: set[str]) -> str:
    """What the firm adds to its own (most confident) node locally."""
    if not record["nodes"]:
        return ""
    node = record["nodes"][0]
    standing = context.standing.get(node["node_id"])
    if standing is None:
        return ""
    role = ROLE_OF_NODE_ZH[str(standing["class"])]
    if standing["class"] == "缺":
        return f"本地尚无「{node['name_zh']}」环节企业，引进可{role}"
    who = _who_zh(standing["firms"], standing["local_firms"], named)
    level = "优势环节" if standing["class"] == "强" else "环节尚弱"
    return (f"本地「{node['name_zh']}」{level}（{who}，区位商 "
            f"{float(standing['lq']):.2f}），引进可{role}")


def business_reason(record: Mapping[str, Any]) -> str:
    """The firm's business on the chain: products, nodes, the share, the fit."""
    strength = record["components"]["strength"]
    products = "、".join(f"「{p}」" for p in strength["products"][:2])
    nodes = "、".join(n["name_zh"] for n in record["nodes"][:2])
    text = (f"主营{products}等，" if products else "") + (
        f"属「{nodes}」环节" if nodes else "属本产业链")
    share = strength["chain_share"]
    if share is not None and share >= 0.05:
        text += f"，相关产品约占营收 {share:.0%}"
    return text + f"（匹配度 {record['components']['fit']['value']:.2f}）"


def size_reason(record: Mapping[str, Any], context: FirmContext) -> str:
    """Listed or not, employees or registered capital, the size band."""
    strength = record["components"]["strength"]
    note = f"（{record['stock_code']}）" if record.get("stock_code") else ""
    if record["origin"] == "registry" and context.registry_until is not None:
        # the registry ends in 2004: its firms are leads to check, not current facts
        note = f"（登记数据截至 {context.registry_until} 年，需核实现状）"
    parts = [record["origin_zh"] + note]
    if strength["employees"]:
        parts.append(f"员工 {strength['employees']:,} 人")
    elif strength["capital"] and record["origin"] != "listed":
        parts.append(f"注册资本 {_capital_zh(float(strength['capital']))}")
    if record["size_band_zh"]:
        basis = "按员工数" if record["size_basis"] == "employees" else "按注册资本"
        parts.append(f"{record['size_band_zh']}企业（{basis}）")
    return "，".join(p for p in parts if p)


def _capital_zh(wan: float) -> str:
    return f"{wan / 10000:,.1f} 亿元" if wan >= 10000 else f"{wan:,.0f} 万元"


def place_reason(record: Mapping[str, Any], context: FirmContext) -> str:
    """Distance, and the same-province flag (同省)."""
    place = record["components"]["proximity"]
    if place["distance_km"] is None:
        return ""
    text = f"距{context.region_name}约 {place['distance_km']:,.0f} 公里"
    if place["same_province"]:
        text += f"；同属{context.province_name}（同省企业）"
    return text
