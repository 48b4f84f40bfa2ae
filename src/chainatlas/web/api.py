"""The REST API under ``/api/v1``, and the map boundaries under ``/geo``.

Each route is a thin wrapper: it resolves its parameters (a region by name or adcode, a
chain by id or Chinese name), calls one library function on a per-request store cursor
(:func:`chainatlas.web.state.request_db`) and returns the library's dict or list as JSON.
Route functions are plain ``def``: FastAPI runs them in its thread pool, so a slow query
never blocks the event loop the pages run on.

Errors always have one JSON shape, ``{"error": {"type", "message", "problems"}}``: library
errors carry their ``status_code`` (404 unknown region, chain or firm; 422 bad input), bad
parameters give 422 (handlers registered by :func:`chainatlas.web.app.create_app`), and
any other failure gives a 500 with a generic message, logged with its traceback on the
server, never sent to the client (:class:`GuardedRoute`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import tempfile
from collections.abc import Callable, Coroutine, Mapping
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from urllib.parse import quote

import numpy as np
import pandas as pd
from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from chainatlas import __version__
from chainatlas.errors import ChainAtlasError, InputError, NotFoundError, Problem
from chainatlas.store import Database
from chainatlas.web import geo
from chainatlas.web.state import request_db, write_lock

log = logging.getLogger("chainatlas.web")

API_PREFIX = "/api/v1"
GEO_PREFIX = "/geo"
#: Paths answered with JSON errors (the rest are pages, which NiceGUI renders).
JSON_PREFIXES = (API_PREFIX + "/", GEO_PREFIX + "/", "/openapi.json")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GEO_CACHE = "public, max-age=604800"  # a week; the ETag answers revalidations with 304

# -- JSON ------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Turn a library result into plain JSON values.

    Dates and times become ISO strings; NaN, infinities, NaT and NA become null; numpy
    scalars and arrays become Python numbers and lists; Decimals become floats.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if value is pd.NaT or value is pd.NA:  # NaT is a datetime: test it first
        return None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, np.generic | np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, Decimal):
        return jsonable(float(value))
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, FilePath):
        return str(value)
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump())
    raise TypeError(f"cannot encode a {type(value).__name__} as JSON")


def encode_json(value: Any) -> bytes:
    """UTF-8 JSON bytes of :func:`jsonable` ``(value)``."""
    return json.dumps(jsonable(value), ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


class ApiJSONResponse(JSONResponse):
    """A JSON response encoded with :func:`encode_json`, never sniffed as HTML."""

    def __init__(self, content: Any, status_code: int = 200,
                 headers: Mapping[str, str] | None = None) -> None:
        # nosniff: a firm named "<script>…" stays data even in a browser that would guess.
        super().__init__(content, status_code, {"X-Content-Type-Options": "nosniff",
                                                **(headers or {})})

    def render(self, content: Any) -> bytes:
        """Encode the content."""
        return encode_json(content)


# -- errors ----------------------------------------------------------------------------


class ErrorProblem(BaseModel):
    """One bad value: where it is and what is wrong with it."""

    file: str | None = None
    row: int | None = None
    field: str | None = None
    reason: str


class ErrorDetail(BaseModel):
    """What went wrong."""

    type: str = Field(description="Error class, e.g. NotFoundError, ValidationError.")
    message: str
    problems: list[ErrorProblem] = []


class ErrorBody(BaseModel):
    """Every error response of the API."""

    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown region, chain, node or firm"},
    422: {"model": ErrorBody, "description": "Invalid parameter"},
    500: {"model": ErrorBody, "description": "Internal error (details in the server log)"},
}


def error_response(status: int, kind: str, message: str,
                   problems: list[dict[str, Any]] | None = None) -> Response:
    """The API's JSON error response."""
    body = {"error": {"type": kind, "message": message, "problems": problems or []}}
    return ApiJSONResponse(body, status_code=status)


def problem_dict(problem: Problem) -> dict[str, Any]:
    """A library Problem as a JSON object."""
    return {"file": problem.file, "row": problem.row, "field": problem.field,
            "reason": problem.reason}


def library_error_response(exc: ChainAtlasError) -> Response:
    """A library error as the API's JSON error, with the error's HTTP status."""
    if isinstance(exc, InputError):
        return error_response(exc.status_code, type(exc).__name__, exc.summary,
                              [problem_dict(p) for p in exc.problems])
    return error_response(exc.status_code, type(exc).__name__, str(exc))


