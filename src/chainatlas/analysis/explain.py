"""One shape for "why this score": each component's value, weight, points and raw figure.

Leaders, target firms and nodes all explain their score through :func:`explain`, so the
CLI tables, the API, the web cards and the Excel reasons sheets render one structure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def explain(values: Mapping[str, float], weights: Mapping[str, float],
            labels_zh: Mapping[str, str], raw_zh: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per weighted component, in ``weights`` order: component, label_zh,
    value (in [0, 1]), weight, points (weight × value, the part of the score it makes)
    and raw_zh (the figure behind the value, in Chinese, "" when there is none). Pure."""
    return [{"component": key, "label_zh": labels_zh.get(key, key),
             "value": round(float(values[key]), 4), "weight": weight,
             "points": round(weight * float(values[key]), 4),
             "raw_zh": raw_zh.get(key, "")} for key, weight in weights.items()]


def explain_zh(rows: list[dict[str, Any]]) -> str:
    """The rows as one line of text (CLI cells, Excel): 规模 0.82×0.70（员工 1.2 万人）…"""
    return "；".join(
        f"{r['label_zh']} {r['value']:.2f}×{r['weight']:.2f}"
        + (f"（{r['raw_zh']}）" if r["raw_zh"] else "") for r in rows)
