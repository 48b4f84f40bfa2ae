"""The 目标监测 page's forms (新增目标, 录入月度数据) and their pure pieces, driven by
NiceGUI's simulated user on the web store of tests/test_web_pages.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from nicegui.testing import User

from chainatlas.errors import ParameterError
from chainatlas.projects import targets
from chainatlas.store import Database
from chainatlas.store.lookup import as_chain, as_region
from chainatlas.web.pages.layout import Selection
from chainatlas.web.pages.target_forms import NO_CHAIN, target_fields, year_of
from chainatlas.web.state import request_db
from tests import test_web_pages as pages
from tests.test_web_pages import ANALYST, _one, eventually, sign_in

web_store, user, nicegui_storage = pages.web_store, pages.user, pages.nicegui_storage

pytestmark = pytest.mark.usefixtures("keep_modules")
anyio = pytest.mark.anyio
YEAR = dt.date.today().year


@pytest.fixture(scope="module")
def seeded(web_store: Path) -> Path:
    """The web store plus one target of 石家庄市."""
    with Database(web_store) as db:
        targets.add_target(db, name="生物医药营收", indicator="revenue", region="130100",
                           base_year=YEAR - 1, base_value=100, target_value=200,
                           period_start=dt.date(YEAR, 1, 1), period_end=dt.date(YEAR, 12, 31),
                           actor="test")
    return web_store


@pytest.fixture
def served_store(seeded: Path) -> Path:
    """What the ``user`` fixture's app serves."""
    return seeded


def _selection(path: Path) -> Selection:
    with Database(path, read_only=True) as db:
        return Selection(region=as_region(db, "130100"), chain=as_chain(db, "biomedicine"),
                         chains={})


def test_year_of() -> None:
    assert year_of(" 2025 ", "base_year") == 2025
    for bad in ("", None, "25", "二〇二五", "2025.5"):
        with pytest.raises(ParameterError, match="base_year"):
            year_of(bad, "base_year")


def test_target_fields_defaults_and_blanks(seeded: Path) -> None:
    selection = _selection(seeded)
    fields = target_fields({"name": " 营收 ", "indicator": "revenue", "chain": NO_CHAIN,
                            "base_year": "2025", "base_value": "", "target_value": "300",
                            "unit": " ", "period_start": "", "period_end": None}, selection)
    assert fields == {"name": "营收", "indicator": "revenue", "region": "130100",
                      "chain": None, "node": None, "unit": None, "base_year": 2025,
                      "base_value": None, "target_value": "300",
                      "period_start": dt.date(2026, 1, 1), "period_end": dt.date(2026, 12, 31),
                      "source": None}
    chosen = target_fields({"base_year": "2025", "chain": "biomedicine",
                            "period_start": "2026-03-01", "period_end": "2028-12-31"},
                           selection)
    assert (chosen["chain"], chosen["period_start"], chosen["period_end"]) == \
        ("biomedicine", "2026-03-01", "2028-12-31")


@anyio
async def test_a_viewer_sees_no_forms(user: User) -> None:
    await user.open("/targets")
    await user.should_see("完成进度与时序进度")
    await user.should_see(marker="targets-sign-in")
    await user.should_not_see(marker="target-form")


@anyio
async def test_an_analyst_adds_a_target_and_records_a_month(user: User) -> None:
    await sign_in(user)
    await user.open("/targets")
    await user.should_see(marker="target-form")
    user.find(marker="target-name").type("集成电路营收三年倍增")
    with user:
        _one(user, "target-chain").value = "biomedicine"
    user.find(marker="target-base_year").type(str(YEAR - 1))
    user.find(marker="target-base_value").type("50")
    user.find(marker="target-target_value").type("abc")
    user.find(marker="target-submit").click()
    await user.should_see("未保存：target_value", retries=50)  # the field is named
    user.find(marker="target-target_value").clear().type("100")
    user.find(marker="target-submit").click()
    await user.should_see("已新增目标「集成电路营收三年倍增」", retries=50)
    await eventually(lambda: "集成电路营收三年倍增" in
                     _one(user, "progress-chart").options["yAxis"]["data"])
    with request_db() as db:
        [made] = db.rows("SELECT * FROM targets WHERE name = '集成电路营收三年倍增'")
    assert (made["chain_id"], made["target_value"], made["period_end"]) == \
        ("biomedicine", Decimal(100), dt.date(YEAR, 12, 31))
    with user:
        _one(user, "snapshot-target").value = int(made["target_id"])
    user.find(marker="snapshot-month").type(f"{YEAR}-01")
    user.find(marker="snapshot-value").type("60")
    user.find(marker="snapshot-submit").click()
    await user.should_see("月度数据已录入", retries=50)
    with request_db() as db:
        [snap] = db.rows("SELECT * FROM target_snapshots WHERE target_id = ?",
                         [made["target_id"]])
        actors = {r["actor"] for r in db.rows(
            "SELECT actor FROM audit_log WHERE action IN ('target.add', 'target.snapshot') "
            "AND actor = ?", [ANALYST])}
    assert (snap["month"], snap["value"]) == (dt.date(YEAR, 1, 1), Decimal(60))
    assert actors == {ANALYST}