def validation_error_response(exc: RequestValidationError) -> Response:
    """A request validation error (bad or missing parameter) as a 422 JSON error."""
    problems = [{"file": None, "row": None,
                 "field": ".".join(str(part) for part in err.get("loc", ())),
                 "reason": str(err.get("msg", "invalid value"))} for err in exc.errors()]
    first = problems[0] if problems else {"field": "request", "reason": "invalid"}
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return error_response(422, "ValidationError",
                          f"Invalid request: {first['field']}: {first['reason']}{more}",
                          problems)


def internal_error_response() -> Response:
    """The generic 500: no detail leaves the server."""
    return error_response(500, "InternalError",
                          "Internal server error; the details are in the server log.")


class GuardedRoute(APIRoute):
    """An API route whose unexpected exceptions become a logged, generic JSON 500.

    Library errors, HTTP errors and validation errors pass through to the handlers
    registered on the app. Catching the rest here (instead of in an app-wide handler)
    answers without Starlette re-raising the exception to the server afterwards.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the route's handler."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except (ChainAtlasError, HTTPException, RequestValidationError):
                raise
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return internal_error_response()

        return guarded


# -- parameters ------------------------------------------------------------------------

ChainQ = Annotated[str, Query(min_length=1, max_length=64,
                              description="产业链 id 或中文名，如 biomedicine、生物医药")]
RegionQ = Annotated[str, Query(min_length=1, max_length=64,
                               description="地区名称或行政区划代码，如 石家庄市、130100")]
OptRegionQ = Annotated[str | None, Query(min_length=1, max_length=64,
                                         description="地区名称或行政区划代码（可选）")]
NodeQ = Annotated[str | None, Query(min_length=1, max_length=64,
                                    description="环节 id 或中文名（可选）")]
AsOfQ = Annotated[int | None, Query(ge=1990, le=2030,
                                    description="只计成立或上市不晚于该年的企业")]


def top_query(default: int, what: str) -> Any:
    """A ``top`` parameter: how many to return, 1..200."""
    return Query(ge=1, le=200, description=f"返回{what}数量（1–200，默认 {default}）")


def _region(db: Database, text: str) -> dict[str, Any]:
    from chainatlas.analysis.regions import region_from_text

    return region_from_text(db, text)


def _province(db: Database, text: str) -> dict[str, Any]:
    place = _region(db, text)
    if place["level"] != "province":
        raise InputError.single("query", f"{place['name']} is not a province", field="within")
    return place


def _ok(value: Any, status: int = 200) -> Response:
    return ApiJSONResponse(value, status_code=status)


router = APIRouter(prefix=API_PREFIX, route_class=GuardedRoute,
                   default_response_class=ApiJSONResponse, responses=ERRORS)
geo_router = APIRouter(prefix=GEO_PREFIX, route_class=GuardedRoute, tags=["geo 地图边界"],
                       responses=ERRORS)

# -- regions and chains ----------------------------------------------------------------

_REGION_COLUMNS = "adcode, name, level, parent, province_adcode, lon, lat"


@router.get("/regions", tags=["regions 地区"], summary="Search or list regions (地区检索)")
def list_regions(
        q: Annotated[str | None, Query(max_length=64, description="名称片段或代码前缀")] = None,
        level: Annotated[Literal["province", "city", "district"] | None,
                         Query(description="只要这一级")] = None,
        parent: Annotated[str | None, Query(pattern=r"^\d{6}$",
                                            description="只要这个上级的下级地区")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    """Regions matching a name fragment or adcode prefix: exact names first, then
    prefixes, provinces before cities before districts."""
    text = (q or "").strip() or None
    with request_db() as db:
        rows = db.rows(
            f"SELECT {_REGION_COLUMNS} FROM regions WHERE (?::VARCHAR IS NULL OR "
            "contains(name, ?) OR starts_with(adcode, ?)) AND (?::VARCHAR IS NULL OR "
            "level = ?) AND (?::VARCHAR IS NULL OR parent = ?) ORDER BY name <> "
            "coalesce(?, ''), NOT starts_with(name, coalesce(?, '')), CASE level WHEN "
            "'province' THEN 0 WHEN 'city' THEN 1 ELSE 2 END, adcode LIMIT ?",
            [text, text, text, level, level, parent, parent, text, text, limit])
    return _ok(rows)


@router.get("/regions/{region}", tags=["regions 地区"],
            summary="One region with its parent and children (地区详情)")
def get_region(region: Annotated[str, Path(max_length=64,
                                           description="行政区划代码或名称")]) -> Response:
    """A region by adcode (or name), with its parent's name and its direct children."""
    with request_db() as db:
        place = _region(db, region)
        out = {k: place[k] for k in _REGION_COLUMNS.split(", ")}
        out["parent_name"] = db.scalar("SELECT name FROM regions WHERE adcode = ?",
                                       [place["parent"]]) if place["parent"] else None
        out["children"] = db.rows("SELECT adcode, name, level FROM regions WHERE parent = ? "
                                  "ORDER BY adcode", [place["adcode"]])
    return _ok(out)


