"""Routes of 精准招商: nodes to develop, firms to approach, both as an Excel workbook."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path as FilePath
from typing import Annotated
from urllib.parse import quote

from fastapi.responses import Response

from chainatlas.recommend.excel import write_recommendations_xlsx
from chainatlas.recommend.firms import rank_firms
from chainatlas.recommend.nodes import rank_nodes
from chainatlas.store.lookup import region_from_text
from chainatlas.web.api.common import (
    AsOfQ,
    ChainQ,
    NodeQ,
    RegionQ,
    area_router,
    chain_param,
    node_param,
    ok,
    top_query,
)
from chainatlas.web.state import request_db

TAG = "recommend 精准招商"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = area_router(tags=[TAG])


@router.get("/recommend/nodes", summary="Nodes to develop: 补链 / 延链 / 强链 (重点发展环节)")
def recommend_nodes(chain: ChainQ, region: RegionQ,
                    top: Annotated[int, top_query(10, "环节")] = 10,
                    as_of: AsOfQ = None) -> Response:
    """The chain's leaf nodes the region lacks or holds weakly, best first, with reasons."""
    with request_db() as db:
        place = region_from_text(db, region)
        return ok(rank_nodes(db, place, chain_param(db, chain), as_of=as_of, top=top))


@router.get("/recommend/firms", summary="Outside firms to approach (招商企业清单)")
def recommend_firms(chain: ChainQ, region: RegionQ, node: NodeQ = None,
                    top: Annotated[int, top_query(20, "企业")] = 20,
                    as_of: AsOfQ = None) -> Response:
    """Firms outside the region, each score broken down, with reasons."""
    with request_db() as db:
        place = region_from_text(db, region)
        stored = chain_param(db, chain)
        return ok(rank_firms(db, place, stored, node_param(stored, node), top=top,
                             as_of=as_of))


_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment header with an ASCII ``filename`` and the UTF-8 ``filename*``."""
    name = _UNSAFE_FILENAME.sub("_", filename)
    ascii_name = _UNSAFE_FILENAME.sub("_", fallback).encode("ascii", "replace").decode()
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/recommend/xlsx", summary="The recommendations as an Excel workbook (导出 Excel)",
            response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The workbook"}})
def recommend_xlsx(chain: ChainQ, region: RegionQ, node: NodeQ = None,
                   top: Annotated[int, top_query(20, "企业")] = 20,
                   as_of: AsOfQ = None) -> Response:
    """Firm ranking, node ranking, reasons and notes, as ``chainatlas recommend --xlsx``."""
    with request_db() as db:
        place = region_from_text(db, region)
        stored = chain_param(db, chain)
        firms = rank_firms(db, place, stored, node_param(stored, node), top=top, as_of=as_of)
        nodes = rank_nodes(db, place, stored, as_of=as_of, top=top)
    now = dt.datetime.now()
    with tempfile.TemporaryDirectory(prefix="chainatlas-xlsx-") as folder:
        target = FilePath(folder) / "recommendations.xlsx"
        write_recommendations_xlsx(target, region_name=place.name, chain_name=stored.name_zh,
                                   generated_at=now, firms=firms, nodes=nodes)
        body = target.read_bytes()
    stamp = now.strftime("%Y%m%d")
    disposition = content_disposition(
        f"{place.name}-{stored.name_zh}-招商推荐-{stamp}.xlsx",
        f"chainatlas-{place.adcode}-{stored.chain_id}-{stamp}.xlsx")
    return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})
