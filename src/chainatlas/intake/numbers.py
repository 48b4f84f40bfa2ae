"""Figures in Chinese policy text: numbers, magnitudes and units, normalised.

A figure is a number (Arabic "1,200", "3.5", full-width "５"; Chinese "一千二百", "三点五",
"百分之五"), a magnitude (千, 万, 百万, 千万, 亿, 万亿), and a unit. It is normalised so that
figures compare whatever way the text wrote them:

* money in yuan to 亿元 (5.66万亿元 → 56600 亿元, 3000万元 → 0.3 亿元); a foreign currency
  keeps its magnitude (3.2万亿美元 → 3.2 万亿美元);
* a share to "%" (百分之五 → 5 %), a change of a share to "百分点";
* counts keep their unit with its magnitude (1200万人 → 1200 万人, 48个 → 48 个);
* a multiple to "倍"; 翻一番 (doubling) and 倍增 to a growth rate when a number of years
  is given (三年倍增 → 25.99 "%/年"), else to 2 "倍" (翻两番 → 4 "倍");
* a range "5%—6%", "5-6%", "三至五个" to (low, high).

Chinese numerals are read by cn2an (a maintained package with no model download).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import cn2an

#: Chinese numeral characters (digits, units within a number, the decimal point).
CN_DIGITS = "零〇一二两三四五六七八九十百千"
_CN = f"[{CN_DIGITS}]+(?:点[零〇一二三四五六七八九]+)?"
_AR = r"\d+(?:,\d{3})*(?:\.\d+)?"
#: A number, Arabic or Chinese.
NUMBER = f"(?:{_AR}|{_CN})"
#: Magnitudes, longest first (万亿 before 万 and 亿).
MAGNITUDES = {"万亿": Decimal(10) ** 12, "千亿": Decimal(10) ** 11, "百亿": Decimal(10) ** 10,
              "亿": Decimal(10) ** 8, "千万": Decimal(10) ** 7, "百万": Decimal(10) ** 6,
              "万": Decimal(10) ** 4, "千": Decimal(10) ** 3}
MAGNITUDE = "(?:" + "|".join(MAGNITUDES) + ")"
_YI = Decimal(10) ** 8
_PLACES = Decimal("0.0001")


def fold(text: str) -> str:
    """Full-width digits, letters and signs folded to ASCII (NFKC), nothing else moved:
    the folded text keeps every character offset of the original."""
    return "".join(unicodedata.normalize("NFKC", ch) if len(unicodedata.normalize(
        "NFKC", ch)) == 1 else ch for ch in text)


def number_value(text: str) -> Decimal:
    """The value of a number written in Arabic or Chinese digits ("1,200", "一千二百")."""
    token = fold(text).replace(",", "").strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return Decimal(token)
    if token in ("百", "千"):  # a bare 百/千 is one hundred / thousand (百余家)
        return Decimal(100 if token == "百" else 1000)
    with warnings.catch_warnings():  # cn2an warns before it raises on bad input
        warnings.simplefilter("ignore")
        try:
            value = cn2an.cn2an(token, "smart")
        except (ValueError, KeyError) as exc:
            raise ValueError(f"not a number: {text!r}") from exc
    return Decimal(str(value))


@dataclass(frozen=True)
class Figure:
    """A normalised figure: its value (or range), unit and how it was written."""

    value: Decimal | tuple[Decimal, Decimal]
    unit: str

    def as_json(self) -> float | list[float]:
        """The value as JSON numbers (a range as [low, high])."""
        if isinstance(self.value, tuple):
            return [float(self.value[0]), float(self.value[1])]
        return float(self.value)


def _round(value: Decimal) -> Decimal:
    return value.quantize(_PLACES, rounding=ROUND_HALF_UP).normalize()


def money(value: Decimal, magnitude: str | None, currency: str) -> tuple[Decimal, str]:
    """A yuan amount to 亿元; a foreign one keeps its magnitude (3.2万亿美元 stays so)."""
    if currency != "元":
        return _round(value), f"{magnitude or ''}{currency}"
    # Exact: a per-capita 17175元 is 0.00017175 亿元, not rounded away.
    scaled = value * MAGNITUDES.get(magnitude or "", Decimal(1)) / _YI
    return scaled.normalize(), f"亿{currency}"


def count(value: Decimal, magnitude: str | None, unit: str) -> tuple[Decimal, str]:
    """A count keeps its unit; 万 and 亿 stay in the unit (1200万人), smaller magnitudes
    are multiplied out (3千家 → 3000 家)."""
    if magnitude in ("万", "亿", "万亿"):
        return _round(value), f"{magnitude}{unit}"
    if magnitude:
        return _round(value * MAGNITUDES[magnitude]), unit
    return _round(value), unit


def doubling(years: int | None, times: int = 1) -> Figure:
    """翻一番 (``times`` doublings) over ``years``: an annual growth rate, or a multiple."""
    factor = Decimal(2) ** times
    if not years:
        return Figure(factor, "倍")
    rate = (float(factor) ** (1.0 / years) - 1.0) * 100
    return Figure(Decimal(str(round(rate, 2))), "%/年")
