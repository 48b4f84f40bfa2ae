"""The target-list filters and the score explanations on every surface: the CLI's
``recommend firms`` options, the API's query parameters, the 精准招商 page's widgets.

The CLI and API tests capture what reaches ``rank_firms`` (a stand-in returns records of
the documented shape); one test per surface runs the real ranking on the small store.
"""

from __future__ import annotations

import importlib
import io
import json
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from nicegui import app
from nicegui.storage import Storage
from nicegui.testing import User
from nicegui.testing.user_simulation import user_simulation
from typer.testing import CliRunner

from chainatlas import cli
from chainatlas.analysis.explain import explain
from chainatlas.analysis.weights import TARGET_WEIGHTS
from chainatlas.cli_common import console
from chainatlas.recommend.filters import TargetFilters
from chainatlas.web.app import create_app
from chainatlas.web.cache import RESULTS
from tests.helpers import WEB_MAIN, built_store, web_bundle

runner = CliRunner()
LABELS = {"fit": "匹配度", "strength": "企业实力", "links": "产业链关联",
          "proximity": "区位邻近", "expansion": "扩张活跃度"}


def flat(output: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(output.split())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web bundle's store (the small bundle and a biomedicine firm in 武汉), on disk:
    the CLI and the app open files."""
    return built_store(tmp_path_factory.mktemp("surfaces"), web_bundle)


def record(rank: int, name: str, province: str, flags_zh: str = "") -> dict[str, Any]:
    """A ranked target firm of the documented shape, its score explained."""
    values = {k: 0.5 + 0.1 * i for i, k in enumerate(TARGET_WEIGHTS)}
    rows = explain(values, TARGET_WEIGHTS, LABELS, {"strength": f"员工 {rank * 100:,} 人"})
    return {"rank": rank, "company_id": f"C{rank}", "short_name": name,
            "full_name": name + "股份有限公司", "stock_code": None, "origin": "listed",
            "province": province, "city": None, "province_adcode": None,
            "city_adcode": None, "nodes": [], "score": round(sum(r["points"] for r in rows), 4),
            "components": {k: {"value": v} for k, v in values.items()}, "explain": rows,
            "risk": {"flags": ["ST"] if flags_zh else [], "flags_zh": flags_zh,
                     "factor": 0.5 if flags_zh else 1.0},
            "reasons_zh": [f"{name}的理由"], "universe": "listed", "universe_zh": "上市企业"}


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments each ``rank_firms`` call got (CLI and API alike); the
    stand-in answers two firms, the second risk-flagged."""
    calls: list[dict[str, Any]] = []

    def fake(db: Any, region: Any, chain: Any, node_id: Any = None,
             **options: Any) -> list[dict[str, Any]]:
        calls.append({"node_id": node_id, **options})
        return [record(1, "甲药业", "湖北省"), record(2, "乙制药", "北京市", "ST（2021 简称）")]

    RESULTS.clear()  # the stand-in of every test has one name: never its cached answers
    # the modules as loaded now: a NiceGUI simulation earlier in the run may have dropped
    # the chainatlas package from sys.modules (see conftest.keep_modules), so no dotted path
    for module in ("chainatlas.recommend.firms", "chainatlas.web.api.recommend"):
        monkeypatch.setattr(importlib.import_module(module), "rank_firms", fake)
    return calls


# -- CLI ---------------------------------------------------------------------------------
def _firms(store: Path, *options: str) -> Any:
    return runner.invoke(cli.app, ["recommend", "firms", "--region", "武汉市", "--chain",
                                   "生物医药", *options, "--db", str(store)])


def test_cli_options_reach_rank_firms(store: Path, captured: list[dict[str, Any]],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "width", 400)  # one line per table row
    result = _firms(store, "--province", "河北,湖北省", "--province", "110000",
                    "--exclude-province", "广东", "--outside-province", "--size", "large,中型",
                    "--unlisted", "--include-risk")
    assert result.exit_code == 0, result.output
    filters = captured[-1]["filters"]
    assert filters == TargetFilters(provinces=("130000", "420000", "110000"),
                                    exclude_provinces=("440000",), outside_province=True,
                                    sizes=("large", "medium"), listed="unlisted",
                                    exclude_risk=False)
    assert filters.describe_zh().startswith("限河北省、湖北省、北京市；排除广东省；仅省外")
    text = flat(result.output)
    assert "筛选条件：" + filters.describe_zh() in text
    # a column per component, its weight in the header, its raw figure under the value
    for component, weight in TARGET_WEIGHTS.items():
        assert f"×{weight:.2f}" in text and LABELS.get(component, component) in text
    assert "员工 200 人" in text
    terms = " + ".join(f"{w:.2f}×{LABELS.get(k, k)}" for k, w in TARGET_WEIGHTS.items())
    assert f"得分 = {terms}" in text
    assert "乙制药：ST（2021 简称）" in text  # risk flags under the table


def test_cli_defaults_exclude_risk_and_filter_nothing_else(
        store: Path, captured: list[dict[str, Any]]) -> None:
    assert _firms(store, "--listed").exit_code == 0
    assert captured[-1]["filters"] == TargetFilters(listed="listed")
    assert _firms(store).exit_code == 0
    assert captured[-1]["filters"] == TargetFilters() and TargetFilters().exclude_risk


@pytest.mark.parametrize(("options", "message"), [
    (("--province", "石家庄市"), "--province 石家庄市: 石家庄市 is not a province"),
    (("--exclude-province", "河北", "--province", "河北省"), "both included and excluded"),
    (("--size", "huge"), "Unknown size band 'huge'"),
    (("--province", "无此省"), "No region named '无此省'")])
def test_cli_refuses_bad_filters_in_one_sentence(store: Path, captured: list[dict[str, Any]],
                                                 options: tuple[str, ...],
                                                 message: str) -> None:
    result = _firms(store, *options)
    assert result.exit_code == 1 and message in flat(result.output)
    assert "Traceback" not in result.output and not captured


def test_cli_filters_the_real_ranking(store: Path) -> None:
    """End to end on the small store: 武汉市's outside firms are the two of 河北."""
    def ids(*options: str) -> set[str]:
        result = _firms(store, "--json", *options)
        assert result.exit_code == 0, result.output
        return {r["company_id"] for r in json.loads(result.output)}

    everyone = ids()
    assert everyone and ids("--province", "河北") == everyone
    assert ids("--exclude-province", "河北") == set()
    assert ids("--province", "北京") == set()
    first = json.loads(_firms(store, "--json").output)[0]
    assert {r["component"] for r in first["explain"]} == set(TARGET_WEIGHTS)


# -- API ---------------------------------------------------------------------------------
@pytest.fixture
def client(store: Path) -> TestClient:
    return TestClient(create_app(store), base_url="http://127.0.0.1",
                      raise_server_exceptions=False)


FIRMS = "/api/v1/recommend/firms?chain=生物医药&region=武汉市"


def test_api_parameters_reach_rank_firms(client: TestClient,
                                         captured: list[dict[str, Any]]) -> None:
    response = client.get(FIRMS + "&province=河北&province=湖北,北京&exclude_province=广东"
                                  "&outside_province=true&size=大型&size=small"
                                  "&listed=false&include_risk=true")
    assert response.status_code == 200, response.text
    assert captured[-1]["filters"] == TargetFilters(
        provinces=("130000", "420000", "110000"), exclude_provinces=("440000",),
        outside_province=True, sizes=("large", "small"), listed="unlisted",
        exclude_risk=False)
    assert response.json()[1]["explain"] == record(2, "乙制药", "北京市")["explain"]
    assert client.get(FIRMS).status_code == 200
    assert captured[-1]["filters"] == TargetFilters()


@pytest.mark.parametrize(("query", "status", "message"), [
    ("size=huge", 422, "Unknown size band 'huge': use one of large, medium, small"),
    ("province=石家庄市", 422, "石家庄市 is not a province"),
    ("province=河北&exclude_province=130000", 422, "both included and excluded"),
    ("exclude_province=无此省", 404, "No region named '无此省'"),
    ("listed=maybe", 422, "listed")])
def test_api_refuses_bad_filters(client: TestClient, captured: list[dict[str, Any]],
                                 query: str, status: int, message: str) -> None:
    for route in ("firms", "xlsx"):
        response = client.get(f"/api/v1/recommend/{route}?chain=生物医药&region=武汉市&{query}")
        assert response.status_code == status, response.text
        assert message in response.json()["error"]["message"]
    assert not captured


def test_api_workbook_states_the_filters(client: TestClient,
                                         captured: list[dict[str, Any]]) -> None:
    response = client.get("/api/v1/recommend/xlsx?chain=生物医药&region=武汉市"
                          "&outside_province=true&size=large")
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    notes = [c.value for row in book["说明"].iter_rows() for c in row]
    assert notes[notes.index("筛选条件") + 1] == captured[-1]["filters"].describe_zh()
    assert "仅省外" in notes[notes.index("筛选条件") + 1]


def test_api_documents_the_size_bands(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for route in ("firms", "xlsx"):
        parameters = {p["name"]: p for p in
                      document["paths"][f"/api/v1/recommend/{route}"]["get"]["parameters"]}
        assert {"province", "exclude_province", "outside_province", "size", "listed",
                "include_risk"} <= set(parameters)
        assert set(parameters["size"]["schema"]["items"]["enum"]) == {
            "large", "medium", "small", "大型", "中型", "小型"}


# -- web page ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nicegui_storage() -> Iterator[None]:
    """Keep app.storage in a temporary folder, never in the working tree's .nicegui/."""
    saved = Storage.path
    Storage.path = Path(tempfile.mkdtemp(prefix="chainatlas-storage-")).resolve()
    app.storage = Storage()
    yield
    Storage.path = saved


@pytest.fixture
async def user(store: Path, nicegui_storage: None, keep_modules: None,
               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[User]:
    """A simulated browser user on a fresh app serving the small store."""
    monkeypatch.setenv("CHAINATLAS_DB", str(store))
    monkeypatch.setenv("CHAINATLAS_SECRET", "test-secret")
    monkeypatch.setenv("CHAINATLAS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CHAINATLAS_ALLOWED_HOSTS", "test")
    async with user_simulation(main_file=WEB_MAIN) as simulated:
        simulated.javascript_rules[re.compile(r".*registerMap.*")] = lambda _: "ok"
        yield simulated


async def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until ``check()`` holds (event handlers run as background tasks)."""
    import asyncio

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


async def _open(user: User, path: str) -> None:
    """Open a page and wait for its body (built after the browser connects)."""
    await user.open(path)
    await eventually(lambda: _has(user, "page-ready"))


def _one(user: User, marker: str) -> Any:
    elements = list(user.find(marker=marker).elements)
    assert len(elements) == 1, (marker, elements)
    return elements[0]


@pytest.mark.anyio
async def test_the_page_has_the_filter_widgets(user: User) -> None:
    await _open(user, "/recommend")
    await eventually(lambda: _has(user, "firm-table"))
    provinces = _one(user, "rec-provinces")
    assert provinces.options["130000"] == "河北省" and len(provinces.options) >= 30
    assert set(_one(user, "rec-sizes").options) == {"large", "medium", "small"}
    for marker in ("rec-exclude-provinces", "rec-outside", "rec-listed", "rec-include-risk"):
        _one(user, marker)
    summary = _one(user, "rec-filters-text")
    assert TargetFilters().describe_zh() in summary.text
    rows = _one(user, "firm-table").rows
    assert rows and all(" × " in r["explain"] and " = " in r["explain"] for r in rows)
    with user:
        _one(user, "rec-sizes").value = ["large"]
        _one(user, "rec-include-risk").value = True
    await eventually(lambda: "size=large" in _one(user, "xlsx-download").props["href"])
    assert "include_risk=true" in _one(user, "xlsx-download").props["href"]
    assert "规模：大型" in _one(user, "rec-filters-text").text
    assert "含风险警示企业" in _one(user, "rec-filters-text").text
    with user:
        _one(user, "rec-exclude-provinces").value = ["420000"]
    # 石家庄市's only outside biomedicine firm is in 湖北: excluding it empties the list
    await user.should_see("暂无符合条件的外地企业", retries=300)
    with user:
        _one(user, "rec-provinces").value = ["420000"]
    await user.should_see("同一省份不能既限定又排除", retries=300)


@pytest.mark.anyio
async def test_node_cards_explain_their_scores(user: User) -> None:
    await _open(user, "/recommend")
    cards = list(user.find(marker="node-card").elements)
    explained = list(user.find(marker="node-explain").elements)
    assert len(explained) == len(cards)
    assert all(" × " in label.text and " = " in label.text for label in explained)
