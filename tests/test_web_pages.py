"""The web pages, driven by NiceGUI's simulated user on a small store.

Each test gets a fresh NiceGUI app (``user_simulation``) built by the web app's main file
(``src/chainatlas/web/main.py``, from $CHAINATLAS_DB), or, where that file does not exist,
by registering the pages directly. Map GeoJSON registration is JavaScript, which the
simulated user does not run: a rule answers it as the browser would.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from nicegui import ElementFilter, app, ui
from nicegui.storage import Storage
from nicegui.testing import User
from nicegui.testing.user_simulation import user_simulation

from chainatlas.build import build_store, refresh_derived
from chainatlas.chains.classify import classify_store
from chainatlas.chains.evidence import evidence_from_json, evidence_zh
from chainatlas.chains.templates import load_templates
from chainatlas.store import Database
from chainatlas.store.users import add_user
from chainatlas.web.pages import PAGE_PATHS, register_pages
from chainatlas.web.pages.chain import placements_xlsx_url
from chainatlas.web.pages.layout import firm_url
from chainatlas.web.pages.recommend import place_zh, xlsx_url
from chainatlas.web.pages.widgets import (
    capital_zh,
    number_zh,
    register_map_js,
)
from chainatlas.web.state import open_web_store, request_db
from tests.helpers import WEB_MAIN, XSS, XSS_ID, add_firm, unpinned_bundle, web_bundle

pytestmark = pytest.mark.anyio

@pytest.fixture(scope="module")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file built from the web bundle (shared by the module's tests)."""
    folder = tmp_path_factory.mktemp("web")
    path = folder / "web.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(web_bundle(folder / "bundle")))
        add_user(db, ANALYST, "analyst", ANALYST_PASSWORD, actor="test")
    return path


#: The analyst who signs in to correct placements on the firm page.
ANALYST, ANALYST_PASSWORD = "fenxi", "correct horse battery"


async def sign_in(user: User) -> None:
    """Sign the simulated browser in as :data:`ANALYST`."""
    signed = await user.http_client.post("/login", data={"name": ANALYST,
                                                          "password": ANALYST_PASSWORD})
    assert signed.status_code == 303, signed.text


@pytest.fixture(scope="module", autouse=True)
def nicegui_storage() -> Iterator[None]:
    """Keep app.storage in a temporary folder, never in the working tree's .nicegui/."""
    saved = Storage.path
    Storage.path = Path(tempfile.mkdtemp(prefix="chainatlas-storage-")).resolve()
    app.storage = Storage()
    yield
    Storage.path = saved


@pytest.fixture(scope="module")
def registry_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web bundle's store plus registry firms of 河北: two vaccine makers of 石家庄
    (placed by their scope) and a trading firm of 唐山."""
    folder = tmp_path_factory.mktemp("registry")
    path = folder / "registry.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(web_bundle(folder / "bundle")))
        for cid, city, scope in (("R_VAC1", "130100", "疫苗的研发、生产"),
                                 ("R_VAC2", "130100", "疫苗的研发、生产"),
                                 ("R_SHOP", "130200", "日用百货零售")):
            db.execute("INSERT INTO companies (company_id, origin, short_name, full_name, "
                       "business_scope, province_adcode, city_adcode, region_adcode, "
                       "registered_capital, source_id, updated_at) VALUES (?, 'registry', ?, "
                       "?, ?, '130000', ?, ?, 100, 1, now())",
                       [cid, cid, cid + "有限公司", scope, city, city])
        classify_store(db, load_templates())
        refresh_derived(db)
    return path


@pytest.fixture
def served_store(request: pytest.FixtureRequest, web_store: Path) -> Path:
    """The store the ``user`` fixture's app serves: the web store, or the registry store
    for tests parametrised (indirectly) with ``served_store``."""
    if hasattr(request, "param"):
        return Path(request.getfixturevalue(f"{request.param}_store"))
    return web_store


#: A roster firm without USCC or registration number is keyed by its name, "/" and all.
SLASH_ID = "NAME:甲/乙 #1?科技有限公司"


@pytest.fixture(scope="module")
def slash_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web bundle's store plus a roster firm whose id holds "/", "#" and "?"."""
    folder = tmp_path_factory.mktemp("slash")
    path = folder / "slash.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(web_bundle(folder / "bundle")))
        add_firm(db, SLASH_ID)
    return path


