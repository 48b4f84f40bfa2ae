"""What an analyst narrows a 招商清单 to: the filters of :func:`~chainatlas.recommend.firms.
rank_firms`, shared by the CLI, the API and the web page.

The node filter is ``rank_firms``' own ``node_id`` (the node and its subtree); the rest
live here. Filters are frozen and hashable, so the web cache keys on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from chainatlas.errors import ParameterError

#: Size bands (规模) by employees, after the employee limits of 统计上大中小微型企业划分办法
#: (2017) for industry: 大型 ≥ 1,000, 中型 300–999, 小型 and below < 300. A firm without an
#: employee count (registry firms) is banded by registered capital (万元) instead, a proxy
#: the output names: ≥ 5,000 万元 大型, 500–5,000 中型, below 小型.
SIZE_BANDS: dict[str, str] = {"large": "大型", "medium": "中型", "small": "小型"}
EMPLOYEE_LIMITS = (1000, 300)
CAPITAL_LIMITS_WAN = (5000.0, 500.0)
LISTED_CHOICES: dict[str, str] = {"listed": "上市企业", "unlisted": "非上市企业"}


def size_band(employees: float | None, capital_wan: float | None) -> tuple[str | None, str]:
    """(band, basis): the size band of a firm and what it rests on ('employees',
    'capital' or 'none' when neither figure is known, band None)."""
    if employees is not None and employees == employees and employees > 0:
        big, mid = EMPLOYEE_LIMITS
        return ("large" if employees >= big else "medium" if employees >= mid
                else "small"), "employees"
    if capital_wan is not None and capital_wan == capital_wan and capital_wan > 0:
        big_c, mid_c = CAPITAL_LIMITS_WAN
        return ("large" if capital_wan >= big_c else "medium" if capital_wan >= mid_c
                else "small"), "capital"
    return None, "none"


@dataclass(frozen=True)
class TargetFilters:
    """Filters of a target list. Province values are adcodes (resolve names first with
    :func:`~chainatlas.store.lookup.region_from_text`)."""

    #: keep only firms in these provinces (empty: all)
    provinces: tuple[str, ...] = ()
    #: drop firms in these provinces
    exclude_provinces: tuple[str, ...] = ()
    #: keep only firms outside the region's own province
    outside_province: bool = False
    #: keep only these size bands (keys of SIZE_BANDS; empty: all)
    sizes: tuple[str, ...] = ()
    #: 'listed', 'unlisted' or None for both
    listed: str | None = None
    #: drop risk-flagged firms (ST, *ST, delisting; see analysis.risk); on by default
    exclude_risk: bool = True
    #: the filters as the user gave them, for the output's description (not compared)
    labels: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        bad = [s for s in self.sizes if s not in SIZE_BANDS]
        if bad:
            raise ParameterError(f"Unknown size band {bad[0]!r}: use one of "
                             f"{', '.join(SIZE_BANDS)} ({'、'.join(SIZE_BANDS.values())}).")
        if self.listed is not None and self.listed not in LISTED_CHOICES:
            raise ParameterError(f"Unknown listed filter {self.listed!r}: use one of "
                             f"{', '.join(LISTED_CHOICES)}.")
        overlap = set(self.provinces) & set(self.exclude_provinces)
        if overlap:
            raise ParameterError(f"Province {sorted(overlap)[0]} is both included and excluded.")

    def describe_zh(self) -> str:
        """The active filters in a short Chinese phrase (empty when none narrows)."""
        parts = []
        if self.provinces:
            parts.append("限" + self.labels.get("provinces", "、".join(self.provinces)))
        if self.exclude_provinces:
            parts.append("排除" + self.labels.get("exclude_provinces",
                                                 "、".join(self.exclude_provinces)))
        if self.outside_province:
            parts.append("仅省外")
        if self.sizes:
            parts.append("规模：" + "、".join(SIZE_BANDS[s] for s in self.sizes))
        if self.listed:
            parts.append(LISTED_CHOICES[self.listed])
        parts.append("已排除风险警示企业" if self.exclude_risk else "含风险警示企业")
        return "；".join(parts)


def as_sizes(values: Iterable[str]) -> tuple[str, ...]:
    """Size bands from user text: large/medium/small or 大型/中型/小型, comma-separated
    allowed."""
    by_zh = {v: k for k, v in SIZE_BANDS.items()}
    out: list[str] = []
    for value in values:
        for part in str(value).replace("，", ",").split(","):
            text = part.strip()
            if text:
                out.append(by_zh.get(text, text))
    return tuple(dict.fromkeys(out))
