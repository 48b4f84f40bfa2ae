"""Where listed firms are, and their size: the Tushare snapshot and the SZSE A-share list.

The SZSE list is a 2025 snapshot, the chainkg firms are of 2021: :func:`szse_status` reads
it a second way, as the 2025 standing of each Shenzhen firm (its A股简称 then, which shows
an ST/*ST prefix added since, and whether its code is still listed), for the risk flags of
:mod:`chainatlas.analysis.risk`.

Location precedence, recorded per firm in ``location_source``:

1. ``tushare``: the Tushare snapshot's (province, city); refined to the district when the
   SZSE registered address parses to a district of that same city (``tushare+szse``);
2. ``szse``: the SZSE list's registered address (district where parsable), else its
   省份/城市 columns;
3. ``fullname``: cpca parsing of the firm's full name (e.g. 石家庄以岭药业股份有限公司).
"""

from __future__ import annotations

import json
import unicodedata
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
#: Read when present: the exchange's full export has it; an extract without it cannot tell
#: a firm's standing (see :func:`szse_status`).
_SZSE_OPTIONAL = {"A股简称": "short_name", "A股总股本": "a_shares"}


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
    wanted = {**_SZSE_COLUMNS, **{h: n for h, n in _SZSE_OPTIONAL.items() if h in header}}
    index = {h: header.index(h) for h in wanted}
    records = []
    for number, row in enumerate(rows[1:], start=2):
        record = {new: row[index[old]] for old, new in wanted.items()}
        record["line"] = number
        records.append(record)
    frame = pd.DataFrame(records)
    frame["company_id"] = frame["code"].map(
        lambda c: normalise_stock_code(f"{str(c).zfill(6)}.SZ") if c else None)
    if "short_name" in frame:
        frame["short_name"] = frame["short_name"].map(clean_short_name)
    if "a_shares" in frame:
        frame["a_shares_wan"] = frame["a_shares"].map(share_count_wan)
    return frame


def share_count_wan(cell: object) -> float | None:
    """A share count cell (``19,405,918,198``) in 万 shares; None when unreadable or 0."""
    text = str(cell or "").replace(",", "").strip()
    try:
        count = float(text)
    except ValueError:
        return None
    return count / 1e4 if count > 0 else None


def clean_short_name(name: object) -> str | None:
    """An exchange short name as firms are named elsewhere: full-width letters and digits
    folded (万  科Ａ -> 万科A), spaces dropped; None for an empty cell."""
    if name is None or (isinstance(name, float) and pd.isna(name)):
        return None
    text = "".join(unicodedata.normalize("NFKC", str(name)).split())
    return text or None


def szse_status(companies: pd.DataFrame, szse: pd.DataFrame) -> pd.DataFrame:
    """``companies`` (company_id, exchange) with short_name_2025 and in_szse_2025 added.

    Only Shenzhen codes are judged: in_szse_2025 is True when the code is on the list
    (short_name_2025 is then its A股简称 there), False when it is absent (delisted or
    merged since 2021), None for every other exchange, which the list does not cover. A
    list without the A股简称 column is an extract, not the exchange's full export: absence
    from it says nothing, so every firm gets None.
    """
    out = companies.copy()
    if "short_name" not in szse:
        out["in_szse_2025"] = pd.Series([None] * len(out), index=out.index, dtype="boolean")
        out["short_name_2025"] = None
        return out
    names = szse.dropna(subset=["company_id"]).drop_duplicates("company_id").set_index(
        "company_id")["short_name"]
    shenzhen = out["exchange"].eq("SZ")
    listed_now = out["company_id"].isin(names.index)
    out["in_szse_2025"] = listed_now.where(shenzhen, None).astype("boolean")
    out["short_name_2025"] = out["company_id"].map(names).where(shenzhen & listed_now, None)
    return out


def locate_companies(companies: pd.DataFrame, tushare: pd.DataFrame,
                     szse: pd.DataFrame) -> pd.DataFrame:
    """Add location and size columns to ``companies`` (keyed by ``company_id``).

    Adds region_adcode, province_adcode, city_adcode, address, location_source,
    registered_capital (万元; the SZSE A-share count where Tushare has none), setup_date
    and employees; fills a missing full name (one chainkg gave to another firm) from the
    SZSE list.
    """
    ts = tushare.drop_duplicates("company_id").set_index("company_id")
    sz = szse.drop_duplicates("company_id").set_index("company_id")
    out = companies.copy()
    ids = out["company_id"]
    out["address"] = ids.map(sz["address"]).where(lambda s: s.notna(), None)
    out["registered_capital"] = ids.map(ts["reg_capital"])
    if "a_shares_wan" in sz:
        # A listed firm's registered capital is its share capital (1 元 a share): a firm
        # the Tushare snapshot lacks (智飞生物) takes its A-share count on the SZSE list.
        out["registered_capital"] = out["registered_capital"].fillna(ids.map(sz["a_shares_wan"]))
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