@pytest.fixture
async def user(served_store: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
               caplog: pytest.LogCaptureFixture) -> AsyncIterator[User]:
    """A simulated browser user on a fresh app serving ``served_store``."""
    web_store = served_store
    monkeypatch.setenv("CHAINATLAS_DB", str(web_store))
    # the main file keeps its storage secret under $CHAINATLAS_HOME unless given one
    monkeypatch.setenv("CHAINATLAS_SECRET", "test-secret")
    monkeypatch.setenv("CHAINATLAS_HOME", str(tmp_path / "home"))
    # the simulated browser asks for host "test": the app answers only names it serves
    monkeypatch.setenv("CHAINATLAS_ALLOWED_HOSTS", "test")
    if WEB_MAIN.is_file():
        async with user_simulation(main_file=WEB_MAIN) as simulated:
            yield _answer_maps(simulated)
    else:
        async with user_simulation() as simulated:
            open_web_store(web_store)
            register_pages()
            yield _answer_maps(simulated)
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def _answer_maps(simulated: User) -> User:
    simulated.javascript_rules[re.compile(r".*registerMap.*")] = lambda _: "ok"
    return _wait_for_bodies(simulated)


def _wait_for_bodies(simulated: User) -> User:
    """Make ``open`` return once the page's body is built: pages answer with their frame
    at once and fill the body after the browser connects."""
    original = simulated.open

    async def open_page(path: str, **options: Any) -> Any:
        client = await original(path, **options)
        await eventually(lambda: _has(simulated, "page-ready"))
        return client

    simulated.open = open_page  # type: ignore[method-assign]
    return simulated


