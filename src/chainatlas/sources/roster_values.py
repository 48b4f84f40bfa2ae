"""The value rules shared by every reader of enterprise lists: rosters and the registry.

One home for each rule (:mod:`chainatlas.sources.roster` and
:mod:`chainatlas.sources.registry` both call these): missing-value markers, text and name
folding, registered capital (amount, currency, CNY figure), firm codes (USCC or an older
registration number), dates, provinces, branch and individual-business flags, and the
decoding of UTF-8 text with a few damaged rows. Every parser raises ValueError with a reason
meant for the user, which the callers attach to the offending row and column. Decisions:

* Missing: ``N/A``, ``-``, ``—``, ``--``, ``无``, ``null`` and empty (:data:`MISSING`); a capital
  with its unit but no figure (``万人民币``, ``（万元）``) is missing too.
* USCC: GB 32100-2015; full-width characters and inner spaces are folded before checking.
  Older codes are registration numbers (:func:`parse_code`): 15 digits (GS15-2006, ISO 7064
  MOD 11,10 check digit), 13 digits starting with a province code, the certificate numbers of
  foreign-invested firms (``企合苏镇分字第0006``), organization codes (``13497257-7``, GB 11714
  check digit). Anything else in a code column is an error.
* Amounts come out in 万 units: unit words (元, 万, 亿, ...) win over the caller's default
  ``factor``; a named currency (美元, USD, HK$, 丹麦克朗 ...) is returned, never converted,
  except by :func:`cny_wan` for a capital's CNY figure.
* Dates must lie between 1900-01-01 and today; bare numbers are yyyymmdd or Excel serials.
* Industry codes follow GB/T 4754-2017; a given section letter must match the division.
* Names: whitespace folded; no space between Chinese characters or brackets
  (``唐山市 丰南区…`` -> ``唐山市丰南区…``). Branches (分公司, 分支机构, …) are flagged with
  the parent name their own name shows; individual businesses (个体工商户, USCC class 92).
* Text lost upstream (U+FFFD marks, NUL bytes) makes a row wrong, not a file: a file is
  binary only when such damage is on more than two lines and 1 % of them (:func:`decode_table`).
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from chainatlas.errors import InputError
from chainatlas.sources.registry_files import province_short

__all__ = [
    "CNY_PER_UNIT",
    "CURRENCY_TOKENS",
    "MISSING",
    "Capital",
    "CodeError",
    "FirmCode",
    "FirmKind",
    "OutOfRange",
    "cell_str",
    "clean_name",
    "clean_text",
    "cny_wan",
    "decode_mostly_utf8",
    "decode_table",
    "firm_kind",
    "garbled",
    "is_missing",
    "normalise_uscc",
    "parse_amount",
    "parse_amount_wan",
    "parse_capital",
    "parse_code",
    "parse_currency",
    "parse_date",
    "parse_employees",
    "parse_industry_code",
    "parse_province",
    "text_value",
    "uscc_check_digit",
    "uscc_is_valid",
]

_L = TypeVar("_L", str, bytes)
#: Cell texts that stand for "no value" in every column (the registry writes ``N/A``).
MISSING = frozenset({"", "N/A", "n/a", "NA", "-", "—", "--", "无", "null", "NULL"})

_MIN_DATE = dt.date(1900, 1, 1)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_BASE = re.compile(f"[{_USCC_ALPHABET}]{{17}}")
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB/T 4754-2017: division -> section letter.
_SECTION_OF = {d: s for s, lo, hi in re.findall(r"([A-T])(\d\d)-(\d\d)", (
    "A01-05 B06-12 C13-43 D44-46 E47-50 F51-52 G53-60 H61-62 I63-65 J66-69 K70-70 L71-72 "
    "M73-75 N76-79 O80-82 P83-83 Q84-85 R86-90 S91-96 T97-97"))
    for d in range(int(lo), int(hi) + 1)}
# Searched in this order (after NFKC and upper-casing) and removed from an amount's text.
CURRENCY_TOKENS = (("人民币", "CNY"), ("RMB", "CNY"), ("CNY", "CNY"), ("¥", "CNY"),
                    ("美元", "USD"), ("USD", "USD"), ("US$", "USD"), ("香港元", "HKD"),
                    ("港元", "HKD"), ("港币", "HKD"), ("HKD", "HKD"), ("HK$", "HKD"),
                    ("$", "USD"), ("欧元", "EUR"), ("EUR", "EUR"), ("€", "EUR"),
                    ("日元", "JPY"), ("JPY", "JPY"), ("英镑", "GBP"), ("GBP", "GBP"),
                    ("澳门元", "MOP"), ("新台币", "TWD"), ("德国马克", "DEM"), ("马克", "DEM"),
                    ("法国法郎", "FRF"), ("瑞士法郎", "CHF"), ("新加坡元", "SGD"),
                    ("澳大利亚元", "AUD"), ("澳元", "AUD"), ("加拿大元", "CAD"),
                    ("韩元", "KRW"), ("丹麦克朗", "DKK"), ("丹麦克郎", "DKK"),
                    ("瑞典克朗", "SEK"), ("挪威克朗", "NOK"))
#: CNY per unit of each currency, used for a registered capital's CNY figure. One fixed
#: table, not a per-date series: approximate 2004 annual averages of the RMB central
#: parity (the registry's last year), legacy euro currencies through their fixed euro
#: conversion rates (DEM 1.95583, FRF 6.55957 per EUR), the Nordic crowns through their
#: 2004 average euro rates (DKK 7.4399, SEK 9.1243, NOK 8.3697 per EUR). A capital in a
#: currency not listed keeps its amount and currency but gets no CNY figure.
CNY_PER_UNIT = {"CNY": 1.0, "USD": 8.2768, "HKD": 1.0623, "EUR": 10.2900, "JPY": 0.07656,
                "GBP": 15.1700, "CHF": 6.6700, "SGD": 4.9000, "AUD": 6.0900,
                "CAD": 6.3700, "MOP": 1.0300, "TWD": 0.2470, "KRW": 0.00723,
                "DEM": 10.2900 / 1.95583, "FRF": 10.2900 / 6.55957,
                "DKK": 10.2900 / 7.4399, "SEK": 10.2900 / 9.1243, "NOK": 10.2900 / 8.3697}
_UNITS = {unit: Decimal(wan) for unit, wan in (  # unit word -> 万
    ("元", "0.0001"), ("百", "0.01"), ("千", "0.1"), ("万", "1"), ("十万", "10"),
    ("百万", "100"), ("千万", "1000"), ("亿", "10000"), ("万亿", "100000000"))}
# 元 may come twice: 万元人民币元 is 万元元 once the currency word is taken out.
_AMOUNT_RE = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:E[+-]?\d+)?)"
                        r"(万亿|十万|百万|千万|万|千|百|亿)?(元{1,2})?")
_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                      r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?")
#: Cell starts a spreadsheet evaluates in a CSV file (formula injection: =HYPERLINK(…),
#: +cmd|…, @SUM(…)); every text export prefixes such a text with ``'``, which Excel
#: shows as plain text and :func:`formula_unsafe` takes off again on import.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def formula_safe(text: str) -> str:
    """The text, with a leading ``'`` when a spreadsheet would read it as a formula (a
    plain signed number such as -1 is left alone: it evaluates to itself)."""
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def formula_unsafe(text: str) -> str:
    """The text :func:`formula_safe` guarded, as it was (an import of our own export)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES) else text


