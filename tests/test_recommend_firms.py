"""Firm recommendations (招商企业排名) on hand-made firms with known answers, and Excel."""

from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from chainatlas.build import refresh_derived
from chainatlas.chains.classify import classify_store
from chainatlas.chains.templates import load_templates
from chainatlas.errors import NotFoundError
from chainatlas.recommend.excel import safe_text, write_recommendations_xlsx
from chainatlas.recommend.firms import (
    LINK_COLUMNS,
    WEIGHTS,
    add_proximity,
    add_strength,
    firms_frame,
    haversine_km,
    link_partners,
    rank_firms,
    score_firms,
)
from chainatlas.store import Database
from chainatlas.store.lookup import region_from_text
from tests.helpers import add_firm

TEMPLATES = load_templates()
INJECTION = '=HYPERLINK("http://evil.example","点我")'

# adcode, name, level, parent, province, lon, lat
REGIONS = [
    ("130000", "河北省", "province", None, "130000", 114.50, 38.00),
    ("130100", "石家庄市", "city", "130000", "130000", 114.51, 38.04),
    ("130600", "保定市", "city", "130000", "130000", 115.46, 38.87),
    ("110000", "北京市", "province", None, "110000", 116.41, 39.90),
    ("110100", "北京市", "city", "110000", "110000", 116.41, 39.90),
    ("320000", "江苏省", "province", None, "320000", 118.76, 32.06),
    ("320500", "苏州市", "city", "320000", "320000", 120.59, 31.30),
    ("650000", "新疆维吾尔自治区", "province", None, "650000", 87.62, 43.79),
    ("650100", "乌鲁木齐市", "city", "650000", "650000", 87.62, 43.83),
]

# id: (products, city, registered capital 万元, employees, setup year)
FIRMS: dict[str, tuple[dict[str, float], str, float, int, int]] = {
    "LEAD": ({"片剂": 0.9}, "130100", 80000.0, 6000, 1995),       # local leader
    "LOCAPI": ({"头孢菌素": 0.9}, "130100", 3000.0, 200, 2001),   # another local firm
    "LOCLATE": ({"淀粉": 0.9}, "130100", 1000.0, 100, 2020),      # local, founded late
    "SUP": ({"维生素C": 0.9}, "320500", 5000.0, 1000, 2000),      # supplies LEAD
    "TWIN": ({"维生素E": 0.9}, "320500", 5000.0, 1000, 2000),     # SUP without the link
    "NEAR": ({"维生素E": 0.9}, "110100", 2000.0, 500, 2000),      # ~270 km away
    "FAR": ({"维生素E": 0.9}, "650100", 2000.0, 500, 2000),       # ~2,400 km away
    "BAODING": ({"维生素E": 0.9}, "130600", 2000.0, 500, 2000),   # same province
    "LATE": ({"维生素E": 0.9}, "320500", 9000.0, 3000, 2020),     # founded after 2010
    "CAPS": ({"胶囊剂": 0.9}, "110100", 2000.0, 500, 2000),       # buys 淀粉 from LOCLATE
    "VAC": ({"流感疫苗": 0.9}, "110100", 2000.0, 500, 2000),      # another subtree
    "INJ": ({"维生素E": 0.5}, "110100", 100.0, 10, 2000),         # hostile name
}
NAMES = {"LEAD": "华北制药", "SUP": "维生素供应商", "INJ": INJECTION}


def _relate(db: Database, product: str, upstream: str) -> None:
    """Record that ``upstream`` is an upstream material of ``product``."""
    ids = dict(db.execute("SELECT name, product_id FROM products").fetchall())
    db.execute("INSERT INTO product_relations VALUES (?, ?, 'upstream_material', 1)",
               [ids[product], ids[upstream]])


def _rec_store() -> Database:
    db = Database()
    db.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?, ?, ?, 1)", REGIONS)
    for cid, (products, city, capital, employees, year) in FIRMS.items():
        add_firm(db, cid, products=products)
        db.execute(
            "UPDATE companies SET origin = 'listed', short_name = ?, "
            "full_name = ? || '股份有限公司', stock_code = ?, city_adcode = ?, "
            "region_adcode = ?, province_adcode = left(?, 2) || '0000', "
            "registered_capital = ?, employees = ?, setup_date = ? WHERE company_id = ?",
            [NAMES.get(cid, cid), NAMES.get(cid, cid), f"{600000 + len(cid)}", city, city,
             city, capital, employees, dt.date(year, 1, 1), cid])
    _relate(db, "片剂", "维生素C")     # SUP's 维生素C feeds LEAD's 片剂
    _relate(db, "胶囊剂", "淀粉")      # CAPS's 胶囊剂 needs LOCLATE's 淀粉
    classify_store(db, TEMPLATES)
    refresh_derived(db)
    return db


