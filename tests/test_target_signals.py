"""Target-list signals (recommend.target_signals): filters and size bands, risk."""

from __future__ import annotations

import pandas as pd
import pytest

from chainatlas.errors import ParameterError
from chainatlas.recommend.filters import TargetFilters, as_sizes, size_band
from chainatlas.recommend.target_signals import apply_filters, drop_risky


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "company_id": ["BIG", "MID", "REG", "NONE"],
        "province_adcode": ["110000", "130000", "320000", "320000"],
        "origin": ["listed", "listed", "registry", "registry"],
        "employees": [5000.0, 400.0, None, None],
        "registered_capital": [1e6, 10.0, 800.0, None]})


def test_size_bands_by_employees_then_capital() -> None:
    assert size_band(1000, None) == ("large", "employees")
    assert size_band(999, 1e9) == ("medium", "employees")  # headcount wins over capital
    assert size_band(None, 5000.0) == ("large", "capital")
    assert size_band(None, 499.0) == ("small", "capital")
    assert size_band(None, None) == (None, "none")
    assert as_sizes(["大型，medium", "large"]) == ("large", "medium")


@pytest.mark.parametrize(("filters", "kept"), [
    (TargetFilters(), ["BIG", "MID", "REG", "NONE"]),
    (TargetFilters(provinces=("320000",)), ["REG", "NONE"]),
    (TargetFilters(exclude_provinces=("110000",)), ["MID", "REG", "NONE"]),
    (TargetFilters(outside_province=True), ["BIG", "REG", "NONE"]),
    (TargetFilters(sizes=("medium",)), ["MID", "REG"]),
    (TargetFilters(listed="listed"), ["BIG", "MID"]),
    (TargetFilters(listed="unlisted"), ["REG", "NONE"]),
])
def test_each_filter_keeps_what_it_says(filters: TargetFilters, kept: list[str]) -> None:
    out = apply_filters(_frame(), filters, province="130000")
    assert list(out["company_id"]) == kept
    assert "size_band" in out and "size_basis" in out


def test_bad_filters_are_refused_with_the_allowed_values() -> None:
    with pytest.raises(ParameterError, match="large, medium, small"):
        TargetFilters(sizes=("huge",))
    with pytest.raises(ParameterError, match="both included and excluded"):
        TargetFilters(provinces=("110000",), exclude_provinces=("110000",))
    with pytest.raises(ParameterError, match="listed"):
        TargetFilters(listed="maybe")
    assert "仅省外" in TargetFilters(outside_province=True).describe_zh()
    assert TargetFilters(exclude_risk=False).describe_zh() == "含风险警示企业"


def test_size_bands_of_listed_firms_never_rest_on_their_share_count() -> None:
    frame = _frame().assign(employees=[None, 400.0, None, None])
    out = apply_filters(frame, TargetFilters(), province="130000")
    # BIG is listed without a headcount: its capital is a share count, so no band
    assert list(out["size_band"]) == [None, "medium", "medium", None]
    assert list(out["size_basis"]) == ["none", "employees", "capital", "none"]


def test_risky_firms_are_dropped_only_while_excluded() -> None:
    frame = pd.DataFrame({"company_id": ["OK", "ST", "GONE"],
                          "flags": [[], ["ST"], ["gone_2025"]]})
    assert list(drop_risky(frame, True)["company_id"]) == ["OK"]
    assert list(drop_risky(frame, False)["company_id"]) == ["OK", "ST", "GONE"]
