"""Finding the figures of a text: where each is, its normalised value and unit.

:func:`find_figures` scans for figure expressions (see :mod:`numbers` for what they are)
and returns each with its character span in the text: the number with its magnitude and
unit ("5%" in "增长5%左右", "1200万人" in "新增就业1200万人以上", "5%—6%", "翻一番",
"三年倍增"). Qualifiers (左右, 以上, 力争 …) are not part of the span; :mod:`targets` reads
them around it. What is not a figure: years and dates (2025年, 3月), ordinals (第三),
numbered names (十四五, 5G, PM2.5), and counts of abstract things ("三个方面").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from chainatlas.intake.numbers import (
    MAGNITUDE,
    MAGNITUDES,
    NUMBER,
    Figure,
    count,
    doubling,
    fold,
    money,
    number_value,
)

#: Currencies an amount is in (元 is the yuan).
CURRENCIES = ("美元", "欧元", "港元", "日元", "元")
#: Units of counts and measures, longest first so 平方公里 wins over 公里.
COUNT_UNITS = tuple(sorted((
    "个", "家", "项", "人", "人次", "户", "座", "所", "台", "辆", "件", "套", "批", "条",
    "种", "款", "名", "位", "处", "艘", "架", "列", "吨", "斤", "公斤", "千克", "公里",
    "千米", "米", "平方米", "平方公里", "亩", "公顷", "立方米", "千瓦", "千瓦时", "瓦",
    "吨标准煤", "标准箱", "张", "所", "床", "册", "片", "颗", "株", "头", "只", "GW", "MW",
    "GWh", "TEU", "个班次", "班", "期", "场", "场次", "栋", "间", "平方", "块", "支", "家次",
    "个工作日", "工作日", "天"),
    key=len, reverse=True))
_UNITS = "|".join(["个百分点", "百分点", "%", "‰", "倍", "成",
                   *[re.escape(c) for c in CURRENCIES], *COUNT_UNITS])
_SEP = r"[—–\-~～至到]"
_FIGURE = re.compile(
    rf"(?P<pct>百分之)?(?P<n1>{NUMBER})(?P<more1>多|余)?(?P<m1>{MAGNITUDE})?(?P<more2>多|余)?"
    rf"(?P<u1>{_UNITS})?"
    rf"(?:(?P<sep>{_SEP})(?:百分之)?(?P<n2>{NUMBER})(?P<m2>{MAGNITUDE})?)?"
    rf"(?P<unit>(?(u1)|(?:{_UNITS})?))"
)
_DOUBLING = re.compile(
    r"(?:(?<!\d)(?P<years>\d{1,2}|[一二两三四五六七八九十]{1,2})年(?:内|时间)?(?:实现)?)?"
    r"(?:(?:翻(?:了)?(?P<times>[一两二三])?番)|倍增)")
_NUMBERED_NAME = re.compile(r"[A-Za-z第]$")
#: What follows an amount that names a size class of projects or firms.
_THRESHOLD = re.compile(r"(?:级|以上|以下)?(?:的)?(?:重大|重点|龙头|规上|工业|科技型)?"
                        r"(?:项目|企业|产业集群|集群|园区)")
#: Units with which a small Chinese count names a list (三个方面, 八项规定, 两批).
_LIST_UNITS = ("个", "项", "批", "条", "种", "次", "大", "期")


@dataclass(frozen=True)
class Found:
    """A figure found in a text: its span, the text of the span and the figure."""

    start: int
    end: int
    text: str
    figure: Figure


def _unit_of(match: re.Match[str]) -> str | None:
    return match["u1"] or match["unit"] or ("%" if match["pct"] else None)


def _normalise(number: str, magnitude: str | None, unit: str) -> tuple[object, str]:
    value = number_value(number)
    if unit == "个百分点":
        unit = "百分点"
    if unit in CURRENCIES:
        return money(value, magnitude, unit)
    if unit == "成":  # 两成 is 20 %
        return value * 10, "%"
    if unit in ("%", "‰", "百分点", "倍"):
        return value * MAGNITUDES.get(magnitude or "", 1), unit
    return count(value, magnitude, unit)


def _figure(match: re.Match[str]) -> Figure | None:
    unit = _unit_of(match)
    if unit is None:
        return None
    # In "5—6%" the first number has no unit of its own: it takes the second's magnitude.
    low, low_unit = _normalise(match["n1"], match["m1"] or match["m2"], unit)
    if not match["n2"]:
        return Figure(low, low_unit)  # type: ignore[arg-type]
    high, _ = _normalise(match["n2"], match["m2"], unit)
    return Figure((low, high), low_unit)  # type: ignore[arg-type]


def _not_a_figure(text: str, match: re.Match[str]) -> bool:
    """Ordinals, numbered names and bare Chinese counts of abstract things."""
    before = text[max(0, match.start() - 1):match.start()]
    after = text[match.end():match.end() + 1]
    if _NUMBERED_NAME.search(before) or re.match(r"[A-Za-z]", after):
        return True
    if before.isdigit() or before == ".":
        return True  # inside a longer number the regex split (a date 2025.3.1)
    unit = _unit_of(match)
    if unit == "人" and after == "口":
        return True  # 近14亿人口的大国: a population as background, no result
    if _THRESHOLD.match(text, match.end()) and unit in CURRENCIES:
        return True  # 10亿元以上项目, 超百亿元企业: a size class, not a figure
    chinese = not re.search(r"\d", match["n1"])
    # "三个方面", "两个确保": a Chinese count of 个 names a list, not a figure.
    if not chinese or match["m1"] or unit not in _LIST_UNITS:
        return False
    small = number_value(match["n1"]) if match["n1"] != "一" else 1
    # 八项规定, 两批, 三个方面: a small Chinese count names a list, not a figure.
    return match["n1"] == "一" or small < (20 if unit == "个" else 10)


def _doublings(text: str) -> Iterator[Found]:
    for match in _DOUBLING.finditer(text):
        years = number_value(match["years"]) if match["years"] else None
        times = int(number_value(match["times"])) if match["times"] else 1
        start = match.start()
        yield Found(start, match.end(), text[start:match.end()],
                    doubling(int(years) if years else None, times))


def find_figures(text: str) -> list[Found]:
    """Every figure of ``text`` in order, with its span (offsets into ``text``)."""
    folded = fold(text)
    found: list[Found] = list(_doublings(folded))
    taken = [(f.start, f.end) for f in found]
    for match in _FIGURE.finditer(folded):
        if any(s < match.end() and match.start() < e for s, e in taken):
            continue
        try:
            if _not_a_figure(folded, match):
                continue
            figure = _figure(match)
        except ValueError:
            continue
        if figure is not None:
            found.append(Found(match.start(), match.end(), text[match.start():match.end()],
                               figure))
    return sorted(found, key=lambda f: f.start)