@pytest.fixture(scope="module")
def rec_db() -> Database:
    return _rec_store()


def _by_id(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["company_id"]: r for r in results}


def _value(result: dict[str, Any], component: str) -> float:
    return float(result["components"][component]["value"])


def test_supplier_of_the_local_leader_beats_its_unlinked_twin(rec_db: Database) -> None:
    results = _by_id(rank_firms(rec_db, region_from_text(rec_db, "石家庄市"), "biomedicine"))
    sup, twin = results["SUP"], results["TWIN"]
    assert sup["rank"] < twin["rank"]
    for component in ("fit", "strength", "proximity"):  # identical but for the link
        assert _value(sup, component) == pytest.approx(_value(twin, component))
    # both sit on a node next to the region's strong one (a template link); only SUP
    # also trades with the local leader (a product link), which the noisy-or adds
    assert twin["components"]["links"]["local_partners"] == []
    template = 1 - math.prod(1 - t["contribution"]
                             for t in twin["components"]["links"]["template_links"])
    assert _value(twin, "links") == pytest.approx(template)
    product = 1 - 2.718281828 ** (-0.81 / 0.02)
    assert _value(sup, "links") == pytest.approx(1 - (1 - product) * (1 - template), abs=1e-3)
    [partner] = sup["components"]["links"]["local_partners"]
    assert (partner["company_id"], partner["direction"], partner["role"]) == \
        ("LEAD", "supplies", "leader")
    assert partner["examples"] == ["维生素C→片剂"]
    assert "其「维生素C」可供应本地链主「华北制药」的「片剂」生产" in sup["reasons_zh"]


def test_nearer_firm_beats_farther_identical_one(rec_db: Database) -> None:
    results = _by_id(rank_firms(rec_db, region_from_text(rec_db, "石家庄市"), "biomedicine"))
    near, far, baoding = results["NEAR"], results["FAR"], results["BAODING"]
    assert near["rank"] < far["rank"]
    assert _value(near, "strength") == pytest.approx(_value(far, "strength"))
    near_km = near["components"]["proximity"]["distance_km"]
    far_km = far["components"]["proximity"]["distance_km"]
    assert 250 < near_km < 300 and 2200 < far_km < 2700
    assert float(haversine_km(116.41, 39.90, 114.51, 38.04)) == pytest.approx(near_km, abs=0.1)
    # same province: a bonus and the province named in the reasons
    assert baoding["components"]["proximity"]["same_province"] is True
    assert baoding["rank"] < near["rank"]
    assert any("同属河北省" in r for r in baoding["reasons_zh"])
    assert any(r.startswith("距石家庄市约 2") for r in near["reasons_zh"])


def test_local_firms_never_appear(rec_db: Database) -> None:
    city = rank_firms(rec_db, region_from_text(rec_db, "石家庄市"), "biomedicine", top=100)
    assert not {"LEAD", "LOCAPI", "LOCLATE"} & {r["company_id"] for r in city}
    assert all(r["city_adcode"] != "130100" for r in city)
    province = rank_firms(rec_db, region_from_text(rec_db, "河北省"), "biomedicine", top=100)
    ids = {r["company_id"] for r in province}
    assert "BAODING" not in ids and "SUP" in ids
    assert all(not r["components"]["proximity"]["same_province"] for r in province)


