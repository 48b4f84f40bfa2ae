"""The target ranking's signals beyond the candidate query: filters, risk, expansion and
links through the template's supply edges.

- Filters (:class:`~chainatlas.recommend.filters.TargetFilters`) narrow the candidates
  before percentiles are taken, so "前 10%" means among the firms the analyst looks at.
- Risk (:mod:`chainatlas.analysis.risk`): excluded firms (退, PT, gone from the 2025 SZSE
  list) never appear; ST/*ST ones are dropped while ``exclude_risk`` holds (the default),
  otherwise shown with their flags and their score multiplied by the risk factor.
- Expansion (:mod:`chainatlas.analysis.expansion`): other cities a firm opened branches in
  during the registry's last years, utility-like parents left out.
- Template links: a candidate's node is a direct up- or downstream neighbour, in the one
  direction model (:mod:`chainatlas.chains.direction`), of a node where the region is
  强 (weight 1) or 弱 (weight :data:`WEAK_TEMPLATE_LINK`). Product relations (the older
  links) say which firms trade; template links say which segments fit together, and
  exist for every candidate, listed or registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from chainatlas.analysis.expansion import EXPANSION_YEARS, expansion_score, expansion_table
from chainatlas.analysis.risk import risk_table, with_risk
from chainatlas.chains.direction import DOWNSTREAM, UPSTREAM, WORDS_ZH, Directions
from chainatlas.recommend.filters import TargetFilters, size_band
from chainatlas.store import Database

#: A 弱 local node links at this fraction of a 强 one.
WEAK_TEMPLATE_LINK = 0.5
#: A template link's contribution (before the role factor): weaker than a product link
#: of real weight, since it says the segments fit, not that these firms trade.
TEMPLATE_LINK = 0.6


def apply_filters(frame: pd.DataFrame, filters: TargetFilters, province: str) -> pd.DataFrame:
    """Candidates (province_adcode, origin, employees, registered_capital) the filters
    keep, with ``size_band`` and ``size_basis`` added. Pure."""
    out = frame.copy()
    bands = [size_band(None if pd.isna(e) else float(e), None if pd.isna(c) else float(c))
             for e, c in zip(out["employees"], out["registered_capital"], strict=True)]
    out["size_band"] = [b for b, _ in bands]
    out["size_basis"] = [basis for _, basis in bands]
    keep = pd.Series(True, index=out.index)
    if filters.provinces:
        keep &= out["province_adcode"].isin(filters.provinces)
    if filters.exclude_provinces:
        keep &= ~out["province_adcode"].isin(filters.exclude_provinces)
    if filters.outside_province:
        keep &= out["province_adcode"] != province
    if filters.sizes:
        keep &= out["size_band"].isin(filters.sizes)
    if filters.listed == "listed":
        keep &= out["origin"] == "listed"
    elif filters.listed == "unlisted":
        keep &= out["origin"] != "listed"
    return out[keep].reset_index(drop=True)


def add_risk(db: Database, frame: pd.DataFrame, exclude_risk: bool) -> pd.DataFrame:
    """The candidates with risk flags and factor; excluded firms always dropped, flagged
    ones too while ``exclude_risk``."""
    out = with_risk(frame, risk_table(db))
    drop = out["excluded"] | ((out["factor"] < 1.0) if exclude_risk else False)
    return out[~drop].reset_index(drop=True)


def add_expansion(db: Database, frame: pd.DataFrame, as_of: int | None) -> pd.DataFrame:
    """The candidates with expansion_cities, expansion_branches, expansion_since/_until and
    the ``expansion`` component (0 for firms without other-city branches)."""
    table = expansion_table(db, as_of, EXPANSION_YEARS)
    out = frame.merge(table[["company_id", "cities", "branches", "since", "until",
                             "first_year", "last_year"]].rename(columns={
        "cities": "expansion_cities", "branches": "expansion_branches",
        "since": "expansion_since", "until": "expansion_until",
        "first_year": "expansion_first", "last_year": "expansion_last"}),
        on="company_id", how="left")
    out["expansion_cities"] = out["expansion_cities"].fillna(0).astype(int)
    out["expansion_branches"] = out["expansion_branches"].fillna(0).astype(int)
    out["expansion"] = expansion_score(out["expansion_cities"].astype(float))
    return out


def template_partners(candidate_nodes: Mapping[str, Sequence[str]],
                      local_nodes: Mapping[str, Mapping[str, Any]],
                      directions: Directions) -> dict[str, list[dict[str, Any]]]:
    """candidate -> its template links to the region's 强/弱 nodes. Pure.

    ``candidate_nodes``: company_id -> its direct nodes on the chain; ``local_nodes``:
    node_id -> {name_zh, class (强/弱/缺), local_leaders: [{short_name}]} of the region's
    profile. A link: the candidate's node, the local node, the local node's side seen from
    the candidate's node (upstream: the region supplies it; downstream: it supplies the
    region), the local node's class and named firms, and its contribution.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for cid, nodes in candidate_nodes.items():
        links = []
        for node in nodes:
            for side in (UPSTREAM, DOWNSTREAM):
                for other in directions.neighbours(node, side):
                    local = local_nodes.get(other)
                    if local is None or local["class"] not in ("强", "弱"):
                        continue
                    factor = 1.0 if local["class"] == "强" else WEAK_TEMPLATE_LINK
                    links.append({
                        "node_id": node, "local_node": other,
                        "local_name_zh": local["name_zh"], "side": side,
                        "side_zh": WORDS_ZH[side], "class": local["class"],
                        "local_firms": [str(f.get("short_name") or f.get("company_id"))
                                        for f in local.get("local_leaders", [])][:3],
                        "contribution": round(TEMPLATE_LINK * factor, 4)})
        if links:
            links.sort(key=lambda k: (-k["contribution"], k["local_node"], k["node_id"]))
            # one link per local node: a firm on a node and on its parent reaches the
            # same local segment twice
            out[cid] = list({k["local_node"]: k for k in reversed(links)}.values())[::-1]
    return out


def template_reason(link: Mapping[str, Any], node_names: Mapping[str, str]) -> str:
    """One sentence for a template link, its direction from the one model."""
    firms = f"（{'、'.join(link['local_firms'])}）" if link["local_firms"] else ""
    standing = "本地强项" if link["class"] == "强" else "本地已有布局的环节"
    mine = node_names.get(str(link["node_id"]), str(link["node_id"]))
    if link["side"] == UPSTREAM:
        return (f"其「{mine}」环节的上游「{link['local_name_zh']}」为{standing}{firms}，"
                "可就近采购配套")
    return (f"其「{mine}」可为下游「{link['local_name_zh']}」（{standing}）{firms}供货配套")
