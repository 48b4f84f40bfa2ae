"""The placement table (issue 9 point 6): library, CSV/Excel files, CLI and API."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chainatlas import cli
from chainatlas.analysis.placement_table import (
    COLUMNS,
    NOTES_SHEET,
    SHEET,
    iter_placements,
    placements_count,
    placements_frame,
    placements_page,
    write_placements,
)
from chainatlas.build import apply_correction, build_store
from chainatlas.chains.evidence import evidence_zh
from chainatlas.chains.placements import refresh_chain_firms
from chainatlas.errors import InputError, NotFoundError
from chainatlas.store import Database
from chainatlas.store.lookup import chain_from_text
from chainatlas.store.stats import REGISTRY_LICENCE, REGISTRY_LICENCE_ZH
from chainatlas.web.app import create_app
from tests.helpers import NOW, make_bundle, unpinned_bundle

# Invented firms (never registry rows): a registry firm in 长安区 placed on a leaf and on
# its parent, a roster firm in 武汉 whose name is a formula, and the roster twin of a
# listed firm (left out, as every analysis leaves it out).
REG = "R91130102TEST0001X"
FORMULA = "=HYPERLINK(\"http://x\")"
FIRMS = [
    (REG, "registry", "测试生物", "河北测试生物科技有限公司", "91130102TEST0001X", "130102",
     "130100", "130000", None),
    ("ROSTER1", "roster", FORMULA, FORMULA + "有限公司", None, "420102", "420100", "420000",
     None),
    ("TWIN", "roster", "以岭药业", "石家庄以岭药业股份有限公司", None, "130100", "130100",
     "130000", "002603.SZ"),
]
SCOPE_EVIDENCE = {"scope_keywords": ["片剂", "胶囊"], "signals": {"scope": 0.65}}
LEAF_CONFIDENCE, PARENT_CONFIDENCE = 0.65, 0.45


def _add_firms(db: Database) -> dict[str, str]:
    """Insert the invented firms and their classifier placements; return the nodes used."""
    bio = chain_from_text(db, "biomedicine")
    leaf = next(n.node_id for n in bio.leaves() if len(bio.ancestors(n.node_id)) >= 2)
    parent = bio.tree.parent(leaf)
    assert parent is not None
    electronics = chain_from_text(db, "electronics").leaves()[0].node_id
    for cid, origin, short, full, uscc, region, city, province, twin in FIRMS:
        db.execute("INSERT INTO companies (company_id, origin, short_name, full_name, uscc, "
                   "region_adcode, city_adcode, province_adcode, same_as, source_id, "
                   "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                   [cid, origin, short, full, uscc, region, city, province, twin, NOW])
    placed = [(REG, "biomedicine", leaf, LEAF_CONFIDENCE, SCOPE_EVIDENCE),
              (REG, "biomedicine", parent, PARENT_CONFIDENCE, SCOPE_EVIDENCE),
              ("ROSTER1", "electronics", electronics, 0.5, {"scope_keywords": ["硅片"]}),
              ("TWIN", "biomedicine", leaf, 0.9, SCOPE_EVIDENCE)]
    for cid, chain, node, confidence, evidence in placed:
        db.execute("INSERT INTO placements VALUES (?, ?, ?, ?, 'rules', ?, ?)",
                   [cid, chain, node, confidence, json.dumps(evidence, ensure_ascii=False),
                    NOW])
    refresh_chain_firms(db)
    return {"leaf": leaf, "parent": parent, "electronics": electronics}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A file store (the API serves cursors of it): the small bundle, the invented firms,
    and two corrections (one unassignment, one assignment); ``cli.duckdb`` beside it is a
    copy for the CLI, which opens its store read-only (DuckDB refuses a second, read-only
    connection to a file this process holds open for writing)."""
    folder = tmp_path_factory.mktemp("placements")
    path = folder / "store.duckdb"
    with Database(path) as db:
        build_store(db, unpinned_bundle(make_bundle(folder / "bundle")))
        nodes = _add_firms(db)
        apply_correction(db, "002603.SZ", "biomedicine", "bm_formulations", "unassign",
                         "不做制剂", "tester")
        apply_correction(db, "600812.SH", "biomedicine", nodes["leaf"], "assign",
                         "也做片剂", "tester")
    shutil.copy(path, folder / "cli.duckdb")
    return path, nodes


@pytest.fixture(scope="module")
def store(built: tuple[Path, dict[str, str]]) -> Database:
    """The store, open read-only for the library tests (the served app opens it read-only
    too, and one process may not open a file both ways)."""
    return Database(built[0], read_only=True)