def test_node_filter_keeps_the_subtree(rec_db: Database) -> None:
    region = region_from_text(rec_db, "石家庄市")
    api = {r["company_id"] for r in rank_firms(rec_db, region, "biomedicine", "bm_api")}
    assert "SUP" in api and "VAC" not in api and "CAPS" not in api
    chem = rank_firms(rec_db, region, "biomedicine", "bm_chem_drugs", top=100)
    assert {"SUP", "CAPS"} <= {r["company_id"] for r in chem}
    assert "VAC" not in {r["company_id"] for r in chem}
    caps = _by_id(chem)["CAPS"]
    assert [n["node_id"] for n in caps["nodes"]] == ["bm_oral_solid"]
    assert any("属「口服固体制剂」环节" in r for r in caps["reasons_zh"])
    with pytest.raises(NotFoundError):
        rank_firms(rec_db, region, "biomedicine", "bm_nope")
    assert rank_firms(rec_db, region, "生物医药", top=3)[0]["company_id"] == "SUP"
    # Chinese node names and region text work like ids and typed values
    assert rank_firms(rec_db, "石家庄市", "生物医药", "化学原料药") == \
        rank_firms(rec_db, region, "biomedicine", "bm_api")


def test_as_of_drops_later_firms_on_both_sides(rec_db: Database) -> None:
    region = region_from_text(rec_db, "石家庄市")
    now = _by_id(rank_firms(rec_db, region, "biomedicine", top=100))
    then = _by_id(rank_firms(rec_db, region, "biomedicine", top=100, as_of=2010))
    assert "LATE" in now and "LATE" not in then
    # CAPS buys 淀粉 from a local firm founded in 2020: the link exists now, not in 2010
    [partner] = now["CAPS"]["components"]["links"]["local_partners"]
    assert (partner["company_id"], partner["direction"]) == ("LOCLATE", "buys")
    assert any("可采购本地" in r and "「LOCLATE」" in r for r in now["CAPS"]["reasons_zh"])
    assert then["CAPS"]["components"]["links"]["local_partners"] == []


def test_components_scores_and_frame(rec_db: Database) -> None:
    results = rank_firms(rec_db, region_from_text(rec_db, "石家庄市"), "biomedicine", top=5)
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    for r in results:
        values = {k: _value(r, k) for k in WEIGHTS}
        assert all(0.0 <= v <= 1.0 for v in values.values())
        assert r["score"] == pytest.approx(sum(WEIGHTS[k] * v for k, v in values.items()),
                                           abs=1e-3)
        assert r["reasons_zh"] and r["nodes"] and r["city"] and r["province"]
    sup = _by_id(results)["SUP"]["components"]["strength"]
    assert (sup["capital"], sup["employees"], sup["listed"]) == (5000.0, 1000, True)
    assert sup["revenue_share"] == pytest.approx(0.9)
    frame = firms_frame(results)
    assert list(frame["rank"]) == [1, 2, 3, 4, 5]
    assert {"fit", "strength", "links", "proximity", "local_partners", "reasons"} <= \
        set(frame.columns)
    assert frame.set_index("company_id").loc["SUP", "local_partners"] == "华北制药"


# --------------------------------------------------------------------------- pure scoring


def _hand_candidates() -> pd.DataFrame:
    """Three candidates: capital 100 / 200 / unknown, employees 10 / unknown / 30."""
    return pd.DataFrame({
        "company_id": ["A", "B", "C"], "registered_capital": [100.0, 200.0, None],
        "employees": [10, None, 30], "origin": ["listed", "roster", "listed"],
        "revenue_share": [0.5, 0.0, 1.0], "fit": [0.9, 0.5, 0.7],
        "province_adcode": ["130000", "110000", "320000"],
        "lon": [114.51, 114.51, None], "lat": [38.04, 38.04 + 7.1945728473498445, None]})


def test_strength_by_hand() -> None:
    frame = _hand_candidates()
    add_strength(frame)
    # size: employees where known (A 0.5, C 1), registered capital ranked among the firms
    # without a headcount for B (1); strength = 0.6 size + 0.15 listed + 0.25 share
    assert list(frame["capital_pct"]) == [0.5, 1.0, 0.0]
    assert list(frame["employees_pct"]) == [0.5, 0.0, 1.0]
    assert list(frame["size_pct"]) == [0.5, 1.0, 1.0]
    assert list(frame["size_basis_zh"]) == ["员工", "注册资本", "员工"]
    expected = [0.6 * 0.5 + 0.15 + 0.25 * 0.5, 0.6 * 1.0, 0.6 * 1.0 + 0.15 + 0.25 * 1.0]
    assert list(frame["strength"]) == pytest.approx(expected)
    assert list(frame["size_top_pct"]) == [100.0, 67.0, 67.0]  # ceil(100 x 3/3), (2/3)


