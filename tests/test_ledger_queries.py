"""Reading the ledger: filters, headline KPIs and breakdowns per stage, chain, park."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chainatlas.errors import ParameterError
from chainatlas.projects import ledger
from chainatlas.projects.queries import (
    ProjectFilters,
    ledger_breakdown,
    ledger_kpis,
    projects_frame,
)
from chainatlas.store import Database


def _ledger(db: Database) -> None:
    rows = [("疫苗项目", "鹿泉区", "鹿泉经济开发区", "biomedicine", "1亿元", "signed"),
            ("抗体项目", "鹿泉区", None, "biomedicine", "5000", "lead"),
            ("芯片项目", "桥西区", "高新区", "electronics", "2亿元", "started"),
            ("终止项目", "桥西区", "高新区", "electronics", "9亿元", "lead")]
    for name, region, park, chain, agreed, stage in rows:
        ledger.create_project(db, {"name": name, "region_adcode": region, "park": park,
                                   "chain_id": chain, "agreed_wan": agreed,
                                   "in_place_wan": "1000"},
                              actor="cli:t", stage=stage)
    ledger.end_project(db, 4, actor="cli:t", expected_version=1, reason="企业放弃")


def test_kpis_count_open_projects(mini_db: Database) -> None:
    _ledger(mini_db)
    kpis = ledger_kpis(mini_db)
    assert kpis["projects"] == 3
    assert kpis["agreed_wan"] == Decimal("35000")
    assert kpis["signed_or_later"] == 2 and kpis["signed_wan"] == Decimal("30000")
    assert kpis["in_place_wan"] == Decimal("3000") and kpis["started"] == 1
    assert ledger_kpis(mini_db, ProjectFilters(region="130110"))["projects"] == 2
    assert ledger_kpis(mini_db, ProjectFilters(include_ended=True))["projects"] == 4


def test_breakdowns(mini_db: Database) -> None:
    _ledger(mini_db)
    by_stage = ledger_breakdown(mini_db, "stage")
    assert list(by_stage["label"]) == ["线索", "签约", "开工"]  # stage order, not by count
    by_chain = ledger_breakdown(mini_db, "chain").set_index("key")
    assert by_chain.loc["biomedicine", "projects"] == 2
    assert by_chain.loc["biomedicine", "label"] == "生物医药"
    by_park = ledger_breakdown(mini_db, "park")
    assert set(by_park["label"]) == {"鹿泉经济开发区", "高新区", "未填园区"}
    with pytest.raises(ParameterError, match="break the ledger down"):
        ledger_breakdown(mini_db, "owner")


def test_filters(mini_db: Database) -> None:
    _ledger(mini_db)
    assert list(projects_frame(mini_db, ProjectFilters(search="芯片"))["name"]) == ["芯片项目"]
    assert list(projects_frame(mini_db, ProjectFilters(stage="签约"))["name"]) == ["疫苗项目"]
    frame = projects_frame(mini_db, ProjectFilters(chain_id="biomedicine", region="130100"))
    assert set(frame["region_name"]) == {"鹿泉区"} and len(frame) == 2
    with pytest.raises(ParameterError, match="region code"):
        projects_frame(mini_db, ProjectFilters(region="鹿泉区"))