@router.get("/chains", tags=["chains 产业链"], summary="The chains in the store (产业链列表)")
def list_chains() -> Response:
    """Every stored chain with its node, leaf, edge and firm counts."""
    with request_db() as db:
        rows = db.rows(
            "SELECT c.chain_id, c.name_zh, c.name_en, c.description_zh, "
            "(SELECT count(*) FROM chain_nodes n WHERE n.chain_id = c.chain_id) AS nodes, "
            "(SELECT count(*) FROM chain_nodes n WHERE n.chain_id = c.chain_id AND n.is_leaf)"
            " AS leaves, (SELECT count(*) FROM chain_edges e WHERE e.chain_id = c.chain_id) "
            "AS edges, (SELECT count(DISTINCT f.company_id) FROM chain_firms f WHERE "
            "f.chain_id = c.chain_id) AS firms, c.sha256, c.loaded_at FROM chains c "
            "ORDER BY c.chain_id")
    return _ok(rows)


@lru_cache(maxsize=32)
def _template_dict(path: str, modified_ns: int) -> dict[str, Any]:
    # Keyed by the file's modification time: an edited template is read again.
    from chainatlas.chains.templates import load_template, template_to_dict

    out = template_to_dict(load_template(path))
    out.pop("path", None)  # a server file path is no business of the client's
    return out


@router.get("/chains/{chain}", tags=["chains 产业链"],
            summary="A chain template: nodes, stages, keywords, edges (产业链模板)")
def get_chain(chain: Annotated[str, Path(max_length=64,
                                         description="产业链 id 或中文名")]) -> Response:
    """The template the stored chain was built from (as ``chainatlas chains show``)."""
    from chainatlas.analysis.panorama import chain_row

    with request_db() as db:
        row = chain_row(db, chain)
    file = FilePath(str(row["path"]))
    if not file.is_file():
        raise NotFoundError(f"The template file of chain {row['chain_id']!r} is no longer "
                            "there; rebuild the store.")
    return _ok(_template_dict(str(file), file.stat().st_mtime_ns))


# -- panoramas, maps and leaders -------------------------------------------------------


@router.get("/panorama", tags=["analysis 分析"], summary="Chain panorama (产业链全景)")
def panorama(chain: ChainQ, region: OptRegionQ = None,
             top: Annotated[int, top_query(5, "每个环节的代表企业")] = 5) -> Response:
    """The chain's node tree with national (and the region's) firm counts and top firms."""
    from chainatlas.analysis.panorama import chain_panorama

    with request_db() as db:
        place = _region(db, region) if region else None
        return _ok(chain_panorama(db, chain, place, top))


@router.get("/region-profile", tags=["analysis 分析"],
            summary="A region's standing on a chain: LQ, 强/弱/缺 (区域产业画像)")
def region_profile(chain: ChainQ, region: RegionQ, as_of: AsOfQ = None) -> Response:
    """Per node: local and national firms, location quotient, class and local leaders."""
    from chainatlas.analysis.regional import region_profile as profile

    with request_db() as db:
        return _ok(profile(db, _region(db, region), chain, as_of))


@router.get("/map", tags=["analysis 分析"],
            summary="Firm counts per province or city (招商地图数据)")