@pytest.fixture(scope="module")
def nodes(built: tuple[Path, dict[str, str]]) -> dict[str, str]:
    """The nodes the invented firms are placed on."""
    return built[1]


def _keys(frame: pd.DataFrame) -> set[tuple[str, str, str]]:
    return set(zip(frame["company_id"], frame["chain_id"], frame["node_id"], strict=True))


# -- the table -------------------------------------------------------------------------


def test_one_row_per_firm_and_direct_node(store: Database, nodes: dict[str, str]) -> None:
    frame = placements_frame(store)
    assert list(frame.columns) == list(COLUMNS)
    assert len(_keys(frame)) == len(frame)
    # what analysts see: firm_nodes, less roster twins of listed firms
    expected = {tuple(r) for r in store.execute(
        "SELECT f.company_id, f.chain_id, f.node_id FROM firm_nodes f JOIN companies c "
        "USING (company_id) WHERE c.same_as IS NULL").fetchall()}
    assert _keys(frame) == expected and "TWIN" not in set(frame["company_id"])
    mine = frame[frame["company_id"] == REG].set_index("node_id")
    assert set(mine.index) == {nodes["leaf"], nodes["parent"]}
    # the parent row has the parent placement's own confidence, not the subtree's best
    assert mine.loc[nodes["parent"], "confidence"] == PARENT_CONFIDENCE
    assert mine.loc[nodes["leaf"], "confidence"] == LEAF_CONFIDENCE
    bio = chain_from_text(store, "biomedicine")
    top = bio.tree.root(nodes["leaf"])
    assert set(mine["top_node_id"]) == {top} and top not in mine.index
    assert set(mine["top_node_name"]) == {bio.node(top).name_zh}
    assert set(mine["node_name"]) == {bio.node(n).name_zh for n in mine.index}
    assert set(mine["name"]) == {FIRMS[0][3]} and set(mine["uscc"]) == {FIRMS[0][4]}
    assert set(mine["evidence_zh"]) == {evidence_zh(SCOPE_EVIDENCE)}
    assert set(mine["chain_name"]) == {bio.name_zh} and set(mine["origin"]) == {"registry"}


def test_corrections_are_applied(store: Database, nodes: dict[str, str]) -> None:
    frame = placements_frame(store, "生物医药")
    assert ("002603.SZ", "biomedicine", "bm_formulations") not in _keys(frame)
    row = frame[(frame["company_id"] == "600812.SH")
                & (frame["node_id"] == nodes["leaf"])].iloc[0]
    assert row["method"] == "manual" and row["confidence"] == 1.0
    assert "也做片剂" in row["evidence_zh"] and "tester" in row["evidence_zh"]


def test_order_is_stable_and_pages_slice_it(store: Database) -> None:
    frame = placements_frame(store)
    order = {(r[0], r[1]): r[2] for r in store.execute(
        "SELECT chain_id, node_id, ord FROM chain_nodes").fetchall()}
    keys = [(c, order[(c, n)], -conf, cid) for c, n, conf, cid in zip(
        frame["chain_id"], frame["node_id"], frame["confidence"], frame["company_id"],
        strict=True)]
    assert keys == sorted(keys)
    assert len(frame) >= 4
    page = placements_frame(store, limit=2, offset=1)
    pd.testing.assert_frame_equal(page, frame.iloc[1:3].reset_index(drop=True))
    chunks = list(iter_placements(store, chunk_rows=2))
    assert [len(c) for c in chunks[:-1]] == [2] * (len(chunks) - 1)
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), frame)


def test_universe_region_and_chain_filters(store: Database) -> None:
    every = placements_frame(store)
    origins = {u: set(placements_frame(store, universe=u)["origin"])
               for u in ("listed", "registry", "all")}
    assert origins == {"listed": {"listed"}, "registry": {"registry"},
                       "all": {"listed", "registry", "roster"}}
    # registry firms are loaded: the default is every firm
    assert len(placements_frame(store, universe=None)) == len(every)
    assert len(placements_frame(store, universe="工商登记企业")) == (
        every["origin"] == "registry").sum()
    city = set(placements_frame(store, region="石家庄市")["company_id"])
    assert city == {str(r[0]) for r in store.execute(
        "SELECT company_id FROM companies WHERE city_adcode = '130100' AND same_as IS NULL "
        "AND list_contains(?, company_id)", [list(every["company_id"])]).fetchall()}
    assert set(placements_frame(store, region="130102")["company_id"]) == {REG}
    assert set(placements_frame(store, region="湖北省")["company_id"]) >= {"ROSTER1"}
    electronics = placements_frame(store, chain="新一代电子信息")
    assert set(electronics["chain_id"]) == {"electronics"}
    assert len(electronics) == (every["chain_id"] == "electronics").sum()
    filters: list[dict[str, Any]] = [{}, {"universe": "listed"},
                                     {"region": "石家庄市", "chain": "biomedicine"}]
    for kwargs in filters:
        assert placements_count(store, **kwargs) == len(placements_frame(store, **kwargs))
    with pytest.raises(NotFoundError):
        placements_frame(store, universe="外资")
    with pytest.raises(NotFoundError):
        placements_frame(store, chain="nochain")


