"""Routes of the map boundaries (/geo): provinces of China, cities of a province."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from chainatlas.web import geo
from chainatlas.web.api.common import ERRORS, GEO_PREFIX, GuardedRoute

GEO_CACHE = "public, max-age=604800"  # a week; the ETag answers revalidations with 304

router = APIRouter(prefix=GEO_PREFIX, route_class=GuardedRoute, tags=["geo 地图边界"],
                   responses=ERRORS)


def _geo_response(request: Request, payload: geo.Payload) -> Response:
    headers = {"Cache-Control": GEO_CACHE, "ETag": payload.etag}
    if request.headers.get("if-none-match") == payload.etag:
        return Response(status_code=304, headers=headers)
    return Response(payload.body, media_type="application/json", headers=headers)


@router.get("/china.json", summary="Province boundaries of China (GeoJSON)",
            response_class=Response, responses={200: {"content": {"application/json": {}}}})
def china_geojson(request: Request) -> Response:
    """Every province-level area, ``name`` and ``adcode`` as in the regions (South China
    Sea islands left out, see ``clipped``)."""
    return _geo_response(request, geo.china_payload())


@router.get("/province/{adcode}.json", summary="City boundaries of a province (GeoJSON)",
            response_class=Response, responses={200: {"content": {"application/json": {}}}})
def province_geojson(request: Request, adcode: Annotated[str, Path(
        pattern=r"^\d{6}$", description="省级行政区划代码，如 130000")]) -> Response:
    """The city-level areas of one province, named as the map data names them."""
    return _geo_response(request, geo.province_payload(adcode))