def map_data(chain: ChainQ, node: NodeQ = None,
             level: Annotated[Literal["province", "city"], Query(
                 description="按省或按市汇总")] = "province",
             within: Annotated[str | None, Query(min_length=1, max_length=64,
                                                 description="只看这个省的城市")] = None,
             top: Annotated[int, top_query(3, "每个地区的代表企业")] = 3,
             as_of: AsOfQ = None) -> Response:
    """Distinct firms of a chain (or of one node's subtree) per area, with top firms."""
    from chainatlas.analysis.mapdata import map_counts

    with request_db() as db:
        province = _province(db, within) if within else None
        return _ok(map_counts(db, chain, node, level, province, top, as_of))


@router.get("/leaders", tags=["analysis 分析"], summary="Chain leaders (链主企业)")
def leaders(chain: ChainQ, region: OptRegionQ = None,
            top: Annotated[int, top_query(10, "链主")] = 10,
            as_of: AsOfQ = None) -> Response:
    """National leaders of the chain, and the region's own when a region is given."""
    from chainatlas.analysis.leaders import chain_leaders

    with request_db() as db:
        place = _region(db, region) if region else None
        return _ok(chain_leaders(db, chain, place, top, as_of))


# -- recommendations -------------------------------------------------------------------


@router.get("/recommend/nodes", tags=["recommend 精准招商"],
            summary="Nodes to develop: 补链 / 延链 / 强链 (重点发展环节)")
def recommend_nodes(chain: ChainQ, region: RegionQ,
                    top: Annotated[int, top_query(10, "环节")] = 10,
                    as_of: AsOfQ = None) -> Response:
    """The chain's leaf nodes the region lacks or holds weakly, best first, with reasons."""
    from chainatlas.recommend.nodes import rank_nodes

    with request_db() as db:
        return _ok(rank_nodes(db, _region(db, region), chain, as_of=as_of, top=top))


@router.get("/recommend/firms", tags=["recommend 精准招商"],
            summary="Outside firms to approach (招商企业清单)")
def recommend_firms(chain: ChainQ, region: RegionQ, node: NodeQ = None,
                    top: Annotated[int, top_query(20, "企业")] = 20,
                    as_of: AsOfQ = None) -> Response:
    """Firms outside the region, each score broken down, with reasons."""
    from chainatlas.recommend.firms import rank_firms

    with request_db() as db:
        return _ok(rank_firms(db, _region(db, region), chain, node, top=top, as_of=as_of))


_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment header with an ASCII ``filename`` and the UTF-8 ``filename*``."""
    name = _UNSAFE_FILENAME.sub("_", filename)
    ascii_name = _UNSAFE_FILENAME.sub("_", fallback).encode("ascii", "replace").decode()
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/recommend/xlsx", tags=["recommend 精准招商"],
            summary="The recommendations as an Excel workbook (导出 Excel)",
            response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The workbook"}})
def recommend_xlsx(chain: ChainQ, region: RegionQ, node: NodeQ = None,
                   top: Annotated[int, top_query(20, "企业")] = 20,
                   as_of: AsOfQ = None) -> Response:
    """Firm ranking, node ranking, reasons and notes, as ``chainatlas recommend --xlsx``."""
    from chainatlas.analysis.panorama import chain_row
    from chainatlas.recommend.excel import write_recommendations_xlsx
    from chainatlas.recommend.firms import rank_firms
    from chainatlas.recommend.nodes import rank_nodes

    with request_db() as db:
        place = _region(db, region)
        row = chain_row(db, chain)
        firms = rank_firms(db, place, chain, node, top=top, as_of=as_of)
        nodes = rank_nodes(db, place, chain, as_of=as_of, top=top)
    now = dt.datetime.now()
    with tempfile.TemporaryDirectory(prefix="chainatlas-xlsx-") as folder:
        target = FilePath(folder) / "recommendations.xlsx"
        write_recommendations_xlsx(target, region_name=str(place["name"]),
                                   chain_name=str(row["name_zh"]), generated_at=now,
                                   firms=firms, nodes=nodes)
        body = target.read_bytes()
    stamp = now.strftime("%Y%m%d")
    disposition = content_disposition(
        f"{place['name']}-{row['name_zh']}-招商推荐-{stamp}.xlsx",
        f"chainatlas-{place['adcode']}-{row['chain_id']}-{stamp}.xlsx")
    return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})


# -- firms -----------------------------------------------------------------------------


@router.get("/firms/{company_id}", tags=["firms 企业"], summary="Firm profile (企业画像)")
def get_firm(company_id: Annotated[str, Path(max_length=200, description=(
        "企业 id、股票代码、统一社会信用代码或名称"))]) -> Response:
    """Identity, location, products, placements, supply links, corrections, history."""
    from chainatlas.analysis.profile import firm_profile

    with request_db() as db:
        return _ok(firm_profile(db, company_id))


@router.get("/search", tags=["firms 企业"], summary="Firm search (企业检索)")
def search(q: Annotated[str, Query(min_length=1, max_length=100, description=(
               "名称、简称、拼音首字母或股票代码"))],
           limit: Annotated[int, Query(ge=1, le=50)] = 10) -> Response:
    """Firms matching names, pinyin initials, stock codes or typos, best first."""
    from chainatlas.analysis.search import search_firms

    with request_db() as db:
        return _ok(search_firms(db, q, limit))


class CorrectionIn(BaseModel):
    """An analyst's correction of a firm's placement."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    firm: str = Field(min_length=1, max_length=200, description="企业 id、股票代码或名称")
    chain: str = Field(min_length=1, max_length=64, description="产业链 id 或中文名")
    node: str = Field(min_length=1, max_length=64, description="环节 id")
    action: Literal["assign", "unassign"] = Field(description="assign 归入 / unassign 移出")
    reason: str = Field(min_length=1, max_length=1000, description="理由（必填）")
    author: str | None = Field(default=None, max_length=64, description="修正人")


