"""Routes of 韧性分析 (supply-chain resilience, issue 12): the region's resilience on a
chain, a what-if removal, Monte-Carlo removal curves, and the Excel workbook.

Each takes ``level`` (node: production leaf nodes, every firm of the universe; product:
listed firms' 2021 products) and ``theta`` (the essentiality threshold θ in (0, 1]; every
result also reports θ = 0.25, 0.5, 1). Every result carries ``limits_zh`` / ``limits``
and names its universe (a product-level result counts listed firms whatever is asked):
what the data can and cannot show. ``remove`` names firms (name, stock code, id) or
regions (上海市, 310000) whose firms all go; ``firm:`` / ``region:`` say which when a name
could be both.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import Query
from fastapi.responses import Response

from chainatlas.analysis.resilience import DEFAULT_THETA
from chainatlas.analysis.resilience_report import region_resilience, removal_curves_report
from chainatlas.analysis.resilience_views import check_options, resilience_view, whatif_view
from chainatlas.recommend.resilience_excel import write_resilience_xlsx
from chainatlas.store.lookup import region_from_text
from chainatlas.web.api.common import (
    XLSX,
    AsOfQ,
    ChainQ,
    OptRegionQ,
    RegionQ,
    UniverseQ,
    area_router,
    cached_json,
    chain_param,
    ok,
    region_param,
    universe_param,
    xlsx_response,
)
from chainatlas.web.cache import cached
from chainatlas.web.state import request_db

TAG = "resilience 韧性分析"

router = area_router(tags=[TAG])

ThetaQ = Annotated[float, Query(gt=0, le=1, description=(
    "必要投入阈值 θ（0–1]：某单元的上游投入中无供应者占比达到 θ 时该单元停摆；默认 0.5"))]
LevelQ = Annotated[Literal["node", "product"], Query(description=(
    "分析层级：node（生产类叶子环节，所选企业范围的全部企业）或 product（上市企业 2021 年"
    "主营产品）"))]
_REMOVE_ITEMS = {"items": {"type": "string", "minLength": 1, "maxLength": 64}}
RemoveQ = Annotated[list[str], Query(
    min_length=1, max_length=20, json_schema_extra=_REMOVE_ITEMS,
    description="移除的企业（名称、股票代码或 id）或地区（其全部企业，如 上海市、310000），可重复；"
                "名称可能两义时加前缀 firm: 或 region:")]
OptRemoveQ = Annotated[list[str] | None, Query(
    max_length=20, json_schema_extra=_REMOVE_ITEMS,
    description="情景推演：移除的企业或地区（可重复，同 /resilience/whatif）")]


@router.get("/resilience", summary="A region's supply-chain resilience on a chain (韧性分析)")
def resilience(chain: ChainQ, region: RegionQ, theta: ThetaQ = DEFAULT_THETA,
               level: LevelQ = "node", as_of: AsOfQ = None,
               universe: UniverseQ = None) -> Response:
    """Per unit: supplier counts (local, province, national), HHI, local share, outside
    dependence, self-sufficiency at every θ, single points of failure and their sole firm,
    influence, 卡脖子 marks; the summary and the limits."""
    with request_db() as db:
        place = region_from_text(db, region)
        chosen = universe_param(db, universe)
        check_options(level, theta)
        return ok(cached_json(region_resilience, db, place, chain_param(db, chain), level,
                              chosen, as_of, theta, top=50))


@router.get("/resilience/whatif", summary="What-if: remove firms or regions (断供推演)")
def resilience_whatif(chain: ChainQ, region: RegionQ, remove: RemoveQ,
                      theta: ThetaQ = DEFAULT_THETA, level: LevelQ = "node",
                      as_of: AsOfQ = None, universe: UniverseQ = None) -> Response:
    """The units the region and the chain lose (all local, all domestic supply) when the
    named firms and every firm of the named regions go, at every θ."""
    with request_db() as db:
        place = region_from_text(db, region)
        chosen = universe_param(db, universe)
        return ok(cached_json(whatif_view, db, place, chain_param(db, chain), tuple(remove),
                              level, chosen, theta, as_of))


@router.get("/resilience/curves", summary="Random vs targeted removal curves (移除曲线)")
def resilience_curves(chain: ChainQ, region: OptRegionQ = None,
                      theta: ThetaQ = DEFAULT_THETA, level: LevelQ = "node",
                      runs: Annotated[int, Query(ge=1, le=100, description=(
                          "随机移除的重复次数（1–100，默认 20）"))] = 20,
                      seed: Annotated[int, Query(ge=0, le=2**31 - 1,
                                                 description="随机种子")] = 0,
                      as_of: AsOfQ = None, universe: UniverseQ = None) -> Response:
    """Share of units losing supply (the region's local supply, or domestic supply without
    ``region``) as a growing share of firms is removed: at random (mean, 5–95 % band), by
    size, by influence. Seeded, reproducible."""
    with request_db() as db:
        place = region_param(db, region)
        chosen = universe_param(db, universe)
        check_options(level, theta)
        return ok(cached_json(removal_curves_report, db, chain_param(db, chain), place,
                              level, chosen, as_of, theta, runs=runs, seed=seed))


@router.get("/resilience/xlsx", summary="The resilience analysis as an Excel workbook",
            response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The workbook"}})
def resilience_xlsx(chain: ChainQ, region: RegionQ, remove: OptRemoveQ = None,
                    theta: ThetaQ = DEFAULT_THETA, level: LevelQ = "node",
                    as_of: AsOfQ = None, universe: UniverseQ = None) -> Response:
    """概要 (summary, θ sensitivity, limits), 环节韧性, 单点风险, 情景推演 (with ``remove``)
    and 卡脖子, as ``chainatlas resilience --xlsx``."""
    with request_db() as db:
        place = region_from_text(db, region)
        stored = chain_param(db, chain)
        chosen = universe_param(db, universe)
        view = cached(resilience_view, db, place, stored, tuple(remove or ()), level, chosen,
                      theta, as_of)
    now = dt.datetime.now()
    stamp = now.strftime("%Y%m%d")
    return xlsx_response(
        lambda target: write_resilience_xlsx(target, view["resilience"], view["whatif"], now,
                                             node_names=stored.names()),
        f"{place.name}-{stored.name_zh}-韧性分析-{stamp}.xlsx",
        f"chainatlas-resilience-{place.adcode}-{stored.chain_id}-{stamp}.xlsx")
