"""Figures in policy text: numbers, magnitudes, units, ranges and doublings, normalised."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chainatlas.intake.figures import find_figures
from chainatlas.intake.numbers import doubling, fold, number_value


@pytest.mark.parametrize(("text", "value"), [
    ("1,200", "1200"), ("3.5", "3.5"), ("一千二百", "1200"), ("两千", "2000"),
    ("三点五", "3.5"), ("一百零五", "105"), ("１２", "12"), ("十", "10")])
def test_number_value(text: str, value: str) -> None:
    assert number_value(text) == Decimal(value)


def test_fold_keeps_offsets() -> None:
    text = "增长５％左右，１２００万人"
    assert len(fold(text)) == len(text) and fold(text).startswith("增长5%左右")
    assert fold(text).endswith("1200万人")


def _figures(text: str) -> list[tuple[str, object, str]]:
    return [(f.text, f.figure.as_json(), f.figure.unit) for f in find_figures(text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("国内生产总值增长5%左右", [("5%", 5.0, "%")]),
    ("城镇新增就业1200万人以上", [("1200万人", 1200.0, "万人")]),
    ("赤字规模5.66万亿元", [("5.66万亿元", 56600.0, "亿元")]),
    ("到位资金3000万元", [("3000万元", 0.3, "亿元")]),
    ("外汇储备超过3.2万亿美元", [("3.2万亿美元", 3.2, "万亿美元")]),
    ("比上年提高1个百分点", [("1个百分点", 1.0, "百分点")]),
    ("增速5—6%", [("5—6%", [5.0, 6.0], "%")]),
    ("增长百分之五到百分之六", [("百分之五到百分之六", [5.0, 6.0], "%")]),
    ("新增就业一千二百万人", [("一千二百万人", 1200.0, "万人")]),
    ("粮食产量1.4万亿斤左右", [("1.4万亿斤", 1.4, "万亿斤")]),
    ("6600多万纳税人受益", [("6600多万", None, None)][:0]),  # 多万 with no unit: none
    ("惠及1100多万人", [("1100多万人", 1100.0, "万人")]),
    ("签约项目48个、总投资215亿元", [("48个", 48.0, "个"), ("215亿元", 215.0, "亿元")]),
    ("营业收入实现三年倍增", [("三年倍增", 25.99, "%/年")]),
    ("经济总量翻一番", [("翻一番", 2.0, "倍")]),
    ("到2020年翻两番", [("翻两番", 4.0, "倍")]),
])
def test_figures(text: str, expected: list[tuple[str, object, str]]) -> None:
    assert _figures(text) == expected


@pytest.mark.parametrize("text", [
    "2025年3月5日", "“十四五”规划", "5G用户普及率", "PM2.5浓度", "三个方面", "八项规定",
    "第三批", "一批重大项目"])
def test_what_is_not_a_figure(text: str) -> None:
    assert [f for f in find_figures(text) if f.figure.unit != "%"] == []


def test_doubling_rate() -> None:
    assert doubling(3).value == Decimal("25.99") and doubling(3).unit == "%/年"
    assert doubling(None, 2).value == 4 and doubling(None).unit == "倍"


def test_spans_are_offsets_into_the_text() -> None:
    text = "今年发展主要预期目标是：国内生产总值增长５％左右；城镇新增就业１２００万人以上。"
    for found in find_figures(text):
        assert text[found.start:found.end] == found.text
