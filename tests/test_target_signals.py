"""Target-list signals: filters, template links along the one direction model, risk."""

from __future__ import annotations

import pandas as pd
import pytest

from chainatlas.chains.direction import DOWNSTREAM, UPSTREAM, directions_from_edges
from chainatlas.errors import ParameterError
from chainatlas.recommend.filters import TargetFilters, as_sizes, size_band
from chainatlas.recommend.target_signals import apply_filters, template_partners, template_reason


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


# api -> tablets -> wholesale, with a parent "drugs" over api and tablets
PARENTS = {"drugs": None, "api": "drugs", "tablets": "drugs", "wholesale": None,
           "raw": None}
DIRECTIONS = directions_from_edges(PARENTS, [("raw", "api"), ("api", "tablets"),
                                             ("tablets", "wholesale")])


def _local(cls_api: str, cls_wholesale: str) -> dict[str, dict[str, object]]:
    return {"api": {"name_zh": "原料药", "class": cls_api,
                    "local_leaders": [{"short_name": "华北制药"}]},
            "wholesale": {"name_zh": "批发", "class": cls_wholesale, "local_leaders": []},
            "tablets": {"name_zh": "制剂", "class": "缺", "local_leaders": []}}


def test_template_links_follow_the_direction_model() -> None:
    links = template_partners({"F": ["tablets"], "G": ["raw"]}, _local("强", "弱"),
                              DIRECTIONS)
    by_node = {k["local_node"]: k for k in links["F"]}
    # 原料药 is upstream of 制剂 (the region supplies F); 批发 downstream (F supplies it)
    assert by_node["api"]["side"] == UPSTREAM and by_node["api"]["contribution"] == 0.6
    assert by_node["wholesale"]["side"] == DOWNSTREAM
    assert by_node["wholesale"]["contribution"] == 0.3  # a 弱 node counts half
    assert by_node["api"]["local_firms"] == ["华北制药"]
    assert [k["local_node"] for k in links["G"]] == ["api"]
    assert links["G"][0]["side"] == DOWNSTREAM
    names = {"tablets": "制剂", "raw": "原料"}
    assert "上游「原料药」为本地强项（华北制药）" in template_reason(by_node["api"], names)
    assert "可为下游「原料药」" in template_reason(links["G"][0], names)


def test_no_link_to_missing_nodes_and_one_per_local_node() -> None:
    assert template_partners({"F": ["tablets"]}, _local("缺", "缺"), DIRECTIONS) == {}
    # a firm on a node and on its parent reaches 批发 twice: one link
    links = template_partners({"F": ["tablets", "drugs"]}, _local("缺", "强"), DIRECTIONS)
    assert [k["local_node"] for k in links["F"]] == ["wholesale"]