@router.post("/corrections", tags=["firms 企业"], status_code=201,
             summary="Correct a firm's placement (人工修正企业所属环节)")
def post_correction(body: CorrectionIn) -> Response:
    """Record an assign/unassign correction; it survives rebuilds and reclassification."""
    from chainatlas.analysis.panorama import chain_row
    from chainatlas.chains.corrections import correct

    with write_lock, request_db() as db:
        chain_id = str(chain_row(db, body.chain)["chain_id"])
        row = correct(db, body.firm, chain_id, body.node, body.action, body.reason,
                      body.author or "web")
    return _ok(row, status=201)


# -- map boundaries --------------------------------------------------------------------


def _geo_response(request: Request, payload: geo.Payload) -> Response:
    headers = {"Cache-Control": GEO_CACHE, "ETag": payload.etag}
    if request.headers.get("if-none-match") == payload.etag:
        return Response(status_code=304, headers=headers)
    return Response(payload.body, media_type="application/json", headers=headers)


@geo_router.get("/china.json", summary="Province boundaries of China (GeoJSON)",
                response_class=Response,
                responses={200: {"content": {"application/json": {}}}})
def china_geojson(request: Request) -> Response:
    """Every province-level area, ``name`` and ``adcode`` as in the regions (South China
    Sea islands left out, see ``clipped``)."""
    return _geo_response(request, geo.china_payload())


@geo_router.get("/province/{adcode}.json", summary="City boundaries of a province (GeoJSON)",
                response_class=Response,
                responses={200: {"content": {"application/json": {}}}})
def province_geojson(request: Request, adcode: Annotated[str, Path(
        pattern=r"^\d{6}$", description="省级行政区划代码，如 130000")]) -> Response:
    """The city-level areas of one province, named as the map data names them."""
    return _geo_response(request, geo.province_payload(adcode))


# -- OpenAPI ---------------------------------------------------------------------------

TAGS = [
    {"name": "regions 地区", "description": "行政区划：检索与详情"},
    {"name": "chains 产业链", "description": "产业链模板与列表"},
    {"name": "analysis 分析", "description": "产业链全景、区域画像、招商地图、链主"},
    {"name": "recommend 精准招商", "description": "重点发展环节与招商企业清单"},
    {"name": "firms 企业", "description": "企业检索、画像与人工修正"},
    {"name": "geo 地图边界", "description": "省、市边界 GeoJSON（本地数据，无外部请求）"},
]


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the API and geo routes (pages are not API)."""
    return get_openapi(
        title="ChainAtlas 产业链招商图谱 API", version=__version__,
        description="产业链图谱与精准招商推荐的数据接口。Every error has the shape "
                    '`{"error": {"type", "message", "problems"}}`.',
        routes=[*router.routes, *geo_router.routes], tags=TAGS)
