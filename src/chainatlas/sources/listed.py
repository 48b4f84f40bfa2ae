"""Where listed firms are, and their size: the Tushare snapshot and the SZSE A-share list.

Location precedence, recorded per firm in ``location_source``:

1. ``tushare``: the Tushare snapshot's (province, city); refined to the district when the
   SZSE registered address parses to a district of that same city (``tushare+szse``);
2. ``szse``: the SZSE list's registered address (district where parsable), else its
   省份/城市 columns;
3. ``fullname``: cpca parsing of the firm's full name (e.g. 石家庄以岭药业股份有限公司).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd

from chainatlas.errors import InputError, Problem
from chainatlas.sources.geography import (
    Located,
    city_adcode_from_names,
    city_from_adcode,
    locate_texts,
)
from chainatlas.store.lookup import normalise_stock_code

_TUSHARE_COLUMNS = ("ts_code", "province", "city", "reg_capital", "setup_date", "employees")
_SZSE_COLUMNS = {"A股代码": "code", "公司全称": "full_name", "注册地址": "address",
                 "省    份": "province", "城     市": "city", "A股上市日期": "listing_date"}


def read_tushare(path: Path, label: str) -> pd.DataFrame:
    """Read the Tushare ``stock_company`` snapshot (pandas dict-of-columns JSON)."""
    try:
        columns = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError.single(label, f"not a JSON document ({exc})") from exc
    if not isinstance(columns, dict):
        raise InputError.single(label, "expected an object of columns")
    missing = [c for c in _TUSHARE_COLUMNS if c not in columns]
    if missing:
        raise InputError([Problem(label, None, c, "column missing") for c in missing])
    frame = pd.DataFrame({c: pd.Series(columns[c]) for c in _TUSHARE_COLUMNS})
    frame["line"] = frame.index.astype(int)
    frame["company_id"] = frame["ts_code"].map(normalise_stock_code)
    frame["setup_date"] = pd.to_datetime(frame["setup_date"], format="%Y%m%d",
                                         errors="coerce").dt.date
    return frame


def read_szse(path: Path, label: str) -> pd.DataFrame:
    """Read the SZSE A-share list (xlsx) with code, full name and registered address."""
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise InputError.single(label, f"not a readable Excel file ({exc})") from exc
    sheet = book.worksheets[0]
    sheet.reset_dimensions()
    rows = list(sheet.iter_rows(values_only=True))
    book.close()
    if not rows:
        raise InputError.single(label, "the sheet is empty")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    missing = [h for h in _SZSE_COLUMNS if h not in header]
    if missing:
        raise InputError([Problem(label, 1, h, "column missing") for h in missing])
    index = {h: header.index(h) for h in _SZSE_COLUMNS}
    records = []
    for number, row in enumerate(rows[1:], start=2):
        record = {new: row[index[old]] for old, new in _SZSE_COLUMNS.items()}
        record["line"] = number
        records.append(record)
    frame = pd.DataFrame(records)
    frame["company_id"] = frame["code"].map(
        lambda c: normalise_stock_code(f"{str(c).zfill(6)}.SZ") if c else None)
    return frame


def locate_companies(companies: pd.DataFrame, tushare: pd.DataFrame,
                     szse: pd.DataFrame) -> pd.DataFrame:
    """Add location and size columns to ``companies`` (keyed by ``company_id``).

    Adds region_adcode, province_adcode, city_adcode, address, location_source,
    registered_capital (万元), setup_date and employees; fills a missing full name (one
    chainkg gave to another firm) from the SZSE list.
    """
    ts = tushare.drop_duplicates("company_id").set_index("company_id")
    sz = szse.drop_duplicates("company_id").set_index("company_id")
    out = companies.copy()
    ids = out["company_id"]
    out["address"] = ids.map(sz["address"]).where(lambda s: s.notna(), None)
    out["registered_capital"] = ids.map(ts["reg_capital"])
    out["setup_date"] = ids.map(ts["setup_date"])
    out["employees"] = ids.map(ts["employees"]).astype("Int64")
    ts_city = [city_adcode_from_names(p, c) if isinstance(p, str) else None
               for p, c in zip(ids.map(ts["province"]), ids.map(ts["city"]), strict=True)]
    sz_loc = locate_texts(list(out["address"]))
    sz_city = [city_adcode_from_names(p, c) if isinstance(p, str) else None
               for p, c in zip(ids.map(sz["province"]), ids.map(sz["city"]), strict=True)]
    pending = [i for i, (t, s, c) in enumerate(zip(ts_city, sz_loc, sz_city, strict=True))
               if t is None and (s is None or s.city is None) and c is None]
    by_name = dict(zip(pending, locate_texts([out["full_name"].iloc[i] for i in pending]),
                       strict=True))
    regions, sources = [], []
    for i, (t, s, c) in enumerate(zip(ts_city, sz_loc, sz_city, strict=True)):
        region, source = _pick_location(t, s, c, by_name.get(i))
        regions.append(region)
        sources.append(source)
    out["region_adcode"] = regions
    out["location_source"] = sources
    out["province_adcode"] = [r[:2] + "0000" if r else None for r in regions]
    out["city_adcode"] = [city_from_adcode(r) for r in regions]
    out["full_name"] = out["full_name"].fillna(ids.map(sz["full_name"]))
    return out


def _pick_location(ts_city: str | None, sz_loc: Located | None, sz_city: str | None,
                   name_loc: Located | None) -> tuple[str | None, str | None]:
    if ts_city:
        if sz_loc and sz_loc.level == "district" and sz_loc.city == ts_city:
            return sz_loc.adcode, "tushare+szse"
        return ts_city, "tushare"
    if sz_loc and sz_loc.city:
        return sz_loc.adcode, "szse"
    if sz_city:
        return sz_city, "szse"
    if name_loc:
        return name_loc.adcode, "fullname"
    if sz_loc:
        return sz_loc.adcode, "szse"
    return None, None