async def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until ``check()`` holds (event handlers run as background tasks)."""
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    assert check()


def _has(user: User, marker: str) -> bool:
    """Whether the page holds an element with ``marker`` (``find`` insists on one)."""
    try:
        return bool(user.find(marker=marker).elements)
    except AssertionError:
        return False


def _one(user: User, marker: str) -> Any:
    elements = list(user.find(marker=marker).elements)
    assert len(elements) == 1, (marker, elements)
    return elements[0]


# -- pages ------------------------------------------------------------------------------
async def test_overview(user: User) -> None:
    await user.open("/")
    await user.should_see("招商总览")
    await user.should_see("本地上市企业")
    await user.should_see("石家庄市 · 五条重点产业链一览")
    chains = _one(user, "chains-table")
    assert {r["name"] for r in chains.rows} >= {"生物医药", "新一代电子信息", "现代食品"}
    biomedicine = next(r for r in chains.rows if r["chain_id"] == "biomedicine")
    assert biomedicine["firms"] == 2
    leaders = _one(user, "leaders-table")
    assert {"以岭药业", "华北制药"} <= {r["name"] for r in leaders.rows}
    chart = _one(user, "class-chart")
    assert chart.options["yAxis"]["data"][-1] == "先进装备制造"


async def test_chain_graph_and_node_firms(user: User) -> None:
    await user.open("/chain")
    await user.should_see("生物医药产业链全景图谱")
    chart = _one(user, "chain-graph")
    boxes = {d["id"]: d for d in chart.options["series"][0]["data"] if not d.get("port")}
    assert boxes["bm_api"]["class"] == "强"  # 华北制药, a node leader, is local
    assert boxes["bm_tcm_herbs"]["class"] == "缺"
    user.find(marker="chain-graph").trigger("componentClick", {
        "componentType": "series", "seriesType": "graph", "seriesIndex": 0,
        "seriesName": "", "name": "化学原料药", "dataIndex": 1, "data": boxes["bm_api"],
        "dataType": "node", "value": 2})
    await user.should_see(marker="node-firms")
    table = _one(user, "node-firms")
    assert [r["name"] for r in table.rows] == ["华北制药", XSS]  # local first
    assert table.rows[0]["local"] == "本地" and table.rows[1]["city"] == "武汉市"
    assert "产品：原料药" in table.rows[1]["evidence"]
    highlighted = {d["id"]: d for d in chart.options["series"][0]["data"]}
    assert highlighted["bm_api"]["itemStyle"]["shadowBlur"] > 0


async def test_map_drills_into_a_province(user: User) -> None:
    await user.open("/map")
    await user.should_see("南海诸岛见右下角示意图")
    await user.should_see(marker="map-chart")
    chart = _one(user, "map-chart")
    series = chart.options["series"][0]
    assert series["map"] == "china"
    values = {d["name"]: d["value"] for d in series["data"]}
    assert values == {"河北省": 2, "湖北省": 1}
    hubei = next(d for d in series["data"] if d["name"] == "湖北省")
    assert XSS not in hubei["tip"] and "&lt;script&gt;" in hubei["tip"]
    assert {r["name"] for r in _one(user, "map-table").rows} == {"河北省", "湖北省"}
    user.find(marker="map-chart").trigger("componentClick", {
        "componentType": "series", "seriesType": "map", "seriesIndex": 0, "seriesName": "",
        "name": "河北省", "dataIndex": 0, "data": None, "dataType": None, "value": 2})
    await user.should_see("返回全国")
    await user.should_not_see("南海诸岛见右下角示意图")
    await user.should_see(marker="map-chart")
    assert _one(user, "map-chart").options["series"][0]["map"] == "province-130000"
    assert [r["name"] for r in _one(user, "map-table").rows] == ["石家庄市"]
    user.find(marker="map-back").click()
    await user.should_not_see("返回全国")
    await user.should_see(marker="map-chart")
    assert _one(user, "map-chart").options["series"][0]["map"] == "china"


async def test_recommend(user: User) -> None:
    await user.open("/recommend")
    await user.should_see("环节招商建议")
    await user.should_see("目标企业推荐")
    await user.should_see(marker="firm-table")
    firms = _one(user, "firm-table")
    assert XSS in {r["name"] for r in firms.rows}
    button = _one(user, "xlsx-download")
    assert button.props["href"] == ("/api/v1/recommend/xlsx?chain=biomedicine&region=130100"
                                    "&top=20&universe=listed")
    assert user.find(marker="node-card").elements
    with user:
        _one(user, "rec-node-picker").value = "bm_api"
    await eventually(lambda: "node=bm_api" in _one(user, "xlsx-download").props["href"])
    await user.should_see(marker="firm-table")


async def test_leaders(user: User) -> None:
    await user.open("/leaders")
    await user.should_see("全国链主企业")
    await user.should_see("石家庄市链主企业")
    national = _one(user, "national-table")
    assert XSS in {r["name"] for r in national.rows}
    local = _one(user, "local-table")
    assert {r["name"] for r in local.rows} == {"以岭药业", "华北制药"}
    bars = _one(user, "local-bars")
    assert [s["name"] for s in bars.options["series"]] == ["规模", "覆盖广度", "供应链中心度"]


async def test_firm_profile(user: User) -> None:
    await user.open("/firm/002603.SZ")
    await user.should_see("石家庄以岭药业股份有限公司")
    await user.should_see("主营产品")
    await user.should_see("产业链定位")
    products = _one(user, "products-bars")
    assert products.options["yAxis"]["data"][-1] == "专利中药"
    placements = _one(user, "placements-table")
    assert placements.rows[0]["chain"] == "生物医药"
    await user.should_see(marker="firm-pin")
    pin = _one(user, "firm-pin")
    assert pin.options["geo"]["map"] == "province-130000"


async def test_firm_index_and_unknown_firm(user: User) -> None:
    await user.open("/firm")
    await user.should_see("石家庄市上市企业")
    assert {r["name"] for r in _one(user, "region-firms").rows} == {"以岭药业", "华北制药"}
    await user.open("/firm/NOPE")
    await user.should_see("未找到企业 NOPE")


async def test_every_page_has_the_navigation(user: User) -> None:
    for path in PAGE_PATHS:
        await user.open(path)
        for target in PAGE_PATHS:
            assert user.find(marker=f"nav{target}").elements, (path, target)
        await user.should_see(marker="firm-search")


async def test_each_navigation_entry_is_one_element(user: User) -> None:
    """The header is built for every visit on the shared event loop: an entry is one
    link with its name as text and its icon drawn by CSS, not a link, an icon and a
    label."""
    from chainatlas.web.pages.layout import NAV

    await user.open("/")
    for path, name, icon in NAV:
        link = _one(user, f"nav{path}")
        assert (link.text, link.props["data-icon"]) == (name, icon)
        assert not link.default_slot.children


async def test_a_node_cards_reasons_are_one_label(user: User) -> None:
    await user.open("/recommend")
    await user.should_see(marker="node-card")
    cards = list(user.find(marker="node-card").elements)
    reasons = list(user.find(marker="node-reasons").elements)
    assert len(reasons) == len(cards)
    assert all(line.startswith("• ") for label in reasons for line in label.text.split("\n"))
    assert any("\n" in label.text for label in reasons)  # several reasons, one label


async def test_pickers_persist_across_pages(user: User) -> None:
    await user.open("/")
    await user.should_see("石家庄市 · 五条重点产业链一览")
    picker = _one(user, "region-picker")
    user.find(marker="region-picker").trigger("inputValue", "武汉")  # typed: the server looks
    await eventually(lambda: "420100" in picker.options)
    with user:
        picker.value = "420100"
    await user.should_see("武汉市 · 五条重点产业链一览")
    await user.open("/chain")
    await user.should_see("武汉市 · 上市企业 · 细分环节")
    assert _one(user, "region-picker").value == "420100"
    with user:
        _one(user, "chain-picker").value = "electronics"
    await user.should_see("新一代电子信息产业链全景图谱")
    await user.open("/map")
    await user.should_see("新一代电子信息产业链上市企业全国分布")
    assert _one(user, "chain-picker").value == "electronics"


async def test_region_picker_searches_the_store_instead_of_listing_every_region(
        user: User) -> None:
    await user.open("/")
    await user.should_see("石家庄市 · 五条重点产业链一览")
    picker = _one(user, "region-picker")
    assert picker.options == {"130100": "石家庄市（河北省）"}  # the page embeds no list
    user.find(marker="region-picker").trigger("inputValue", "长安")
    await eventually(lambda: len(picker.options) > 1)
    labels = list(picker.options.values())
    assert labels[0] == "石家庄市（河北省）"  # the chosen region stays offered
    assert all("长安" in label for label in labels[1:]), labels
    assert "长安区（石家庄市）" in labels
    assert picker.value == "130100"  # searching is not choosing
    user.find(marker="region-picker").trigger("inputValue", "")
    await eventually(lambda: picker.options == {"130100": "石家庄市（河北省）"})


@pytest.mark.parametrize("served_store", ["slash"], indirect=True)
async def test_a_firm_id_holding_a_slash_has_its_page(user: User) -> None:
    await user.open("/firm/" + quote(SLASH_ID, safe=""))
    await user.should_see("主营产品")
    await user.should_see(SLASH_ID)  # its name (the id's tail) is shown, never a 404
    # signing in to correct it leads back to this page, the id intact
    await user.should_see(marker="fix-sign-in")
    with user:
        link = next(e for e in ElementFilter(kind=ui.link) if e.text == "登录")
    assert link.props["href"] == "/login?next=" + quote(firm_url(SLASH_ID), safe="")
    # the header's search links to the same quoted path
    user.find(marker="firm-search").type("甲/乙")
    await user.should_see(marker="search-result")
    user.find(marker="search-result").click()
    await eventually(lambda: user.back_history[-1:] == ["/firm/" + quote(SLASH_ID, safe="")])


def test_firm_url_quotes_the_whole_id() -> None:
    assert firm_url("002603.SZ") == "/firm/002603.SZ"
    assert firm_url("NAME:甲/乙?#") == "/firm/NAME%3A%E7%94%B2%2F%E4%B9%99%3F%23"


async def test_search_navigates_to_the_firm(user: User) -> None:
    await user.open("/")
    user.find(marker="firm-search").type("以岭")
    await user.should_see(marker="search-result")
    user.find(marker="search-result").click()
    await eventually(lambda: user.back_history[-1] == "/firm/002603.SZ")
    await user.should_see("主营产品")
    await user.open("/leaders")
    user.find(marker="firm-search").type("hbzy")  # pinyin initials of 华北制药
    user.find(marker="firm-search").trigger("keydown.enter")
    await eventually(lambda: user.back_history[-1] == "/firm/600812.SH")
    await user.should_see("主营产品")


async def test_correction_persists(user: User, web_store: Path) -> None:
    await sign_in(user)
    await user.open("/firm/300054.SZ")
    await user.should_see("湖北鼎龙控股股份有限公司")
    assert "化学原料药" not in {r["node"] for r in _one(user, "placements-table").rows}
    with user:
        _one(user, "fix-chain").value = "biomedicine"
        _one(user, "fix-node").value = "bm_api"
    user.find(marker="fix-reason").type("年报披露原料药业务")
    user.find(marker="fix-submit").click()
    await user.should_see("校正已保存", retries=50)  # written in a worker thread
    # the placements section is read again after the save, in a worker thread too
    await eventually(lambda: any(r["node"] == "化学原料药" and r["method"] == "分析员校正"
                                 for r in _one(user, "placements-table").rows))
    with request_db() as db:
        stored = db.rows("SELECT * FROM corrections WHERE company_id = '300054.SZ'")
    assert [(c["node_id"], c["action"], c["author"]) for c in stored] == [
        ("bm_api", "assign", ANALYST)]  # the signed-in user, not a typed name
    await user.open("/firm/300054.SZ")  # a new page load reads it back from the store
    await user.should_see(marker="corrections-table")
    assert _one(user, "corrections-table").rows[0]["reason"] == "年报披露原料药业务"


async def test_script_named_firm_is_shown_as_text(user: User) -> None:
    await user.open(f"/firm/{XSS_ID}")
    await user.should_see(XSS)  # a label whose text is the name, markup and all
    with user:
        assert not [e for e in ElementFilter(kind=ui.html) if "alert" in str(e.content)]
    await user.should_see(marker="firm-pin")
    tip = _one(user, "firm-pin").options["series"][0]["data"][0]["tip"]
    assert XSS not in tip and "&lt;script&gt;" in tip


async def test_register_pages_is_idempotent(user: User) -> None:
    register_pages()
    register_pages()
    paths = [getattr(r, "path", None) for r in app.routes]
    for path in (*PAGE_PATHS, "/firm/{company_id:path}"):
        assert paths.count(path) == 1, path
    await user.open("/")
    await user.should_see("招商总览")


# -- the firm universe -------------------------------------------------------------------
async def test_without_registry_the_toggle_offers_listed_and_all(user: User) -> None:
    await user.open("/chain")
    toggle = _one(user, "universe-toggle")
    assert toggle.value == "listed" and list(toggle.options) == ["listed", "all"]
    await user.should_see("石家庄市 · 生物医药产业链 · 上市企业")
    assert _one(user, "placements-download").props["href"] == placements_xlsx_url(
        "biomedicine", "130100", "listed")


@pytest.mark.parametrize("served_store", ["registry"], indirect=True)
async def test_registry_firms_change_the_chain_page(user: User) -> None:
    await user.open("/chain")
    toggle = _one(user, "universe-toggle")
    assert toggle.value == "all" and list(toggle.options) == ["listed", "registry", "all"]
    await user.should_see("石家庄市 · 生物医药产业链 · 全部企业")
    await user.should_see(marker="lq-basis")
    assert "基准为已载入登记数据的省份（河北省）" in _one(user, "lq-basis").text
    assert _one(user, "placements-download").props["href"] == (
        "/api/v1/placements.xlsx?chain=biomedicine&region=130100&universe=all")
    boxes = {d["id"]: d for d in _one(user, "chain-graph").options["series"][0]["data"]}
    assert boxes["bm_vaccines"]["class"] == "强"  # two registry makers: LQ 1.5 in 河北
    user.find(marker="chain-graph").trigger("componentClick", {
        "componentType": "series", "seriesType": "graph", "seriesIndex": 0,
        "seriesName": "", "name": "人用疫苗", "dataIndex": 1, "data": boxes["bm_vaccines"],
        "dataType": "node", "value": 2})
    await user.should_see(marker="node-firms")
    rows = _one(user, "node-firms").rows
    assert {r["origin"] for r in rows} == {"工商登记"}
    assert rows[0]["scope"] == "「疫苗的研发、生产」"
    with user:
        _one(user, "universe-toggle").value = "listed"
    await user.should_see("石家庄市 · 生物医药产业链 · 上市企业")
    await user.should_see(marker="chain-graph")
    boxes = {d["id"]: d for d in _one(user, "chain-graph").options["series"][0]["data"]}
    assert boxes["bm_vaccines"]["class"] == "缺"
    await user.open("/recommend")  # the choice holds on every page
    assert _one(user, "universe-toggle").value == "listed"


@pytest.mark.parametrize("served_store", ["registry"], indirect=True)
async def test_a_shared_link_sets_the_universe(user: User) -> None:
    await user.open("/map?universe=registry")
    assert _one(user, "universe-toggle").value == "registry"
    await user.should_see("生物医药产业链工商登记企业全国分布")
    await user.should_see(marker="map-table")
    assert {r["name"]: r["firms"] for r in _one(user, "map-table").rows} == {"河北省": 2}
    await user.open("/")
    await user.should_see("本地工商登记企业")
    await user.open("/map?universe=nonsense")  # ignored: the stored choice stays
    assert _one(user, "universe-toggle").value == "registry"


# -- pure helpers -----------------------------------------------------------------------
def test_evidence_zh() -> None:
    evidence = {"signals": {"products": 0.9, "shenwan": 0.55},
                "products": [{"product": "布洛芬原料药", "share": 0.33, "keywords": ["原料药"]}],
                "shenwan": {"code": "370101", "name": "原料药", "matched": "370101"},
                "gbt": {"code": "2710", "matched": "2710", "strength": 0.6},
                "scope_keywords": ["原料药"], "model_probability": 0.8123}
    text = evidence_zh(evidence)
    assert text == ("产品：布洛芬原料药（33%，关键词 原料药）；申万：原料药（370101）；"
                    "国标：2710（2710）；经营范围：原料药；文本模型 0.81")
    manual = evidence_from_json('{"correction": {"id": 1, "reason": "年报", "author": "王"}}')
    assert evidence_zh(manual) == "分析员校正：年报（王）"
    assert evidence_zh({}) == "—" and evidence_from_json("not json") == {}


def test_small_formatters() -> None:
    assert capital_zh(167070.5) == "16.7 亿元" and capital_zh(5000) == "5,000 万元"
    assert capital_zh(None) == "—" and capital_zh(float("nan")) == "—"
    assert number_zh(15074, " 人") == "15,074 人" and number_zh(None) == "—"
    assert place_zh("北京市", "北京市") == "北京市" and place_zh("河北省", "石家庄市") == \
        "河北省 石家庄市" and place_zh(None, None) == "—"
    assert xlsx_url("biomedicine", "130100", None, 20) == \
        "/api/v1/recommend/xlsx?chain=biomedicine&region=130100&top=20"
    assert "node=bm_api" in xlsx_url("biomedicine", "130100", "bm_api", 50)


def test_register_map_js_quotes_its_arguments() -> None:
    code = register_map_js("province-130000", "/geo/province/130000.json")
    assert 'getMap("province-130000")' in code and 'fetch("/geo/province/130000.json")' in code
    assert "import('nicegui-echart')" in code
