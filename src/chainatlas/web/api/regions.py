"""Routes of regions and chains: region search and detail, the chain list and templates."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query
from fastapi.responses import Response

from chainatlas.analysis import overview
from chainatlas.web.api.common import UniverseQ, area_router, chain_param, ok, universe_param
from chainatlas.web.state import request_db

REGIONS = "regions 地区"
CHAINS = "chains 产业链"

router = area_router()


@router.get("/regions", tags=[REGIONS], summary="Search or list regions (地区检索)")
def list_regions(
        q: Annotated[str | None, Query(max_length=64, description="名称片段或代码前缀")] = None,
        level: Annotated[Literal["province", "city", "district"] | None,
                         Query(description="只要这一级")] = None,
        parent: Annotated[str | None, Query(pattern=r"^\d{6}$",
                                            description="只要这个上级的下级地区")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    """Regions matching a name fragment or adcode prefix: exact names first, then
    prefixes, provinces before cities before districts."""
    with request_db() as db:
        return ok(overview.search_regions(db, q, level, parent, limit))


@router.get("/regions/{region}", tags=[REGIONS],
            summary="One region with its parent and children (地区详情)")
def get_region(region: Annotated[str, Path(max_length=64,
                                           description="行政区划代码或名称")]) -> Response:
    """A region by adcode (or name), with its parent's name and its direct children."""
    with request_db() as db:
        return ok(overview.region_detail(db, region))


@router.get("/chains", tags=[CHAINS], summary="The chains in the store (产业链列表)")
def list_chains(universe: UniverseQ = None) -> Response:
    """Every stored chain with its node, leaf, edge and firm counts (firms of the
    universe, named in each row)."""
    with request_db() as db:
        chosen = universe_param(db, universe)
        return ok(overview.chain_summaries(db, chosen), universe=chosen)


@router.get("/chains/{chain}", tags=[CHAINS],
            summary="A chain template: nodes, stages, keywords, edges (产业链模板)")
def get_chain(chain: Annotated[str, Path(max_length=64,
                                         description="产业链 id 或中文名")]) -> Response:
    """The template the stored chain was built from (as ``chainatlas chains show``)."""
    with request_db() as db:
        return ok(overview.chain_template(db, chain_param(db, chain)))
