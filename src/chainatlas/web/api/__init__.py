"""The REST API under ``/api/v1``, and the map boundaries under ``/geo``.

Each route is a thin wrapper: it resolves its parameters once into typed values (a
:class:`~chainatlas.store.lookup.Region` by name or adcode, a
:class:`~chainatlas.store.lookup.Chain` by id or Chinese name, a node by id or Chinese
name), calls library functions on a per-request store cursor
(:func:`chainatlas.web.state.request_db`) and returns the library's dict or list as JSON.
Route functions are plain ``def``: FastAPI runs them in its thread pool, so a slow query
never blocks the event loop the pages run on. No SQL here: the queries are the library's.

    common.py       JSON encoding, error bodies, GuardedRoute, parameters, typed lookups
    regions.py      /regions, /regions/{region}, /chains, /chains/{chain}
    analysis.py     /panorama, /region-profile, /map, /leaders
    recommend.py    /recommend/nodes, /recommend/firms, /recommend/xlsx
    resilience.py   /resilience, /resilience/whatif, /resilience/curves, /resilience/xlsx
    firms.py        /firms/{company_id}, /search
    placements.py   /placements, /placements.xlsx
    corrections.py  POST /corrections
    imports.py      POST /imports/roster (uploads)
    lists.py        /lists (招商清单), /recommend/lead (a recommended firm to a 线索 project)
    projects.py     /projects (ledger, kpis, breakdown, writes), /targets, /alerts
    boundaries.py   /geo/china.json, /geo/province/{adcode}.json

:data:`router` (every /api/v1 route) and :data:`geo_router` are what
:func:`chainatlas.web.app.create_app` includes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from fastapi import APIRouter
from fastapi.openapi.utils import get_openapi

from chainatlas import __version__
from chainatlas.web.api import (
    analysis,
    boundaries,
    corrections,
    firms,
    imports,
    lists,
    placements,
    projects,
    recommend,
    regions,
    resilience,
)
from chainatlas.web.api.common import (
    API_PREFIX,
    GEO_PREFIX,
    JSON_PREFIXES,
    XLSX,
    ApiJSONResponse,
    GuardedRoute,
    content_disposition,
    encode_json,
    error_response,
    internal_error_response,
    jsonable,
    library_error_response,
    validation_error_response,
)

#: Every /api/v1 route, area by area (the order the OpenAPI document lists them in). The
#: area routers' routes are taken as they are (they carry the prefix, route class and
#: error responses already): including them would nest routers, whose ``routes`` no
#: longer list the API's paths.
router = APIRouter(routes=[route for area in (regions, analysis, recommend, resilience, firms,
                                             corrections, imports, placements, projects,
                                             lists)
                           for route in area.router.routes])
#: The map boundary routes.
geo_router = boundaries.router

TAGS = [
    {"name": "regions 地区", "description": "行政区划：检索与详情"},
    {"name": "chains 产业链", "description": "产业链模板与列表"},
    {"name": "analysis 分析", "description": "产业链全景、区域画像、招商地图、链主"},
    {"name": "recommend 精准招商", "description": "重点发展环节与招商企业清单"},
    {"name": "resilience 韧性分析", "description": "产业链供应链韧性：单点风险、外部依赖、"
                                               "卡脖子环节、断供推演与移除曲线"},
    {"name": "firms 企业", "description": "企业检索、画像与人工修正"},
    {"name": "placements 企业环节归属", "description": "企业的产业链环节归属（分页、Excel）"},
    {"name": "projects 项目库", "description": "招商项目库：项目台账、阶段推进、统计"},
    {"name": "targets 目标监测", "description": "产业目标、完成进度与时序进度、预警"},
    {"name": "lists 招商清单", "description": "保存的招商目标企业清单（含推荐理由）与一键转线索"},
    {"name": "imports 数据导入", "description": "上传企业名单等数据文件（分析员）"},
    {"name": "geo 地图边界", "description": "省、市边界 GeoJSON（本地数据，无外部请求）"},
]


#: A path parameter's Starlette converter ("{company_id:path}"), which OpenAPI has no
#: syntax for: the document names the parameter alone.
_CONVERTER = re.compile(r"\{(\w+):\w+\}")


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the API and geo routes (pages are not API)."""
    document = get_openapi(
        title="ChainAtlas 产业链招商图谱 API", version=__version__,
        description="产业链图谱与精准招商推荐的数据接口。Every error has the shape "
                    '`{"error": {"type", "message", "problems"}}`.',
        routes=[*router.routes, *geo_router.routes], tags=TAGS)
    document["paths"] = {_CONVERTER.sub(r"{\1}", path): item
                         for path, item in document["paths"].items()}
    return document


__all__ = ["API_PREFIX", "GEO_PREFIX", "JSON_PREFIXES", "TAGS", "XLSX", "ApiJSONResponse",
           "GuardedRoute", "content_disposition", "encode_json", "error_response",
           "geo_router", "internal_error_response", "jsonable", "library_error_response",
           "openapi_document", "router", "validation_error_response"]
