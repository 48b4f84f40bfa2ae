"""ECharts option and display rows of the 全国分布 page (pure functions).

The page shows a node's cities in an imported batch-pipeline run (national scale): a bar
per city, most firms first, the analyst's own region in the accent colour, and a table
with each city's share of the node's firms, its location quotient and, for a leaf node,
its relatedness density. Tooltips are escaped HTML in each data item's ``tip``, as in
:mod:`chainatlas.web.charts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chainatlas.web.charts import ACCENT, FONT, PRIMARY, TIP_FORMATTER, esc

#: Bars drawn; the table lists every city read.
CHART_CITIES = 20
BAR_HEIGHT = 24
CHART_PAD = 70


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def city_label(row: Mapping[str, Any]) -> str:
    """A city's name, or its adcode where the store has no region of that code."""
    name = row.get("city_name")
    return str(name) if name else str(row.get("city_adcode", ""))


def lq_zh(value: Any) -> str:
    """An LQ to two places, — when missing."""
    number = _number(value)
    return "—" if number is None else f"{number:.2f}"


def _tip(row: Mapping[str, Any]) -> str:
    share = _number(row.get("share"))
    lines = [f"<b>{esc(city_label(row))}</b>",
             f"企业 {int(row.get('firms') or 0):,} 家"
             + ("" if share is None else f"，占全国 {100 * share:.1f}%"),
             f"区位熵 LQ {lq_zh(row.get('lq'))}"]
    density = _number(row.get("density"))
    if density is not None:
        lines.append(f"关联密度 {density:.3f}")
    return "<br>".join(lines)


def in_region(row: Mapping[str, Any], prefix: str | None) -> bool:
    """Whether the row's city lies in the analyst's region (adcode prefix)."""
    return bool(prefix) and str(row.get("city_adcode", "")).startswith(str(prefix))


def cities_option(rows: Sequence[Mapping[str, Any]], prefix: str | None = None,
                  title: str = "") -> dict[str, Any]:
    """Horizontal bars of the first :data:`CHART_CITIES` cities (rows come most firms
    first), top to bottom; cities of the region ``prefix`` in the accent colour."""
    shown = list(rows[:CHART_CITIES])[::-1]  # ECharts draws a category axis bottom-up
    data = [{"value": int(r.get("firms") or 0), "tip": _tip(r),
             "itemStyle": {"color": ACCENT if in_region(r, prefix) else PRIMARY}}
            for r in shown]
    return {
        "textStyle": {"fontFamily": FONT}, "animationDuration": 400,
        "title": {"text": title, "left": 0, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "item", "confine": True, ":formatter": TIP_FORMATTER},
        "grid": {"left": 8, "right": 56, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "name": "企业数", "minInterval": 1},
        "yAxis": {"type": "category", "data": [city_label(r) for r in shown]},
        "series": [{"type": "bar", "data": data, "barMaxWidth": 18,
                    "label": {"show": True, "position": "right"}}],
    }


def chart_height(rows: Sequence[Mapping[str, Any]]) -> int:
    """Pixels for the bars of ``rows``."""
    return CHART_PAD + BAR_HEIGHT * max(1, min(len(rows), CHART_CITIES))


def city_rows(rows: Sequence[Mapping[str, Any]], prefix: str | None = None
              ) -> list[dict[str, Any]]:
    """Table rows: rank, city, firms, share, LQ, density, and whether it is the region's."""
    out = []
    for rank, r in enumerate(rows, start=1):
        share, density = _number(r.get("share")), _number(r.get("density"))
        out.append({"key": str(r.get("city_adcode")), "rank": rank, "city": city_label(r),
                    "adcode": str(r.get("city_adcode")),
                    "firms": f"{int(r.get('firms') or 0):,}",
                    "share": "—" if share is None else f"{100 * share:.1f}%",
                    "lq": lq_zh(r.get("lq")),
                    "density": "—" if density is None else f"{density:.3f}",
                    "mine": "本地区" if in_region(r, prefix) else ""})
    return out


def run_label(run: Mapping[str, Any]) -> str:
    """A run as the picker names it: 第N批 · date · firms."""
    when = str(run.get("imported_at", ""))[:10]
    return (f"第{run['run_id']}批 · {when} · {int(run.get('firms') or 0):,} 家企业"
            f"（落位 {int(run.get('placed') or 0):,}）")
