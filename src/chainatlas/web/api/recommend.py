"""Routes of 精准招商: nodes to develop, firms to approach, both as an Excel workbook.

Each takes ``universe`` (listed, registry, all); every ranked item names it, as does the
``X-ChainAtlas-Universe`` header (an empty list has no item to say it) and the workbook.
The firm routes also take the target-list filters (``province``, ``exclude_province``,
``outside_province``, ``size``, ``listed``, ``include_risk``: the CLI's options); the
workbook states them. Every ranked item explains its score (``explain``: each component's
value, weight, points and raw figure).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from chainatlas.analysis.regional import describe_universe
from chainatlas.recommend.excel import write_recommendations_xlsx
from chainatlas.recommend.firms import rank_firms
from chainatlas.recommend.nodes import PRODUCTION_KINDS, rank_nodes
from chainatlas.store.lookup import region_from_text
from chainatlas.web.api.common import (
    UNIVERSE_HEADER,
    XLSX,
    AsOfQ,
    ChainQ,
    NodeQ,
    RegionQ,
    TargetFilterQ,
    UniverseQ,
    area_router,
    cached_json,
    chain_param,
    filters_param,
    node_param,
    ok,
    top_query,
    universe_param,
    xlsx_response,
)
from chainatlas.web.cache import cached
from chainatlas.web.state import request_db

TAG = "recommend 精准招商"

router = area_router(tags=[TAG])

FiltersQ = Annotated[TargetFilterQ, Query()]
AllKindsQ = Annotated[bool, Query(description=(
    "Also rank trade, retail, service and operator nodes (流通、零售、服务与运营环节); "
    "default: production nodes only"))]


@router.get("/recommend/nodes", summary="Nodes to develop: 补链 / 延链 / 强链 (重点发展环节)")
def recommend_nodes(chain: ChainQ, region: RegionQ,
                    top: Annotated[int, top_query(10, "环节")] = 10,
                    as_of: AsOfQ = None, universe: UniverseQ = None,
                    all_kinds: AllKindsQ = False) -> Response:
    """The chain's leaf nodes the region lacks or holds weakly, best first, with reasons
    (production nodes unless ``all_kinds``)."""
    with request_db() as db:
        place = region_from_text(db, region)
        chosen = universe_param(db, universe)
        kinds = None if all_kinds else PRODUCTION_KINDS
        return ok(cached_json(rank_nodes, db, place, chain_param(db, chain), as_of=as_of, top=top,
                              universe=chosen, kinds=kinds), universe=chosen)


@router.get("/recommend/firms", summary="Outside firms to approach (招商企业清单)")
def recommend_firms(chain: ChainQ, region: RegionQ, filtered: FiltersQ, node: NodeQ = None,
                    top: Annotated[int, top_query(20, "企业")] = 20,
                    as_of: AsOfQ = None, universe: UniverseQ = None) -> Response:
    """Firms outside the region, narrowed by the filters, each score broken down
    (``explain``), with risk flags and reasons."""
    with request_db() as db:
        place = region_from_text(db, region)
        stored = chain_param(db, chain)
        chosen = universe_param(db, universe)
        filters = filters_param(db, filtered)
        return ok(cached_json(rank_firms, db, place, stored, node_param(stored, node), top=top,
                              as_of=as_of, universe=chosen, filters=filters), universe=chosen)


@router.get("/recommend/xlsx", summary="The recommendations as an Excel workbook (导出 Excel)",
            response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The workbook"}})
def recommend_xlsx(chain: ChainQ, region: RegionQ, filtered: FiltersQ, node: NodeQ = None,
                   top: Annotated[int, top_query(20, "企业")] = 20,
                   as_of: AsOfQ = None, universe: UniverseQ = None) -> Response:
    """Firm ranking, node ranking, score breakdowns, reasons and notes (the filters in
    force among them), as ``chainatlas recommend firms --xlsx``."""
    with request_db() as db:
        place = region_from_text(db, region)
        stored = chain_param(db, chain)
        about = describe_universe(db, universe_param(db, universe))
        chosen = str(about["universe"])
        filters = filters_param(db, filtered)
        firms = cached(rank_firms, db, place, stored, node_param(stored, node), top=top,
                       as_of=as_of, universe=chosen, filters=filters)
        nodes = cached(rank_nodes, db, place, stored, as_of=as_of, top=top, universe=chosen)
    now = dt.datetime.now()
    stamp = now.strftime("%Y%m%d")
    return xlsx_response(
        lambda target: write_recommendations_xlsx(
            target, region_name=place.name, chain_name=stored.name_zh, generated_at=now,
            firms=firms, nodes=nodes, universe=chosen, coverage_zh=about["coverage_zh"],
            filters_zh=filters.describe_zh()),
        f"{place.name}-{stored.name_zh}-招商推荐-{stamp}.xlsx",
        f"chainatlas-{place.adcode}-{stored.chain_id}-{stamp}.xlsx", {UNIVERSE_HEADER: chosen})
