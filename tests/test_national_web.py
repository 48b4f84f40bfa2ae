"""全国分布 (/national): an imported batch run's cities of a chain or node — the store
query, the chart's pure functions, and the page driven by NiceGUI's simulated user."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from nicegui.testing import User

from chainatlas.pipeline.engines import run_duckdb
from chainatlas.pipeline.relatedness import write_relatedness
from chainatlas.pipeline.store import import_run, node_cities, runs_frame
from chainatlas.store import Database
from chainatlas.store.lookup import Region
from chainatlas.web import pipeline_charts as pc
from chainatlas.web.charts import ACCENT, PRIMARY
from chainatlas.web.pages.national import NO_RUN, region_prefix
from tests import test_web_pages as pages
from tests.test_pipeline_cli import _registry
from tests.test_web_pages import _one, eventually

web_store, user, nicegui_storage = pages.web_store, pages.user, pages.nicegui_storage
pytestmark = pytest.mark.usefixtures("keep_modules")
anyio = pytest.mark.anyio

ROWS: list[dict[str, Any]] = [
    {"city_adcode": "130100", "city_name": "石家庄市", "firms": 2, "share": 2 / 3,
     "lq": 1.6667, "density": None, "node_firms": 3},
    {"city_adcode": "130600", "city_name": None, "firms": 1, "share": 1 / 3,
     "lq": 0.8333, "density": 0.25, "node_firms": 3}]


@pytest.fixture(scope="module")
def national_store(web_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the web store with one batch run of six registry firms imported: 石家庄
    two vaccine makers and a hardware trader, 保定 a vaccine maker and an electronics
    maker, 上海 a telecom-equipment trader."""
    folder = tmp_path_factory.mktemp("national")
    path = folder / "national.duckdb"
    shutil.copy(web_store, path)
    run_duckdb(str(_registry(folder / "in")), str(folder / "out"))
    write_relatedness(str(folder / "out"))
    with Database(path) as db:
        import_run(db, str(folder / "out"), actor="test")
    return path


@pytest.fixture
def served_store(request: pytest.FixtureRequest, national_store: Path) -> Path:
    """The store with a run, or (parametrised with "web") the web store without one."""
    if getattr(request, "param", None) == "web":
        return Path(request.getfixturevalue("web_store"))
    return national_store


def test_node_cities_of_a_node_and_of_the_chain(national_store: Path) -> None:
    with Database(national_store, read_only=True) as db:
        assert runs_frame(db)["run_id"].tolist() == [1]
        node = node_cities(db, "biomedicine", "bm_vaccines")
        chain = node_cities(db, "biomedicine")
    assert node["city_adcode"].tolist() == ["130100", "130600"]  # most firms first
    assert node["firms"].tolist() == [2, 1] and node["share"].tolist() == [2 / 3, 1 / 3]
    # 石家庄: 2 of its 3 located firms, against 3 of the nation's 6.
    assert node["lq"].iloc[0] == pytest.approx((2 / 3) / (3 / 6))
    assert node["density"].notna().all()
    # The whole chain sums its nodes per city, recomputes the LQ and has no density.
    assert chain["firms"].sum() == chain["node_firms"].iloc[0] >= node["firms"].sum()
    assert chain["density"].isna().all()
    assert chain["city_name"].iloc[0] == "石家庄市"


def test_the_region_prefix_is_its_citys() -> None:
    def region(adcode: str, level: str) -> Region:
        return Region(adcode=adcode, name="x", level=level, province_adcode="130000")
    assert region_prefix(region("130000", "province")) == "13"
    assert region_prefix(region("130100", "city")) == "1301"
    assert region_prefix(region("130185", "district")) == "1301"


def test_cities_option_marks_the_region_and_reads_top_down() -> None:
    option = pc.cities_option(ROWS, "1301", "前2")
    assert option["yAxis"]["data"] == ["130600", "石家庄市"]  # bottom-up: first on top
    colours = [d["itemStyle"]["color"] for d in option["series"][0]["data"]]
    assert colours == [PRIMARY, ACCENT]
    tip = option["series"][0]["data"][1]["tip"]
    assert "企业 2 家，占全国 66.7%" in tip and "区位熵 LQ 1.67" in tip
    assert "关联密度 0.250" in option["series"][0]["data"][0]["tip"]
    many = [dict(ROWS[0], city_adcode=f"13{i:04d}") for i in range(50)]
    assert len(pc.cities_option(many)["yAxis"]["data"]) == pc.CHART_CITIES
    assert pc.chart_height(many) == pc.CHART_PAD + pc.BAR_HEIGHT * pc.CHART_CITIES
    assert pc.chart_height([]) == pc.CHART_PAD + pc.BAR_HEIGHT


def test_city_rows_and_run_label() -> None:
    rows = pc.city_rows(ROWS, "1301")
    assert [(r["rank"], r["city"], r["share"], r["lq"], r["density"], r["mine"])
            for r in rows] == [(1, "石家庄市", "66.7%", "1.67", "—", "本地区"),
                               (2, "130600", "33.3%", "0.83", "0.250", "")]
    label = pc.run_label({"run_id": 2, "imported_at": "2026-12-03 10:00:00",
                          "firms": 9950340, "placed": 9854272})
    assert label == "第2批 · 2026-12-03 · 9,950,340 家企业（落位 9,854,272）"
    assert pc.city_label({"city_adcode": "1", "city_name": "<b>"}) == "<b>"
    assert "&lt;b&gt;" in pc.cities_option([{"city_adcode": "1", "city_name": "<b>",
                                            "firms": 1}])["series"][0]["data"][0]["tip"]


@anyio
async def test_the_page_shows_a_chain_and_a_node(user: User) -> None:
    await user.open("/national")
    await user.should_see("全国 · 生物医药产业链 · 城市分布")
    chart = _one(user, "national-chart")
    assert chart.options["yAxis"]["data"][-1] == "石家庄市"  # most firms, drawn on top
    assert chart.options["series"][0]["data"][-1]["itemStyle"]["color"] == ACCENT
    await user.should_see("第 1 位")  # 石家庄市, the default region
    with user:
        _one(user, "node-picker").value = "bm_vaccines"
    # A leaf node has a relatedness density; the whole chain has none.
    assert {r["density"] for r in _one(user, "national-table").rows} == {"—"}
    await eventually(lambda: "—" not in {r["density"] for r in
                                         _one(user, "national-table").rows})
    assert [r["city"] for r in _one(user, "national-table").rows] == ["石家庄市", "保定市"]
    _one(user, "run-picker")  # one run, offered


@anyio
@pytest.mark.parametrize("served_store", ["web"], indirect=True)
async def test_without_a_run_the_page_says_how_to_make_one(user: User) -> None:
    await user.open("/national")
    await user.should_see(NO_RUN)
