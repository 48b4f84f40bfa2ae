"""Risk flags of listed firms (ST, *ST, delisting, PT, gone by 2025) and what they do to
a score.

Two snapshots name a listed firm: its 2021 chainkg short name (``companies.short_name``)
and, for Shenzhen codes, its A股简称 on the 2025 SZSE list (``companies.short_name_2025``;
``companies.in_szse_2025`` False when the code is no longer listed: delisted or merged).
A firm's flags are read from both names:

- ``*ST`` (``*ST``/``S*ST`` prefix: delisting risk warning) and ``ST`` (``ST``/``SST``:
  other risk warning) halve a score (factor 0.5): the firm may lead, but not unmarked;
- ``delisting`` (退 in the name: in the delisting period), ``PT`` (particular transfer,
  the pre-2002 suspended listing) and ``gone_2025`` (a Shenzhen code absent from the 2025
  list) set the factor to 0: the firm is excluded from leaders and target lists.

Only listed firms carry flags: registry and roster firms have no exchange short name, so
they get none (factor 1). Shanghai codes are judged on their 2021 name alone (no 2025 list
of the Shanghai exchange is in the data). Negative equity is not in the data (no balance
sheet), so no flag says it; outputs say so through :data:`NOT_COVERED_ZH`.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from chainatlas.store import Database

#: Flag codes, in the order outputs list them.
FLAG_ORDER = ("delisting", "PT", "gone_2025", "*ST", "ST")
#: Score multiplier of each flag; a firm takes the lowest of its flags (1.0 with none).
FLAG_FACTORS = {"*ST": 0.5, "ST": 0.5, "delisting": 0.0, "PT": 0.0, "gone_2025": 0.0}
FLAG_LABELS_ZH = {"*ST": "*ST", "ST": "ST", "delisting": "退市整理", "PT": "PT",
                  "gone_2025": "2025 年深交所名单中已无此代码"}
#: What the flags cannot see, for every output that shows them.
NOT_COVERED_ZH = ("风险标记仅依据上市简称（ST/*ST/退/PT）与 2025 年深交所名单；"
                  "数据中无资产负债表，未识别净资产为负的企业")

RISK_COLUMNS = ["company_id", "flags", "flags_zh", "factor", "excluded"]

_STAR_ST = re.compile(r"^S?\*ST")
_ST = re.compile(r"^S?ST")


def name_flags(short_name: str | None) -> list[str]:
    """Flags one exchange short name shows (*ST, ST, delisting, PT), in FLAG_ORDER. Pure."""
    if not short_name:
        return []
    name = "".join(unicodedata.normalize("NFKC", short_name).upper().split())
    found = set()
    if _STAR_ST.match(name):
        found.add("*ST")
    elif _ST.match(name):
        found.add("ST")
    if name.startswith("PT"):
        found.add("PT")
    if "退" in name:
        found.add("delisting")
    return [f for f in FLAG_ORDER if f in found]


def flags_from_names(short_2021: str | None, short_2025: str | None,
                     in_2025_list: bool | None, exchange: str | None) -> list[str]:
    """A listed firm's flags from its short name (the 2025 one for Shenzhen codes on the
    2025 SZSE list, else the 2021 one) and whether its code is on that list (None: not
    known; only Shenzhen codes can be ``gone_2025``). Pure."""
    # The 2025 name is the newer word where there is one: an ST firm of 2021 whose warning
    # was lifted by 2025 (ST南风 -> 北方铜业) is no longer flagged.
    newer = short_2025 if exchange == "SZ" and in_2025_list and short_2025 else short_2021
    found = set(name_flags(newer))
    if exchange == "SZ" and in_2025_list is False:
        found.add("gone_2025")
    if "*ST" in found:  # *ST is the graver warning; a firm flagged both shows *ST alone
        found.discard("ST")
    return [f for f in FLAG_ORDER if f in found]


def flags_zh(short_2021: str | None, short_2025: str | None,
             in_2025_list: bool | None, exchange: str | None) -> str:
    """The flags in Chinese with where each comes from, "" with none. Pure.

    E.g. ``*ST（2021 简称）；2025 年深交所名单中已无此代码``; a warning of 2021 lifted by
    2025 is named without being a flag (``2021 年简称 ST南风，2025 年已摘帽``)."""
    old, new = name_flags(short_2021), name_flags(short_2025)
    kept = flags_from_names(short_2021, short_2025, in_2025_list, exchange)
    lifted = {"*ST", "ST"} & set(old)
    if lifted and not {"*ST", "ST"} & set(kept) and in_2025_list:
        return f"2021 年简称 {short_2021}，2025 年已摘帽"
    parts = []
    for flag in kept:
        if flag == "gone_2025":
            parts.append(FLAG_LABELS_ZH[flag])
            continue
        seen = [year for year, flags in (("2021", old), ("2025", new)) if flag in flags]
        parts.append(f"{FLAG_LABELS_ZH[flag]}（{'、'.join(seen)} 简称）")
    return "；".join(parts)


def risk_factor(flags: list[str]) -> float:
    """Score multiplier for a firm's flags: the lowest flag factor, 1.0 with none. Pure."""
    return min((FLAG_FACTORS[f] for f in flags), default=1.0)


def risk_from_names(firms: pd.DataFrame) -> pd.DataFrame:
    """:data:`RISK_COLUMNS` for a frame of company_id, short_name, short_name_2025,
    in_szse_2025, exchange (one row per listed firm). Pure."""
    rows = []
    for r in firms.to_dict("records"):
        args = (_text(r["short_name"]), _text(r["short_name_2025"]),
                _truth(r["in_szse_2025"]), _text(r["exchange"]))
        flags = flags_from_names(*args)
        factor = risk_factor(flags)
        rows.append((str(r["company_id"]), flags, flags_zh(*args), factor, factor == 0.0))
    return pd.DataFrame(rows, columns=RISK_COLUMNS)


def risk_table(db: Database) -> pd.DataFrame:
    """Every listed firm's risk flags: company_id, flags (codes in FLAG_ORDER), flags_zh,
    factor (score multiplier: 1.0 none, 0.5 ST/*ST, 0.0 delisting/PT/gone_2025) and
    excluded (factor 0). Registry and roster firms are not in the table: they carry no
    flags (use :func:`with_risk` to join it onto any frame of firms)."""
    firms = db.df("SELECT company_id, short_name, short_name_2025, in_szse_2025, exchange "
                  "FROM companies WHERE origin = 'listed' ORDER BY company_id")
    return risk_from_names(firms)


def with_risk(frame: pd.DataFrame, risk: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with company_id) with flags, flags_zh, factor and excluded from
    :func:`risk_table`; firms not in it (unlisted) get no flags and factor 1. Pure."""
    out = frame.merge(risk, on="company_id", how="left")
    missing = out["factor"].isna()
    out["flags"] = [[] if m else list(f) for m, f in zip(missing, out["flags"], strict=True)]
    out["flags_zh"] = out["flags_zh"].fillna("").astype(str)
    out["factor"] = out["factor"].fillna(1.0).astype(float)
    out["excluded"] = out["excluded"].fillna(False).astype(bool)
    return out


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _text(value: object) -> str | None:
    return None if _missing(value) else str(value)


def _truth(value: object) -> bool | None:
    return None if _missing(value) else bool(value)
