"""The 韧性分析 page (/resilience), driven by NiceGUI's simulated user on the web store of
tests/test_web_pages.py (biomedicine: 华北制药 on 化学原料药 and 以岭药业 in 石家庄, a firm
named <script> on 化学原料药 in 武汉)."""

from __future__ import annotations

from typing import Any

import pytest
from nicegui.testing import User

from chainatlas.web.pages.resilience import removal_texts, xlsx_url
from tests import test_web_pages as pages
from tests.helpers import XSS
from tests.test_web_pages import _one, eventually

# The page tests' fixtures: the web store, the app serving it, the simulated user.
web_store, served_store, user = pages.web_store, pages.served_store, pages.user
nicegui_storage = pages.nicegui_storage

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("keep_modules")]


def _boxes(user: User) -> dict[str, dict[str, Any]]:
    chart = _one(user, "resilience-graph")
    return {d["id"]: d for d in chart.options["series"][0]["data"] if "status" in d}


def _has(user: User, marker: str) -> bool:
    try:
        return bool(user.find(marker=marker).elements)
    except AssertionError:
        return False


def test_urls_and_removal_texts() -> None:
    assert xlsx_url("biomedicine", "130100", "node", 0.5, "listed") == (
        "/api/v1/resilience/xlsx?chain=biomedicine&region=130100&level=node&theta=0.5"
        "&universe=listed")
    assert removal_texts(["600812.SH"], ["310000"]) == ("firm:600812.SH", "region:310000")
    assert "remove=firm%3A600812.SH&remove=region%3A310000" in xlsx_url(
        "biomedicine", "130100", "node", 1.0, "all", removal_texts(["600812.SH"], ["310000"]))


async def test_page_graph_tables_limits_and_download(user: User) -> None:
    await user.open("/resilience")
    await user.should_see("产业链韧性图谱")
    boxes = _boxes(user)
    assert boxes["bm_api"]["status"] == "spof"  # 华北制药 alone in 石家庄
    assert "华北制药" in boxes["bm_api"]["tip"]
    assert all(XSS not in b["tip"] for b in boxes.values())
    rows = {r["unit_id"]: r for r in _one(user, "units-table").rows}
    assert rows["bm_api"]["status"] == "单点风险" and rows["bm_api"]["sole"] == "华北制药"
    assert "华北制药" in {r["sole"] for r in _one(user, "spof-table").rows}
    assert user.find(marker="limits").elements  # what the data can and cannot show
    await user.should_see("供应关系不带权重", marker="limits")
    assert _one(user, "resilience-xlsx").props["href"] == xlsx_url(
        "biomedicine", "130100", "node", 0.5, "listed")
    await user.should_see(marker="theta-chart")


async def test_whatif_recolours_the_graph(user: User) -> None:
    await user.open("/resilience")
    await user.should_see("产业链韧性图谱")
    firms = _one(user, "whatif-firms")
    with user:
        # 鼎龙股份 makes toner: no biomedicine production node holds it
        firms.set_options({"600812.SH": "华北制药", "300054.SZ": "鼎龙股份"},
                          value=["600812.SH", "300054.SZ"])
    user.find(marker="whatif-run").click()
    await eventually(lambda: _has(user, "whatif-table"))
    assert _boxes(user)["bm_api"]["status"] == "lost_local"  # the 武汉 firm still makes it
    table = _one(user, "whatif-table")
    assert any("化学原料药" in r["names"] for r in table.rows)
    assert "remove=firm%3A600812.SH" in _one(user, "resilience-xlsx").props["href"]
    await user.should_see("移除 华北制药、鼎龙股份")
    await user.should_see("不在本链网络中（移除不影响结果）：鼎龙股份")
    user.find(marker="whatif-clear").click()
    await eventually(lambda: not _has(user, "whatif-table"))
    assert _boxes(user)["bm_api"]["status"] == "spof"


async def test_theta_and_level(user: User) -> None:
    await user.open("/resilience")
    await user.should_see("产业链韧性图谱")
    with user:
        _one(user, "res-theta").value = 1.0
    await eventually(lambda: "theta=1&" in _one(user, "resilience-xlsx").props["href"])
    with user:
        _one(user, "res-level").value = "product"
    await eventually(lambda: "level=product" in _one(user, "resilience-xlsx").props["href"])
    await eventually(lambda: not _has(user, "resilience-graph"))
    await user.should_see("产品级网络没有模板阶段")
    names = {r["name"] for r in _one(user, "units-table").rows}
    assert "原料药" in names  # 华北制药's product, made in 石家庄


async def test_removing_a_region_and_the_curves(user: User) -> None:
    await user.open("/resilience")
    await user.should_see("产业链韧性图谱")
    regions = _one(user, "whatif-regions")
    assert regions.options["130000"] == "河北省"  # provinces are offered at once
    with user:
        regions.value = ["130000"]
    user.find(marker="whatif-run").click()
    await eventually(lambda: _has(user, "whatif-table"))
    assert _boxes(user)["bm_api"]["status"] == "lost_local"  # every 河北 firm is gone
    await user.should_see("移除 河北省全部企业")
    user.find(marker="curves-run").click()
    await eventually(lambda: _has(user, "curves-chart"), 10.0)
    names = [s["name"] for s in _one(user, "curves-chart").options["series"]]
    assert names[0] == "随机移除" and "按规模从大到小移除" in names
    with user:
        _one(user, "res-theta").value = 1.0  # curves of another θ are not kept
    await eventually(lambda: not _has(user, "curves-chart"))
    assert _has(user, "curves-run")
