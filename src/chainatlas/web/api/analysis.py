"""Routes of the analyses: chain panorama, region profile, map data, chain leaders.

Each takes ``universe`` (listed, registry, all; default all once registry firms are
loaded) and its response says which (``universe``, ``universe_zh``, ``coverage_zh``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from fastapi.responses import Response

from chainatlas.analysis.leaders import chain_leaders
from chainatlas.analysis.mapdata import map_counts
from chainatlas.analysis.panorama import chain_panorama
from chainatlas.analysis.regional import region_profile as profile_of
from chainatlas.pipeline.store import node_cities
from chainatlas.store.lookup import region_from_text
from chainatlas.web.api.common import (
    AsOfQ,
    ChainQ,
    NodeQ,
    OptRegionQ,
    RegionQ,
    UniverseQ,
    area_router,
    cached_json,
    chain_param,
    node_param,
    ok,
    province_param,
    region_param,
    top_query,
    universe_param,
)
from chainatlas.web.state import request_db

TAG = "analysis 分析"

router = area_router(tags=[TAG])


@router.get("/panorama", summary="Chain panorama (产业链全景)")
def panorama(chain: ChainQ, region: OptRegionQ = None,
             top: Annotated[int, top_query(5, "每个环节的代表企业")] = 5,
             universe: UniverseQ = None) -> Response:
    """The chain's node tree with national (and the region's) firm counts and top firms."""
    with request_db() as db:
        place = region_param(db, region)
        chosen = universe_param(db, universe)
        return ok(cached_json(chain_panorama, db, chain_param(db, chain), place, top, chosen),
                  universe=chosen)


@router.get("/region-profile",
            summary="A region's standing on a chain: LQ, 强/弱/缺 (区域产业画像)")
def region_profile(chain: ChainQ, region: RegionQ, as_of: AsOfQ = None,
                   universe: UniverseQ = None) -> Response:
    """Per node: local and national firms, location quotient (and its basis), class and
    local leaders."""
    with request_db() as db:
        chosen = universe_param(db, universe)
        return ok(cached_json(profile_of, db, region_from_text(db, region), chain_param(db, chain),
                         as_of, chosen), universe=chosen)


@router.get("/map", summary="Firm counts per province or city (招商地图数据)")
def map_data(chain: ChainQ, node: NodeQ = None,
             level: Annotated[Literal["province", "city"], Query(
                 description="按省或按市汇总")] = "province",
             within: Annotated[str | None, Query(min_length=1, max_length=64,
                                                 description="只看这个省的城市")] = None,
             top: Annotated[int, top_query(3, "每个地区的代表企业")] = 3,
             as_of: AsOfQ = None, universe: UniverseQ = None) -> Response:
    """Distinct firms of a chain (or of one node's subtree) per area, with top firms."""
    with request_db() as db:
        province = province_param(db, within) if within else None
        stored = chain_param(db, chain)
        chosen = universe_param(db, universe)
        return ok(cached_json(map_counts, db, stored, node_param(stored, node), level,
                              province, top, as_of, chosen), universe=chosen)


@router.get("/leaders", summary="Chain leaders (链主企业)")
def leaders(chain: ChainQ, region: OptRegionQ = None, node: NodeQ = None,
            top: Annotated[int, top_query(10, "链主")] = 10,
            as_of: AsOfQ = None, universe: UniverseQ = None) -> Response:
    """National leaders of the chain (or of one node), and the region's own when a region
    is given; each score broken down (``explain``: each component's value, weight, points
    and raw figure), with risk flags."""
    with request_db() as db:
        place = region_param(db, region)
        stored = chain_param(db, chain)
        chosen = universe_param(db, universe)
        return ok(cached_json(chain_leaders, db, stored, place, top, as_of, chosen,
                              node=node_param(stored, node)), universe=chosen)


@router.get("/pipeline/cities",
            summary="A node's cities in an imported national-scale run (全国批处理：环节城市分布)")
def pipeline_cities(chain: ChainQ,
                    node: Annotated[str | None, Query(
                        min_length=1, max_length=64,
                        description="环节代码或名称（不填：整条产业链）")] = None,
                    run: Annotated[int | None, Query(ge=1, description="批处理编号（默认最新）")]
                    = None,
                    top: Annotated[int, top_query(50, "城市")] = 50) -> Response:
    """The cities of one node (or the whole chain) in a batch-pipeline run (``chainatlas
    pipeline import``), most firms first: firms, the city's and the node's totals, the
    city's share, LQ and (for a node) the relatedness density."""
    with request_db() as db:
        stored = chain_param(db, chain)
        frame = node_cities(db, stored.chain_id, node_param(stored, node), run, top)
        return ok(frame.to_dict("records"))
