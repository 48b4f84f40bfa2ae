"""Chinese administrative divisions (adcodes with coordinates) and address geocoding.

Both come from the offline package cpca: its ``resources/adcodes.csv`` holds 3,511
divisions with longitude and latitude, and its parser turns free-text addresses and
company names into the most specific adcode it can recognise.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

PROVINCE, CITY, DISTRICT = "province", "city", "district"

# The four municipalities: their city-level division is the province itself.
MUNICIPALITIES = {"110000", "120000", "310000", "500000"}


def adcodes_path() -> Path:
    """Return the path of cpca's bundled adcodes table."""
    import cpca

    return Path(cpca.__file__).parent / "resources" / "adcodes.csv"


def level_from_adcode(adcode: str) -> str:
    """Return province, city or district for a six-digit adcode."""
    if adcode.endswith("0000"):
        return PROVINCE
    if adcode.endswith("00"):
        return CITY
    return DISTRICT


def parent_from_adcode(adcode: str) -> str | None:
    """Return the adcode of the division one level up (None for a province)."""
    level = level_from_adcode(adcode)
    if level == PROVINCE:
        return None
    if level == CITY:
        return adcode[:2] + "0000"
    return adcode[:4] + "00"


def city_from_adcode(adcode: str | None) -> str | None:
    """Return the city-level adcode containing ``adcode`` (None above city level)."""
    if not adcode or level_from_adcode(adcode) == PROVINCE:
        return None
    return adcode[:4] + "00"


@lru_cache(maxsize=1)
def regions_frame() -> pd.DataFrame:
    """Return every division as adcode, name, level, parent, province_adcode, lon, lat.

    cpca names the city level of a municipality ``市辖区``; it is renamed after the
    municipality (110100 -> 北京市) because that is how users name it.
    """
    raw = pd.read_csv(adcodes_path(), dtype={"adcode": str})
    frame = pd.DataFrame({
        "adcode": raw["adcode"].str[:6],
        "name": raw["name"].astype(str),
        "lon": raw["longitude"].astype(float),
        "lat": raw["latitude"].astype(float),
    }).drop_duplicates("adcode")
    frame["level"] = frame["adcode"].map(level_from_adcode)
    frame["parent"] = frame["adcode"].map(parent_from_adcode)
    frame["province_adcode"] = frame["adcode"].str[:2] + "0000"
    names = dict(zip(frame["adcode"], frame["name"], strict=True))
    for province in MUNICIPALITIES:
        city = province[:3] + "100"
        frame.loc[frame["adcode"] == city, "name"] = names.get(province, city)
    frame.loc[frame["adcode"] == "500200", "name"] = "重庆市(县)"
    # Coordinates may be NaN (省直辖县级行政区划): fall back to the parent's centroid.
    coords = frame.set_index("adcode")[["lon", "lat"]]
    for col in ("lon", "lat"):
        missing = frame[col].isna()
        frame.loc[missing, col] = frame.loc[missing, "parent"].map(coords[col])
    return frame.sort_values("adcode").reset_index(drop=True)


@dataclass(frozen=True)
class Located:
    """A geocoding result: the most specific adcode found and its level."""

    adcode: str
    level: str

    @property
    def city(self) -> str | None:
        """The city-level adcode (None when only the province is known)."""
        return city_from_adcode(self.adcode)


def locate_texts(texts: Sequence[str | None]) -> list[Located | None]:
    """Geocode addresses or company names to the most specific adcode recognisable.

    Returns None for texts with no recognisable division. Texts naming only a district
    are resolved through cpca's unique-name lookup.
    """
    import cpca

    cleaned = [t.strip() if isinstance(t, str) else "" for t in texts]
    todo = sorted({t for t in cleaned if t})
    if not todo:
        return [None] * len(cleaned)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = cpca.transform(todo)
    known = set(regions_frame()["adcode"])
    found: dict[str, Located] = {}
    for text, code in zip(todo, frame["adcode"], strict=True):
        if not isinstance(code, str) or len(code) < 6:
            continue
        code = code[:6]
        if code in MUNICIPALITIES:  # the municipality is its own city
            code = code[:3] + "100"
        if code in known:
            found[text] = Located(code, level_from_adcode(code))
    return [found.get(t) for t in cleaned]


@lru_cache(maxsize=1)
def _name_index() -> dict[tuple[str, str], str]:
    frame = regions_frame()
    return {(adcode[:2], name): adcode
            for adcode, name in zip(frame["adcode"], frame["name"], strict=True)}


@lru_cache(maxsize=1)
def _provinces() -> tuple[tuple[str, str], ...]:
    frame = regions_frame()
    rows = frame[frame["level"] == PROVINCE]
    return tuple(zip(rows["name"], rows["adcode"], strict=True))


@lru_cache(maxsize=256)
def province_adcode_from_name(province: str | None) -> str | None:
    """The province adcode of a short or full name (河北, 河北省, 内蒙古); None if unknown."""
    if not province or not province.strip():
        return None
    return next((code for name, code in _provinces() if name.startswith(province.strip())),
                None)


@lru_cache(maxsize=4096)
def city_adcode_from_names(province: str | None, city: str | None) -> str | None:
    """Resolve a (province, city) pair such as ('广东', '深圳市') to a city-level adcode.

    Province names may be short (广东) or full (广东省); municipalities resolve to
    their city-level code (北京 -> 110100). Returns None when nothing matches.
    """
    prov = province_adcode_from_name(province)
    if prov is None:
        return None
    if prov in MUNICIPALITIES:
        return prov[:3] + "100"
    if not city:
        return None
    index = _name_index()
    name = city.strip()
    for candidate in (name, name + "市", name.removesuffix("市")):
        code = index.get((prov[:2], candidate))
        if code and level_from_adcode(code) != PROVINCE:
            return city_from_adcode(code)
    return None
