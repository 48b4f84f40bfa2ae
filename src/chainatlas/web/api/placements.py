"""Routes of the placement table: every placed firm, one row per (firm, node), as JSON
pages and as an Excel download (what ``chainatlas export placements`` writes).

The chain page links to ``/api/v1/placements.xlsx?chain=<id>&region=<adcode>&universe=<u>``:
keep those parameter names.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import Query
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from chainatlas.analysis.placement_table import placements_page, write_placements
from chainatlas.web.api.common import (
    XLSX,
    OptRegionQ,
    UniverseQ,
    area_router,
    chain_param,
    content_disposition,
    ok,
    region_param,
    universe_param,
)
from chainatlas.web.state import request_db

TAG = "placements 企业环节归属"
#: The most rows one page returns: a page is held in memory and sent as one JSON body.
PAGE_SIZE_MAX = 1000

router = area_router(tags=[TAG])

OptChainQ = Annotated[str | None, Query(min_length=1, max_length=64, description=(
    "产业链 id 或中文名（可选，默认全部产业链）"))]


@router.get("/placements", summary="Placed firms, one row per firm and node (企业环节归属)")
def placements(chain: OptChainQ = None, region: OptRegionQ = None,
               universe: UniverseQ = None,
               page: Annotated[int, Query(ge=1, le=10_000_000, description="页码，从 1 起")] = 1,
               page_size: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX, description=(
                   f"每页行数（1–{PAGE_SIZE_MAX}，默认 100）"))] = 100) -> Response:
    """Total rows, page, universe (id and Chinese name), the registry licence when
    registry firms are among the rows (else null), and the page's rows: company_id, uscc,
    stock_code, short_name, name, origin, region_adcode, chain_id, chain_name, node_id,
    node_name, top_node_id, top_node_name, confidence, method, evidence_zh."""
    with request_db() as db:
        stored = None if chain is None else chain_param(db, chain)
        return ok(placements_page(db, stored, region_param(db, region),
                                  universe_param(db, universe), page=page,
                                  page_size=page_size))


@router.get("/placements.xlsx", summary="Placed firms as an Excel workbook (导出 Excel)",
            response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The workbook"}})
def placements_xlsx(chain: OptChainQ = None, region: OptRegionQ = None,
                    universe: UniverseQ = None) -> Response:
    """The same rows as /placements, all of them, with a 说明 sheet (scope, row count,
    time, licence); a 422 when they exceed one Excel sheet (use the CLI's .csv)."""
    folder = FilePath(tempfile.mkdtemp(prefix="chainatlas-placements-"))
    try:
        with request_db() as db:
            stored = None if chain is None else chain_param(db, chain)
            export = write_placements(db, folder / "placements.xlsx", stored,
                                      region_param(db, region), universe_param(db, universe))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    scope = export.scope
    stamp = export.generated_at.strftime("%Y%m%d")
    disposition = content_disposition(
        f"企业环节归属-{scope.chain.name_zh if scope.chain else '全部产业链'}-"
        f"{scope.region.name if scope.region else '全国'}-{scope.universe_zh}-{stamp}.xlsx",
        f"chainatlas-placements-{scope.chain.chain_id if scope.chain else 'all'}-"
        f"{scope.region.adcode if scope.region else 'all'}-{scope.universe}-{stamp}.xlsx")
    # Streamed from the temporary file, which goes once the response is sent: a large
    # workbook never sits in the server's memory whole.
    return FileResponse(export.path, media_type=XLSX,
                        headers={"Content-Disposition": disposition},
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