def test_proximity_at_zero_and_800_km() -> None:
    frame = _hand_candidates()
    add_proximity(frame, (114.51, 38.04), "130000")
    # d = 0 in the same province: 0.8 x e^0 + 0.2; d = 800 km (7.19° due north), another
    # province: 0.8 x e^-1; unknown place: nothing, not a guess
    assert list(frame["distance_km"][:2]) == pytest.approx([0.0, 800.0])
    assert list(frame["proximity"]) == pytest.approx([1.0, 0.8 * math.exp(-1), 0.0])
    assert list(frame["same_province"]) == [True, False, False]
    add_proximity(frame, None, "110000")  # a region without a centre: bonus only
    assert list(frame["proximity"]) == pytest.approx([0.0, 0.2, 0.0])


def _hand_links() -> pd.DataFrame:
    rows = [("A", "supplies", "L1", "本地链主", "甲", "乙", 0.02, "leader", 1),
            ("A", "buys", "L2", "本地其他", "丙", "丁", 0.01, "other", None),
            ("A", "buys", "L2", "本地其他", "戊", "丁", 0.01, "other", None),
            ("B", "supplies", "L3", "链上", "甲", "己", 0.0001, "chain", 5)]
    frame = pd.DataFrame(rows, columns=LINK_COLUMNS)
    frame["leader_rank"] = frame["leader_rank"].astype("Int64")
    return frame


def test_link_partners_noisy_or() -> None:
    partners = link_partners(_hand_links())
    leader, other = partners["A"]
    # contribution = importance x (1 - exp(-weight / 0.02)); the leader comes first
    assert (leader["company_id"], leader["role"], leader["leader_rank"]) == ("L1", "leader", 1)
    assert leader["contribution"] == round(1.0 * (1 - math.exp(-1)), 4)
    assert (other["company_id"], other["relations"], other["leader_rank"]) == ("L2", 2, None)
    assert other["weight"] == pytest.approx(0.02)
    assert other["contribution"] == round(0.4 * (1 - math.exp(-1)), 4)
    assert other["examples"] == ["丙→丁", "戊→丁"]
    [weak] = partners["B"]
    assert weak["contribution"] == round(0.75 * (1 - math.exp(-0.0001 / 0.02)), 4)
    scored = score_firms(_hand_candidates(), partners, centre=(114.51, 38.04),
                         province="130000").set_index("company_id")
    expected = 1 - (1 - leader["contribution"]) * (1 - other["contribution"])
    assert scored.loc["A", "links"] == pytest.approx(expected)
    assert scored.loc["C", "links"] == 0.0


def test_score_firms_weighs_and_sorts() -> None:
    scored = score_firms(_hand_candidates(), {}, centre=(114.51, 38.04), province="130000")
    assert list(scored["company_id"]) == ["A", "C", "B"]
    for row in scored.to_dict("records"):
        assert row["score"] == pytest.approx(sum(WEIGHTS[k] * row[k] for k in WEIGHTS))
    a = scored.set_index("company_id").loc["A"]
    assert a["score"] == pytest.approx(WEIGHTS["fit"] * 0.9 + WEIGHTS["strength"] * 0.575
                                       + WEIGHTS["proximity"] * 1.0)
    risky = _hand_candidates().assign(factor=[0.5, 1.0, 1.0], expansion=[0.0, 1.0, 0.0])
    halved = score_firms(risky, {}, centre=(114.51, 38.04), province="130000"
                         ).set_index("company_id")
    assert halved.loc["A", "score"] == pytest.approx(a["score"] * 0.5)
    assert halved.loc["A", "score_before_risk"] == pytest.approx(a["score"])
    assert halved.loc["B", "score"] == pytest.approx(
        scored.set_index("company_id").loc["B", "score"] + WEIGHTS["expansion"])
    fit_only = score_firms(_hand_candidates(), {}, centre=None, province="",
                           weights={"fit": 1.0})
    assert list(fit_only["score"]) == [0.9, 0.7, 0.5]


def test_empty_link_frame_has_no_partners() -> None:
    assert link_partners(pd.DataFrame(columns=LINK_COLUMNS)) == {}


