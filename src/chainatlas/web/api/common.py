"""Pieces every API router shares: JSON encoding, error bodies, the guarded route class,
the query parameters, and the router factory.

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
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote

import duckdb
import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from chainatlas.errors import (
    ChainAtlasError,
    ConflictError,
    InputError,
    NotFoundError,
    Problem,
)
from chainatlas.recommend.filters import SIZE_BANDS, TargetFilters, as_sizes
from chainatlas.store import Database
from chainatlas.store.database import damaged_store
from chainatlas.store.lookup import (
    Chain,
    Region,
    as_universe,
    chain_from_text,
    region_from_text,
)
from chainatlas.store.query import UNIVERSES
from chainatlas.web.cache import cached

log = logging.getLogger("chainatlas.web")

API_PREFIX = "/api/v1"
GEO_PREFIX = "/geo"
#: Paths answered with JSON errors (the rest are pages, which NiceGUI renders).
JSON_PREFIXES = (API_PREFIX + "/", GEO_PREFIX + "/", "/openapi.json")

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
        """Encode the content (bytes are :func:`cached_json`'s, encoded already)."""
        return content if isinstance(content, bytes) else encode_json(content)


#: The response header naming the firm universe a result counted (lists carry it in
#: each item too; an empty list only here).
UNIVERSE_HEADER = "X-ChainAtlas-Universe"


def _encoded(db: Database, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
    return encode_json(fn(db, *args, **kwargs))


def cached_json(fn: Callable[..., Any], db: Database, *args: Any, **kwargs: Any) -> bytes:
    """The JSON bytes of ``fn(db, *args, **kwargs)``, cached as bytes while the store is
    unchanged (:func:`chainatlas.web.cache.cached`), so a hit is not walked through
    :func:`jsonable` and encoded again: that Python work holds the GIL the pages' event
    loop needs."""
    return cached(_encoded, db, fn, *args, **kwargs)


def ok(value: Any, status: int = 200, universe: str | None = None) -> Response:
    """A library result as the API's JSON response (``universe`` echoed in a header)."""
    headers = None if universe is None else {UNIVERSE_HEADER: universe}
    return ApiJSONResponse(value, status_code=status, headers=headers)


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
                   problems: list[dict[str, Any]] | None = None,
                   changes: list[dict[str, Any]] | None = None) -> Response:
    """The API's JSON error response (a 409 also lists the changes made meanwhile)."""
    error: dict[str, Any] = {"type": kind, "message": message, "problems": problems or []}
    if changes is not None:
        error["changes"] = changes
    return ApiJSONResponse({"error": error}, status_code=status)


def problem_dict(problem: Problem) -> dict[str, Any]:
    """A library Problem as a JSON object."""
    return {"file": problem.file, "row": problem.row, "field": problem.field,
            "reason": problem.reason}


def library_error_response(exc: ChainAtlasError) -> Response:
    """A library error as the API's JSON error, with the error's HTTP status."""
    if isinstance(exc, InputError):
        return error_response(exc.status_code, type(exc).__name__, exc.summary,
                              [problem_dict(p) for p in exc.problems])
    if isinstance(exc, ConflictError):
        return error_response(exc.status_code, type(exc).__name__, str(exc),
                              changes=jsonable(exc.changes))
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
            except duckdb.Error as exc:
                # A damaged page found mid-query (the store opened fine): the store's
                # message, one log line, no traceback for what is not a bug.
                log.error("%s %s: the store cannot be read: %s", request.method,
                          request.url.path, str(exc).strip().splitlines()[0])
                return library_error_response(damaged_store("the served store", exc))
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return internal_error_response()

        return guarded


def area_router(**options: Any) -> APIRouter:
    """A router of one area: guarded routes, JSON responses, the documented error bodies.

    Their paths start with /api/v1; :mod:`chainatlas.web.api` gathers their routes.
    """
    return APIRouter(prefix=API_PREFIX, route_class=GuardedRoute,
                     default_response_class=ApiJSONResponse, responses=ERRORS, **options)


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
#: The universe words the document lists (ids and Chinese names). Checked by the library,
#: not by FastAPI, so any other word gets its clear 422 naming the choices.
UNIVERSE_WORDS = [*UNIVERSES, *UNIVERSES.values()]
UniverseQ = Annotated[str | None, Query(
    min_length=1, max_length=16, json_schema_extra={"enum": UNIVERSE_WORDS},
    description="企业范围：listed（上市企业）、registry（工商登记企业）或 all（全部企业）；"
                "默认：已载入工商登记数据时为 all，否则为 listed")]


#: A list of province names or adcodes (repeat the parameter; commas also separate).
ProvincesQ = Annotated[list[str], Query(
    max_length=40, json_schema_extra={"items": {"type": "string", "minLength": 1,
                                                "maxLength": 64}},
    description="省份名称或行政区划代码，可重复，如 河北省、110000")]
#: Size bands, checked by the library (a clear 422 naming the bands for any other word).
SIZE_WORDS = [*SIZE_BANDS, *SIZE_BANDS.values()]
SizesQ = Annotated[list[str], Query(
    max_length=6, json_schema_extra={"items": {"type": "string", "enum": SIZE_WORDS}},
    description="规模：large（大型）、medium（中型）、small（小型），可重复；按员工人数划分，"
                "无员工数时按注册资本")]


class TargetFilterQ(BaseModel):
    """The target-list filters of /recommend/firms and /recommend/xlsx, as query
    parameters (named as the CLI's options)."""

    province: ProvincesQ = Field(default_factory=list, description="只看这些省份的企业")
    exclude_province: ProvincesQ = Field(default_factory=list, description="排除这些省份的企业")
    outside_province: bool = Field(False, description="只看本地区所在省份以外的企业")
    size: SizesQ = Field(default_factory=list)
    listed: bool | None = Field(None, description="true：只看上市企业；false：只看非上市企业")
    include_risk: bool = Field(False, description="列入风险警示企业（ST、*ST、退市整理；默认排除）")


def top_query(default: int, what: str) -> Any:
    """A ``top`` parameter: how many to return, 1..200."""
    return Query(ge=1, le=200, description=f"返回{what}数量（1–200，默认 {default}）")


# -- downloads ------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment header with an ASCII ``filename`` and the UTF-8 ``filename*``."""
    name = _UNSAFE_FILENAME.sub("_", filename)
    ascii_name = _UNSAFE_FILENAME.sub("_", fallback).encode("ascii", "replace").decode()
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def xlsx_response(write: Callable[[FilePath], object], filename: str, fallback: str,
                  headers: Mapping[str, str] | None = None) -> Response:
    """A workbook download: ``write`` fills a temporary file (what it returns is not
    used), sent as an attachment named ``filename`` (ASCII ``fallback``) with
    ``headers`` beside the disposition."""
    with tempfile.TemporaryDirectory(prefix="chainatlas-xlsx-") as folder:
        target = FilePath(folder) / "workbook.xlsx"
        write(target)
        body = target.read_bytes()
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": content_disposition(filename, fallback), **(headers or {})})


# -- typed values at the edge ----------------------------------------------------------


def region_param(db: Database, text: str | None) -> Region | None:
    """The region a parameter names (None when the parameter was left out)."""
    return None if text is None else region_from_text(db, text)


def province_param(db: Database, text: str, field: str = "within") -> Region:
    """The province a parameter names; a 422 InputError when it names another level."""
    place = region_from_text(db, text)
    if place.level != "province":
        raise InputError.single("query", f"{place.name} is not a province", field=field)
    return place


def chain_param(db: Database, text: str) -> Chain:
    """The stored chain a parameter names (id or Chinese name)."""
    return chain_from_text(db, text)


def universe_param(db: Database, text: str | None) -> str:
    """The universe a parameter names (id or Chinese name; None: the store's default); a
    422 InputError naming the choices for any other value."""
    try:
        return as_universe(db, text)
    except NotFoundError as exc:
        raise InputError.single("query", str(exc), field="universe") from None


def _provinces_param(db: Database, values: list[str], field: str) -> list[Region]:
    """The provinces a list parameter names (commas also separate), each checked."""
    texts = [part.strip() for value in values
             for part in value.replace("，", ",").split(",") if part.strip()]
    return list({p.adcode: p for p in (province_param(db, t, field) for t in texts)}.values())


def filters_param(db: Database, query: TargetFilterQ) -> TargetFilters:
    """The target-list filters the parameters name: provinces resolved to adcodes (their
    names kept for the description); a 422 for a bad size band or a province both kept
    and excluded (ParameterError), a 404 for an unknown province."""
    keep = _provinces_param(db, query.province, "province")
    drop = _provinces_param(db, query.exclude_province, "exclude_province")
    labels = {key: "、".join(p.name for p in places)
              for key, places in (("provinces", keep), ("exclude_provinces", drop)) if places}
    return TargetFilters(
        provinces=tuple(p.adcode for p in keep), exclude_provinces=tuple(p.adcode for p in drop),
        outside_province=query.outside_province, sizes=as_sizes(query.size),
        listed=None if query.listed is None else "listed" if query.listed else "unlisted",
        exclude_risk=not query.include_risk, labels=labels)


def node_param(chain: Chain, text: str | None) -> str | None:
    """The id of the node a parameter names (id or Chinese name), None when left out."""
    return None if text is None else chain.node(text).node_id

