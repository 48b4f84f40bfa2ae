"""The one shape of score explanations (analysis.explain)."""

from __future__ import annotations

import pytest

from chainatlas.analysis.explain import explain, explain_zh


def test_rows_follow_the_weights_and_sum_to_the_score() -> None:
    rows = explain({"a": 0.5, "b": 1.0, "unused": 0.3}, {"b": 0.25, "a": 0.75},
                   {"a": "规模", "b": "广度"}, {"a": "员工 1,200 人"})
    assert [r["component"] for r in rows] == ["b", "a"]
    assert sum(r["points"] for r in rows) == pytest.approx(0.25 + 0.375)
    assert rows[1] == {"component": "a", "label_zh": "规模", "value": 0.5, "weight": 0.75,
                       "points": 0.375, "raw_zh": "员工 1,200 人"}
    assert explain_zh(rows) == "广度 1.00×0.25；规模 0.50×0.75（员工 1,200 人）"


def test_a_missing_value_is_an_error_not_a_silent_zero() -> None:
    with pytest.raises(KeyError):
        explain({}, {"a": 1.0}, {}, {})
