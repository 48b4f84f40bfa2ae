"""Parse and validate single roster cell values: USCC codes, amounts, dates, industry codes.

Kept apart from :mod:`chainatlas.sources.roster` (which finds headers and rows) so each value
rule can be read and tested on its own. Every parser raises ValueError with a reason meant for
the user, which the roster reader attaches to the offending row and header. Decisions:

* USCC: GB 32100-2015; full-width characters and inner spaces are folded before checking.
* Amounts come out in 万 units: unit words (元, 万, 亿, ...) win over the caller's default
  ``factor``; a named currency (美元, USD, HK$, ...) is returned, never converted.
* Dates must lie between 1900-01-01 and today; bare numbers are yyyymmdd or Excel serials.
* Industry codes follow GB/T 4754-2017; a given section letter must match the division.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal

__all__ = ["CNY_PER_UNIT", "cell_str", "cny_wan", "normalise_uscc", "parse_amount",
           "parse_amount_wan", "parse_currency", "parse_date", "parse_employees",
           "parse_industry_code", "uscc_check_digit", "uscc_is_valid"]

_MIN_DATE = dt.date(1900, 1, 1)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB/T 4754-2017: division -> section letter.
_SECTION_OF = {d: s for s, lo, hi in re.findall(r"([A-T])(\d\d)-(\d\d)", (
    "A01-05 B06-12 C13-43 D44-46 E47-50 F51-52 G53-60 H61-62 I63-65 J66-69 K70-70 L71-72 "
    "M73-75 N76-79 O80-82 P83-83 Q84-85 R86-90 S91-96 T97-97"))
    for d in range(int(lo), int(hi) + 1)}
# Searched in this order (after NFKC and upper-casing) and removed from an amount's text.
_CURRENCY_TOKENS = (("人民币", "CNY"), ("RMB", "CNY"), ("CNY", "CNY"), ("¥", "CNY"),
                    ("美元", "USD"), ("USD", "USD"), ("US$", "USD"), ("香港元", "HKD"),
                    ("港元", "HKD"), ("港币", "HKD"), ("HKD", "HKD"), ("HK$", "HKD"),
                    ("$", "USD"), ("欧元", "EUR"), ("EUR", "EUR"), ("€", "EUR"),
                    ("日元", "JPY"), ("JPY", "JPY"), ("英镑", "GBP"), ("GBP", "GBP"),
                    ("澳门元", "MOP"), ("新台币", "TWD"), ("德国马克", "DEM"), ("马克", "DEM"),
                    ("法国法郎", "FRF"), ("瑞士法郎", "CHF"), ("新加坡元", "SGD"),
                    ("澳大利亚元", "AUD"), ("澳元", "AUD"), ("加拿大元", "CAD"),
                    ("韩元", "KRW"))
#: CNY per unit of each currency, used for a registered capital's CNY figure. One fixed
#: table, not a per-date series: approximate 2004 annual averages of the RMB central
#: parity (the registry's last year), legacy euro currencies through their fixed euro
#: conversion rates (DEM 1.95583, FRF 6.55957 per EUR). A capital in a currency not
#: listed keeps its amount and currency but gets no CNY figure.
CNY_PER_UNIT = {"CNY": 1.0, "USD": 8.2768, "HKD": 1.0623, "EUR": 10.2900, "JPY": 0.07656,
                "GBP": 15.1700, "CHF": 6.6700, "SGD": 4.9000, "AUD": 6.0900,
                "CAD": 6.3700, "MOP": 1.0300, "TWD": 0.2470, "KRW": 0.00723,
                "DEM": 10.2900 / 1.95583, "FRF": 10.2900 / 6.55957}
_UNITS = {unit: Decimal(wan) for unit, wan in (  # unit word -> 万
    ("元", "0.0001"), ("百", "0.01"), ("千", "0.1"), ("万", "1"), ("十万", "10"),
    ("百万", "100"), ("千万", "1000"), ("亿", "10000"), ("万亿", "100000000"))}
_AMOUNT_RE = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:E[+-]?\d+)?)"
                        r"(万亿|十万|百万|千万|万|千|百|亿)?(元)?")
_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                      r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_AMOUNT_HINT = "expected e.g. 500, 500万元, 1.2亿元 or 5000000元"


def cell_str(value: object) -> str:
    """Render a cell as the text a user sees: integral floats without ".0", dates ISO."""
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def uscc_check_digit(base: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a USCC."""
    if len(base) != 17 or any(c not in _USCC_VALUE for c in base):
        raise ValueError(f"{base!r} is not 17 characters of the USCC alphabet")
    total = sum(_USCC_VALUE[c] * w for c, w in zip(base, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def normalise_uscc(value: object) -> str:
    """Return the canonical 18-character USCC of a cell, or raise ValueError saying why not."""
    code = re.sub(r"\s+", "", unicodedata.normalize("NFKC", cell_str(value))).upper()
    what = f"unified social credit code {code!r}"
    if len(code) != 18:
        raise ValueError(f"{what} has {len(code)} characters, expected 18")
    if bad := [c for c in code if c not in _USCC_VALUE]:
        raise ValueError(f"{what} contains {bad[0]!r} (I, O, S, V and Z are never used)")
    if code[17] != (check := uscc_check_digit(code[:17])):
        raise ValueError(f"{what} has check digit {code[17]!r}, expected {check!r} (mistyped?)")
    return code


def uscc_is_valid(code: str) -> bool:
    """Tell whether ``code`` (trimmed, upper-cased, full-width folded) is a valid USCC."""
    try:
        normalise_uscc(code)
    except ValueError:
        return False
    return True


def parse_amount(value: object, factor: Decimal,
                 currency: str | None) -> tuple[Decimal, str | None]:
    """Parse an amount to (万 units, currency named in it, else ``currency``).

    Bare numbers are in units of ``factor`` 万 (the unit a header names); exact Decimal
    arithmetic so that 元 amounts convert without float rounding.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        number, unit, found = Decimal(str(value)), factor, set[str]()
    else:
        text = re.sub(r"[\s,()\[\]【】]", "", unicodedata.normalize("NFKC", cell_str(value)))
        text, found = text.upper(), set()
        for token, code in _CURRENCY_TOKENS:
            if token in text:
                found.add(code)
                text = text.replace(token, "")
        if len(found) > 1:
            raise ValueError(f"amount {value!r} names several currencies")
        if (match := _AMOUNT_RE.fullmatch(text)) is None:
            raise ValueError(f"cannot read amount {value!r} ({_AMOUNT_HINT})")
        number = Decimal(match[1])
        unit = _UNITS[match[2]] if match[2] else _UNITS["元"] if match[3] else factor
    if not number.is_finite():
        raise ValueError(f"cannot read amount {value!r} ({_AMOUNT_HINT})")
    if number < 0:
        raise ValueError(f"amount {value!r} is negative")
    return number * unit, (found.pop() if found else currency)


def cny_wan(amount: Decimal | float, currency: str) -> float | None:
    """An amount in 万 of ``currency`` as 万 CNY by :data:`CNY_PER_UNIT` (None if unknown)."""
    rate = CNY_PER_UNIT.get(currency)
    return None if rate is None else float(amount) * rate


def parse_amount_wan(text: object) -> tuple[float, str]:
    """Parse an amount such as 500, "500万元", "1.2亿元", "5000000元" or "100万美元".

    Returns (value in 万 units, ISO currency code: CNY unless another currency is named).
    Raises ValueError with a human reason for negative or unreadable amounts.
    """
    value, currency = parse_amount(text, Decimal(1), None)
    return float(value), currency or "CNY"


def _ymd(shown: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"date {shown!r} does not exist") from None


def _date_from_number(value: float, shown: str) -> dt.date:
    """A yyyymmdd number or an Excel (1900 system) serial day number."""
    whole = int(value) if value == value and abs(value) < 1e9 else 0
    if value == whole and 19000101 <= whole <= 29991231:
        return _ymd(shown, whole // 10000, whole // 100 % 100, whole % 100)
    if value == whole and 1000 <= whole <= 2999:
        raise ValueError(f"date {shown!r} looks like a year only; give the full date")
    if not 1 <= value < 2958466:
        raise ValueError(f"cannot read date {shown!r} (not a date or Excel date number)")
    return dt.date(1899, 12, 30 if whole >= 61 else 31) + dt.timedelta(days=whole)


def parse_date(value: object) -> dt.date:
    """Parse a date cell, "2015-03-02", "2015/3/2", "2015年3月2日", "20150302" or Excel serial.

    Raises ValueError for unreadable dates, dates before 1900-01-01 and future dates.
    """
    if isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        day = _date_from_number(float(value), cell_str(value))
    else:
        text = unicodedata.normalize("NFKC", cell_str(value)).strip()
        if match := _DATE_RE.fullmatch(text):
            day = _ymd(text, int(match[1]), int(match[2]), int(match[3]))
        elif re.fullmatch(r"\d{8}", text):
            day = _ymd(text, int(text[:4]), int(text[4:6]), int(text[6:]))
        elif re.fullmatch(r"\d{4,5}(?:\.\d+)?", text):
            day = _date_from_number(float(text), text)
        else:
            raise ValueError(f"cannot read date {text!r} (expected e.g. 2015-03-02, 2015/3/2, "
                             "2015年3月2日 or 20150302)")
    if day < _MIN_DATE:
        raise ValueError(f"date {day.isoformat()} is before {_MIN_DATE.isoformat()}")
    if day > dt.date.today():
        raise ValueError(f"date {day.isoformat()} is in the future")
    return day


def parse_industry_code(value: object) -> tuple[str, str | None]:
    """Parse a GB/T 4754 code ("C2710", "2710", "C 2710", "27") to (digits, section letter).

    The letter is returned only when given and must match the division. Numeric Excel cells
    that lost a leading zero are padded (510 -> "0510", 5 -> "05").
    """
    text = unicodedata.normalize("NFKC", cell_str(value)).upper()
    if isinstance(value, int | float) and not isinstance(value, bool) and len(text) in (1, 3):
        text = "0" + text
    text = re.sub(r"[\s.\-]", "", text)
    if (match := re.fullmatch(r"([A-T])?(\d{2,4})", text)) is None:
        raise ValueError(f"industry code {text!r} is not a GB/T 4754 code "
                         "(expected e.g. C2710, 2710 or 27)")
    letter, digits = match[1], match[2]
    if (section := _SECTION_OF.get(int(digits[:2]))) is None:
        raise ValueError(f"industry code {text!r}: division {digits[:2]} does not exist in "
                         "GB/T 4754-2017")
    if letter and letter != section:
        raise ValueError(f"industry code {text!r}: division {digits[:2]} belongs to section "
                         f"{section}, not {letter}")
    return digits, letter


def parse_currency(value: object) -> str:
    """Parse a currency cell (人民币, CNY, 美元, USD or any three-letter code) to its ISO code."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", cell_str(value))).upper()
    code = dict(_CURRENCY_TOKENS).get(text, text if re.fullmatch(r"[A-Z]{3}", text) else None)
    if code is None:
        raise ValueError(f"unknown currency {text!r} (expected e.g. 人民币, CNY, 美元, USD)")
    return code


def parse_employees(value: object) -> int:
    """Parse an employee count such as 120, "1,200人" or 120.0; fractions are rejected."""
    text = re.sub(r"[\s,]|[人名位]$", "", unicodedata.normalize("NFKC", cell_str(value)))
    if re.fullmatch(r"[+-]?\d*\.\d+(?:E[+-]?\d+)?", text, re.IGNORECASE) and not re.fullmatch(
            r"[+-]?\d+\.0*", text):
        raise ValueError(f"employee count {text!r} is not a whole number")
    if not re.fullmatch(r"[+-]?\d+(?:\.0*)?", text):
        raise ValueError(f"cannot read employee count {text!r} (expected e.g. 120 or 1,200人)")
    if (count := int(Decimal(text))) < 0:
        raise ValueError(f"employee count {text!r} is negative")
    return count