# -- files -----------------------------------------------------------------------------


def _cells(frame: pd.DataFrame) -> list[list[Any]]:
    """Frame rows as plain values, missing ones None."""
    return [[None if isinstance(v, float) and math.isnan(v) else v for v in row]
            for row in frame.astype(object).itertuples(index=False, name=None)]


def test_csv_round_trip(store: Database, tmp_path: Path) -> None:
    target = tmp_path / "placements.csv"
    calls: list[tuple[int, int]] = []
    export = write_placements(store, target, progress=lambda d, t: calls.append((d, t)),
                              chunk_rows=3)
    frame = placements_frame(store)
    assert export.rows == len(frame) and calls[-1] == (len(frame), len(frame))
    assert len(calls) == math.ceil(len(frame) / 3)
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    back = pd.read_csv(target, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(back.columns) == list(COLUMNS)
    expected = frame.astype(object).where(frame.notna(), "")
    expected["confidence"] = [repr(float(v)) for v in frame["confidence"]]
    expected["short_name"] = ["'" + v if v == FORMULA else v for v in expected["short_name"]]
    expected["name"] = ["'" + v if v.startswith("=") else v for v in expected["name"]]
    assert FORMULA in set(frame["short_name"])  # the guard had something to guard
    pd.testing.assert_frame_equal(back, expected.astype(str), check_dtype=False)
    assert not list(tmp_path.glob("*.part"))


def test_xlsx_round_trip_with_notes(store: Database, tmp_path: Path) -> None:
    target = tmp_path / "placements.xlsx"
    export = write_placements(store, target)
    frame = placements_frame(store)
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == [SHEET, NOTES_SHEET]
    rows = [list(r) for r in book[SHEET].iter_rows(values_only=True)]
    assert rows[0] == list(COLUMNS)
    assert rows[1:] == _cells(frame)
    formula = [c for row in book[SHEET].iter_rows(min_row=2) for c in row
               if c.value == FORMULA]
    assert formula and all(c.data_type == "s" for c in formula)  # text, never a formula
    notes = {str(k): v for k, v in book[NOTES_SHEET].iter_rows(values_only=True) if k}
    assert notes["行数"] == export.rows == len(frame)
    assert notes["企业范围"] == "全部企业（all）" and notes["地区"] == "全国"
    assert notes["数据许可"] == REGISTRY_LICENCE_ZH and notes["Licence"] == REGISTRY_LICENCE
    assert set(COLUMNS) <= set(notes)
    listed = write_placements(store, tmp_path / "listed.xlsx", "biomedicine", "石家庄市",
                              "listed")
    assert listed.licence is None
    notes = {str(k): v for k, v in openpyxl.load_workbook(listed.path)[NOTES_SHEET]
             .iter_rows(values_only=True) if k}
    assert "数据许可" not in notes and notes["行数"] == listed.rows
    assert notes["产业链"] == "生物医药（biomedicine）" and notes["地区"] == "石家庄市（130100）"


def test_xlsx_row_limit_and_bad_targets(store: Database, tmp_path: Path) -> None:
    rows = placements_count(store)
    target = tmp_path / "big.xlsx"
    with pytest.raises(InputError, match=r"\.csv file instead.*chain or a region") as info:
        write_placements(store, target, xlsx_max_rows=rows)  # the header needs a row too
    assert str(target) in str(info.value) and not target.exists()
    assert write_placements(store, target, xlsx_max_rows=rows + 1).rows == rows
    assert write_placements(store, tmp_path / "big.csv", xlsx_max_rows=rows).rows == rows
    with pytest.raises(InputError, match=r"placements\.json: can only write \.csv or \.xlsx"):
        write_placements(store, tmp_path / "placements.json")
    with pytest.raises(NotFoundError, match="No folder"):
        write_placements(store, tmp_path / "missing" / "placements.csv")


# -- CLI -------------------------------------------------------------------------------


def test_cli_export(built: tuple[Path, dict[str, str]], store: Database, tmp_path: Path) -> None:
    copy = str(built[0].with_name("cli.duckdb"))
    target = tmp_path / "石家庄.xlsx"
    result = CliRunner().invoke(cli.app, [
        "export", "placements", str(target), "--db", copy, "--chain", "生物医药",
        "--region", "石家庄市", "--universe", "listed"])
    assert result.exit_code == 0, result.output
    count = placements_count(store, "biomedicine", "石家庄市", "listed")
    assert f"Wrote {count:,} placements" in result.output and "上市企业" in result.output
    assert "CC BY-NC-SA" not in result.output  # no registry rows, no licence line
    assert openpyxl.load_workbook(target)[SHEET].max_row == count + 1
    result = CliRunner().invoke(cli.app, ["export", "placements", str(tmp_path / "a.csv"),
                                          "--db", copy])
    assert result.exit_code == 0 and "CC BY-NC-SA" in result.output


def test_cli_errors_are_clean(built: tuple[Path, dict[str, str]], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    for args, message in ((["x.txt"], "can only write .csv or .xlsx"),
                          (["x.csv", "--universe", "外资"], "unknown firm universe"),
                          (["x.csv", "--chain", "无此链"], "No chain")):
        monkeypatch.setattr("sys.argv", ["chainatlas", "export", "placements",
                                         str(tmp_path / args[0]), *args[1:],
                                         "--db", str(built[0].with_name("cli.duckdb"))])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
        assert exit_info.value.code in (1, 2)
        err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
        assert message in err and "Traceback" not in err


# -- API -------------------------------------------------------------------------------


@pytest.fixture
def client(built: tuple[Path, dict[str, str]]) -> TestClient:
    """A client of the app serving the store (not entered: no NiceGUI startup)."""
    return TestClient(create_app(built[0]), base_url="http://127.0.0.1",
                      raise_server_exceptions=False)


def test_api_pages(client: TestClient, store: Database) -> None:
    frame = placements_frame(store)
    body = client.get("/api/v1/placements?page=2&page_size=2").json()
    assert {k: body[k] for k in ("total", "page", "page_size", "universe", "universe_zh")} == {
        "total": len(frame), "page": 2, "page_size": 2, "universe": "all",
        "universe_zh": "全部企业"}
    assert body["licence"] == REGISTRY_LICENCE
    assert body["items"] == [dict(zip(COLUMNS, row, strict=True))
                             for row in _cells(frame.iloc[2:4])]
    listed = client.get("/api/v1/placements?chain=生物医药&region=130100&universe=listed")
    assert listed.status_code == 200
    assert listed.json()["licence"] is None
    assert listed.json()["total"] == placements_count(store, "biomedicine", "130100", "listed")
    beyond = client.get(f"/api/v1/placements?page={len(frame) + 1}&page_size=1").json()
    assert beyond["items"] == [] and beyond["total"] == len(frame)
    for url, status in (("/api/v1/placements?page_size=1001", 422),
                        ("/api/v1/placements?page=0", 422),
                        ("/api/v1/placements?chain=nochain", 404),
                        ("/api/v1/placements?region=无此地方", 404)):
        response = client.get(url)
        assert response.status_code == status, url
        assert set(response.json()["error"]) == {"type", "message", "problems"}


def test_api_xlsx_download(client: TestClient, store: Database) -> None:
    response = client.get("/api/v1/placements.xlsx?chain=biomedicine&region=130100"
                          "&universe=all")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="chainatlas-placements-biomedicine-'
                                  '130100-all-')
    assert "filename*=UTF-8''" + quote("企业环节归属-生物医药-石家庄市-全部企业-") in disposition
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book[SHEET].max_row == placements_count(store, "biomedicine", "130100") + 1
    assert any(v == REGISTRY_LICENCE_ZH for row in book[NOTES_SHEET].iter_rows(values_only=True)
               for v in row)
    assert client.get("/api/v1/placements.xlsx?chain=nochain").status_code == 404


def test_api_page_is_the_library_page(store: Database) -> None:
    page = placements_page(store, page=1, page_size=3)
    assert page["items"] == [dict(zip(COLUMNS, r, strict=True))
                             for r in _cells(placements_frame(store, limit=3))]
    with pytest.raises(InputError):
        placements_page(store, page=0)
