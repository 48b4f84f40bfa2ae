"""The target ranking's per-firm signals beyond the candidate query: filters, risk and
expansion (:mod:`chainatlas.recommend.firms` joins them; links live in
:mod:`chainatlas.recommend.target_links`).

- Filters (:class:`~chainatlas.recommend.filters.TargetFilters`) narrow the candidates
  before sizes are scaled, so a strength of 1 is the largest firm the analyst looks at.
  Size bands (:func:`~chainatlas.recommend.filters.size_band`) rest on employees, and on
  registered capital only for firms that are not listed: a listed firm's capital is its
  share count, so a listed firm without an employee count has no band.
- Risk (:mod:`chainatlas.analysis.risk`): with ``exclude_risk`` (the default) every
  flagged firm is dropped (ST, *ST, delisting, PT, gone by 2025); without it they all
  stay, shown with their flags, and the score is multiplied by the risk factor (0.5 for
  ST/*ST, 0 for the others, which then rank last).
- Expansion (:mod:`chainatlas.analysis.expansion`): other cities a firm opened branches
  in during the registry's last :data:`~chainatlas.analysis.expansion.EXPANSION_YEARS`
  years up to ``as_of``, utility-like parents left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from chainatlas.analysis.expansion import EXPANSION_YEARS, expansion_score, expansion_table
from chainatlas.analysis.risk import risk_table, with_risk
from chainatlas.recommend.filters import TargetFilters, size_band
from chainatlas.store import Database

#: Columns :func:`add_expansion` adds (besides ``expansion``).
EXPANSION_FIGURES = ("branches", "subsidiaries", "cities", "first_year", "last_year")


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def with_size_bands(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame (origin, employees, registered_capital) with ``size_band`` and
    ``size_basis`` (module docs). Pure."""
    out = frame.copy()
    bands = [size_band(_num(e), None if o == "listed" else _num(c)) for e, c, o in zip(
        out["employees"], out["registered_capital"], out["origin"], strict=True)]
    out["size_band"] = pd.Series([b for b, _ in bands], index=out.index, dtype=object)
    out["size_basis"] = pd.Series([s for _, s in bands], index=out.index, dtype=object)
    return out


def apply_filters(frame: pd.DataFrame, filters: TargetFilters, province: str) -> pd.DataFrame:
    """The candidates (province_adcode, origin, employees, registered_capital) the
    filters keep but for risk (:func:`add_risk`), with size bands added (``province``:
    the region's). Pure."""
    out = with_size_bands(frame)
    keep = pd.Series(True, index=out.index)
    where = out["province_adcode"].astype(str)
    if filters.provinces:
        keep &= where.isin(filters.provinces)
    if filters.exclude_provinces:
        keep &= ~where.isin(filters.exclude_provinces)
    if filters.outside_province:
        keep &= where != province
    if filters.sizes:
        keep &= out["size_band"].isin(filters.sizes)
    if filters.listed is not None:
        keep &= (out["origin"] == "listed") == (filters.listed == "listed")
    return out[keep].reset_index(drop=True)


def drop_risky(frame: pd.DataFrame, exclude_risk: bool) -> pd.DataFrame:
    """The frame (with ``flags``) without flagged firms while ``exclude_risk``. Pure."""
    if not exclude_risk or frame.empty:
        return frame.reset_index(drop=True)
    return frame[frame["flags"].map(len) == 0].reset_index(drop=True)


def add_risk(db: Database, frame: pd.DataFrame, exclude_risk: bool) -> pd.DataFrame:
    """The candidates with flags, flags_zh, factor and excluded (module docs)."""
    return drop_risky(with_risk(frame, risk_table(db)), exclude_risk)


def add_expansion(db: Database, frame: pd.DataFrame, as_of: int | None) -> pd.DataFrame:
    """The candidates with expansion_branches, _subsidiaries, _cities, _first_year,
    _last_year, _since, _until and the ``expansion`` component (0 for firms without
    other-city branches in the window)."""
    table = expansion_table(db, as_of, EXPANSION_YEARS).set_index("company_id")
    out = frame.copy()
    for column in EXPANSION_FIGURES:
        out[f"expansion_{column}"] = (out["company_id"].map(table[column]) if len(table)
                                      else pd.Series(np.nan, index=out.index))
    for column in ("branches", "subsidiaries", "cities"):
        out[f"expansion_{column}"] = out[f"expansion_{column}"].fillna(0).astype(int)
    window = (int(table["since"].iloc[0]), int(table["until"].iloc[0])) if len(table) else (
        None, None)
    out["expansion_since"], out["expansion_until"] = window
    out["expansion"] = expansion_score(out["expansion_cities"].astype(float))
    return out