def test_safe_text_guards_formulas() -> None:
    assert safe_text("=1+1") == "'=1+1"
    assert safe_text("@SUM(A1)") == "'@SUM(A1)"
    assert safe_text("-2+3") == "'-2+3" and safe_text("+cmd|x") == "'+cmd|x"
    assert safe_text("-2") == "-2"  # a plain signed number evaluates to itself
    assert safe_text("华北制药") == "华北制药"
    assert safe_text("a\x00b") == "ab"


def _nodes() -> list[dict[str, Any]]:
    return [{"node_id": "bm_api", "name_zh": "化学原料药", "stage": "中游", "class": "弱",
             "label": "强链", "score": 0.71,
             "components": {"density": 0.8, "adjacency": {"value": 0.6}, "availability": 0.5},
             "reasons_zh": ["本地已有「华北制药」", "=cmd|' /C calc'!A0"]}]


def test_excel_workbook_reads_back(rec_db: Database, tmp_path: Path) -> None:
    results = rank_firms(rec_db, region_from_text(rec_db, "石家庄市"), "biomedicine", top=20)
    path = tmp_path / "out" / "招商.xlsx"
    write_recommendations_xlsx(path, region_name="石家庄市", chain_name="生物医药",
                               generated_at=dt.datetime(2026, 1, 2, 9, 30), firms=results,
                               nodes=_nodes())
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["招商企业排名", "推荐理由", "重点发展环节", "环节推荐理由", "说明"]
    sheet = book["招商企业排名"]
    header = [c.value for c in sheet[1]]
    assert header == ["排名", "企业简称", "企业全称", "股票代码", "企业类型", "所在省份",
                      "所在城市", "所属环节", "综合得分", "匹配度", "企业实力", "产业链关联",
                      "扩张活跃度", "区位邻近", "风险提示", "主要理由"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == list(range(1, len(results) + 1))
    assert [r[1] for r in rows][:1] == ["维生素供应商"]
    assert rows[0][4] == "上市企业"
    assert sheet.cell(row=2, column=9).number_format == "0.000"
    # formula injection: written as text with a leading apostrophe, never as a formula
    hostile = next(c for c in sheet["B"] if INJECTION in str(c.value))
    assert hostile.value == "'" + INJECTION and hostile.data_type == "s"
    for ws in book.worksheets:
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    reasons = list(book["推荐理由"].iter_rows(min_row=2, values_only=True))
    link = "其「维生素C」可供应本地链主「华北制药」的「片剂」生产"
    assert link in {r[7] for r in reasons if r[:3] == (1, "维生素供应商", "推荐理由")}
    # every component of the score has its row: value, weight, points
    parts = [r for r in reasons if r[0] == 1 and r[2] == "评分构成"]
    assert [r[3] for r in parts] == ["匹配度", "企业实力", "产业链关联", "扩张活跃度", "区位邻近"]
    assert all(r[6] == pytest.approx(r[4] * r[5], abs=1e-3) for r in parts)
    nodes = list(book["重点发展环节"].iter_rows(min_row=2, values_only=True))
    assert nodes[0][:6] == (1, "化学原料药", "bm_api", "中游", "弱", "强链")
    assert nodes[0][7:10] == (0.8, 0.6, 0.5)
    node_reasons = [r[7] for r in book["环节推荐理由"].iter_rows(min_row=2, values_only=True)
                    if r[2] == "推荐理由"]
    assert node_reasons == ["本地已有「华北制药」", "'=cmd|' /C calc'!A0"]
    notes = "\n".join(str(c.value) for row in book["说明"].iter_rows() for c in row if c.value)
    for text in ("石家庄市", "生物医药", "2026-01-02 09:30", "ChainKnowledgeGraph", "Tushare",
                 "深圳证券交易所", f"综合得分 = {WEIGHTS['fit']:.2f}×匹配度", "企业范围",
                 "上市企业"):
        assert text in notes
    assert "CC BY-NC-SA" not in notes  # no registry firm: no registry source


def test_excel_without_nodes(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    write_recommendations_xlsx(path, region_name="石家庄市", chain_name="生物医药",
                               generated_at="2026-01-02", firms=[])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["招商企业排名", "推荐理由", "说明"]
    assert book["招商企业排名"].max_row == 1


# ----------------------------------------------------------------- firm universes

# registry firms (placed by their scope): id, city, scope, registered capital 万元
REGISTRY = [("R_BIG", "130600", "维生素C原料药的生产、销售", 90000.0),  # 保定, outside
            ("R_LOCAL", "130100", "维生素C原料药的生产、销售", 90000.0)]  # 石家庄, local


@pytest.fixture
def registry_db() -> Database:
    db = _rec_store()  # a store of its own: rec_db is shared by the module
    for cid, city, scope, capital in REGISTRY:
        add_firm(db, cid, scope=scope)
        db.execute("UPDATE companies SET origin = 'registry', city_adcode = ?, region_adcode = ?, "
                   "province_adcode = left(?, 2) || '0000', registered_capital = ?, "
                   "setup_date = '1995-01-01' WHERE company_id = ?",
                   [city, city, city, capital, cid])
    classify_store(db, TEMPLATES)
    refresh_derived(db)
    return db


def test_the_universe_picks_the_candidates(registry_db: Database, tmp_path: Path) -> None:
    sjz = region_from_text(registry_db, "石家庄市")
    listed = rank_firms(registry_db, sjz, "biomedicine", universe="listed")
    assert {r["origin"] for r in listed} == {"listed"}
    assert {r["universe"] for r in listed} == {"listed"}
    everything = _by_id(rank_firms(registry_db, sjz, "biomedicine"))  # default: all
    assert "R_BIG" in everything and "R_LOCAL" not in everything  # local firms never
    big = everything["R_BIG"]
    assert (big["universe"], big["universe_zh"]) == ("all", "全部企业")
    assert big["components"]["strength"]["listed"] is False and big["reasons_zh"]
    assert big["components"]["links"]["local_partners"] == []  # no products: no product links
    registry = rank_firms(registry_db, sjz, "biomedicine", universe="registry")
    assert [r["company_id"] for r in registry] == ["R_BIG"]
    path = tmp_path / "registry.xlsx"
    write_recommendations_xlsx(path, region_name="石家庄市", chain_name="生物医药",
                               generated_at="2026-01-02", firms=registry,
                               coverage_zh="工商登记企业（已载入：河北省）")
    book = openpyxl.load_workbook(path)
    first = next(book["招商企业排名"].iter_rows(min_row=2, values_only=True))
    assert first[4] == "工商登记企业"
    notes = "\n".join(str(c.value) for row in book["说明"].iter_rows() for c in row if c.value)
    assert "企业范围\n工商登记企业\n数据覆盖\n工商登记企业（已载入：河北省）" in notes
    assert "CC BY-NC-SA 4.0" in notes


def test_real_store_ranking_is_fast_and_outside(real_db: Database) -> None:
    region = region_from_text(real_db, "石家庄市")
    rank_firms(real_db, region, "biomedicine")  # warm up
    start = time.perf_counter()
    results = rank_firms(real_db, region, "biomedicine")
    elapsed = time.perf_counter() - start
    assert len(results) == 20 and elapsed < 1.0  # ~60 ms on a laptop; slack for CI
    assert all(r["city_adcode"] != "130100" for r in results)
    assert all(r["reasons_zh"] for r in results)


def test_filters_reach_the_ranking_and_are_named(rec_db: Database) -> None:
    from chainatlas.recommend.filters import TargetFilters

    region = region_from_text(rec_db, "石家庄市")
    everyone = rank_firms(rec_db, region, "biomedicine", top=100)
    provinces = {r["province_adcode"] for r in everyone}
    assert len(provinces) > 1
    one = sorted(provinces)[0]
    only = rank_firms(rec_db, region, "biomedicine", top=100,
                      filters=TargetFilters(provinces=(one,)))
    assert only and {r["province_adcode"] for r in only} == {one}
    assert only[0]["filters_zh"].startswith("限")
    outside = rank_firms(rec_db, region, "biomedicine", top=100,
                         filters=TargetFilters(outside_province=True))
    assert all(r["province_adcode"] != region.province_adcode for r in outside)
    unlisted = rank_firms(rec_db, region, "biomedicine", top=100,
                          filters=TargetFilters(listed="unlisted"))
    assert all(r["origin"] != "listed" for r in unlisted)
    for r in everyone:  # every record explains its score
        assert [e["component"] for e in r["explain"]] == list(WEIGHTS)
        assert sum(e["points"] for e in r["explain"]) * r["risk"]["factor"] == \
            pytest.approx(r["score"], abs=1e-3)