class OutOfRange(ValueError):
    """A readable value outside what any firm can have (a typing or export error)."""


#: Range checks: no firm has registered capital above 10 万亿元 (the largest are about
#: 1 万亿) nor more than 10 million employees; larger values are typing or export errors
#: (and 2**31 employees overflows the store's INTEGER).
MAX_AMOUNT_WAN = Decimal("1E9")
MAX_EMPLOYEES = 10_000_000
_ACCOUNTING_NEGATIVE = re.compile(r"\s*[(（]\s*[\d.,]+\s*[)）]\s*")
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
    if not _USCC_BASE.fullmatch(base):
        raise ValueError(f"{base!r} is not 17 characters of the USCC alphabet")
    total = sum(_USCC_VALUE[c] * w for c, w in zip(base, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def normalise_uscc(value: object) -> str:
    """Return the canonical 18-character USCC of a cell, or raise ValueError saying why not."""
    code = _fold_code(value)
    if len(code) != 18:
        raise ValueError(f"unified social credit code {code!r} has {len(code)} characters, "
                         "expected 18")
    if bad := [c for c in code if c not in _USCC_VALUE]:
        raise ValueError(f"unified social credit code {code!r} contains {bad[0]!r} "
                         "(I, O, S, V and Z are never used)")
    if code[17] != (check := uscc_check_digit(code[:17])):
        raise ValueError(f"unified social credit code {code!r} has check digit {code[17]!r}, "
                         f"expected {check!r} (mistyped?)")
    return code


def _fold_code(value: object) -> str:
    """A code cell without whitespace, upper-cased, full-width characters folded (NFKC;
    ASCII text, nearly every cell, has none to fold)."""
    text = cell_str(value)
    return "".join((text if text.isascii() else unicodedata.normalize("NFKC", text)).split()
                   ).upper()


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
        if _ACCOUNTING_NEGATIVE.fullmatch(cell_str(value)):
            raise ValueError(f"amount {value!r} is negative (an accounting bracket)")
        text = re.sub(r"[\s,()\[\]【】]", "", unicodedata.normalize("NFKC", cell_str(value)))
        text, found = text.upper(), set()
        for token, code in CURRENCY_TOKENS:
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
    # Compare magnitudes before multiplying: 1E9999999 must not overflow the context.
    if number.adjusted() + unit.adjusted() > MAX_AMOUNT_WAN.adjusted() or (
            number * unit > MAX_AMOUNT_WAN):
        raise OutOfRange(f"amount {value!r} is larger than any firm's "
                         f"({MAX_AMOUNT_WAN:,.0f} 万 at most)")
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


def parse_date(value: object, *, allow_future: bool = False) -> dt.date:
    """Parse a date cell, "2015-03-02", "2015/3/2", "2015年3月2日", "20150302" or Excel serial.

    Raises ValueError for unreadable dates, dates before 1900-01-01 and (unless
    ``allow_future``: a planned date) future dates.
    """
    if isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        day = _date_from_number(float(value), cell_str(value))
    else:
        text = unicodedata.normalize("NFKC", cell_str(value)).strip()
        if match := _DATE_RE.fullmatch(text):
            day = _ymd(text, int(match[1]), int(match[2]), int(match[3]))
            if match[4] is not None and (int(match[4]) > 23 or int(match[5]) > 59
                                         or int(match[6] or 0) > 59):
                raise ValueError(f"date {text!r} has no such time of day")
        elif re.fullmatch(r"\d{8}", text):
            day = _ymd(text, int(text[:4]), int(text[4:6]), int(text[6:]))
        elif re.fullmatch(r"\d{4,5}(?:\.\d+)?", text):
            day = _date_from_number(float(text), text)
        else:
            raise ValueError(f"cannot read date {text!r} (expected e.g. 2015-03-02, 2015/3/2, "
                             "2015年3月2日 or 20150302)")
    if day < _MIN_DATE:
        raise ValueError(f"date {day.isoformat()} is before {_MIN_DATE.isoformat()}")
    if day > dt.date.today() and not allow_future:
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
    code = dict(CURRENCY_TOKENS).get(text, text if re.fullmatch(r"[A-Z]{3}", text) else None)
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
    if count > MAX_EMPLOYEES:
        raise OutOfRange(f"employee count {text!r} is larger than any firm's "
                         f"({MAX_EMPLOYEES:,} at most)")
    return count


# ------------------------------------------------------------- missing values, text, names

_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
# A space between Chinese characters (or a closing and an opening bracket) is noise.
_CJK_GAP = re.compile(f"(?<=[{_CJK})]) (?=[{_CJK}(])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_FOLDABLE = re.compile(r"[\s\u200b\ufeff]")
_NAME_EDGES = "\"“” "


def is_missing(value: object) -> bool:
    """Tell whether a cell holds no value: empty, or one of the :data:`MISSING` markers."""
    text = value if isinstance(value, str) else cell_str(value)
    return text.strip() in MISSING


def clean_text(text: str) -> str:
    """Fold whitespace (full-width spaces, newlines) to one space, and none between CJK."""
    if not _FOLDABLE.search(text):
        return text
    if "\u200b" in text or "\ufeff" in text:
        text = text.replace("\u200b", "").replace("\ufeff", "")
    text = " ".join(text.split())
    return _CJK_GAP.sub("", text) if " " in text else text


def text_value(value: object) -> str | None:
    """A text cell folded by :func:`clean_text`, or None when it is missing."""
    text = (value if isinstance(value, str) else cell_str(value)).strip()
    return None if text in MISSING else clean_text(text) or None


def clean_name(text: str) -> str:
    """A firm name as it is stored: :func:`clean_text`, control characters and the quotes
    around it dropped (``唐山市 丰南区 钢铁厂`` -> ``唐山市丰南区钢铁厂``)."""
    return _CONTROL.sub("", clean_text(text)).strip(_NAME_EDGES)


def garbled(cells: Sequence[str]) -> str | None:
    """Why a row's text is lost, or None: U+FFFD replacement marks (GBK text decoded as
    UTF-8 upstream, or pasted into a UTF-8 file) or NUL bytes in place of characters. The
    original cannot be recovered, so such a row is rejected rather than stored mangled."""
    if any("\ufffd" in cell for cell in cells):
        return ("text lost to a wrong decoding (U+FFFD marks: GBK text read as UTF-8); the "
                "original characters cannot be recovered")
    if any("\x00" in cell for cell in cells):
        return "text lost (NUL bytes in place of characters)"
    return None


def decode_mostly_utf8(data: bytes) -> str:
    """Decode UTF-8 in which a few lines carry another encoding's bytes (GBK text pasted
    into a UTF-8 file): those bytes become U+FFFD, so their rows are rejected as
    :func:`garbled` instead of read as invented characters.

    Raises UnicodeDecodeError when the first line or half the lines are not UTF-8: then
    the file as a whole is in another encoding.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        error = exc
    lines = data.split(b"\n")
    bad = 0
    for number, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            if number == 0:
                raise error from None
            bad += 1
    if bad * 2 >= len(lines):
        raise error
    return data.decode("utf-8", errors="replace")


def _not_table(file: str, data: bytes) -> None:
    """Fail fast on binary content instead of parsing megabytes of it as a header."""
    for magic, what in ((b"PK\x03\x04", "it is a zip archive (an .xlsx workbook? save it as "
                         ".xlsx)"), (b"\xd0\xcf\x11\xe0", "it is a legacy .xls workbook")):
        if data.startswith(magic):
            raise InputError.single(file, f"not a CSV/Excel file: {what}")
    nul = data.find(b"\x00", 0, 1 << 16)
    if nul >= 0 and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and (
            _binary(data[: 1 << 16].split(b"\n"), lambda line: b"\x00" in line)):
        raise InputError.single(file, f"not a CSV/Excel file: binary content (NUL byte at "
                                      f"offset {nul})")


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _binary(lines: Sequence[_L], damaged: Callable[[_L], bool]) -> bool:
    """Binary content rather than text with a damaged row or two (a registry file has a
    name of 1,411 NUL bytes): damaged lines more than two and more than 1 % of them."""
    hits = sum(1 for line in lines if damaged(line))
    return hits > max(2, len(lines) // 100)


def _decode_declared(file: str, data: bytes, encoding: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise InputError.single(file, f"unknown text encoding {encoding!r}") from None
    try:
        return data.decode("utf-8-sig" if codec == "utf-8" else codec).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = "; omit --encoding to detect the encoding automatically"
        try:
            data.decode("gb18030")
            hint = ("; it looks like GBK (GB18030): omit --encoding to detect it "
                    "automatically, or pass --encoding gbk")
        except UnicodeDecodeError:
            pass
        label = "UTF-8" if codec == "utf-8" else encoding
        raise InputError.single(file, f"the file is not valid {label} at byte offset "
                                      f"{exc.start} (line {line}){hint}", row=line) from None


def decode_table(file: str, data: bytes, encoding: str | None) -> tuple[str, str]:
    """Decode a CSV roster's bytes; return the text and the name of the encoding used.

    A BOM decides; else strict UTF-8, then UTF-8 with a few lines of another encoding
    (:func:`decode_mostly_utf8`), then GBK/GB18030, then charset-normalizer's guess.
    Binary content and undecodable text raise InputError.
    """
    _not_table(file, data)
    text, used = _decode_text(file, data, encoding)
    if _binary(text[: 1 << 16].split("\n"), lambda line: bool(_CONTROL_CHARS.search(line))):
        raise InputError.single(file, "not a CSV/Excel file: binary content (control characters)")
    return text, used


def _decode_text(file: str, data: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding:
        return _decode_declared(file, data, encoding), encoding.lower()
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return _decode_declared(file, data, codec), codec
    for codec in ("utf-8", "utf-8 (some lines damaged)", "gbk", "gb18030"):
        try:
            return (decode_mostly_utf8(data) if codec.startswith("utf-8 (") else
                    data.decode(codec)), codec
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    if (best := from_bytes(data[: 1 << 20]).best()) is not None:
        try:
            return data.decode(best.encoding), str(best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    raise InputError.single(file, "not a CSV/Excel file: cannot detect the text encoding "
                                  "(neither UTF-8 nor GBK); save it as CSV UTF-8")


# ------------------------------------------------------------------------------ capital

_UNIT_ONLY = re.compile(r"[万亿千百十元]*")


@dataclass(frozen=True)
class Capital:
    """A registered capital: ``amount`` in 万 of ``currency``, and its CNY figure in 万
    (:func:`cny_wan`; None for a currency without a rate)."""

    amount: float
    currency: str
    cny: float | None


def parse_capital(value: object, factor: Decimal = Decimal(1),
                  currency: str | None = None) -> Capital | None:
    """Read a registered capital in any shape (``300(万元人民币)``, ``18(万美元)``,
    ``4,180(万元)``, ``50（万元）``); None when it is missing, including a unit with no
    figure (``万人民币``). Bare numbers are in ``factor`` 万 of ``currency`` (default CNY).
    """
    if is_missing(value):
        return None
    try:
        amount, named = parse_amount(value, factor, currency)
    except ValueError:
        text = re.sub(r"[\s,()\[\]【】]", "", unicodedata.normalize("NFKC", cell_str(value)))
        for token, _ in CURRENCY_TOKENS:
            text = text.replace(token, "")
        if _UNIT_ONLY.fullmatch(text):
            return None
        raise
    code = named or "CNY"
    return Capital(float(amount), code, cny_wan(amount, code))


# -------------------------------------------------------------------------------- codes

# The first two digits of mainland division codes (GB/T 2260 provinces).
_PROVINCE_CODES = frozenset(str(n) for n in (*range(11, 16), *range(21, 24), *range(31, 38),
                                             *range(41, 47), *range(50, 55), *range(61, 66)))
# Registration certificates of foreign-invested firms before the registration number:
# 企合 (joint venture), 企外 / 企独 (foreign-owned), 企作 (co-operative) + authority + 字第 N.
_CERTIFICATE = re.compile(r"企[合外独作][\u4e00-\u9fff]{1,6}字第\d{1,8}号?")
_ORG_CODE = re.compile(r"[0-9A-Z]{8}-[0-9X]")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class FirmCode:
    """A code cell read: the firm's USCC, or the older registration number it carries."""

    uscc: str | None
    registration_no: str | None


class CodeError(ValueError):
    """A code cell that is no usable code. ``kind``: ``uscc_check`` (USCC-shaped, wrong
    check character), ``regno_check`` (15 digits, wrong check digit) or ``bad_code``."""

    def __init__(self, reason: str, kind: str, code: str) -> None:
        super().__init__(reason)
        self.kind, self.code = kind, code


def _regno_check_ok(digits: str) -> bool:
    """ISO 7064 MOD 11,10, the check digit of 15-digit registration numbers (GS15-2006)."""
    product = 10
    for ch in digits[:14]:
        product = ((product + int(ch)) % 10 or 10) * 2 % 11
    return (product + int(digits[14])) % 10 == 1


def _org_check(code: str) -> str:
    """The GB 11714 check character of an organization code's first eight characters."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w
                for c, w in zip(code[:8], _ORG_WEIGHTS, strict=True))
    return {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))


def parse_code(value: object) -> FirmCode:
    """Read a code cell: a USCC, or a registration number (see the module docstring).

    Raises :class:`CodeError` (a ValueError) saying why the code is no usable code.
    """
    text = _fold_code(value)
    if len(text) == 18:
        try:
            return FirmCode(normalise_uscc(text), None)
        except ValueError as exc:
            kind = "uscc_check" if re.fullmatch(r"[0-9A-Z]{18}", text) else "bad_code"
            raise CodeError(str(exc), kind, text) from None
    if re.fullmatch(r"\d{15}", text):
        if not _regno_check_ok(text):
            raise CodeError(f"registration number {text!r} fails its check digit (mistyped?)",
                            "regno_check", text)
        return FirmCode(None, text)
    if _ORG_CODE.fullmatch(text):
        if text[9] != (check := _org_check(text)):
            raise CodeError(f"organization code {text!r} has check character {text[9]!r}, "
                            f"expected {check!r} (mistyped?)", "bad_code", text)
        return FirmCode(None, text)
    if (re.fullmatch(r"\d{13}", text) and text[:2] in _PROVINCE_CODES) or (
            _CERTIFICATE.fullmatch(text)):
        return FirmCode(None, text)
    raise CodeError(f"unified social credit code {text!r} has {len(text)} characters, "
                    "expected 18 (nor is it a registration number: 15 digits, 13 digits "
                    "or 企…字第…号)", "bad_code", text)


# ------------------------------------------------------------------- provinces, firm kinds

_BRANCH = re.compile(r"(分公司|分支机构|分厂|分店|营业部|办事处)")
_PARENT = re.compile(r"^(.+?(?:有限责任公司|股份有限公司|有限公司|集团公司|公司|厂))"
                     r"(?=.*(?:分公司|分支机构|分厂|分店|营业部|办事处))")


def parse_province(value: object) -> str:
    """A province cell (河北, 河北省, 广西壮族自治区) as its short name; anything else —
    typically a capital or a scope where the fields are shifted — raises ValueError."""
    text = clean_text(cell_str(value))
    short = province_short(text)
    if short is None:
        raise ValueError(f"{text[:30]!r} is not a province (are the fields shifted?)")
    return short


def parent_name(name: str) -> str | None:
    """The parent firm a branch's name shows (``XX有限公司石家庄分公司`` -> ``XX有限公司``)."""
    match = _PARENT.match(name)
    return match.group(1) if match and match.group(1) != name else None


@dataclass(frozen=True)
class FirmKind:
    """What a firm's name, enterprise type and USCC say it is."""

    is_branch: bool
    parent_name: str | None
    is_individual: bool


def firm_kind(name: str, enterprise_type: str | None, uscc: str | None) -> FirmKind:
    """Branch (by its name, or a 分支/分公司 type; with the parent its name shows) and
    individual business (a 个体… type, or USCC registration class 92)."""
    kind = enterprise_type or ""
    branch = bool(_BRANCH.search(name)) or "分支" in kind or kind == "分公司"
    return FirmKind(branch, parent_name(name) if branch else None,
                    kind.startswith("个体") or (uscc or "").startswith("92"))
