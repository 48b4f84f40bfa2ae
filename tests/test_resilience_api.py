"""/api/v1/resilience, /whatif, /curves and /xlsx on the tiny chain (tests/resilience_helpers)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest
from fastapi.testclient import TestClient

from chainatlas.analysis import resilience_report
from chainatlas.web.app import create_app
from tests.resilience_helpers import TINY_POINTS, tiny_store_file


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_store_file(Path(tmp_path_factory.mktemp("resilience-api")))


@pytest.fixture
def client(tiny_file: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(resilience_report, "builtin_chokepoints", lambda: TINY_POINTS)
    # a loopback Host (the app refuses names it does not serve); not entered as a context
    # manager, which would run NiceGUI's startup (see tests/test_web_api.py)
    return TestClient(create_app(tiny_file), base_url="http://127.0.0.1",
                      raise_server_exceptions=False)


def _get(client: TestClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.text
    return response.json()


def test_resilience(client: TestClient) -> None:
    body = _get(client, "/api/v1/resilience?region=石家庄市&chain=tiny")
    units = {u["unit_id"]: u for u in body["units"]}
    assert units["tn_w"]["single_local_firm"] and units["tn_w"]["sole_firm_name"] == "小戊配件"
    assert units["tn_b"]["chokepoints"] == ["乙部件芯片"]
    assert body["summary"]["self_sufficient"] == {"0.25": 3, "0.5": 3, "1": 5}
    assert body["theta"] == 0.5 and body["limits_zh"] and body["universe"] == "listed"
    lenient = _get(client, "/api/v1/resilience?region=130100&chain=小链&theta=1")
    assert lenient["theta"] == 1.0
    product = _get(client, "/api/v1/resilience?region=石家庄市&chain=tiny&level=product")
    assert product["level"] == "product" and "丙整机" in {u["unit_id"] for u in product["units"]}


def test_whatif_takes_repeated_firms_and_regions(client: TestClient) -> None:
    body = _get(client, "/api/v1/resilience/whatif?region=石家庄市&chain=tiny"
                        "&remove=唐山市&remove=苏戊1")
    half = body["by_theta"]["0.5"]
    assert {u["unit_id"] for u in half["lost_local"]} == {"tn_c", "tn_d"}
    assert half["share_chain_affected"] == pytest.approx(3 / 8, abs=1e-4)
    assert body["removed"]["firm_names"] == ["苏戊1"]
    assert body["removed"]["regions"][0]["name"] == "唐山市" and body["limits_zh"]
    lenient = _get(client, "/api/v1/resilience/whatif?region=石家庄市&chain=tiny"
                           "&remove=firm:唐乙&theta=1")
    assert lenient["by_theta"]["1"]["lost_local"] == []


def test_curves(client: TestClient) -> None:
    body = _get(client, "/api/v1/resilience/curves?chain=tiny&region=石家庄市&runs=3")
    assert body["population"] == 5 and body["runs"] == 3 and body["limits_zh"]
    starts = {c["strategy"]: c["mean"] for c in body["curves"] if c["fraction"] == 0.0}
    halves = {c["strategy"]: c["mean"] for c in body["curves"] if c["fraction"] == 0.5}
    assert starts == {"random": 0.0, "size": 0.0, "influence": 0.0}
    assert set(halves) == set(starts) and min(halves.values()) > 0
    national = _get(client, "/api/v1/resilience/curves?chain=tiny&runs=2")
    assert national["region"] is None


@pytest.mark.parametrize(("url", "status", "kind"), [
    ("/api/v1/resilience?region=火星市&chain=tiny", 404, "NotFoundError"),
    ("/api/v1/resilience?region=石家庄市&chain=nochain", 404, "NotFoundError"),
    ("/api/v1/resilience/whatif?region=石家庄市&chain=tiny&remove=不存在公司", 404,
     "NotFoundError"),
    ("/api/v1/resilience/whatif?region=石家庄市&chain=tiny", 422, "ValidationError"),
    ("/api/v1/resilience?region=石家庄市&chain=tiny&theta=0", 422, "ValidationError"),
    ("/api/v1/resilience?region=石家庄市&chain=tiny&level=firm", 422, "ValidationError"),
    ("/api/v1/resilience/curves?chain=tiny&runs=1000", 422, "ValidationError"),
])
def test_errors_are_clean(client: TestClient, url: str, status: int, kind: str) -> None:
    assert _get(client, url, status)["error"]["type"] == kind


def test_xlsx_download(client: TestClient) -> None:
    response = client.get("/api/v1/resilience/xlsx?region=石家庄市&chain=tiny&remove=唐山市")
    assert response.status_code == 200, response.text
    assert quote("石家庄市-小链-韧性分析") in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["概要", "环节韧性", "单点风险", "情景推演", "卡脖子"]
    rows = list(book["单点风险"].iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {"甲原料", "戊配件", "丙整机", "丁服务", "庚一"}
    plain = client.get("/api/v1/resilience/xlsx?region=石家庄市&chain=tiny")
    assert "情景推演" not in openpyxl.load_workbook(io.BytesIO(plain.content)).sheetnames


def test_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = _get(client, "/openapi.json")["paths"]
    for path in ("/api/v1/resilience", "/api/v1/resilience/whatif", "/api/v1/resilience/curves",
                 "/api/v1/resilience/xlsx"):
        assert paths[path]["get"]["tags"] == ["resilience 韧性分析"], path
